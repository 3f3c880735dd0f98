"""The column paths of offline probabilistic matching decide as the one-record paths do: level vectors of all
pairs at once (fs_columns.ColumnLevels) against LevelComputer, and every decision of bulk.decide_all against
RuleMatcher.decide (several probabilistic rules, blocks too common to use, records without candidates)."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from bench.matching_people import FS_PERSON, person_rows, write_csv
from concord.hub.config.model import MatchRule
from concord.hub.matching import bulk, offline
from concord.hub.matching import fs as fs_mod
from concord.hub.matching.em import estimate
from concord.hub.matching.fs import FSScorer
from concord.hub.matching.fs_columns import ColumnLevels
from concord.hub.matching.fs_levels import LevelComputer
from concord.hub.matching.offline import _Index, _term_frequencies, match_files, read_records
from concord.hub.matching.rules import RuleMatcher
from concord.hub.sandbox.world import PersonNoise, World

ODD = [  # Latin against CJK, swapped names with typos, numbered mailboxes, day/month, house numbers, numbers
    {"first_name": "Wei", "last_name": "Zhang", "birth_date": "1980-01-02", "email": "wei.zhang1@x.example",
     "mailing_address.street": "Hauptstr. 12", "score": "10.5"},
    {"first_name": "张", "last_name": "伟", "birth_date": "1980-02-01", "email": "wei.zhang2@x.example",
     "mailing_address.street": "Hauptstr. 14", "score": "10.6"},
    {"first_name": "Zhang", "last_name": "Wie", "birth_date": "1980-01-03", "email": "wei.zhnag1@x.example",
     "mailing_address.street": "Hauptstrasse 12", "score": "11"},
    {"first_name": "Zhnag", "last_name": "Wei", "birth_date": "1908-01-02", "email": "wei.zhang1@other.example",
     "mailing_address.street": "Hauptstr.", "score": "0"},
    {"last_name": "Zhang", "email": "w@x.example", "score": "-3"},
]
RULE = {**FS_PERSON, "fields": [*FS_PERSON["fields"], "score"], "comparisons": {"score": "numeric"}}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    world = World(seed=11, size=300, person_noise=PersonNoise.realistic())
    folder = tmp_path_factory.mktemp("fscolumns")
    odd = [{"id": f"odd-{n}-0", **r} for n, r in enumerate(ODD)]
    return {"erp": write_csv(folder / "erp.csv", person_rows(world, "erp", copies=False) + odd),
            "crm": write_csv(folder / "crm.csv", person_rows(world, "crm", copies=True) + odd)}


def test_levels_of_all_pairs_equal_levelcomputer(files: dict[str, Path]) -> None:
    scorer = FSScorer(MatchRule.model_validate(RULE))
    left = [scorer.normalised_tuple(r) for _i, r in read_records(files["erp"])]
    right = [scorer.normalised_tuple(r) for _i, r in read_records(files["crm"])]
    rng = random.Random(2)
    pairs = [(rng.randrange(len(left)), rng.randrange(len(right))) for _ in range(20_000)]
    pairs += [(i, j) for i in range(len(left) - len(ODD), len(left)) for j in range(len(right) - len(ODD), len(right))]
    pairs += [(i, i) for i in range(min(len(left), len(right)))]
    cols = ColumnLevels(scorer.specs)
    lc, rc = cols.encode(left), cols.encode(right)
    got = cols.levels(lc, rc, np.array([i for i, _ in pairs]), np.array([j for _, j in pairs]))
    one = LevelComputer(scorer.specs, fs_mod.DIFFERENT, fs_mod._close)      # the engine's one-pair path
    ref = [one.vector(left[i], right[j]) for i, j in pairs]
    assert [tuple(v) for v in got.T.tolist()] == ref
    seen = {(k, lv) for v in ref for k, lv in enumerate(v)}
    labels = {(scorer.specs[k].field, scorer.specs[k].levels[lv]) for k, lv in seen if lv >= 0}
    assert {("first_name", "swapped"), ("birth_date", "day_month_swapped"), ("email", "same_local"),
            ("score", "within_10pct"), ("first_name", "jw_0.80")} <= labels
    assert (0, -1) in seen                                                   # Latin against CJK


def _one_by_one(matcher: RuleMatcher, left: list, right: list | None) -> list:
    index = _Index(matcher)
    if right is None:
        keys = {rid: index.add(rid, rec) for rid, rec in left}
        return [matcher.decide(rec, index.candidates(keys[rid], exclude=rid), index.data) for rid, rec in left]
    for rid, rec in right:
        index.add(rid, rec)
    return [matcher.decide(rec, index.candidates(matcher.keys(rec)), index.data) for _rid, rec in left]


@pytest.mark.parametrize("task", ["linkage", "dedup"])
@pytest.mark.parametrize("max_block", [50, 1])
def test_all_at_once_decides_as_one_by_one(files: dict[str, Path], task: str, max_block: int) -> None:
    rule = MatchRule.model_validate(FS_PERSON)
    left = list(read_records(files["erp"] if task == "linkage" else files["crm"]))
    right = list(read_records(files["crm"])) if task == "linkage" else None
    model = estimate(rule, [r for _i, r in left], [r for _i, r in right] if right else None).model
    strict = MatchRule.model_validate({**FS_PERSON, "name": "strict", "block": FS_PERSON["block"][:3],
                                       "thresholds": {"link": 0.99999, "review": 0.999}}).model_copy(
                                           update={"model": model})
    loose = MatchRule.model_validate({**FS_PERSON, "name": "loose"}).model_copy(update={"model": model})
    matcher = RuleMatcher([strict, loose], max_block=max_block)
    assert bulk.applies(matcher)
    _term_frequencies(matcher, [r for _i, r in left + (right or [])])
    got = bulk.decide_all(matcher, left, right)
    want = _one_by_one(matcher, left, right)
    assert got == want
    kinds = {(d.decision, d.rule) for d in got}
    assert {("link", "strict"), ("new", None)} <= kinds
    assert task == "dedup" or ("link", "loose") in kinds                # the second rule decides some
    assert (max_block == 1) == any("oversized_blocks" in d.evidence for d in got)


def test_match_files_gives_the_same_rows_all_at_once(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    rule = MatchRule.model_validate(FS_PERSON)
    recs = [r for _i, r in read_records(files["crm"])]
    trained = rule.model_copy(update={"model": estimate(rule, recs).model})
    fast = [p.row() + [p.cluster_id] for p in match_files([trained], files["crm"])[0]]
    monkeypatch.setattr(offline, "BULK", False)
    slow = [p.row() + [p.cluster_id] for p in match_files([trained], files["crm"])[0]]
    assert fast == slow and len(fast) > 20


def test_keys_of_all_records_equal_matcher_keys(files: dict[str, Path]) -> None:
    """Block by block, reading the scorer's normalised values where the normaliser is the same: the keys
    RuleMatcher.keys gives (a field compared as text normalises otherwise: its keys are worked out anew)."""
    rule = MatchRule.model_validate({**RULE, "comparisons": {"score": "numeric", "last_name": "text"},
                                     "block": [*FS_PERSON["block"], "name_edits:last_name", "name_split:first_name",
                                               "year:birth_date", "domain:email", "initial:last_name+exact:score"]})
    recs = list(read_records(files["crm"])) + [("e-1", {"first_name": "", "email": "A@gmail.com"}), ("e-2", {})]
    matcher = RuleMatcher([rule])
    _term_frequencies(matcher, [r for _i, r in recs])
    got = bulk.keys_all(matcher, recs)
    assert got == [RuleMatcher([rule]).keys(r) for _i, r in recs]
    assert sum(len(k) for k in got) > 10 * len(recs)


@pytest.mark.parametrize("task", ["linkage", "dedup"])
def test_one_by_one_path_still_decides_as_the_reference(files: dict[str, Path], task: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """test_fs_fast's check of the one-record fast path (FSScorer.probabilities, LevelComputer) against the plain
    reading of the rules, with offline matching deciding record by record (the engine's path)."""
    from tests.matching.test_fs_fast import _reference_tuple_levels, _slow_probabilities

    monkeypatch.setattr(offline, "BULK", False)
    rule = MatchRule.model_validate(FS_PERSON)
    recs = [r for _i, r in read_records(files["crm"])]
    trained = rule.model_copy(update={"model": estimate(rule, recs).model})
    args = (files["erp"], files["crm"]) if task == "linkage" else (files["crm"],)
    fast = [p.row() + [p.cluster_id] for p in match_files([trained], *args)[0]]
    monkeypatch.setattr(fs_mod.FSScorer, "probabilities", _slow_probabilities)
    monkeypatch.setattr(LevelComputer, "levels", _reference_tuple_levels)
    slow = [p.row() + [p.cluster_id] for p in match_files([trained], *args)[0]]
    assert fast == slow and len(fast) > 20
    monkeypatch.setattr(offline, "BULK", True)                      # and all at once, the same
    assert [p.row() + [p.cluster_id] for p in match_files([trained], *args)[0]] == slow


def test_all_at_once_on_empty_and_tiny_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("id,first_name,last_name\n", encoding="utf-8")
    two = tmp_path / "two.csv"
    two.write_text("id,first_name,last_name,birth_date\na1,Ann,Lee,1990-01-02\na2,Ann,Lee,1990-01-02\n", encoding="utf-8")
    rule = MatchRule.model_validate(FS_PERSON)
    for files_ in [(two, empty), (empty, two), (empty, None), (two, None), (two, two)]:
        monkeypatch.setattr(offline, "BULK", True)
        fast = match_files([rule], *files_)
        monkeypatch.setattr(offline, "BULK", False)
        assert fast == match_files([rule], *files_)
