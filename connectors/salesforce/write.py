"""Writes: sObject Collections (200 per call, ``allOrNone=false``), a WriteResult per change, in order.

upsert  -> PATCH composite/sobjects/{X}/{ExtId}   (a single change: PATCH sobjects/X/ExtId/value: 201/200/204/300/404)
create  -> POST  composite/sobjects
update  -> PATCH composite/sobjects               (no key: Ids looked up by external id first, update-only)
delete  -> DELETE composite/sobjects?ids=..
Large change sets (> ``bulk_write_threshold``) go to Bulk API 2.0 ingest jobs (see :mod:`.bulk_write`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import requests
from simple_salesforce import exceptions as sfx

from concord.hub.contracts import Change, EntitySpec, WriteResult
from concord.hub.errors import AuthError, HubError, RecordError, StaleRecordError, TransientError
from concord.connectors.salesforce.read import quote

log = logging.getLogger("concord.salesforce")
MAX_COLLECTION = 200
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "QUERY_TIMEOUT"}
STALE_CODES = {"ENTITY_IS_DELETED"}


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def record_error(entity: str, change: Change, err: dict[str, Any]) -> HubError:
    """One per-record error of a collection / bulk answer -> the hub taxonomy."""
    code = err.get("statusCode") or err.get("errorCode") or "UNKNOWN"
    msg = err.get("message") or ""
    fields = list(err.get("fields") or [])
    ref = change.key or change.golden_id or change.idempotency_key
    text = f"salesforce rejected {entity} {ref}: {code}: {msg}" + (f" (fields: {', '.join(fields)})" if fields else "")
    details: dict[str, Any] = {"vendor_code": code}
    if code == "DUPLICATES_DETECTED":
        dup = err.get("duplicateResult") or {}
        details["duplicate_rule"] = dup.get("duplicateRule")
        details["matches"] = [m["record"].get("Id") for r in dup.get("matchResults") or ()
                              for m in r.get("matchRecords") or () if m.get("record")]
    if code in TRANSIENT_CODES:
        return TransientError(text, code=code, system="salesforce", details=details)
    if code in STALE_CODES:
        return StaleRecordError(text, code=code, system="salesforce", record_id=ref, details=details)
    return RecordError(text, code=code, system="salesforce", record_id=ref, field=fields[0] if fields else None,
                       details=details)


def call_error(entity: str, exc: BaseException) -> HubError:
    """A whole call failed (after the session's retries): the same error for every change of it."""
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, sfx.SalesforceError):
        body = exc.content
        first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
        code, msg = first.get("errorCode", str(exc.status)), first.get("message", "")
        text = f"salesforce {entity} write failed ({exc.status} {code}): {msg}"
        if exc.status == 401:
            return AuthError(text, code=code, system="salesforce")
        if code in TRANSIENT_CODES or exc.status in (429, 500, 502, 503, 504):
            return TransientError(text, code=code, system="salesforce")
        if exc.status == 403:
            return AuthError(text, code=code, system="salesforce")
        return RecordError(text, code=code, system="salesforce")
    if isinstance(exc, requests.RequestException):
        return TransientError(f"salesforce {entity} write failed: {type(exc).__name__}", system="salesforce")
    raise exc


class CollectionWriter:
    """Writes one entity's changes through sObject Collections."""

    def __init__(self, sf: Any, spec: EntitySpec, ext_field: str | None) -> None:
        self.sf, self.spec, self.ext = sf, spec, ext_field

    def _body(self, change: Change, *, with_ext: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"attributes": {"type": self.spec.name}}
        body.update({k: v for k, v in change.fields.items() if k not in ("attributes", "Id")})
        if with_ext and self.ext and change.golden_id and self.ext not in body:
            body[self.ext] = change.golden_id
        return body

    def _results(self, batch: Sequence[Change], answer: Any, op: str) -> list[WriteResult]:
        if not isinstance(answer, list) or len(answer) != len(batch):
            err = TransientError(f"salesforce answered {len(answer) if isinstance(answer, list) else 'no'} results for "
                                 f"{len(batch)} {self.spec.name} records", system="salesforce")
            return [WriteResult(change=c, ok=False, error=err) for c in batch]
        out = []
        for change, res in zip(batch, answer):
            if res.get("success"):
                created = res.get("created") if op == "upsert" else (op == "create" or None)
                out.append(WriteResult(change=change, ok=True, target_id=res.get("id") or change.key,
                                       created=created if op in ("create", "upsert") else False))
            else:
                errs = res.get("errors") or [{"statusCode": "UNKNOWN", "message": "no reason given"}]
                out.append(WriteResult(change=change, ok=False, error=record_error(self.spec.name, change, errs[0])))
        return out

    def _guard(self, batch: Sequence[Change], fn: Callable[[], list[WriteResult]]) -> list[WriteResult]:
        try:
            return fn()
        except (sfx.SalesforceError, requests.RequestException, HubError) as exc:
            err = call_error(self.spec.name, exc)
            return [WriteResult(change=c, ok=False, error=err) for c in batch]

    # ---- operations -------------------------------------------------------------------------
    def upsert(self, changes: Sequence[Change]) -> list[WriteResult]:
        ok, bad = [], {}
        for i, c in enumerate(changes):
            if not c.golden_id or not self.ext:
                bad[i] = RecordError(f"salesforce {self.spec.name}: an upsert needs golden_id and an external id field "
                                     f"({self.ext or 'none declared'})", system="salesforce",
                                     record_id=c.key or c.idempotency_key)
            else:
                ok.append(c)
        done: list[WriteResult] = []
        if len(ok) == 1:
            done = self._guard(ok, lambda: [self._upsert_one(ok[0])])
        else:
            for batch in chunks(ok, MAX_COLLECTION):
                done += self._guard(batch, lambda b=batch: self._results(b, self.sf.restful(
                    f"composite/sobjects/{self.spec.name}/{self.ext}", method="PATCH",
                    json={"allOrNone": False, "records": [self._body(c) for c in b]}), "upsert"))
        it = iter(done)
        return [WriteResult(change=c, ok=False, error=bad[i]) if i in bad else next(it) for i, c in enumerate(changes)]

    def _upsert_one(self, change: Change) -> WriteResult:
        body = self._body(change, with_ext=False)
        body.pop("attributes")
        body.pop(self.ext, None)
        path = f"sobjects/{self.spec.name}/{self.ext}/{requests.utils.quote(str(change.golden_id), safe='')}"
        try:
            r = self.sf._call_salesforce("PATCH", self.sf.base_url + path, name=path, json=body)
        except sfx.SalesforceMoreThanOneRecord as exc:
            urls = exc.content if isinstance(exc.content, list) else []
            return WriteResult(change=change, ok=False, error=RecordError(
                f"salesforce {self.spec.name}: {len(urls)} records share {self.ext}={change.golden_id}; "
                "resolve the duplicates in Salesforce", code="MULTIPLE_MATCHES", system="salesforce",
                record_id=change.golden_id, field=self.ext, details={"matches": [u.rsplit('/', 1)[-1] for u in urls]}))
        except sfx.SalesforceResourceNotFound as exc:
            first = exc.content[0] if isinstance(exc.content, list) and exc.content else {}
            return WriteResult(change=change, ok=False, error=record_error(self.spec.name, change, first))
        except sfx.SalesforceMalformedRequest as exc:
            first = exc.content[0] if isinstance(exc.content, list) and exc.content else {}
            return WriteResult(change=change, ok=False, error=record_error(self.spec.name, change, first))
        data = r.json() if r.status_code != 204 and r.content else {}
        return WriteResult(change=change, ok=True, target_id=data.get("id"),
                           created=r.status_code == 201 or bool(data.get("created")))

    def create(self, changes: Sequence[Change]) -> list[WriteResult]:
        out: list[WriteResult] = []
        for batch in chunks(changes, MAX_COLLECTION):
            out += self._guard(batch, lambda b=batch: self._results(b, self.sf.restful(
                "composite/sobjects", method="POST",
                json={"allOrNone": False, "records": [self._body(c) for c in b]}), "create"))
        return out

    def update(self, changes: Sequence[Change]) -> list[WriteResult]:
        """Updates by Id; changes without a key are resolved by external id (update-only: never creates)."""
        ids: dict[int, str] = {}
        errors: dict[int, HubError] = {}
        unkeyed = [(i, c) for i, c in enumerate(changes) if not c.key]
        for i, c in enumerate(changes):
            if c.key:
                ids[i] = c.key
        if unkeyed:
            found = self._lookup([c.golden_id for _, c in unkeyed if c.golden_id])
            for i, c in unkeyed:
                if isinstance(found, HubError):
                    errors[i] = found
                    continue
                hits = found.get(str(c.golden_id).lower(), []) if c.golden_id else []
                if len(hits) == 1:
                    ids[i] = hits[0]
                elif not hits:
                    errors[i] = RecordError(f"salesforce {self.spec.name}: no record with {self.ext}={c.golden_id} "
                                            "(update-only: not created)", code="NOT_FOUND", system="salesforce",
                                            record_id=c.golden_id)
                else:
                    errors[i] = RecordError(f"salesforce {self.spec.name}: {len(hits)} records share "
                                            f"{self.ext}={c.golden_id}", code="MULTIPLE_MATCHES", system="salesforce",
                                            record_id=c.golden_id, details={"matches": hits})
        todo = [(i, c.model_copy(update={"key": ids[i]})) for i, c in enumerate(changes) if i in ids]
        done: list[WriteResult] = []
        for batch in chunks(todo, MAX_COLLECTION):
            cs = [c for _, c in batch]
            done += self._guard(cs, lambda b=cs: self._results(b, self.sf.restful(
                "composite/sobjects", method="PATCH",
                json={"allOrNone": False, "records": [{**self._body(c, with_ext=False), "Id": c.key} for c in b]}),
                "update"))
        by_index = {i: r for (i, _), r in zip(todo, done)}
        return [WriteResult(change=c, ok=by_index[i].ok, target_id=by_index[i].target_id, error=by_index[i].error,
                            created=False) if i in by_index else WriteResult(change=c, ok=False, error=errors[i])
                for i, c in enumerate(changes)]

    def _lookup(self, golden_ids: list[str]) -> Any:
        found: dict[str, list[str]] = {}
        if not self.ext:
            return found
        try:
            for batch in chunks(golden_ids, MAX_COLLECTION):
                soql = (f"SELECT Id, {self.ext} FROM {self.spec.name} WHERE {self.ext} IN "
                        f"({', '.join(quote(str(g)) for g in batch)})")
                for rec in self.sf.query_all_iter(soql):
                    found.setdefault(str(rec[self.ext]).lower(), []).append(rec["Id"])
        except (sfx.SalesforceError, requests.RequestException) as exc:
            return call_error(self.spec.name, exc)
        return found

    def delete(self, changes: Sequence[Change]) -> list[WriteResult]:
        out: list[WriteResult] = []
        keyed = [c for c in changes if c.key]
        done: list[WriteResult] = []
        for batch in chunks(keyed, MAX_COLLECTION):
            done += self._guard(batch, lambda b=batch: self._results(b, self.sf.restful(
                "composite/sobjects", method="DELETE",
                params={"ids": ",".join(c.key for c in b), "allOrNone": "false"}), "delete"))
        it = iter(done)
        for c in changes:
            out.append(next(it) if c.key else WriteResult(change=c, ok=False, error=RecordError(
                f"salesforce {self.spec.name}: a delete needs the record Id", system="salesforce",
                record_id=c.golden_id)))
        return out
