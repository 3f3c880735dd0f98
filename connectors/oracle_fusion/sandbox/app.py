"""Routes of the Oracle Fusion REST sandbox: auth, collections, items, children, describe, batch, OAuth tokens."""
from __future__ import annotations

import base64
import bisect
import secrets
import threading
from typing import Any
from urllib.parse import quote, unquote

from concord.hub.sandbox import FaultInjector, Request, Response, SandboxApp
from concord.connectors.oracle_fusion import qgrammar
from concord.connectors.oracle_fusion.sandbox import wire
from concord.connectors.oracle_fusion.sandbox.resources import RESOURCES, ResourceDef
from concord.connectors.oracle_fusion.sandbox.store import Store, Table, VendorError

API = r"/(?P<api>fscmRestApi|crmRestApi)/resources"
VER = r"(?P<ver>11\.13\.18\.05|latest)"


class OracleSandbox:
    def __init__(self, store: Store, faults: FaultInjector, *, user: str, password: str, client_id: str,
                 client_secret: str) -> None:
        self.store = store
        self.user, self.password = user, password
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: set[str] = set()
        self._lock = threading.Lock()
        self.app = SandboxApp("oracle_fusion", faults)
        self.app.fault_renderer = self.render_fault
        self.app.not_found = self.not_found  # type: ignore[method-assign]
        a = self.app.add_route
        a("POST", r"/oauth2/v1/token", self.token, "token")
        a("GET", API + r"/?", self.versions, "versions")
        a("POST", API + "/" + VER + r"/?", self.batch, "batch")
        a("GET", API + "/" + VER + r"/describe", self.catalog, "describe")
        a("GET", API + "/" + VER + r"/(?P<res>\w+)/describe", self.describe, "describe")
        a("GET", API + "/" + VER + r"/(?P<res>\w+)/?", self.collection, "query")
        a("POST", API + "/" + VER + r"/(?P<res>\w+)/?", self.create, "create")
        a("GET", API + "/" + VER + r"/(?P<res>\w+)/(?P<key>[^/]+)/child/(?P<child>\w+)/?", self.children, "child")
        a("GET", API + "/" + VER + r"/(?P<res>\w+)/(?P<key>[^/]+)/?", self.item, "item")
        a("PATCH|PUT", API + "/" + VER + r"/(?P<res>\w+)/(?P<key>[^/]+)/?", self.update, "update")
        a("DELETE", API + "/" + VER + r"/(?P<res>\w+)/(?P<key>[^/]+)/?", self.delete, "delete")

    # ---- plumbing ------------------------------------------------------------------------------
    @staticmethod
    def version(req: Request) -> int:
        raw = (req.headers.get("REST-Framework-Version") or wire.DEFAULT_VERSION).strip()
        if raw not in wire.ALLOWED_VERSIONS:
            raise VendorError(400, f"The REST framework version {raw} is not supported. Supported versions: "
                                   f"{', '.join(wire.ALLOWED_VERSIONS)}.", "JBO-REST-0100")
        return int(raw)

    def render_fault(self, kind: str, req: Request, faults: FaultInjector) -> Response:
        try:
            v = self.version(req)
        except VendorError:
            v = 1
        retry = {"Retry-After": str(max(1, int(round(faults.config.retry_after + 0.499))))}
        if kind == "429":
            return wire.error_response(v, VendorError(429, "The request was throttled: too many requests for this "
                                                           "user. Retry later.", "FND-TOO-MANY"), retry)
        if kind == "503":
            return wire.error_response(v, VendorError(503, "The service is temporarily unavailable."), retry)
        return wire.error_response(v, VendorError(500, "JBO-29000: Unexpected exception caught: "
                                                       "java.lang.NullPointerException"))

    def not_found(self, req: Request) -> Response:
        return Response.text(f"The requested URL {req.path} was not found.", 404)

    def _auth(self, req: Request) -> Response | None:
        header = req.headers.get("Authorization") or ""
        ok = False
        scheme = "Basic"
        if header.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            except Exception:  # noqa: BLE001 - a malformed header is just a refusal
                user, pw = "", ""
            ok = secrets.compare_digest(user, self.user) and secrets.compare_digest(pw, self.password)
        elif header.startswith("Bearer "):
            scheme = "Bearer"
            with self._lock:
                ok = header[7:] in self.tokens
        if ok and self.app.faults.token_expired():
            ok = False
            if scheme == "Bearer":
                with self._lock:
                    self.tokens.discard(header[7:])
        if ok:
            return None
        challenge = 'Bearer error="invalid_token"' if scheme == "Bearer" else 'Basic realm="Oracle Cloud"'
        return Response.empty(401, {"WWW-Authenticate": challenge, "Content-Type": "text/html"})

    def _run(self, req: Request, fn: Any, *args: Any) -> Response:
        denied = self._auth(req)
        if denied is not None:
            return denied
        try:
            v = self.version(req)
        except VendorError as err:
            return wire.error_response(1, err)
        try:
            return fn(req, v, *args)
        except VendorError as err:
            return wire.error_response(v, err)
        except qgrammar.QSyntaxError as err:
            return wire.error_response(v, VendorError(400, f"The q query parameter is invalid: {err}",
                                                      "JBO-REST-0020"))

    def _table(self, api: str, res: str) -> Table:
        rdef = RESOURCES.get(res)
        if rdef is None or rdef.api != api:
            raise VendorError(404, f"The requested resource {res} doesn't exist.", "JBO-REST-0404")
        return self.store.table(res)

    @staticmethod
    def _base(req: Request, api: str) -> str:
        return f"{req.origin}/{api}/resources/{wire.VERSION_ROOT}"

    def _href(self, req: Request, api: str, rdef: ResourceDef, key: Any) -> str:
        return f"{self._base(req, api)}/{rdef.name}/{quote(str(key), safe='')}"

    def _item(self, req: Request, v: int, api: str, t: Table, row: dict[str, Any], *, only_data: bool = False,
              expand: set[str] | None = None, fields: Any = None) -> dict[str, Any]:
        key = row[t.rdef.key]
        return wire.serialize(row, t.rdef, version=v, href=self._href(req, api, t.rdef, key), etag=t.etag(key),
                              expand=expand if expand is not None else {c.name for c in t.rdef.children},
                              fields=fields, only_data=only_data)

    # ---- OAuth (IDCS-style client credentials) --------------------------------------------------
    def token(self, req: Request) -> Response:
        form = req.form()
        cid, csec = form.get("client_id", ""), form.get("client_secret", "")
        header = req.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            cid, _, csec = base64.b64decode(header[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return Response.json({"error": "unsupported_grant_type",
                                  "error_description": "Only client_credentials is enabled for this client."}, 400)
        if not (secrets.compare_digest(cid, self.client_id) and secrets.compare_digest(csec, self.client_secret)):
            return Response.json({"error": "invalid_client", "error_description": "Client authentication failed."}, 401)
        tok = "eyJ" + secrets.token_urlsafe(32)
        with self._lock:
            self.tokens.add(tok)
        return Response.json({"access_token": tok, "token_type": "Bearer", "expires_in": 3600})

    # ---- metadata --------------------------------------------------------------------------------
    def versions(self, req: Request, api: str) -> Response:
        return self._run(req, lambda r, v: Response.json({"items": [{
            "version": wire.VERSION_ROOT, "isLatest": True,
            "adf:extension": {"defaultFrameworkVersion": wire.DEFAULT_VERSION,
                              "allowedFrameworkVersions": list(wire.ALLOWED_VERSIONS)},
            "links": [{"rel": "self", "href": self._base(req, api), "name": "self", "kind": "collection"}]}]}))

    def catalog(self, req: Request, api: str, ver: str) -> Response:
        def go(r: Request, v: int) -> Response:
            return Response.json({"Resources": {n: {"title": d.title, "links": [{
                "rel": "describe", "href": f"{self._base(req, api)}/{n}/describe", "name": n, "kind": "describe"}]}
                for n, d in RESOURCES.items() if d.api == api}}, content_type=wire.DESCRIBE)
        return self._run(req, go)

    def describe(self, req: Request, api: str, ver: str, res: str) -> Response:
        def go(r: Request, v: int) -> Response:
            t = self._table(api, res)
            return Response.json({"Resources": {res: t.rdef.describe(self._base(req, api))}}, content_type=wire.DESCRIBE)
        return self._run(req, go)

    # ---- reads -----------------------------------------------------------------------------------
    def collection(self, req: Request, api: str, ver: str, res: str) -> Response:
        return self._run(req, self._collection, api, res)

    def _collection(self, req: Request, v: int, api: str, res: str) -> Response:
        t = self._table(api, res)
        rdef = t.rdef
        try:
            limit = min(500, max(1, int(req.arg("limit") or 25)))
            offset = max(0, int(req.arg("offset") or 0))
        except ValueError:
            raise VendorError(400, "The limit and offset query parameters must be integers.", "JBO-REST-0030") from None
        only_data = (req.arg("onlyData") or "").lower() == "true"
        fields = wire.parse_fields(req.arg("fields"), rdef)
        expand = wire.parse_expand(req.arg("expand"), rdef)
        node = qgrammar.parse(req.arg("q") or "", v) if req.arg("q") else None
        pred = qgrammar.compile_filter(node, rdef.types) if node else None
        order = self._order(req.arg("orderBy"), rdef)
        total_wanted = (req.arg("totalResults") or "").lower() == "true"
        with self.store.lock:
            total = None
            if order in (None, [("LastUpdateDate", False), (rdef.key, False)]):
                bound = qgrammar.lower_bound(node, "LastUpdateDate", lambda x: qgrammar.coerce(x, "datetime")) \
                    if node else None
                start = bisect.bisect_left(t.index, (bound,)) if bound is not None else 0
                if pred is None:
                    keys = [k for _, k in t.index[start + offset:start + offset + limit + 1]]
                    rows = [t.rows[k] for k in keys]
                    total = len(t.index) - start if total_wanted else None
                else:
                    rows, seen = [], 0
                    for _, k in t.index[start:]:
                        row = t.rows[k]
                        if not pred(row):
                            continue
                        seen += 1
                        if seen > offset and len(rows) <= limit:
                            rows.append(row)
                        if len(rows) > limit and not total_wanted:
                            break
                    total = seen if total_wanted else None
            else:
                matches = [r for r in t.rows.values() if pred is None or pred(r)]
                for name, desc in reversed(order):
                    typ = rdef.types.get(name, "string")
                    matches.sort(key=lambda r, n=name, ty=typ: (r.get(n) is None, qgrammar.coerce(r.get(n), ty)
                                                                if r.get(n) is not None else 0), reverse=desc)
                rows = matches[offset:offset + limit + 1]
                total = len(matches) if total_wanted else None
            has_more = len(rows) > limit
            items = [self._item(req, v, api, t, r, only_data=only_data, expand=expand, fields=fields)
                     for r in rows[:limit]]
        body: dict[str, Any] = {"items": items, "count": len(items), "hasMore": has_more, "limit": limit,
                                "offset": offset}
        if total is not None:
            body["totalResults"] = total
        if not only_data:
            body["links"] = [{"rel": "self", "href": f"{self._base(req, api)}/{res}", "name": res,
                              "kind": "collection"}]
        return Response.json(body, content_type=wire.COLLECTION)

    @staticmethod
    def _order(text: str | None, rdef: ResourceDef) -> list[tuple[str, bool]] | None:
        if not text:
            return None
        out = []
        for part in text.split(","):
            name, _, direction = part.strip().partition(":")
            if rdef.attr(name) is None:
                raise VendorError(400, f"The attribute {name} in orderBy is not defined for {rdef.name}.", "JBO-REST-0013")
            if direction.lower() not in ("", "asc", "desc"):
                raise VendorError(400, f"The sort direction {direction} is invalid; use asc or desc.", "JBO-REST-0014")
            out.append((name, direction.lower() == "desc"))
        return out

    def _key(self, t: Table, raw: str) -> Any:
        return t.norm_key(unquote(raw))

    def item(self, req: Request, api: str, ver: str, res: str, key: str) -> Response:
        def go(r: Request, v: int) -> Response:
            t = self._table(api, res)
            k = self._key(t, key)
            with self.store.lock:
                row = t.rows.get(k)
                if row is None:
                    raise VendorError(404, f"The requested resource {res}/{k} doesn't exist.", "JBO-25020")
                body = self._item(r, v, api, t, row, only_data=(r.arg("onlyData") or "") == "true",
                                  expand=wire.parse_expand(r.arg("expand"), t.rdef),
                                  fields=wire.parse_fields(r.arg("fields"), t.rdef))
                etag = t.etag(k)
            return Response.json(body, headers={"ETag": etag}, content_type=wire.ITEM)
        return self._run(req, go)

    def children(self, req: Request, api: str, ver: str, res: str, key: str, child: str) -> Response:
        def go(r: Request, v: int) -> Response:
            t = self._table(api, res)
            cdef = t.rdef.child(child)
            k = self._key(t, key)
            if cdef is None or k not in t.rows:
                raise VendorError(404, f"The requested resource {res}/{key}/child/{child} doesn't exist.", "JBO-25020")
            limit = min(500, max(1, int(r.arg("limit") or 25)))
            offset = max(0, int(r.arg("offset") or 0))
            only = (r.arg("onlyData") or "") == "true"
            href = f"{self._href(r, api, t.rdef, k)}/child/{child}"
            with self.store.lock:
                rows = [dict(c) for c in t.rows[k].get(child) or []]
            page = wire.child_collection(3, href, child, rows, offset, limit, only)
            if not only:
                for c in page["items"]:
                    c["links"] = wire.links(f"{href}/{c[cdef.key]}", child, "item")
            return Response.json(page, content_type=wire.COLLECTION)
        return self._run(req, go)

    # ---- writes ----------------------------------------------------------------------------------
    def create(self, req: Request, api: str, ver: str, res: str) -> Response:
        def go(r: Request, v: int) -> Response:
            t = self._table(api, res)
            payload = _body(r)
            if (r.headers.get("Upsert-Mode") or "").lower() == "true":
                row, created = self.store.upsert(res, payload)
            else:
                row, created = self.store.create(res, payload), True
            with self.store.lock:
                key = row[t.rdef.key]
                body, etag = self._item(r, v, api, t, row), t.etag(key)
            return Response.json(body, 201 if created else 200, content_type=wire.ITEM,
                                 headers={"ETag": etag, "Location": self._href(r, api, t.rdef, key)})
        return self._run(req, go)

    def update(self, req: Request, api: str, ver: str, res: str, key: str) -> Response:
        def go(r: Request, v: int) -> Response:
            t = self._table(api, res)
            row = self.store.update(res, self._key(t, key), _body(r), r.headers.get("If-Match"))
            with self.store.lock:
                body, etag = self._item(r, v, api, t, row), t.etag(row[t.rdef.key])
            return Response.json(body, content_type=wire.ITEM, headers={"ETag": etag})
        return self._run(req, go)

    def delete(self, req: Request, api: str, ver: str, res: str, key: str) -> Response:
        def go(r: Request, v: int) -> Response:
            t = self._table(api, res)
            self.store.delete(res, self._key(t, key))
            return Response.empty(204)
        return self._run(req, go)

    def batch(self, req: Request, api: str, ver: str) -> Response:
        return self._run(req, self._batch, api)

    def _batch(self, req: Request, v: int, api: str) -> Response:
        if wire.BATCH not in (req.headers.get("Content-Type") or ""):
            raise VendorError(415, f"A batch request needs the media type {wire.BATCH}.", "JBO-REST-0415")
        body = _body(req)
        parts = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(parts, list) or not parts:
            raise VendorError(400, "The batch payload needs a non-empty parts array.", "JBO-REST-0040")
        done, failed = [], []
        with self.store.transaction() as undo:
            for part in parts:
                try:
                    done.append(self._part(req, v, api, part))
                except VendorError as err:
                    failed.append({"id": part.get("id"), "path": part.get("path"), "operation": part.get("operation"),
                                   "payload": wire.error_body(v, err)})
            if failed:
                self.store.rollback(undo)
                return Response.json({"parts": failed}, 400, content_type=wire.BATCH)
        return Response.json({"parts": done}, content_type=wire.BATCH)

    def _part(self, req: Request, v: int, api: str, part: Any) -> dict[str, Any]:
        if not isinstance(part, dict) or not part.get("id") or not part.get("path") or not part.get("operation"):
            raise VendorError(400, "Every batch part needs id, path and operation.", "JBO-REST-0041")
        op, path = str(part["operation"]).lower(), str(part["path"]).strip("/")
        segs = path.split("/")
        t = self._table(api, segs[0])
        res = t.rdef.name
        key = self._key(t, segs[1]) if len(segs) > 1 else None
        if op != "get" and self.app.faults.fail_record():
            raise VendorError(400, f"JBO-29000: Unexpected exception caught: oracle.jbo.RowInconsistentException "
                                   f"(injected failure of part {part['id']}).", "JBO-29000", "/" + path)
        payload = part.get("payload") or {}
        out: dict[str, Any] = {"id": part["id"], "path": f"{self._base(req, api)}/{path}", "operation": op}
        if op == "create":
            row = self.store.create(res, payload)
        elif op == "upsert":
            row, _ = self.store.upsert(res, payload)
        elif op in ("update", "replace") and key is not None:
            row = self.store.update(res, key, payload)
        elif op == "delete" and key is not None:
            self.store.delete(res, key)
            return out
        elif op == "get" and key is not None:
            row = t.rows.get(key)
            if row is None:
                raise VendorError(404, f"The requested resource {res}/{key} doesn't exist.", "JBO-25020", "/" + path)
        else:
            raise VendorError(400, f"The operation {op} is not valid for the path /{path}.", "JBO-REST-0042", "/" + path)
        out["payload"] = self._item(req, v, api, t, row)
        return out


def _body(req: Request) -> Any:
    try:
        return req.json() or {}
    except ValueError:
        raise VendorError(400, "The request payload is not valid JSON.", "JBO-REST-0002") from None
