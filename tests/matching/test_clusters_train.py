"""Offline deduplication closes links into clusters; `concord match train` writes a reviewed model."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from concord.hub.config import load_project
from concord.hub.matching.offline import Pair, close_clusters, clusters
from tests.conftest import run_cli


def _link(a: str, b: str) -> Pair:
    return Pair(a, b, 0.999, "r", "link", {})


def test_clusters_are_connected_components() -> None:
    cid = clusters([("b", "c"), ("a", "b"), ("x", "y"), ("c", "a")])
    assert cid == {"a": "a", "b": "a", "c": "a", "x": "x", "y": "x"}


def test_close_clusters_is_transitive() -> None:
    pairs = close_clusters([_link("a", "b"), _link("b", "c"), _link("c", "d"), _link("x", "y"),
                            Pair("a", "z", 0.6, "r", "review", {})])
    got = {(p.left_id, p.right_id): (p.decision, p.cluster_id) for p in pairs}
    # every pair of {a, b, c, d}: three links and three implied pairs, one cluster id
    implied = {k for k, (d, _c) in got.items() if d == "cluster"}
    assert implied == {("a", "c"), ("a", "d"), ("b", "d")}
    assert {c for (a, _b), (_d, c) in got.items() if a in "abcd" and _d != "review"} == {"a"}
    assert got[("x", "y")] == ("link", "x") and got[("a", "z")] == ("review", "a")
    # transitivity: for any two pairs sharing a record, the third pair is there too
    linked = {k for k, (d, _c) in got.items() if d in ("link", "cluster")}
    for a, b in linked:
        for c, d in linked:
            if b == c:
                assert tuple(sorted((a, d))) in linked


PEOPLE = [  # id, first, last, birth date, email, national id; p1..p3 one person (typo, swapped names, day/month)
    ("p1", "Anna", "Schneider", "1984-03-07", "anna.schneider@example.com", "078-05-1120"),
    ("p2", "Anna", "Schnieder", "1984-03-07", "", "078051120"),
    ("p3", "Schneider", "Anna", "1984-07-03", "anna.schneider@example.com", ""),
    ("p4", "Ben", "Okafor", "1979-11-30", "ben.okafor@example.com", "219-09-9999"),
    ("p5", "Ben", "Okafor", "1979-11-30", "b.okafor@other.example", "219-09-9999"),
    ("p6", "Clara", "Lindqvist", "1990-01-15", "clara.l@example.com", "457-55-5462"),
    ("p7", "David", "Moreau", "1972-06-01", "dmoreau@example.com", "323-21-1234"),
    ("p8", "Emma", "Moreau", "1975-02-12", "dmoreau@example.com", ""),             # family: shared mailbox
]


def _write(path: Path, rows: list[tuple[str, ...]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "first_name", "last_name", "birth_date", "email", "national_id"])
        w.writerows(rows)


def test_train_writes_the_model_and_dedup_outputs_clusters(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    run_cli("init", str(folder))
    cfg_path = folder / "concord.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["entities"]["contact"]["match"] = [{
        "name": "person_fs", "type": "probabilistic",
        "fields": ["first_name", "last_name", "birth_date", "email", "national_id"],
        "swap": [["first_name", "last_name"]], "tf": ["last_name"],
        "block": ["exact:national_id", "email:email", "year:birth_date"],
        "thresholds": {"link": 0.95, "review": 0.5}}]
    cfg_path.write_text("# my project\n" + yaml.safe_dump(cfg, sort_keys=False))
    data = tmp_path / "people.csv"
    _write(data, PEOPLE)

    out = json.loads(run_cli("match", "train", "--entity", "contact", "--left", str(data), "--config",
                             str(cfg_path), "--json").stdout)
    assert out["written"] == str(cfg_path) and out["rules"]["person_fs"]["pairs"] > 0
    text = cfg_path.read_text()
    assert text.startswith("# my project") and "model:" in text            # comments kept, model written
    rule = load_project(cfg_path, check_connectors=False).config.entities["contact"].match[0]
    assert rule.model is not None and set(rule.model.fields) == set(rule.fields)
    assert rule.model.fields["first_name"].levels[1] == "swapped"

    pairs_csv, clusters_csv = tmp_path / "pairs.csv", tmp_path / "clusters.csv"
    res = json.loads(run_cli("match", "--entity", "contact", "--left", str(data), "--config", str(cfg_path),
                             "--out", str(pairs_csv), "--clusters", str(clusters_csv), "--json").stdout)
    assert res["clusters"] >= 1
    with open(pairs_csv, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["cluster_id"] for r in rows if r["decision"] in ("link", "cluster"))
    with open(clusters_csv, encoding="utf-8") as fh:
        cid = {r["id"]: r["cluster_id"] for r in csv.DictReader(fh)}
    assert cid.get("p4") == cid.get("p5") == "p4"
    assert cid.get("p6") is None                           # alone
    assert "p8" not in cid or cid["p8"] != cid.get("p7")   # a shared mailbox does not make one person


def test_match_without_entity_names_what_is_missing(tmp_path: Path) -> None:
    proc = run_cli("match", "--left", str(tmp_path / "x.csv"), check=False)
    assert proc.returncode != 0 and "--entity" in (proc.stdout + proc.stderr)
