"""The SAP S/4HANA OData V2 connector: generic over any V2 service, driven by its ``$metadata``."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pyodata
import requests
from pyodata.v2.model import Config as PyODataConfig

from concord.connectors.sap_odata.auth import SapAuth, client_credentials_fetcher
from concord.connectors.sap_odata.config import SapODataConfig
from concord.connectors.sap_odata.customer import BP_SET, bp_change
from concord.connectors.sap_odata.edmx import ServiceModel, load_model
from concord.connectors.sap_odata.gwerror import error_for
from concord.connectors.sap_odata.metadata import cursor_plan, entity_spec
from concord.connectors.sap_odata.filter import literal
from concord.connectors.sap_odata.read import ReadPlan, ServerPager, read_keys, read_pages
from concord.connectors.sap_odata.receivables import BILLING_SET, receivable_field, with_receivable
from concord.connectors.sap_odata.stock import STOCK_SET, stock_field, with_stock
from concord.connectors.sap_odata.write import BatchWriter
from concord.hub.contracts import Change, ConnectorContext, Cursor, EntitySpec, Page, WriteResult, entity_by_name
from concord.hub.errors import AuthError, ConfigError, HubError, TransientError
from concord.hub.http import BasicAuth, BearerAuth, HttpToolkit

log = logging.getLogger("concord.sap_odata")
for _name in ("pyodata.model", "pyodata.service", "pyodata.client"):
    logging.getLogger(_name).setLevel(logging.ERROR)   # S/4 annotations log "Unsupported Annotation" per term


class _Service:
    """One OData service: its model (ours, for specs) and its pyodata client, built lazily and cached."""

    def __init__(self, url: str, metadata: bytes, model: ServiceModel, client: Any) -> None:
        self.url, self.metadata, self.model, self.client = url, metadata, model, client


class SapODataConnector:
    name: ClassVar[str] = "sap_odata"
    Config: ClassVar[type[SapODataConfig]] = SapODataConfig

    def __init__(self, config: SapODataConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext(system="sap_odata")
        self.toolkit: HttpToolkit = self.context.http or HttpToolkit()
        self.system = self.context.system
        verify: bool | str = self._path(config.ca_file) if config.ca_file else True
        self.auth = SapAuth(self._base_auth(verify), config.service_urls, config.sap_client)
        self.session = self.toolkit.session(self.system, auth=self.auth, verify=verify,
                                            rate_per_second=config.rate_limit)
        self.auth.session = self.session
        self._services: list[_Service] | None = None
        self._specs: dict[str, EntitySpec] | None = None
        self._lock = threading.Lock()

    def _path(self, p: str) -> str:
        path = Path(p)
        return str(path if path.is_absolute() else Path(self.context.base_dir) / path)

    def _base_auth(self, verify: bool | str) -> Any:
        c = self.config
        if c.auth == "basic":
            assert c.user and c.password is not None
            return BasicAuth(c.user, c.password)
        if c.auth == "bearer":
            if c.token is not None:
                token = c.token.get_secret_value()
                return BearerAuth(lambda: token)
            assert c.token_url and c.client_id and c.client_secret is not None
            secret = c.client_secret.get_secret_value()
            return BearerAuth(client_credentials_fetcher(
                lambda: self.toolkit.session(self.system, verify=verify, secrets=[secret], safe_posts=True),
                c.token_url, c.client_id,
                secret))
        return None

    # ---- metadata ------------------------------------------------------------------------------
    def _fetch_metadata(self, i: int, url: str) -> bytes:
        files = self.config.metadata_files
        if i < len(files) and files[i]:
            try:
                return Path(self._path(files[i])).read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read metadata file {files[i]}: {exc.strerror}", key="metadata_files") from None
        try:
            resp = self.session.get(url + "$metadata", headers={"Accept": "application/xml"})
        except requests.RequestException as exc:
            raise TransientError(f"SAP $metadata of {url} unreachable: {type(exc).__name__}", system=self.system) from None
        if resp.status_code != 200:
            err = error_for(resp.status_code, resp.content, system=self.system, record_id=None, what="$metadata")
            if resp.status_code == 404:
                raise ConfigError(f"no OData service at {url}: {err.message}", key="service_url")
            raise err
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in ("application/xml", "application/atom+xml", "text/xml", "application/edmx+xml"):
            raise ConfigError(f"{url}$metadata answered {ctype or 'no content type'}, not XML: is this an OData V2 "
                              "service root?", key="service_url")
        return resp.content

    def services(self) -> list[_Service]:
        with self._lock:
            if self._services is None:
                out = []
                files = self.config.metadata_files
                for i, url in enumerate(self.config.service_urls):
                    raw = self._fetch_metadata(i, url)
                    # our hardened parser first: DTDs/entities, non-XML, non-EDMX and OData V4 are refused
                    # with a clear ConfigError before pyodata (which would fail obscurely) sees the document
                    if i < len(files) and files[i]:
                        model = load_model(raw, source=url, file=self._path(files[i]), key="metadata_files")
                    else:
                        model = load_model(raw, source=f"{url}$metadata", key="service_url")
                    try:
                        client = pyodata.Client(url, self.session, metadata=raw,
                                                config=PyODataConfig(retain_null=True))
                        out.append(_Service(url, raw, model, client))
                    except Exception as exc:  # noqa: BLE001 - pyodata raises many kinds on bad metadata
                        raise ConfigError(f"{url}$metadata could not be parsed: {type(exc).__name__}: {exc}",
                                          key="service_url") from None
                self._services = out
            return self._services

    def _service_of(self, entity: str) -> _Service:
        entity_by_name(self, entity)
        for svc in self.services():
            if entity in svc.model.entity_sets:
                return svc
        raise ConfigError(f"unknown entity {entity}")  # pragma: no cover - entity_by_name raised already

    # ---- contract ------------------------------------------------------------------------------
    def entities(self) -> Sequence[EntitySpec]:
        if self._specs is None:
            specs: dict[str, EntitySpec] = {}
            for svc in self.services():
                for set_name in svc.model.entity_sets:
                    if self.config.entity_sets and set_name not in self.config.entity_sets:
                        continue
                    if set_name in specs:
                        raise ConfigError(f"entity set {set_name} exists in two configured services", key="service_url")
                    spec = entity_spec(svc.model, set_name, batch_size=self.config.batch_size,
                                       lookback=self.config.lookback_seconds)
                    ext = self.config.external_id_fields.get(set_name)
                    if ext:
                        if ext not in svc.model.type_of(set_name).properties:
                            raise ConfigError(f"external_id_fields: {set_name} has no property {ext} in $metadata",
                                              key="external_id_fields")
                        spec = spec.model_copy(update={"external_id_field": ext})
                    if self._stock_for(set_name):
                        spec = spec.model_copy(update={"fields": (*(spec.fields or ()), stock_field())})
                    if set_name == BILLING_SET:
                        spec = spec.model_copy(update={"fields": (*(spec.fields or ()), receivable_field())})
                    specs[set_name] = spec
            self._specs = specs
        return list(self._specs.values())

    def check(self) -> None:
        """Fetch $metadata of every service and read one row; raises AuthError / ConfigError."""
        for svc in self.services():
            first = next(iter(svc.model.entity_sets), None)
            if first is None:
                continue
            resp = self.session.get(svc.url + first, params={"$top": "1", "$format": "json"},
                                    headers={"Accept": "application/json"})
            if resp.status_code >= 400:
                err = error_for(resp.status_code, resp.content, system=self.system, record_id=None, what="check")
                if isinstance(err, (AuthError, ConfigError)):
                    raise err
                if resp.status_code not in (403, 405):
                    raise err

    def _plan(self, entity: str) -> tuple[_Service, ReadPlan]:
        svc = self._service_of(entity)
        et = svc.model.type_of(entity)
        expand = tuple(n for n in self.config.expand.get(entity, ()) if svc.model.has_nav_path(et, n))
        flag = self.config.deletion_flags.get(entity)
        flag = flag if flag in et.properties else None
        return svc, ReadPlan(entity=entity, etype=et, cursor=cursor_plan(et), expand=expand, deletion_flag=flag,
                             page_size=self.config.page_size, lookback=self.config.lookback_seconds,
                             system=self.system)

    def _stock_for(self, entity: str) -> str | None:
        """The material property of a set whose records get stock, when a configured service serves the stock."""
        field = self.config.stock.get(entity)
        if not field:
            return None
        if not any(STOCK_SET in s.model.entity_sets for s in self.services()):
            return None
        svc = next((s for s in self.services() if entity in s.model.entity_sets), None)
        return field if svc is not None and field in svc.model.type_of(entity).properties else None

    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        svc, plan = self._plan(entity)
        es = getattr(svc.client.entity_sets, entity)
        with self.toolkit.ledger.stream(entity):
            pages = read_pages(es, plan, since)
            material = self._stock_for(entity)
            if material:
                stock_svc = next(s for s in self.services() if STOCK_SET in s.model.entity_sets)
                pages = with_stock(pages, getattr(stock_svc.client.entity_sets, STOCK_SET), material,
                                   system=self.system, top=self.config.page_size,
                                   available_types=self.config.available_stock_types)
            if entity == BILLING_SET:
                pages = with_receivable(pages, self.config.payment_terms_net_days)
            yield from pages

    def keys(self, entity: str) -> Iterator[str]:
        """All source ids of an entity (``$select`` of the key): the periodic key reconciliation for deletes."""
        svc, plan = self._plan(entity)
        yield from read_keys(getattr(svc.client.entity_sets, entity), plan)

    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The source id of the row whose external id property holds Concord's id, else None.

        One ``GET Set?$filter=<prop> eq '<id>'&$select=<keys>&$top=2``. Push asks before it re-sends a create
        whose answer was lost. A set without ``external_id_fields`` cannot be looked up: None (a create there
        is not idempotent).
        """
        ext = self.config.external_id_fields.get(entity)
        if not ext or not golden_id:
            return None
        svc, plan = self._plan(entity)
        prop = plan.etype.properties.get(ext)
        if prop is None:
            raise ConfigError(f"external_id_fields: {entity} has no property {ext} in $metadata",
                              key="external_id_fields")
        try:
            flt = f"{ext} eq {literal(prop.type, str(golden_id))}"
        except ValueError:
            return None          # a golden id that is no valid value of the property was never written there
        keys = plan.etype.keys
        for rows in ServerPager(getattr(svc.client.entity_sets, entity), filter_=flt, orderby=",".join(keys), top=2,
                                skip=None, expand=(), system=self.system, select=tuple(dict.fromkeys((*keys, ext)))):
            for p in rows:
                if str(p._cache.get(ext)) == str(golden_id):         # noqa: SLF001 - as read_keys does
                    return "|".join(str(p._cache.get(k)) for k in keys)  # noqa: SLF001
            break
        return None

    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        ext = self.config.external_id_fields.get(entity)
        if ext:   # creates carry Concord's id, so that lookup() finds one whose answer was lost
            changes = [c.model_copy(update={"fields": {**c.fields, ext: c.golden_id}})
                       if c.op == "create" and c.golden_id and c.fields.get(ext) in (None, "") else c
                       for c in changes]
        svc = self._service_of(entity)
        defaults = {k: v for k, v in self.config.create_defaults.get(entity, {}).items()
                    if k in svc.model.type_of(entity).properties}
        if defaults:   # header fields the ERP needs that no canonical field carries (sales area, order type)
            changes = [c.model_copy(update={"fields": {**defaults, **{k: v for k, v in c.fields.items()
                                                                       if v not in (None, "") or k not in defaults}}})
                       if c.op == "create" or (c.op == "upsert" and not c.key) else c for c in changes]
        if entity == BP_SET:   # customers: roles, tax number, company code, sales area (customer.py)
            changes = [bp_change(c, self.config.customer_defaults, svc.model) for c in changes]
        writer = BatchWriter(svc.client, svc.model, entity, self.system)
        out: list[WriteResult] = []
        size = self.config.batch_size
        with self.toolkit.ledger.stream(entity):
            for start in range(0, len(changes), size):
                chunk = list(changes[start:start + size])
                try:
                    out.extend(writer.write(chunk))
                except HubError as exc:
                    out.extend(WriteResult(change=c, ok=False, error=exc) for c in chunk)
        return out
