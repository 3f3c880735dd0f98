"""The Salesforce connector: describe-driven entities, SOQL reads, collection/bulk writes."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sfx

from concord.hub.contracts import Change, ConnectorContext, Cursor, EntitySpec, Page, WriteResult, entity_by_name
from concord.hub.errors import AuthError, ConfigError, HubError, TransientError
from concord.hub.http import HttpToolkit
from concord.connectors.salesforce import metadata, read
from concord.connectors.salesforce.auth import SalesforceOAuth
from concord.connectors.salesforce.bulk_write import bulk_write
from concord.connectors.salesforce.config import SalesforceConfig
from concord.connectors.salesforce.lines import PARENTS as LINE_PARENTS
from concord.connectors.salesforce.lines import Lines
from concord.connectors.salesforce.lines import split as split_lines
from concord.connectors.salesforce.pricebook import StandardPrices, split
from concord.connectors.salesforce.write import CollectionWriter

log = logging.getLogger("concord.salesforce")


class SalesforceConnector:
    name: ClassVar[str] = "salesforce"
    Config: ClassVar[type[SalesforceConfig]] = SalesforceConfig

    def __init__(self, config: SalesforceConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext(system="salesforce")
        self.http: HttpToolkit = self.context.http or HttpToolkit()
        verify: bool | str = config.ca_file or True
        login_session = self.http.session(self.context.system, verify=verify, safe_posts=True)  # OAuth token requests
        self.auth = SalesforceOAuth(config, login_session, self.context.base_dir)
        self.session = self.http.session(self.context.system, auth=self.auth, verify=verify,
                                         rate_per_second=config.rate_limit, observers=[self._limit_info])
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self._describes: dict[str, dict[str, Any]] = {}
        self._specs: list[EntitySpec] | None = None
        self._prices: StandardPrices | None = None

    # ---- plumbing ---------------------------------------------------------------------------
    def _limit_info(self, response: requests.Response) -> None:
        info = response.headers.get("Sforce-Limit-Info") or ""
        for part in info.split(";"):
            key, _, value = part.strip().partition("=")
            if key == "api-usage" and "/" in value:
                used, _, maximum = value.partition("/")
                try:
                    self.http.ledger.observe_vendor_usage(self.context.system, int(used), int(maximum))
                except ValueError:
                    pass

    @property
    def sf(self) -> Salesforce:
        with self._lock:
            if self._sf is None:
                token = self.auth.token                     # runs the OAuth flow, learns instance_url
                sf = Salesforce(instance_url=self.auth.instance_url, session_id=token, session=self.session,
                                version=self.config.api_version)
                # The hub session re-authenticates on INVALID_SESSION_ID (once); simple-salesforce's own
                # re-login would try a SOAP login with no credentials, so it is switched off.
                sf._salesforce_login_partial = None
                self._sf = sf
            return self._sf

    def _guard(self, what: str, exc: BaseException) -> HubError:
        if isinstance(exc, HubError):
            return exc
        if isinstance(exc, sfx.SalesforceExpiredSession):
            return AuthError(f"salesforce refused the session during {what} (INVALID_SESSION_ID after a fresh login)",
                             system="salesforce")
        if isinstance(exc, sfx.SalesforceError):
            body = exc.content if isinstance(exc.content, list) else []
            first = body[0] if body and isinstance(body[0], dict) else {}
            code, msg = first.get("errorCode", str(exc.status)), first.get("message", "")
            if exc.status in (429, 500, 502, 503, 504) or code == "REQUEST_LIMIT_EXCEEDED":
                return TransientError(f"salesforce {what}: {exc.status} {code}: {msg}", code=code, system="salesforce")
            if exc.status == 403:
                return AuthError(f"salesforce {what}: {code}: {msg}", code=code, system="salesforce")
            return ConfigError(f"salesforce {what}: {code}: {msg.strip()}", code=code)
        if isinstance(exc, requests.RequestException):
            return TransientError(f"salesforce {what}: {type(exc).__name__}", system="salesforce")
        raise exc

    # ---- metadata ---------------------------------------------------------------------------
    def describe(self, sobject: str) -> dict[str, Any]:
        if sobject not in self._describes:
            try:
                self._describes[sobject] = dict(getattr(self.sf, sobject).describe())
            except Exception as exc:  # noqa: BLE001 - mapped to the taxonomy
                raise self._guard(f"describe {sobject}", exc) from None
        return self._describes[sobject]

    def _extras(self, sobject: str) -> tuple[str, ...]:
        rels = self.config.relationships if self.config.relationships is not None else metadata.DEFAULT_RELATIONSHIPS
        return tuple(rels.get(sobject, ()))

    def entities(self) -> Sequence[EntitySpec]:
        if self._specs is None:
            names = list(metadata.STANDARD_OBJECTS) + [o for o in self.config.custom_objects
                                                       if o not in metadata.STANDARD_OBJECTS]
            specs = []
            for name in names:
                try:
                    self.describe(name)
                except ConfigError:
                    if name in self.config.custom_objects:
                        raise ConfigError(f"salesforce: custom object {name} is not in this org (describe failed)",
                                          key="custom_objects") from None
                    log.warning("salesforce: %s is not available in this org; skipped", name)
            for name in names:
                if name in self._describes:
                    specs.append(metadata.entity_spec(self._describes[name], self._describes,
                                                      ext_field=self.config.ext_field(name),
                                                      extras=self._valid_extras(name),
                                                      lookback=self.config.lookback_seconds))
            self._specs = specs
        return self._specs

    def _valid_extras(self, name: str) -> tuple[str, ...]:
        """The configured relationship fields/subqueries that this org's describes can resolve."""
        obj = self._describes[name]
        out = []
        for item in self._extras(name):
            if metadata.parse_subquery(item) is not None:
                spec = metadata.entity_spec(obj, self._describes, ext_field="", extras=(item,), lookback=0)
                if len(spec.fields or ()) > len(obj["fields"]):
                    out.append(item)
            elif metadata._path_spec(item, self._describes, obj) is not None:
                out.append(item)
        return tuple(out)

    def check(self) -> None:
        try:
            self.sf.restful("limits/")
        except Exception as exc:  # noqa: BLE001
            raise self._guard("check", exc) from None

    # ---- read -------------------------------------------------------------------------------
    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        for page in self._read(entity, since=since):
            for rec in page.records:
                _number_lines(rec)
            yield page

    def _read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        spec = entity_by_name(self, entity)
        obj = self.describe(spec.name)
        extras = self._valid_extras(spec.name)
        select = metadata.select_list(obj, extras)
        cfg = self.config
        try:
            if since is None:
                yield from self._full_read(spec, obj, select, extras)
                return
            soql = read.build_soql(spec.name, select, since=since, lookback=cfg.lookback_seconds)
            now = self.context.utcnow()
            start = read.parse_sf_datetime(since.value) - dt.timedelta(seconds=cfg.lookback_seconds)
            if cfg.deletes == "query_all" and start < now - dt.timedelta(days=cfg.delete_retention_days):
                # queryAll sees the Recycle Bin only; an old cursor in a quiet org is normal, so warn, not refuse.
                log.warning("salesforce %s: cursor %s is older than the %g-day Recycle Bin; hard-deleted rows since "
                            "then are only found by a full read", spec.name, since.value, cfg.delete_retention_days)
            last: Cursor | None = since
            for page in read.RestPaginator(self.sf, spec.name, soql, include_deleted=cfg.deletes == "query_all",
                                           page_size=cfg.page_size, full=False).pages():
                last = page.checkpoint or last
                yield page
            if cfg.deletes == "get_deleted":
                yield from read.DeletedPaginator(self.sf, spec.name, start, now, cfg.delete_retention_days,
                                                 last).pages()
        except (sfx.SalesforceError, requests.RequestException) as exc:
            raise self._guard(f"read {entity}", exc) from None

    def _full_read(self, spec: EntitySpec, obj: dict[str, Any], select: list[str],
                   extras: tuple[str, ...]) -> Iterator[Page]:
        cfg = self.config
        soql = read.build_soql(spec.name, select, since=None, lookback=0)
        nested = any(metadata.parse_subquery(e) for e in extras)
        if cfg.bulk_read_threshold is not None and not nested:
            total = self.sf.query(f"SELECT COUNT() FROM {spec.name}")["totalSize"]
            if total >= cfg.bulk_read_threshold:
                log.info("salesforce %s: %d rows, full read through a Bulk API 2.0 query job", spec.name, total)
                parents = {}
                for e in extras:
                    path_spec = metadata._path_spec(e, self._describes, obj)
                    leaf = path_spec
                    while leaf is not None and leaf.children:
                        leaf = leaf.children[0]
                    if leaf is not None:
                        parents[e] = {"decimal": "double", "integer": "int", "boolean": "boolean"}.get(leaf.type)
                yield from read.BulkPaginator(self.sf, spec.name, soql, obj, page_size=cfg.bulk_page_size,
                                              poll_seconds=cfg.bulk_poll_seconds, parents=parents).pages()
                return
        yield from read.RestPaginator(self.sf, spec.name, soql, include_deleted=False, page_size=cfg.page_size,
                                      full=True).pages()

    # ---- idempotent create ----------------------------------------------------------------
    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The Id of the record whose external id field (``Concord_Id__c``) holds Concord's id, else None.

        One SOQL query, ``SELECT Id, Concord_Id__c FROM X WHERE Concord_Id__c = '...' ORDER BY CreatedDate, Id LIMIT 2``.
        Push asks before it re-sends a create whose answer was lost. Upserts (``PATCH`` by external id) are
        idempotent on their own; this covers plain creates. An object without an external id field
        cannot be looked up: None (a create there is not idempotent).
        """
        spec = entity_by_name(self, entity)
        ext = spec.external_id_field
        if not ext or not golden_id:
            return None
        soql = (f"SELECT Id, {ext} FROM {spec.name} WHERE {ext} = {read.quote(str(golden_id))} "
                f"ORDER BY CreatedDate ASC, Id ASC LIMIT 2")
        try:
            rows = [r for r in self.sf.query(soql).get("records") or []
                    if str(r.get(ext)) == str(golden_id)]    # SOQL compares text case-insensitively
        except (sfx.SalesforceError, requests.RequestException) as exc:
            raise self._guard(f"lookup {entity}", exc) from None
        if len(rows) > 1:
            log.warning("salesforce %s: %d records share %s=%s; linking the oldest", spec.name, len(rows), ext,
                        golden_id)
        return str(rows[0]["Id"]) if rows else None

    # ---- write ------------------------------------------------------------------------------
    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        spec = entity_by_name(self, entity)
        if spec.name in LINE_PARENTS:
            parts = [split_lines(spec.name, c) for c in changes]
            lines = {i: rows for i, (_, rows) in enumerate(parts) if rows is not None}
            if lines:
                if self._prices is None:
                    self._prices = StandardPrices(self.sf)
                heads = [c for c, _ in parts]
                if spec.name == "Order":   # an Order's lines need its price book: the standard one unless named
                    book = self._prices.standard_pricebook()
                    heads = [c.model_copy(update={"fields": {"Pricebook2Id": book, **c.fields}})
                             if i in lines and c.op in ("create", "upsert") else c for i, c in enumerate(heads)]
                return Lines(self.sf, self._prices).apply(spec.name, self._write(spec, heads), lines, changes)
        if spec.name == "Product2":
            parts = [split(c) for c in changes]
            entries = {i: e for i, (_, e) in enumerate(parts) if e is not None}
            if entries:
                done = self._write(spec, [c for c, _ in parts])
                if self._prices is None:
                    self._prices = StandardPrices(self.sf)
                return self._prices.apply(done, entries, changes)
        return self._write(spec, changes)

    def _write(self, spec: EntitySpec, changes: Sequence[Change]) -> list[WriteResult]:
        ext = spec.external_id_field
        writer = CollectionWriter(self.sf, spec, ext)
        results: dict[int, WriteResult] = {}
        for op in ("upsert", "create", "update", "delete"):
            idx = [i for i, c in enumerate(changes) if c.op == op]
            if not idx:
                continue
            group = [changes[i] for i in idx]
            threshold = self.config.bulk_write_threshold
            keyed = all(c.key for c in group) if op in ("update", "delete") else bool(ext) and all(
                c.golden_id for c in group)
            if threshold is not None and len(group) > threshold and keyed:
                done = bulk_write(self.sf, spec, op, group, ext_field=ext, poll_seconds=self.config.bulk_poll_seconds)
            else:
                done = getattr(writer, op)(group)
            results.update(zip(idx, done))
        return [results[i] for i in range(len(changes))]


def _number_lines(rec: Any) -> None:
    """Opportunity products: ``SortOrder`` is empty until a user sorts them in the UI (the API never sets it), so
    lines without one are numbered by their position (the subquery orders by SortOrder, CreatedDate, Id)."""
    lines = rec.get("OpportunityLineItems") if isinstance(rec, dict) else None
    rows = lines.get("records") if isinstance(lines, dict) else None
    if isinstance(rows, list) and any(isinstance(r, dict) and r.get("SortOrder") is None for r in rows):
        for n, r in enumerate(rows, 1):
            if isinstance(r, dict):
                r["SortOrder"] = n
