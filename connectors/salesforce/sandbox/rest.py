"""REST endpoints of the sandbox org: OAuth, query/queryAll, sObjects, collections, updated/deleted, limits."""
from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import secrets
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import unquote

from concord.hub.sandbox import Request, Response, SandboxApp
from concord.connectors.salesforce.sandbox.query import Executor
from concord.connectors.salesforce.sandbox.soql import SoqlError, parse_datetime
from concord.connectors.salesforce.sandbox.store import RETENTION, SfError, Store, fmt_dt
from concord.connectors.salesforce.sandbox.describes import describe, global_entry

V = r"/services/data/v(?P<v>\d+\.\d)"


def errors(status: int, code: str, message: str, fields: list[str] | None = None,
           headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields:
        body["fields"] = fields
    return Response.json([body], status, headers)


class Org:
    """The state behind the routes: store, issued tokens, query cursors, API usage."""

    def __init__(self, app: SandboxApp, store: Store, *, client_id: str, client_secret: str, username: str,
                 refresh_token: str, public_key_pem: bytes | None, daily_api_limit: int, token_ttl: float | None) -> None:
        self.app, self.store = app, store
        self.client_id, self.client_secret, self.username = client_id, client_secret, username
        self.refresh_token, self.public_key_pem = refresh_token, public_key_pem
        self.daily_api_limit, self.token_ttl = daily_api_limit, token_ttl
        self.tokens: dict[str, float] = {}
        self.lock = threading.Lock()
        self.api_used = 0
        self.cursors: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cursor_seq = itertools.count(1)
        self.org_id = "00D000000000001EAA"

    # ---- auth and accounting ---------------------------------------------------------------
    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.daily_api_limit}"}

    def authorize(self, req: Request) -> Response | None:
        """None when the bearer token is good; else the 401/403 Salesforce answers."""
        with self.lock:
            self.api_used += 1
        auth = req.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else ""
        import time

        issued = self.tokens.get(token)
        if issued is None or (self.token_ttl is not None and time.monotonic() - issued > self.token_ttl):
            return errors(401, "INVALID_SESSION_ID", "Session expired or invalid", headers=self.limit_header())
        if self.app.faults.token_expired():
            self.tokens.pop(token, None)
            return errors(401, "INVALID_SESSION_ID", "Session expired or invalid", headers=self.limit_header())
        if self.api_used > self.daily_api_limit:
            return errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers=self.limit_header())
        return None

    def issue(self, origin: str) -> dict[str, Any]:
        import time

        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(40)}"
        with self.lock:
            self.tokens[token] = time.monotonic()
        issued = str(int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000))
        sig = base64.b64encode(secrets.token_bytes(32)).decode()
        return {"access_token": token, "instance_url": origin, "id": f"{origin}/id/{self.org_id}/005000000000001AAA",
                "token_type": "Bearer", "issued_at": issued, "signature": sig, "scope": "api"}

    # ---- cursors ---------------------------------------------------------------------------
    def open_cursor(self, q: Any, obj: Any, ids: list[str], batch: int) -> str:
        loc = f"01g{next(self._cursor_seq):015d}"
        with self.lock:
            self.cursors[loc] = {"q": q, "obj": obj, "ids": ids, "batch": batch}
            while len(self.cursors) > 200:
                self.cursors.popitem(last=False)
        return loc


def api_wrapper(org: Org):  # noqa: ANN201
    """Wrap a handler: bearer-token check, API usage, ``Sforce-Limit-Info``, errors as JSON arrays."""
    def api(fn):  # noqa: ANN001,ANN202
        def wrapped(req: Request, **kw: Any) -> Response:
            denied = org.authorize(req)
            if denied is not None:
                return denied
            try:
                resp = fn(req, **kw)
            except SoqlError as e:
                resp = errors(400, e.code, e.message)
            except SfError as e:
                resp = errors(e.status, e.code, e.message, e.fields)
            except (ValueError, json.JSONDecodeError) as e:
                resp = errors(400, "JSON_PARSER_ERROR", f"Unexpected character: {e}")
            resp.headers.update(org.limit_header())
            return resp
        wrapped.__name__ = fn.__name__
        return wrapped
    return api


def install(app: SandboxApp, org: Org, executor: Executor) -> None:
    """Add the REST routes to ``app``."""
    store = org.store

    api = api_wrapper(org)

    # ---- OAuth ------------------------------------------------------------------------------
    def token(req: Request) -> Response:
        from concord.connectors.salesforce.sandbox.oauth import check_grant

        problem = check_grant(org, req.form())
        if problem:
            return Response.json({"error": problem[0], "error_description": problem[1]}, 400)
        return Response.json(org.issue(req.origin))

    app.add_route("POST", r"/services/oauth2/token", token, name="oauth_token")

    def revoke(req: Request) -> Response:
        org.tokens.pop(req.form().get("token", ""), None)
        return Response.empty(200)

    app.add_route("POST", r"/services/oauth2/revoke", revoke, name="oauth_revoke")

    # ---- discovery --------------------------------------------------------------------------
    def versions(req: Request) -> Response:
        return Response.json([{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"},
                              {"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"},
                              {"label": "Summer '24", "url": "/services/data/v61.0", "version": "61.0"}])

    app.add_route("GET", r"/services/data/?", versions, name="versions")

    @api
    def limits(req: Request, v: str) -> Response:
        m = org.daily_api_limit
        return Response.json({"DailyApiRequests": {"Max": m, "Remaining": max(0, m - org.api_used)},
                              "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                              "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                              "DataStorageMB": {"Max": 1024, "Remaining": 1000}})

    app.add_route("GET", V + r"/limits/?", limits, name="limits")

    # ---- query ------------------------------------------------------------------------------
    def _page(loc: str, start: int, v: str) -> Response:
        cur = org.cursors.get(loc)
        if cur is None:
            return errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        ids, batch = cur["ids"], cur["batch"]
        chunk = ids[start:start + batch]
        body: dict[str, Any] = {"totalSize": len(ids), "done": start + batch >= len(ids)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{v}/query/{loc}-{start + batch}"
        else:
            with org.lock:
                org.cursors.pop(loc, None)
        body["records"] = executor.render_page(cur["q"], cur["obj"], chunk)
        return Response.json(body)

    def _query(req: Request, v: str, include_deleted: bool) -> Response:
        soql = req.arg("q")
        if soql is None:
            return errors(400, "MALFORMED_QUERY", "A query string parameter 'q' is required")
        batch = 2000
        opts = req.headers.get("Sforce-Query-Options") or ""
        if "batchSize=" in opts:
            batch = max(200, min(2000, int(opts.split("batchSize=")[1].split(",")[0])))
        q, ids = executor.run(soql, include_deleted=include_deleted)
        if q.count:
            return Response.json({"totalSize": len(ids), "done": True, "records": []})
        loc = org.open_cursor(q, store.obj(q.sobject), ids, batch)
        return _page(loc, 0, v)

    app.add_route("GET", V + r"/query/?", api(lambda req, v: _query(req, v, False)), name="query")
    app.add_route("GET", V + r"/queryAll/?", api(lambda req, v: _query(req, v, True)), name="queryAll")

    @api
    def query_more(req: Request, v: str, loc: str, start: str) -> Response:
        return _page(loc, int(start), v)

    app.add_route("GET", V + r"/query(?:All)?/(?P<loc>01g\w+)-(?P<start>\d+)", query_more, name="query_more")

    # ---- sObjects -----------------------------------------------------------------------------
    @api
    def global_describe(req: Request, v: str) -> Response:
        return Response.json({"encoding": "UTF-8", "maxBatchSize": 200,
                              "sobjects": [global_entry(o, v) for o in store.objects.values()]})

    app.add_route("GET", V + r"/sobjects/?", global_describe, name="describe_global")

    @api
    def sobject_describe(req: Request, v: str, name: str) -> Response:
        return Response.json(describe(store.obj(name), v, req.origin))

    app.add_route("GET", V + r"/sobjects/(?P<name>\w+)/describe/?", sobject_describe, name="describe")

    @api
    def create(req: Request, v: str, name: str) -> Response:
        o = store.obj(name)
        rid = store.insert(o.name, _body(req))
        return Response.json({"id": rid, "success": True, "errors": []}, 201)

    app.add_route("POST", V + r"/sobjects/(?P<name>\w+)/?", create, name="create")

    def _window(req: Request) -> tuple[dt.datetime, dt.datetime]:
        try:
            start = parse_datetime(unquote(req.arg("start") or ""))
            end = parse_datetime(unquote(req.arg("end") or ""))
        except ValueError:
            raise SfError("INVALID_REPLICATION_DATE", "start and end must be ISO-8601 dateTimes") from None
        if end <= start:
            raise SfError("INVALID_REPLICATION_DATE", "end date must be after start date")
        earliest = _earliest()
        if start < earliest:
            raise SfError("INVALID_REPLICATION_DATE", f"startDate before org replication enabled date or before "
                          f"earliestDateAvailable {fmt_dt(earliest)}")
        return start, end

    def _earliest() -> dt.datetime:
        store.rows("Account")               # empties the Recycle Bin of expired rows
        t = store.now() - RETENTION
        return t.replace(second=0, microsecond=0)

    @api
    def updated(req: Request, v: str, name: str) -> Response:
        o = store.obj(name)
        start, end = _window(req)
        end = min(end, store.now()).replace(second=0, microsecond=0)
        ids = [r["Id"] for r in store.rows(o.name)
               if start <= parse_datetime(r["SystemModstamp"]) < end]
        return Response.json({"ids": ids, "latestDateCovered": fmt_dt(end)})

    app.add_route("GET", V + r"/sobjects/(?P<name>\w+)/updated/?", updated, name="updated")

    @api
    def deleted(req: Request, v: str, name: str) -> Response:
        o = store.obj(name)
        start, end = _window(req)
        end = min(end, store.now()).replace(second=0, microsecond=0)
        with store.lock:
            out = [{"id": r["Id"], "deletedDate": fmt_dt(store.deleted_at[r["Id"]])}
                   for r in store.rows(o.name, include_deleted=True)
                   if r["IsDeleted"] and r["Id"] in store.deleted_at and start <= store.deleted_at[r["Id"]] < end]
        return Response.json({"deletedRecords": out, "earliestDateAvailable": fmt_dt(_earliest()),
                              "latestDateCovered": fmt_dt(end)})

    app.add_route("GET", V + r"/sobjects/(?P<name>\w+)/deleted/?", deleted, name="deleted")

    @api
    def record(req: Request, v: str, name: str, rid: str) -> Response:
        o = store.obj(name)
        if req.method == "GET":
            rec = store.get(o.name, rid)
            if rec is None:
                return errors(404, "NOT_FOUND", "The requested resource does not exist")
            wanted = req.arg("fields")
            return Response.json(_public(rec, wanted.split(",") if wanted else None))
        if req.method == "PATCH":
            store.update(o.name, rid, _body(req))
            return Response.empty(204)
        store.delete(o.name, rid)
        return Response.empty(204)

    app.add_route("GET|PATCH|DELETE", V + r"/sobjects/(?P<name>\w+)/(?P<rid>[a-zA-Z0-9]{15,18})", record, name="record")

    @api
    def by_external_id(req: Request, v: str, name: str, field: str, value: str) -> Response:
        o = store.obj(name)
        value = unquote(value)
        ids = store.find_ext(o.name, field, value)
        if req.method == "GET":
            if not ids:
                return errors(404, "NOT_FOUND", "The requested resource does not exist")
            if len(ids) > 1:
                return Response.json([f"/services/data/v{v}/sobjects/{o.name}/{i}" for i in ids], 300)
            return Response.json(_public(store.get(o.name, ids[0])))
        if len(ids) > 1:
            return Response.json([f"/services/data/v{v}/sobjects/{o.name}/{i}" for i in ids], 300)
        body = _body(req)
        f = o.field(field)
        if f is not None and any(k.lower() == field.lower() for k in body) and f.name != "Id":
            return errors(400, "INVALID_FIELD", f"The field {f.name} is the external id; it cannot be set in the body "
                          "of an upsert")
        if ids:
            store.update(o.name, ids[0], body)
            if float(v) >= 46.0:
                return Response.json({"id": ids[0], "success": True, "errors": [], "created": False}, 200)
            return Response.empty(204)
        if (req.arg("updateOnly") or "").lower() == "true":
            return errors(404, "NOT_FOUND", "The requested resource does not exist")
        if f is not None and f.name == "Id":
            return errors(404, "NOT_FOUND", "The requested resource does not exist")
        rid = store.insert(o.name, {**body, f.name: value})     # type: ignore[union-attr]
        return Response.json({"id": rid, "success": True, "errors": [], "created": True}, 201)

    app.add_route("GET|PATCH", V + r"/sobjects/(?P<name>\w+)/(?P<field>\w+)/(?P<value>[^/]+)", by_external_id,
                  name="upsert")

    from concord.connectors.salesforce.sandbox.collections import install as install_collections

    install_collections(app, org, api)


def _body(req: Request) -> dict[str, Any]:
    data = req.json()
    if not isinstance(data, dict):
        raise SfError("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return data


def _public(rec: dict[str, Any] | None, fields: list[str] | None = None) -> dict[str, Any]:
    assert rec is not None
    out = {k: v for k, v in rec.items()}
    if fields:
        keep = {f.strip().lower() for f in fields} | {"attributes", "id"}
        out = {k: v for k, v in out.items() if k.lower() in keep}
    return out
