"""Identifier fields of the party model: schema, normalisers, and the migration of an older warehouse."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from concord.hub.matching import normalise as N
from concord.hub.matching.compare import default_comparator, normaliser_for
from concord.schemas import Account, Contact


def test_contact_and_account_carry_identifiers() -> None:
    c = Contact(last_name="Muller", national_id="078-05-1120", person_id="P-00042")
    a = Account(name="Acme", registration_number="HRB 12345 B", lei="5493001KJTIIGC8Y1R12")
    assert (c.national_id, c.person_id, a.registration_number, a.lei) == (
        "078-05-1120", "P-00042", "HRB 12345 B", "5493001KJTIIGC8Y1R12")
    for model, name in ((Contact, "national_id"), (Contact, "person_id"), (Account, "lei"),
                        (Account, "registration_number")):
        assert model.model_fields[name].description


@pytest.mark.parametrize(("fn", "value", "expected"), [
    (N.national_id, "078-05-1120", "078051120"),            # leading zero kept
    (N.national_id, " ab 12 34 56 c", "AB123456C"),
    (N.national_id, "000-00-0000", None),                    # a placeholder, not an id
    (N.national_id, "12", None),
    (N.national_id, None, None),
    (N.person_id, "P-00042", "p00042"),
    (N.person_id, "00042", "42"),
    (N.lei, "5493001kjtiigc8y1r12", "5493001KJTIIGC8Y1R12"),
    (N.lei, "5493001KJTIIGC8Y1R13", None),                   # check digits wrong
    (N.lei, "5493001KJTIIGC8Y1R1", None),
    (N.registration_number, "HRB 12345 B", "hrb12345b"),
])
def test_identifier_normalisers(fn, value, expected) -> None:  # type: ignore[no-untyped-def]
    assert fn(value) == expected


def test_identifiers_compare_exactly_with_their_own_normaliser() -> None:
    for f in ("national_id", "person_id", "lei", "registration_number"):
        assert default_comparator(f) == "exact"
    assert normaliser_for("national_id")("078 05 1120") == "078051120"


def test_migration_adds_the_columns_to_an_older_warehouse(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse.db import MIGRATIONS

    wh = Warehouse.open(database_url)
    with wh.engine.begin() as c:      # the warehouse as revision 0004 left it
        for table, col in (("contact", "national_id"), ("contact", "person_id"), ("account", "lei"),
                           ("account", "registration_number")):
            c.execute(text(f"ALTER TABLE {table} DROP COLUMN {col}"))
        c.execute(text("UPDATE alembic_version SET version_num = '0004_compact_lineage'"))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with wh.engine.begin() as c:
        cfg.attributes["connection"] = c
        command.upgrade(cfg, "head")      # the revision alone, without evolve
    with wh.engine.connect() as c:
        cols = {t: {x["name"] for x in inspect(c).get_columns(t)} for t in ("contact", "account")}
        version = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    wh.dispose()
    assert {"national_id", "person_id"} <= cols["contact"] and {"lei", "registration_number"} <= cols["account"]
    from alembic.script import ScriptDirectory
    assert version == ScriptDirectory.from_config(cfg).get_current_head()
    Warehouse.open(database_url).dispose()      # and a second run is a no-op
