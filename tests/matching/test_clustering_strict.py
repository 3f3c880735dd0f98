"""Strict clustering of dedup links: a chain bridging two distinct people is refused (hub/matching/clustering.py)."""
from __future__ import annotations

import csv
from pathlib import Path

from concord.hub.config.model import MatchRule
from concord.hub.matching.clustering import Join, strict_clusters
from concord.hub.matching.fs import level_label, normaliser
from concord.hub.matching.offline import close_clusters, match_files

SCORES = {("a", "c"): 0.02, ("a", "d"): 0.9, ("b", "d"): 0.95}


def _score(x: str, y: str) -> tuple[float, float] | None:
    s = SCORES.get((min(x, y), max(x, y)))
    return None if s is None else (s, 0.5)


def test_a_chain_between_two_people_is_refused() -> None:
    cid, refused = strict_clusters([Join("a", "b", 0.999, True), Join("b", "c", 0.998, True)], _score)
    assert cid == {"a": "a", "b": "a"}                       # c is a different person from a: not joined
    assert [(r.left_id, r.right_id, r.against, r.score) for r in refused] == [("b", "c", ("a", "c"), 0.02)]


def test_an_agreeing_chain_and_unscored_pairs_join() -> None:
    # a-d agrees (0.9), b-d agrees (0.95): one cluster; pairs the rule cannot score say nothing either way
    cid, refused = strict_clusters([Join("a", "b", 0.999, True), Join("b", "d", 0.997, True),
                                    Join("x", "y", 0.99, True), Join("y", "z", 0.99, True)], _score)
    assert refused == []
    assert cid == {"a": "a", "b": "a", "d": "a", "x": "x", "y": "x", "z": "x"}


def test_strongest_link_first_and_exact_links_always_join() -> None:
    # b-c is the stronger link, so it is a-b that would bridge {b, c} and a: refused
    cid, refused = strict_clusters([Join("a", "b", 0.991, True), Join("b", "c", 0.999, True)], _score)
    assert cid == {"b": "b", "c": "b"} and [(r.left_id, r.right_id) for r in refused] == [("a", "b")]
    cid, refused = strict_clusters([Join("a", "b", 1.0, False), Join("b", "c", 1.0, False)], _score)
    assert refused == [] and set(cid.values()) == {"a"}


RULE = {"name": "p", "type": "probabilistic",
        "fields": ["first_name", "last_name", "birth_date", "national_id", "email", "mobile", "phone"],
        "block": ["email:email", "phone:mobile", "name:last_name"], "thresholds": {"link": 0.99, "review": 0.5}}
COLS = ["id", "first_name", "last_name", "birth_date", "national_id", "email", "mobile", "phone"]
ROWS = [  # b shares a mailbox with a and a mobile with c; a and c are two people (birth date, id, phone differ)
    ("a", "Anna", "Schmidt", "1980-01-01", "111-22-3333", "anna.schmidt@example.com", "", "+49 30 1234567"),
    ("b", "Anna", "Schmidt", "", "", "anna.schmidt@example.com", "+49 151 2345678", ""),
    ("c", "Anna", "Schmidt", "1992-05-05", "444-55-6666", "", "+49 151 2345678", "+49 89 7654321"),
]


def test_dedup_refuses_the_bridge_and_keeps_it_for_review(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLS)
        w.writerows(ROWS)
    pairs, stats = match_files([MatchRule.model_validate(RULE)], path)
    got = {(p.left_id, p.right_id): p for p in pairs}
    assert got[("a", "b")].decision == "link" and got[("a", "b")].cluster_id == "a"
    bridge = got[("b", "c")]
    assert bridge.decision == "review" and bridge.evidence["reason"] == "would join two clusters that disagree"
    assert bridge.evidence["disagreeing_pair"] == ["a", "c"] and bridge.evidence["disagreeing_score"] < 0.5
    assert ("a", "c") not in got and stats["clusters"] == 1
    # connected components over the same links would have merged the two people
    plain = close_clusters([p if k != ("b", "c") else p.__class__(*k, 1.0, "p", "link", {}) for k, p in got.items()])
    assert any(p.left_id == "a" and p.right_id == "c" and p.decision == "cluster" for p in plain)


def test_numbered_mailboxes_are_not_a_typo() -> None:
    norm = normaliser("email", "email")
    assert level_label("email", norm("stefan.johnson18630@x.com"), norm("stefan.johnson18631@x.com")) == "else"
    assert level_label("email", norm("stefan.johnson18630@x.com"), norm("stefan.johnson18360@x.com")) == "one_edit"
    assert level_label("email", norm("stefan.johnson18630@x.com"), norm("stefan.jonson18630@x.com")) == "one_edit"
