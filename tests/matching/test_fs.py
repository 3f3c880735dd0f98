"""Probabilistic (Fellegi-Sunter) rules: comparison levels, swapped names, term frequencies, EM, the engine."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from concord.hub.config.model import MatchRule
from concord.hub.matching import Candidate, RuleMatcher
from concord.hub.matching.em import estimate, term_frequencies
from concord.hub.matching.fs import FSScorer, level_label, normaliser

PERSON = {"name": "person", "type": "probabilistic",
          "fields": ["first_name", "last_name", "birth_date", "national_id", "email"],
          "swap": [["first_name", "last_name"]], "tf": ["last_name"],
          "block": ["exact:birth_date", "exact:national_id", "email:email"]}


@pytest.mark.parametrize(("kind", "a", "b", "level"), [
    ("person_name", "Müller", "Mueller", "exact"),           # umlaut written out
    ("person_name", "Jonathan", "Jonahtan", "one_edit"),     # neighbours swapped: Damerau distance 1
    ("person_name", "Katherine", "Kathryn", "jw_0.80"),
    ("person_name", "Christina", "Christine", "one_edit"),
    ("person_name", "Anna", "Zoltan", "else"),
    ("name", "Nordwind Logistik GmbH", "NORDWIND LOGISTIK", "exact"),
    ("date", "1984-03-07", "1984-03-07", "exact"),
    ("date", "1984-03-07", "1984-07-03", "day_month_swapped"),
    ("date", "1984-03-07", "1984-03-08", "one_edit"),
    ("date", "1984-03-07", "1990-11-21", "else"),
    ("identifier", "078-05-1120", "078051120", "exact"),
    ("identifier", "078-05-1120", "078-05-1102", "one_edit"),
    ("identifier", "078-05-1120", "123-45-6789", "else"),
    ("email", "Anna.Muller@x.com", "anna.muller@x.com", "exact"),
    ("email", "anna.muller@x.com", "anna.muler@x.com", "one_edit"),
    ("email", "anna.muller@x.com", "anna.muller@gmail.com", "same_local"),
    ("phone", "+49 30 1234 5678", "0049-3012345678", "exact"),
    ("phone", "+493012345678", "03012345678", "last_8"),
    ("postal_code", "10115", "10151", "one_edit"),
    ("street", "Hauptstr. 12", "Hauptstraße 12", "exact"),
    ("street", "Hauptstraße 12", "Hauptstraße 14", "else"),      # another house
    ("numeric", "1000", "1005", "within_1pct"),
    ("numeric", "1000", "1080", "within_10pct"),
    ("numeric", "1000", "2000", "else"),
])
def test_comparison_levels(kind: str, a: str, b: str, level: str) -> None:
    field = {"identifier": "national_id"}.get(kind, "x")
    norm = normaliser(kind, field)
    assert level_label(kind, norm(a), norm(b)) == level


def test_swapped_names_and_missing_values() -> None:
    s = FSScorer(MatchRule.model_validate(PERSON))
    lv = s.levels({"first_name": "Anna", "last_name": "Schmidt"}, {"first_name": "Schmidt", "last_name": "Ana"})
    names = [spec.levels[x] if x >= 0 else None for spec, x in zip(s.specs, lv)]
    assert names[:2] == ["swapped", None]            # first name swapped; last name not counted twice
    assert names[2:] == [None, None, None]            # missing: not compared, no weight
    assert s.score({"last_name": "X", "birth_date": None}, {"last_name": "X"})[0] is None   # min_fields 2


def test_term_frequency_adjustment_prefers_rare_values() -> None:
    tf = term_frequencies(["smith"] * 50 + [f"rare{i}" for i in range(50)])
    assert tf is not None and tf.values["smith"] == 0.5
    s = FSScorer(MatchRule.model_validate(PERSON)).with_term_frequencies({"last_name": tf})
    common = {"last_name": "Smith", "birth_date": "1980-01-02"}
    rare = {"last_name": "Rare7", "birth_date": "1980-01-02"}
    assert s.score(rare, rare)[1]["last_name"] > s.score(common, common)[1]["last_name"]


def test_evidence_in_words() -> None:
    s = FSScorer(MatchRule.model_validate(PERSON))
    ev = s.explain({"first_name": "Anna", "last_name": "Weber", "birth_date": "1980-02-01"},
                   {"first_name": "Anna", "last_name": "Weber", "birth_date": "1980-01-02", "email": "a@b.co"})
    text = "\n".join(ev["explain"])
    assert "birth_date: day and month swapped" in text and "email: not compared" in text
    assert "match probability" in text and 0 < ev["probability"] <= 1


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="probabilistic rules only"):
        MatchRule.model_validate({"name": "x", "fields": ["email"], "tf": ["email"]})
    with pytest.raises(ValidationError, match="not one of this rule's fields"):
        MatchRule.model_validate({**PERSON, "swap": [["first_name", "mobile"]]})
    with pytest.raises(ValidationError, match="learns its weights"):
        MatchRule.model_validate({**PERSON, "weights": {"email": 2}})
    with pytest.raises(ValidationError, match="block"):
        MatchRule.model_validate({**PERSON, "block": []})
    assert MatchRule.model_validate(PERSON).thresholds.link == 0.99      # probabilities: stricter default


# ---- EM recovers known parameters ------------------------------------------------------------------
VALUES = ["aaaa", "bbbb", "cccc", "dddd", "eeee"]      # pairwise >= 2 edits apart: levels exact / else


def _synthetic(n: int, m_exact: dict[str, float], seed: int = 1) -> tuple[list[dict], list[dict]]:
    """Entities in groups of 10 (the block); each field of the right copy equals the left one with
    probability m_exact, else another value. Values are uniform over 5, so u(exact) = 0.2."""
    rng = random.Random(seed)
    left, right = [], []
    for i in range(n):
        rec = {"id": str(i), "grp": f"g{i // 10}", **{f: rng.choice(VALUES) for f in m_exact}}
        copy = {"id": str(i), "grp": rec["grp"]}
        for f, p in m_exact.items():
            copy[f] = rec[f] if rng.random() < p else rng.choice([v for v in VALUES if v != rec[f]])
        left.append(rec)
        right.append(copy)
    return left, right


def test_em_recovers_known_m_and_u() -> None:
    truth = {"a": 0.9, "b": 0.75, "c": 0.6, "d": 0.8}
    left, right = _synthetic(4000, truth)
    fields = ["grp", *truth]
    rule = MatchRule.model_validate({"name": "syn", "type": "probabilistic", "fields": fields,
                                     "comparisons": {f: "identifier" for f in fields}, "block": ["exact:grp"]})
    # EM over the candidate pairs: the prior is per candidate pair
    tr = estimate(rule, left, right, sessions=False)
    assert tr.converged and tr.pairs == 4000 * 10
    assert tr.model.prior == pytest.approx(0.1, abs=0.01)            # 1 match in each block of 10
    # sessions (the default): the prior is per pair of records, 4,000 matches among 4,000 x 4,000 pairs
    ts = estimate(rule, left, right)
    assert ts.converged and ts.model.trained["prior"] == "per pair of records"
    assert ts.model.prior == pytest.approx(4000 / 4000 ** 2, rel=0.1)
    for tr in (tr, ts):
        for f, p in truth.items():
            params = tr.model.fields[f]
            ex = params.levels.index("exact")
            assert params.m[ex] == pytest.approx(p, abs=0.03), f
            assert params.u[ex] == pytest.approx(0.2, abs=0.02), f


def test_trained_rule_links_through_the_matcher() -> None:
    left, right = _synthetic(1000, {"a": 0.95, "b": 0.95, "c": 0.95}, seed=3)
    rule = MatchRule.model_validate({"name": "syn", "type": "probabilistic", "fields": ["grp", "a", "b", "c"],
                                     "block": ["exact:grp"], "min_fields": 3,
                                     "comparisons": {f: "identifier" for f in ["grp", "a", "b", "c"]}})
    model = estimate(rule, left, right).model
    m = RuleMatcher([rule.model_copy(update={"model": model})])
    data = {r["id"]: r for r in right}
    d = m.decide(left[5], [Candidate(r["id"], "b:exact:grp", "g0") for r in right[:10]], data)
    assert d.evidence["type"] == "probabilistic" and "explain" in d.evidence
    if d.decision == "link":
        assert d.golden_id == "5" and d.score >= 0.99


# ---- through the engine, on a small project ----------------------------------------------------------
def test_probabilistic_rule_in_the_engine(starter: Path, database_url: str) -> None:
    from tests.engine.helpers import write_csv, write_jsonl
    from tests.matching.test_engine_matching import CRM, DB, ERP, _cycle

    write_csv(starter / "data/erp/customers.csv", ERP)
    write_jsonl(starter / "data/crm/accounts.jsonl", CRM)
    cfg_path = starter / "concord.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["entities"]["account"]["match"] = [{
        "name": "company_fs", "type": "probabilistic",
        "fields": ["name", "phone", "billing_address.street", "billing_address.postal_code", "billing_address.city"],
        "block": ["name_edits:name", "phone:phone"]}]
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    summary = _cycle(starter, database_url)
    assert summary.status == "success", summary.as_dict()
    db = DB(database_url)
    g1, _ = db.golden_of("erp", "C1")
    assert db.golden_of("crm", "acc-1") == (g1, "linked")          # typo in the name, same phone and street
    link = db.decisions("acc-1")[-1]
    assert (link.decision, link.rule) == ("link", "company_fs") and link.score >= 0.99
    assert link.evidence["type"] == "probabilistic" and link.evidence["levels"]["name"] == "one_edit"
    assert any(line.startswith("name: one typo apart") for line in link.evidence["explain"])
    assert db.golden_of("crm", "acc-3")[0] not in (g1, db.golden_of("erp", "C2")[0])
