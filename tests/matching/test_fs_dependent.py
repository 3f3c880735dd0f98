"""``dependent`` field groups of a probabilistic rule: a household's landline and address are one piece of
evidence, counted once (its strongest agreement, its strongest disagreement), not four times."""
from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from concord.hub.config.model import FSFieldParams, FSModel, FSTermFrequencies, MatchRule
from concord.hub.matching import Candidate, RuleMatcher
from concord.hub.matching.em import exact_u
from concord.hub.matching.fs import LEVELS, FSScorer

HOME = ["phone", "street", "postal_code", "city"]
FIELDS = ["first_name", "last_name", "birth_date", "email", *HOME]
KINDS = {"first_name": "person_name", "last_name": "person_name", "birth_date": "date", "email": "email",
         "phone": "phone", "street": "street", "postal_code": "postal_code", "city": "city"}
# (m, u) per level, strongest first: known weights, so the tests read as arithmetic
MU: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "person_name": ((0.9, 0.04, 0.02, 0.01, 0.03), (0.02, 0.005, 0.005, 0.02, 0.95)),
    "date": ((0.9, 0.03, 0.03, 0.04), (0.0003, 0.0001, 0.002, 0.9976)),
    "email": ((0.9, 0.03, 0.03, 0.04), (1e-5, 1e-5, 1e-4, 0.99988)),
    "phone": ((0.9, 0.05, 0.05), (1e-5, 1e-5, 0.99998)),
    "street": ((0.9, 0.04, 0.02, 0.01, 0.03), (1e-4, 1e-4, 1e-3, 0.01, 0.9888)),
    "postal_code": ((0.9, 0.05, 0.05), (0.01, 0.01, 0.98)),
    "city": ((0.9, 0.04, 0.02, 0.01, 0.03), (0.02, 0.01, 0.01, 0.02, 0.94)),
}
MODEL = FSModel(prior=1e-6, fields={f: FSFieldParams(levels=LEVELS[k], m=MU[k][0], u=MU[k][1])
                                    for f, k in KINDS.items()})


def rule(dependent: list[list[str]] | None = None, **extra: Any) -> MatchRule:
    return MatchRule.model_validate({
        "name": "person", "type": "probabilistic", "fields": FIELDS, "comparisons": KINDS,
        "block": ["exact:birth_date", "exact:postal_code"], "thresholds": {"link": 0.999, "review": 0.5},
        "model": MODEL, **({"dependent": dependent} if dependent is not None else {}), **extra})


HOUSE = {"last_name": "Brandt", "phone": "+49 30 1234 5678", "street": "Lindenallee 12", "postal_code": "10115",
         "city": "Berlin"}
ANNA = {"first_name": "Anna", "birth_date": "1981-04-17", "email": "anna.brandt@example.com", **HOUSE}
PAUL = {"first_name": "Paul", "birth_date": "1979-11-02", **HOUSE}                 # her husband
ANNA_AGAIN = {"first_name": "Ana", "birth_date": "1981-04-17", **HOUSE}            # her duplicate, a typo
ANNA_NO_DATE = {"first_name": "Anna", "email": "anna.brandt@example.com", **HOUSE}


@pytest.mark.parametrize(("case", "a", "b", "independent", "grouped"), [
    # a household: surname, landline and address shared, nothing else -> four fields were ~41 bits
    ("household member", ANNA, PAUL, "link", "new"),
    ("household member, his birth date missing", ANNA, {**PAUL, "birth_date": None}, "link", "new"),
    # the same person: names, birth date or e-mail carry the decision, the home counts once
    ("duplicate with a typo", ANNA, ANNA_AGAIN, "link", "link"),
    ("duplicate without birth date", ANNA, ANNA_NO_DATE, "link", "link"),
])
def test_a_household_no_longer_links_a_duplicate_still_does(case: str, a: dict, b: dict, independent: str,
                                                           grouped: str) -> None:
    for dependent, expected in (([], independent), ([HOME], grouped)):
        m = RuleMatcher([rule(dependent)])
        d = m.decide(a, [Candidate("g1", "b:exact:postal_code", "10115")], {"g1": b})
        assert d.decision == expected, (case, dependent, d.evidence.get("explain"))


def _w(s: FSScorer, field: str, level: str) -> float:
    return s.weights[field][s.by_field[field].levels.index(level)]


@pytest.mark.parametrize(("case", "b", "counted"), [
    # (right record's home fields, the weight each home field adds: "max+" strongest agreement, "min-" ...)
    ("all agree: the strongest (the landline) once", HOUSE,
     {"phone": ("phone", "exact"), "street": None, "postal_code": None, "city": None}),
    ("all differ: the strongest disagreement once",
     {"phone": "+49 40 9999 0000", "street": "Hafenweg 3", "postal_code": "20095", "city": "Hamburg"},
     {"phone": None, "street": ("street", "else"), "postal_code": None, "city": None}),
    ("moved next door: street differs, postcode and city agree, no phone",
     {"phone": None, "street": "Lindenallee 14", "postal_code": "10115", "city": "Berlin"},
     {"street": ("street", "else"), "postal_code": ("postal_code", "exact"), "city": None}),
    ("one field alone counts as itself", {"phone": None, "street": None, "postal_code": None, "city": "Berlin"},
     {"city": ("city", "exact")}),
])
def test_a_group_counts_its_strongest_agreement_and_disagreement_once(case: str, b: dict, counted: dict) -> None:
    s = FSScorer(rule([HOME]))
    left = {"first_name": "Anna", "last_name": "Brandt", **HOUSE}
    right = {"first_name": "Anna", "last_name": "Brandt", **b}
    p, weights = s.score(left, right)
    for f, expect in counted.items():
        assert weights[f] == pytest.approx(0.0 if expect is None else _w(s, *expect), abs=0.01), (case, f)
    assert set(weights) == {"first_name", "last_name", *counted}, case
    # the total is the sum of what each field adds, on every path (plan, score, evidence)
    total = s.prior_weight + sum(s.field_weights(s.levels(left, right), s.normalised(left)).values())
    assert p == pytest.approx(s.probability(total))
    assert s.probabilities(left, [right]) == [pytest.approx(p)]
    rounded, ev = s.evidence(left, right)
    assert rounded == weights and ev["probability"] == pytest.approx(p, abs=1e-6)
    dropped = [ln for ln in ev["explain"] if "not added" in ln]
    assert len(dropped) == sum(1 for x in counted.values() if x is None), case


def test_without_groups_every_field_counts() -> None:
    s = FSScorer(rule())
    _p, weights = s.score(ANNA, PAUL)
    assert weights["street"] == pytest.approx(_w(s, "street", "exact"), abs=0.01)
    assert weights["phone"] == pytest.approx(_w(s, "phone", "exact"), abs=0.01)


def test_a_term_frequency_field_inside_a_group() -> None:
    # city with term frequencies: its adjusted weight competes in the group, per pair
    tf = FSTermFrequencies(base=0.05, other=0.001, values={"berlin": 0.5})
    model = MODEL.model_copy(update={"tf": {"city": tf}})
    s = FSScorer(rule([["postal_code", "city"]], tf=["city"], model=model))
    for city, pc in (("Berlin", "10115"), ("Kleinstadt", "99999")):
        a = {"first_name": "Anna", "last_name": "Brandt", "postal_code": pc, "city": city}
        p, weights = s.score(a, dict(a))
        adjusted = _w(s, "city", "exact") + s.tf_adjustment("city", s.normalised(a)["city"])
        strongest = max(adjusted, _w(s, "postal_code", "exact"))
        assert weights["city"] + weights["postal_code"] == pytest.approx(strongest, abs=0.02), city
        assert s.probabilities(a, [dict(a)]) == [pytest.approx(p)]
    assert math.isfinite(s.prior_weight)


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="not one of this rule's fields"):
        rule([["phone", "mobile"]])
    with pytest.raises(ValidationError, match="more than one group"):
        rule([["phone", "street"], ["street", "city"]])
    with pytest.raises(ValidationError, match="two or more different fields"):
        rule([["phone"]])
    with pytest.raises(ValidationError, match="probabilistic rules only"):
        MatchRule.model_validate({"type": "fuzzy", "fields": ["phone", "street"], "block": ["exact:phone"],
                                  "dependent": [["phone", "street"]]})


# ---- u of exact agreement counted over all pairs -------------------------------------------------------
@pytest.mark.parametrize(("case", "left", "right", "matches", "m_exact", "expected"), [
    # 5 values, uniform, no entity shared: u = chance agreement = 1/5
    ("uniform values", [(v,) for v in "abcde" * 20], [(v,) for v in "abcde" * 20], 0.0, 0.9, 0.2),
    # a landline held by the two members of each of 10 households among 1,000 records (dedup): 10 pairs
    ("households", [(f"h{i // 2}",) for i in range(20)] + [(f"p{i}",) for i in range(980)], None, 0.0, 0.9,
     10 / (1000 * 999 / 2)),
    # unique ids, 100 entities on both sides, all agreeing: every agreement is a match, u at its floor
    ("identifier of matches", [(f"id{i}",) for i in range(100)], [(f"id{i}",) for i in range(100)], 100.0, 1.0,
     1e-6),
])
def test_exact_u_is_counted_over_all_pairs(case: str, left: list, right: list | None, matches: float,
                                           m_exact: float, expected: float) -> None:
    u = exact_u([[0.01, 0.99]], [[m_exact, 1 - m_exact]], matches, left, right)
    assert u[0][0] == pytest.approx(expected, rel=0.01), case
    assert sum(u[0]) == pytest.approx(1.0, abs=1e-6), case
