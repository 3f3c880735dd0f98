"""Dynamics NAV / Business Central filter syntax: parse, evaluate, and build criteria.

The ``Criteria`` string of a ``ReadMultiple`` filter uses the NAV filter language:

===============  ============================================================
``10000``         equal (``=10000`` too)
``<>''``          not equal (``''`` is the empty value)
``>=2024-01-01``  comparisons ``<``, ``<=``, ``>``, ``>=``, ``<>``, ``=``
``A..B``          inclusive range; ``A..`` and ``..B`` are open ranges
``A|B``           or; ``A&B`` and; parentheses group: ``(A|B)&<>C``
``@*acme*``       ``*`` any run of characters, ``?`` one character; ``@`` ignores case
``'a|b'``         quotes make special characters literal; ``''`` inside quotes is one quote
===============  ============================================================

:func:`parse` turns a criteria string into a small tree; :func:`compile_criteria`
binds it to a value parser (the field's XSD type) and returns a predicate. The
builders (:func:`quote`, :func:`any_of`, :func:`at_least`) are what the connector
uses to write criteria, so every value it sends is quoted correctly.

The grammar is the one the NAV client documents; dates are accepted as ISO
``YYYY-MM-DD`` (the XML form web services use). Locale-formatted dates,
``TODAY``/``WORKDATE`` tokens and date formulas are not supported.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SPECIAL = set("|&()<>=@*?'")
_OPS = ("<>", "<=", ">=", "<", ">", "=")


class FilterSyntaxError(ValueError):
    """The criteria string is not valid NAV filter syntax, or a value does not fit the field's type."""


# ---------------------------------------------------------------------------------------------
# Tree
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool = False

    @property
    def wildcard(self) -> bool:
        return not self.quoted and ("*" in self.text or "?" in self.text)


@dataclass(frozen=True)
class Compare:
    op: str                 # one of _OPS
    value: Value
    ignore_case: bool = False


@dataclass(frozen=True)
class Range:
    low: Value | None
    high: Value | None
    ignore_case: bool = False


@dataclass(frozen=True)
class Or:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class And:
    parts: tuple[Any, ...]


Node = Compare | Range | Or | And


# ---------------------------------------------------------------------------------------------
# Parser (recursive descent over the characters; quotes handled in the scanner)
# ---------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def error(self, msg: str) -> FilterSyntaxError:
        return FilterSyntaxError(f"invalid filter {self.s!r} at position {self.i + 1}: {msg}")

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def parse(self) -> Node:
        node = self.or_expr()
        if self.i < len(self.s):
            raise self.error(f"unexpected {self.s[self.i]!r}")
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek() == "|":
            self.i += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.peek() == "&":
            self.i += 1
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        if self.peek() == "(":
            self.i += 1
            node = self.or_expr()
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            return node
        return self.term()

    def term(self) -> Node:
        ignore_case = False
        if self.peek() == "@":
            ignore_case, self.i = True, self.i + 1
        for op in _OPS:
            if self.s.startswith(op, self.i):
                self.i += len(op)
                if self.peek() == "@":              # both @<>x and <>@x are accepted
                    ignore_case, self.i = True, self.i + 1
                value = self.value()
                if value is None:
                    raise self.error(f"{op!r} needs a value")
                return Compare(op, value, ignore_case)
        if self.peek(2) == "..":
            self.i += 2
            high = self.value()
            if high is None:
                raise self.error("'..' needs a value on at least one side")
            return Range(None, high, ignore_case)
        low = self.value()
        if low is None:
            raise self.error("empty filter term")
        if self.peek(2) == "..":
            self.i += 2
            return Range(low, self.value(), ignore_case)
        return Compare("=", low, ignore_case)

    def value(self) -> Value | None:
        if self.peek() == "'":
            self.i += 1
            out = []
            while True:
                if self.i >= len(self.s):
                    raise self.error("unterminated quote")
                ch = self.s[self.i]
                if ch == "'":
                    if self.peek(2) == "''":
                        out.append("'")
                        self.i += 2
                        continue
                    self.i += 1
                    return Value("".join(out), quoted=True)
                out.append(ch)
                self.i += 1
        start = self.i
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch in "|&()" or self.s.startswith("..", self.i):
                break
            if ch in "<>=":
                raise self.error(f"operator {ch!r} inside a value (quote the value)")
            self.i += 1
        text = self.s[start:self.i]
        return Value(text) if text else None


def parse(criteria: str) -> Node | None:
    """Parse a criteria string. An empty (or blank) criteria means "no filter" and gives None."""
    if criteria is None or criteria.strip() == "":
        return None
    return _Parser(criteria.strip()).parse()


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------
ValueParser = Callable[[str], Any]


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("yes", "true", "1"):
        return True
    if t in ("no", "false", "0"):
        return False
    raise ValueError(f"{text!r} is not a valid Boolean (Yes/No)")


def value_parser(xsd_type: str) -> ValueParser:
    """The parser for filter values of a field of this XSD type (local name: decimal, date...)."""
    def dec(t: str) -> Decimal:
        try:
            return Decimal(t)
        except InvalidOperation:
            raise ValueError(f"{t!r} is not a valid decimal") from None

    def date(t: str) -> dt.date:
        try:
            return dt.date.fromisoformat(t)
        except ValueError:
            raise ValueError(f"{t!r} is not a valid date (use YYYY-MM-DD)") from None

    def integer(t: str) -> int:
        try:
            return int(t)
        except ValueError:
            raise ValueError(f"{t!r} is not a valid integer") from None

    return {"decimal": dec, "double": dec, "float": dec, "int": integer, "integer": integer, "long": integer,
            "short": integer, "date": date, "boolean": _bool}.get(xsd_type, str)


def _empty(parse_value: ValueParser) -> Any:
    """The empty value of a type: '' for text; None-like blanks for the rest (NAV's 0D, 0...)."""
    return "" if parse_value is str else None


def _like(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx + r"\Z", re.S | (re.I if ignore_case else 0))


def compile_criteria(criteria: str, parse_value: ValueParser = str) -> Callable[[Any], bool]:
    """A predicate over field values for this criteria; raises FilterSyntaxError for bad input."""
    tree = parse(criteria)
    if tree is None:
        return lambda _v: True
    typed = parse_value is not str

    def conv(v: Value) -> Any:
        if v.text == "" and v.quoted:
            return _empty(parse_value)
        try:
            return parse_value(v.text)
        except ValueError as exc:
            raise FilterSyntaxError(f"the filter {criteria!r} is not valid: {exc}") from None

    def norm(x: Any, ignore_case: bool) -> Any:
        return x.casefold() if ignore_case and isinstance(x, str) else x

    def build(node: Node) -> Callable[[Any], bool]:
        if isinstance(node, Or):
            fs = [build(p) for p in node.parts]
            return lambda x: any(f(x) for f in fs)
        if isinstance(node, And):
            fs = [build(p) for p in node.parts]
            return lambda x: all(f(x) for f in fs)
        if isinstance(node, Range):
            lo = None if node.low is None else norm(conv(node.low), node.ignore_case)
            hi = None if node.high is None else norm(conv(node.high), node.ignore_case)
            ic = node.ignore_case

            def in_range(x: Any) -> bool:
                if x is None or (x == "" and not typed):
                    x = _empty(parse_value)
                if x is None:
                    return lo is None or lo == _empty(parse_value)
                x = norm(x, ic)
                return (lo is None or x >= lo) and (hi is None or x <= hi)
            return in_range
        assert isinstance(node, Compare)
        if node.value.wildcard:
            if node.op not in ("=", "<>"):
                raise FilterSyntaxError(f"the filter {criteria!r} is not valid: wildcards work with = and <> only")
            rx = _like(node.value.text, node.ignore_case)
            neg = node.op == "<>"

            def like(x: Any) -> bool:
                text = "" if x is None else (x if isinstance(x, str) else _text(x))
                return bool(rx.match(text)) != neg
            return like
        target = norm(conv(node.value), node.ignore_case)
        op, ic = node.op, node.ignore_case

        def cmp(x: Any) -> bool:
            if x is None or (x == "" and typed):
                x = _empty(parse_value)
            x = norm(x, ic)
            if op == "=":
                return x == target
            if op == "<>":
                return x != target
            if x is None or target is None:
                return False
            return {"<": x < target, "<=": x <= target, ">": x > target, ">=": x >= target}[op]
        return cmp

    return build(tree)


def _text(x: Any) -> str:
    if isinstance(x, bool):
        return "Yes" if x else "No"
    if isinstance(x, (dt.date, dt.datetime)):
        return x.isoformat()
    return str(x)


# ---------------------------------------------------------------------------------------------
# Builders (what the connector sends)
# ---------------------------------------------------------------------------------------------
def quote(value: Any) -> str:
    """One literal value in filter syntax; quoted when it holds special characters or is empty."""
    text = _text(value)
    if (text == "" or any(c in SPECIAL for c in text) or ".." in text or text[:1] == "." or text[-1:] == "."
            or text != text.strip()):
        return "'" + text.replace("'", "''") + "'"
    return text


def any_of(values: Iterable[Any]) -> str:
    """``A|B|C``: equal to any of the values."""
    vals = [quote(v) for v in values]
    if not vals:
        raise ValueError("any_of needs at least one value")
    return "|".join(vals)


def at_least(value: Any) -> str:
    """``value..``: greater than or equal (an open range)."""
    return quote(value) + ".."


def between(low: Any, high: Any) -> str:
    return quote(low) + ".." + quote(high)
