"""Writes: CreateMultiple / UpdateMultiple with the record ``Key``, Delete by ``Key``.

NAV runs each ``*Multiple`` call in one transaction: one bad record faults the
whole call and nothing is saved. To give every change its own result, a faulted
batch is split: the record the fault names (``Identification fields and
values: No.='…'``) is set aside and the rest re-sent; when the fault names no
record, the batch is bisected. A batch that was refused as a whole is never
half-applied, so re-sending its other records is safe. Each record is sent at
most ``log2(batch) + 1`` times, and only after a record-level fault: transient,
auth and fatal failures end the batch (retries live in the HTTP session only).

Updates and deletes need the record's latest ``Key``: ``Change.etag`` when the
engine has it, else one ``ReadMultiple`` with ``No=a|b|c`` per chunk. With a
composite key (``Journal_Template_Name, Journal_Batch_Name, Line_No``) the
``Change.key`` source ids are decoded (:mod:`concord.connectors.soap_erp.keys`) and looked
up per key prefix: ``Journal_Template_Name=GENERAL``, ``Journal_Batch_Name=DEFAULT``,
``Line_No=10000|20000|…`` is one call for all lines of a batch. Key fields are
never updated (NAV renames are not supported); a create must carry all of them. A stale
``Key`` fault becomes a StaleRecordError; the record is re-read and its current
``Key`` and change date go into the error's details, so the engine can re-plan.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from concord.connectors.soap_erp import navfilter
from concord.connectors.soap_erp.faultmap import classify_exception, identified_values
from concord.connectors.soap_erp.parts import wire_part
from concord.connectors.soap_erp.read import unwrap_records
from concord.connectors.soap_erp.wsdl import PageModel
from concord.hub.contracts import Change, WriteResult
from concord.hub.errors import HubError, RecordError, StaleRecordError

Call = Callable[[str, dict[str, Any]], Any]
LOOKUP_CHUNK = 100


class PageWriter:
    def __init__(self, entity: str, page: PageModel, call: Call, system: str) -> None:
        self.entity, self.page, self.call, self.system = entity, page, call, system
        self.om = page.opmap
        self.key = page.key
        self.keyf = self.om.fields.version_key
        self.sid_field = page.source_id_field
        self.calls = 0
        self.decoded: dict[int, dict[str, Any]] = {}      # change index -> typed key values

    # ---- entry point -------------------------------------------------------------------------
    def write(self, changes: Sequence[Change]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        creates: list[tuple[int, dict[str, Any]]] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        deletes: list[int] = []
        for i, ch in enumerate(changes):
            try:
                if ch.op == "create":
                    creates.append((i, self._wire(ch, for_update=False)))
                elif ch.op == "update":
                    if not ch.key:
                        raise RecordError("an update needs the target key", field=self.key.names[0])
                    self.decoded[i] = self.key.decode(ch.key)
                    updates.append((i, self._wire(ch, for_update=True, key=self.decoded[i])))
                elif ch.op == "delete":
                    if not ch.key:
                        raise RecordError("a delete needs the target key", field=self.key.names[0])
                    self.decoded[i] = self.key.decode(ch.key)
                    deletes.append(i)
                else:
                    raise RecordError(f"{self.entity} has no {ch.op} operation (a page service has no external id)",
                                      code="unsupported")
            except HubError as err:
                results[i] = self._fail(ch, err)
        out: dict[int, Any] = {}
        mb = self.om.writes.max_batch
        for start in range(0, len(creates), mb):
            self._send("create", creates[start:start + mb], changes, out)
        if updates or deletes:
            keys = self._current_keys(changes, [i for i, _ in updates] + deletes, out)
            ready = []
            for i, rec in updates:
                if i in out:
                    continue
                ready.append((i, {self.keyf: keys[i], **rec}))
            for start in range(0, len(ready), mb):
                self._send("update", ready[start:start + mb], changes, out)
            for i in deletes:
                if i not in out:
                    self._delete(i, changes[i], keys[i], out)
                elif isinstance(out[i], RecordError) and out[i].code == "not_found":
                    out[i] = WriteResult(change=changes[i], ok=True, target_id=changes[i].key)  # already gone
        self._explain_stale(changes, out)
        for i, value in out.items():
            if isinstance(value, HubError):
                results[i] = self._fail(changes[i], value)
            else:
                results[i] = value
        return [results[i] for i in range(len(changes))]

    # ---- field values ------------------------------------------------------------------------
    def _wire(self, ch: Change, *, for_update: bool, key: dict[str, Any] | None = None) -> dict[str, Any]:
        roles = self.om.fields
        rec: dict[str, Any] = {}
        for name, value in ch.fields.items():
            if name == self.sid_field:
                if for_update and value is not None and str(value) != ch.key:
                    raise RecordError(f"{self.entity}.{name} cannot be changed by an update", field=name,
                                      record_id=ch.key)
                continue                                   # derived from the key fields, never sent
            info = self.page.fields.get(name)
            if info is None:
                raise RecordError(f"{self.entity} has no field {name!r}", field=name, record_id=ch.key)
            if name in roles.read_only or name == self.keyf:
                raise RecordError(f"{self.entity}.{name} is read-only", field=name, record_id=ch.key)
            if name in self.page.parts:                   # order lines, inline (see parts.py)
                lines = wire_part(self.page, name, value, for_update=for_update, record_id=ch.key, coerce=_coerce)
                if lines is not None:
                    rec[name] = lines
                continue
            coerced = None if value is None else _coerce(info.xsd, value, name, ch.key)
            if for_update and key is not None and name in key:
                if coerced is not None and self.key.norm([coerced]) != self.key.norm([key[name]]):
                    raise RecordError(f"{self.entity}.{name} is a key field and cannot be changed by an update",
                                      field=name, record_id=ch.key)
                continue
            if for_update and name in roles.immutable:
                raise RecordError(f"{self.entity}.{name} cannot be changed by an update", field=name, record_id=ch.key)
            rec[name] = coerced
        if not for_update and self.key.composite:
            missing = [n for n in self.key.names if rec.get(n) is None]
            if missing:
                raise RecordError(f"a {self.entity} create needs every key field; missing: {', '.join(missing)}",
                                  field=missing[0])
        return rec

    # ---- batches -----------------------------------------------------------------------------
    def _send(self, role: str, items: list[tuple[int, dict[str, Any]]], changes: Sequence[Change],
              out: dict[int, Any]) -> None:
        if not items:
            return
        ops = self.om.operations
        many = ops.create_many if role == "create" else ops.update_many
        single = ops.create if role == "create" else ops.update
        try:
            if many and (len(items) > 1 or not single):
                self.calls += 1
                rows = unwrap_records(self.call(many, {self.page.list_param: {self.page.record_param: [r for _, r in items]}}),
                                      self.page.record_param)
            elif single:
                self.calls += 1
                rows = unwrap_records(self.call(single, {self.page.record_param: items[0][1]}), self.page.record_param)
            else:
                raise RecordError(f"{self.entity} has no {role} operation in its operation map", code="unsupported")
        except Exception as exc:  # one call failed as a whole: classify, then isolate the record(s)
            err = classify_exception(exc, self.om.faults, system=self.system, what=f"{many or single} {self.entity}")
            self._isolate(role, items, changes, out, err)
            return
        if len(rows) != len(items):
            err = RecordError(f"{many or single} returned {len(rows)} records for {len(items)} sent", code="bad_reply")
            for i, _ in items:
                out[i] = err
            return
        for (i, _), row in zip(items, rows):
            out[i] = WriteResult(change=changes[i], ok=True, target_id=self.key.source_id(row) or changes[i].key,
                                 created=role == "create")

    def _isolate(self, role: str, items: list[tuple[int, dict[str, Any]]], changes: Sequence[Change],
                 out: dict[int, Any], err: HubError) -> None:
        if not isinstance(err, RecordError):          # transient, auth, fatal: the batch as a whole
            for i, _ in items:
                out[i] = err
            return
        if len(items) == 1:
            i = items[0][0]
            err.record_id = err.record_id or changes[i].key or self.key.source_id(items[0][1])
            if err.record_id:
                err.details.setdefault("record_id", err.record_id)
            out[i] = err
            return
        vals = identified_values(err.message, self.om.faults.identification)
        n = len(self.key.names)
        named = {self.key.norm(vals[j:j + n]) for j in range(0, len(vals) - n + 1, n)} if len(vals) % n == 0 else set()
        hit = [(i, r) for i, r in items if self._ident(i, r) in named] if named else []
        if len(hit) == 1:
            self._isolate(role, hit, changes, out, err)
            self._send(role, [it for it in items if it[0] != hit[0][0]], changes, out)
            return
        mid = len(items) // 2
        self._send(role, items[:mid], changes, out)
        self._send(role, items[mid:], changes, out)

    def _ident(self, i: int, rec: dict[str, Any]) -> tuple[str, ...] | None:
        if i in self.decoded:
            return self.key.norm([self.decoded[i][n] for n in self.key.names])
        values = self.key.values_of(rec)
        return None if values is None else self.key.norm(values)

    # ---- keys, deletes, stale ----------------------------------------------------------------
    def _current_keys(self, changes: Sequence[Change], idx: list[int], out: dict[int, Any]) -> dict[int, str]:
        keys = {i: changes[i].etag for i in idx if changes[i].etag}
        need = [i for i in idx if i not in keys]
        for start in range(0, len(need), LOOKUP_CHUNK):
            chunk = need[start:start + LOOKUP_CHUNK]
            try:
                rows = self._lookup([self.decoded[i] for i in chunk])
            except HubError as err:
                for i in chunk:
                    out[i] = err
                continue
            for i in chunk:
                row = rows.get(self._norm(self.decoded[i]))
                if row is None:
                    out[i] = RecordError(f"The {self.entity} does not exist. Identification fields and values: "
                                         f"{self._ident_text(self.decoded[i])}", code="not_found",
                                         record_id=changes[i].key, system=self.system)
                else:
                    keys[i] = row[self.keyf]
        return keys

    def _norm(self, key: dict[str, Any]) -> tuple[str, ...]:
        return self.key.norm([key[n] for n in self.key.names])

    def _ident_text(self, key: dict[str, Any]) -> str:
        return ",".join(f"{n}='{str(v).replace(chr(39), chr(39) * 2)}'" for n, v in key.items())

    def _lookup(self, keys: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
        """The current records of some keys: one ReadMultiple per key prefix (all but the last field)."""
        p = self.om.paging
        *prefix, last = self.key.names
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for k in keys:
            groups.setdefault(tuple(navfilter.quote(k[n]) for n in prefix), []).append(k)
        found: dict[tuple[str, ...], dict[str, Any]] = {}
        for pvals, members in groups.items():
            filters = [{p.filter_field: n, p.filter_criteria: v} for n, v in zip(prefix, pvals)]
            filters.append({p.filter_field: last, p.filter_criteria: navfilter.any_of([k[last] for k in members])})
            params = {p.filter_param: filters, p.size_param: len(members) + 1}
            try:
                self.calls += 1
                rows = unwrap_records(self.call(self.om.operations.list, params), self.page.record_param)
            except Exception as exc:
                raise classify_exception(exc, self.om.faults, system=self.system,
                                         what=f"look up {self.entity} keys") from None
            for r in rows:
                values = self.key.values_of(r)
                if values is not None:
                    found[self.key.norm(values)] = r
        return found

    def _delete(self, i: int, ch: Change, key: str, out: dict[int, Any]) -> None:
        op = self.om.operations.delete
        if not op:
            out[i] = RecordError(f"{self.entity} has no delete operation", code="unsupported", record_id=ch.key)
            return
        try:
            self.calls += 1
            self.call(op, {self.keyf: key})
        except Exception as exc:
            err = classify_exception(exc, self.om.faults, system=self.system, what=f"{op} {self.entity} {ch.key}")
            if isinstance(err, RecordError) and err.code == "not_found":
                out[i] = WriteResult(change=ch, ok=True, target_id=ch.key)  # already gone: the goal is reached
                return
            if isinstance(err, RecordError):
                err.record_id = ch.key
                err.details.setdefault("record_id", ch.key)
            out[i] = err
            return
        out[i] = WriteResult(change=ch, ok=True, target_id=ch.key)

    def _explain_stale(self, changes: Sequence[Change], out: dict[int, Any]) -> None:
        """Re-read the records whose Key was stale, so the engine re-plans from their current state."""
        stale = [i for i, v in out.items() if isinstance(v, StaleRecordError) and i in self.decoded]
        for start in range(0, len(stale), LOOKUP_CHUNK):
            chunk = stale[start:start + LOOKUP_CHUNK]
            try:
                rows = self._lookup([self.decoded[i] for i in chunk])
            except HubError:
                continue
            for i in chunk:
                row = rows.get(self._norm(self.decoded[i]))
                err = out[i]
                err.details["current_key"] = row.get(self.keyf) if row else None
                cd = self.om.change_date
                if row and cd:
                    err.details["current_" + cd.field] = row.get(cd.field)
                if row is None:
                    err.details["current"] = "deleted"

    def _fail(self, ch: Change, err: HubError) -> WriteResult:
        if isinstance(err, RecordError) and not err.record_id and ch.key:
            err.record_id = ch.key
            err.details.setdefault("record_id", ch.key)
        return WriteResult(change=ch, ok=False, target_id=ch.key, error=err)


def _coerce(xsd: str, value: Any, name: str, record_id: str | None) -> Any:
    """A field value in the Python type zeep renders for this XSD type."""
    try:
        if xsd in ("decimal", "double", "float"):
            return value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if xsd in ("int", "integer", "long", "short"):
            return int(value)
        if xsd == "boolean":
            if isinstance(value, bool):
                return value
            return navfilter._bool(str(value))
        if xsd == "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        return str(value)
    except (InvalidOperation, ValueError, TypeError):
        raise RecordError(f"{name}: {value!r} is not a valid {xsd}", field=name, record_id=record_id) from None
