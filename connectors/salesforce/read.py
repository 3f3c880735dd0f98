"""Reads: SOQL through ``query_all_iter`` (REST) or a Bulk API 2.0 query job, as pages.

- :class:`RestPaginator` groups the lazily fetched records into pages of ``page_size``;
  each page carries the (SystemModstamp, Id) of its last row as an inclusive checkpoint.
- :class:`BulkPaginator` turns each CSV result page into REST-shaped records; since a
  bulk result's order is not guaranteed, only its last page checkpoints.
- :class:`DeletedPaginator` asks ``sobjects/X/deleted/`` for deletes inside the retention window.
Nothing here holds more than one page.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from concord.hub.contracts import Cursor, Page
from concord.hub.errors import ConfigError, RecordError

log = logging.getLogger("concord.salesforce")


def soql_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_sf_datetime(text: str) -> dt.datetime:
    t = text.strip().replace("Z", "+00:00")
    if len(t) >= 5 and t[-5] in "+-" and t[-3] != ":":
        t = t[:-2] + ":" + t[-2:]
    value = dt.datetime.fromisoformat(t)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build_soql(sobject: str, select: list[str], *, since: Cursor | None, lookback: float) -> str:
    """``SELECT .. FROM X [WHERE inclusive cursor] ORDER BY SystemModstamp, Id``."""
    where = ""
    if since is not None:
        at = parse_sf_datetime(since.value)
        if lookback > 0 or not since.key:
            where = f" WHERE SystemModstamp >= {soql_datetime(at - dt.timedelta(seconds=lookback))}"
        else:
            stamp = soql_datetime(at)
            where = (f" WHERE (SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id >= {quote(since.key)}))")
    return f"SELECT {', '.join(select)} FROM {sobject}{where} ORDER BY SystemModstamp ASC, Id ASC"


def checkpoint_of(record: Mapping[str, Any], entity: str) -> Cursor:
    stamp, rid = record.get("SystemModstamp"), record.get("Id")
    if not stamp or not rid:
        raise RecordError(f"salesforce {entity} record {rid or '?'} has no SystemModstamp/Id; cannot checkpoint",
                          record_id=rid, field="SystemModstamp")
    return Cursor(value=stamp, key=rid)


def clean(record: Mapping[str, Any]) -> dict[str, Any]:
    """A plain JSON-able dict (simple-salesforce returns OrderedDicts)."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        if isinstance(v, Mapping):
            v = clean(v)
        elif isinstance(v, list):
            v = [clean(x) if isinstance(x, Mapping) else x for x in v]
        out[k] = v
    return out


class RestPaginator:
    """Pages over ``sf.query_all_iter`` (``query/`` or ``queryAll/``), each with a checkpoint."""

    def __init__(self, sf: Any, entity: str, soql: str, *, include_deleted: bool, page_size: int,
                 full: bool) -> None:
        self.sf, self.entity, self.soql = sf, entity, soql
        self.include_deleted, self.page_size, self.full = include_deleted, page_size, full

    def pages(self) -> Iterator[Page]:
        records: list[dict[str, Any]] = []
        deleted: list[str] = []
        last: Cursor | None = None
        n = 0
        hint = {"Sforce-Query-Options": f"batchSize={self.page_size}"}     # server batch = our page (200..2000)
        for raw in self.sf.query_all_iter(self.soql, include_deleted=self.include_deleted, headers=hint):
            rec = clean(raw)
            last = checkpoint_of(rec, self.entity)
            if rec.get("IsDeleted") is True:
                deleted.append(rec["Id"])
            else:
                records.append(rec)
            n += 1
            if n % self.page_size == 0:
                yield Page(entity=self.entity, records=records, checkpoint=last, deleted=tuple(deleted))
                records, deleted = [], []
        yield Page(entity=self.entity, records=records, checkpoint=last, deleted=tuple(deleted),
                   snapshot_complete=self.full)


class BulkPaginator:
    """A Bulk API 2.0 query job; CSV pages become REST-shaped records (typed by the describe)."""

    def __init__(self, sf: Any, entity: str, soql: str, describe: Mapping[str, Any], *, page_size: int,
                 poll_seconds: float, parents: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.sf, self.entity, self.soql = sf, entity, soql
        self.types = {f["name"]: f.get("type") for f in describe["fields"]}
        self.parents = parents or {}
        self.page_size, self.poll = page_size, poll_seconds

    def _convert(self, row: Mapping[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": self.entity}}
        for col, raw in row.items():
            value: Any = None if raw == "" else raw
            path = col.split(".")
            kind = self.types.get(path[0]) if len(path) == 1 else self.parents.get(col)
            if value is not None:
                if kind == "boolean":
                    value = raw.lower() == "true"
                elif kind in ("int", "long"):
                    value = int(float(raw))
                elif kind in ("double", "currency", "percent"):
                    value = float(raw)
            if len(path) == 1:
                out[col] = value
                continue
            node = out
            for p in path[:-1]:
                nxt = node.get(p)
                if not isinstance(nxt, dict):
                    nxt = node[p] = {"attributes": {"type": p}}
                node = nxt
            node[path[-1]] = value
        for k, v in list(out.items()):           # a parent whose every column is empty is null
            if isinstance(v, dict) and k != "attributes" and all(x is None for kk, x in v.items() if kk != "attributes"):
                out[k] = None
        return out

    def pages(self) -> Iterator[Page]:
        best: Cursor | None = None
        pending: Page | None = None
        for chunk in getattr(self.sf.bulk2, self.entity).query(self.soql, max_records=self.page_size,
                                                                    wait=self.poll):
            if pending is not None:
                yield pending
            records = [self._convert(r) for r in csv.DictReader(io.StringIO(chunk))]
            for r in records:
                cp = checkpoint_of(r, self.entity)
                if best is None or (parse_sf_datetime(cp.value), cp.key) > (parse_sf_datetime(best.value), best.key):
                    best = cp
            pending = Page(entity=self.entity, records=records, checkpoint=None)
        final = pending or Page(entity=self.entity)
        yield final.model_copy(update={"checkpoint": best, "snapshot_complete": True})


class DeletedPaginator:
    """``sobjects/X/deleted/?start=&end=``: one page of deleted ids, refused beyond the retention window."""

    def __init__(self, sf: Any, entity: str, start: dt.datetime, end: dt.datetime, retention_days: float,
                 checkpoint: Cursor | None) -> None:
        self.sf, self.entity, self.start, self.end = sf, entity, start, end
        self.retention, self.checkpoint = retention_days, checkpoint

    def pages(self) -> Iterator[Page]:
        check_retention(self.entity, self.start, self.end, self.retention)
        start = self.start.replace(second=0, microsecond=0)
        end = max(self.end, start + dt.timedelta(minutes=1))
        answer = getattr(self.sf, self.entity).deleted(start, end)
        ids = tuple(d["id"] for d in answer.get("deletedRecords") or ())
        checkpoint = self.checkpoint
        covered = answer.get("latestDateCovered")
        if covered and (checkpoint is None or parse_sf_datetime(covered) > parse_sf_datetime(checkpoint.value)):
            # Every row changed before latestDateCovered has been read: move the cursor up to it (no key: inclusive),
            # so a quiet org's cursor never ages out of the retention window.
            checkpoint = Cursor(value=covered, key=None)
        yield Page(entity=self.entity, deleted=ids, checkpoint=checkpoint)


def check_retention(entity: str, start: dt.datetime, now: dt.datetime, retention_days: float) -> None:
    oldest = now - dt.timedelta(days=retention_days)
    if start < oldest:
        raise ConfigError(
            f"salesforce {entity}: the cursor {soql_datetime(start)} is older than Salesforce's "
            f"{retention_days:g}-day delete retention (oldest {soql_datetime(oldest)}); deletes before that cannot be "
            "detected. Reset the stream's cursor to run a full read, which reconciles keys.", code="DELETE_WINDOW_EXPIRED")
