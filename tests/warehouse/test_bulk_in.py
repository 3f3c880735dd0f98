"""``bulk_in.update_in`` and ``bulk_in.delete_in``: a statement per chunk of ids, rendered once and run through the
driver, with what Core's ``update``/``delete ... IN`` would do, and no id list left in cyclic garbage."""
from __future__ import annotations

import datetime as dt
import gc
from typing import Any

from sqlalchemy import select

from concord.hub.engine.util import land_encoding
from concord.hub.warehouse import bulk_in
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import staging
from concord.hub.warehouse.stores.staging import RawStatus

NOW = dt.datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=dt.timezone.utc)


def _stage(conn: Any, system: str, n: int) -> None:
    staging.stage(conn, [{"system": system, "entity": "account", "source_id": f"a-{i}", "source_entity": "accounts",
                          "payload": land_encoding({"id": i})[1], "payload_hash": f"h{i}", "source_updated_at": None,
                          "deleted": False, "status": RawStatus.PENDING, "seen_run": 1, "landed_at": NOW}
                         for i in range(n)])


def _rows(conn: Any) -> dict[tuple[str, str], tuple[str, Any]]:
    r = T.raw_record.c
    return {(x.system, x.source_id): (x.status, x.mapped_at)
            for x in conn.execute(select(r.system, r.source_id, r.status, r.mapped_at))}


def test_update_in_and_delete_in_touch_exactly_the_rows_asked_for(warehouse: Any) -> None:
    """Chunks of 3 ids; values through their columns' processors (an enum, a datetime with microseconds);
    the fixed conditions keep another stream's rows with the same ids untouched; ids not there are no error."""
    with warehouse.tx() as conn:
        _stage(conn, "crm", 10)
        _stage(conn, "erp", 10)
        ids = [f"a-{i}" for i in (1, 2, 3, 5, 8, 9)] + ["a-404"]
        bulk_in.update_in(conn, T.raw_record, {"status": RawStatus.MAPPED, "mapped_at": NOW},
                       [("system", "=", "crm"), ("entity", "=", "account")], "source_id", ids, chunk=3)
        rows = _rows(conn)
        for (system, sid), (status, mapped_at) in rows.items():
            asked = system == "crm" and sid in ids
            assert status == (RawStatus.MAPPED if asked else RawStatus.PENDING), (system, sid)
            assert (mapped_at is not None) == asked
            if asked:
                assert mapped_at.replace(tzinfo=mapped_at.tzinfo or dt.timezone.utc) == NOW
        bulk_in.delete_in(conn, T.raw_record, [("system", "=", "erp"), ("status", "!=", RawStatus.MAPPED)],
                       "source_id", ["a-0", "a-1", "a-7"], chunk=2)
        left = _rows(conn)
        assert set(rows) - set(left) == {("erp", "a-0"), ("erp", "a-1"), ("erp", "a-7")}
        bulk_in.update_in(conn, T.raw_record, {"status": RawStatus.QUARANTINED}, [], "source_id", [])   # nothing asked


def test_no_id_list_is_left_in_cyclic_garbage(warehouse: Any) -> None:
    """Core keeps an ``in_()`` statement's bound list in a reference cycle until a full collection (a load's
    relaxed GC makes those rare); these statements leave none."""
    with warehouse.tx() as conn:
        _stage(conn, "crm", 50)
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(3):
                ids = [f"a-{i}" for i in range(40)]
                bulk_in.update_in(conn, T.raw_record, {"status": RawStatus.MAPPED, "mapped_at": NOW},
                               [("system", "=", "crm")], "source_id", ids, chunk=20)
                bulk_in.delete_in(conn, T.raw_record, [("system", "=", "nowhere")], "source_id", ids, chunk=20)
                del ids
            gc.collect()
            cyclic = [o for o in gc.garbage if isinstance(o, list) and any(str(x).startswith("a-") for x in o)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert cyclic == []
