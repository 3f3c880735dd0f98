"""Training sessions: m and the prior of a probabilistic rule without the bias of its blocking keys.

EM over the rule's candidate pairs learns from pairs that agree on the blocking keys' fields because
the keys chose them: with few postcodes and common surnames, most candidate pairs are neighbours or
namesakes who agree on postcode, city and surname, and a two-class model can take those for the
"match" class. A session instead takes every pair of records that agree exactly on one strong field
(a date, an identifier, an e-mail, a company name; a person's names together), nothing else, and
estimates the m of every *other* field by EM with u fixed (u from random pairs): agreement on the
session's field is then the only thing the pairs have in common, and the other fields tell matches
from non-matches without bias. A session with more than ``MAX_PAIRS`` pairs learns from a random
sample of them (its match count scaled back up). Each field's m is the average over the sessions that estimated it,
weighted by their expected matches; a field no session estimated keeps its default m.

A session can still settle on the wrong two classes: pairs agreeing on a person's names are mostly
namesakes and households, and EM may call "match" a class of pairs that share an area (postcode,
city) and nothing else. Records of one entity agree (or nearly agree) on strong fields (identifiers,
dates, e-mails, phones) far more often than they disagree outright; a session whose "matches" have
the ``else`` level on most of the strong fields it estimates, more often than ``MAX_ELSE``, found no
matches and is dropped (listed in the model's ``trained.sessions`` with the reason), instead of
teaching the model that one entity's records disagree on their identifiers.

The prior is the probability that two records **picked at random** are one entity (consistent with u
from random pairs): each session's expected matches divided by how often a match agrees on the
session's fields (their m of ``exact`` times how often both records hold them) estimates the number of
matches; the median over sessions, divided by the number of record pairs, is the prior.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from concord.hub.matching.fs_groups import add_counts

NOT_COMPARED = -1
P_FLOOR = 1e-6
SESSION_KINDS = ("date", "identifier", "email", "name")
STRONG_KINDS = frozenset({"date", "identifier", "email", "phone"})   # one entity's records nearly always agree
MAX_ELSE = 0.5           # a session whose "matches" disagree outright on most strong fields more often is dropped
MIN_PAIRS = 20           # a session with fewer pairs is skipped
MAX_PAIRS = 50_000       # a session with more pairs learns from a random sample of this many


@dataclass
class Sessions:
    m: list[list[float]]
    prior: float
    iterations: int
    converged: bool
    patterns: int
    sessions: list[dict[str, Any]]
    pairs: int = 0               # record pairs the sessions compared (before sampling)
    joint: list[dict[str, float]] = field(default_factory=list)   # per dependent group: expected matches per pattern


def frequencies(levels: Sequence[Sequence[int]], sizes: Sequence[int], weights: Sequence[float] | None = None,
                smooth: float = 0.1) -> list[list[float]]:
    """Per field, the share of each level among compared pairs (weighted), smoothed, never below P_FLOOR."""
    out = []
    for k, size in enumerate(sizes):
        counts = [smooth] * size
        for n, lv in enumerate(levels):
            if lv[k] != NOT_COMPARED:
                counts[lv[k]] += 1.0 if weights is None else weights[n]
        total = sum(counts)
        out.append([max(c / total, P_FLOOR) for c in counts])
    return out


def session_groups(specs: Sequence[Any]) -> list[list[int]]:
    """Field indices each session agrees on: every strong field alone, and the person's names together."""
    groups = [[k] for k, s in enumerate(specs) if s.kind in SESSION_KINDS]
    names = [k for k, s in enumerate(specs) if s.kind == "person_name"]
    return groups + ([names] if names else [])


def session_pairs(group: Sequence[int], left: Sequence[tuple[Any, ...]], right: Sequence[tuple[Any, ...]] | None,
                  max_block: int) -> list[tuple[int, int]]:
    """Pairs agreeing exactly on the group's normalised values (skipping values held by more than max_block)."""
    other = left if right is None else right
    if len(group) == 1:             # one field: its values themselves are the keys (same pairs, same order)
        k = group[0]
        by_value: dict[Any, list[int]] = {}
        for j, t in enumerate(other):
            if t[k] is not None:
                by_value.setdefault(t[k], []).append(j)
        found: list[tuple[int, int]] = []
        for i, t in enumerate(left):
            v = t[k]
            if v is None:
                continue
            ids = by_value.get(v, ())
            if len(ids) > max_block:
                continue
            found.extend((i, j) for j in ids if right is not None or j > i)
        return found
    index: dict[tuple[Any, ...], list[int]] = {}
    for j, t in enumerate(other):
        key = tuple([t[k] for k in group])
        if None not in key:
            index.setdefault(key, []).append(j)
    out: list[tuple[int, int]] = []
    for i, t in enumerate(left):
        key = tuple([t[k] for k in group])
        ids = index.get(key, ())
        if None in key or len(ids) > max_block:
            continue
        out.extend((i, j) for j in ids if right is not None or j > i)
    return out


def em_fixed_u(vecs: Sequence[Sequence[int]], counts: Sequence[int], sizes: Sequence[int], m: list[list[float]],
               u: Sequence[Sequence[float]], active: Sequence[int], *, max_iter: int,
               tol: float) -> tuple[list[list[float]], float, int, bool, list[float]]:
    """EM over the active fields with u fixed: (m, expected matches, iterations, converged, expected matches
    per vector)."""
    lu = [[math.log(x) for x in row] for row in u]
    prior, expected, it, converged = 0.5, 0.0, 0, False
    wm: list[float] = []
    total = sum(counts)
    for it in range(1, max_iter + 1):
        lm = [[math.log(x) for x in row] for row in m]
        lp, lq = math.log(prior), math.log(1 - prior)
        wm = []
        for v, c in zip(vecs, counts):
            a, b = lp, lq
            for k in active:
                lv = v[k]
                if lv != NOT_COMPARED:
                    a += lm[k][lv]
                    b += lu[k][lv]
            d = b - a
            wm.append(c / (1.0 + math.exp(d)) if d < 700 else 0.0)
        expected = sum(wm)
        new_prior = min(1 - P_FLOOR, max(P_FLOOR, expected / total))
        new_m = frequencies(vecs, sizes, wm)
        for k in range(len(sizes)):
            if k not in active:
                new_m[k] = m[k]
        delta = max(abs(new_prior - prior), *(abs(x - y) for r1, r2 in zip(new_m, m) for x, y in zip(r1, r2)))
        prior, m = new_prior, new_m
        if delta < tol:
            converged = True
            break
    return m, expected, it, converged, wm


def disagreeing(specs: Sequence[Any], m: Sequence[Sequence[float]], active: Sequence[int]) -> list[str]:
    """The strong fields a session's "matches" disagree on outright (``else``) more often than ``MAX_ELSE``,
    when that is most of the strong fields it estimated (the session found no matches); else []."""
    strong = [k for k in active if specs[k].kind in STRONG_KINDS]
    against = [specs[k].field for k in strong if m[k][-1] > MAX_ELSE]
    return against if strong and 2 * len(against) > len(strong) else []


def train_by_sessions(specs: Sequence[Any],
                      vectors: Callable[[Sequence[tuple[int, int]]], Sequence[tuple[int, ...]]],
                      left: Sequence[tuple[Any, ...]], right: Sequence[tuple[Any, ...]] | None,
                      u: Sequence[Sequence[float]], m0: Sequence[Sequence[float]], expected: float, *,
                      max_block: int, max_iter: int, tol: float,
                      groups: Sequence[Sequence[int]] = ()) -> Sessions | None:
    """m and prior by sessions (see the module docstring); None when no session has enough pairs. ``vectors``
    gives the level vectors of many pairs (index in ``left``, index in ``right`` or ``left``) at once, in order.
    ``groups``: the field indices of each ``dependent`` group, whose patterns' expected matches are counted
    (``Sessions.joint``; hub/matching/fs_groups.py) in the sessions that do not agree on one of its fields."""
    n, sizes = len(specs), [len(s.levels) for s in specs]
    other = left if right is None else right
    sums = [[0.0] * len(r) for r in m0]
    weight = [0.0] * n
    ran: list[tuple[list[int], float]] = []
    info: list[dict[str, Any]] = []
    joint: list[dict[str, float]] = [{} for _g in groups]
    iterations, converged, patterns, compared = 0, True, 0, 0
    for group in session_groups(specs):
        pairs = session_pairs(group, left, right, max_block)
        compared += len(pairs)
        scale = 1.0
        if len(pairs) > MAX_PAIRS:
            scale = len(pairs) / MAX_PAIRS
            pairs = random.Random(len(pairs)).sample(pairs, MAX_PAIRS)
        pat = Counter(vectors(pairs))
        if sum(pat.values()) < MIN_PAIRS:
            continue
        active = [k for k in range(n) if k not in group]
        m, matches, it, conv, wm = em_fixed_u(list(pat), list(pat.values()), sizes, [list(r) for r in m0], u, active,
                                          max_iter=max_iter, tol=tol)
        iterations, converged, patterns = iterations + it, converged and conv, patterns + len(pat)
        against = disagreeing(specs, m, active)
        if against:
            info.append({"agree_on": [specs[k].field for k in group], "pairs": round(sum(pat.values()) * scale),
                         "dropped": f"its matches disagree outright on {', '.join(against)}", "iterations": it})
            continue
        ran.append((group, matches * scale))
        info.append({"agree_on": [specs[k].field for k in group], "pairs": round(sum(pat.values()) * scale),
                     "matches": round(matches * scale, 1), "iterations": it,
                     **({"sampled_pairs": MAX_PAIRS} if scale > 1 else {})})
        for g, members in enumerate(groups):
            if not set(members) & set(group):
                add_counts(joint[g], list(pat), wm, members, sizes)
        for k in active:
            weight[k] += matches
            sums[k] = [a + matches * b for a, b in zip(sums[k], m[k])]
    if not ran:
        return None
    m = [[x / weight[k] for x in sums[k]] if weight[k] > 0 else list(m0[k]) for k in range(n)]
    present = [sum(t[k] is not None for t in left) / len(left) * sum(t[k] is not None for t in other) / len(other)
               for k in range(n)]
    estimates = []
    for group, matches in ran:
        p_agree = math.prod(m[k][0] * present[k] for k in group)
        if p_agree > 0 and all(weight[k] > 0 for k in group):      # only m estimated by another session
            estimates.append(matches / p_agree)
    estimates.sort()
    n_match = estimates[len(estimates) // 2] if estimates else expected
    pairs_total = len(left) * (len(left) - 1) / 2 if right is None else len(left) * len(right)
    prior = min(0.5, max(1e-12, n_match / max(pairs_total, 1.0)))
    kept = [d for d in info if "dropped" not in d]
    for d, est in zip(kept, [matches / p if (p := math.prod(m[k][0] * present[k] for k in g)) > 0 else None
                             for g, matches in ran]):
        d["entities_estimate"] = None if est is None else round(est)
    return Sessions(m, prior, iterations, converged, patterns, info, compared, joint)
