"""Reads: ``ReadMultiple`` with NAV filters and ``bookmarkKey`` paging.

A page service returns records in primary-key order, not in change-date order,
and the change date (``Last_Date_Modified``) is a date only. So:

- a full read sends one empty filter on the key field, pages with ``bookmarkKey``
  (the ``Key`` of the previous page's last record) until a page is shorter than
  ``setSize``, and marks the last page ``snapshot_complete`` (deletes are found by
  key reconciliation: there is no deleted-records feed);
- an incremental read filters ``Last_Date_Modified`` on ``cursor - overlap_days..``
  (the overlap re-reads late commits and server/client date skew);
- the cursor only moves on the last page (the order is by key, so a middle page
  says nothing about dates). :class:`TieOrder` emits the records that carry the
  newest date last, so the last page holds the tie set of its checkpoint:
  ``Cursor(value=max date, key=last id)`` names a record of that page.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from zeep.helpers import serialize_object

from concord.connectors.soap_erp import navfilter
from concord.connectors.soap_erp.keys import PageKey
from concord.connectors.soap_erp.opmap import OperationMap, Paging
from concord.hub.contracts import Cursor, Page
from concord.hub.errors import RecordError


class BookmarkPaginator:
    """NAV paging state: the bookmark of the next call and whether the set is exhausted."""

    def __init__(self, paging: Paging, page_size: int, key_field: str) -> None:
        self.paging, self.size, self.key_field = paging, page_size, key_field
        self.bookmark: str | None = None
        self.done = False
        self.calls = 0

    def params(self, filters: list[dict[str, str]]) -> dict[str, Any]:
        p = self.paging
        out: dict[str, Any] = {p.filter_param: filters, p.size_param: self.size}
        if self.bookmark:
            out[p.bookmark_param] = self.bookmark
        return out

    def advance(self, records: list[Mapping[str, Any]]) -> None:
        self.calls += 1
        if len(records) < self.size:
            self.done = True
            return
        key = records[-1].get(self.key_field)
        if not key:
            raise RecordError(f"the last record of a page has no {self.key_field}: cannot page on", field=self.key_field)
        if key == self.bookmark:
            raise RecordError(f"the server returned the same bookmark twice ({self.key_field}); paging would loop")
        self.bookmark = key


class TieOrder:
    """Holds back the records at the newest change date seen so far, so they come out last.

    At most ``cap`` records are held back; beyond that they flow out in key order
    (the checkpoint is still correct, only the tie set is no longer all at the end).
    """

    def __init__(self, date_field: str | None, cap: int) -> None:
        self.field, self.cap = date_field, cap
        self.max: str | None = None
        self.tail: list[dict[str, Any]] = []

    def feed(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.field:
            return records
        out: list[dict[str, Any]] = []
        for r in records:
            d = r.get(self.field)
            if d is not None and (self.max is None or d > self.max):
                out.extend(self.tail)
                self.tail, self.max = [r], d
            elif d is not None and d == self.max and len(self.tail) < self.cap:
                self.tail.append(r)
            else:
                out.append(r)
        return out

    def drain(self) -> list[dict[str, Any]]:
        out, self.tail = self.tail, []
        return out


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def unwrap_records(result: Any, record_param: str) -> list[dict[str, Any]]:
    """zeep's answer (None, a record, a list, or a wrapper such as Customer_List) as plain dicts."""
    data = serialize_object(result, target_cls=dict)
    while isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), (list, dict)):
        key = next(iter(data))
        inner = data[key]
        if key != record_param and not isinstance(inner, list):
            data = inner
            continue
        data = inner
        break
    if data is None:
        return []
    if isinstance(data, dict):
        data = [data]
    return [jsonable(r) for r in data]


def since_filter(opmap: OperationMap, since: Cursor) -> list[dict[str, str]]:
    cd = opmap.change_date
    assert cd is not None
    try:
        day = dt.date.fromisoformat(since.value[:10])
    except ValueError:
        raise RecordError(f"cursor value {since.value!r} is not a date (YYYY-MM-DD)", field=cd.field) from None
    lower = day - dt.timedelta(days=cd.overlap_days)
    p = opmap.paging
    return [{p.filter_field: cd.field, p.filter_criteria: navfilter.at_least(lower)}]


def read_pages(entity: str, opmap: OperationMap, call_list: Callable[[dict[str, Any]], Any], record_param: str,
               page_size: int, since: Cursor | None, key: PageKey | None = None,
               source_id_field: str | None = None) -> Iterator[Page]:
    """Yield Pages of raw records; ``call_list(params)`` performs one ReadMultiple.

    Every record must carry its key fields. With a composite key, each record also gets
    ``source_id_field`` = the encoded key (:mod:`concord.connectors.soap_erp.keys`), the entity's primary key.
    """
    key = key or PageKey(opmap.fields.key_names, tuple(k.type for k in opmap.fields.key))
    key_field = opmap.fields.version_key
    p = opmap.paging
    date_field = opmap.change_date.field if opmap.change_date else None
    if since is not None and date_field:
        filters = since_filter(opmap, since)
    else:
        filters = [{p.filter_field: key.names[0], p.filter_criteria: ""}]
    pager = BookmarkPaginator(p, page_size, key_field)
    ties = TieOrder(date_field, cap=max(page_size * 10, 1000))
    while not pager.done:
        records = unwrap_records(call_list(pager.params(filters)), record_param)
        for i, r in enumerate(records):
            sid = key.source_id(r)
            if sid is None:
                missing = [n for n in key.names if r.get(n) in (None, "")]
                raise RecordError(f"{entity}: record {i + 1} of a ReadMultiple page has no {', '.join(missing)} "
                                  f"(Key={str(r.get(key_field))[:40]!r})", field=missing[0] if missing else None)
            if source_id_field:
                r[source_id_field] = sid
        pager.advance(records)
        out = ties.feed(records)
        if pager.done:
            break
        if out:
            yield Page(entity=entity, records=out, checkpoint=None)
    last = out + ties.drain()
    if ties.max is not None:
        checkpoint: Cursor | None = Cursor(value=ties.max, key=key.source_id(last[-1]) if last else None)
        if since is not None and since.value[:10] > ties.max:
            checkpoint = since
    else:
        checkpoint = since
    yield Page(entity=entity, records=last, checkpoint=checkpoint, snapshot_complete=since is None)
