"""Reads through pyodata: keyset pages over the change stamp, server paging (``__next``) inside each.

Each query asks ``$top=page_size`` rows ordered by (change stamp, key) at or after the cursor; the server
may answer fewer per response and link the rest with ``__next``, which is followed verbatim. When a
query returned ``page_size`` rows the next query starts after the last (stamp, key) seen. Every page
carries the (stamp, key) of its last row, so every page is safe to commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyodata.exceptions import HttpError, PyODataException

from concord.connectors.sap_odata.edmx import EntityType
from concord.connectors.sap_odata.filter import datetime_literal, datetimeoffset_literal, literal, time_literal
from concord.connectors.sap_odata.gwerror import error_for
from concord.connectors.sap_odata.metadata import CursorPlan
from concord.connectors.sap_odata.wire import UTC, jsonable, parse_time
from concord.hub.contracts import Cursor, Page
from concord.hub.errors import FatalError, RecordError, TransientError


@dataclass(frozen=True)
class ReadPlan:
    entity: str
    etype: EntityType
    cursor: CursorPlan | None
    expand: tuple[str, ...]
    deletion_flag: str | None
    page_size: int
    lookback: float
    system: str


def parse_cursor_value(value: str) -> dt.datetime:
    try:
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"cursor value {value!r} is not an ISO-8601 timestamp") from None
    return d.astimezone(UTC) if d.tzinfo else d.replace(tzinfo=UTC)


def format_cursor_value(when: dt.datetime) -> str:
    when = when.astimezone(UTC)
    return when.isoformat(timespec="microseconds" if when.microsecond else "seconds").replace("+00:00", "Z")


def stamp_of(plan: ReadPlan, proxy_values: dict[str, Any]) -> dt.datetime | None:
    """The change stamp of a row (as pyodata returned it), as an aware UTC datetime."""
    assert plan.cursor is not None
    if plan.cursor.kind == "offset":
        v = proxy_values.get("LastChangeDateTime")
        return None if v is None else (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC)
    d, t = proxy_values.get("LastChangeDate"), proxy_values.get("LastChangeTime")
    if d is None:
        return None
    day = (d if d.tzinfo else d.replace(tzinfo=UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if isinstance(t, str):
        t = parse_time(t)
    return day + (t or dt.timedelta(0))


def _lit(plan: ReadPlan, value: Any) -> str:
    """The cursor's key as the V2 literal of the key's type (``'A''B'``, ``42``, ``42L``, ``1.5M``, ``guid'...'``)."""
    try:
        return literal(plan.etype.properties[plan.etype.keys[0]].type, value)
    except ValueError as exc:
        raise RecordError(f"cursor key {value!r} of {plan.entity}: {exc}") from None


def cursor_filter(plan: ReadPlan, when: dt.datetime, key: str | None, *, inclusive: bool) -> str:
    """(stamp > T) or (stamp = T and key >= K), with >= / > on the key by ``inclusive``; T only when no key."""
    assert plan.cursor is not None
    op = "ge" if inclusive else "gt"
    keyname = plan.etype.keys[0] if len(plan.etype.keys) == 1 else None
    if plan.cursor.kind == "offset":
        lit = datetimeoffset_literal(when)
        if key is None or keyname is None:
            return f"LastChangeDateTime ge {lit}"
        return f"(LastChangeDateTime gt {lit}) or (LastChangeDateTime eq {lit} and {keyname} {op} {_lit(plan, key)})"
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    dlit, tlit = datetime_literal(day), time_literal(dt.timedelta(seconds=int((when - day).total_seconds())))
    head = f"(LastChangeDate gt {dlit}) or (LastChangeDate eq {dlit} and LastChangeTime gt {tlit})"
    if key is None or keyname is None:
        return f"{head} or (LastChangeDate eq {dlit} and LastChangeTime eq {tlit})"
    return f"{head} or (LastChangeDate eq {dlit} and LastChangeTime eq {tlit} and {keyname} {op} {_lit(plan, key)})"


def to_record(proxy: Any) -> dict[str, Any]:
    """An EntityProxy as the vendor's own JSON-able payload (ISO dates, decimals as strings, navs as results)."""
    from pyodata.v2.service import EntityProxy
    et_props = {p.name: p for p in proxy._entity_type.proprties()}  # noqa: SLF001 - pyodata has no public accessor
    out: dict[str, Any] = {}
    for name, value in proxy._cache.items():  # noqa: SLF001 - the values pyodata already parsed
        p = et_props.get(name)
        if p is not None:
            date_only = p.typ.name == "Edm.DateTime" and (getattr(p, "_display_format", None) or "").lower() == "date"
            out[name] = jsonable(value, date_only=date_only)
        elif isinstance(value, list):
            out[name] = {"results": [to_record(v) for v in value]}
        elif isinstance(value, EntityProxy):
            out[name] = to_record(value)
        elif value is None:
            out[name] = None
    if proxy.etag:
        out["__metadata"] = {"etag": proxy.etag}
    return out


class ServerPager:
    """One query and the ``__next`` chain the server links to it."""

    def __init__(self, entity_set: Any, *, filter_: str | None, orderby: str, top: int, skip: int | None,
                 expand: tuple[str, ...], system: str, select: tuple[str, ...] = ()) -> None:
        self.es, self.filter, self.orderby, self.top, self.skip = entity_set, filter_, orderby, top, skip
        self.expand, self.system, self.select = expand, system, select

    def __iter__(self) -> Iterator[list[Any]]:
        req = self.es.get_entities().order_by(self.orderby).top(self.top)
        if self.filter:
            req = req.filter(self.filter)
        if self.skip:
            req = req.skip(self.skip)
        if self.expand:
            req = req.expand(",".join(self.expand))
        if self.select:
            req = req.select(",".join(self.select))
        result = _execute(req, self.system)
        yield list(result)
        while result.next_url:
            result = _execute(self.es.get_entities().next_url(result.next_url), self.system)
            yield list(result)


def _execute(req: Any, system: str) -> Any:
    try:
        return req.execute()
    except HttpError as exc:
        r = exc.response
        raise error_for(r.status_code, r.content, system=system, record_id=None, what="read") from None
    except PyODataException as exc:
        raise FatalError(f"SAP read failed: {exc}", system=system) from None
    except (ValueError, KeyError) as exc:
        raise TransientError(f"SAP answered a malformed page: {exc}", system=system) from None


def read_pages(entity_set: Any, plan: ReadPlan, since: Cursor | None) -> Iterator[Page]:
    keys = plan.etype.keys
    if plan.cursor is None:
        yield from _snapshot(entity_set, plan)
        return
    order = ",".join((*plan.cursor.fields, *keys))
    bound: tuple[dt.datetime, str | None] | None = None
    inclusive = True
    if since is not None:
        when = parse_cursor_value(since.value)
        key = since.key
        if plan.lookback:
            when, key = when - dt.timedelta(seconds=plan.lookback), None
        bound = (when, key)
    keyset = len(keys) == 1
    skip = 0
    pending: Page | None = None
    while True:
        filt = cursor_filter(plan, bound[0], bound[1], inclusive=inclusive) if bound else None
        seen = 0
        last: tuple[dt.datetime, str] | None = None
        for rows in ServerPager(entity_set, filter_=filt, orderby=order, top=plan.page_size,
                                skip=None if keyset else skip, expand=plan.expand, system=plan.system):
            if not rows:
                continue
            seen += len(rows)
            records, deleted = [], []
            for proxy in rows:
                rec = to_record(proxy)
                stamp = stamp_of(plan, proxy._cache)  # noqa: SLF001
                sid = "|".join(str(rec.get(k)) for k in keys)
                if stamp is None:
                    raise RecordError(f"SAP {plan.entity} {sid!r} has no change stamp ({'/'.join(plan.cursor.fields)})",
                                      record_id=sid, system=plan.system)
                last = (stamp, sid)
                if plan.deletion_flag and rec.get(plan.deletion_flag) is True:
                    deleted.append(sid)
                else:
                    records.append(rec)
            if pending is not None:
                yield pending
            assert last is not None
            pending = Page(entity=plan.entity, records=records, deleted=tuple(deleted),
                           checkpoint=Cursor(value=format_cursor_value(last[0]), key=last[1]))
        if seen < plan.page_size or last is None:
            break
        if keyset:
            bound, inclusive = last, False
        else:
            skip += seen
    if pending is None:
        pending = Page(entity=plan.entity, records=[], checkpoint=since)
    yield pending.model_copy(update={"snapshot_complete": since is None})


def _snapshot(entity_set: Any, plan: ReadPlan) -> Iterator[Page]:
    """Sets without a change field: a full read ordered by key; the last page says the snapshot is complete."""
    order = ",".join(plan.etype.keys)
    skip, pending = 0, None
    while True:
        seen = 0
        for rows in ServerPager(entity_set, filter_=None, orderby=order, top=plan.page_size, skip=skip,
                                expand=plan.expand, system=plan.system):
            seen += len(rows)
            if not rows:
                continue
            if pending is not None:
                yield pending
            records = [to_record(p) for p in rows]
            pending = Page(entity=plan.entity, records=records)
        skip += seen
        if seen < plan.page_size:
            break
    yield (pending or Page(entity=plan.entity)).model_copy(update={"snapshot_complete": True})


def read_keys(entity_set: Any, plan: ReadPlan) -> Iterator[str]:
    """Every source id of a set ($select of the key fields only): for periodic key reconciliation."""
    skip = 0
    while True:
        seen = 0
        req_rows = ServerPager(entity_set, filter_=None, orderby=",".join(plan.etype.keys), top=plan.page_size,
                               skip=skip, expand=(), system=plan.system, select=plan.etype.keys)
        for rows in req_rows:
            seen += len(rows)
            for p in rows:
                yield "|".join(str(p._cache.get(k)) for k in plan.etype.keys)  # noqa: SLF001
        skip += seen
        if seen < plan.page_size:
            return
