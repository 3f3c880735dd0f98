"""Writes: batches to the version root, with the failing parts isolated and the rest re-sent.

An Oracle batch is all-or-none: when a part fails nothing is applied and only
the failing parts come back. Each round here marks the parts named in the
answer as failed and sends the others again, so every round removes at least
one part and the loop ends after at most ``len(parts)`` rounds (it is not a
retry of the same request; transient failures are the hub session's job). A
whole-request rejection that names no part is split in halves to find the
culprit; a lone change goes as a plain POST (``Upsert-Mode: true`` for an upsert), PATCH
or DELETE instead of a one-part batch. Updates that carry an ETag are sent one by one as ``PATCH`` with
``If-Match`` (a batch part has no headers), so concurrency is never given up.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from concord.hub.contracts import Change, EntitySpec, WriteResult
from concord.hub.errors import HubError, RecordError, TransientError
from concord.connectors.oracle_fusion.config import OracleFusionConfig, ResourceConfig
from concord.connectors.oracle_fusion.metadata import parse_json
from concord.hub.http.session import parse_retry_after
from concord.connectors.oracle_fusion.vendor_errors import details, error_for, from_response, response_details

BATCH_TYPE = "application/vnd.oracle.adf.batch+json"
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
Sender = Callable[..., requests.Response]


class Writer:
    def __init__(self, send: Sender, config: OracleFusionConfig, *, system: str) -> None:
        self.send, self.config, self.system = send, config, system

    # ---- planning ----------------------------------------------------------------------------
    def part(self, spec: EntitySpec, rc: ResourceConfig, change: Change) -> dict[str, Any]:
        """The batch part of one change (raises RecordError when the change cannot be expressed)."""
        payload = dict(change.fields)
        if change.op in ("create", "upsert") and rc.external_id_field and change.golden_id \
                and payload.get(rc.external_id_field) in (None, ""):
            payload[rc.external_id_field] = change.golden_id
        if change.op in ("create", "upsert") and not change.key:
            for k, v in rc.create_defaults.items():
                if payload.get(k) in (None, ""):
                    payload[k] = v
            for k in rc.golden_id_fields:
                if change.golden_id and payload.get(k) in (None, ""):
                    payload[k] = change.golden_id
        if change.op in ("update", "delete"):
            if not change.key:
                raise RecordError(f"{self.system}: {change.op} of {spec.name} needs the target key",
                                  record_id=change.idempotency_key, system=self.system)
            path = f"/{rc.name}/{quote(change.key, safe='')}"
            if change.op == "update":
                payload.pop(rc.key, None)
            return {"path": path, "operation": change.op, **({"payload": payload} if change.op == "update" else {})}
        return {"path": f"/{rc.name}", "operation": change.op, "payload": payload}

    def write(self, spec: EntitySpec, rc: ResourceConfig, changes: Sequence[Change]) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(changes)
        batchable: list[tuple[int, dict[str, Any]]] = []
        for i, ch in enumerate(changes):
            if ch.op not in spec.capabilities:
                results[i] = self._fail(ch, RecordError(f"{self.system}: {spec.name} does not allow {ch.op}",
                                                        record_id=ch.key, system=self.system))
                continue
            try:
                part = self.part(spec, rc, ch)
            except HubError as err:
                results[i] = self._fail(ch, err)
                continue
            if ch.op == "update" and ch.etag:
                results[i] = self._patch(spec, rc, ch, part)
            else:
                batchable.append((i, part))
        size = self.config.batch_size
        for start in range(0, len(batchable), size):
            self._batch(spec, rc, changes, batchable[start:start + size], results)
        return [r for r in results if r is not None]

    # ---- single PATCH with If-Match ------------------------------------------------------------
    def _patch(self, spec: EntitySpec, rc: ResourceConfig, ch: Change, part: dict[str, Any]) -> WriteResult:
        try:
            resp = self.send("PATCH", f"{rc.path}/{quote(ch.key or '', safe='')}", json=part.get("payload") or {},
                             headers={"If-Match": ch.etag or "*", "Content-Type": ITEM_TYPE})
        except TransientError as err:
            return self._fail(ch, err)
        if resp.status_code >= 400:
            return self._fail(ch, from_response(resp, system=self.system, record_id=ch.key))
        item = parse_json(resp)
        return WriteResult(change=ch, ok=True, target_id=self._key_of(rc, item, ch), created=False)

    # ---- one change: the plain REST verbs --------------------------------------------------------
    def _single(self, rc: ResourceConfig, ch: Change, part: dict[str, Any]) -> WriteResult:
        """POST (create), POST + ``Upsert-Mode: true`` (upsert), PATCH (update), DELETE: no batch for one change."""
        method = {"create": "POST", "upsert": "POST", "update": "PATCH", "delete": "DELETE"}[ch.op]
        headers = {"Content-Type": ITEM_TYPE}
        if ch.op == "upsert":
            headers["Upsert-Mode"] = "true"
        kw: dict[str, Any] = {"headers": headers}
        if "payload" in part:
            kw["json"] = part["payload"]
        try:
            resp = self.send(method, rc.version_root + part["path"], **kw)
        except TransientError as err:
            return self._fail(ch, err)
        rid = ch.key or ch.golden_id or ch.idempotency_key
        if resp.status_code >= 400:
            msg, code, path = response_details(resp)
            return self._fail(ch, error_for(resp.status_code, f"{ch.op} of {rc.name} {rid} rejected: {msg}", code=code,
                                            path=path, system=self.system, record_id=rid,
                                            retry_after=parse_retry_after(resp.headers.get("Retry-After"))))
        if ch.op == "delete":
            return WriteResult(change=ch, ok=True, target_id=ch.key, created=False)
        item = parse_json(resp)
        created = resp.status_code == 201 if ch.op == "upsert" else ch.op == "create"
        return WriteResult(change=ch, ok=True, target_id=self._key_of(rc, item, ch), created=created)

    # ---- batches -------------------------------------------------------------------------------
    def _batch(self, spec: EntitySpec, rc: ResourceConfig, changes: Sequence[Change],
               items: list[tuple[int, dict[str, Any]]], results: list[WriteResult | None]) -> None:
        pending = list(items)
        while pending:
            if len(pending) == 1:
                i, part = pending[0]
                results[i] = self._single(rc, changes[i], part)
                return
            body = {"parts": [{"id": f"part{i}", **part} for i, part in pending]}
            try:
                resp = self.send("POST", rc.version_root, json=body, headers={"Content-Type": BATCH_TYPE})
            except TransientError as err:
                for i, _ in pending:
                    results[i] = self._fail(changes[i], err)
                return
            if resp.status_code < 300:
                self._accept(rc, changes, pending, resp, results)
                return
            failed = self._failed_parts(resp, changes, pending)
            if failed:
                for i, err in failed.items():
                    results[i] = self._fail(changes[i], err)
                pending = [(i, p) for i, p in pending if i not in failed]
                continue
            err = from_response(resp, system=self.system)
            if type(err) is RecordError and len(pending) > 1:
                mid = len(pending) // 2
                self._batch(spec, rc, changes, pending[:mid], results)
                self._batch(spec, rc, changes, pending[mid:], results)
                return
            for i, _ in pending:
                results[i] = self._fail(changes[i], _for_record(err, changes[i]))
            return

    def _failed_parts(self, resp: requests.Response, changes: Sequence[Change],
                      pending: list[tuple[int, dict[str, Any]]]) -> dict[int, HubError]:
        """Parts the all-or-none answer names as failed (empty when it names none we sent)."""
        try:
            body = parse_json(resp)
        except ValueError:
            return {}
        parts = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(parts, list):
            return {}
        by_id = {f"part{i}": i for i, _ in pending}
        out: dict[int, HubError] = {}
        for p in parts:
            i = by_id.get(str(p.get("id"))) if isinstance(p, dict) else None
            if i is None:
                continue
            msg, code, path, status = details(p.get("payload"))
            ch = changes[i]
            rid = ch.key or ch.golden_id or ch.idempotency_key
            out[i] = error_for(status or resp.status_code, f"{ch.op} of {rc_name(p)} {rid} rejected: {msg}",
                               code=code, path=path, system=self.system, record_id=rid)
        return out

    def _accept(self, rc: ResourceConfig, changes: Sequence[Change], pending: list[tuple[int, dict[str, Any]]],
                resp: requests.Response, results: list[WriteResult | None]) -> None:
        body = parse_json(resp)
        by_id = {str(p.get("id")): p for p in (body.get("parts") or []) if isinstance(p, dict)}
        for i, _ in pending:
            ch = changes[i]
            part = by_id.get(f"part{i}")
            item = part.get("payload") if part else None
            if ch.op == "delete":
                results[i] = WriteResult(change=ch, ok=True, target_id=ch.key, created=False)
                continue
            if not isinstance(item, Mapping):
                results[i] = self._fail(ch, TransientError(
                    f"{self.system}: the batch succeeded but part{i} is missing from the answer; re-read to confirm",
                    system=self.system))
                continue
            created: bool | None = ch.op == "create"
            if ch.op == "upsert":
                created = bool(item.get("CreationDate")) and item.get("CreationDate") == item.get("LastUpdateDate")
            results[i] = WriteResult(change=ch, ok=True, target_id=self._key_of(rc, item, ch), created=created)

    def _key_of(self, rc: ResourceConfig, item: Mapping[str, Any], ch: Change) -> str | None:
        key = item.get(rc.key)
        return str(key) if key is not None else ch.key

    @staticmethod
    def _fail(ch: Change, err: HubError) -> WriteResult:
        return WriteResult(change=ch, ok=False, error=err)


def rc_name(part: Mapping[str, Any]) -> str:
    return str(part.get("path") or "").strip("/").split("/")[0] or "record"


def _for_record(err: HubError, ch: Change) -> HubError:
    if isinstance(err, RecordError) and not err.record_id:
        err.record_id = ch.key or ch.golden_id
    return err
