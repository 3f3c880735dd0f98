"""Rules: blocking keys, exact before fuzzy, thresholds, margin, oversized blocks, config errors."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from concord.hub.config.model import MatchRule
from concord.hub.matching import Candidate, RuleMatcher

FUZZY = MatchRule.model_validate({
    "name": "company", "type": "fuzzy",
    "fields": ["name", "tax_id", "phone", "billing_address.street", "billing_address.postal_code"],
    "weights": {"name": 3, "tax_id": 4, "phone": 2, "billing_address.street": 1, "billing_address.postal_code": 1},
    "block": ["name_edits:name", "phone:phone", "exact:billing_address.postal_code+exact:billing_address.street"],
    "min_fields": 2, "thresholds": {"link": 0.85, "review": 0.7}})
RULES = [MatchRule(name="tax_id", fields=("tax_id",)), FUZZY]
GOLDEN = {"g1": {"name": "Nordwind Logistik GmbH", "phone": "+4940123456", "billing_address.street": "Hafenstraße 12",
                 "billing_address.postal_code": "20457"},
          "g2": {"name": "Bluepeak Software AG", "tax_id": "DE812345678", "billing_address.postal_code": "80802"}}


def _candidates(m: RuleMatcher, record: dict, golden: dict) -> list[Candidate]:
    index: dict = {}
    for gid, data in golden.items():
        for k in m.keys(data):
            index.setdefault(k, []).append(gid)
    return [Candidate(g, n, v) for n, v in m.keys(record) for g in index.get((n, v), [])]


def test_a_typo_shares_a_blocking_key() -> None:
    m = RuleMatcher(RULES)
    a = {k for k in m.keys({"name": "Nordwind Logistik GmbH"}) if k[0] == "b:name_edits:name"}
    for typo in ("Nordwnd Logistik", "Nordwidn Logistik", "Nordwiind Logistik", "NORDWIND LOGISTIK Ltd"):
        b = {k for k in m.keys({"name": typo}) if k[0] == "b:name_edits:name"}
        assert a & b, typo
    assert not a & {k for k in m.keys({"name": "Bluepeak Software"}) if k[0] == "b:name_edits:name"}


def test_keys_skip_missing_values_and_compose() -> None:
    m = RuleMatcher(RULES)
    keys = dict(m.keys({"billing_address.street": "Hafenstr. 12", "billing_address.postal_code": "20457"}))
    assert keys["b:exact:billing_address.postal_code+exact:billing_address.street"] == "20457|haffen strasse 12" or \
        keys["b:exact:billing_address.postal_code+exact:billing_address.street"] == "20457|hafen strasse 12"
    assert "tax_id" not in keys and not any(k.startswith("b:phone") for k in keys)


def test_exact_rule_wins_before_fuzzy() -> None:
    m = RuleMatcher(RULES)
    rec = {"name": "Something Else", "tax_id": "DE 812 345 678"}
    d = m.decide(rec, _candidates(m, rec, GOLDEN), GOLDEN)
    assert (d.decision, d.golden_id, d.rule, d.score) == ("link", "g2", "tax_id", 1.0)


def test_fuzzy_link_with_evidence() -> None:
    m = RuleMatcher(RULES)
    rec = {"name": "Nordwnid Logistik", "phone": "+49 40 123456", "billing_address.street": "Hafenstr. 12",
           "billing_address.postal_code": "20457"}
    d = m.decide(rec, _candidates(m, rec, GOLDEN), GOLDEN)
    assert d.decision == "link" and d.golden_id == "g1" and d.rule == "company"
    assert set(d.evidence["fields"]) == {"name", "phone", "billing_address.street", "billing_address.postal_code"}
    assert d.evidence["total"] == d.score >= 0.85


def test_thresholds_review_and_new() -> None:
    m = RuleMatcher(RULES)
    # right name and postcode, another street, no phone: between the thresholds
    rec = {"name": "Nordwind Logistik", "billing_address.street": "Seeweg 99", "billing_address.postal_code": "20457"}
    d = m.decide(rec, _candidates(m, rec, GOLDEN), GOLDEN)
    assert d.decision == "review" and d.golden_id == "g1" and 0.7 <= d.score < 0.85
    # a conflicting tax id drags it below review
    rec2 = {**rec, "tax_id": "DE999999999"}
    gold = {"g1": {**GOLDEN["g1"], "tax_id": "DE811234567"}}
    assert m.decide(rec2, _candidates(m, rec2, gold), gold).decision == "new"


def test_min_fields_and_require() -> None:
    rule = FUZZY.model_copy(update={"min_fields": 3})
    m = RuleMatcher([rule])
    rec = {"name": "Nordwind Logistik", "billing_address.postal_code": "20457"}
    assert m.decide(rec, _candidates(m, rec, GOLDEN), GOLDEN).decision == "new"
    m2 = RuleMatcher([FUZZY.model_copy(update={"require": ("phone",)})])
    rec2 = {"name": "Nordwind Logistik GmbH", "billing_address.postal_code": "20457"}
    assert m2.decide(rec2, _candidates(m2, rec2, GOLDEN), GOLDEN).decision == "new"


def test_close_runner_up_goes_to_review() -> None:
    m = RuleMatcher(RULES)
    golden = {"a": {"name": "Acme Systems", "billing_address.postal_code": "1000"},
              "b": {"name": "Acme Systems", "billing_address.postal_code": "1000"}}
    rec = {"name": "Acme Systems GmbH", "billing_address.postal_code": "1000"}
    d = m.decide(rec, _candidates(m, rec, golden), golden)
    assert d.decision == "review" and d.evidence["reason"] == "runner-up within margin"
    assert d.evidence["runner_up"]["total"] == d.score


def test_oversized_blocks_are_ignored() -> None:
    m = RuleMatcher(RULES, max_block=3)
    golden = {f"g{i}": {"name": "Acme", "billing_address.postal_code": "1000", "billing_address.street": "Main St 1"}
              for i in range(5)}
    rec = {"name": "Acme", "billing_address.postal_code": "1000", "billing_address.street": "Main Street 1"}
    d = m.decide(rec, _candidates(m, rec, golden), golden)
    assert d.decision == "new" and d.evidence["oversized_blocks"]


def test_exact_ambiguity() -> None:
    m = RuleMatcher(RULES)
    golden = {"x": {"tax_id": "DE1"}, "y": {"tax_id": "DE1"}}
    d = m.decide({"tax_id": "de1"}, _candidates(m, {"tax_id": "de1"}, golden), golden)
    assert d.decision == "ambiguous" and d.evidence["candidates"] == ["x", "y"]


@pytest.mark.parametrize("bad,msg", [
    ({"type": "fuzzy", "fields": ["name"]}, "needs `block`"),
    ({"type": "fuzzy", "fields": ["name"], "block": ["soundex:name"]}, "function:field"),
    ({"type": "fuzzy", "fields": ["name"], "block": ["name:name"], "weights": {"phone": 1}}, "not one of"),
    ({"fields": ["tax_id"], "weights": {"tax_id": 1}}, "fuzzy rules only"),
    ({"type": "fuzzy", "fields": ["name"], "block": ["phone:phone"]}, "blocking keys use the fields"),
    ({"type": "fuzzy", "fields": ["name"], "block": ["name:name"], "thresholds": {"link": 0.6, "review": 0.8}},
     "above the link threshold"),
])
def test_rule_config_errors(bad: dict, msg: str) -> None:
    with pytest.raises(ValidationError, match=msg):
        MatchRule.model_validate(bad)


def test_starter_rules_load() -> None:
    from pathlib import Path

    from concord.hub.config import load_project

    p = load_project(Path(__file__).resolve().parents[2] / "hub/starter/concord.yaml", check_connectors=False)
    acc = p.config.entities["account"].match
    assert [r.type for r in acc][-1] == "fuzzy" and acc[-1].thresholds.link == 0.85
