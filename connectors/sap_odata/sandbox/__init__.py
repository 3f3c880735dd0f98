"""SAP S/4HANA OData V2 sandbox: serves any V2 service from its EDMX, seeded from the world.

``start(world)`` serves the real API_BUSINESS_PARTNER, API_SALES_ORDER_SRV and API_PRODUCT_SRV
``$metadata`` from ``../shared/fixtures/sap-odata-v2/`` when present, else Concord's own reduced
files (``sandbox/edmx/``). ``start(world, metadata="Z_MY_SRV.edmx")`` serves a custom service.
Root: ``/sap/opu/odata/sap/{SERVICE}/``. Auth: Basic (``CONCORD_SBX``) or OAuth bearer tokens from
``POST /sap/bc/sec/oauth2/token`` (client credentials). Writes need a CSRF token fetched with
``x-csrf-token: Fetch`` and the session cookie set with it.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from concord.connectors.sap_odata.edmx import ServiceModel, load_model
from concord.connectors.sap_odata.sandbox.batch import handle_batch
from concord.connectors.sap_odata.sandbox.odata import ODataRequest, ODataService, gw_error
from concord.connectors.sap_odata.sandbox.seed import seed_store
from concord.connectors.sap_odata.sandbox.store import Clock, ServiceStore, StoreError
from concord.hub.errors import ConfigError
from concord.hub.sandbox import FaultConfig, FaultInjector, Request, Response, SandboxApp, SandboxServer
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World

ROOT = "/sap/opu/odata/sap/"
OWN_EDMX = Path(__file__).resolve().parent / "edmx"
SERVICES = ("API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV", "API_PRODUCT_SRV", "API_MATERIAL_STOCK_SRV",
            "API_BILLING_DOCUMENT_SRV")
USER, CLIENT = "CONCORD_SBX", "100"
COOKIE = f"SAP_SESSIONID_SBX_{CLIENT}"
MODIFYING = {"POST", "PUT", "PATCH", "MERGE", "DELETE"}


def fixtures_dir() -> Path:
    shared = Path(os.environ.get("CONCORD_SHARED_DIR", Path(__file__).resolve().parents[3].parent / "shared"))
    return shared / "fixtures" / "sap-odata-v2"


def default_metadata_files() -> dict[str, Path]:
    """The real S/4 EDMX files when the shared fixtures are present, else Concord's reduced ones."""
    real = fixtures_dir()
    out = {}
    for name in SERVICES:
        f = real / f"{name}.edmx"
        out[name] = f if f.exists() else OWN_EDMX / f"{name}.edmx"
    return out


def load_service_file(name: str, path: Path) -> tuple[bytes, ServiceModel]:
    """Read and parse one EDMX file to serve. Every problem is a ConfigError naming the file."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ConfigError(f"the service name {name!r} (taken from the file name) may hold only letters, digits and "
                          "_ (it becomes /sap/opu/odata/sap/<SERVICE>/); rename the file", file=str(path))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("EDMX file not found", file=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not an EDMX file", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the EDMX file: {exc.strerror or exc}", file=str(path)) from None
    return raw, load_model(raw, source=str(path), file=str(path))


#: extension fields the sandbox adds to a served entity type, as the Custom Fields app does on S/4: entity set ->
#: field -> length. ``YY1_ConcordId_bus`` holds Concord's golden id (``external_id_fields``: idempotent creates)
DEFAULT_EXTENSIONS: dict[str, dict[str, int]] = {"A_BusinessPartner": {"YY1_ConcordId_bus": 36}}
#: the config that makes a BP create a customer create in this sandbox's customizing (sandbox/customers.py)
SANDBOX_CUSTOMER_DEFAULTS = {"grouping": "BP02", "company_code": "1010", "reconciliation_account": "12100000",
                             "payment_terms": "0001", "sales_organization": "1010", "distribution_channel": "10",
                             "division": "00", "currency": "EUR"}


def with_extensions(raw: bytes, model: ServiceModel, extensions: dict[str, dict[str, int]]) -> bytes:
    """The EDMX with the extension fields added to the types of the named sets (sets the service lacks are
    skipped): ``<Property Name="YY1_..." Type="Edm.String" MaxLength="n" sap:label="..."/>`` after the key."""
    text = raw.decode("utf-8")
    for set_name, fields in extensions.items():
        es = model.entity_sets.get(set_name)
        if es is None:
            continue
        local = es.type_name.rsplit(".", 1)[-1]
        start = text.find(f'<EntityType Name="{local}"')
        end = text.find("</Key>", start)
        if start < 0 or end < 0:
            continue
        props = "".join(f'<Property Name="{name}" Type="Edm.String" MaxLength="{length}" sap:label="{name[4:-4]}"/>'
                        for name, length in fields.items() if f'Name="{name}"' not in text[start:text.find("</EntityType>", start)])
        text = text[:end + len("</Key>")] + props + text[end + len("</Key>"):]
    return text.encode("utf-8")


class SapState:
    """Sessions, CSRF tokens, OAuth tokens and the service stores of one sandbox."""

    def __init__(self, password: str, client_id: str, client_secret: str) -> None:
        self.password, self.client_id, self.client_secret = password, client_id, client_secret
        self.lock = threading.Lock()
        self.csrf: dict[str, str] = {}            # session id -> token
        self.bearer: set[str] = set()
        self.services: dict[str, ODataService] = {}
        self.clock = Clock()

    def store(self, service: str) -> ServiceStore:
        return self.services[service].store

    def expire_csrf(self) -> None:
        with self.lock:
            self.csrf.clear()


def _fault_renderer(kind: str, req: Request, faults: FaultInjector) -> Response:
    retry = str(max(1, int(round(faults.config.retry_after + 0.499))))
    status = {"429": 429, "503": 503}.get(kind, 500)
    msg = {"429": "Rate limit exceeded; retry later", "503": "Service temporarily unavailable"}.get(
        kind, "In the context of Data Services an unknown internal server error occurred")
    resp = gw_error(status, "/IWFND/CM_BEC/076" if status != 429 else "/IWFND/CM_CONSUMER/429", msg, service="")
    if status in (429, 503):
        resp.headers["Retry-After"] = retry
    return resp


def _cookies(req: Request) -> dict[str, str]:
    out = {}
    for part in (req.headers.get("Cookie") or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k:
            out[k] = v
    return out


def _authenticate(state: SapState, app: SandboxApp, req: Request) -> Response | None:
    auth = req.headers.get("Authorization") or ""
    client = req.arg("sap-client")
    if client is not None and client != CLIENT:
        return Response.text(f"Logon failed: client {client} is not available in this system", 401,
                             headers={"WWW-Authenticate": f'Basic realm="SAP NetWeaver Application Server [SBX/{CLIENT}]"'})
    if auth.startswith("Bearer "):
        token = auth[7:].strip()
        with state.lock:
            ok = token in state.bearer
        if ok and app.faults.token_expired():
            with state.lock:
                state.bearer.discard(token)
            ok = False
        if not ok:
            return Response.text("Logon failed: the access token is invalid or expired", 401,
                                 headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return None
    if auth.startswith("Basic "):
        try:
            user, _, pw = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
        except Exception:  # noqa: BLE001
            user, pw = "", ""
        if user.upper() == USER and secrets.compare_digest(pw, state.password):
            return None
    return Response(401, b"<html><body><h1>Logon failed</h1></body></html>",
                    {"Content-Type": "text/html; charset=utf-8",
                     "WWW-Authenticate": f'Basic realm="SAP NetWeaver Application Server [SBX/{CLIENT}]"'})


def _csrf(state: SapState, app: SandboxApp, req: Request) -> tuple[Response | None, dict[str, str]]:
    """Fetch on GET/HEAD; validate on modifying requests. Returns (refusal, extra response headers)."""
    cookies = _cookies(req)
    sid = cookies.get(COOKIE)
    if req.method in ("GET", "HEAD") and (req.headers.get("x-csrf-token") or "").lower() == "fetch":
        with state.lock:
            headers = {}
            if not sid or sid not in state.csrf:
                sid = secrets.token_urlsafe(24)
                headers["Set-Cookie"] = f"{COOKIE}={sid}; path=/; HttpOnly"
            token = state.csrf.setdefault(sid, secrets.token_urlsafe(18))
        headers["x-csrf-token"] = token
        return None, headers
    if req.method in MODIFYING:
        sent = req.headers.get("x-csrf-token")
        with state.lock:
            valid = bool(sid) and bool(sent) and state.csrf.get(sid) == sent
        if valid and app.faults.token_expired():
            state.expire_csrf()
            valid = False
        if not valid:
            return Response.text("CSRF token validation failed", 403, headers={"x-csrf-token": "Required"}), {}
    return None, {}


def build_app(state: SapState, faults: FaultInjector) -> SandboxApp:
    app = SandboxApp("sap_odata", faults)
    app.fault_renderer = _fault_renderer

    def token(req: Request) -> Response:
        form = req.form() if req.body else {}
        basic = req.headers.get("Authorization") or ""
        cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        if basic.startswith("Basic "):
            cid, _, secret = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
        if form.get("grant_type") != "client_credentials":
            return Response.json({"error": "unsupported_grant_type"}, 400)
        if cid != state.client_id or not secrets.compare_digest(secret, state.client_secret):
            return Response.json({"error": "invalid_client", "error_description": "Bad credentials"}, 401)
        tok = secrets.token_urlsafe(32)
        with state.lock:
            state.bearer.add(tok)
        return Response.json({"access_token": tok, "token_type": "bearer", "expires_in": 43199, "scope": "uaa.resource"})

    def service(req: Request, service: str, rest: str | None) -> Response:
        svc = state.services.get(service)
        if svc is None:
            return gw_error(404, "/IWFND/MED/170", f"No service found for namespace '/SAP/', name '{service}', "
                            "version '0001'", service=service)
        refused = _authenticate(state, app, req)
        if refused:
            return refused
        refused, extra = _csrf(state, app, req)
        if refused:
            return refused
        base = f"{req.origin}{ROOT}{service}/"
        query = {k: v[0] for k, v in parse_qs(req.raw_query, keep_blank_values=True).items()}
        from urllib.parse import unquote
        rel = unquote((rest or "").lstrip("/"))
        if rel == "$batch":
            if req.method != "POST":
                resp = gw_error(405, "/IWBEP/CM_MGW_RT/107", "$batch requires POST", service=service)
            else:
                try:
                    resp = handle_batch(req.body, req.headers.get("Content-Type") or "", base, req.headers, svc.store,
                                        svc.handle, app.faults.fail_record)
                except StoreError as exc:
                    resp = gw_error(exc.status, exc.code, exc.message, service=service)
        else:
            resp = svc.handle(ODataRequest(req.method, rel, query, req.headers, req.body, base, req.raw_query))
        if req.method == "HEAD":
            resp = Response(resp.status, b"", dict(resp.headers))
        resp.headers.update(extra)
        return resp

    app.add_route("POST", r"/sap/bc/sec/oauth2/token", token, name="oauth_token")
    app.add_route("*", r"/sap/opu/odata/sap/(?P<service>[A-Za-z0-9_]+)(?P<rest>/.*)?", service, name="odata")
    return app


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, metadata: str | list[str] | None = None,
          page_size: int = 100, max_page_size: int = 5000, generic_rows: int = 5, tls: bool = False,
          **options: Any) -> RunningSandbox:
    """Start the sandbox. ``metadata``: one or more EDMX files to serve instead of the S/4 defaults."""
    files: dict[str, Path]
    if metadata:
        paths = [metadata] if isinstance(metadata, str) else list(metadata)
        files = {Path(p).stem.split(".")[0]: Path(p) for p in paths}
    else:
        files = default_metadata_files()
    password = options.get("password") or secrets.token_urlsafe(12)
    state = SapState(password, "concord-sbx-client", options.get("client_secret") or secrets.token_urlsafe(16))
    models = {name: load_service_file(name, path) for name, path in files.items()}
    extensions = options.get("extensions", DEFAULT_EXTENSIONS) or {}
    for name, path in files.items():
        raw, model = models[name]
        if any(s in model.entity_sets for s in extensions):
            raw = with_extensions(raw, model, extensions)
            model = load_model(raw, source=str(path), file=str(path))
        store = ServiceStore(name, model, raw, clock=state.clock)
        seed_store(store, world, generic_rows=generic_rows)
        state.services[name] = ODataService(store, page_size=page_size, max_page_size=max_page_size)
    for svc in state.services.values():
        svc.store.peers = {n: s.store for n, s in state.services.items()}
    app = build_app(state, FaultInjector(faults))
    server = SandboxServer(app, port=port, tls=tls).start()
    first = next(iter(files))
    urls = {name: f"{server.base_url}{ROOT}{name}/" for name in files}
    config = {"service_url": urls[first], "extra_service_urls": [u for n, u in urls.items() if n != first],
              "auth": "basic", "user": USER, "password": "${SAP_PASSWORD}", "sap_client": CLIENT}
    if "API_BUSINESS_PARTNER" in files:
        bp_model = state.services["API_BUSINESS_PARTNER"].store.model
        ext = {s: f for s, fs in extensions.items() for f in fs if s in bp_model.entity_sets}
        if ext:
            config["external_id_fields"] = ext
        config["customer_defaults"] = dict(SANDBOX_CUSTOMER_DEFAULTS)
    if server.ca_file:
        config["ca_file"] = server.ca_file
    return RunningSandbox(
        connector="sap_odata", server=server, app=app,
        credentials={"user": USER, "password": password, "client_id": state.client_id,
                     "client_secret": state.client_secret, "token_url": f"{server.base_url}/sap/bc/sec/oauth2/token"},
        connector_config=config, env={"SAP_PASSWORD": password}, state=state,
        extra={"services": urls, "metadata": {n: str(p) for n, p in files.items()}})
