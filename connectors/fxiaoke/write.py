"""Writes: one record per call (``data/create``, ``data/update``, ``data/invalid``).

The open API has no batch create or update, so every change is its own call and its own
result. ``dataObjectApiName`` goes inside ``object_data``; errors are HTTP 200 with a
non-zero ``errorCode`` and are reported per record with the ``traceId``. ``owner`` cannot
be changed by ``data/update``: an update that carries it makes a second call to
``data/changeOwner``. Detail rows (a list under the detail object's api name, e.g.
``SalesOrderProductObj``) are sent as ``data.details`` on create.

An auth or transient error stops the batch: that change and the ones after it carry the
error (they were not attempted), so the engine retries them later.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from concord.connectors.fxiaoke.client import FxiaokeClient, data_path
from concord.connectors.fxiaoke.config import FxiaokeConfig
from concord.connectors.fxiaoke.metadata import DETAILS, Metadata
from concord.hub.contracts import Change, WriteResult
from concord.hub.errors import AuthError, ConfigError, HubError, RecordError, TransientError


#: transient errorCodes that concern the one record written (system busy, system error, timeout)
PER_RECORD_TRANSIENT = frozenset({"-1", "-2", "14001", "50009"})


class Writer:
    def __init__(self, client: FxiaokeClient, config: FxiaokeConfig, metadata: Metadata) -> None:
        self.client, self.config, self.metadata = client, config, metadata

    def _flags(self) -> dict[str, Any]:
        return {"triggerWorkFlow": self.config.trigger_workflow,
                "triggerApprovalFlow": self.config.trigger_approval_flow}

    def write(self, api: str, changes: Sequence[Change]) -> list[WriteResult]:
        results: list[WriteResult] = []
        stop: HubError | None = None
        for ch in changes:
            if stop is not None:
                results.append(WriteResult(change=ch, ok=False, error=stop))
                continue
            try:
                results.append(self.one(api, ch))
            except (AuthError, TransientError) as exc:
                # a per-record "busy" (-1, -2, 50009...) fails that record only (retried later); credentials,
                # quotas and a system that cannot be reached fail the rest of the batch too
                if isinstance(exc, AuthError) or exc.code not in PER_RECORD_TRANSIENT:
                    stop = exc
                results.append(WriteResult(change=ch, ok=False, error=exc))
            except HubError as exc:
                results.append(WriteResult(change=ch, ok=False, error=exc))
        return results

    def one(self, api: str, ch: Change) -> WriteResult:
        rid = ch.key or ch.idempotency_key
        if ch.op not in ("create", "update", "delete"):
            raise ConfigError(f"fxiaoke {api}: operation {ch.op!r} is not supported (the open API has no upsert); "
                              f"use create or update")
        encoded = self.metadata.codec(api).encode(dict(ch.fields), rid)
        if ch.op == "create":
            fields = encoded
            details = {}
            detail = DETAILS.get(api)
            if detail and detail[0] in fields:
                rows = fields.pop(detail[0]) or []
                if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                    raise RecordError(f"fxiaoke {api}: {detail[0]} must be a list of objects", record_id=rid,
                                      field=detail[0])
                details[detail[0]] = [{"dataObjectApiName": detail[0], **r} for r in rows]
            fields.setdefault("owner", [self.config.current_open_user_id])
            ext = self.config.external_id_fields.get(api)
            if ext and ch.golden_id and fields.get(ext) in (None, ""):
                fields[ext] = ch.golden_id     # found again by lookup() if this answer is lost
            data: dict[str, Any] = {"object_data": {"dataObjectApiName": api, **fields}}
            if details:
                data["details"] = details
            answer = self.client.call(data_path(api, "create"), {**self._flags(), "data": data}, write=True,
                                      record_id=rid)
            data_part = answer.get("data")
            target = answer.get("dataId") or (data_part.get("_id") if isinstance(data_part, dict) else None)
            if not target:
                raise RecordError(f"fxiaoke {api} create: answer has no dataId [traceId {answer.get('traceId', '-')}]",
                                  record_id=rid)
            return WriteResult(change=ch, ok=True, target_id=str(target), created=True)
        if not ch.key:
            raise RecordError(f"fxiaoke {api} {ch.op}: the change has no key (_id)", record_id=rid)
        if ch.op == "update":
            fields = encoded
            owner = fields.pop("owner", None)
            if DETAILS.get(api) and DETAILS[api][0] in fields:
                raise RecordError(f"fxiaoke {api} update: detail rows cannot be updated through the master",
                                  record_id=rid, field=DETAILS[api][0])
            if fields:
                self.client.call(data_path(api, "update"),
                                 {"triggerWorkFlow": self.config.trigger_workflow,
                                  "data": {"object_data": {"dataObjectApiName": api, "_id": ch.key, **fields}}},
                                 write=True, record_id=rid)
            if owner:
                self.client.call(data_path(api, "changeOwner"),
                                 {"data": {"dataObjectApiName": api, "Data": [
                                     {"objectDataId": ch.key, "ownerId": owner if isinstance(owner, list) else [owner]}]}},
                                 write=True, record_id=rid)
            return WriteResult(change=ch, ok=True, target_id=ch.key, created=False)
        if ch.op == "delete":
            self.client.call(data_path(api, "invalid"),
                             {"data": {"dataObjectApiName": api, "object_data_id": ch.key}}, write=True, record_id=rid)
            return WriteResult(change=ch, ok=True, target_id=ch.key, created=False)
        raise AssertionError(ch.op)  # unreachable
