"""A SOQL subset parser (no evaluation): text in, a small frozen AST out.

Supported (what Concord and integrators' ad-hoc queries use)::

    SELECT Id, Name, Account.Name, COUNT(),
           (SELECT Id, Quantity FROM OrderItems WHERE ... ORDER BY ... LIMIT n)
    FROM Account
    WHERE (SystemModstamp > 2024-01-01T00:00:00Z OR (SystemModstamp = 2024-01-01T00:00:00.000+0000 AND Id >= '001...'))
          AND Name LIKE 'Acme%' AND Type IN ('Customer', 'Prospect') AND NOT IsDeleted = true
    ORDER BY SystemModstamp ASC NULLS FIRST, Id
    LIMIT 100 OFFSET 10

Errors are :class:`SoqlError` with Salesforce's own error code (``MALFORMED_QUERY``)
and a message that points at the offending token, as the real API does.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Union

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""", re.X)

KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
            "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "COUNT"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\",
            "%": "\\%", "_": "\\_"}


class SoqlError(Exception):
    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: int
    value: Any = None


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]             # ("Account", "Name") for Account.Name

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str                           # = != < <= > >= LIKE IN NOT IN
    value: Any                        # python value; a tuple for IN


@dataclass(frozen=True)
class BoolOp:
    op: str                           # AND | OR
    items: tuple["Cond", ...]


@dataclass(frozen=True)
class Not:
    item: "Cond"


Cond = Union[Compare, BoolOp, Not]


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[FieldRef, ...] = ()
    subqueries: tuple["Query", ...] = ()
    count: bool = False
    where: Cond | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    #: the select list in its written order: FieldRef or Query items
    select: tuple[Any, ...] = field(default=())


def parse_datetime(text: str) -> dt.datetime:
    """SOQL / wire datetimes: ``2024-01-01T00:00:00Z``, ``...00.000+0000``, ``...+02:00``."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    m = re.match(r"(.*[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-])(\d{2}):?(\d{2})$", t)
    if m:
        t = f"{m.group(1)}{m.group(2)}{m.group(3)}:{m.group(4)}"
    value = dt.datetime.fromisoformat(t)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SoqlError(_pointer(text, pos, f"unexpected token: '{text[pos:pos + 10].split()[0]}'"))
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind != "ws":
            value: Any = raw
            if kind == "string":
                value = _unescape(raw[1:-1], text, pos)
            elif kind == "datetime":
                value = parse_datetime(raw)
            elif kind == "date":
                value = dt.date.fromisoformat(raw)
            elif kind == "number":
                value = float(raw) if "." in raw else int(raw)
            elif kind == "ident" and raw.upper() in KEYWORDS:
                kind = "kw"
                value = raw.upper()
            out.append(Tok(kind, raw, pos, value))
        pos = m.end()
    out.append(Tok("eof", "", len(text)))
    return out


def _unescape(s: str, text: str, pos: int) -> str:
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in _ESCAPES:
                raise SoqlError(_pointer(text, pos, "Invalid string literal: bad escape sequence"))
            out.append(_ESCAPES[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _pointer(text: str, pos: int, message: str) -> str:
    """Salesforce-style message: the query, a caret, row and column, then the reason."""
    line_start = text.rfind("\n", 0, pos) + 1
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    line = text.splitlines()[row - 1] if text else ""
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # ---- helpers -------------------------------------------------------------------------
    @property
    def cur(self) -> Tok:
        return self.toks[self.i]

    def fail(self, message: str | None = None) -> SoqlError:
        t = self.cur
        return SoqlError(_pointer(self.text, t.pos, message or f"unexpected token: '{t.text or 'EOF'}'"))

    def kw(self, *words: str) -> bool:
        return self.cur.kind == "kw" and self.cur.value in words

    def take_kw(self, word: str) -> None:
        if not self.kw(word):
            raise self.fail(f"unexpected token: '{self.cur.text or 'EOF'}' (expected {word})")
        self.i += 1

    def punct(self, ch: str) -> bool:
        return self.cur.kind == "punct" and self.cur.text == ch

    def take_punct(self, ch: str) -> None:
        if not self.punct(ch):
            raise self.fail(f"unexpected token: '{self.cur.text or 'EOF'}' (expected '{ch}')")
        self.i += 1

    def ident(self) -> str:
        nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if (self.cur.kind == "kw" and self.cur.value in ("ORDER", "COUNT", "FIRST", "LAST")
                and not (nxt and nxt.kind == "kw" and nxt.value == "BY") and not (nxt and nxt.text == "(")):
            t = self.cur.text                    # "FROM Order": a keyword used as a name
            self.i += 1
            return t
        if self.cur.kind != "ident":
            raise self.fail()
        t = self.cur.text
        self.i += 1
        return t

    # ---- grammar -------------------------------------------------------------------------
    def query(self, nested: bool = False) -> Query:
        self.take_kw("SELECT")
        select: list[Any] = []
        count = False
        while True:
            if self.kw("COUNT"):
                self.i += 1
                self.take_punct("(")
                self.take_punct(")")
                count = True
            elif self.punct("("):
                if nested:
                    raise self.fail("Nesting of semi join sub-selects is not supported")
                self.i += 1
                select.append(self.query(nested=True))
                self.take_punct(")")
            else:
                select.append(FieldRef(tuple(self.ident().split("."))))
            if self.punct(","):
                self.i += 1
                continue
            break
        if count and select:
            raise self.fail("COUNT() and a field list cannot be combined")
        self.take_kw("FROM")
        sobject = self.ident()
        where = None
        if self.kw("WHERE"):
            self.i += 1
            where = self.cond()
        order: list[OrderItem] = []
        if self.kw("ORDER"):
            self.i += 1
            self.take_kw("BY")
            while True:
                f = FieldRef(tuple(self.ident().split(".")))
                desc = False
                if self.kw("ASC", "DESC"):
                    desc = self.cur.value == "DESC"
                    self.i += 1
                nulls_last = desc
                if self.kw("NULLS"):
                    self.i += 1
                    if not self.kw("FIRST", "LAST"):
                        raise self.fail()
                    nulls_last = self.cur.value == "LAST"
                    self.i += 1
                order.append(OrderItem(f, desc, nulls_last))
                if self.punct(","):
                    self.i += 1
                    continue
                break
        limit = offset = None
        if self.kw("LIMIT"):
            self.i += 1
            limit = self._int()
        if self.kw("OFFSET"):
            self.i += 1
            offset = self._int()
        if not nested and self.cur.kind != "eof":
            raise self.fail()
        return Query(sobject=sobject, fields=tuple(x for x in select if isinstance(x, FieldRef)),
                     subqueries=tuple(x for x in select if isinstance(x, Query)), count=count, where=where,
                     order_by=tuple(order), limit=limit, offset=offset, select=tuple(select))

    def _int(self) -> int:
        if self.cur.kind != "number" or not isinstance(self.cur.value, int) or self.cur.value < 0:
            raise self.fail("expecting a non-negative integer")
        v = self.cur.value
        self.i += 1
        return v

    def cond(self) -> Cond:
        items = [self.and_cond()]
        while self.kw("OR"):
            self.i += 1
            items.append(self.and_cond())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_cond(self) -> Cond:
        items = [self.not_cond()]
        while self.kw("AND"):
            self.i += 1
            items.append(self.not_cond())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def not_cond(self) -> Cond:
        if self.kw("NOT"):
            self.i += 1
            return Not(self.not_cond())
        if self.punct("("):
            self.i += 1
            c = self.cond()
            self.take_punct(")")
            return c
        return self.compare()

    def compare(self) -> Compare:
        f = FieldRef(tuple(self.ident().split(".")))
        if self.kw("NOT"):
            self.i += 1
            self.take_kw("IN")
            return Compare(f, "NOT IN", self._list())
        if self.kw("IN"):
            self.i += 1
            return Compare(f, "IN", self._list())
        if self.kw("LIKE"):
            self.i += 1
            if self.cur.kind != "string":
                raise self.fail("LIKE needs a string literal")
            v = self.cur.value
            self.i += 1
            return Compare(f, "LIKE", v)
        if self.cur.kind != "op":
            raise self.fail()
        op = "!=" if self.cur.text == "<>" else self.cur.text
        self.i += 1
        return Compare(f, op, self.literal())

    def _list(self) -> tuple[Any, ...]:
        self.take_punct("(")
        values = [self.literal()]
        while self.punct(","):
            self.i += 1
            values.append(self.literal())
        self.take_punct(")")
        return tuple(values)

    def literal(self) -> Any:
        t = self.cur
        if t.kind in ("string", "datetime", "date", "number"):
            self.i += 1
            return t.value
        if t.kind == "kw" and t.value in ("NULL", "TRUE", "FALSE"):
            self.i += 1
            return {"NULL": None, "TRUE": True, "FALSE": False}[t.value]
        raise self.fail(f"unexpected token: '{t.text or 'EOF'}' (expected a literal value)")


def parse(text: str) -> Query:
    """Parse one SOQL statement or raise :class:`SoqlError` (``MALFORMED_QUERY``)."""
    if not text or not text.strip():
        raise SoqlError("A query is required", "MALFORMED_QUERY")
    return _Parser(text).query()


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """SOQL LIKE: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; case-insensitive."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.I | re.S)


def quote(value: str) -> str:
    """A SOQL string literal for ``value`` (connectors use it to build queries safely)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
