"""Survivorship per field: priority, latest, most_complete, trust decaying with age; lineage."""
from __future__ import annotations

import pytest

from concord.hub.config.model import Survivorship
from concord.hub.survive import Lineage, completeness, survive, trust_score


def _apply(policy: Survivorship, versions: list[tuple[str, str, dict, str | None]]):
    golden: dict = {}
    lineage: dict = {}
    for system, sid, rec, ts in versions:
        res = survive(policy, golden, lineage, system=system, source_id=sid, previous=None, current=rec, updated_at=ts)
        golden, lineage = res.golden, res.lineage
    return golden, lineage


def test_source_priority_per_field() -> None:
    policy = Survivorship.model_validate({"strategy": "latest", "priority": ["erp", "crm"], "fields": {
        "credit_limit": {"strategy": "priority", "priority": ["erp"]},
        "phone": {"strategy": "priority", "priority": ["crm", "erp"]}}})
    g, lin = _apply(policy, [("erp", "C1", {"credit_limit": "5000", "phone": "+491"}, "2026-01-01T00:00:00+00:00"),
                             ("crm", "a1", {"credit_limit": "9000", "phone": "+492"}, "2026-02-01T00:00:00+00:00")])
    assert g == {"credit_limit": "5000", "phone": "+492"}
    assert lin["credit_limit"] == Lineage("erp", "C1", "2026-01-01T00:00:00+00:00")
    assert lin["phone"].system == "crm" and lin["phone"].source_id == "a1"


def test_most_complete() -> None:
    policy = Survivorship.model_validate({"priority": ["erp", "crm"], "fields": {"name": {"strategy": "most_complete"}}})
    g, lin = _apply(policy, [("erp", "C1", {"name": "Acme"}, None), ("crm", "a1", {"name": "Acme Systems GmbH"}, None)])
    assert g["name"] == "Acme Systems GmbH" and lin["name"].system == "crm"
    g, lin = _apply(policy, [("crm", "a1", {"name": "Acme Systems GmbH"}, None), ("erp", "C1", {"name": "Acme"}, None)])
    assert g["name"] == "Acme Systems GmbH"
    g, lin = _apply(policy, [("crm", "a1", {"name": "ACME"}, None), ("erp", "C1", {"name": "Acme"}, None)])
    assert lin["name"].system == "erp"                     # a tie goes by rank
    assert completeness("  a b ") == 2 and completeness(["x"]) == 1 and completeness(1250) == 4


def test_trust_decays_with_age() -> None:
    assert trust_score(0.8, 30, "2026-01-01T00:00:00+00:00", None) == 0.8
    import datetime as dt
    at = dt.datetime(2026, 1, 31, tzinfo=dt.timezone.utc)
    assert abs(trust_score(0.8, 30, "2026-01-01T00:00:00+00:00", at) - 0.4) < 1e-9
    policy = Survivorship.model_validate({"strategy": "trust", "trust": {"erp": 0.9, "crm": 0.6},
                                          "half_life_days": 30, "priority": ["erp", "crm"]})
    # a fresh CRM value beats an ERP value of two half-lives ago (0.6 > 0.9 / 4)
    g, lin = _apply(policy, [("erp", "C1", {"phone": "+491"}, "2026-01-01T00:00:00+00:00"),
                             ("crm", "a1", {"phone": "+492"}, "2026-03-02T00:00:00+00:00")])
    assert g["phone"] == "+492" and lin["phone"].system == "crm"
    # a CRM value of about the same age does not beat the more trusted ERP
    g, lin = _apply(policy, [("erp", "C1", {"phone": "+491"}, "2026-01-01T00:00:00+00:00"),
                             ("crm", "a1", {"phone": "+492"}, "2026-01-05T00:00:00+00:00")])
    assert g["phone"] == "+491"


def test_field_trust_override_and_lineage_of_values() -> None:
    policy = Survivorship.model_validate({"priority": ["erp", "crm"], "fields": {
        "owner": {"strategy": "trust", "trust": {"crm": 1.0, "erp": 0.1}, "half_life_days": 10}}})
    g, lin = _apply(policy, [("crm", "a1", {"owner": "j.smith"}, "2026-01-01T00:00:00+00:00"),
                             ("erp", "C1", {"owner": "someone"}, "2026-01-20T00:00:00+00:00")])
    assert g["owner"] == "j.smith" and lin["owner"] == Lineage("crm", "a1", "2026-01-01T00:00:00+00:00")


@pytest.mark.parametrize("strategy", ["priority", "latest", "most_complete", "trust"])
def test_a_new_golden_records_first_source_takes_the_short_path_with_the_same_result(strategy: str) -> None:
    """An empty golden record and a first sighting go through ``_first``; the general path, asked the same
    with an empty ``previous`` (every non-empty field changed), must agree field for field, order included."""
    policy = Survivorship(strategy=strategy, priority=("erp", "crm"))
    current = {"website": "https://a.example", "name": "Acme", "phone": None, "city": "", "credit_limit": "10.5"}
    short = survive(policy, {}, {}, system="crm", source_id="c-1", previous=None, current=current, updated_at="2026-01-02")
    general = survive(policy, {}, {}, system="crm", source_id="c-1", previous={}, current=current, updated_at="2026-01-02")
    assert short == general
    assert list(short.golden) == list(general.golden) == ["city", "credit_limit", "name", "website"]
