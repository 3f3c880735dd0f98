"""Clustering of deduplication links that refuses chains bridging distinct entities.

Connected components close links transitively: if A links B and B links C, all three are one entity.
One wrong or weak link then merges two people, with every pair between their records. The stricter
clustering here builds the components link by link, strongest first, and joins two clusters only
when the records of one agree with the records of the other: every pair across the two clusters that
the rule can score must score at least the rule's review threshold (a pair below it is, by the rule's
own reading, a different entity). A pair the rule cannot score (too few fields
present) says nothing either way. A link that would join two disagreeing clusters is refused; the
caller keeps it as a review case.

Links of exact rules (an identifier both records hold) always join: they do not score pairs.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# (score, the least score that agrees) of two record ids by the rule that reads them; None: not scored
Score = Callable[[str, str], tuple[float, float] | None]
MAX_CROSS = 400                                 # cross pairs checked per join (two clusters of 20 records)


@dataclass(frozen=True)
class Join:
    left_id: str
    right_id: str
    score: float
    check: bool          # False: an exact-rule link, joins without checking the clusters


@dataclass(frozen=True)
class Refusal:
    left_id: str
    right_id: str
    against: tuple[str, str]     # the cross pair that disagreed
    score: float                 # its score


def strict_clusters(joins: Sequence[Join], score: Score) -> tuple[dict[str, str], list[Refusal]]:
    """(record id -> cluster id (the smallest id of its cluster) for records in a cluster of two or more,
    refused links); see the module docstring."""
    members: dict[str, list[str]] = {}
    cluster: dict[str, str] = {}
    refused: list[Refusal] = []

    def root(x: str) -> str:
        if x not in cluster:
            cluster[x] = x
            members[x] = [x]
        return cluster[x]

    for j in sorted(joins, key=lambda j: (-j.score, j.left_id, j.right_id)):
        ra, rb = root(j.left_id), root(j.right_id)
        if ra == rb:
            continue
        if j.check:
            bad = _disagreement(members[ra], members[rb], (j.left_id, j.right_id), score)
            if bad is not None:
                refused.append(Refusal(j.left_id, j.right_id, bad[0], bad[1]))
                continue
        keep, gone = (ra, rb) if len(members[ra]) >= len(members[rb]) else (rb, ra)
        for x in members[gone]:
            cluster[x] = keep
        members[keep].extend(members.pop(gone))
    out: dict[str, str] = {}
    for ids in members.values():
        if len(ids) < 2:           # both ends of a refused link may stay alone
            continue
        cid = min(ids)
        out.update(dict.fromkeys(ids, cid))
    return out, refused


def _disagreement(a: Sequence[str], b: Sequence[str], link: tuple[str, str],
                  score: Score) -> tuple[tuple[str, str], float] | None:
    """The weakest cross pair scoring below its threshold, or None when the two clusters agree."""
    worst: tuple[tuple[str, str], float] | None = None
    checked = 0
    for x in a:
        for y in b:
            if {x, y} == set(link):
                continue
            checked += 1
            if checked > MAX_CROSS:
                return worst
            r = score(x, y)
            if r is not None and r[0] < r[1] and (worst is None or r[0] < worst[1]):
                worst = ((x, y), r[0])
    return worst
