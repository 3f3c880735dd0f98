"""Live golden records per entity, counted from indexes (the deleted ones listed by a partial index)."""
from __future__ import annotations

import datetime as dt

from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import golden as golden_store


def test_count_by_entity_counts_live_golden_records_only(warehouse) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 12, 5, tzinfo=dt.timezone.utc)
    def deleted(entity: str, i: int) -> bool:      # a third of the accounts, every product
        return entity == "product" or (entity == "account" and i % 3 == 0)

    rows = [{"entity": e, "golden_id": f"{e}-{i}", "data": {}, "data_hash": "h", "version": 1,
             "deleted": deleted(e, i), "title": f"T{i}", "created_at": now, "updated_at": now}
            for e in ("account", "contact", "product") for i in range(30)]
    with warehouse.tx() as conn:
        conn.execute(T.golden.insert(), rows)
    with warehouse.tx() as conn:
        assert golden_store.count_by_entity(conn) == {"account": 20, "contact": 30}
        conn.execute(T.golden.update().where(T.golden.c.golden_id == "product-4").values(deleted=False))
        assert golden_store.count_by_entity(conn) == {"account": 20, "contact": 30, "product": 1}
