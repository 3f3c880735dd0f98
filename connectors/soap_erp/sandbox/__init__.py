"""The SOAP ERP sandbox: Dynamics NAV page web services generated from their WSDL.

``start(world, wsdl=FILE or [FILES])`` serves any page-style WSDLs at
``/DynamicsNAV90/WS/<Company>/Page/<Page>``. By default it serves what a NAV integration publishes:
the Customer page (the real NAV 2016 Customer page WSDL from ../shared/fixtures when present, else
the bundled ``wsdl/Customer.wsdl``), the Item page, the SalesOrder page with its SalesLines part and the
read-only PostedSalesInvoices page (bundled ``wsdl/Item.wsdl``, ``wsdl/SalesOrder.wsdl``,
``wsdl/PostedSalesInvoices.wsdl``), seeded from the world's companies, products, orders and invoices; sales orders follow NAV's rules (``documents.py``: number series, lines numbered by NAV,
customer and item checks, amounts computed). The page's
fields and primary key come from the WSDL (the key is what ``Read`` takes, e.g.
``Journal_Template_Name, Journal_Batch_Name, Line_No``), so any page can be served
and seeded; :func:`concord.connectors.soap_erp.sandbox.wsdlgen.page_wsdl` writes one.

- ``GET`` (with or without ``?wsdl``) answers the WSDL with this server's address in it;
- ``POST`` answers Read, ReadByRecId, ReadMultiple (NAV filters, bookmarkKey, setSize),
  IsUpdated, GetRecIdFromKey, Create, CreateMultiple, Update, UpdateMultiple and Delete,
  with row-versioned ``Key``s and SOAP 1.1 faults (HTTP 500);
- auth is NavUserPassword (HTTP Basic, default) or ``auth="oauth"`` (AAD-style client
  credentials at ``/<tenant>/oauth2/v2.0/token`` and bearer tokens that expire).

Knobs: ``faults=FaultConfig(...)``, ``share`` (part of the world's companies this ERP holds),
``today`` (the server's date stamped on writes), ``tls``, ``company``, ``instance``.
Tests poison the next answer with ``running.handles["control"].poison("bomb"|"xxe")``.
"""
from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import zeep
import zeep.exceptions
from lxml import etree
from zeep.exceptions import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from concord.connectors.soap_erp.opmap import PAGE_MAPS, load_operation_map
from concord.connectors.soap_erp.sandbox.customers import CustomerTable, customer_series
from concord.connectors.soap_erp.sandbox.documents import SalesOrderRules
from concord.connectors.soap_erp.sandbox.seed import seed_order, seed_store
from concord.connectors.soap_erp.sandbox.soap import PageEndpoint, fault_response
from concord.connectors.soap_erp.sandbox.store import NavFault, PageStore
from concord.connectors.soap_erp.sandbox.wsdlgen import add_fields
from concord.connectors.soap_erp.wsdl import (WSDL_SOAP, adapt_operation_map, build_client, describe_page, load_wsdl_bytes,
                                      record_type_of)
from concord.hub.errors import ConfigError
from concord.hub.sandbox import FaultConfig, FaultInjector, Request, Response, SandboxApp, SandboxServer
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World

ROOT = Path(__file__).resolve().parents[3]
BUNDLED_WSDL = Path(__file__).resolve().parents[1] / "wsdl" / "Customer.wsdl"
#: NAV-style page WSDLs written by ``wsdlgen`` (``sales_order_wsdl()``, ``item_wsdl()``), bundled
SALES_ORDER_WSDL = BUNDLED_WSDL.parent / "SalesOrder.wsdl"
ITEM_WSDL = BUNDLED_WSDL.parent / "Item.wsdl"
POSTED_SALES_INVOICES_WSDL = BUNDLED_WSDL.parent / "PostedSalesInvoices.wsdl"

BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
        + b']>\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x>&lol9;</x></s:Body></s:Envelope>')
XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x>&xxe;</x></s:Body></s:Envelope>')


#: the NAV table behind a page (the first part of a record's Key): Customer 18, Item 27, Sales Header 36,
#: Sales Invoice Header 112
TABLE_NO = {"Customer": 18, "Item": 27, "SalesOrder": 36, "PostedSalesInvoices": 112}


def default_wsdl() -> Path:
    shared = Path(os.environ.get("CONCORD_SHARED_DIR", ROOT.parent / "shared"))
    real = shared / "fixtures" / "soap-erp" / "dynamics-nav" / "NAV2016_Page_Customer.wsdl"
    return real if real.exists() else BUNDLED_WSDL


#: the field an integrator adds to the Customer table and page for Concord's id (Text[50]); the default
#: Customer page has it, and the sandbox's config names it as the page's ``external_id_field``
EXTERNAL_ID_FIELD = "Concord_Id"
#: what the sandbox's config gives a customer Concord creates (``create_defaults``): the posting groups of
#: a domestic customer template (a page web service Create applies no template, see customers.py); the VAT
#: business posting group is not defaulted: NAV sets it from the general one (Def. VAT Bus. Posting Group)
CUSTOMER_DEFAULTS = {"Gen_Bus_Posting_Group": "DOMESTIC", "Customer_Posting_Group": "DOMESTIC"}


def default_pages() -> list[str]:
    """The pages a NAV integration publishes: Customer, Item, SalesOrder, PostedSalesInvoices (master data first)."""
    return [str(default_wsdl()), str(ITEM_WSDL), str(SALES_ORDER_WSDL), str(POSTED_SALES_INVOICES_WSDL)]


class Control:
    """Test knobs of a running sandbox."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._poison: list[bytes] = []

    def poison(self, kind: str = "bomb", times: int = 1) -> None:
        """The next answers are an XML bomb ("bomb") or an external-entity document ("xxe")."""
        with self._lock:
            self._poison.extend([BOMB if kind == "bomb" else XXE] * times)

    def take_poison(self) -> bytes | None:
        with self._lock:
            return self._poison.pop(0) if self._poison else None


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, wsdl: str | list[str] | None = None,
          auth: str = "basic", share: float = 0.8, today: dt.date | str | None = None, tls: bool = False,
          company: str = "CRONUS International Ltd.", instance: str = "DynamicsNAV90", operation_map: str | None = None,
          **_ignored: Any) -> RunningSandbox:
    if auth not in ("basic", "oauth"):
        raise ValueError("auth must be 'basic' (NavUserPassword) or 'oauth'")
    app = SandboxApp("soap_erp", FaultInjector(faults))
    app.fault_renderer = _render_fault
    control = Control()
    user, password = "CONCORD", "nav-" + secrets.token_urlsafe(12)
    client_id, client_secret, tenant = "concord-sandbox", "sec-" + secrets.token_urlsafe(16), "sandbox-tenant"
    tokens: set[str] = set()
    basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if isinstance(today, str):
        today = dt.date.fromisoformat(today)
    opmap = load_operation_map(operation_map)
    transport = zeep.Transport(cache=None)
    pages: dict[str, tuple[PageEndpoint, bytes]] = {}
    stores: dict[str, PageStore] = {}
    models = {}
    extras: dict[str, dict[str, Any]] = {}          # page name -> more page config (external id, create defaults)
    paths = [wsdl] if isinstance(wsdl, str) else (wsdl or default_pages())
    for n, path in enumerate(paths):
        # the default Customer page is the one a Concord integration publishes: with the Concord_Id field
        more = ((EXTERNAL_ID_FIELD, "string"),) if wsdl is None and n == 0 else ()
        raw, client, page = _load_page(str(path), opmap, transport, known=operation_map is None, more=more)
        pmap = page.opmap                     # fitted to this WSDL: key from Read, change date if present
        store = PageStore(page.record_type, page.fields, key=page.key, key_field=pmap.fields.version_key,
                          change_field=pmap.change_date.field if pmap.change_date else None,
                          read_only=pmap.fields.read_only, today=today,
                          table_no=TABLE_NO.get(page.record_type, 18))
        name = _page_name(client, page.record_type)
        pages[name] = (PageEndpoint(client, page, store, app.faults), raw)
        stores[name] = store
        models[name] = page
        if page.record_type == "Customer" and "No" in page.fields and store.key.names == ("No",):
            store.table, store.no_series = CustomerTable(set(page.fields)), customer_series(world)
            extra: dict[str, Any] = {}
            if EXTERNAL_ID_FIELD in page.fields:
                extra["external_id_field"] = EXTERNAL_ID_FIELD
            defaults = {k: v for k, v in CUSTOMER_DEFAULTS.items() if k in page.fields}
            if defaults:
                extra["create_defaults"] = defaults
            extras[name] = extra
    by_type = {s.record_type: s for s in stores.values()}
    for name, store in stores.items():       # document pages check their customers and items on these pages
        part = models[name].parts.get("SalesLines")
        if part is not None:
            store.rules = SalesOrderRules(part, by_type.get("Customer"), by_type.get("Item"), NavFault)
    for store in sorted(stores.values(), key=seed_order):   # master data, then orders, then posted invoices
        seed_store(store, world, share=share, related=by_type)

    def authorized(req: Request) -> Response | None:
        header = req.headers.get("Authorization") or ""
        if auth == "basic":
            if header == basic:
                return None
            return Response.empty(401, {"WWW-Authenticate": 'Basic realm=""'})
        token = header[7:] if header.startswith("Bearer ") else None
        if token in tokens and not app.faults.token_expired():
            return None
        if token in tokens:
            tokens.discard(token)
        return Response.json({"error": {"code": "Authentication_InvalidCredentials",
                                        "message": "The access token is expired or invalid."}}, 401,
                             {"WWW-Authenticate": 'Bearer error="invalid_token", '
                                                  'error_description="The access token is expired"'})

    def page_route(req: Request, instance: str, company: str, page: str) -> Response:
        denied = authorized(req)
        if denied is not None:
            return denied
        found = pages.get(page)
        if found is None:
            return fault_response("Microsoft.Dynamics.Nav.Service.WebServices.ServiceBrokerException",
                                  f"No Web service is published with the name {page}.", 404)
        endpoint, raw = found
        poison = control.take_poison()
        if poison is not None:
            return Response(200, poison, {"Content-Type": "text/xml; charset=utf-8"})
        if req.method == "GET":
            return Response(200, _with_address(raw, req.origin + req.path), {"Content-Type": "text/xml; charset=utf-8"})
        return endpoint.handle(req)

    def token_route(req: Request, tenant_id: str) -> Response:
        form = req.form()
        if form.get("grant_type") != "client_credentials":
            return Response.json({"error": "unsupported_grant_type",
                                  "error_description": "AADSTS70003: grant_type not supported"}, 400)
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return Response.json({"error": "invalid_client",
                                  "error_description": "AADSTS7000215: Invalid client secret provided."}, 401)
        token = "eyJ0eXAiOiJKV1QiLCJ" + secrets.token_urlsafe(24)
        tokens.add(token)
        return Response.json({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                              "access_token": token})

    app.add_route("GET|POST", r"/(?P<instance>[^/]+)/WS/(?P<company>[^/]+)/Page/(?P<page>[^/]+)", page_route, "page")
    app.add_route("POST", r"/(?P<tenant_id>[^/]+)/oauth2/v2\.0/token", token_route, "token")
    server = SandboxServer(app, port=port, tls=tls).start()
    base = server.base_url
    urls = {name: f"{base}/{instance}/WS/{quote(company)}/Page/{name}" for name in pages}
    first = next(iter(urls))
    cfg: dict[str, Any] = {"pages": [{"wsdl": urls[n] + "?wsdl", "address": urls[n], **extras.get(n, {})}
                                     for n in urls]}
    env: dict[str, str]
    if auth == "basic":
        cfg["auth"] = {"kind": "basic", "username": user, "password": "${NAV_PASSWORD}"}
        env, creds = {"NAV_PASSWORD": password}, {"username": user, "password": password}
    else:
        cfg["auth"] = {"kind": "oauth", "token_url": f"{base}/{tenant}/oauth2/v2.0/token", "client_id": client_id,
                       "client_secret": "${NAV_CLIENT_SECRET}", "scope": "https://api.businesscentral.dynamics.com/.default"}
        env, creds = {"NAV_CLIENT_SECRET": client_secret}, {"client_id": client_id, "client_secret": client_secret}
    if server.ca_file:
        cfg["ca_file"] = server.ca_file
    return RunningSandbox(connector="soap_erp", server=server, app=app, credentials=creds, connector_config=cfg,
                          env=env, state=stores[first],  # the first page (Customer by default); all: handles
                          extra={"pages": urls}, handles={"control": control, "stores": stores})


def _load_page(path: str, opmap: Any, transport: zeep.Transport, known: bool = True,
               more: tuple[tuple[str, str], ...] = ()) -> tuple[bytes, zeep.Client, Any]:
    """Load and describe one page WSDL; anything wrong with the file is a ConfigError naming it.

    With ``known``, a page that has a bundled operation map (SalesOrder, Item: ``opmap.PAGE_MAPS``) uses it;
    ``more`` adds fields to the page's record type (the Customer page's ``Concord_Id``)."""
    raw = load_wsdl_bytes(path, transport)
    try:
        if more:
            raw = add_fields(raw, "Customer", more)
        client = build_client(raw, path, transport)
        rtype = record_type_of(client, opmap) if known else None
        if rtype in PAGE_MAPS:
            opmap = load_operation_map(PAGE_MAPS[rtype])
        return raw, client, describe_page(client, raw, adapt_operation_map(client, opmap))
    except ConfigError as exc:
        raise ConfigError(f"WSDL {path}: {exc.message}") from None
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise ConfigError(f"WSDL {path}: refused unsafe XML ({type(exc).__name__}); DTDs, entity declarations "
                          f"and external references are forbidden") from None
    except (zeep.exceptions.Error, etree.LxmlError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise ConfigError(f"WSDL {path}: not a page-style WSDL the sandbox can serve: "
                          f"{type(exc).__name__}: {exc}") from None


def _page_name(client: zeep.Client, record_type: str) -> str:
    for svc in client.wsdl.services.values():
        if svc.name.endswith("_Service"):
            return svc.name[: -len("_Service")]
    return record_type


def _with_address(raw: bytes, url: str) -> bytes:
    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    for addr in root.iter(f"{{{WSDL_SOAP}}}address"):
        addr.set("location", url)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _render_fault(kind: str, req: Request, faults: FaultInjector) -> Response:
    retry = str(max(1, int(round(faults.config.retry_after + 0.499))))
    if kind == "429":
        return Response.text("Too many requests. Please retry after the time specified in the Retry-After header.",
                             429, headers={"Retry-After": retry})
    if kind == "503":
        return Response.text("<html><body><h1>Service Unavailable</h1><p>HTTP Error 503. The service is unavailable."
                             "</p></body></html>", 503, "text/html; charset=us-ascii", {"Retry-After": retry})
    return fault_response("System.ServiceModel.ServerTooBusyException",
                          "The server is temporarily unavailable and cannot process the request. Try again later.")
