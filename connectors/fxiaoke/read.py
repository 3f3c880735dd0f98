"""Reads: ``data/query`` paged by a keyset over ``(last_modified_time, _id)``.

Fxiaoke caps ``limit`` at 100, wants ``offset`` to be a multiple of ``limit`` and refuses
offsets past 10000 (``errorCode 10013``), so offset paging cannot read a large object, and
it skips rows when a row already read is modified (the rows behind it shift left). The
:class:`KeysetPaginator` therefore keeps ``offset`` at 0 and moves a filter instead:

1. ``last_modified_time GTE t`` ordered by ``last_modified_time``, ``_id`` ascending;
   rows with ``(t, _id <= k)`` were read on the previous page and are dropped;
2. when a whole page consists of such ties (100+ rows share one millisecond), it pages
   through that millisecond with ``last_modified_time EQ t AND _id GT k``, then goes on
   with ``last_modified_time GT t``.

A page costs one call; the overhead is re-reading the previous page's last millisecond (at least its
last row: about 1% more calls than ``ceil(rows / 100)`` with ``limit`` 100).
Deletes: rows with ``life_status = invalid`` (作废) or ``is_deleted = true`` come back in
the same stream and are reported in ``Page.deleted``; hard-deleted rows are found by the
engine's key reconciliation after a full read (``snapshot_complete``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from concord.connectors.fxiaoke.client import FxiaokeClient, data_path
from concord.connectors.fxiaoke.codec import Codec
from concord.connectors.fxiaoke.metadata import CURSOR_FIELD as LMT
from concord.hub.contracts import Cursor, EntitySpec, Page
from concord.hub.errors import FatalError, RecordError

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ORDERS = [{"fieldName": LMT, "isAsc": True}, {"fieldName": "_id", "isAsc": True}]


def ms_to_iso(ms: int) -> str:
    return (EPOCH + dt.timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")


def iso_to_ms(value: str) -> int:
    """A cursor value (ISO-8601 with offset, or epoch ms as digits) as epoch ms."""
    v = value.strip()
    if v.lstrip("-").isdigit():
        return int(v)
    d = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return (d - EPOCH) // dt.timedelta(milliseconds=1)


def _key(row: Mapping[str, Any], entity: str) -> tuple[int, str]:
    _id, ts = row.get("_id"), row.get(LMT)
    if not _id:
        raise FatalError(f"fxiaoke {entity}: a row without _id came back from data/query: {sorted(row)[:8]}")
    try:
        return int(ts), str(_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RecordError(f"fxiaoke {entity} {_id}: {LMT} is {ts!r}, not epoch ms", record_id=str(_id),
                          field=LMT) from None


@dataclass
class KeysetPaginator:
    """Keyset paging state over (last_modified_time, _id); see the module docstring."""

    limit: int
    entity: str = "?"
    since_ms: int | None = None
    last_ts: int | None = None
    last_id: str | None = None
    mode: str = "gte"          # gte | tie | gt
    done: bool = False

    def filters(self) -> list[dict[str, Any]]:
        if self.mode == "tie":
            return [{"field_name": LMT, "operator": "EQ", "field_values": [self.last_ts]},
                    {"field_name": "_id", "operator": "GT", "field_values": [self.last_id]}]
        if self.mode == "gt":
            return [{"field_name": LMT, "operator": "GT", "field_values": [self.last_ts]}]
        start = self.last_ts if self.last_ts is not None else self.since_ms
        return [] if start is None else [{"field_name": LMT, "operator": "GTE", "field_values": [start]}]

    def search_query_info(self) -> dict[str, Any]:
        return {"limit": self.limit, "offset": 0, "filters": self.filters(), "orders": ORDERS}

    def take(self, rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The rows of this answer not seen before; advances the state."""
        full = len(rows) >= self.limit
        keys = [_key(r, self.entity) for r in rows]
        if self.mode == "gte" and self.last_id is not None:
            seen = (self.last_ts, self.last_id)
            new = [r for r, k in zip(rows, keys) if k > seen]
        else:
            new = list(rows)
        if new:
            self.last_ts, self.last_id = _key(new[-1], self.entity)
        if self.mode == "tie":
            self.mode = "tie" if full else "gt"
        elif full and not new:
            self.mode = "tie"       # a whole page of already-read ties: walk that millisecond by _id
        elif not full:
            self.done = True
        else:
            self.mode = "gte"
        return new


def is_deleted(row: Mapping[str, Any]) -> bool:
    return row.get("life_status") == "invalid" or row.get("is_deleted") is True


def rows_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    data = answer.get("data")
    if isinstance(data, dict) and "dataList" in data:
        rows = data.get("dataList") or []
    elif isinstance(data, dict) and "_id" in data:   # some documented samples show a single map
        rows = [data]
    elif data in (None, {}):
        rows = []
    else:
        raise FatalError(f"fxiaoke data/query: unexpected data shape ({type(data).__name__}) "
                         f"[traceId {answer.get('traceId', '-')}]")
    if not isinstance(rows, list):
        raise FatalError(f"fxiaoke data/query: data.dataList is not a list [traceId {answer.get('traceId', '-')}]")
    return rows


class Reader:
    def __init__(self, client: FxiaokeClient, page_size: int, lookback_seconds: float = 0.0) -> None:
        self.client, self.page_size, self.lookback = client, page_size, lookback_seconds

    def query(self, api: str, sqi: dict[str, Any]) -> list[dict[str, Any]]:
        payload = {"data": {"dataObjectApiName": api, "find_explicit_total_num": False, "search_query_info": sqi}}
        return rows_of(self.client.call(data_path(api, "query"), payload))

    def pages(self, spec: EntitySpec, since: Cursor | None, codec: Codec,
              detail: tuple[str, str] | None = None) -> Iterator[Page]:
        since_ms = None
        if since is not None:
            try:
                since_ms = iso_to_ms(since.value) - int(self.lookback * 1000)
            except ValueError:
                raise FatalError(f"fxiaoke {spec.name}: cursor value {since.value!r} is not a timestamp") from None
        pag = KeysetPaginator(limit=self.page_size, entity=spec.name, since_ms=since_ms)
        full_read = since is None
        checkpoint = since
        while not pag.done:
            new = pag.take(self.query(spec.name, pag.search_query_info()))
            if not new:
                continue
            records = [r for r in new if not is_deleted(r)]
            deleted = tuple(str(r["_id"]) for r in new if is_deleted(r))
            if detail and records:
                records = self.embed(records, *detail)
            records = [codec.decode(r) for r in records]
            checkpoint = Cursor(value=ms_to_iso(pag.last_ts or 0), key=pag.last_id)
            yield Page(entity=spec.name, records=records, checkpoint=checkpoint, deleted=deleted,
                       snapshot_complete=full_read and pag.done)
            if full_read and pag.done:
                return
        if full_read:
            yield Page(entity=spec.name, records=[], checkpoint=checkpoint, snapshot_complete=True)

    def embed(self, masters: list[dict[str, Any]], detail_api: str, link: str) -> list[dict[str, Any]]:
        """Attach each master's live detail rows under ``detail_api`` (one IN query per master page)."""
        ids = [str(m["_id"]) for m in masters]
        lines: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        offset = 0
        while True:
            sqi = {"limit": 100, "offset": offset, "orders": [{"fieldName": "_id", "isAsc": True}],
                   "filters": [{"field_name": link, "operator": "IN", "field_values": ids}]}
            rows = self.query(detail_api, sqi)
            for r in rows:
                if not is_deleted(r) and str(r.get(link)) in lines:
                    lines[str(r[link])].append(r)
            if len(rows) < 100:
                break
            offset += 100
        out = []
        for m in masters:
            ls = sorted(lines[str(m["_id"])], key=lambda r: (_num(r.get("line_no__c")), str(r.get("name", ""))))
            out.append({**m, detail_api: ls})
        return out


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("inf")
