"""Run a parsed SOQL query against the sandbox store: resolve fields, filter, sort, render.

Relationship paths (``Account.Name``, ``Account.Owner.Id``) follow lookups through the
describe's ``relationshipName``; child subqueries (``(SELECT .. FROM OrderItems)``) follow
``childRelationships``. Rendering matches the real JSON: parent objects carry their own
``attributes`` (or are ``null``), child results are ``{"totalSize","done","records"}`` (or ``null``).
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from concord.connectors.salesforce.sandbox.describes import F, SObjectDef
from concord.connectors.salesforce.sandbox.soql import BoolOp, Compare, FieldRef, Not, Query, SoqlError, like_to_regex, parse_datetime
from concord.connectors.salesforce.sandbox.store import Store


def _invalid_field(name: str, sobject: str) -> SoqlError:
    return SoqlError(f"\nNo such column '{name}' on entity '{sobject}'. If you are attempting to use a custom field, be "
                     "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
                     "call for the appropriate names.", "INVALID_FIELD")


class Executor:
    def __init__(self, store: Store, version: str) -> None:
        self.store, self.version = store, version
        self._hops: dict[tuple[str, tuple[str, ...]], list[tuple[SObjectDef, F]]] = {}

    # ---- validation --------------------------------------------------------------------------
    def resolve(self, obj: SObjectDef, ref: FieldRef) -> list[tuple[SObjectDef, F]]:
        """The chain of (object, field) hops for a path; the last hop is the value field."""
        key = (obj.name, ref.path)
        if key not in self._hops:
            self._hops[key] = self._resolve(obj, ref)
        return self._hops[key]

    def _resolve(self, obj: SObjectDef, ref: FieldRef) -> list[tuple[SObjectDef, F]]:
        hops: list[tuple[SObjectDef, F]] = []
        cur = obj
        for i, part in enumerate(ref.path):
            last = i == len(ref.path) - 1
            if last:
                f = cur.field(part)
                if f is None:
                    raise _invalid_field(ref.dotted if len(ref.path) > 1 else part, obj.name)
                hops.append((cur, f))
            else:
                if i == 0 and part.lower() == obj.name.lower() and len(ref.path) > 1:
                    continue                     # "Account.Name" written from Account itself
                f = cur.by_relationship(part)
                if f is None or not f.ref or f.ref[0] not in self.store.objects:
                    raise SoqlError(f"\nDidn't understand relationship '{part}' in field path. If you are attempting to "
                                    "use a custom relationship, be sure to append the '__r' after the custom relationship "
                                    "name. Please reference your WSDL or the describe call for the appropriate names.",
                                    "INVALID_FIELD")
                hops.append((cur, f))
                cur = self.store.objects[f.ref[0]]
        return hops

    def check(self, q: Query, obj: SObjectDef) -> None:
        for ref in q.fields:
            self.resolve(obj, ref)
        for item in q.order_by:
            self.resolve(obj, item.field)
        self._check_cond(q.where, obj)
        for sub in q.subqueries:
            child = obj.child(sub.sobject)
            if child is None:
                raise SoqlError(f"\nDidn't understand relationship '{sub.sobject}' in FROM part of query call. If you are "
                                "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                                "relationship name.", "INVALID_TYPE")
            self.check(sub, self.store.objects[child.child])

    def _check_cond(self, cond: Any, obj: SObjectDef) -> None:
        if cond is None:
            return
        if isinstance(cond, Compare):
            hops = self.resolve(obj, cond.field)
            f = hops[-1][1]
            if not (f.type not in ("textarea", "address")):
                raise SoqlError(f"\nfield '{f.name}' can not be filtered in a query call", "INVALID_FIELD")
            return
        for c in (cond.items if isinstance(cond, BoolOp) else (cond.item,)):
            self._check_cond(c, obj)

    # ---- values ------------------------------------------------------------------------------
    def value(self, rec: dict[str, Any] | None, hops: list[tuple[SObjectDef, F]]) -> Any:
        for obj, f in hops[:-1]:
            if rec is None:
                return None
            pid = rec.get(f.name)
            rec = self.store.records[f.ref[0]].get(pid) if pid else None
        return None if rec is None else rec.get(hops[-1][1].name)

    def matches(self, rec: dict[str, Any], cond: Any, obj: SObjectDef) -> bool:
        if cond is None:
            return True
        if isinstance(cond, BoolOp):
            if cond.op == "AND":
                return all(self.matches(rec, c, obj) for c in cond.items)
            return any(self.matches(rec, c, obj) for c in cond.items)
        if isinstance(cond, Not):
            return not self.matches(rec, cond.item, obj)
        hops = self.resolve(obj, cond.field)
        return _compare(hops[-1][1], self.value(rec, hops), cond.op, cond.value)

    # ---- execution --------------------------------------------------------------------------
    def run(self, soql: str, *, include_deleted: bool) -> tuple[Query, list[str]]:
        """Parse, check and run a query: the matching record ids in result order."""
        from concord.connectors.salesforce.sandbox.soql import parse

        q = parse(soql)
        try:
            obj = self.store.obj(q.sobject)
        except Exception:
            raise SoqlError(f"\nsObject type '{q.sobject}' is not supported. If you are attempting to use a custom "
                            "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                            "the describe call for the appropriate names.", "INVALID_TYPE") from None
        self.check(q, obj)
        with self.store.lock:
            rows = [r for r in self.store.rows(obj.name, include_deleted=include_deleted) if self.matches(r, q.where, obj)]
            rows = self.sort(rows, q, obj)
        if q.offset:
            rows = rows[q.offset:]
        if q.limit is not None:
            rows = rows[:q.limit]
        return q, [r["Id"] for r in rows]

    def sort(self, rows: list[dict[str, Any]], q: Query, obj: SObjectDef) -> list[dict[str, Any]]:
        """Stable multi-pass sort, last key first; NULLS FIRST/LAST as SOQL defines them."""
        for o in reversed(q.order_by):
            hops = self.resolve(obj, o.field)
            f = hops[-1][1]

            def key(r: dict[str, Any], hops: Any = hops, f: F = f, o: Any = o) -> tuple[int, Any]:
                v = _sortable(f, self.value(r, hops))
                if v is None:
                    if o.descending:
                        return (0 if o.nulls_last else 2, 0)
                    return (2 if o.nulls_last else 0, 0)
                return (1, v)

            rows = sorted(rows, key=key, reverse=o.descending)
        return rows

    def render_page(self, q: Query, obj: SObjectDef, ids: list[str]) -> list[dict[str, Any]]:
        """Render one batch of result rows (child rows are indexed once per batch)."""
        self._child_cache: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
        with self.store.lock:
            recs = [self.store.records[obj.name].get(i) for i in ids]
            return [self.render(q, obj, r) for r in recs if r is not None]

    def render(self, q: Query, obj: SObjectDef, rec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": obj.name,
                                              "url": f"/services/data/v{self.version}/sobjects/{obj.name}/{rec['Id']}"}}
        for item in q.select:
            if isinstance(item, FieldRef):
                self._render_path(out, obj, rec, item)
            else:
                out[obj.child(item.sobject).relationship] = self._children(item, obj, rec)  # type: ignore[union-attr]
        return out

    def _render_path(self, out: dict[str, Any], obj: SObjectDef, rec: dict[str, Any] | None, ref: FieldRef) -> None:
        hops = self.resolve(obj, ref)
        target, cur_rec = out, rec
        for o, f in hops[:-1]:
            pid = cur_rec.get(f.name) if cur_rec else None
            parent_obj = self.store.objects[f.ref[0]]
            cur_rec = self.store.records[parent_obj.name].get(pid) if pid else None
            if cur_rec is None:
                target[f.rel] = None
                return
            nxt = target.get(f.rel)
            if not isinstance(nxt, dict):
                nxt = {"attributes": {"type": parent_obj.name,
                                      "url": f"/services/data/v{self.version}/sobjects/{parent_obj.name}/{pid}"}}
                target[f.rel] = nxt
            target = nxt
        f = hops[-1][1]
        target[f.name] = cur_rec.get(f.name) if cur_rec else None

    def _children(self, sub: Query, parent: SObjectDef, rec: dict[str, Any]) -> dict[str, Any] | None:
        rel = parent.child(sub.sobject)
        assert rel is not None
        cobj = self.store.objects[rel.child]
        cache = getattr(self, "_child_cache", None)
        if cache is None:
            cache = self._child_cache = {}
        index = cache.get((cobj.name, rel.field))
        if index is None:
            index = cache[(cobj.name, rel.field)] = {}
            for r in self.store.rows(cobj.name):
                index.setdefault(r.get(rel.field), []).append(r)
        rows = [r for r in index.get(rec["Id"], []) if self.matches(r, sub.where, cobj)]
        rows = self.sort(rows, sub, cobj)
        if sub.limit is not None:
            rows = rows[:sub.limit]
        if not rows:
            return None
        return {"totalSize": len(rows), "done": True, "records": [self.render(sub, cobj, r) for r in rows]}


@functools.lru_cache(maxsize=256)
def _wire(value: dt.datetime) -> str:
    from concord.connectors.salesforce.sandbox.store import fmt_dt

    return fmt_dt(value)


def _sortable(f: F, v: Any) -> Any:
    if v is None:
        return None
    if f.type == "datetime":
        return v if isinstance(v, str) and v.endswith("+0000") else _wire(parse_datetime(v))
    if isinstance(v, str):
        return v.lower()
    return v


def _compare(f: F, left: Any, op: str, right: Any) -> bool:
    if op in ("IN", "NOT IN"):
        hit = any(_compare(f, left, "=", r) for r in right)
        return hit if op == "IN" else not hit
    if op == "LIKE":
        return left is not None and bool(like_to_regex(str(right)).match(str(left)))
    if right is None or left is None:
        if op == "=":
            return left is None and right is None
        if op == "!=":
            return (left is None) != (right is None)
        return False
    try:
        if f.type == "datetime" or isinstance(right, dt.datetime):
            if not isinstance(right, dt.datetime):
                raise SoqlError(f"\nvalue of filter criterion for field '{f.name}' must be of type dateTime and should "
                                "not be enclosed in quotes", "INVALID_FIELD")
            if isinstance(left, str) and left.endswith("+0000") and right.microsecond % 1000 == 0:
                right = _wire(right)        # same fixed-width UTC format: string order is time order
            else:
                left = parse_datetime(left)
        elif f.type == "date" or isinstance(right, dt.date):
            if not isinstance(right, dt.date):
                raise SoqlError(f"\nvalue of filter criterion for field '{f.name}' must be of type date and should not "
                                "be enclosed in quotes", "INVALID_FIELD")
            left = dt.date.fromisoformat(str(left)[:10])
        elif f.type in ("double", "currency", "percent", "int"):
            left, right = float(left), float(right)
        elif f.type == "boolean":
            if not isinstance(right, bool):
                raise SoqlError(f"\nvalue of filter criterion for field '{f.name}' must be of type boolean",
                                "INVALID_FIELD")
        else:
            left, right = str(left).lower(), str(right).lower()
    except (TypeError, ValueError):
        return False
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]
