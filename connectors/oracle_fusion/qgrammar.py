"""The ``q`` filter grammar of Oracle's ADF REST framework, both generations.

- Framework version 1: query-by-example. Clauses separated by ``;`` (AND); each
  clause is an attribute followed by one or more conditions joined with ``and`` /
  ``or``: ``q=Deptno>=10 and <=30;Loc!=NY;Dname SA*`` (a value with ``*`` is a
  wildcard match; no operator means ``=``). A value with spaces or other special characters is quoted,
  ``"..."`` or ``'...'``; inside, the quote character doubled stands for itself.
- Framework version 2 and later: row-match expressions.
  ``q=LastUpdateDate >= '2026-01-01T00:00:00+00:00' and (Status = 'A' or Status IS NULL)``
  with ``= != <> < > <= >= LIKE BETWEEN IN IS [NOT] NULL``, ``and`` / ``or`` / ``not``
  and parentheses. String literals use single quotes ('' escapes a quote).

The module has three parts: :func:`parse` (text -> AST, used by the sandbox),
:func:`evaluate` / :func:`lower_bound` (AST against a row, and the cursor bound
a server can seek to), and :func:`build_cursor_filter` / :func:`combine` (what
the connector sends). It imports nothing of Concord's.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Union


class QSyntaxError(ValueError):
    """The q text is not valid for the framework version it was sent with."""


# ---------------------------------------------------------------------------------------------
# AST
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cmp:
    field: str
    op: str            # = != < > <= >=
    value: Any


@dataclass(frozen=True)
class Like:
    field: str
    pattern: str       # * and % are wildcards
    negate: bool = False


@dataclass(frozen=True)
class Between:
    field: str
    low: Any
    high: Any


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class IsNull:
    field: str
    negate: bool = False


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    item: "Node"


Node = Union[Cmp, Like, Between, In, IsNull, And, Or, Not]


def parse(text: str, version: int) -> Node:
    """Parse ``q`` as framework ``version`` sends it (1: query-by-example, 2+: expressions)."""
    if not text or not text.strip():
        raise QSyntaxError("empty q expression")
    return _parse_qbe(text) if version < 2 else _ExprParser(text).parse()


# ---------------------------------------------------------------------------------------------
# Framework 1: query by example
# ---------------------------------------------------------------------------------------------
_IDENT = r"[A-Za-z_][A-Za-z0-9_.]*"
_QBE_CLAUSE = re.compile(rf"^\s*({_IDENT})\s*(.*?)\s*$", re.S)
_QBE_COND = re.compile(r"^(>=|<=|!=|<>|=|>|<)?\s*(.*?)\s*$", re.S)


def _split_outside_quotes(text: str, sep: re.Pattern[str]) -> list[str]:
    parts, buf, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
            i += 1
            continue
        if ch in "'\"":
            quote = ch
            buf.append(ch)
            i += 1
            continue
        m = sep.match(text, i)
        if m and m.end() > i:
            parts.append("".join(buf))
            parts.append(m.group(0).strip().lower())
            buf, i = [], m.end()
            continue
        buf.append(ch)
        i += 1
    if quote:
        raise QSyntaxError(f"unterminated quote in {text!r}")
    parts.append("".join(buf))
    return parts


def _parse_qbe(text: str) -> Node:
    clauses = [c for c in _split_outside_quotes(text, re.compile(";")) if c != ";"]
    nodes: list[Node] = []
    for clause in clauses:
        if not clause.strip():
            raise QSyntaxError(f"empty clause in q={text!r}")
        m = _QBE_CLAUSE.match(clause)
        if not m or not m.group(2):
            raise QSyntaxError(f"q clause {clause.strip()!r} needs an attribute and a value")
        field, rest = m.group(1), m.group(2)
        tokens = _split_outside_quotes(rest, re.compile(r"\s+(?:and|or)\s+", re.I))
        node = _qbe_cond(field, tokens[0])
        for joiner, cond in zip(tokens[1::2], tokens[2::2]):
            other = _qbe_cond(field, cond)
            node = And((node, other)) if joiner == "and" else Or((node, other))
        nodes.append(node)
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _qbe_cond(field: str, cond: str) -> Node:
    m = _QBE_COND.match(cond)
    op, raw = (m.group(1) or "=") if m else "=", (m.group(2) if m else cond)
    if not raw:
        raise QSyntaxError(f"q condition on {field} has no value")
    quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\""
    # inside quotes, the quote character doubled stands for itself ('O''Neil'), as in framework 2+
    value = raw[1:-1].replace(raw[0] * 2, raw[0]) if quoted else raw
    op = "!=" if op == "<>" else op
    if op in ("=", "!=") and "*" in value:
        return Like(field, value, negate=op == "!=")
    return Cmp(field, op, value)


# ---------------------------------------------------------------------------------------------
# Framework 2+: row-match expressions
# ---------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<num>-?\d+(?:\.\d+)?(?![A-Za-z_]))
    | (?P<op>>=|<=|!=|<>|=|>|<)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.X)
_KEYWORDS = {"and", "or", "not", "like", "between", "in", "is", "null"}


class _ExprParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise QSyntaxError(f"unexpected character at position {pos} in q={text!r}")
            kind = m.lastgroup or ""
            val = m.group(kind)
            if kind == "str":
                self.tokens.append(("lit", val[1:-1].replace("''", "'")))
            elif kind == "num":
                self.tokens.append(("lit", Decimal(val)))
            elif kind == "word" and val.lower() in ("true", "false"):
                self.tokens.append(("lit", val.lower() == "true"))
            elif kind == "word" and val.lower() in _KEYWORDS:
                self.tokens.append(("kw", val.lower()))
            else:
                self.tokens.append((kind, val))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: Any = None) -> Any:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            want = value or kind
            got = "end of expression" if tok is None else repr(tok[1])
            raise QSyntaxError(f"expected {want} but found {got} in q={self.text!r}")
        self.i += 1
        return tok[1]

    def accept(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == kind and (value is None or tok[1] == value):
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise QSyntaxError(f"unexpected {self.peek()[1]!r} in q={self.text!r}")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.accept("kw", "or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.accept("kw", "and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Node:
        if self.accept("kw", "not"):
            return Not(self.not_expr())
        if self.accept("punct", "("):
            node = self.or_expr()
            self.take("punct", ")")
            return node
        return self.condition()

    def literal(self) -> Any:
        tok = self.peek()
        if tok is not None and tok[0] == "lit":
            self.i += 1
            return tok[1]
        got = "end of expression" if tok is None else repr(tok[1])
        raise QSyntaxError(f"expected a literal but found {got} in q={self.text!r}")

    def condition(self) -> Node:
        field = self.take("word")
        tok = self.peek()
        if tok is None:
            raise QSyntaxError(f"condition on {field} is incomplete in q={self.text!r}")
        if tok[0] == "op":
            self.i += 1
            op = "!=" if tok[1] == "<>" else tok[1]
            return Cmp(field, op, self.literal())
        negate = self.accept("kw", "not")
        if self.accept("kw", "like"):
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise QSyntaxError(f"LIKE needs a string pattern in q={self.text!r}")
            return Like(field, pattern, negate)
        if negate:
            raise QSyntaxError(f"NOT must be followed by LIKE after {field} in q={self.text!r}")
        if self.accept("kw", "between"):
            low = self.literal()
            self.take("kw", "and")
            return Between(field, low, self.literal())
        if self.accept("kw", "in"):
            self.take("punct", "(")
            values = [self.literal()]
            while self.accept("punct", ","):
                values.append(self.literal())
            self.take("punct", ")")
            return In(field, tuple(values))
        if self.accept("kw", "is"):
            neg = self.accept("kw", "not")
            self.take("kw", "null")
            return IsNull(field, neg)
        raise QSyntaxError(f"unknown operator {tok[1]!r} after {field} in q={self.text!r}")


# ---------------------------------------------------------------------------------------------
# Evaluation (sandbox side)
# ---------------------------------------------------------------------------------------------
def coerce(value: Any, type_name: str) -> Any:
    """Bring a row or literal value to a comparable Python value for an attribute type."""
    if value is None:
        return None
    try:
        if type_name in ("integer", "number"):
            return Decimal(str(value))
        if type_name == "datetime":
            if isinstance(value, dt.datetime):
                return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
            d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)
        if type_name == "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        if type_name == "boolean":
            return value if isinstance(value, bool) else str(value).lower() in ("true", "y", "1")
    except (ValueError, InvalidOperation) as exc:
        raise QSyntaxError(f"{value!r} is not a valid {type_name}") from exc
    return str(value)


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if ch in "*%" else re.escape(ch) for ch in pattern)
    return re.compile(out + r"\Z", re.S | re.I)


def compile_filter(node: Node, types: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    """Compile an AST to a predicate over rows. ``types`` gives each queryable attribute's type.

    Unknown attributes raise QSyntaxError (the server answers 400). Literals are
    coerced once, here, not per row.
    """
    def typ(field: str) -> str:
        if field not in types:
            raise QSyntaxError(f"attribute {field} is not queryable or does not exist")
        return types[field]

    if isinstance(node, Cmp):
        t, f = typ(node.field), node.field
        lit = coerce(node.value, t)
        op = {"=": lambda a: a == lit, "!=": lambda a: a != lit, "<": lambda a: a < lit, ">": lambda a: a > lit,
              "<=": lambda a: a <= lit, ">=": lambda a: a >= lit}[node.op]
        return lambda row: (v := coerce(row.get(f), t)) is not None and op(v)
    if isinstance(node, Like):
        typ(node.field)
        rx, f, neg = _like_regex(node.pattern), node.field, node.negate
        return lambda row: row.get(f) is not None and bool(rx.match(str(row.get(f)))) != neg
    if isinstance(node, Between):
        t, f = typ(node.field), node.field
        lo, hi = coerce(node.low, t), coerce(node.high, t)
        return lambda row: (v := coerce(row.get(f), t)) is not None and lo <= v <= hi
    if isinstance(node, In):
        t, f = typ(node.field), node.field
        vals = {coerce(v, t) for v in node.values}
        return lambda row: coerce(row.get(f), t) in vals
    if isinstance(node, IsNull):
        typ(node.field)
        f, neg = node.field, node.negate
        return lambda row: (row.get(f) in (None, "")) != neg
    if isinstance(node, And):
        preds = [compile_filter(n, types) for n in node.items]
        return lambda row: all(p(row) for p in preds)
    if isinstance(node, Or):
        preds = [compile_filter(n, types) for n in node.items]
        return lambda row: any(p(row) for p in preds)
    if isinstance(node, Not):
        pred = compile_filter(node.item, types)
        return lambda row: not pred(row)
    raise TypeError(f"not a q node: {node!r}")


def evaluate(node: Node, row: Mapping[str, Any], types: Mapping[str, str]) -> bool:
    return compile_filter(node, types)(row)


def lower_bound(node: Node, field: str, conv: Callable[[Any], Any] = lambda v: v) -> Any | None:
    """The smallest ``field`` value a matching row can have (``conv``-erted), or None if unbounded.

    Lets a server seek in an index ordered by ``field`` instead of scanning.
    """
    if isinstance(node, Cmp) and node.field == field and node.op in (">=", ">", "="):
        return conv(node.value)
    if isinstance(node, Between) and node.field == field:
        return conv(node.low)
    if isinstance(node, And):
        bounds = [b for b in (lower_bound(n, field, conv) for n in node.items) if b is not None]
        return max(bounds) if bounds else None
    if isinstance(node, Or):
        bounds = [lower_bound(n, field, conv) for n in node.items]
        return None if any(b is None for b in bounds) else min(bounds)
    return None


# ---------------------------------------------------------------------------------------------
# Building (connector side)
# ---------------------------------------------------------------------------------------------
#: framework 1 values sent bare: a closed set of characters that can neither split a clause (``;``), join a
#: condition (whitespace around ``and``/``or``), start an operator (``= < > !``), open a quote nor be a wildcard.
#: Everything else is quoted.
_V1_BARE = re.compile(r"[A-Za-z0-9_.:+\-@/]+")
_V1_KEYWORD = re.compile(r"(?<![A-Za-z0-9_])(?:and|or|not)(?![A-Za-z0-9_])", re.IGNORECASE)


def _v1_literal(text: str) -> str:
    if _V1_BARE.fullmatch(text) and not _V1_KEYWORD.search(text):
        return text
    if '"' not in text:
        return '"' + text + '"'
    if "'" not in text:
        return "'" + text + "'"
    return "'" + text.replace("'", "''") + "'"      # both quote kinds: double the one we quote with


def literal(value: Any, version: int) -> str:
    """A value as a q literal for ``version``: one literal whatever it holds.

    Framework 1 (query by example): dates, numbers and plain codes go bare (``2026-01-01T00:00:00+00:00``);
    any other text (whitespace of any kind, quotes, ``;``, operators, ``*``, ``and``/``or``/``not``, non-ASCII)
    is quoted, with ``"`` unless it holds one, else ``'``, doubling the quote character when it holds both.
    Framework 2+: single quotes, ``''`` for a quote.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or isinstance(value, Decimal) and value.is_finite():
        return str(value)
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    if version < 2:
        return _v1_literal(text)
    return "'" + text.replace("'", "''") + "'"


def build_cursor_filter(version: int, field: str, value: Any, *, key_field: str | None = None,
                        key: Any = None, strict: bool = False) -> str:
    """The q text for "rows at or after this cursor position".

    With a tie-break key (framework 2+ only): ``field > v or (field = v and key >= k)``
    (``> k`` when ``strict``, for keyset paging). Framework 1 cannot express OR
    across attributes, so it reads ``field >= v`` and relies on inclusive re-reads.
    """
    v = literal(value, version)
    if version < 2:
        return f"{field}{'>' if strict and key is None else '>='}{v}"
    if key_field is None or key is None:
        return f"{field} {'>' if strict else '>='} {v}"
    k = literal(key, version)
    return f"({field} > {v} or ({field} = {v} and {key_field} {'>' if strict else '>='} {k}))"


def combine(version: int, *parts: str | None) -> str | None:
    """AND several q texts together in the syntax of ``version``."""
    items = [p for p in parts if p]
    if not items:
        return None
    if version < 2:
        return ";".join(items)
    return " and ".join(items if len(items) == 1 else [f"({p})" if " or " in p.lower() and not p.startswith("(") else p
                                                       for p in items])
