"""Closing quarantine entries: open entries of the records given are closed, nothing else is; a stream with
nothing open costs one probe, no update (and leaves no reference cycle behind: a load's peak memory grew
with the IN lists SQLAlchemy held in cycles until a full collection)."""
from __future__ import annotations

import datetime as dt
import gc

from sqlalchemy import event, select

from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import quarantine as store

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)


def _entry(system: str, sid: str) -> dict[str, object]:
    return {"system": system, "entity": "account", "source_id": sid, "stage": "map", "reason": "bad",
            "error": {"message": "bad"}, "payload": {"id": sid}, "run_id": None}


def _statuses(conn) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    q = T.quarantine.c
    return {(r.system, r.source_id): r.status for r in conn.execute(select(q.system, q.source_id, q.status))}


def test_close_resolves_open_entries_of_the_records_given_only(warehouse) -> None:  # type: ignore[no-untyped-def]
    with warehouse.tx() as conn:
        store.add(conn, [_entry("crm", "a"), _entry("crm", "b"), _entry("erp", "a")], NOW)
        store.close(conn, {("crm", "contact", "a"), ("crm", "account", "a"), ("crm", "account", "zz")},
                    store.QuarantineStatus.RESOLVED, NOW)
        assert _statuses(conn) == {("crm", "a"): "resolved", ("crm", "b"): "open", ("erp", "a"): "open"}


def test_a_stream_with_nothing_open_is_probed_not_updated(warehouse) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement.split()[0].upper())

    with warehouse.tx() as conn:
        store.add(conn, [_entry("erp", "a")], NOW)          # open, but in another stream
        event.listen(conn, "before_cursor_execute", count)
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            store.close(conn, {("crm", "account", f"id{i}") for i in range(1200)}, store.QuarantineStatus.RESOLVED, NOW)
            gc.collect()
            cycles = list(gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            event.remove(conn, "before_cursor_execute", count)
        assert seen == ["SELECT"]
        assert not [o for o in cycles if isinstance(o, list) and len(o) >= 500]
        assert _statuses(conn) == {("erp", "a"): "open"}
