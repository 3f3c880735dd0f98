"""Large change sets through Bulk API 2.0 ingest jobs (``sf.bulk2.<X>.<op>``), a WriteResult per change.

Results come back as CSVs (``sf__Id,sf__Created,<columns>`` and ``sf__Id,sf__Error,<columns>``)
in no guaranteed order, so each row is matched to its change by a key column: the
external id for upsert/insert, ``Id`` for update/delete. A change that appears in
neither CSV was not processed (``TransientError``: retry it).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import requests
from simple_salesforce import exceptions as sfx

from concord.hub.contracts import Change, EntitySpec, WriteResult
from concord.hub.errors import HubError, TransientError
from concord.connectors.salesforce.write import call_error, record_error

OPS = {"upsert": "upsert", "create": "insert", "update": "update", "delete": "delete"}


def _cell(value: Any) -> str:
    if value is None:
        return "#N/A"                      # Bulk API: set the field to null
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def bulk_write(sf: Any, spec: EntitySpec, op: str, changes: Sequence[Change], *, ext_field: str | None,
               poll_seconds: float) -> list[WriteResult]:
    key_col = "Id" if op in ("update", "delete") else ext_field
    rows: list[dict[str, str]] = []
    for c in changes:
        if op == "delete":
            row: dict[str, Any] = {"Id": c.key}
        else:
            row = {k: v for k, v in c.fields.items() if k not in ("attributes",)}
            if op == "update":
                row["Id"] = c.key
            elif ext_field and c.golden_id:
                row[ext_field] = c.golden_id
        rows.append({k: _cell(v) for k, v in row.items()})
    columns = sorted({k for r in rows for k in r})
    rows = [{k: r.get(k, "") for k in columns} for r in rows]       # one header for every row
    api = getattr(sf.bulk2, spec.name)
    try:
        kwargs: dict[str, Any] = {"records": rows, "wait": poll_seconds}
        if op == "upsert":
            kwargs["external_id_field"] = ext_field
        jobs = getattr(api, OPS[op])(**kwargs)
        ok_rows: dict[str, dict[str, str]] = {}
        bad_rows: dict[str, dict[str, str]] = {}
        for job in jobs:
            for r in csv.DictReader(io.StringIO(api.get_successful_records(job["job_id"]) or "")):
                ok_rows[(r.get(key_col) or r.get("sf__Id") or "").lower()] = r
            for r in csv.DictReader(io.StringIO(api.get_failed_records(job["job_id"]) or "")):
                bad_rows[(r.get(key_col) or "").lower()] = r
    except (sfx.SalesforceError, requests.RequestException, HubError) as exc:
        err = call_error(spec.name, exc)
        return [WriteResult(change=c, ok=False, error=err) for c in changes]
    out = []
    for c, row in zip(changes, rows):
        k = (row.get(key_col or "", "") or "").lower()
        if k in ok_rows:
            r = ok_rows[k]
            out.append(WriteResult(change=c, ok=True, target_id=r.get("sf__Id") or c.key,
                                   created=(r.get("sf__Created") or "").lower() == "true"))
        elif k in bad_rows:
            code, _, rest = (bad_rows[k].get("sf__Error") or "UNKNOWN:").partition(":")
            message, _, fields = rest.rstrip(" -").rpartition(":")
            err = {"statusCode": code, "message": message or rest,
                   "fields": [f for f in fields.split(":") if f] if message else []}
            out.append(WriteResult(change=c, ok=False, error=record_error(spec.name, c, err)))
        else:
            out.append(WriteResult(change=c, ok=False, error=TransientError(
                f"salesforce bulk {op} of {spec.name} did not process {c.key or c.golden_id}", system="salesforce")))
    return out
