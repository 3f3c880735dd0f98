"""Migrations carry an older warehouse forward without losing what it holds."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.stores import golden as golden_store


def test_field_lineage_rows_fold_into_the_golden_row(database_url: str) -> None:
    wh = Warehouse.open(database_url)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    json_ = "CAST(:d AS JSONB)" if wh.dialect == "postgresql" else ":d"
    with wh.engine.begin() as c:   # the warehouse as revision 0003 left it: lineage a row per field
        c.execute(text("ALTER TABLE golden DROP COLUMN lineage"))
        c.execute(text("CREATE TABLE field_lineage (entity VARCHAR(64), golden_id VARCHAR(64), field VARCHAR(128), "
                       "system VARCHAR(64) NOT NULL, source_id VARCHAR(200) NOT NULL, value TEXT, "
                       "source_updated_at VARCHAR(40), changed_at TIMESTAMP WITH TIME ZONE NOT NULL, "
                       "PRIMARY KEY (entity, golden_id, field))"))
        c.execute(text(f"INSERT INTO golden (entity, golden_id, data, data_hash, version, deleted, title, created_at, "
                       f"updated_at) VALUES ('account', 'g1', {json_}, 'h', 1, false, 'Acme', :t, :t)"),
                  {"d": '{"name": "Acme", "phone": "+4930"}', "t": now})
        c.execute(text("INSERT INTO field_lineage VALUES ('account', 'g1', 'name', 'erp', 'C1', NULL, "
                       "'2026-11-30', :t), ('account', 'g1', 'phone', 'crm', 'a-1', NULL, NULL, :t)"), {"t": now})
        c.execute(text("UPDATE alembic_version SET version_num = '0003_outbox_claims'"))
    wh.dispose()
    wh = Warehouse.open(database_url)
    with wh.tx() as c:
        lin = golden_store.lineage_of(c, "account", "g1")
        tables = set(wh.engine.dialect.get_table_names(c))
    wh.dispose()
    assert "field_lineage" not in tables
    assert {f: (e["system"], e["source_id"], e["value"]) for f, e in lin.items()} == {
        "name": ("erp", "C1", "Acme"), "phone": ("crm", "a-1", "+4930")}
    assert lin["name"]["changed_at"] == now and lin["name"]["source_updated_at"] == "2026-11-30"
