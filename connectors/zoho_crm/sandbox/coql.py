"""A small COQL engine: ``select f1, f2 from Module where <cond> [order by f [asc|desc], ...] [limit [o,] n]``.

Conditions: ``= != < <= > >=``, ``[not] like '%x%'``, ``[not] in (..)``, ``is [not] null``,
``between a and b``, combined with ``and``/``or`` and parentheses. Lookups compare by id
(``Account_Name = '123'``) or by a sub-key (``Account_Name.name``); they are returned as
``{"id": ...}``. Limits as in Zoho v7+: at most 50 columns, 2000 rows per call, 100,000 offset.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

MAX_COLUMNS, MAX_LIMIT, MAX_OFFSET = 50, 2000, 100_000
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|=|<|>|\(|\)|,)"
                   r"|(?P<word>[A-Za-z_$][\w$.]*))")


class CoqlError(Exception):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


@dataclass
class Query:
    columns: list[str]
    module: str
    where: Any
    order: list[tuple[str, bool]] = field(default_factory=list)   # (field, descending)
    offset: int = 0
    limit: int = 200


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query", {"near": text[pos:pos + 20]})
        pos = m.end()
        if m.group("str") is not None:
            out.append(("val", re.sub(r"\\(.)", r"\1", m.group("str")[1:-1])))   # \' is ', \\ is \
        elif m.group("num") is not None:
            n = m.group("num")
            out.append(("val", float(n) if "." in n else int(n)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        elif m.group("word") is not None:
            w = m.group("word")
            low = w.lower()
            if low in ("true", "false"):
                out.append(("val", low == "true"))
            elif low == "null":
                out.append(("null", None))
            else:
                out.append(("word", w))
    return out


class _Parser:
    def __init__(self, toks: list[tuple[str, Any]]) -> None:
        self.t, self.i = toks, 0

    def peek(self, kw: str | None = None) -> bool:
        if self.i >= len(self.t):
            return False
        kind, v = self.t[self.i]
        return kw is None or (kind in ("word", "op") and str(v).lower() == kw)

    def take(self, kw: str | None = None) -> tuple[str, Any]:
        if self.i >= len(self.t) or (kw and not self.peek(kw)):
            raise CoqlError("SYNTAX_ERROR", f"error occured while parsing the query: expected {kw or 'more'}",
                            {"clause": kw or ""})
        self.i += 1
        return self.t[self.i - 1]

    def name(self) -> str:
        kind, v = self.take()
        if kind != "word":
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query: expected a column", {})
        return v

    def value(self) -> Any:
        kind, v = self.take()
        if kind not in ("val", "null"):
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query: expected a value", {})
        return v

    def cond(self) -> Any:
        node = self.term()
        while self.peek("or"):
            self.take()
            node = ("or", node, self.term())
        return node

    def term(self) -> Any:
        node = self.factor()
        while self.peek("and"):
            self.take()
            node = ("and", node, self.factor())
        return node

    def factor(self) -> Any:
        if self.peek("("):
            self.take()
            node = self.cond()
            self.take(")")
            return node
        col = self.name()
        if self.peek("is"):
            self.take()
            neg = bool(self.peek("not")) and bool(self.take())
            self.take()  # null
            return ("notnull" if neg else "null", col)
        neg = False
        if self.peek("not"):
            self.take()
            neg = True
        if self.peek("in"):
            self.take()
            self.take("(")
            vals = [self.value()]
            while self.peek(","):
                self.take()
                vals.append(self.value())
            self.take(")")
            return ("notin" if neg else "in", col, vals)
        if self.peek("like"):
            self.take()
            return ("notlike" if neg else "like", col, self.value())
        if self.peek("between"):
            self.take()
            lo = self.value()
            self.take("and")
            return ("between", col, (lo, self.value()))
        kind, op = self.take()
        if kind != "op" or op not in ("=", "!=", "<", "<=", ">", ">="):
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query: expected an operator", {})
        return (op, col, self.value())


def parse(text: str) -> Query:
    p = _Parser(_tokens(text))
    p.take("select")
    cols = [p.name()]
    while p.peek(","):
        p.take()
        cols.append(p.name())
    if len(cols) > MAX_COLUMNS:
        raise CoqlError("LIMIT_EXCEEDED", "column limit exceeded", {"limit": MAX_COLUMNS})
    p.take("from")
    module = p.name()
    if not p.peek("where"):
        raise CoqlError("SYNTAX_ERROR", "where clause is missing in the query", {"clause": "where"})
    p.take("where")
    q = Query(cols, module, p.cond())
    if p.peek("order"):
        p.take()
        p.take("by")
        while True:
            col = p.name()
            desc = False
            if p.peek("asc") or p.peek("desc"):
                desc = str(p.take()[1]).lower() == "desc"
            q.order.append((col, desc))
            if not p.peek(","):
                break
            p.take()
    if p.peek("limit"):
        p.take()
        first = p.value()
        if p.peek(","):
            p.take()
            q.offset, q.limit = int(first), int(p.value())
        else:
            q.limit = int(first)
            if p.peek("offset"):
                p.take()
                q.offset = int(p.value())
    if p.i != len(p.t):
        raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query", {"near": str(p.t[p.i][1])})
    if q.limit > MAX_LIMIT or q.limit < 1:
        raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"limit": MAX_LIMIT})
    if q.offset + q.limit > MAX_OFFSET:
        raise CoqlError("LIMIT_EXCEEDED", "offset limit exceeded", {"limit": MAX_OFFSET})
    return q


def _get(rec: dict[str, Any], path: str) -> Any:
    head, _, sub = path.partition(".")
    v = rec.get(head)
    if isinstance(v, dict):
        return v.get(sub or "id")
    return v


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        if len(v) >= 20 and v[10:11] == "T":
            try:
                return dt.datetime.fromisoformat(v)
            except ValueError:
                pass
        return v.lower()
    return v


def _cmp(op: str, a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _match(node: Any, rec: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "and":
        return _match(node[1], rec) and _match(node[2], rec)
    if kind == "or":
        return _match(node[1], rec) or _match(node[2], rec)
    v = _get(rec, node[1])
    if kind == "null":
        return v in (None, "", [])
    if kind == "notnull":
        return v not in (None, "", [])
    if kind in ("in", "notin"):
        hit = _norm(v) in {_norm(x) for x in node[2]}
        return hit if kind == "in" else not hit
    if kind in ("like", "notlike"):
        rx = "^" + ".*".join(re.escape(part) for part in str(node[2]).lower().split("%")) + "$"
        hit = v is not None and re.match(rx, str(v).lower()) is not None
        return hit if kind == "like" else not hit
    if kind == "between":
        return _cmp(">=", v, node[2][0]) and _cmp("<=", v, node[2][1])
    return _cmp(kind, v, node[2])


def _columns(node: Any) -> list[str]:
    if node[0] in ("and", "or"):
        return _columns(node[1]) + _columns(node[2])
    return [node[1]]


def run(q: Query, records: list[dict[str, Any]], known: set[str]) -> tuple[list[dict[str, Any]], bool]:
    for col in q.columns + _columns(q.where) + [c for c, _ in q.order]:
        if col.split(".")[0] not in known:
            raise CoqlError("INVALID_QUERY", "invalid query formed", {"column_name": col, "reason": "column given seems to be invalid"})
    rows = [r for r in records if _match(q.where, r)]
    rows.sort(key=lambda r: int(r["id"]))
    for col, desc in reversed(q.order):
        rows.sort(key=lambda r: (_get(r, col) is None, _norm(_get(r, col)) if _get(r, col) is not None else 0), reverse=desc)
    chunk = rows[q.offset:q.offset + q.limit]
    out = []
    for r in chunk:
        row: dict[str, Any] = {}
        for col in q.columns:
            v = _get(r, col) if "." in col else r.get(col)
            row[col] = {"id": v["id"]} if isinstance(v, dict) and "id" in v and "." not in col else v
        row["id"] = r["id"]
        out.append(row)
    return out, q.offset + q.limit < len(rows)
