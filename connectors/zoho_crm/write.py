"""Writes: insert ``POST /{module}``, update ``PUT /{module}``, upsert ``POST /{module}/upsert``
(``duplicate_check_fields``), delete ``DELETE /{module}?ids=``; 100 records per call.

Every ``data[i]`` of the answer is checked on its own (``status``/``code``), whatever the
HTTP status, so one bad record never fails its neighbours. A call that fails as a whole gives
every change of that call the same error. Results come back in the order of the changes.
"""
from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Sequence
from typing import Any

from concord.connectors.zoho_crm.client import ZohoApi
from concord.connectors.zoho_crm.config import ZohoCrmConfig
from concord.connectors.zoho_crm.vendor import SYSTEM, body_of, call_error, record_error
from concord.hub.contracts import Change, EntitySpec, WriteResult
from concord.hub.errors import FatalError, HubError, RecordError

BATCH = 100
REFERENCE_TYPES = {"lookup", "ownerlookup", "userlookup"}


def wire_value(value: Any, data_type: str | None) -> Any:
    """Canonical-ish Python values -> Zoho JSON (numbers, ISO dates, ``{"id"}`` lookups)."""
    if isinstance(value, decimal.Decimal):
        return int(value) if data_type in ("integer", "bigint") else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if data_type in REFERENCE_TYPES and isinstance(value, (str, int)):
        return {"id": str(value)}
    if isinstance(value, (list, tuple)):
        return [wire_value(v, None) for v in value]
    if isinstance(value, dict):
        return {k: wire_value(v, None) for k, v in value.items()}
    return value


def subject_for(templates: Sequence[str], rec: dict[str, Any]) -> str | None:
    """The first template whose ``{Field}`` placeholders all have a value in ``rec`` (a lookup by its name), filled
    in: the Subject Zoho requires on inventory records (config ``subjects``); at most 250 characters."""
    for template in templates:
        names = re.findall(r"\{([A-Za-z0-9_]+)\}", template)
        values = {}
        for name in names:
            v = rec.get(name)
            v = v.get("name") if isinstance(v, dict) else v
            if v in (None, ""):
                break
            values[name] = str(v)
        else:
            return re.sub(r"\{([A-Za-z0-9_]+)\}", lambda m: values[m.group(1)], template)[:250]
    return None


class ZohoWriter:
    def __init__(self, api: ZohoApi, config: ZohoCrmConfig) -> None:
        self.api, self.config = api, config

    def _record(self, change: Change, types: dict[str, str], external: str | None) -> dict[str, Any]:
        rec = {k: wire_value(v, types.get(k)) for k, v in change.fields.items()}
        if change.op in ("update", "upsert") and change.key:
            rec["id"] = change.key
        if change.op in ("create", "upsert") and external and change.golden_id and not rec.get(external):
            rec[external] = change.golden_id
        # only where the write may create the record: an upsert of a known record is an update, and a
        # template there would overwrite the Subject a user typed
        if (change.op == "create" or (change.op == "upsert" and not change.key)) and not rec.get("Subject"):
            subject = subject_for(self.config.subjects.get(change.entity, ()), rec)
            if subject:
                rec["Subject"] = subject
        return rec

    def write(self, spec: EntitySpec, changes: Sequence[Change], types: dict[str, str]) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(changes)
        by_op: dict[str, list[int]] = {}
        for i, ch in enumerate(changes):
            if ch.entity != spec.name:
                results[i] = self._fail(ch, RecordError(f"change for {ch.entity} sent to {spec.name}", system=SYSTEM))
            elif ch.op not in spec.capabilities:
                results[i] = self._fail(ch, RecordError(f"Zoho CRM {spec.name} does not support {ch.op}", system=SYSTEM))
            elif ch.op in ("update", "delete") and not ch.key:
                results[i] = self._fail(ch, RecordError(f"{ch.op} of {spec.name} needs the record id (Change.key)",
                                                        system=SYSTEM, field="id"))
            else:
                by_op.setdefault(ch.op, []).append(i)
        for op, idx in by_op.items():
            for start in range(0, len(idx), BATCH):
                chunk = idx[start:start + BATCH]
                batch = [changes[i] for i in chunk]
                out = self._delete(spec, batch) if op == "delete" else self._send(spec, op, batch, types)
                for i, res in zip(chunk, out):
                    results[i] = res
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    @staticmethod
    def _fail(change: Change, error: HubError) -> WriteResult:
        return WriteResult(change=change, ok=False, error=error)

    def _send(self, spec: EntitySpec, op: str, batch: list[Change], types: dict[str, str]) -> list[WriteResult]:
        external = self.config.external_id_fields.get(spec.name)
        body: dict[str, Any] = {"data": [self._record(c, types, external) for c in batch],
                                "trigger": list(self.config.trigger)}
        if op == "upsert":
            check = list(self.config.duplicate_check_fields.get(spec.name, ()))
            if external and external not in check:
                check.insert(0, external)
            if check:
                body["duplicate_check_fields"] = check
        method, path = {"create": ("POST", spec.name), "update": ("PUT", spec.name),
                        "upsert": ("POST", f"{spec.name}/upsert")}[op]
        try:
            response = self.api.request(method, path, json=body)
        except HubError as exc:
            return [self._fail(c, exc) for c in batch]
        data = body_of(response).get("data")
        if not isinstance(data, list) or len(data) != len(batch) or not all(isinstance(d, dict) for d in data):
            err = call_error(response, f"{op} of {len(batch)} {spec.name}") if response.status_code >= 300 else \
                FatalError(f"Zoho CRM {op} of {spec.name}: answer has {len(data) if isinstance(data, list) else 'no'} "
                           f"results for {len(batch)} records", system=SYSTEM)
            return [self._fail(c, err) for c in batch]
        out = []
        for n, (change, res) in enumerate(zip(batch, data)):
            if res.get("status") == "success" and res.get("code") == "SUCCESS":
                details = res.get("details") or {}
                created = {"create": True, "update": False}.get(op, res.get("action") == "insert")
                out.append(WriteResult(change=change, ok=True, target_id=str(details.get("id") or change.key or ""),
                                       created=created))
            else:
                out.append(self._fail(change, record_error(res, module=spec.name, position=n,
                                                           record_id=change.key or change.idempotency_key)))
        return out

    def _delete(self, spec: EntitySpec, batch: list[Change]) -> list[WriteResult]:
        params = {"ids": ",".join(str(c.key) for c in batch), "wf_trigger": str("workflow" in self.config.trigger).lower()}
        try:
            response = self.api.request("DELETE", spec.name, params=params)
        except HubError as exc:
            return [self._fail(c, exc) for c in batch]
        data = body_of(response).get("data")
        if not isinstance(data, list) or len(data) != len(batch):
            err = call_error(response, f"delete of {len(batch)} {spec.name}")
            return [self._fail(c, err) for c in batch]
        by_id = {str((d.get("details") or {}).get("id")): d for d in data if isinstance(d, dict)}
        out = []
        for n, change in enumerate(batch):
            res = by_id.get(str(change.key), data[n] if isinstance(data[n], dict) else {})
            if res.get("status") == "success":
                out.append(WriteResult(change=change, ok=True, target_id=str(change.key), created=False))
            else:
                out.append(self._fail(change, record_error(res, module=spec.name, position=n, record_id=change.key)))
        return out
