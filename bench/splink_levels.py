"""The level of each of splink's linked pairs: the highest match-probability threshold that still links it.

Plain Python, no dependency: imported by bench/splink_person.py in splink's own virtualenv (the script's
folder is on its path) and by bench/matching_splink.py and the tests in Concord's.

With a level per pair, splink's output at any threshold t at or above the one it ran at is the pairs whose
level is >= t, exactly, so the caller can sweep thresholds with the labels without running splink again:

- linkage, one-to-one best first: the greedy pass over pairs sorted by probability takes the same decisions
  on the prefix of pairs >= t as on the whole list, so a pair kept at the lower threshold is kept at t
  when its own probability is >= t, and a pair dropped stays dropped: its level is its probability.
- dedup, connected components: two records share a component at t when a path of links >= t joins
  them; the pair's level is the best such path's weakest link (single linkage: Kruskal's merges from
  the most probable link down).
"""
from __future__ import annotations


def one_to_one(rows: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Linked pairs one-to-one, best first (what ``concord match`` does for a linkage), each with its
    probability (its level)."""
    pairs: list[tuple[str, str, float]] = []
    taken_l: set[str] = set()
    taken_r: set[str] = set()
    for a, b, p in sorted(rows, key=lambda r: (-r[2], r[0], r[1])):
        if a not in taken_l and b not in taken_r:
            taken_l.add(a)
            taken_r.add(b)
            pairs.append((a, b, p))
    return pairs


def cluster_levels(rows: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Every pair of records inside one connected component of ``rows`` (links with their probability),
    each with its level: the highest threshold at which the two are still in one component."""
    parent: dict[str, str] = {}
    members: dict[str, list[str]] = {}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out: list[tuple[str, str, float]] = []
    for a, b, p in sorted(rows, key=lambda r: (-r[2], r[0], r[1])):
        for x in (a, b):
            if x not in parent:
                parent[x], members[x] = x, [x]
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        out += [(min(x, y), max(x, y), p) for x in members[ra] for y in members[rb]]
        parent[rb] = ra
        members[ra] += members.pop(rb)
    return out


def at_precision(levels: list[tuple[float, bool]], floor: float, start: float) -> tuple[float | None, int, int]:
    """The lowest threshold t >= ``start`` (the one splink ran at; ``levels``: (level, is a true pair) of the
    pairs it linked there, each level >= ``start``) at which the pairs of level >= t reach precision ``floor``:
    (t, true links, false links); (None, 0, 0) when no threshold reaches it. Every distinct level is tried
    (the links between two levels are the upper one's); when all links reach ``floor`` t is ``start``."""
    best: tuple[float | None, int, int] = (None, 0, 0)
    tp = fp = 0
    ordered = sorted(levels, key=lambda x: -x[0])
    i = 0
    while i < len(ordered):
        t = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == t:
            tp, fp = tp + ordered[i][1], fp + (not ordered[i][1])
            i += 1
        if tp / (tp + fp) >= floor:
            best = (t, tp, fp)
    if not ordered or best[1:] == (tp, fp):      # every link (or none at all) reaches it: splink as it ran
        best = (start, tp, fp)
    return best
