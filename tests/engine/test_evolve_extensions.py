"""A project's own fields get columns of their own in the typed canonical tables, migrations Concord works out and
applies itself; a retype that would not keep stored values is refused with a clear error and changes nothing."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from concord.hub.config.extensions import EntityExtension, extended_models
from concord.hub.errors import ConfigError
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.evolve import evolve_project, pending_changes, unsafe_changes
from tests.conftest import run_cli


def _models(**fields: dict) -> dict:
    return extended_models({"account": EntityExtension.model_validate({"fields": fields})})


def _columns(wh: Warehouse) -> dict[str, str]:
    with wh.engine.connect() as c:
        return {col["name"]: type(col["type"]).__name__.upper() for col in inspect(c).get_columns("account")}


def test_project_fields_become_columns_and_safe_retypes_keep_values(database_url: str) -> None:
    wh = Warehouse.open(database_url)
    try:
        v1 = _models(rating={"type": "integer"}, tier={"type": "enum", "values": ["A", "B"]}, note={"type": "string"})
        with wh.engine.connect() as c:
            assert sorted(pending_changes(c, v1)) == ["add column account.note", "add column account.rating",
                                                     "add column account.tier"]
        assert sorted(evolve_project(wh, v1)) == ["add column account.note", "add column account.rating",
                                                  "add column account.tier"]
        assert evolve_project(wh, v1) == []                      # once per warehouse and model set
        cols = _columns(wh)
        assert "INT" in cols["rating"] and {"tier", "note"} <= set(cols)
        with wh.engine.begin() as c:
            c.execute(text("INSERT INTO account (golden_id, name, rating, _version, _updated_at) "
                           "VALUES ('g1', 'Acme', 7, 1, CURRENT_TIMESTAMP)"))

        # integer -> decimal keeps the 7; the empty note column may become a date
        v2 = _models(rating={"type": "decimal"}, tier={"type": "enum", "values": ["A", "B"]}, note={"type": "date"})
        with wh.engine.connect() as c:
            assert sorted(pending_changes(c, v2)) == ["retype column account.note (text -> date)",
                                                     "retype column account.rating (integer -> decimal)"]
        evolve_project(wh, v2)
        with wh.engine.connect() as c:
            assert Decimal(str(c.execute(text("SELECT rating FROM account WHERE golden_id = 'g1'")).scalar())) == 7
            assert pending_changes(c, v2) == []
        assert "NUMERIC" in _columns(wh)["rating"] or "DECIMAL" in _columns(wh)["rating"]
    finally:
        wh.dispose()


def test_a_retype_that_would_lose_values_is_refused_and_changes_nothing(database_url: str) -> None:
    wh = Warehouse.open(database_url)
    try:
        evolve_project(wh, _models(segment={"type": "string"}, size={"type": "decimal"}))
        with wh.engine.begin() as c:
            c.execute(text("INSERT INTO account (golden_id, name, segment, size, _version, _updated_at) "
                           "VALUES ('g1', 'Acme', 'mid-market', 2.5, 1, CURRENT_TIMESTAMP)"))
        narrowed = _models(segment={"type": "integer"}, size={"type": "integer"}, extra={"type": "boolean"})
        with wh.engine.connect() as c:
            problems = unsafe_changes(c, narrowed)
        assert [p.code for p in problems] == ["unsafe_column_change"] * 2
        before = _columns(wh)
        with pytest.raises(ConfigError) as info:
            evolve_project(wh, narrowed)
        text_ = str(info.value)
        assert "account.segment is text and holds values in 1 record(s)" in text_, text_
        assert "declares it integer" in text_ and "new field name" in text_
        assert "account.size is decimal" in text_
        assert _columns(wh) == before                            # nothing changed, not even the new column
    finally:
        wh.dispose()


def test_check_and_sync_say_what_the_warehouse_will_do(starter: Path) -> None:
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text() + "extensions:\n  account:\n    fields:\n      segment: {type: string}\n")
    m = starter / "mappings/crm/account.yaml"
    m.write_text(m.read_text().rstrip("\n") + "\n  segment: {from: owner, direction: in}\n")
    run_cli("sync", cwd=starter, check=False)                 # the column is added and filled from the CRM's owner
    cfg.write_text(cfg.read_text() + "      tier: {type: integer}\n")
    m.write_text(m.read_text() + "  tier: {from: credit_limit, transform: int, direction: in}\n")
    out = json.loads(run_cli("check", "--json", cwd=starter).stdout)
    assert out["ok"] and out["warehouse_changes"] == ["add column account.tier"], out

    # the owner's text cannot become a number: check and sync both refuse, and say why
    cfg.write_text(cfg.read_text().replace("segment: {type: string}", "segment: {type: integer}"))
    m.write_text(m.read_text().replace("segment: {from: owner, direction: in}",
                                       "segment: {from: credit_limit, transform: int, direction: in}"))
    out = json.loads(run_cli("check", "--json", cwd=starter, check=False).stdout)
    assert not out["ok"] and [p["code"] for p in out["problems"]] == ["unsafe_column_change"], out
    sync = run_cli("sync", cwd=starter, check=False)
    assert sync.returncode == 2 and "Traceback" not in sync.stderr, sync.stderr
    assert "warehouse column account.segment is text and holds values" in sync.stderr, sync.stderr


def test_a_field_of_each_line_gets_a_column_of_the_line_table(database_url: str) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from concord.hub.engine.golden import GoldenState, _project

    models = extended_models({"sales_order": EntityExtension.model_validate(
        {"fields": {"lines.plant_note": {"type": "string"}, "z_ref": {"type": "integer"}}})})
    wh = Warehouse.open(database_url)
    try:
        assert sorted(evolve_project(wh, models)) == ["add column sales_order.z_ref",
                                                      "add column sales_order_line.plant_note"]
        ctx = SimpleNamespace(project=SimpleNamespace(models=models), warehouse=wh)
        st = GoldenState("g1", {"order_number": "1", "z_ref": 7, "lines": [
            {"line_number": 1, "sku": "M1", "quantity": "2", "plant_note": "dock 4"}]}, {}, version=1)
        with wh.tx() as conn:
            _project(ctx, conn, "sales_order", [st], dt.datetime.now(dt.timezone.utc))  # type: ignore[arg-type]
        with wh.engine.connect() as c:
            assert c.execute(text("SELECT z_ref FROM sales_order")).scalar() == 7
            assert c.execute(text("SELECT plant_note FROM sales_order_line WHERE golden_id = 'g1'")).scalar() == "dock 4"
    finally:
        wh.dispose()
