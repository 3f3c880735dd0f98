"""sObject Collections (``/composite/sobjects``): up to 200 records per call, a result per record.

``allOrNone=false`` keeps the good records; ``allOrNone=true`` rolls every record back
when one fails (the others then report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``).
Per-record errors use ``statusCode`` (not ``errorCode``), as the real API does.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from concord.hub.sandbox import Request, Response, SandboxApp
from concord.connectors.salesforce.sandbox.store import SfError, Store

V = r"/services/data/v(?P<v>\d+\.\d)"
MAX = 200
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the request was using AllOrNone "
                          "header", "fields": []}


def _err(status: int, code: str, message: str) -> Response:
    return Response.json([{"message": message, "errorCode": code}], status)


class _Undo:
    """Snapshots of the records a request touched, to roll back an allOrNone request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.created: list[tuple[str, str]] = []
        self.before: dict[tuple[str, str], dict[str, Any]] = {}

    def touch(self, sobject: str, rid: str) -> None:
        rec = self.store.records[sobject].get(rid)
        if rec is not None and (sobject, rid) not in self.before:
            self.before[(sobject, rid)] = copy.deepcopy(rec)

    def rollback(self) -> None:
        s = self.store
        for sobject, rid in self.created:
            rec = s.records[sobject].pop(rid, None)
            if rec:
                s._index_ext(s.objects[sobject], rid, rec, {})
        for (sobject, rid), rec in self.before.items():
            cur = s.records[sobject].get(rid, {})
            s._index_ext(s.objects[sobject], rid, cur, rec)
            s.records[sobject][rid] = rec
            s.deleted_at.pop(rid, None) if not rec["IsDeleted"] else None


def install(app: SandboxApp, org: Any, api: Callable) -> None:
    store: Store = org.store
    faults = app.faults

    def run(records: list[Any], all_or_none: bool, one: Callable[[Any, _Undo], dict[str, Any]]) -> Response:
        results: list[dict[str, Any]] = []
        with store.lock:
            undo = _Undo(store)
            failed = False
            for rec in records:
                try:
                    if faults.fail_record() or faults.fail_record_transient():
                        raise SfError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 "
                                      "records: the record is locked by another transaction")
                    results.append(one(rec, undo))
                except SfError as e:
                    failed = True
                    results.append({"id": rec.get("Id") if isinstance(rec, dict) else None, "success": False,
                                    "errors": [e.collection()]})
                    if all_or_none:
                        break
            if all_or_none and failed:
                undo.rollback()
                out = []
                for i, _rec in enumerate(records):
                    if i < len(results) and not results[i]["success"]:
                        out.append({**results[i], "id": None})
                    else:
                        out.append({"id": None, "success": False, "errors": [ROLLED_BACK]})
                results = out
        return Response.json(results)

    def _payload(req: Request) -> tuple[list[Any], bool] | Response:
        body = req.json() or {}
        records = body.get("records")
        if not isinstance(records, list) or not records:
            return _err(400, "REQUIRED_FIELD_MISSING", "At least 1 record is required.")
        if len(records) > MAX:
            return _err(400, "EXCEEDED_ID_LIMIT", f"Exceeded max size limit of {MAX}")
        return records, bool(body.get("allOrNone", False))

    def _type(rec: dict[str, Any]) -> str:
        t = (rec.get("attributes") or {}).get("type")
        if not t:
            raise SfError("INVALID_TYPE", "Must specify a type in the attributes of each record")
        return store.obj(t).name

    @api
    def collection(req: Request, v: str) -> Response:
        if req.method == "DELETE":
            ids = [i for i in (req.arg("ids") or "").split(",") if i]
            if not ids:
                return _err(400, "REQUIRED_FIELD_MISSING", "At least 1 Id is required.")
            if len(ids) > MAX:
                return _err(400, "EXCEEDED_ID_LIMIT", f"Exceeded max size limit of {MAX}")

            def delete(rid: str, undo: _Undo) -> dict[str, Any]:
                name = store.sobject_of_id(rid)
                if name is None:
                    raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                undo.touch(name, rid)
                store.delete(name, rid)
                return {"id": rid, "success": True, "errors": []}

            return run(ids, (req.arg("allOrNone") or "false").lower() == "true",
                       lambda rid, undo: _with_id(rid, delete, undo))
        got = _payload(req)
        if isinstance(got, Response):
            return got
        records, all_or_none = got
        if req.method == "POST":
            def create(rec: dict[str, Any], undo: _Undo) -> dict[str, Any]:
                if rec.get("Id"):
                    raise SfError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
                name = _type(rec)
                rid = store.insert(name, {k: v for k, v in rec.items() if k != "attributes"})
                undo.created.append((name, rid))
                return {"id": rid, "success": True, "errors": []}
            return run(records, all_or_none, create)

        def update(rec: dict[str, Any], undo: _Undo) -> dict[str, Any]:
            rid = rec.get("Id")
            if not rid:
                raise SfError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            name = _type(rec)
            undo.touch(name, rid)
            store.update(name, rid, {k: v for k, v in rec.items() if k not in ("attributes", "Id")})
            return {"id": rid, "success": True, "errors": []}
        return run(records, all_or_none, update)

    app.add_route("POST|PATCH|DELETE", V + r"/composite/sobjects/?", collection, name="collections")

    @api
    def collection_get(req: Request, v: str, name: str) -> Response:
        o = store.obj(name)
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        fields = [f for f in (req.arg("fields") or "Id").split(",") if f]
        out = []
        for rid in ids:
            rec = store.get(o.name, rid)
            out.append(None if rec is None else {"attributes": rec["attributes"],
                                                 **{f: rec.get(f) for f in fields}})
        return Response.json(out)

    app.add_route("GET", V + r"/composite/sobjects/(?P<name>\w+)", collection_get, name="collections_get")

    @api
    def collection_upsert(req: Request, v: str, name: str, field: str) -> Response:
        o = store.obj(name)
        f = o.field(field)
        if f is None or not (f.ext or f.name == "Id"):
            return _err(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}")
        got = _payload(req)
        if isinstance(got, Response):
            return got
        records, all_or_none = got
        seen: dict[str, int] = {}
        for rec in records:
            key = str(rec.get(f.name) or "").lower()
            seen[key] = seen.get(key, 0) + 1

        def upsert(rec: dict[str, Any], undo: _Undo) -> dict[str, Any]:
            if _type(rec) != o.name:
                raise SfError("INVALID_TYPE", f"Records must all be of type {o.name}")
            value = rec.get(f.name)
            if value in (None, ""):
                raise SfError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            if seen[str(value).lower()] > 1:
                raise SfError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name])
            ids = store.find_ext(o.name, f.name, value)
            if len(ids) > 1:
                raise SfError("DUPLICATE_EXTERNAL_ID", f"{f.name}: more than one record found for external id field: "
                              f"[{', '.join(ids)}]", [f.name])
            body = {k: val for k, val in rec.items() if k not in ("attributes", f.name)}
            if ids:
                undo.touch(o.name, ids[0])
                store.update(o.name, ids[0], body)
                return {"id": ids[0], "success": True, "errors": [], "created": False}
            rid = store.insert(o.name, {**body, f.name: value})
            undo.created.append((o.name, rid))
            return {"id": rid, "success": True, "errors": [], "created": True}

        return run(records, all_or_none, upsert)

    app.add_route("PATCH", V + r"/composite/sobjects/(?P<name>\w+)/(?P<field>\w+)", collection_upsert,
                  name="collections_upsert")


def _with_id(rid: str, fn: Callable, undo: _Undo) -> dict[str, Any]:
    try:
        return fn(rid, undo)
    except SfError as e:
        raise SfError(e.code, e.message, e.fields, e.extra) from None
