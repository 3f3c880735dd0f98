"""RuleMatcher.keys() is computed once per distinct set of key-field values and stays exact."""
from __future__ import annotations

import random
from decimal import Decimal

from concord.hub.config.model import MatchRule
from concord.hub.matching import RuleMatcher
from concord.hub.matching import rules as R

RULES = [MatchRule.model_validate(r) for r in (
    {"name": "erp_number", "fields": ["erp_customer_number"]},
    {"name": "tax_id", "fields": ["tax_id"]},
    {"name": "company", "type": "fuzzy", "fields": ["name", "website", "phone", "billing_address.postal_code",
                                                   "billing_address.street"],
     "block": ["name_edits:name", "domain:website", "phone:phone", "exact:billing_address.postal_code+exact:billing_address.street"]},
)]


def fresh(record: dict) -> list:
    return RuleMatcher(RULES)._keys(record)


def test_keys_equal_uncached_keys_over_many_records() -> None:
    rng = random.Random(5)
    m = RuleMatcher(RULES)
    names = ["Acme GmbH", "acme gmbh", "Nordwind Logistik GmbH & Co. KG", "", None, "Zeta", "华为科技有限公司"]
    values = ["1", 1, True, 1.0, Decimal("1.0"), Decimal("1.00"), "001", None, "", "DE 123", 0, False]
    records = []
    for _ in range(3000):
        records.append({"name": rng.choice(names), "erp_customer_number": rng.choice(values),
                        "tax_id": rng.choice(values), "website": rng.choice([None, "www.acme.com", "https://x.io/a"]),
                        "phone": rng.choice([None, "+49 30 1234567", 4930123456, "0049 30 1234567"]),
                        "billing_address.postal_code": rng.choice([None, "10115", 10115]),
                        "billing_address.street": rng.choice([None, "Hauptstr. 1"]), "other": rng.random()})
    for rec in records:                 # asked twice: the second answer comes from the memo
        assert m.keys(rec) == fresh(rec)
        assert m.keys(rec) == fresh(rec)
    once = RuleMatcher(RULES)
    for rec in records:                 # a worker's way: keys and the no-candidate decision together
        keys, alone = once.keys_alone(rec)
        assert keys == fresh(rec) and alone == once.decide(rec, (), {})
    assert not once._memo and not once._memo_old     # remembered nowhere


def test_equal_values_of_other_types_are_not_confused() -> None:
    m = RuleMatcher(RULES)
    a, b, c = {"erp_customer_number": 1}, {"erp_customer_number": True}, {"erp_customer_number": "1"}
    assert m.keys(a) == fresh(a) and m.keys(b) == fresh(b) and m.keys(c) == fresh(c)
    assert m.keys(b) != m.keys(a)
    d1, d2 = {"tax_id": Decimal("1.0")}, {"tax_id": Decimal("1.00")}     # equal, but they key differently
    assert m.keys(d1) == fresh(d1) and m.keys(d2) == fresh(d2)


def test_returned_list_is_the_callers_own() -> None:
    m = RuleMatcher(RULES)
    rec = {"name": "Acme GmbH"}
    first = m.keys(rec)
    first.append(("x", "y"))
    assert m.keys(rec) == fresh(rec)


def test_memo_stays_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(R, "KEY_MEMO", 50)
    m = RuleMatcher(RULES)
    for i in range(1000):
        rec = {"name": f"Company {i}", "erp_customer_number": str(i)}
        assert m.keys(rec) == fresh(rec)
    assert len(m._memo) <= 50 and len(m._memo_old) <= 50
