"""A training session whose "matches" disagree outright on most strong fields found no matches: it is dropped
(hub/matching/em_sessions.py), so households sharing names and an area cannot teach the model that one
person's records hold different identifiers and birth dates."""
from __future__ import annotations

from concord.hub.config.model import MatchRule
from concord.hub.matching.em_sessions import disagreeing
from concord.hub.matching.fs import field_specs

RULE = MatchRule.model_validate({
    "name": "person_fs", "type": "probabilistic",
    "fields": ["first_name", "last_name", "birth_date", "national_id", "email", "phone", "mailing_address.city"],
    "block": ["exact:national_id"]})
SPECS = field_specs(RULE)
ACTIVE = [2, 3, 4, 5, 6]          # a names session estimates every other field


def _m(else_share: dict[int, float]) -> list[list[float]]:
    out = []
    for k, s in enumerate(SPECS):
        e = else_share.get(k, 0.01)
        out.append([1 - e] + [0.0] * (len(s.levels) - 2) + [e])
    return out


def test_a_session_whose_matches_disagree_on_most_strong_fields_is_dropped() -> None:
    # the pattern training found at 100k people: "matches" that share a city and nothing else
    assert disagreeing(SPECS, _m({2: 0.98, 3: 0.99, 4: 0.99, 5: 0.99}), ACTIVE) == \
        ["birth_date", "national_id", "email", "phone"]
    assert disagreeing(SPECS, _m({2: 0.98, 3: 0.99, 4: 0.99}), ACTIVE) == ["birth_date", "national_id", "email"]


def test_a_session_with_plausible_matches_is_kept() -> None:
    assert disagreeing(SPECS, _m({}), ACTIVE) == []
    # one strong field often different (a CRM that keeps an old e-mail) is no reason to drop the session
    assert disagreeing(SPECS, _m({4: 0.7}), ACTIVE) == []
    # half of them is not most of them; the city (not a strong field) never counts
    assert disagreeing(SPECS, _m({2: 0.9, 3: 0.9, 6: 0.99}), ACTIVE) == []
    assert disagreeing(SPECS, _m({0: 0.99, 1: 0.99}), [0, 1, 6]) == []    # no strong field estimated
