"""The canonical tables follow the canonical model without a hand-written migration."""
from __future__ import annotations

from sqlalchemy import inspect, text

from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.evolve import pending_changes


def test_missing_canonical_columns_and_tables_are_added(database_url: str) -> None:
    wh = Warehouse.open(database_url)
    with wh.engine.begin() as c:   # a warehouse from before the model gained these
        c.execute(text("ALTER TABLE opportunity DROP COLUMN erp_order_number"))
        c.execute(text("DROP TABLE opportunity_line"))
        c.execute(text("INSERT INTO opportunity (golden_id, name, _version, _updated_at) "
                       "VALUES ('g1', 'Big deal', 1, CURRENT_TIMESTAMP)"))
        assert sorted(pending_changes(c)) == ["add column opportunity.erp_order_number",
                                              "create table opportunity_line"]
    wh.dispose()
    wh = Warehouse.open(database_url)
    with wh.engine.begin() as c:
        insp = inspect(c)
        assert "erp_order_number" in {col["name"] for col in insp.get_columns("opportunity")}
        assert "opportunity_line" in insp.get_table_names()
        assert c.execute(text("SELECT name FROM opportunity WHERE golden_id = 'g1'")).scalar() == "Big deal"
        assert pending_changes(c) == []
    wh.dispose()
