"""The SOAP ERP connector: a WSDL, a service address and an operation map make an entity."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlparse

import zeep

from concord.connectors.soap_erp import navfilter
from concord.connectors.soap_erp.auth import build_auth
from concord.connectors.soap_erp.config import PageConfig, SoapErpConfig
from concord.connectors.soap_erp.faultmap import classify_exception
from concord.connectors.soap_erp import parts
from concord.connectors.soap_erp.opmap import PAGE_MAPS, load_operation_map
from concord.connectors.soap_erp.read import read_pages, unwrap_records
from concord.connectors.soap_erp.wsdl import PageModel, build_client, describe_page, load_wsdl_bytes, record_type_of
from concord.connectors.soap_erp.write import PageWriter
from concord.hub.contracts import (Change, ConnectorContext, Cursor, CursorSpec, EntitySpec, Page, WriteResult,
                           entity_by_name)
from concord.hub.errors import ConfigError, HubError
from concord.hub.http import HttpToolkit


@dataclass
class PageHandle:
    entity: str
    model: PageModel
    client: zeep.Client
    service: Any
    page_size: int
    external_id: str | None = None
    create_defaults: dict[str, Any] | None = None

    def call(self, op: str, params: dict[str, Any]) -> Any:
        return getattr(self.service, op)(**params)


class SoapErpConnector:
    """Reads and writes any page-style SOAP service described by a WSDL and an operation map."""

    name: ClassVar[str] = "soap_erp"
    Config: ClassVar[type[SoapErpConfig]] = SoapErpConfig

    def __init__(self, config: SoapErpConfig, context: ConnectorContext) -> None:
        self.config, self.context = config, context
        self.system = context.system
        self.http = context.http or HttpToolkit()
        verify: bool | str = self._path(config.ca_file) if config.ca_file else True
        auth = build_auth(config.auth, self.http, self.system, verify)
        session = self.http.session(self.system, auth=auth, verify=verify, rate_per_second=config.rate_limit,
                                    safe_posts=_soap_read)
        session.headers["Accept-Encoding"] = "gzip, deflate"
        self.transport = zeep.Transport(session=session, cache=None, timeout=config.timeout,
                                        operation_timeout=config.timeout)
        self._pages: dict[str, PageHandle] | None = None
        self._lock = threading.Lock()

    # ---- metadata ----------------------------------------------------------------------------
    def _path(self, p: str) -> str:
        if urlparse(p).scheme in ("http", "https", "file"):
            return p
        return p if os.path.isabs(p) else os.path.join(self.context.base_dir, p)

    def _load_page(self, pc: PageConfig) -> PageHandle:
        opmap = load_operation_map(self._path(pc.operation_map) if pc.operation_map else None)
        location = self._path(pc.wsdl)
        try:
            raw = load_wsdl_bytes(location, self.transport)
            client = build_client(raw, location, self.transport)
            if not pc.operation_map:     # a known NAV page (SalesOrder, Item) gets its bundled operation map
                rtype = record_type_of(client, opmap)
                if rtype in PAGE_MAPS:
                    opmap = load_operation_map(PAGE_MAPS[rtype])
            model = describe_page(client, raw, opmap, pc.binding)
        except Exception as exc:
            raise classify_exception(exc, opmap.faults, system=self.system, what=f"load WSDL {location}") from None
        address = pc.address or model.address
        if not address:
            raise ConfigError(f"{location}: the WSDL has no service address; set `address` in the page config")
        service = client.create_service(model.binding, address)
        ext = pc.external_id_field
        if ext and ext not in {f.name for f in model.field_specs()}:
            raise ConfigError(f"{location}: external_id_field {ext!r} is not a field of the page "
                              f"{model.record_type}", key="external_id_field")
        _check_defaults(pc, model, location)
        return PageHandle(pc.entity or model.record_type, model, client, service,
                          pc.page_size or opmap.paging.page_size, ext, dict(pc.create_defaults))

    def _handles(self) -> dict[str, PageHandle]:
        with self._lock:
            if self._pages is None:
                pages = {}
                for pc in self.config.pages:
                    h = self._load_page(pc)
                    if h.entity in pages:
                        raise ConfigError(f"two pages are named {h.entity!r}; set `entity` on one of them")
                    pages[h.entity] = h
                self._pages = pages
            return self._pages

    def _handle(self, entity: str) -> PageHandle:
        handles = self._handles()
        if entity not in handles:
            entity_by_name(self, entity)  # raises ConfigError listing the known entities
        return handles[entity]

    def entities(self) -> Sequence[EntitySpec]:
        out = []
        for h in self._handles().values():
            om = h.model.opmap
            caps = {"read"}
            ops = om.operations
            if om.change_date:
                caps.add("incremental")
            if ops.create or ops.create_many:
                caps.add("create")
            if ops.update or ops.update_many:
                caps.add("update")
            if ops.delete:
                caps.add("delete")
            if ops.create_many or ops.update_many:
                caps.add("bulk")
            cursor = None
            pk = h.model.primary_key
            if om.change_date:
                cursor = CursorSpec(field=om.change_date.field, tiebreak=pk[0], kind=om.change_date.kind,
                                    lookback_seconds=om.change_date.overlap_days * 86400.0)
            out.append(EntitySpec(name=h.entity, primary_key=pk, cursor=cursor, external_id_field=h.external_id,
                                  capabilities=frozenset(caps), max_batch=om.writes.max_batch,
                                  fields=h.model.field_specs(), label=h.model.record_type))
        return out

    # ---- the four verbs ----------------------------------------------------------------------
    def check(self) -> None:
        """Load every WSDL and read one record of every page (auth, address and operation map)."""
        for h in self._handles().values():
            p = h.model.opmap.paging
            params = {p.filter_param: [{p.filter_field: h.model.key.names[0], p.filter_criteria: ""}],
                      p.size_param: 1}
            self._call(h, h.model.opmap.operations.list, params, what=f"check {h.entity}")

    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        h = self._handle(entity)
        om = h.model.opmap

        def call_list(params: dict[str, Any]) -> Any:
            return self._call(h, om.operations.list, params, what=f"{om.operations.list} {entity}")

        with self.http.ledger.stream(entity):
            for page in read_pages(entity, om, call_list, h.model.record_param, h.page_size, since, h.model.key,
                                   h.model.source_id_field):
                if (h.model.parts or h.model.opmap.rollups) and page.records:
                    for r in page.records:
                        parts.on_read(r, h.model)
                yield page

    def read_record(self, entity: str, source_id: str) -> dict[str, Any] | None:
        """One record by its source id with the ``read`` operation (NAV: Read with each key field), or None.

        A composite source id is decoded (:mod:`concord.connectors.soap_erp.keys`) into typed key values."""
        h = self._handle(entity)
        om = h.model.opmap
        if not om.operations.read:
            raise ConfigError(f"{entity}: the operation map has no `read` operation")
        params = h.model.key.decode(source_id)
        with self.http.ledger.stream(entity):
            result = self._call(h, om.operations.read, params, what=f"{om.operations.read} {entity} {source_id}")
        rows = unwrap_records(result, h.model.record_param)
        if not rows:
            return None
        row = parts.on_read(rows[0], h.model) if h.model.parts or h.model.opmap.rollups else rows[0]
        if h.model.source_id_field:
            row[h.model.source_id_field] = h.model.key.source_id(row)
        return row

    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The source id of the record whose ``external_id_field`` holds Concord's id, else None.

        One ReadMultiple with the filter ``<field> = <id>`` (NAV filter syntax, the value quoted by
        :func:`navfilter.quote`). Push asks before it re-sends a create whose answer was lost. A page
        without ``external_id_field`` cannot be looked up: None (a create there is not idempotent).
        """
        h = self._handle(entity)
        if not h.external_id or not golden_id:
            return None
        om = h.model.opmap
        p = om.paging
        params = {p.filter_param: [{p.filter_field: h.external_id, p.filter_criteria: navfilter.quote(str(golden_id))}],
                  p.size_param: 2}
        with self.http.ledger.stream(entity):
            result = self._call(h, om.operations.list, params, what=f"{om.operations.list} {entity} by {h.external_id}")
        for row in unwrap_records(result, h.model.record_param):
            if str(row.get(h.external_id) or "") == str(golden_id):   # exact, whatever the filter's collation
                return h.model.key.source_id(row)
        return None

    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        h = self._handle(entity)
        if not changes:
            return []
        changes = [_for_create(c, h) if c.op == "create" else c for c in changes]
        with self.http.ledger.stream(entity):
            return PageWriter(entity, h.model, h.call, self.system).write(changes)

    def _call(self, h: PageHandle, op: str, params: dict[str, Any], *, what: str) -> Any:
        try:
            return h.call(op, params)
        except HubError:
            raise
        except Exception as exc:
            raise classify_exception(exc, h.model.opmap.faults, system=self.system, what=what) from None


def _for_create(c: Change, h: PageHandle) -> Change:
    """A create with the page's ``create_defaults`` where it leaves a field empty, and Concord's id in the
    ``external_id_field`` (so that lookup() finds a create whose answer was lost)."""
    fields = dict(c.fields)
    for name, value in (h.create_defaults or {}).items():
        if fields.get(name) in (None, ""):
            fields[name] = value
    if h.external_id and c.golden_id and fields.get(h.external_id) in (None, ""):
        fields[h.external_id] = c.golden_id
    return c if fields == c.fields else c.model_copy(update={"fields": fields})


def _check_defaults(pc: PageConfig, model: PageModel, location: str) -> None:
    """Every ``create_defaults`` field is a writable, non-key field of the page."""
    om = model.opmap
    for name in pc.create_defaults:
        if name not in model.fields:
            raise ConfigError(f"{location}: create_defaults names {name!r}, which is not a field of the page "
                              f"{model.record_type}", key="create_defaults")
        if name in om.fields.read_only or name == om.fields.version_key or name in model.key.names:
            raise ConfigError(f"{location}: create_defaults names {name!r}, a read-only or key field of the page "
                              f"{model.record_type}", key="create_defaults")


def _soap_read(request: Any) -> bool:
    """NAV's Read, ReadMultiple and ReadByRecId only read: a lost answer may be asked for again."""
    action = str(request.headers.get("SOAPAction", "")).strip('"')
    return action.rsplit(":", 1)[-1].rsplit("/", 1)[-1] in ("Read", "ReadMultiple", "ReadByRecId")

