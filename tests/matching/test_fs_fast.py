"""The fast comparison path (hub/matching/fs_levels.py, FSScorer.probabilities) decides exactly as the
plain reading of the rules (fs.reference_levels, one pair and one field at a time) on a fixed noisy dataset."""
from __future__ import annotations

import csv
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from concord.hub.config.model import MatchRule
from concord.hub.matching import fs as fs_mod
from concord.hub.matching.em import candidate_pairs, estimate
from concord.hub.matching.fs import NOT_COMPARED, FSScorer, reference_levels
from concord.hub.matching.fs_levels import LevelComputer
from concord.hub.matching import offline
from concord.hub.matching.offline import match_files
from concord.hub.sandbox.world import PersonNoise, World

RULE = {"name": "person_fs", "type": "probabilistic",
        "fields": ["first_name", "last_name", "birth_date", "national_id", "email", "phone", "mobile",
                   "mailing_address.street", "mailing_address.postal_code", "mailing_address.city"],
        "swap": [["first_name", "last_name"]], "tf": ["first_name", "last_name"],
        "block": ["exact:national_id", "email:email", "phone:mobile", "exact:birth_date", "phone:phone",
                  "exact:mailing_address.street"],
        "thresholds": {"link": 0.999, "review": 0.5}}
EXTRA = [  # Latin against CJK, swapped names with a typo, one side empty
    {"id": "x-1", "first_name": "Wei", "last_name": "Zhang", "birth_date": "1980-01-02", "national_id": "900-00-0001"},
    {"id": "x-2", "last_name": "张伟", "birth_date": "1980-01-02", "national_id": "900-00-0001"},
    {"id": "x-3", "first_name": "Zhang", "last_name": "Wie", "birth_date": "1980-02-01", "national_id": "900-00-0001"},
    {"id": "x-4", "first_name": "", "last_name": "Zhang", "birth_date": "1980-01-02"},
]


def _rows(world: World, system: str, copies: bool) -> list[dict[str, object]]:
    out = []
    for i in range(world.n_people):
        if not world.present(system, "person", i, 0.85):
            continue
        for c in range(world.person_copies(system, i) if copies else 1):
            v = {k: x for k, x in world.person_view(system, i, c).items() if x not in (None, "")}
            out.append({"id": f"{system}-{i}-{c}", **v})
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    world = World(seed=5, size=400, person_noise=PersonNoise.realistic())
    folder = tmp_path_factory.mktemp("fsfast")
    out = {}
    for name, rows in (("erp", _rows(world, "erp", False)), ("crm", _rows(world, "crm", True) + EXTRA)):
        cols = sorted({k for r in rows for k in r}, key=lambda k: (k != "id", k))
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        out[name] = folder / f"{name}.csv"
    return out


def _records(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if v and k != "id"} for r in csv.DictReader(fh)]


def test_fast_levels_equal_the_reference_on_candidate_and_random_pairs(data: dict[str, Path]) -> None:
    rule = MatchRule.model_validate(RULE)
    left, right = _records(data["erp"]), _records(data["crm"])
    scorer = FSScorer(rule)
    pairs = candidate_pairs(rule, left, right)
    rng = random.Random(3)
    pairs += [(rng.randrange(len(left)), rng.randrange(len(right))) for _ in range(3000)]
    both = [(left[i], right[j]) for i, j in pairs]
    both += [(a, b) for a in right[-len(EXTRA):] for b in right[-len(EXTRA):]]   # the hand-made records
    seen_levels = set()
    for a, b in both:
        fast = scorer.levels(a, b)
        assert fast == reference_levels(scorer, scorer.normalised(a), scorer.normalised(b)), (a, b)
        assert fast == scorer.levels(a, b)            # again, now from the memo
        seen_levels.update((k, lv) for k, lv in enumerate(fast))
    swapped = scorer.specs[0].levels.index("swapped")
    assert (0, swapped) in seen_levels and (0, NOT_COMPARED) in seen_levels   # the data exercises both


def _reference_tuple_levels(self: LevelComputer, a, b):   # type: ignore[no-untyped-def]
    fields = [s.field for s in self.specs]
    return reference_levels(SimpleNamespace(specs=self.specs), dict(zip(fields, a)), dict(zip(fields, b)))


def _slow_probabilities(self: FSScorer, record, others):   # type: ignore[no-untyped-def]
    """The decision path before the fast one: every candidate scored on its own, from the reference levels."""
    out = []
    na = self.normalised(record)
    for o in others:
        fw = self.field_weights(reference_levels(self, na, self.normalised(o)), na)
        ok = len(fw) >= self.rule.min_fields and all(f in fw for f in self.rule.require)
        out.append(self.probability(self.prior_weight + sum(fw.values())) if ok else None)
    return out


@pytest.mark.parametrize("task", ["linkage", "dedup"])
def test_fast_path_keeps_every_decision(data: dict[str, Path], task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = MatchRule.model_validate(RULE)
    left, right = (data["erp"], data["crm"]) if task == "linkage" else (data["crm"], None)
    model = estimate(rule, _records(left), _records(right) if right else None).model
    trained = rule.model_copy(update={"model": model})
    # record by record (the engine's path): the all-at-once path is held to this one in test_fs_columns
    monkeypatch.setattr(offline, "BULK", False)
    fast, _ = match_files([trained], left, right)
    monkeypatch.setattr(fs_mod.FSScorer, "probabilities", _slow_probabilities)
    monkeypatch.setattr(LevelComputer, "levels", _reference_tuple_levels)     # the evidence too
    slow, _ = match_files([trained], left, right)
    assert len(fast) > 50
    assert [(p.left_id, p.right_id, p.decision, p.score, p.evidence, p.cluster_id) for p in fast] == \
           [(p.left_id, p.right_id, p.decision, p.score, p.evidence, p.cluster_id) for p in slow]


def test_sessions_count_the_entities_and_are_not_fooled_by_households(data: dict[str, Path]) -> None:
    """Trained by sessions, the model's prior times the record pairs is about the number of true matches,
    and no household member (same surname, address and landline, another person) is linked."""
    rule = MatchRule.model_validate(RULE)
    left, right = _records(data["erp"]), _records(data["crm"])
    tr = estimate(rule, left, right)
    with open(data["erp"], encoding="utf-8") as fh:
        lp = {r["id"].split("-")[1] for r in csv.DictReader(fh)}
    with open(data["crm"], encoding="utf-8") as fh:
        rp = {r["id"].split("-")[1] for r in csv.DictReader(fh) if not r["id"].startswith("x-")}
    truth = len(lp & rp)
    assert tr.model.prior * len(left) * len(right) == pytest.approx(truth, rel=0.15)
    assert {s["agree_on"][0] for s in tr.model.trained["sessions"]} >= {"birth_date", "national_id", "email"}
    pairs, _ = match_files([rule.model_copy(update={"model": tr.model})], data["erp"], data["crm"])
    links = [(p.left_id.split("-")[1], p.right_id.split("-")[1]) for p in pairs if p.decision == "link"]
    assert sum(a == b for a, b in links) >= 0.9 * truth and all(a == b for a, b in links)
