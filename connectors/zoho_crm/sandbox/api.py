"""Route handlers of the Zoho CRM sandbox: the accounts server (OAuth) and the CRM record APIs.

Wire behaviour (protocols.md section 5 and the v8 OAS): ``Zoho-oauthtoken`` auth with 401
``INVALID_TOKEN``; ``fields`` mandatory and at most 50; ``per_page`` at most 200; page numbers
reach only the first 2000 records, ``page_token`` goes further; 204 when there is no data;
``If-Modified-Since`` (strictly later); writes of at most 100 records with one result per
record in request order; ``trigger`` absent = all automation, ``[]`` = none; 429 when the
org's rolling 24-hour API credits are used up.
"""
from __future__ import annotations

import bisect
import datetime as dt
import math
import secrets
from typing import Any

from concord.connectors.zoho_crm.sandbox import coql
from concord.connectors.zoho_crm.sandbox.schema import SUBFORMS
from concord.connectors.zoho_crm.sandbox.store import Module, RecordRejected, ZohoStore, parse_dt
from concord.hub.sandbox import FaultInjector, Request, Response, SandboxApp

V = r"/crm/v(?P<version>[2-8](?:\.0)?)"
MAX_FIELDS, MAX_PER_PAGE, MAX_PAGE_RECORDS, MAX_WRITE = 50, 200, 2000, 100
ALL_TRIGGERS = ("workflow", "approval", "blueprint")


def err(status: int, code: str, message: str, details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> Response:
    return Response.json({"code": code, "details": details or {}, "message": message, "status": "error"}, status, headers)


def fault_renderer(kind: str, req: Request, faults: FaultInjector) -> Response:
    # Zoho sends no Retry-After (unverified): the hub session backs off exponentially.
    if kind == "429":
        return err(429, "TOO_MANY_REQUESTS", "concurrency limit exceeded", {"limit": 10})
    if kind == "503":
        return err(503, "INTERNAL_ERROR", "Service is temporarily unavailable")
    return err(500, "INTERNAL_ERROR", "Internal server error occurred.")


class OAuthServer:
    """``POST /oauth/v2/token`` on the accounts server (form or query parameters)."""

    def __init__(self, store: ZohoStore, *, client_id: str, client_secret: str, refresh_token: str,
                 api_domain: str, token_ttl: int = 3600) -> None:
        self.store, self.client_id, self.client_secret, self.refresh_token = store, client_id, client_secret, refresh_token
        self.api_domain, self.token_ttl = api_domain, token_ttl
        self.tokens: dict[str, dt.datetime] = {}
        self.issued = 0

    def install(self, app: SandboxApp) -> None:
        app.add_route("POST", r"/oauth/v2/token", self.token, name="oauth_token")

    def token(self, req: Request) -> Response:
        params = {k: v[0] for k, v in req.query.items()}
        if req.body:
            params.update(req.form())
        if params.get("grant_type") != "refresh_token":
            return Response.json({"error": "unsupported_grant_type"})
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return Response.json({"error": "invalid_client"})      # HTTP 200, as Zoho does
        if params.get("refresh_token") != self.refresh_token:
            return Response.json({"error": "invalid_code"})
        token = "1000." + secrets.token_hex(16) + "." + secrets.token_hex(16)
        with self.store.lock:
            self.tokens[token] = self.store.now() + dt.timedelta(seconds=self.token_ttl)
            self.issued += 1
        return Response.json({"access_token": token, "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.coql.READ",
                              "api_domain": self.api_domain, "token_type": "Bearer", "expires_in": self.token_ttl})

    def valid(self, token: str) -> bool:
        with self.store.lock:
            exp = self.tokens.get(token)
            return exp is not None and exp > self.store.now()


class CrmApi:
    def __init__(self, app: SandboxApp, store: ZohoStore, oauth: OAuthServer) -> None:
        self.app, self.store, self.oauth = app, store, oauth
        app.fault_renderer = fault_renderer
        app.not_found = lambda req: err(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
        app.not_allowed = lambda req: err(405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
        app.add_route("GET", V + r"/settings/modules", self.guard(self.modules, 1), name="modules")
        app.add_route("GET", V + r"/settings/fields", self.guard(self.fields, 1), name="fields")
        app.add_route("POST", V + r"/coql", self.guard(self.coql, 1), name="coql")
        app.add_route("GET", V + r"/(?P<module>\w+)/deleted", self.guard(self.deleted, 1), name="deleted")
        app.add_route("POST", V + r"/(?P<module>\w+)/upsert", self.guard(self.upsert, 1), name="upsert")
        app.add_route("GET", V + r"/(?P<module>\w+)", self.guard(self.get_records, 1), name="get_records")
        app.add_route("POST", V + r"/(?P<module>\w+)", self.guard(self.insert, 1), name="insert")
        app.add_route("PUT", V + r"/(?P<module>\w+)", self.guard(self.update, 1), name="update")
        app.add_route("DELETE", V + r"/(?P<module>\w+)", self.guard(self.delete, 1), name="delete")

    # ---- auth, credits, module lookup --------------------------------------------------------
    def guard(self, fn, credits: int):  # type: ignore[no-untyped-def]
        def handler(req: Request, version: str, **kw: Any) -> Response:
            auth = req.headers.get("Authorization") or ""
            scheme, _, token = auth.partition(" ")
            if scheme != "Zoho-oauthtoken" or not token:
                return err(401, "AUTHENTICATION_FAILURE", "Authentication failed")
            if not self.oauth.valid(token) or self.app.faults.token_expired():
                return err(401, "INVALID_TOKEN", "invalid oauth token")
            cost = credits
            if fn in (self.insert, self.update, self.upsert):
                data = (req.json() or {}).get("data") if req.body else None
                cost = max(1, math.ceil(len(data) / 10)) if isinstance(data, list) else 1
            if not self.store.spend(cost):
                return err(429, "TOO_MANY_REQUESTS", "API credit limit for the 24-hour window exceeded",
                           {"limit": self.store.credits_per_day})
            if "module" in kw:
                mod = self.store.modules.get(kw.pop("module"))
                if mod is None:
                    return err(400, "INVALID_MODULE", "the module name given seems to be invalid")
                kw["mod"] = mod
            return fn(req, **kw)
        return handler

    # ---- metadata ---------------------------------------------------------------------------
    def modules(self, req: Request) -> Response:
        return Response.json({"modules": [m.meta for m in self.store.modules.values()]})

    def fields(self, req: Request) -> Response:
        name = req.arg("module")
        if not name:
            return err(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "module"})
        if name in SUBFORMS:
            return Response.json({"fields": SUBFORMS[name]})
        mod = self.store.modules.get(name)
        if mod is None:
            return err(400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"})
        return Response.json({"fields": list(mod.fields.values())})

    # ---- reads ------------------------------------------------------------------------------
    @staticmethod
    def _project(rec: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out = {f: rec.get(f) for f in fields}
        out["id"] = rec["id"]
        for k, v in rec.items():
            if k.startswith("$"):
                out[k] = v
        return out

    def _fields(self, req: Request, mod: Module) -> list[str] | Response:
        raw = req.arg("fields")
        if not raw:
            return err(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"})
        fields = [f.strip() for f in raw.split(",") if f.strip()]
        if len(fields) > MAX_FIELDS:
            return err(400, "LIMIT_EXCEEDED", "Max field limit exceeded", {"limit": MAX_FIELDS, "param": "fields"})
        for f in fields:
            if f != "id" and f not in mod.fields:
                return err(400, "INVALID_DATA", "invalid data", {"api_name": f, "param": "fields"})
        return fields

    def _ims(self, req: Request) -> int | None | Response:
        value = req.headers.get("If-Modified-Since")
        if not value:
            return None
        try:
            return int(parse_dt(value).timestamp())
        except ValueError:
            return err(400, "INVALID_DATA", "invalid data", {"header": "If-Modified-Since"})

    def _keys(self, mod: Module, sort_by: str, ims: int | None) -> tuple[list[tuple[int, int]], int]:
        """Sorted keys (ascending) and the first position after the If-Modified-Since bound."""
        if sort_by == "Modified_Time":
            keys = mod.index
        elif sort_by == "Created_Time":
            keys = sorted((int(parse_dt(r["Created_Time"]).timestamp()), int(r["id"])) for r in mod.records.values()
                          if ims is None or int(parse_dt(r["Modified_Time"]).timestamp()) > ims)
            return keys, 0
        else:
            keys = sorted((int(r["id"]), int(r["id"])) for r in mod.records.values()
                          if ims is None or int(parse_dt(r["Modified_Time"]).timestamp()) > ims)
            return keys, 0
        return keys, (bisect.bisect_right(keys, (ims, math.inf)) if ims is not None else 0)  # type: ignore[arg-type]

    def get_records(self, req: Request, mod: Module) -> Response:
        fields = self._fields(req, mod)
        if isinstance(fields, Response):
            return fields
        with self.store.lock:
            if req.arg("ids"):
                ids = [i for i in req.arg("ids", "").split(",") if i]
                if len(ids) > 100:
                    return err(400, "LIMIT_EXCEEDED", "Record count exceeded", {"limit": 100, "param": "ids"})
                rows = [self._project(mod.records[i], fields) for i in ids if i in mod.records]
                if not rows:
                    return Response.empty(204)
                return Response.json({"data": rows, "info": {"per_page": len(ids), "count": len(rows), "page": 1,
                                                             "more_records": False}})
            token = req.arg("page_token")
            try:
                per_page = int(req.arg("per_page", "200"))
                page = int(req.arg("page", "1"))
            except ValueError:
                return err(400, "INVALID_DATA", "invalid data", {"param": "per_page"})
            if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
                return err(400, "INVALID_DATA", "invalid data", {"param": "per_page", "maximum": MAX_PER_PAGE})
            if token:
                state = self.store.page_tokens.get(token)
                if state is None or state["module"] != mod.name or state["expiry"] <= self.store.now():
                    return err(400, "INVALID_DATA", "the page token is invalid or has expired", {"param": "page_token"})
                sort_by, order, ims, page = state["sort_by"], state["sort_order"], state["ims"], state["page"] + 1
            else:
                sort_by, order = req.arg("sort_by", "id"), req.arg("sort_order", "desc")
                if sort_by not in ("id", "Created_Time", "Modified_Time") or order not in ("asc", "desc"):
                    return err(400, "INVALID_DATA", "invalid data", {"param": "sort_by"})
                if page * per_page > MAX_PAGE_RECORDS:
                    return err(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                               "you can't fetch more than 2000 records without page_token", {"limit": MAX_PAGE_RECORDS})
                ims = self._ims(req)
                if isinstance(ims, Response):
                    return ims
            keys, lo = self._keys(mod, sort_by, ims)
            hi = len(keys)
            if token:
                last = tuple(state["last"])
                pos = (bisect.bisect_right(keys, last, lo, hi) - lo) if order == "asc" else (hi - bisect.bisect_left(keys, last, lo, hi))
            else:
                pos = (page - 1) * per_page
            total = hi - lo
            if pos >= total:
                return Response.empty(204)
            end = min(total, pos + per_page)
            chosen = keys[lo + pos:lo + end] if order == "asc" else list(reversed(keys[hi - end:hi - pos]))
            rows = [self._project(mod.records[str(k[1])], fields) for k in chosen]
            more = end < total
            info: dict[str, Any] = {"per_page": per_page, "count": len(rows), "page": page, "sort_by": sort_by,
                                    "sort_order": order, "more_records": more, "next_page_token": None,
                                    "previous_page_token": None, "page_token_expiry": None}
            if more:
                nxt = secrets.token_hex(20)
                expiry = self.store.now() + dt.timedelta(days=1)
                self.store.page_tokens[nxt] = {"module": mod.name, "sort_by": sort_by, "sort_order": order, "ims": ims,
                                               "last": chosen[-1], "page": page, "expiry": expiry}
                info.update(next_page_token=nxt, page_token_expiry=self.store.wire_dt(expiry))
        return Response.json({"data": rows, "info": info})

    def deleted(self, req: Request, mod: Module) -> Response:
        kind = req.arg("type", "all")
        if kind not in ("all", "recycle", "permanent"):
            return err(400, "INVALID_DATA", "invalid data", {"param": "type"})
        ims = self._ims(req)
        if isinstance(ims, Response):
            return ims
        try:
            page, per_page = int(req.arg("page", "1")), int(req.arg("per_page", "200"))
        except ValueError:
            return err(400, "INVALID_DATA", "invalid data", {"param": "page"})
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
            return err(400, "INVALID_DATA", "invalid data", {"param": "per_page", "maximum": MAX_PER_PAGE})
        with self.store.lock:
            rows = [d for d in mod.deleted if (kind == "all" or d["type"] == kind)
                    and (ims is None or int(parse_dt(d["deleted_time"]).timestamp()) > ims)]
        rows.sort(key=lambda d: (parse_dt(d["deleted_time"]), int(d["id"])), reverse=True)
        chunk = rows[(page - 1) * per_page:page * per_page]
        if not chunk:
            return Response.empty(204)
        return Response.json({"data": chunk, "info": {"per_page": per_page, "count": len(chunk), "page": page,
                                                      "more_records": page * per_page < len(rows)}})

    def coql(self, req: Request) -> Response:
        try:
            body = req.json() or {}
        except ValueError:
            body = {}
        query = body.get("select_query") if isinstance(body, dict) else None
        if not query:
            return err(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "select_query"})
        try:
            q = coql.parse(query)
        except coql.CoqlError as exc:
            return err(400, exc.code, exc.message, exc.details)
        mod = self.store.modules.get(q.module)
        if mod is None:
            return err(400, "INVALID_QUERY", "invalid query formed", {"module": q.module, "reason": "module not found"})
        with self.store.lock:
            try:
                rows, more = coql.run(q, list(mod.records.values()), set(mod.fields) | {"id"})
            except coql.CoqlError as exc:
                return err(400, exc.code, exc.message, exc.details)
        if not rows:
            return Response.empty(204)
        return Response.json({"data": rows, "info": {"count": len(rows), "more_records": more}})

    # ---- writes -----------------------------------------------------------------------------
    def _batch(self, req: Request) -> tuple[list[Any], tuple[str, ...], dict[str, Any]] | Response:
        try:
            body = req.json()
        except ValueError:
            return err(400, "INVALID_DATA", "body", {})
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not data:
            return err(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "data"})
        if len(data) > MAX_WRITE:
            return err(400, "LIMIT_EXCEEDED", "Record insertion limit has been exceeded.", {"limit": MAX_WRITE})
        trigger = tuple(body.get("trigger", ALL_TRIGGERS) or ())
        return data, trigger, body

    def _respond(self, results: list[dict[str, Any]], ok_status: int) -> Response:
        oks = sum(1 for r in results if r["status"] == "success")
        status = ok_status if oks == len(results) else (400 if oks == 0 else 207)
        return Response.json({"data": results}, status)

    def _success(self, rec: dict[str, Any], message: str, **extra: Any) -> dict[str, Any]:
        details = {k: rec[k] for k in ("Modified_Time", "Modified_By", "Created_Time", "id", "Created_By")}
        details["$approval_state"] = "approved"
        return {"code": "SUCCESS", "details": details, "message": message, "status": "success", **extra}

    def _write(self, req: Request, mod: Module, op: str) -> Response:
        batch = self._batch(req)
        if isinstance(batch, Response):
            return batch
        data, trigger, body = batch
        check = list(body.get("duplicate_check_fields") or [mod.duplicate_field])
        for f in check:
            if f not in mod.fields:
                return err(400, "INVALID_DATA", "invalid data", {"api_name": f, "param": "duplicate_check_fields"})
        results = []
        for i, payload in enumerate(data):
            try:
                if self.app.faults.fail_record():
                    first = next(iter(payload), "id") if isinstance(payload, dict) else "id"
                    raise RecordRejected("INVALID_DATA", "invalid data", {"api_name": first, "json_path": f"$.data[{i}].{first}"})
                if self.app.faults.fail_record_transient():   # locked for a moment: the same write succeeds later
                    raise RecordRejected("RECORD_LOCKED", "the record is being edited by another process; try again",
                                         {"id": payload.get("id") if isinstance(payload, dict) else None})
                with self.store.lock:
                    existing, dup = None, None
                    if op == "update":
                        rid = payload.get("id") if isinstance(payload, dict) else None
                        if not rid:
                            raise RecordRejected("MANDATORY_NOT_FOUND", "required field not found",
                                                 {"api_name": "id", "json_path": f"$.data[{i}].id"})
                        existing = mod.records.get(str(rid))
                        if existing is None:
                            raise RecordRejected("INVALID_DATA", "the id given seems to be invalid",
                                                 {"api_name": "id", "json_path": f"$.data[{i}].id", "id": rid})
                    elif op == "upsert" and isinstance(payload, dict):
                        if payload.get("id") and str(payload["id"]) in mod.records:
                            existing, dup = mod.records[str(payload["id"])], "id"
                        else:
                            existing, dup = self.store.find_duplicate(mod, payload, check)
                    rec = self.store.apply(mod, payload, i, existing)
                    rec = self.store.stamp(mod, rec, created=existing is None)
                    self.store.put(mod, rec)
                    self.store.automation.append((mod.name, rec["id"], trigger))
                if op == "insert":
                    results.append(self._success(rec, "record added"))
                elif op == "update":
                    results.append(self._success(rec, "record updated"))
                else:
                    results.append(self._success(rec, "record updated" if existing else "record added",
                                                 action="update" if existing else "insert", duplicate_field=dup))
            except RecordRejected as exc:
                results.append(exc.body())
        return self._respond(results, 201 if op == "insert" else 200)

    def insert(self, req: Request, mod: Module) -> Response:
        return self._write(req, mod, "insert")

    def update(self, req: Request, mod: Module) -> Response:
        return self._write(req, mod, "update")

    def upsert(self, req: Request, mod: Module) -> Response:
        return self._write(req, mod, "upsert")

    def delete(self, req: Request, mod: Module) -> Response:
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids:
            return err(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "ids"})
        if len(ids) > MAX_WRITE:
            return err(400, "LIMIT_EXCEEDED", "Record count exceeded", {"limit": MAX_WRITE, "param": "ids"})
        results = []
        for rid in ids:
            if self.app.faults.fail_record():
                results.append(RecordRejected("RECORD_LOCKED", "the record is locked", {"id": rid}).body())
            elif self.store.delete(mod, rid) is None:
                results.append(RecordRejected("INVALID_DATA", "the id given seems to be invalid", {"id": rid}).body())
            else:
                results.append({"code": "SUCCESS", "details": {"id": rid}, "message": "record deleted", "status": "success"})
        return self._respond(results, 200)
