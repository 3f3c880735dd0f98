"""Reads: ``GET /{module}`` in column groups, page numbers then ``page_token``, incremental by
``If-Modified-Since`` + ``sort_by=Modified_Time``, deletes from ``/{module}/deleted``, and COQL.

Paginators are small objects (:class:`RecordPager`, :class:`DeletedPager`, :class:`CoqlPager`);
:class:`ColumnJoin` stitches the column groups of a module wider than 50 fields back together.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from concord.connectors.zoho_crm.client import ZohoApi
from concord.connectors.zoho_crm.vendor import SYSTEM
from concord.hub.contracts import Cursor, EntitySpec, Page
from concord.hub.errors import ConfigError, FatalError

PAGE_NUMBER_LIMIT = 2000
COQL_LIMIT, COQL_MAX_OFFSET, COQL_MAX_COLUMNS = 2000, 100_000, 50
IDS_PER_CALL = 100


def parse_time(value: Any, what: str) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise FatalError(f"{what}: Modified_Time {value!r} is not an ISO-8601 datetime", system=SYSTEM) from None
    if d.tzinfo is None:
        raise FatalError(f"{what}: Modified_Time {value!r} has no UTC offset", system=SYSTEM)
    return d


def if_modified_since(since: Cursor, lookback_seconds: float) -> str:
    """Zoho returns records modified *after* this instant; step back one second to stay inclusive."""
    d = parse_time(since.value, "cursor") - dt.timedelta(seconds=1 + lookback_seconds)
    return d.isoformat(timespec="seconds")


def check_records(data: Any, module: str, page_no: int) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise FatalError(f"Zoho CRM {module} page {page_no}: 'data' is not a list", system=SYSTEM)
    for i, rec in enumerate(data):
        rid = rec.get("id") if isinstance(rec, dict) else None
        if not isinstance(rid, str) or not rid:
            raise FatalError(f"Zoho CRM {module} page {page_no} record {i}: no string 'id' in {str(rec)[:120]!r}",
                             system=SYSTEM)
    return data


class RecordPager:
    """One column group of ``GET /{module}``: pages of raw records, in Modified_Time order."""

    def __init__(self, api: ZohoApi, module: str, fields: list[str], *, per_page: int, ims: str | None) -> None:
        self.api, self.module, self.fields, self.per_page = api, module, fields, per_page
        self.headers = {"If-Modified-Since": ims} if ims else {}
        self.calls = 0

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        base = {"fields": ",".join(self.fields), "per_page": str(self.per_page),
                "sort_by": "Modified_Time", "sort_order": "asc"}
        page, token = 1, None
        while True:
            params = dict(base, page_token=token) if token else dict(base, page=str(page))
            self.calls += 1
            body = self.api.json("GET", self.module, f"GET {self.module} page {page}", params=params, headers=self.headers)
            if body is None:                         # 204: no (more) data
                return
            data = check_records(body.get("data"), self.module, page)
            info = body.get("info") or {}
            if data:
                yield data
            if not info.get("more_records") or not data:
                return
            token = info.get("next_page_token") or None
            page += 1
            if token is None and page * self.per_page > PAGE_NUMBER_LIMIT:
                raise FatalError(f"Zoho CRM {self.module}: more than {PAGE_NUMBER_LIMIT} records but no "
                                 "next_page_token offered (API version too old?)", system=SYSTEM)


class ColumnJoin:
    """Joins column groups read in parallel (same order, same filter) by record id.

    A record missing from a secondary group's aligned pages (it moved because it changed
    between the calls) is fetched by ``ids=``; reading ahead stops once the secondary has
    passed the primary page's last Modified_Time, so memory stays at about one page per group.
    """

    def __init__(self, primary: RecordPager, secondaries: list[RecordPager],
                 by_ids: Callable[[list[str], list[str]], list[dict[str, Any]]]) -> None:
        self.primary, self.secondaries, self.by_ids = primary, secondaries, by_ids

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        iters = [iter(s) for s in self.secondaries]
        buffers: list[dict[str, dict[str, Any]]] = [{} for _ in self.secondaries]
        last_seen: list[dt.datetime | None] = [None for _ in self.secondaries]
        done = [False for _ in self.secondaries]
        module = self.primary.module
        for page in self.primary:
            ids = [r["id"] for r in page]
            horizon = parse_time(page[-1].get("Modified_Time"), f"{module} record {ids[-1]}")
            for k, sec in enumerate(self.secondaries):
                buf = buffers[k]
                while not done[k] and any(i not in buf for i in ids) and (last_seen[k] is None or last_seen[k] <= horizon):
                    try:
                        chunk = next(iters[k])
                    except StopIteration:
                        done[k] = True
                        break
                    for r in chunk:
                        buf[r["id"]] = r
                    last_seen[k] = parse_time(chunk[-1].get("Modified_Time"), f"{module} record {chunk[-1]['id']}")
                missing = [i for i in ids if i not in buf]
                for start in range(0, len(missing), IDS_PER_CALL):
                    for r in self.by_ids(missing[start:start + IDS_PER_CALL], sec.fields):
                        buf[r["id"]] = r
                for r in page:
                    extra = buf.pop(r["id"], None)
                    if extra is None:       # deleted between the calls: keep what the primary group has
                        continue
                    for f in sec.fields:
                        if f != "Modified_Time":
                            r[f] = extra.get(f)
            yield page


class DeletedPager:
    """``GET /{module}/deleted`` (page numbers only): pages of deleted record ids."""

    def __init__(self, api: ZohoApi, module: str, *, kind: str, per_page: int, ims: str | None) -> None:
        self.api, self.module, self.kind, self.per_page = api, module, kind, per_page
        self.headers = {"If-Modified-Since": ims} if ims else {}

    def __iter__(self) -> Iterator[list[str]]:
        page = 1
        while True:
            body = self.api.json("GET", f"{self.module}/deleted", f"GET {self.module}/deleted page {page}",
                                 params={"type": self.kind, "page": str(page), "per_page": str(self.per_page)},
                                 headers=self.headers)
            if body is None:
                return
            data = check_records(body.get("data"), f"{self.module}/deleted", page)
            if data:
                yield [r["id"] for r in data]
            if not (body.get("info") or {}).get("more_records") or not data:
                return
            page += 1


def coql_string(value: str) -> str:
    """A COQL string literal: single quotes, a backslash before every quote and backslash inside."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class CoqlPager:
    """``POST /coql`` with ``limit offset, 2000`` until ``more_records`` is false (offset cap 100,000)."""

    def __init__(self, api: ZohoApi, module: str, columns: list[str], where: str, order_by: str = "id asc") -> None:
        if len(columns) > COQL_MAX_COLUMNS:
            raise ConfigError(f"COQL selects at most {COQL_MAX_COLUMNS} columns; {len(columns)} given")
        if not where.strip():
            raise ConfigError("COQL needs a where clause")
        self.api, self.module, self.columns, self.where, self.order_by = api, module, columns, where, order_by

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        offset = 0
        while True:
            if offset + COQL_LIMIT > COQL_MAX_OFFSET:
                raise ConfigError(f"COQL query on {self.module} matches more than {COQL_MAX_OFFSET} records; narrow the where clause")
            query = (f"select {', '.join(self.columns)} from {self.module} where {self.where} "
                     f"order by {self.order_by} limit {offset}, {COQL_LIMIT}")
            body = self.api.json("POST", "coql", f"COQL on {self.module}", json={"select_query": query})
            if body is None:
                return
            data = check_records(body.get("data"), f"COQL {self.module}", offset // COQL_LIMIT + 1)
            if data:
                yield data
            if not (body.get("info") or {}).get("more_records") or not data:
                return
            offset += COQL_LIMIT


class ZohoReader:
    def __init__(self, api: ZohoApi, *, per_page: int, max_fields: int, read_deleted: bool, deleted_type: str,
                 lookback_seconds: float) -> None:
        self.api, self.per_page, self.max_fields = api, per_page, max_fields
        self.read_deleted, self.deleted_type, self.lookback = read_deleted, deleted_type, lookback_seconds

    def groups(self, fields: list[str]) -> list[list[str]]:
        """Column groups of at most ``max_fields``; each carries Modified_Time (id always comes back)."""
        rest = [f for f in fields if f not in ("id", "Modified_Time")]
        size = self.max_fields - 1
        chunks = [rest[i:i + size] for i in range(0, len(rest), size)] or [[]]
        return [["Modified_Time", *c] for c in chunks]

    def by_ids(self, module: str) -> Callable[[list[str], list[str]], list[dict[str, Any]]]:
        def fetch(ids: list[str], fields: list[str]) -> list[dict[str, Any]]:
            body = self.api.json("GET", module, f"GET {module} by ids", params={"ids": ",".join(ids), "fields": ",".join(fields)})
            return check_records(body.get("data"), module, 0) if body else []
        return fetch

    def read(self, spec: EntitySpec, fields: list[str], since: Cursor | None) -> Iterator[Page]:
        ims = if_modified_since(since, self.lookback) if since else None
        groups = self.groups(fields)
        pagers = [RecordPager(self.api, spec.name, g, per_page=self.per_page, ims=ims) for g in groups]
        stream = ColumnJoin(pagers[0], pagers[1:], self.by_ids(spec.name)) if len(pagers) > 1 else pagers[0]
        pending: list[dict[str, Any]] | None = None
        checkpoint = since
        for page in stream:
            if pending is not None:
                yield Page(entity=spec.name, records=pending, checkpoint=checkpoint)
            last = page[-1]
            parse_time(last.get("Modified_Time"), f"{spec.name} record {last['id']}")
            checkpoint = Cursor(value=str(last["Modified_Time"]), key=str(last["id"]))
            pending = page
        deleted: list[str] = []
        if since is not None and self.read_deleted:
            for ids in DeletedPager(self.api, spec.name, kind=self.deleted_type, per_page=self.per_page, ims=ims):
                deleted.extend(ids)
        yield Page(entity=spec.name, records=pending or [], checkpoint=checkpoint if pending else None,
                   deleted=tuple(deleted), snapshot_complete=since is None)

    def coql(self, module: str, columns: list[str], where: str, order_by: str = "id asc") -> Iterator[Page]:
        for data in CoqlPager(self.api, module, columns, where, order_by):
            yield Page(entity=module, records=data, checkpoint=None)
