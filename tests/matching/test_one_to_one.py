"""Linkage of two files, one match per record (hub/matching/one_to_one.py): a review case whose records have
no rival candidate on either side links, with the reason in its evidence; a rival keeps it in review; both
ways of deciding (all at once, record by record) agree."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.matching_people import write_csv
from concord.hub.config.model import FSFieldParams, FSModel, MatchRule
from concord.hub.matching import offline
from concord.hub.matching.exact import Decision
from concord.hub.matching.fs import LEVELS, FSScorer
from concord.hub.matching.offline import match_files
from concord.hub.matching.one_to_one import promote

# 10 records a side, a prior per pair of records of 0.08: the model expects 80% of each file to have a match
MODEL = FSModel(prior=0.08, trained={"prior": "per pair of records"}, fields={
    "first_name": FSFieldParams(levels=LEVELS["person_name"], m=(0.9, 0.04, 0.02, 0.01, 0.03),
                                u=(0.02, 0.005, 0.005, 0.02, 0.95)),
    "last_name": FSFieldParams(levels=LEVELS["person_name"], m=(0.9, 0.04, 0.02, 0.01, 0.03),
                               u=(0.02, 0.005, 0.005, 0.02, 0.95)),
    "phone": FSFieldParams(levels=LEVELS["phone"], m=(0.9, 0.05, 0.05), u=(0.01, 0.01, 0.98))})
RULE = MatchRule.model_validate({"name": "p", "type": "probabilistic", "fields": ["first_name", "last_name", "phone"],
                                 "comparisons": {"first_name": "person_name", "last_name": "person_name"},
                                 "block": ["phone:phone"], "thresholds": {"link": 0.999, "review": 0.5},
                                 "model": MODEL})
NAMES = ["Ada", "Bob", "Cid", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy"]


def _files(tmp: Path, rival: bool) -> tuple[Path, Path]:
    fill = [{"first_name": n, "last_name": f"{n}son", "phone": f"+49 30 1000 00{k:02d}"} for k, n in enumerate(NAMES)]
    left = [{"id": "l0", "last_name": "Brandt", "phone": "+49 30 1234 5678"},       # no first name
            *({"id": f"l{k + 1}", **r} for k, r in enumerate(fill))]
    right = [{"id": "r0", "first_name": "Anna", "last_name": "Brandt", "phone": "+49 30 1234 5678"},
             *({"id": f"r{k + 1}", **r} for k, r in enumerate(fill))]
    if rival:       # her husband on the right too: surname and landline agree as well
        right[-1] = {"id": "r9", "first_name": "Paul", "last_name": "Brandt", "phone": "+49 30 1234 5678"}
    return write_csv(tmp / "left.csv", left), write_csv(tmp / "right.csv", right)


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("rival", [False, True])
def test_one_match_per_record_links_a_review_case_without_rivals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  bulk: bool, rival: bool) -> None:
    monkeypatch.setattr(offline, "BULK", bulk)
    own, _w = FSScorer(RULE).score({"last_name": "Brandt", "phone": "+49 30 1234 5678"},
                                   {"first_name": "Anna", "last_name": "Brandt", "phone": "+49 30 1234 5678"})
    assert own is not None and 0.99 < own < 0.999            # on its own evidence: a review case
    pairs, _stats = match_files([RULE], *_files(tmp_path, rival))
    got = {p.left_id: p for p in pairs}["l0"]
    if rival:
        assert got.decision == "review" and "one_to_one" not in got.evidence
        return
    assert (got.right_id, got.decision) == ("r0", "link")
    o2o = got.evidence["one_to_one"]
    assert o2o["pair_probability"] == pytest.approx(own, abs=1e-6)
    assert o2o["left_unmatched"] == pytest.approx(0.2) and o2o["right_unmatched"] == pytest.approx(0.2)
    # odds x 1 / (0.2 x 0.2): 25 times the pair's own
    assert o2o["probability"] == pytest.approx(25 * own / (1 - own) / (1 + 25 * own / (1 - own)), abs=1e-6)
    assert got.score == pytest.approx(o2o["probability"], abs=1e-4)
    assert any("one match per record" in line for line in got.evidence["explain"])


def test_promote_needs_the_prior_per_pair_of_records_and_keeps_links() -> None:
    review = Decision("review", "r0", "p", 0.995, {"explain": []})
    link = Decision("link", "r1", "p", 0.9999, {})
    pairs = {"p": (np.array([0, 1]), np.array([0, 1]), np.array([0.995, 0.9999]))}
    out = promote([review, link], pairs, {"p": 0.4}, {"p": 0.999}, ["r0", "r1"])     # 80% of each file matched
    assert out[0].decision == "link" and out[1] is link
    assert promote([review, link], pairs, {}, {"p": 0.999}, ["r0", "r1"]) == [review, link]


def test_one_to_one_false_leaves_review_cases_alone(tmp_path: Path) -> None:
    rule = RULE.model_copy(update={"one_to_one": False})
    pairs, _stats = match_files([rule], *_files(tmp_path, rival=False))
    assert {p.left_id: p for p in pairs}["l0"].decision == "review"
    with pytest.raises(ValueError, match="probabilistic rules only"):
        MatchRule.model_validate({"type": "fuzzy", "fields": ["phone", "last_name"], "block": ["phone:phone"],
                                  "one_to_one": False})


# promote below `link`: 1,250 records a side, a prior per pair of 0.00064 (the model expects 1,000 matches: 80% of
# each file, 20% without one); ``linked`` pairs (i, i) already linked at 1 - 1e-9; then the case's pairs (left,
# right, own probability); left record 1000 is a review case (of right 1000) when its pair reaches 0.5, else new.
N, PRIOR = 1250, 0.00064
LINK_CASES = [
    # (case, already linked, pairs, left 1000's link: (right id, score) or None, links made)
    ("below review, no rival: odds x 1/(0.2 x 0.2) = 0.898, F1 threshold 0.5; counted at 0.26, (1000 + 0.26) / 1001",
     1000, [(1000, 1000, 0.26)], ("r1000", 0.8978), 1),
    ("the same with 500 links: counted at its own 0.26, (500 + 0.26) / 501 is below 0.999",
     500, [(1000, 1000, 0.26)], None, 0),
    ("a free rival on the left: it would lose its only match, 0.47 < the F1 threshold",
     1000, [(1000, 1000, 0.26), (1000, 1001, 0.26)], None, 0),
    ("a rival whose record links (first, at 1 - 1e-9) weighs nothing",
     1000, [(1000, 1000, 0.26), (1000, 1001, 0.26), (1001, 1001, 1 - 1e-9)], ("r1000", 0.8978), 2),
    ("the right record is linked already: one link per record",
     1000, [(1000, 5, 0.9)], None, 0),
    ("a review case reaching link on its own probability links without a budget",
     0, [(1000, 1000, 0.995)], ("r1000", 0.9998), 1),
]


@pytest.mark.parametrize("case,linked,extra,expected,made", LINK_CASES, ids=[c[0] for c in LINK_CASES])
def test_promote_below_link_while_expected_f1_rises_and_precision_holds(
        case: str, linked: int, extra: list[tuple[int, int, float]], expected: tuple[str, float] | None,
        made: int) -> None:
    rows = sorted([(i, i, 1 - 1e-9) for i in range(linked)] + extra)
    li, rj = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    tot = np.array([r[2] for r in rows])
    decisions = [Decision("link", f"r{i}", "p", 1.0, {}) if i < linked else Decision("new", None, None, None, {})
                 for i in range(N)]
    own = dict(((i, j), p) for i, j, p in extra).get((1000, 1000), 0.0)
    if own >= 0.5:
        decisions[1000] = Decision("review", "r1000", "p", own, {"candidate": "r1000", "explain": []})
    out = promote(decisions, {"p": (li, rj, tot)}, {"p": PRIOR}, {"p": 0.999}, [f"r{j}" for j in range(N)],
                  lambda _name, _i, j, p: {"candidate": f"r{j}", "total": p})
    got = out[1000]
    assert sum(d.decision == "link" for d in out) == linked + made
    if expected is None:
        assert got.decision != "link" and "one_to_one" not in got.evidence
        return
    assert (got.golden_id, got.decision, got.rule) == (expected[0], "link", "p")
    o2o = got.evidence["one_to_one"]
    assert got.score == pytest.approx(expected[1], abs=1e-4) and o2o["probability"] == pytest.approx(expected[1], abs=1e-4)
    assert ("expected_precision" in o2o) == (expected[1] < 0.999)      # linked below `link`: says why
    assert got.evidence["candidate"] == expected[0] and got.evidence["explain"][-1].startswith("one match per record")


@pytest.mark.parametrize("bulk", [True, False])
def test_a_record_without_a_review_case_links_with_its_pairs_evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     bulk: bool) -> None:
    """End to end (all at once, record by record): a pair below `review` (the surname misspelt, no first name:
    a new record on its own evidence) links by one match per record beside 1,100 sure links (e-mail too), with
    the evidence of that pair."""
    monkeypatch.setattr(offline, "BULK", bulk)
    n = 1100
    fill = [{"first_name": f"Fn{k}", "last_name": f"Ln{k}", "phone": f"+49 30 2{k:06d}", "email": f"p{k}@x.example"}
            for k in range(n)]
    left = [{"id": "l0", "last_name": "Brant", "phone": "+49 30 1234 5678"}, *({"id": f"l{k + 1}", **r} for k, r in enumerate(fill))]
    right = [{"id": "r0", "first_name": "Anna", "last_name": "Brandt", "phone": "+49 30 1234 5678"},
             *({"id": f"r{k + 1}", **r} for k, r in enumerate(fill))]
    model = MODEL.model_copy(update={"prior": 0.8 / (n + 1), "fields": {
        **MODEL.fields, "email": FSFieldParams(levels=LEVELS["email"], m=(0.9, 0.04, 0.03, 0.03), u=(1e-4, 1e-4, 1e-4, 0.9997))}})
    rule = RULE.model_copy(update={"fields": (*RULE.fields, "email"), "model": model})
    own, _w = FSScorer(rule).score(left[0], right[0])
    assert own is not None and own < 0.5
    pairs, stats = match_files([rule], write_csv(tmp_path / "l.csv", left), write_csv(tmp_path / "r.csv", right))
    got = {p.left_id: p for p in pairs}["l0"]
    assert (got.right_id, got.decision, stats["link"]) == ("r0", "link", n + 1)
    o2o = got.evidence["one_to_one"]
    assert o2o["pair_probability"] == pytest.approx(own, abs=1e-6) and o2o["probability"] > 0.5
    assert o2o["expected_precision"] >= 0.999 and set(got.evidence["fields"]) >= {"last_name", "phone"}
    assert got.evidence["candidate"] == "r0" and got.evidence["total"] == pytest.approx(own, abs=1e-4)
