"""Joint levels of a ``dependent`` group (hub/matching/fs_groups.py): the pattern of the group's fields has
its own m and u, learned by training; the scorer counts the pattern's weight once, and falls back to the
strongest field for a pattern the model never saw."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench.matching_people import FS_PERSON, person_rows
from concord.hub.config.model import FSFieldParams, MatchRule
from concord.hub.matching.em import estimate
from concord.hub.matching.fs import FSScorer
from concord.hub.matching.fs_groups import exact_pattern_u, group_key, pattern
from concord.hub.sandbox.world import PersonNoise, World
from tests.matching.test_fs_dependent import HOME, HOUSE, MODEL, rule

JOINT = FSFieldParams(levels=("exact,exact,exact,exact", "-,exact,exact,exact", "-,else,exact,exact"),
                      m=(0.9, 0.9, 0.05), u=(1e-5, 2e-6, 0.01))
ANNA = {"first_name": "Anna", "last_name": "Brandt", **HOUSE}


def _scorer(joint: bool) -> FSScorer:
    model = MODEL.model_copy(update={"groups": {group_key(HOME): JOINT}}) if joint else MODEL
    return FSScorer(rule([HOME], model=model))


def test_a_learned_pattern_counts_its_own_weight_once() -> None:
    s, plain = _scorer(True), _scorer(False)
    b = {**ANNA, "phone": None}                       # no landline on one side, the whole address equal
    p, weights = s.score(ANNA, b)
    joint_w = np.log2(0.9 / 2e-6)
    assert weights["street"] == pytest.approx(joint_w, abs=0.01)       # the first compared field carries it
    assert weights["postal_code"] == 0 and weights["city"] == 0
    _p, strongest = plain.score(ANNA, b)                                # before: the street's weight alone
    assert strongest["street"] < weights["street"]
    assert s.probabilities(ANNA, [b]) == [pytest.approx(p)]            # plan, score and evidence agree
    rounded, ev = s.evidence(ANNA, b)
    assert rounded == weights and ev["probability"] == pytest.approx(p, abs=1e-6)
    assert any("learned jointly" in line and "phone missing" in line for line in ev["explain"])


def test_a_pattern_the_model_never_saw_falls_back_to_the_strongest_field() -> None:
    s, plain = _scorer(True), _scorer(False)
    moved = {**ANNA, "phone": "+49 40 9999 0000", "street": "Hafenweg 3", "postal_code": "20095", "city": "Hamburg"}
    assert s.score(ANNA, moved) == plain.score(ANNA, moved)


def test_exact_pattern_u_counts_every_pair() -> None:
    rng = np.random.default_rng(3)
    left = [rng.integers(-1, 4, 60) for _ in range(3)]           # three fields, -1 missing
    right = [rng.integers(-1, 4, 50) for _ in range(3)]
    for present in [(True, True, True), (True, False, True), (False, True, False)]:
        ks = [k for k in range(3) if present[k]]
        agree = compared = 0
        for i, j in itertools.product(range(60), range(50)):
            if all(left[k][i] >= 0 and right[k][j] >= 0 for k in ks):
                compared += 1
                agree += all(left[k][i] == right[k][j] for k in ks)
        assert exact_pattern_u([0, 1, 2], present, left, right, 0.9, 0.0) == pytest.approx(agree / compared)
        agree = compared = 0                                       # deduplication: pairs i < j of one set
        for i, j in itertools.combinations(range(60), 2):
            if all(left[k][i] >= 0 and left[k][j] >= 0 for k in ks):
                compared += 1
                agree += all(left[k][i] == left[k][j] for k in ks)
        assert exact_pattern_u([0, 1, 2], present, left, None, 0.9, 0.0) == pytest.approx(agree / compared)


def test_training_learns_the_groups_patterns() -> None:
    world = World(seed=9, size=400, person_noise=PersonNoise.realistic())
    rule_ = MatchRule.model_validate(FS_PERSON)
    model = estimate(rule_, person_rows(world, "erp", copies=False), person_rows(world, "crm", copies=False)).model
    joint = model.groups[group_key(FS_PERSON["dependent"][0])]
    at = {lv: (m, u) for lv, m, u in zip(joint.levels, joint.m, joint.u)}
    m, u = at["-,exact,exact,exact"]
    street = model.fields["mailing_address.street"]
    # a whole address is shared by fewer pairs than its street alone, and is one person's nearly always
    assert u <= street.u[0] and m > 0.9
    assert pattern((-1, 0, 0, 0), [0, 1, 2, 3], [3, 5, 3, 5]) == "-,exact,exact,exact"


def test_the_written_model_keeps_the_groups() -> None:
    from concord.hub.config.model import FSModel
    from concord.hub.matching.train import model_data

    model = MODEL.model_copy(update={"groups": {group_key(HOME): JOINT}})
    again = FSModel.model_validate(model_data(model))          # as `concord match train` writes it
    assert again.groups[group_key(HOME)].levels == JOINT.levels
    b = {**ANNA, "phone": None}
    assert FSScorer(rule([HOME], model=again)).score(ANNA, b) == FSScorer(rule([HOME], model=model)).score(ANNA, b)
