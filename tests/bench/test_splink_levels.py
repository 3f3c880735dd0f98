"""bench/splink_levels.py: a linked pair's level is the highest threshold that still links it, so splink's
output at any higher threshold is the pairs of level >= it; the oracle picks the lowest threshold whose
precision reaches the floor. Checked against splink's own procedures redone at each threshold."""
from __future__ import annotations

import random

from bench.matching_splink import oracle, threshold_text
from bench.splink_levels import at_precision, cluster_levels, one_to_one


def _components(rows: list[tuple[str, str, float]], t: float) -> set[tuple[str, str]]:
    """Pairs inside the connected components of the links >= t, the slow way."""
    adj: dict[str, set[str]] = {}
    for a, b, p in rows:
        if p >= t:
            adj.setdefault(a, set()).add(b)
            adj.setdefault(b, set()).add(a)
    seen: set[str] = set()
    out: set[tuple[str, str]] = set()
    for start in adj:
        if start in seen:
            continue
        comp, todo = [], [start]
        seen.add(start)
        while todo:
            x = todo.pop()
            comp.append(x)
            for y in adj[x] - seen:
                seen.add(y)
                todo.append(y)
        out |= {(min(x, y), max(x, y)) for x in comp for y in comp if x < y}
    return out


def _graph(rng: random.Random, ids: list[str], n: int) -> list[tuple[str, str, float]]:
    probs = [0.999, 0.9993, 0.9995, 0.9999, 0.99999, 1.0]
    return [(a, b, rng.choice(probs)) for a, b in (rng.sample(ids, 2) for _ in range(n))]


def test_cluster_levels_give_the_components_at_every_higher_threshold() -> None:
    rng = random.Random(5)
    for _ in range(30):
        rows = _graph(rng, [f"r{i}" for i in range(25)], 30)
        levels = cluster_levels(rows)
        assert len({(a, b) for a, b, _p in levels}) == len(levels)          # each pair once
        for t in sorted({p for _a, _b, p in rows}):
            assert {(a, b) for a, b, p in levels if p >= t} == _components(rows, t)


def test_one_to_one_at_a_higher_threshold_keeps_the_pairs_of_that_level() -> None:
    rng = random.Random(7)
    for _ in range(30):
        rows = [(f"l{rng.randrange(12)}", f"r{rng.randrange(12)}", rng.choice([0.999, 0.9995, 0.9999, 1.0]))
                for _ in range(30)]
        rows = list({(a, b): (a, b, p) for a, b, p in rows}.values())
        kept = one_to_one(rows)
        for t in (0.999, 0.9995, 0.9999, 1.0):
            assert set(one_to_one([r for r in rows if r[2] >= t])) == {r for r in kept if r[2] >= t}


def test_oracle_takes_the_lowest_threshold_reaching_the_floor() -> None:
    # 1,000 true links at 1.0, a false one at 0.9999 (precision 0.999001 there), 20 true and 5 false at 0.999
    levels = [(1.0, True)] * 1000 + [(0.9999, False)] + [(0.999, True)] * 20 + [(0.999, False)] * 5
    assert at_precision(levels, 0.999, 0.999) == (0.9999, 1000, 1)
    o = oracle(levels, 1100, 0.999)
    assert (o["threshold"], o["tp"], o["fp"], o["recall"]) == (0.9999, 1000, 1, round(1000 / 1100, 5))
    # every link reaches the floor: splink as it ran, at its own threshold
    assert at_precision([(0.9995, True), (1.0, True)], 0.999, 0.999) == (0.999, 2, 0)
    # none does: nothing linked
    assert at_precision([(1.0, False), (0.9995, True)], 0.999, 0.999) == (None, 0, 0)
    assert oracle([(1.0, False)], 10, 0.999)["f1"] == 0.0


def test_threshold_text() -> None:
    assert threshold_text(0.999) == "0.999"
    assert threshold_text(0.99974) == "0.99974"
    assert threshold_text(1 - 2.1e-7) == "1 - 2.1e-07"
    assert threshold_text(None) == "none reaches it"
