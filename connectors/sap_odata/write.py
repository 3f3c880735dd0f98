"""Writes through pyodata's ``$batch``: one change per changeset, so one failure does not sink its neighbours.

- create: ``POST Set`` (deep insert when the fields hold an expanded navigation, e.g. ``to_Item``);
- update: ``PATCH Set(key)`` with ``If-Match`` from the change's ETag, or the current one read first
  (one ``$batch`` of GETs for all such keys); a 412 re-reads the record and returns StaleRecordError
  carrying the current record and ETag, so the planner re-plans instead of overwriting;
- delete: ``DELETE Set(key)`` with ``If-Match``.
Fields are checked against ``$metadata`` (existence, creatable/updatable) before anything is sent.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from pyodata.exceptions import HttpError, PyODataException
from pyodata.v2.service import BatchRequest, EntityKey, ODataHttpResponse

from concord.connectors.sap_odata.edmx import EntityType, Property, ServiceModel
from concord.connectors.sap_odata.filter import key_predicate
from concord.connectors.sap_odata.gwerror import error_for
from concord.connectors.sap_odata.read import to_record
from concord.connectors.sap_odata.wire import UTC
from concord.hub.contracts import Change, WriteResult
from concord.hub.errors import HubError, RecordError, StaleRecordError, TransientError


def _value(p: Property, v: Any, record_id: str | None) -> Any:
    """A canonical-ish value (ISO strings, decimals as strings) as what pyodata's to_json expects."""
    if v is None:
        return None
    try:
        if p.type in ("Edm.DateTime", "Edm.DateTimeOffset"):
            if isinstance(v, str):
                v = dt.datetime.fromisoformat(v.replace("Z", "+00:00")) if "T" in v or " " in v else dt.date.fromisoformat(v)
            if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                v = dt.datetime(v.year, v.month, v.day)
            return v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)
        if p.type in ("Edm.Decimal", "Edm.Int64"):
            d = Decimal(str(v))
            if p.scale is not None and p.type == "Edm.Decimal":
                d = d.quantize(Decimal(1).scaleb(-p.scale))
            return str(d) if p.type == "Edm.Decimal" else str(int(d))
        if p.type in ("Edm.Int16", "Edm.Int32", "Edm.Byte", "Edm.SByte"):
            return int(v)
        if p.type in ("Edm.Double", "Edm.Single"):
            return float(v)
        if p.type == "Edm.Boolean":
            if isinstance(v, str):
                return v.strip().lower() in ("true", "x", "1", "yes")
            return bool(v)
        if p.type == "Edm.String":
            s = str(v)
            if p.max_length and len(s) > p.max_length:
                raise RecordError(f"{p.name}: {len(s)} characters exceed the maximum length {p.max_length} of $metadata",
                                  record_id=record_id, field=p.name)
            return s
    except (ValueError, InvalidOperation, TypeError):
        raise RecordError(f"{p.name}: {v!r} is not a valid {p.type}", record_id=record_id, field=p.name) from None
    return v


def prepare_fields(model: ServiceModel, et: EntityType, fields: dict[str, Any], *, creating: bool,
                   record_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in fields.items():
        if name == "__metadata":
            continue
        p = et.properties.get(name)
        if p is not None:
            allowed = p.creatable if creating else (p.updatable and name not in et.keys)
            if not allowed:
                raise RecordError(f"{name} is not {'creatable' if creating else 'updatable'} according to $metadata",
                                  record_id=record_id, field=name)
            out[name] = _value(p, v, record_id)
            continue
        nav = et.navs.get(name)
        if nav is not None and creating:
            target = model.entity_types[nav.target]
            items = v.get("results", v) if isinstance(v, dict) and "results" in v else v
            if nav.many:
                if not isinstance(items, (list, tuple)):
                    raise RecordError(f"{name} must be a list of {target.name} for a deep insert", record_id=record_id,
                                      field=name)
                out[name] = [prepare_fields(model, target, dict(i), creating=True, record_id=record_id) for i in items]
            else:
                out[name] = prepare_fields(model, target, dict(items), creating=True, record_id=record_id)
            continue
        raise RecordError(f"{et.name} has no {'property' if nav is None else 'writable navigation'} {name!r}",
                          record_id=record_id, field=name)
    return out


def key_of(et: EntityType, source_id: str) -> dict[str, Any]:
    parts = source_id.split("|")
    if len(parts) != len(et.keys):
        raise RecordError(f"key {source_id!r} does not fit {et.name} key ({', '.join(et.keys)})", record_id=source_id)
    return dict(zip(et.keys, parts))


def key_path(et: EntityType, source_id: str) -> str:
    """``(...)`` for ``Set(...)``: each key value as the V2 literal of its type, percent-encoded (RecordError if
    a value does not fit its type)."""
    values = key_of(et, source_id)
    types = [et.properties[k].type for k in et.keys]
    try:
        return key_predicate(et.keys, types, [values[k] for k in et.keys])
    except ValueError as exc:
        raise RecordError(f"key {source_id!r} of {et.name}: {exc}", record_id=source_id) from None


class _LiteralKey(EntityKey):
    """An EntityKey whose text Concord formatted (pyodata's own formatting sends Edm.Decimal without ``M``,
    fails on Int/DateTime keys given as text, and leaves ``/`` unencoded). Used with ``encode_path=False``."""

    def __init__(self, entity_type: Any, text: str) -> None:  # noqa: D107 - no super(): no pyodata key parsing
        self._entity_type = entity_type
        self._key = entity_type.key_proprties
        self._proprties: dict[str, Any] = {}
        self._type = EntityKey.TYPE_COMPLEX
        self._text = text

    def to_key_string_without_parentheses(self) -> str:
        return self._text[1:-1]

    def to_key_string(self) -> str:
        return self._text


class BatchWriter:
    """Writes one chunk of changes in one ``$batch`` (plus one for missing ETags, and re-reads on 412)."""

    def __init__(self, service: Any, model: ServiceModel, set_name: str, system: str) -> None:
        self.service, self.model, self.set_name, self.system = service, model, set_name, system
        self.es = getattr(service.entity_sets, set_name)
        self.et = model.type_of(set_name)
        self.needs_etag = self.et.concurrency_property is not None or "ETag" in self.et.properties

    def _ekey(self, source_id: str) -> EntityKey:
        schema_type = self.es._entity_set.entity_type  # noqa: SLF001 - pyodata keeps the model here
        return _LiteralKey(schema_type, key_path(self.et, source_id))

    def _send(self, requests_: list[Any]) -> list[ODataHttpResponse | str]:
        """One $batch: each request in its own changeset (or bare for GETs). Returns responses in order."""
        def handler(batch: Any, parts: list[Any]) -> list[Any]:
            out = []
            for part in parts:
                raw = part[0][0] if isinstance(part[0], list) else part[0]
                out.append(ODataHttpResponse.from_string(raw))
            return out

        batch = BatchRequest(self.service.url, self.service.connection, handler)
        for req in requests_:
            if req.get_method() == "GET":
                batch.add_request(req)
            else:
                cs = self.service.create_changeset()
                cs.add_request(req)
                batch.add_request(cs)
        return batch.execute()

    def current(self, source_ids: list[str]) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
        """ETag and record of each key, read in one $batch of GETs."""
        if not source_ids:
            return {}
        out: dict[str, tuple[str | None, dict[str, Any] | None]] = {}
        gets = []
        for sid in list(source_ids):
            try:
                gets.append(self.es.get_entity(self._ekey(sid), encode_path=False))
            except RecordError:
                out[sid] = (None, None)     # the change itself reports the bad key
        source_ids = [s for s in source_ids if s not in out]
        responses = self._send(gets) if gets else []
        for sid, resp in zip(source_ids, responses):
            if resp.status_code != 200:
                out[sid] = (None, None)
                continue
            from pyodata.v2.service import EntityProxy
            proxy = EntityProxy(self.service, self.es._entity_set, self.es._entity_set.entity_type,  # noqa: SLF001
                                resp.json()["d"], etag=resp.headers.get("etag") or resp.headers.get("ETag"))
            out[sid] = (proxy.etag, to_record(proxy))
        return out

    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(changes)
        planned: list[tuple[int, Any]] = []
        missing = [c.key for c in changes if c.op in ("update", "delete", "upsert") and c.key and not c.etag
                   and self.needs_etag]
        etags = {sid: e for sid, (e, _) in self.current([k for k in missing if k]).items()} if missing else {}
        for i, c in enumerate(changes):
            try:
                planned.append((i, self._request(c, etags)))
            except RecordError as exc:
                exc.system = self.system
                results[i] = WriteResult(change=c, ok=False, error=exc)
            except PyODataException as exc:
                results[i] = WriteResult(change=c, ok=False, error=RecordError(
                    f"SAP {self.set_name} {c.key or c.idempotency_key!r}: {exc}", record_id=c.key, system=self.system))
        if planned:
            try:
                responses = self._send([req for _, req in planned])
            except HttpError as exc:
                r = exc.response
                err = error_for(r.status_code, r.content, system=self.system, record_id=None, what="$batch")
                responses = [err] * len(planned)
            except requests.RequestException as exc:
                err = TransientError(f"SAP $batch failed: {type(exc).__name__}", system=self.system)
                responses = [err] * len(planned)
            stale: list[tuple[int, StaleRecordError]] = []
            for (i, _), resp in zip(planned, responses):
                results[i] = self._result(changes[i], resp)
                if isinstance(results[i].error, StaleRecordError) and changes[i].key:
                    stale.append((i, results[i].error))
            if stale:
                fresh = self.current([changes[i].key for i, _ in stale])
                for i, err in stale:
                    etag, record = fresh.get(changes[i].key, (None, None))
                    err.details.update({"current_etag": etag, "current": record})
        return [r for r in results if r is not None]

    def _request(self, c: Change, etags: dict[str, str | None]) -> Any:
        op = c.op
        if op == "upsert":
            op = "update" if c.key else "create"
        if op == "create":
            fields = prepare_fields(self.model, self.et, dict(c.fields), creating=True, record_id=None)
            return self.es.create_entity().set(**fields)
        if not c.key:
            raise RecordError(f"{op} of {self.set_name} needs the record's key", system=self.system)
        etag = c.etag or etags.get(c.key)
        if op == "update":
            fields = prepare_fields(self.model, self.et, dict(c.fields), creating=False, record_id=c.key)
            req = self.es.update_entity(self._ekey(c.key), encode_path=False).set(**fields)
        else:
            req = self.es.delete_entity(self._ekey(c.key), encode_path=False)
        if self.needs_etag:
            if not etag:
                raise RecordError(f"SAP {self.set_name} {c.key!r} not found (no ETag to send)", record_id=c.key,
                                  system=self.system)
            req.add_headers({"If-Match": etag})
        return req

    def _result(self, c: Change, resp: Any) -> WriteResult:
        if isinstance(resp, HubError):
            return WriteResult(change=c, ok=False, error=resp)
        status = resp.status_code
        if c.op in ("create",) or (c.op == "upsert" and not c.key):
            if status == 201:
                body = resp.json()["d"]
                target = "|".join(str(body.get(k)) for k in self.et.keys)
                return WriteResult(change=c, ok=True, target_id=target, created=True)
        elif status == 204:
            return WriteResult(change=c, ok=True, target_id=c.key, created=False)
        retry = resp.headers.get("Retry-After") or resp.headers.get("retry-after")
        return WriteResult(change=c, ok=False, error=error_for(
            status, resp.content, system=self.system, record_id=c.key or c.idempotency_key,
            retry_after=float(retry) if retry and retry.isdigit() else None, what=f"{c.op} of {self.set_name}"))
