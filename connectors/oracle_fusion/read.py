"""Reads: ordered pages by offset or by key (seek), inclusive cursors with a tie-break, children in full.

Every request carries ``orderBy=<cursor>:asc,<key>:asc``, so each page's last
row is a safe checkpoint. Two paginators, small objects tested on their own:

- :class:`OffsetPaginator`: ``limit`` / ``offset`` / ``hasMore`` (any framework version);
- :class:`KeysetPaginator`: each next page asks for rows strictly after the last
  row read (``(LastUpdateDate > v or (LastUpdateDate = v and Key > k))``, framework
  2+). A row updated while we page moves to the end instead of shifting the
  offsets under us, so nothing is skipped, and deep offsets are never scanned.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from concord.hub.contracts import Cursor, EntitySpec, Page
from concord.hub.errors import FatalError
from concord.connectors.oracle_fusion import qgrammar
from concord.connectors.oracle_fusion.config import OracleFusionConfig, ResourceConfig
from concord.connectors.oracle_fusion.metadata import parse_json
from concord.connectors.oracle_fusion.vendor_errors import from_response

Getter = Callable[[str, dict[str, Any]], requests.Response]


class OffsetPaginator:
    """``offset += count`` while ``hasMore``; the filter stays the same on every page."""

    def __init__(self, limit: int, q: str | None) -> None:
        self.limit, self.q, self.offset = limit, q, 0

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"limit": self.limit, "offset": self.offset}
        if self.q:
            out["q"] = self.q
        return out

    def advance(self, body: Mapping[str, Any], last: Mapping[str, Any] | None) -> bool:
        count = int(body.get("count") or 0)
        self.offset += count
        return bool(body.get("hasMore")) and count > 0


class KeysetPaginator:
    """Every page after the first asks for rows strictly after the last row read (framework 2+)."""

    def __init__(self, limit: int, version: int, field: str, key_field: str, to_key: Callable[[Any], Any],
                 first_q: str | None, extra_q: str | None) -> None:
        self.limit, self.version, self.field, self.key_field = limit, version, field, key_field
        self.to_key, self.extra_q = to_key, extra_q
        self.q = qgrammar.combine(version, extra_q, first_q)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"limit": self.limit, "offset": 0}
        if self.q:
            out["q"] = self.q
        return out

    def advance(self, body: Mapping[str, Any], last: Mapping[str, Any] | None) -> bool:
        if not body.get("hasMore") or last is None:
            return False
        after = qgrammar.build_cursor_filter(self.version, self.field, last[self.field], key_field=self.key_field,
                                             key=self.to_key(last[self.key_field]), strict=True)
        self.q = qgrammar.combine(self.version, self.extra_q, after)
        return True


def _minus(value: str, seconds: float) -> str:
    if not seconds:
        return value
    ts = qgrammar.coerce(value, "datetime") - dt.timedelta(seconds=seconds)
    return ts.isoformat(timespec="milliseconds")


class Reader:
    def __init__(self, get: Getter, config: OracleFusionConfig, *, system: str) -> None:
        self.get, self.config, self.system = get, config, system

    def key_converter(self, spec: EntitySpec, key_field: str) -> Callable[[Any], Any]:
        f = spec.field(key_field)
        return int if f is not None and f.type == "integer" else str

    def paginator(self, spec: EntitySpec, rc: ResourceConfig, since: Cursor | None) -> OffsetPaginator | KeysetPaginator:
        v, cfg = self.config.framework_version, self.config
        cursor = spec.cursor
        to_key = self.key_converter(spec, rc.key)
        first = None
        if since is not None and cursor is not None:
            value = _minus(since.value, cursor.lookback_seconds)
            key = to_key(since.key) if since.key is not None and not cursor.lookback_seconds else None
            first = qgrammar.build_cursor_filter(v, cursor.field, value, key_field=rc.key, key=key)
        keyset = cursor is not None and v >= 2 and cfg.paging in ("auto", "keyset")
        if cfg.paging == "keyset" and not keyset:
            raise FatalError(f"{self.system}: keyset paging needs framework version 2+ and a cursor field "
                             f"({spec.name})", system=self.system)
        if keyset:
            assert cursor is not None
            return KeysetPaginator(cfg.page_size, v, cursor.field, rc.key, to_key, first, rc.filter)
        return OffsetPaginator(cfg.page_size, qgrammar.combine(v, rc.filter, first))

    def base_params(self, spec: EntitySpec, rc: ResourceConfig) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.config.only_data:
            out["onlyData"] = "true"
        order = [f"{spec.cursor.field}:asc"] if spec.cursor else []
        out["orderBy"] = ",".join(order + [f"{rc.key}:asc"])
        if rc.expand:
            out["expand"] = ",".join(rc.expand)
        if rc.fields:
            needed = [rc.key] + ([spec.cursor.field] if spec.cursor else [])
            out["fields"] = ",".join(dict.fromkeys(needed + list(rc.fields)))
        return out

    def pages(self, spec: EntitySpec, rc: ResourceConfig, since: Cursor | None) -> Iterator[Page]:
        pager = self.paginator(spec, rc, since)
        base = self.base_params(spec, rc)
        checkpoint = since
        while True:
            resp = self.get(rc.path, {**base, **pager.params()})
            if resp.status_code >= 400:
                raise from_response(resp, system=self.system, reading=True)
            body = parse_json(resp)
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise FatalError(f"{self.system}: {rc.path} answered without an items array", system=self.system)
            records = [self._complete(rc, item) for item in body["items"]]
            last = records[-1] if records else None
            if last is not None and spec.cursor is not None:
                value = last.get(spec.cursor.field)
                if value in (None, ""):
                    raise FatalError(f"{self.system}: {spec.name} record {last.get(rc.key)} has no "
                                     f"{spec.cursor.field}; cannot checkpoint", system=self.system)
                checkpoint = Cursor(value=str(value), key=str(last.get(rc.key)))
            more = pager.advance(body, last)
            yield Page(entity=spec.name, records=records, checkpoint=checkpoint if spec.cursor else None,
                       snapshot_complete=not more and since is None and not rc.filter)
            if not more:
                return

    def _complete(self, rc: ResourceConfig, item: dict[str, Any]) -> dict[str, Any]:
        """Children as plain lists; a child collection cut at its page size is read to the end by its link."""
        for child in rc.expand:
            value = item.get(child)
            if not isinstance(value, dict):
                continue
            rows = list(value.get("items") or [])
            if value.get("hasMore"):
                key = item.get(rc.key)
                if key is None:
                    raise FatalError(f"{self.system}: cannot follow child {child} without {rc.key}", system=self.system)
                path = f"{rc.path}/{quote(str(key), safe='')}/child/{child}"
                more = True
                while more:
                    resp = self.get(path, {"limit": self.config.page_size, "offset": len(rows), "onlyData": "true"})
                    if resp.status_code >= 400:
                        raise from_response(resp, system=self.system, reading=True)
                    page = parse_json(resp)
                    rows.extend(page.get("items") or [])
                    more = bool(page.get("hasMore")) and bool(page.get("items"))
            item[child] = rows
        return item
