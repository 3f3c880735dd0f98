"""OData V2 ``$filter``: a tokenizer, a recursive-descent parser to a small AST, and an evaluator.

Grammar (precedence low -> high): ``or``, ``and``, ``not``, comparisons (``eq ne gt ge lt le``),
primaries: parentheses, literals, property paths, function calls (``substringof``, ``startswith``,
``endswith``, ``tolower``, ``toupper``, ``trim``, ``length``, ``indexof``, ``year``/``month``/``day``).

Typed literals: ``'text'`` (``''`` escapes a quote), ``datetime'2024-01-01T00:00:00'``,
``datetimeoffset'2024-01-01T00:00:00Z'``, ``time'PT10H11M12S'``, ``guid'...'``, ``12.5M`` (decimal),
``10L`` (int64), ``1.5d``/``1.5f``, integers, ``true``/``false``, ``null``. Datetimes compare as UTC.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote as _pct

from concord.connectors.sap_odata.wire import UTC, parse_time


class FilterError(ValueError):
    """The ``$filter`` expression is invalid (the sandbox answers 400)."""


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Prop:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class BinOp:
    op: str            # eq ne gt ge lt le and or
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<typed>(?:datetimeoffset|datetime|time|guid|binary|X)'(?:[^']|'')*')
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[MmLlDdFf]?)
  | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
""", re.X)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"substringof": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1, "trim": 1,
             "length": 1, "indexof": 2, "year": 1, "month": 1, "day": 1, "hour": 1, "minute": 1, "second": 1,
             "concat": 2}


def _datetime(text: str, offset: bool) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"invalid {'datetimeoffset' if offset else 'datetime'} literal {text!r}") from None
    return d.astimezone(UTC) if d.tzinfo else d.replace(tzinfo=UTC)


def _typed(tok: str) -> Lit:
    prefix, _, rest = tok.partition("'")
    body = rest[:-1].replace("''", "'")
    if prefix == "datetime":
        return Lit(_datetime(body, False))
    if prefix == "datetimeoffset":
        return Lit(_datetime(body, True))
    if prefix == "time":
        try:
            return Lit(parse_time(body))
        except ValueError:
            raise FilterError(f"invalid time literal {body!r}") from None
    if prefix == "guid":
        try:
            return Lit(str(uuid.UUID(body)))
        except ValueError:
            raise FilterError(f"invalid guid literal {body!r}") from None
    return Lit(body)


def _number(tok: str) -> Lit:
    suffix = tok[-1].lower() if tok[-1].isalpha() else ""
    core = tok[:-1] if suffix else tok
    if suffix == "m":
        return Lit(Decimal(core))
    if suffix in ("d", "f") or ("." in core or "e" in core.lower()) and suffix != "l":
        return Lit(Decimal(core) if suffix == "" else float(core))
    return Lit(int(core))


def tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FilterError(f"invalid token at position {pos}: {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, kind: str | None = None, value: str | None = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return (kind is None or k == kind) and (value is None or v == value)

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise FilterError("unexpected end of $filter expression")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str) -> str:
        k, v = self.take()
        if k != kind:
            raise FilterError(f"expected {kind} but found {v!r}")
        return v

    def parse(self) -> Any:
        node = self.or_()
        if self.i != len(self.toks):
            raise FilterError(f"unexpected {self.toks[self.i][1]!r} in $filter")
        return node

    def or_(self) -> Any:
        node = self.and_()
        while self.peek("name", "or"):
            self.take()
            node = BinOp("or", node, self.and_())
        return node

    def and_(self) -> Any:
        node = self.not_()
        while self.peek("name", "and"):
            self.take()
            node = BinOp("and", node, self.not_())
        return node

    def not_(self) -> Any:
        if self.peek("name", "not"):
            self.take()
            return Not(self.not_())
        return self.cmp()

    def cmp(self) -> Any:
        left = self.primary()
        if self.i < len(self.toks) and self.toks[self.i][0] == "name" and self.toks[self.i][1] in COMPARISONS:
            op = self.take()[1]
            return BinOp(op, left, self.primary())
        return left

    def primary(self) -> Any:
        k, v = self.take()
        if k == "lp":
            node = self.or_()
            self.expect("rp")
            return node
        if k == "str":
            return Lit(v[1:-1].replace("''", "'"))
        if k == "typed":
            return _typed(v)
        if k == "num":
            return _number(v)
        if k == "name":
            if v in ("true", "false"):
                return Lit(v == "true")
            if v == "null":
                return Lit(None)
            if self.peek("lp") and v in FUNCTIONS:
                self.take()
                args = [self.or_()]
                while self.peek("comma"):
                    self.take()
                    args.append(self.or_())
                self.expect("rp")
                if len(args) != FUNCTIONS[v]:
                    raise FilterError(f"{v}() takes {FUNCTIONS[v]} arguments, got {len(args)}")
                return Call(v, tuple(args))
            if self.peek("lp"):
                raise FilterError(f"unknown function {v}()")
            if v in COMPARISONS or v in ("and", "or", "not"):
                raise FilterError(f"operator {v!r} is missing an operand")
            return Prop(tuple(v.split("/")))
        raise FilterError(f"unexpected {v!r} in $filter")


def parse_filter(text: str) -> Any:
    """Parse a ``$filter`` expression to an AST. Raises :class:`FilterError`."""
    if not text.strip():
        raise FilterError("empty $filter")
    return _Parser(text).parse()


def properties_of(node: Any) -> set[str]:
    """The top-level property names an expression uses (to check they exist and are filterable)."""
    if isinstance(node, Prop):
        return {node.path[0]}
    if isinstance(node, BinOp):
        return properties_of(node.left) | properties_of(node.right)
    if isinstance(node, Not):
        return properties_of(node.operand)
    if isinstance(node, Call):
        out: set[str] = set()
        for a in node.args:
            out |= properties_of(a)
        return out
    return set()


def _norm(v: Any) -> Any:
    if isinstance(v, dt.datetime) and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    return v


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "eq":
        return _norm(a) == _norm(b)
    if op == "ne":
        return _norm(a) != _norm(b)
    if a is None or b is None:
        return False
    a, b = _norm(a), _norm(b)
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        raise FilterError(f"cannot compare {type(a).__name__} with {type(b).__name__}") from None


def _call(name: str, args: list[Any]) -> Any:
    if name in ("substringof", "startswith", "endswith", "indexof", "concat"):
        a, b = args
        if a is None or b is None:
            return False if name != "concat" else None
        if name == "substringof":
            return str(a) in str(b)
        if name == "startswith":
            return str(a).startswith(str(b))
        if name == "endswith":
            return str(a).endswith(str(b))
        if name == "indexof":
            return str(a).find(str(b))
        return str(a) + str(b)
    (a,) = args
    if a is None:
        return None
    if name == "tolower":
        return str(a).lower()
    if name == "toupper":
        return str(a).upper()
    if name == "trim":
        return str(a).strip()
    if name == "length":
        return len(str(a))
    return getattr(a, name)


def evaluate(node: Any, get: Callable[[tuple[str, ...]], Any] | Mapping[str, Any]) -> Any:
    """Evaluate an AST against a record. ``get`` maps a property path to its value."""
    if isinstance(get, Mapping):
        rec = get
        get = lambda path: rec.get(path[0])  # noqa: E731
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Prop):
        return get(node.path)
    if isinstance(node, Not):
        return not evaluate(node.operand, get)
    if isinstance(node, BinOp):
        if node.op == "and":
            return bool(evaluate(node.left, get)) and bool(evaluate(node.right, get))
        if node.op == "or":
            return bool(evaluate(node.left, get)) or bool(evaluate(node.right, get))
        return _compare(node.op, evaluate(node.left, get), evaluate(node.right, get))
    if isinstance(node, Call):
        return _call(node.name, [evaluate(a, get) for a in node.args])
    raise FilterError(f"cannot evaluate {node!r}")


# ---- building filters (client side) -------------------------------------------------------------
def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def datetime_literal(value: dt.datetime) -> str:
    value = value.astimezone(UTC).replace(tzinfo=None)
    return f"datetime'{value.isoformat(timespec='seconds')}'"


def datetimeoffset_literal(value: dt.datetime) -> str:
    value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return f"datetimeoffset'{text}Z'"


def time_literal(value: dt.timedelta) -> str:
    from concord.connectors.sap_odata.wire import format_time
    return f"time'{format_time(value)}'"


# ---- typed literals for keys and filters ----------------------------------------------------------
_INT_RX = re.compile(r"[+-]?\d+")
_INT_RANGES = {"Edm.Byte": (0, 255), "Edm.SByte": (-128, 127), "Edm.Int16": (-2 ** 15, 2 ** 15 - 1),
               "Edm.Int32": (-2 ** 31, 2 ** 31 - 1), "Edm.Int64": (-2 ** 63, 2 ** 63 - 1)}


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text.startswith("/Date("):
            from concord.connectors.sap_odata.wire import parse_date
            return parse_date(text)
        d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return d.astimezone(UTC) if d.tzinfo else d.replace(tzinfo=UTC)


def _iso(value: dt.datetime) -> str:
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds" if naive.microsecond else "seconds")


def literal(edm: str, value: Any) -> str:
    """``value`` as an OData V2 URI literal of the EDM type ``edm`` (for key predicates and ``$filter``).

    ``Edm.String`` -> ``'it''s'``; ``Edm.Int32`` -> ``42``; ``Edm.Int64`` -> ``42L``; ``Edm.Decimal`` ->
    ``1.5M``; ``Edm.Double``/``Single`` -> ``1.5d``/``1.5f``; ``Edm.Guid`` -> ``guid'...'``; ``Edm.DateTime``
    -> ``datetime'2024-01-01T00:00:00'`` (UTC); ``Edm.DateTimeOffset`` -> ``datetimeoffset'...Z'``; ``Edm.Time``
    -> ``time'PT10H11M12S'``; ``Edm.Boolean`` -> ``true``; ``Edm.Binary`` -> ``binary'0A1B'``. Values may be given
    as text (as a source id carries them). Not percent-encoded: see :func:`key_predicate`. Raises ValueError.
    """
    if value is None:
        return "null"
    try:
        if edm == "Edm.String":
            return quote(str(value))
        if edm in _INT_RANGES:
            if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
                raise ValueError
            text = str(int(value)) if isinstance(value, (int, float, Decimal)) else str(value).strip()
            if edm == "Edm.Int64" and text[-1:] in ("L", "l"):
                text = text[:-1]
            if not _INT_RX.fullmatch(text):
                raise ValueError
            n = int(text)
            lo, hi = _INT_RANGES[edm]
            if not lo <= n <= hi:
                raise ValueError
            return f"{n}L" if edm == "Edm.Int64" else str(n)
        if edm == "Edm.Decimal":
            text = str(value).strip()
            d = Decimal(text[:-1] if text[-1:] in ("M", "m") else text)
            if not d.is_finite():
                raise ValueError
            return f"{d:f}M"
        if edm in ("Edm.Double", "Edm.Single"):
            text = str(value).strip()
            f = float(text[:-1] if text[-1:] in ("d", "D", "f", "F") else text)
            if f != f or f in (float("inf"), float("-inf")):
                raise ValueError
            return repr(f) + ("d" if edm == "Edm.Double" else "f")
        if edm == "Edm.Guid":
            return f"guid'{uuid.UUID(str(value).strip())}'"
        if edm == "Edm.DateTime":
            return f"datetime'{_iso(_to_datetime(value))}'"
        if edm == "Edm.DateTimeOffset":
            return f"datetimeoffset'{_iso(_to_datetime(value))}Z'"
        if edm == "Edm.Time":
            from concord.connectors.sap_odata.wire import format_time, parse_time
            span = value if isinstance(value, (dt.timedelta, dt.time)) else parse_time(str(value))
            return f"time'{format_time(span)}'"
        if edm == "Edm.Boolean":
            if isinstance(value, bool):
                return "true" if value else "false"
            text = str(value).strip().lower()
            if text in ("true", "1"):
                return "true"
            if text in ("false", "0"):
                return "false"
            raise ValueError
        if edm == "Edm.Binary":
            raw = bytes(value) if isinstance(value, (bytes, bytearray)) else bytes.fromhex(str(value))
            return f"binary'{raw.hex().upper()}'"
    except (ValueError, TypeError, InvalidOperation, ArithmeticError):
        raise ValueError(f"{value!r} is not a valid {edm}") from None
    raise ValueError(f"{edm} values cannot be written as an OData V2 literal")


def key_predicate(names: Sequence[str], types: Sequence[str], values: Sequence[Any]) -> str:
    """The key segment ``(...)`` of an entity URL, every literal percent-encoded for the path.

    One key: ``('10%2F2')``; several: ``(SalesOrder='1',Item=10)``. Inside each literal everything but
    unreserved characters and the quote is percent-encoded (space, ``/``, ``#``, ``?``, ``%``, ``&``, ``+``, ...),
    so a value can never end the segment, start a query or a fragment, or change the path.
    """
    lits = [_pct(literal(t, v), safe="'") for t, v in zip(types, values)]
    if len(lits) == 1:
        return f"({lits[0]})"
    return "(" + ",".join(f"{n}={lit}" for n, lit in zip(names, lits)) + ")"
