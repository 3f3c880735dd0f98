"""Pending staged records are read a batch at a time in source-id order, over an index that gives them so
(``stores/staged.pending``; migration 0010)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, inspect, text

from concord.hub.engine.util import land_encoding
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.stores import staged, staging
from concord.hub.warehouse.stores.staging import RawStatus

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)


def _stage(conn: Any, n: int, mapped_every: int) -> list[str]:
    """``n`` staged records of one stream, every ``mapped_every``-th one pending; the pending ids in order."""
    rows = [{"system": "crm", "entity": "account", "source_id": f"a-{i:04d}", "source_entity": "accounts",
             "payload": land_encoding({"id": i})[1], "payload_hash": f"h{i}", "source_updated_at": None, "deleted": False,
             "status": RawStatus.PENDING if i % mapped_every == 0 else RawStatus.MAPPED, "seen_run": 1,
             "landed_at": NOW} for i in range(n)]
    staging.stage(conn, rows)
    return [r["source_id"] for r in rows if r["status"] == RawStatus.PENDING]


def test_pending_records_come_in_batches_in_source_id_order_over_their_own_index(warehouse: Any) -> None:
    """A stream with 1 record in 10 pending, read 7 at a time: every pending record once, in order, the
    payloads decoded and as text alike; on SQLite the read searches the pending index by status and
    source id (it walked the primary key and read every row to test its status before)."""
    with warehouse.tx() as conn:
        want = _stage(conn, 200, 10)
        statements: list[tuple[str, Any]] = []

        def seen(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
            statements.append((statement, params))

        event.listen(warehouse.engine, "before_cursor_execute", seen)
        try:
            got, texts, after = [], [], ""
            while batch := staged.pending(conn, "crm", "account", after, 7):
                got += [p.source_id for p in batch]
                texts += [t.source_id for t in staged.pending_texts(conn, "crm", "account", after, 7)]
                assert all(p.payload == {"id": int(p.source_id[2:])} for p in batch)
                after = batch[-1].source_id
        finally:
            event.remove(warehouse.engine, "before_cursor_execute", seen)
        assert got == want and texts == want
        if warehouse.dialect == "sqlite":
            sql, params = next((s, p) for s, p in statements if "raw_record" in s and "LIMIT" in s)
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert "ix_raw_record_pending" in plan and "source_id>?" in plan, plan


def test_the_migration_replaces_the_status_index(database_url: str) -> None:
    """A warehouse at revision 0009 (the index on system, entity and status) gets the pending index in its
    place, and its staged records are read as before."""
    wh = Warehouse.open(database_url)
    with wh.engine.begin() as c:
        c.execute(text("DROP INDEX ix_raw_record_pending"))
        c.execute(text("CREATE INDEX ix_raw_record_status ON raw_record (system, entity, status)"))
        c.execute(text("UPDATE alembic_version SET version_num = '0009_pending_keysets'"))
        want = _stage(c, 30, 3)
    wh.dispose()
    wh = Warehouse.open(database_url)
    try:
        with wh.tx() as c:
            indexes = {ix["name"]: ix["column_names"] for ix in inspect(c).get_indexes("raw_record")}
            assert [p.source_id for p in staged.pending(c, "crm", "account", "", 100)] == want
    finally:
        wh.dispose()
    assert indexes.get("ix_raw_record_pending") == ["system", "entity", "status", "source_id"]
    assert "ix_raw_record_status" not in indexes


def test_pending_records_read_without_payloads_get_them_or_one_field_on_demand(warehouse: Any) -> None:
    """Records a mapping worker maps are read without their payloads; the others' payloads are read after
    (``with_payloads``), and one field of any of them is read in the database (``payload_values``) as the
    decoded payload would give it: text, numbers, objects and lists alike, null and missing left out."""
    payloads = {"a-1": {"id": 1, "ext": "g-77"}, "a-2": {"id": 2, "ext": 12}, "a-3": {"id": 3, "ext": None},
                "a-4": {"id": 4}, "a-5": {"id": 5, "ext": {"n": [1, "x"]}}, "a-6": {"id": 6, "ext": ["é", 2.5]}}
    with warehouse.tx() as conn:
        staging.stage(conn, [{"system": "crm", "entity": "account", "source_id": sid, "source_entity": "accounts",
                              "payload": land_encoding(p)[1], "payload_hash": sid, "source_updated_at": None,
                              "deleted": False, "status": RawStatus.PENDING, "seen_run": 1, "landed_at": NOW}
                             for sid, p in payloads.items()])
        light = staged.pending(conn, "crm", "account", "", 100, payloads=False)
        assert [p.source_id for p in light] == sorted(payloads) and all(p.payload is None for p in light)
        assert [p.payload_hash for p in light] == sorted(payloads)
        some = staged.with_payloads(conn, "crm", "account", light, ["a-2", "a-5"])
        assert [p.payload for p in some] == [None, payloads["a-2"], None, None, payloads["a-5"], None]
        assert [p._replace(payload=None) for p in some] == light
        assert staged.with_payloads(conn, "crm", "account", some, []) == some
        got = staged.payload_values(conn, "crm", "account", list(payloads), "ext")
        assert got == {sid: p["ext"] for sid, p in payloads.items() if p.get("ext") is not None}
