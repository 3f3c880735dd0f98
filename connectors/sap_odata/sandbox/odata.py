"""OData V2 request handling for one service: queries, single entities, navigation, writes.

Speaks verbose JSON (``d.results``, ``__metadata``, ``__deferred``, ``__count`` as a string, absolute
``__next`` on the client's own origin). Errors use the SAP Gateway JSON shape (see :func:`gw_error`).
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode

from concord.connectors.sap_odata.filter import FilterError, Prop, evaluate, literal, parse_filter, properties_of, tokenize
from concord.connectors.sap_odata.sandbox.store import Key, ServiceStore, StoreError
from concord.connectors.sap_odata.wire import to_wire
from concord.hub.sandbox.server import Response

_SET = re.compile(r"[A-Za-z_]\w*")
_TAIL = re.compile(r"(?:/(?P<nav>[A-Za-z_]\w*))?(?P<count>/\$count)?")


@dataclass(frozen=True)
class _Path:
    set: str
    key: str | None
    nav: str | None
    count: bool


def split_path(rel: str) -> _Path | None:
    """``Set``, ``Set(key)``, ``Set(key)/nav``, ``.../$count`` of a decoded path. The key ends at the first ``)``
    outside a quoted literal, so a string key may hold ``)``, ``/``, ``(`` or ``,``."""
    m = _SET.match(rel)
    if not m:
        return None
    pos, key = m.end(), None
    if rel[pos:pos + 1] == "(":
        in_str, i = False, pos + 1
        while i < len(rel) and (in_str or rel[i] != ")"):
            if rel[i] == "'":
                in_str = not in_str
            i += 1
        if i >= len(rel):
            return None
        key, pos = rel[pos + 1:i], i + 1
    t = _TAIL.fullmatch(rel, pos)
    if not t:
        return None
    return _Path(m.group(), key, t.group("nav"), bool(t.group("count")))
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed",
            428: "Precondition Required", 429: "Too Many Requests", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}


@dataclass
class ODataRequest:
    method: str
    rel: str                          # path below the service root, percent-decoded, no leading slash
    query: dict[str, str]
    headers: Any
    body: bytes
    base: str                         # absolute service root as the client addressed it, ending in '/'
    raw_query: str = ""
    in_batch: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def gw_error(status: int, code: str, message: str, *, service: str, target: str = "",
             details: list[dict[str, Any]] | None = None) -> Response:
    """An error in the SAP Gateway JSON shape (``error.code``, ``error.message.value``, ``innererror``)."""
    tx = uuid.uuid4().hex.upper()
    body = {"error": {
        "code": code, "message": {"lang": "en", "value": message},
        "innererror": {
            "application": {"component_id": "", "service_namespace": "/SAP/", "service_id": service,
                            "service_version": "0001"},
            "transactionid": tx, "timestamp": "",
            "Error_Resolution": {"SAP_Transaction": "Run transaction /IWFND/ERROR_LOG on SAP Gateway hub system and "
                                 "search for entries with the timestamp above for more details",
                                 "SAP_Note": "See SAP Note 1797736 for error analysis "
                                 "(https://service.sap.com/sap/support/notes/1797736)"},
            "errordetails": details if details is not None else [
                {"code": code, "message": message, "propertyref": target, "severity": "error", "target": target}],
        }}}
    return Response.json(body, status, content_type="application/json;charset=utf-8",
                         headers={"dataserviceversion": "1.0"})


def parse_key(et_keys: tuple[str, ...], text: str) -> dict[str, Any]:
    """``'1'`` or ``BusinessPartner='1',AddressID='2'`` (typed literals allowed) -> {name: value}."""
    from concord.connectors.sap_odata.filter import _Parser
    parts, depth, cur, in_str = [], 0, "", False
    for ch in text:
        if ch == "'":
            in_str = not in_str
        if ch == "," and not in_str and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    out: dict[str, Any] = {}
    for i, part in enumerate(parts):
        name, eq, lit = part.partition("=")
        if not eq or name.startswith("'"):
            if len(et_keys) != 1 or len(parts) != 1:
                raise StoreError(400, "/IWBEP/CM_MGW_RT/001", f"Invalid key predicate '{text}'")
            name, lit = et_keys[0], part
        name = name.strip()
        if name not in et_keys:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/001", f"Invalid key predicate '{text}': unknown key '{name}'")
        try:
            node = _Parser(lit.strip()).parse()
        except FilterError as exc:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/001", f"Invalid key predicate '{text}': {exc}") from None
        out[name] = getattr(node, "value", None)
    if set(out) != set(et_keys):
        raise StoreError(400, "/IWBEP/CM_MGW_RT/001", f"Invalid key predicate '{text}': expected {', '.join(et_keys)}")
    return out


def key_text(store: ServiceStore, set_name: str, key: Key) -> str:
    et = store.etype(set_name)

    def lit(name: str, v: Any) -> str:
        t = et.properties[name].type
        try:
            return literal(t, v)
        except ValueError:
            return literal("Edm.String", v)
    if len(et.keys) == 1:
        return f"({lit(et.keys[0], key[0])})"
    return "(" + ",".join(f"{k}={lit(k, v)}" for k, v in zip(et.keys, key)) + ")"


class ODataService:
    def __init__(self, store: ServiceStore, *, page_size: int = 100, max_page_size: int = 5000) -> None:
        self.store, self.page_size, self.max_page_size = store, page_size, max_page_size
        self._cache: dict[tuple, list[dict[str, Any]]] = {}

    # ---- entry -------------------------------------------------------------------------------
    def handle(self, r: ODataRequest) -> Response:
        try:
            return self._route(r)
        except StoreError as exc:
            return gw_error(exc.status, exc.code, exc.message, service=self.store.name, target=exc.target)

    def _route(self, r: ODataRequest) -> Response:
        rel = r.rel.strip("/")
        if rel == "":
            if r.method not in ("GET", "HEAD"):
                raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Method {r.method} is not allowed on the service document")
            return Response.json({"d": {"EntitySets": list(self.store.model.entity_sets)}})
        if rel == "$metadata":
            return Response(200, self.store.metadata, {"Content-Type": "application/xml", "dataserviceversion": "2.0"})
        m = split_path(rel)
        if not m:
            raise StoreError(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{rel}'")
        set_name = m.set
        es = self.store.entity_set(set_name)
        key_txt, nav, count = m.key, m.nav, m.count
        if key_txt is None:
            if nav:
                raise StoreError(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{nav}'")
            if r.method in ("GET", "HEAD"):
                return self.query(r, set_name, None, count)
            if r.method == "POST":
                if not es.creatable:
                    raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Entity set '{set_name}' is not creatable")
                from concord.connectors.sap_odata.sandbox.writes import create
                return create(self, r, set_name)
            raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Method {r.method} is not allowed on '{set_name}'")
        key = self._key(set_name, key_txt)
        if nav:
            if r.method not in ("GET", "HEAD"):
                raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Method {r.method} is not allowed on '{nav}'")
            return self.navigate(r, set_name, key, nav, count)
        if r.method in ("GET", "HEAD"):
            return self.single(r, set_name, key)
        from concord.connectors.sap_odata.sandbox import writes
        if r.method in ("PATCH", "MERGE", "PUT"):
            return writes.update(self, r, set_name, key)
        if r.method == "POST" and (r.headers.get("X-HTTP-Method") or "").upper() in ("MERGE", "PATCH"):
            return writes.update(self, r, set_name, key)
        if r.method == "DELETE":
            return writes.delete(self, r, set_name, key)
        raise StoreError(405, "/IWBEP/CM_MGW_RT/107", f"Method {r.method} is not allowed on '{set_name}'")

    def _key(self, set_name: str, text: str) -> Key:
        et = self.store.etype(set_name)
        values = parse_key(et.keys, text)
        out = []
        for k in et.keys:
            v = values[k]
            out.append(self.store.coerce(et.properties[k], v, wire=False) if v is not None else None)
        return tuple(out)

    def row_or_404(self, set_name: str, key: Key) -> dict[str, Any]:
        row = self.store.get(set_name, key)
        if row is None:
            raise StoreError(404, "/IWBEP/CM_MGW_RT/020",
                             f"Resource not found for segment '{set_name}{key_text(self.store, set_name, key)}'")
        return row

    # ---- serialisation -----------------------------------------------------------------------
    def uri(self, base: str, set_name: str, key: Key) -> str:
        return base + set_name + quote(key_text(self.store, set_name, key), safe="(),='")

    def serialize(self, base: str, set_name: str, row: dict[str, Any], select: set[str] | None,
                  expand: dict[str, dict]) -> dict[str, Any]:
        et = self.store.etype(set_name)
        key = self.store.key_of(set_name, row)
        uri = self.uri(base, set_name, key)
        meta: dict[str, Any] = {"id": uri, "uri": uri, "type": et.full_name}
        etag = self.store.etag(set_name, row)
        if etag:
            meta["etag"] = etag
        out: dict[str, Any] = {"__metadata": meta}
        for name, p in et.properties.items():
            if select is None or name in select:
                out[name] = to_wire(p.type, row.get(name)) if p.type.startswith("Edm.") else row.get(name)
        for nav_name, nav in et.navs.items():
            if select is not None and nav_name not in select and nav_name not in expand:
                continue
            if nav_name in expand:
                found = self.store.children(set_name, row, nav_name)
                tset, rows = found if found else ("", [])
                items = [self.serialize(base, tset, c, None, expand[nav_name]) for c in rows]
                out[nav_name] = {"results": items} if nav.many else (items[0] if items else None)
            else:
                out[nav_name] = {"__deferred": {"uri": f"{uri}/{nav_name}"}}
        return out

    @staticmethod
    def parse_expand(text: str | None) -> dict[str, dict]:
        tree: dict[str, dict] = {}
        for part in (text or "").split(","):
            node = tree
            for seg in [s for s in part.strip().split("/") if s]:
                node = node.setdefault(seg, {})
        return tree

    def _check_expand(self, set_name: str, tree: dict[str, dict]) -> None:
        et = self.store.etype(set_name)
        for nav, sub in tree.items():
            if nav not in et.navs:
                raise StoreError(400, "/IWBEP/CM_MGW_RT/005", f"Property '{nav}' is not a navigation property of "
                                 f"'{et.name}'")
            tset = self.store.model.set_for_type(et.navs[nav].target)
            if tset and sub:
                self._check_expand(tset.name, sub)

    def _select(self, set_name: str, text: str | None) -> set[str] | None:
        if not text or text.strip() == "*":
            return None
        et = self.store.etype(set_name)
        names = {s.strip().split("/")[0] for s in text.split(",") if s.strip()}
        bad = [n for n in names if n not in et.properties and n not in et.navs]
        if bad:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/005", f"Property '{bad[0]}' is invalid in $select")
        return names | set(et.keys)

    # ---- reads -------------------------------------------------------------------------------
    def _matching(self, set_name: str, rows: list[dict[str, Any]], filt: str | None, orderby: str | None) -> list:
        et = self.store.etype(set_name)
        if filt:
            try:
                ast = parse_filter(filt)
            except FilterError as exc:
                raise StoreError(400, "/IWBEP/CM_MGW_RT/015", f"Invalid filter expression: '{filt}': {exc}") from None
            for name in properties_of(ast):
                p = et.properties.get(name)
                if p is None:
                    raise StoreError(400, "/IWBEP/CM_MGW_RT/005", f"Property '{name}' is invalid in $filter")
                if not p.filterable:
                    raise StoreError(400, "/IWBEP/CM_MGW_RT/005", f"Property '{name}' is not filterable")
            try:
                rows = [row for row in rows if evaluate(ast, row)]
            except FilterError as exc:
                raise StoreError(400, "/IWBEP/CM_MGW_RT/015", f"Invalid filter expression: '{filt}': {exc}") from None
        order: list[tuple[str, bool]] = []
        for part in (orderby or "").split(","):
            bits = part.split()
            if not bits:
                continue
            if bits[0] not in et.properties:
                raise StoreError(400, "/IWBEP/CM_MGW_RT/005", f"Property '{bits[0]}' is invalid in $orderby")
            order.append((bits[0], len(bits) > 1 and bits[1].lower() == "desc"))
        for name, desc in reversed(order):
            rows = sorted(rows, key=lambda r, n=name: (r.get(n) is not None, r.get(n) if r.get(n) is not None else 0),
                          reverse=desc)
        return rows

    def query(self, r: ODataRequest, set_name: str, parent: tuple[str, Key, str] | None, count: bool,
              rows: list[dict[str, Any]] | None = None) -> Response:
        q = r.query
        filt, orderby = q.get("$filter"), q.get("$orderby")
        cache_key = (set_name, parent, filt, orderby, self.store.version)
        with self.store.lock:
            matched = self._cache.get(cache_key)
            if matched is None:
                base_rows = rows if rows is not None else list(self.store.tables[set_name].values())
                matched = self._matching(set_name, base_rows, filt, orderby)
                if len(self._cache) > 16:
                    self._cache.clear()
                self._cache[cache_key] = matched
        if count:
            return Response.text(str(len(matched)), content_type="text/plain;charset=utf-8")
        try:
            skip = int(q.get("$skip", "0") or 0)
            top = int(q["$top"]) if q.get("$top") not in (None, "") else None
            token = int(q.get("$skiptoken", "0").strip("'") or 0)
        except ValueError:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/016", "Invalid value for $top, $skip or $skiptoken") from None
        if skip < 0 or (top is not None and top < 0):
            raise StoreError(400, "/IWBEP/CM_MGW_RT/016", "$top and $skip must not be negative")
        window = matched[skip:] if top is None else matched[skip:skip + top]
        size = self.page_size if top is None else min(self.max_page_size, top)
        size = max(1, size)
        page = window[token:token + size]
        expand = self.parse_expand(q.get("$expand"))
        self._check_expand(set_name, expand)
        select = self._select(set_name, q.get("$select"))
        with self.store.lock:
            results = [self.serialize(r.base, set_name, row, select, expand) for row in page]
        d: dict[str, Any] = {"results": results}
        if q.get("$inlinecount") == "allpages":
            d["__count"] = str(len(matched))
        elif q.get("$inlinecount") not in (None, "none"):
            raise StoreError(400, "/IWBEP/CM_MGW_RT/016", "Invalid value for $inlinecount")
        if token + size < len(window):
            params = {k: v for k, v in q.items() if k != "$skiptoken" and not k.startswith("sap-")}
            params["$skiptoken"] = str(token + size)
            d["__next"] = r.base + quote(r.rel.strip("/"), safe="()=,'/$") + "?" + urlencode(params)
        return Response.json({"d": d}, content_type="application/json;charset=utf-8",
                             headers={"dataserviceversion": "2.0"})

    def single(self, r: ODataRequest, set_name: str, key: Key) -> Response:
        row = self.row_or_404(set_name, key)
        expand = self.parse_expand(r.query.get("$expand"))
        self._check_expand(set_name, expand)
        with self.store.lock:
            body = self.serialize(r.base, set_name, row, self._select(set_name, r.query.get("$select")), expand)
        headers = {"dataserviceversion": "2.0"}
        etag = self.store.etag(set_name, row)
        if etag:
            headers["ETag"] = etag
        return Response.json({"d": body}, content_type="application/json;charset=utf-8", headers=headers)

    def navigate(self, r: ODataRequest, set_name: str, key: Key, nav: str, count: bool) -> Response:
        row = self.row_or_404(set_name, key)
        et = self.store.etype(set_name)
        if nav not in et.navs:
            raise StoreError(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{nav}'")
        found = self.store.children(set_name, row, nav)
        tset, rows = found if found else ("", [])
        if et.navs[nav].many:
            return self.query(r, tset, (set_name, key, nav), count, rows=list(rows))
        if not rows:
            raise StoreError(404, "/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{nav}'")
        return self.single(r, tset, self.store.key_of(tset, rows[0]))


def error_message(resp: Response) -> str:
    try:
        return json.loads(resp.body)["error"]["message"]["value"]
    except Exception:  # noqa: BLE001 - diagnostics only
        return resp.body.decode("utf-8", "replace")[:200]


def decode_rel(path: str) -> str:
    return unquote(path)


__all__ = ["ODataRequest", "ODataService", "gw_error", "parse_key", "key_text", "_REASONS", "Prop", "tokenize",
           "error_message", "decode_rel"]
