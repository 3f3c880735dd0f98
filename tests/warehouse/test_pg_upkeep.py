"""PostgreSQL upkeep after a load (autovacuum may be off, and is a minute late at best): golden reads analyse
a golden table whose statistics trail its size, and the keys' pending table is vacuumed once settled."""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import text

from concord.hub.warehouse.stores import golden as golden_store
from concord.hub.warehouse.stores import lookup
from concord.hub.warehouse.stores import match_keys, staged, staging
from concord.hub.warehouse.stores.staging import RawStatus
from concord.hub.warehouse.stores import xrefs as xref_store

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)


def _golden(n: int) -> list[dict[str, Any]]:
    return [{"entity": "account", "golden_id": f"g{i:05d}", "data": {"name": f"n{i}"}, "data_hash": f"h{i}",
             "version": 1, "deleted": False, "title": f"n{i}", "lineage": None, "created_at": NOW,
             "updated_at": NOW} for i in range(n)]


def _stat(warehouse: Any, table: str, column: str) -> int:
    """One of the table's counts in ``pg_stat_user_tables``, as the statistics hold it now."""
    with warehouse.tx() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(conn.execute(text(f"SELECT {column} FROM pg_stat_user_tables WHERE relid = to_regclass(:t)"),
                                {"t": table}).scalar() or 0)


def _counted(warehouse: Any, table: str, rows: int) -> None:
    """Wait until the statistics count the table's rows (they report a commit a moment after it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _stat(warehouse, table, "n_live_tup") >= rows:
            return
        time.sleep(0.2)
    raise AssertionError(f"{table}: the statistics never counted {rows} rows")


def test_golden_reads_first_analyse_a_golden_table_the_planner_believes_small(warehouse: Any) -> None:
    """2,000 golden records saved with no ANALYZE since (an initial load never reads them): reading some
    back brings the planner's row count to the table's; on SQLite the read is the same read."""
    with warehouse.tx() as conn:
        golden_store.save(conn, _golden(2000))
    if warehouse.dialect == "postgresql":
        _counted(warehouse, "golden", 2000)
    with warehouse.tx() as conn:
        # a read of no ids (an initial load's batches ask for none) analyses nothing: ANALYZE costs a sample
        # of the table, and a load filling it would pay that at every doubling
        assert golden_store.load(conn, "account", []) == {}
        assert lookup.data_of(conn, "account", []) == {} and lookup.live_data_of(conn, "account", set()) == {}
        if warehouse.dialect == "postgresql":
            assert conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('golden')")).scalar() < 1000
        got = golden_store.load(conn, "account", ["g00007", "g01999", "nope"])
        assert sorted(got) == ["g00007", "g01999"] and got["g00007"].data == {"name": "n7"}
        if warehouse.dialect == "postgresql":
            assert conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('golden')")).scalar() >= 1000
            # only the columns its indexes read (keys, the partial index's condition) were sampled: not the
            # JSON data and lineage, whose sampling made each ANALYZE several times dearer
            sampled = set(conn.execute(text("SELECT attname FROM pg_stats WHERE schemaname = current_schema() "
                                            "AND tablename = 'golden'")).scalars())
            assert {"entity", "golden_id", "title", "deleted"} <= sampled, sampled
            if conn.execute(text("SELECT current_setting('autovacuum')")).scalar() == "off":   # (else it may analyse all)
                assert not sampled & {"data", "lineage", "created_at"}, sampled


def test_a_read_by_a_column_only_the_primary_key_holds_analyses_that_column(warehouse: Any) -> None:
    """Cross-references read by source id, a column no index but the primary key reads: the ANALYZE before
    the read samples it too (the catalogue records a constraint's index columns in ``pg_index`` only).
    Without its statistics, the planner took an IN list of 500 source ids to match most of a million
    cross-references, and scanned the table for each batch (1% of a million records changed: 2.9 s)."""
    if warehouse.dialect != "postgresql":
        pytest.skip("PostgreSQL planner statistics")
    with warehouse.tx() as conn:
        xref_store.save_links(conn, "account", "crm", {f"s{i:05d}": f"g{i:05d}" for i in range(3000)}, NOW)
    _counted(warehouse, "xref", 3000)
    with warehouse.tx() as conn:
        assert xref_store.golden_ids_of(conn, "account", "crm", ["s00007", "s02999", "nope"]) == {
            "s00007": "g00007", "s02999": "g02999"}
        sampled = set(conn.execute(text("SELECT attname FROM pg_stats WHERE schemaname = current_schema() "
                                        "AND tablename = 'xref'")).scalars())
        assert "source_id" in sampled, sampled


def test_a_table_whose_rows_all_changed_since_it_was_analysed_is_analysed_whole(warehouse: Any) -> None:
    """A load's staged records, analysed while they grew (all pending), then all mapped: the next count of a
    stream's pending records first analyses the table whole, so the planner no longer believes them pending
    (it scanned a million staged records for each pending read; an idle cycle took 3-16 s instead of 1-2 s).
    The whole ANALYZE resets the count of changes. The load's writes, which check the statistics at every
    transaction, never analyse whole: only that count does (once a stream)."""
    if warehouse.dialect != "postgresql":
        pytest.skip("PostgreSQL planner statistics")
    rows = [{"system": "crm", "entity": "account", "source_id": f"s{i:05d}", "source_entity": "accounts",
             "payload": {"i": i}, "payload_hash": f"h{i}", "source_updated_at": None, "deleted": False,
             "status": RawStatus.PENDING, "seen_run": None, "landed_at": NOW} for i in range(3000)]
    with warehouse.tx() as conn:
        staging.stage(conn, rows)
    _counted(warehouse, "raw_record", 3000)
    with warehouse.tx() as conn:
        assert staging.count_pending(conn, "crm", "account") == 3000     # (analysed here: the rows are new)
    with warehouse.tx() as conn:
        staged.mark(conn, "crm", "account", [r["source_id"] for r in rows], RawStatus.MAPPED, now=NOW)

    def common_status() -> list[str]:
        with warehouse.tx() as conn:
            return list(conn.execute(text("SELECT most_common_vals::text::text[] FROM pg_stats WHERE schemaname = "
                                          "current_schema() AND tablename = 'raw_record' AND attname = 'status'"))
                        .scalar() or [])

    with warehouse.tx() as conn:
        autovacuum_off = conn.execute(text("SELECT current_setting('autovacuum')")).scalar() == "off"
    if autovacuum_off:                  # (else it may analyse first)
        assert common_status() == ["pending"]
    deadline = time.monotonic() + 30       # (the statistics count the updates a moment later; autovacuum may reset them)
    while _stat(warehouse, "raw_record", "n_mod_since_analyze") < 6000 and time.monotonic() < deadline:
        time.sleep(0.2)
    before = _stat(warehouse, "raw_record", "analyze_count")
    for _ in range(3):      # a load's writes check the statistics at every transaction: they analyse nothing whole
        with warehouse.tx() as conn:
            staged.record_mapped(conn, "crm", "account", [staged.Mapped(r["source_id"], {"i": 1}, "g")
                                                           for r in rows[:600]], NOW)
    assert _stat(warehouse, "raw_record", "analyze_count") == before
    if autovacuum_off:
        assert common_status() == ["pending"]
    with warehouse.tx() as conn:
        assert staging.count_pending(conn, "crm", "account") == 0
    assert common_status() == ["mapped"]
    assert _stat(warehouse, "raw_record", "n_mod_since_analyze") < 3000


def test_the_pending_keys_table_is_vacuumed_once_settled(warehouse: Any) -> None:
    """An initial load's keys, settled, leave the pending table's dead rows; ``reclaim`` vacuums them (the
    table's pages are given back), and the keys stay found."""
    if warehouse.dialect != "postgresql":
        match_keys.reclaim(warehouse.engine)          # nothing to do, and no error
        pytest.skip("a PostgreSQL upkeep")
    with warehouse.tx() as conn:
        match_keys.rekey(conn, "account", {f"g{i}": [("b:name", f"acme {i}"), ("tax_id", f"DE{i}")]
                                           for i in range(3000)}, set(), defer=True)
    with warehouse.tx() as conn:
        assert match_keys.settle(conn, "account") == 6000

    def size() -> int:
        with warehouse.tx() as conn:
            return int(conn.execute(text("SELECT pg_relation_size(to_regclass('match_hash_pending'))")).scalar())

    def vacuums() -> int:
        with warehouse.tx() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text("SELECT vacuum_count FROM pg_stat_user_tables "
                                         "WHERE relid = to_regclass('match_hash_pending')")).scalar() or 0)

    def others_hold_the_horizon() -> bool:
        """Another session of this database with a snapshot or a transaction open (a second test worker, on
        CI) keeps the dead rows visible to it, so VACUUM may not give their pages back yet."""
        with warehouse.tx() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)")).scalar())

    assert size() > 0                                  # the dead rows still hold their pages
    before = vacuums()
    # a session that can still see the dead rows holds a snapshot older than the settle's commit: it is open
    # now, before the VACUUM (one that opens later sees them deleted); asked again after, to be safe
    held = others_hold_the_horizon()
    match_keys.reclaim(warehouse.engine)
    assert vacuums() == before + 1                     # the VACUUM ran (PostgreSQL 15+ counts it at once)
    if not (held or others_hold_the_horizon()):
        assert size() == 0
    with warehouse.tx() as conn:
        assert match_keys.golden_hashes(conn, "account", "g2999") == {
            match_keys.key_hash("b:name", "acme 2999"), match_keys.key_hash("tax_id", "DE2999")}
