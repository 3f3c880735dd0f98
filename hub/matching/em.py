"""Learning a probabilistic rule's parameters from the user's own data (``concord match train``).

Unsupervised, as Fellegi and Sunter intended: nobody labels pairs.

1. **Candidate pairs** are the pairs the rule's own blocking keys find (the pairs the engine will score),
   within one set of records (deduplication) or across two (linkage); blocks shared by more than
   ``max_block`` records are skipped as the engine skips them. Only step 4 needs them (the sessions
   of step 3 find their own pairs); the model's ``trained.pairs`` counts the pairs training compared.
2. **u from random pairs**: levels of a random sample of pairs (nearly all different entities) give the
   starting u, and the term-frequency tables give each ``tf`` field's ``base`` (how often two random
   records agree).
3. **Training sessions** (hub/matching/em_sessions.py), as the best unsupervised linkers train: one
   session per strong field (a date, an identifier, an e-mail, a company name, and the person's names
   together) takes every pair of records that agree exactly on it and estimates, by expectation
   maximisation with u fixed, the m of every *other* field; each field's m is the average over the
   sessions that estimated it, weighted by their matches. Pairs that agree because a blocking key
   made them (same postcode, same surname) never teach the model that such agreement means "same
   entity", and households or namesakes cannot become the "match" class. The prior (the probability
   that two records picked at random are one entity) comes from the sessions' match counts divided by
   how often a match agrees on the session's field (the median over sessions).
   Then the u of every field's ``exact`` level is counted over **all** record pairs from the values'
   frequencies (``exact_u``), less the pairs the sessions estimate to be one entity: a random sample
   cannot see agreements as rare as a shared landline or a national id. Each ``dependent`` group's joint
   levels (hub/matching/fs_groups.py) are learned alongside: m from the sessions' matches, u from the
   random pairs and, for "every compared field agrees exactly", counted over all pairs.
4. Where no session has enough pairs (tiny data, fields without a strong one), **expectation
   maximisation over the candidate pairs** as before: the E step gives each distinct comparison vector
   its probability of being a match, the M step re-estimates the prior (per candidate pair) and every m
   and u. A missing value is not compared and leaves its field's estimate alone.

The result is an :class:`~concord.hub.config.model.FSModel`, written into the rule for a person to review.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from concord.hub.config.model import FSFieldParams, FSModel, FSTermFrequencies, MatchRule
from concord.hub.matching.em_sessions import frequencies as _frequencies
from concord.hub.matching.em_sessions import train_by_sessions
from concord.hub.matching.fs import NOT_COMPARED, P_FLOOR, FSScorer, default_params
from concord.hub.matching.fs_columns import ColumnLevels
from concord.hub.matching.fs_groups import group_key, joint_params
from concord.hub.matching.gc_pause import paused_gc
from concord.hub.matching.rules import MAX_BLOCK, BlockKey

TF_TOP = 50             # most frequent values kept per term-frequency table


@dataclass
class Training:
    model: FSModel
    pairs: int
    patterns: int
    iterations: int
    converged: bool


def candidate_pairs(rule: MatchRule, left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]] | None = None,
                    *, max_block: int = MAX_BLOCK, max_pairs: int = 3_000_000, seed: int = 0) -> list[tuple[int, int]]:
    """Pairs (left index, right index) sharing a blocking key; without ``right``, pairs i < j within ``left``."""
    blocks = [BlockKey(spec) for spec in rule.block]
    other = left if right is None else right
    index: dict[tuple[str, str], list[int]] = {}
    for j, rec in enumerate(other):
        for bk in blocks:
            for v in bk.values(rec):
                index.setdefault((bk.name, v), []).append(j)
    pairs: set[tuple[int, int]] = set()
    for i, rec in enumerate(left):
        for bk in blocks:
            for v in bk.values(rec):
                ids = index.get((bk.name, v), ())
                if len(ids) > max_block:
                    continue
                for j in ids:
                    if right is None:
                        if j > i:
                            pairs.add((i, j))
                    else:
                        pairs.add((i, j))
    out = sorted(pairs)
    if len(out) > max_pairs:
        out = random.Random(seed).sample(out, max_pairs)
    return out


def term_frequencies(values: Sequence[Any], top: int = TF_TOP) -> FSTermFrequencies | None:
    """Frequencies of normalised values (None are left out); None when there are no values."""
    counts = Counter(str(v) for v in values if v is not None)
    n = sum(counts.values())
    if not n:
        return None
    base = sum((c / n) ** 2 for c in counts.values())
    common = counts.most_common(top)
    rest_n = n - sum(c for _v, c in common)
    rest_distinct = len(counts) - len(common)
    other = (rest_n / n) / rest_distinct if rest_distinct else 1 / n
    return FSTermFrequencies(base=max(base, P_FLOOR), other=max(other, P_FLOOR),
                             values={v: round(c / n, 8) for v, c in common})


def exact_u(u: Sequence[Sequence[float]], m: Sequence[Sequence[float]], matches: float,
            left: Sequence[tuple[Any, ...]], right: Sequence[tuple[Any, ...]] | None) -> list[list[float]]:
    """u of every field's ``exact`` level counted over **all** record pairs instead of a random sample.

    Two records agree exactly on a field in sum(count_left(v) * count_right(v)) pairs (sum c(c-1)/2 within
    one set), counted from the values' frequencies without forming a pair. Of those, about ``matches`` x
    (share of pairs holding both values) x m(exact) are one entity; the rest, over the compared pairs that
    are not matches, is u(exact). A random sample of 50,000 pairs never sees an agreement as rare as a
    shared landline (a household: a few pairs in 10^8) and leaves such a u at its smoothing floor; the count
    sees every one. The other levels keep their sampled u, scaled to leave room for the new exact one."""
    out = [list(r) for r in u]
    other = left if right is None else right
    for k in range(len(out)):
        cl = Counter(t[k] for t in left if t[k] is not None)
        nl = sum(cl.values())
        if right is None:
            agree = sum(c * (c - 1) / 2 for c in cl.values())
            compared = nl * (nl - 1) / 2
        else:
            cr = Counter(t[k] for t in right if t[k] is not None)
            agree = sum(c * cr.get(v, 0) for v, c in cl.items())
            compared = nl * sum(cr.values())
        both = nl / len(left) * sum(1 for t in other if t[k] is not None) / len(other) if right is not None \
            else (nl / len(left)) ** 2
        same = matches * both
        if compared - same <= 0 or not 0 < out[k][0] < 1:
            continue
        ue = min(0.5, max(P_FLOOR, (agree - same * m[k][0]) / (compared - same)))
        scale = (1 - ue) / (1 - out[k][0])
        out[k] = [ue, *(max(P_FLOOR, x * scale) for x in out[k][1:])]
    return out


@paused_gc
def estimate(rule: MatchRule, left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]] | None = None, *,
             max_iter: int = 1000, tol: float = 1e-7, random_pairs: int = 50_000, seed: int = 0,
             max_block: int = MAX_BLOCK, sessions: bool = True) -> Training:
    """Estimate the rule's model by EM on the data (see the module docstring)."""
    scorer = FSScorer(rule.model_copy(update={"model": None}))
    specs = scorer.specs
    sizes = [len(s.levels) for s in specs]
    cached = scorer.normalised_cached         # the cache the trained rule's matching reads again
    norm_l = [cached(r) for r in left]
    norm_r = norm_l if right is None else [cached(r) for r in right]
    col = {s.field: k for k, s in enumerate(specs)}
    if len(norm_l) < 2 or (right is not None and not norm_r):
        raise ValueError("training needs records on both sides")

    # term frequencies (over every record) and u from random pairs
    tf: dict[str, FSTermFrequencies] = {}
    for f in rule.tf:
        if f not in col:
            continue
        k = col[f]
        t = term_frequencies([n[k] for n in norm_l] + ([n[k] for n in norm_r] if right is not None else []))
        if t is not None:
            tf[f] = t
    cols = ColumnLevels(specs)              # level vectors of many pairs at once, by record index
    coded_l = cols.encode(norm_l)
    coded_r = coded_l if right is None else cols.encode(norm_r)

    def matrix(pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        li = np.fromiter((i for i, _j in pairs), dtype=np.int64, count=len(pairs))
        rj = np.fromiter((j for _i, j in pairs), dtype=np.int64, count=len(pairs))
        return cols.levels(coded_l, coded_r, li, rj)

    def vectors(pairs: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
        return list(map(tuple, matrix(pairs).T.tolist()))

    rng = random.Random(seed)
    rand_pairs = []
    for _ in range(random_pairs):
        i, j = rng.randrange(len(norm_l)), rng.randrange(len(norm_r))
        if right is None and i == j:
            continue
        rand_pairs.append((i, j))
    rand_matrix = matrix(rand_pairs)
    rand_levels = list(map(tuple, rand_matrix.T.tolist()))
    u = _frequencies(rand_levels, sizes)

    m = [list(default_params(s.kind, s.levels).m) for s in specs]
    expected = min(len(norm_l), len(norm_r)) if right is not None else len(norm_l) * 0.1
    if sessions:
        members = [[col[f] for f in group] for group in rule.dependent]
        found = train_by_sessions(specs, vectors, norm_l, None if right is None else norm_r, u, m,
                                  expected, max_block=max_block, max_iter=max_iter, tol=tol, groups=members)
        if found is not None:
            pairs_total = len(norm_l) * (len(norm_l) - 1) / 2 if right is None else len(norm_l) * len(norm_r)
            u = exact_u(u, found.m, found.prior * pairs_total, norm_l, None if right is None else norm_r)
            groups = {}
            for group, ks, counts in zip(rule.dependent, members, found.joint):
                joint = joint_params(ks, sizes, counts, rand_matrix.T, coded_l.codes,
                                     None if right is None else coded_r.codes, found.prior * pairs_total)
                if joint is not None:
                    groups[group_key(group)] = FSFieldParams(levels=joint[0], m=joint[1], u=joint[2])
            fields = {s.field: FSFieldParams(levels=s.levels, m=tuple(round(x, 8) for x in found.m[k]),
                                             u=tuple(round(x, 8) for x in u[k])) for k, s in enumerate(specs)}
            model = FSModel(prior=float(f"{found.prior:.8g}"), fields=fields, tf=tf, groups=groups,
                            trained={"pairs": found.pairs, "sessions": found.sessions, "iterations": found.iterations,
                                     "converged": found.converged, "prior": "per pair of records",
                                     "records": len(norm_l) + (len(norm_r) if right is not None else 0),
                                     "random_pairs": len(rand_levels), "u_exact": "counted over all pairs"})
            return Training(model, found.pairs, found.patterns, found.iterations, found.converged)
    pairs = candidate_pairs(rule, left, right, max_block=max_block, seed=seed)
    if not pairs:
        raise ValueError("the rule's blocking keys find no candidate pairs in this data")
    patterns = Counter(vectors(pairs))
    vecs = list(patterns)
    counts = [patterns[v] for v in vecs]
    prior = min(0.5, max(1e-4, expected / len(pairs)))
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        lm = [[math.log(x) for x in row] for row in m]
        lu = [[math.log(x) for x in row] for row in u]
        lp, lq = math.log(prior), math.log(1 - prior)
        resp = []
        for v in vecs:
            a, b = lp, lq
            for k, lv in enumerate(v):
                if lv != NOT_COMPARED:
                    a += lm[k][lv]
                    b += lu[k][lv]
            d = b - a
            resp.append(1.0 / (1.0 + math.exp(d)) if d < 700 else 0.0)
        wm = [c * r for c, r in zip(counts, resp)]
        wu = [c * (1 - r) for c, r in zip(counts, resp)]
        new_prior = min(1 - P_FLOOR, max(P_FLOOR, sum(wm) / sum(counts)))
        new_m = _frequencies(vecs, sizes, wm)
        new_u = _frequencies(vecs, sizes, wu)
        delta = max(abs(new_prior - prior), *(abs(x - y) for r1, r2 in zip(new_m, m) for x, y in zip(r1, r2)),
                    *(abs(x - y) for r1, r2 in zip(new_u, u) for x, y in zip(r1, r2)))
        prior, m, u = new_prior, new_m, new_u
        if delta < tol:
            converged = True
            break
    fields = {s.field: FSFieldParams(levels=s.levels, m=tuple(round(x, 8) for x in m[k]),
                                     u=tuple(round(x, 8) for x in u[k])) for k, s in enumerate(specs)}
    model = FSModel(prior=round(prior, 8), fields=fields, tf=tf,
                    trained={"pairs": len(pairs), "distinct_vectors": len(vecs), "iterations": it,
                             "converged": converged, "records": len(norm_l) + (len(norm_r) if right is not None else 0),
                             "random_pairs": len(rand_levels)})
    return Training(model, len(pairs), len(vecs), it, converged)
