"""Joint levels of a ``dependent`` group (a household's landline and address), learned like any comparison.

A group's fields are one piece of evidence, but not every combination of them says the same: two
records agreeing on street, postcode *and* city share a home, which two strangers do far less often than
they share a street name (the same street and house number exists in many towns) or a city. So the group
gets a comparison of its own whose levels are **patterns**: for each of its fields (in the group's
order) whether it agrees exactly (``exact``), nearly (``close``: any level between ``exact`` and
``else``), not at all (``else``), or is missing on either side (``-``). The pattern
``-,exact,exact,exact`` of ``[phone, street, postal_code, city]`` is "no landline on one side, the whole
address equal".

Missing fields say nothing, as everywhere in the rule: a pattern's ``m`` and ``u`` are shares among the
pairs that compare the same fields of the group (its **compared set**), so each compared set's patterns
add up to 1. Training (hub/matching/em.py) learns them like the fields': ``m`` from the responsibilities
of the training sessions' EM (the share of each pattern among a session's expected matches, over the
sessions, as each field's ``m``), ``u`` from random pairs, and the ``u`` of the pattern where every
compared field agrees exactly counted over **all** pairs of records from the combined values'
frequencies, less the expected matches (as ``exact_u`` does for one field): a random sample never sees
two records sharing a whole address. The model stores the patterns training saw (``FSModel.groups``,
key: the group's fields joined by ``+``); a pattern it never saw, or a model without the group, falls
back to the strongest field (``FSScorer.counted``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

NOT_COMPARED = -1
P_FLOOR = 1e-6
STATES = ("exact", "close", "else")
MISSING = "-"
SMOOTH = 0.1            # added to every pattern's count of a compared set
MIN_SEEN = 0.5          # a pattern with less expected matches and no random pair is not stored (fallback)


def group_key(group: Sequence[str]) -> str:
    return "+".join(group)


def state(lv: int, size: int) -> str:
    """The state of one field of the group: its level index ``lv`` among ``size`` levels."""
    if lv < 0:
        return MISSING
    return "exact" if lv == 0 else "else" if lv == size - 1 else "close"


def pattern(vec: Sequence[int], members: Sequence[int], sizes: Sequence[int]) -> str | None:
    """The group's pattern of a level vector (None: no field of the group compared)."""
    states = [state(vec[k], sizes[k]) for k in members]
    if all(s == MISSING for s in states):
        return None
    return ",".join(states)


def compared_set(name: str) -> tuple[bool, ...]:
    return tuple(s != MISSING for s in name.split(","))


def describe(name: str, fields: Sequence[str]) -> str:
    """A pattern in words: ``street exact, postal_code exact, city exact, phone missing``."""
    parts = []
    for f, s in zip(fields, name.split(",")):
        parts.append(f"{f} {'missing' if s == MISSING else s}")
    return ", ".join(parts)


def add_counts(out: dict[str, float], vecs: Sequence[Sequence[int]] | np.ndarray, weights: Sequence[float] | None,
               members: Sequence[int], sizes: Sequence[int]) -> None:
    """Add each vector's weight (None: 1) to its pattern's count (``vecs``: level vectors, or their matrix with a
    row per vector)."""
    if not len(vecs):
        return
    lv = np.asarray(vecs, dtype=np.int64)[:, list(members)]
    last = np.asarray([sizes[k] - 1 for k in members], dtype=np.int64)
    # 0 exact, 1 close, 2 else, 3 missing: one base-4 number per vector
    st = np.where(lv < 0, 3, np.where(lv == 0, 0, np.where(lv == last, 2, 1)))
    ids = st @ (4 ** np.arange(len(members), dtype=np.int64))
    sums = np.bincount(ids, weights=None if weights is None else np.asarray(weights, dtype=np.float64),
                       minlength=4 ** len(members)).astype(np.float64)
    names = (*STATES, MISSING)
    for pid in np.flatnonzero(sums).tolist():
        states = [names[(pid >> (2 * n)) & 3] for n in range(len(members))]
        if any(x != MISSING for x in states):
            p = ",".join(states)
            out[p] = out.get(p, 0.0) + float(sums[pid])


def shares(counts: dict[str, float]) -> dict[str, float]:
    """Each pattern's share among the patterns of its compared set, smoothed (``SMOOTH`` per possible pattern)."""
    totals: dict[tuple[bool, ...], float] = {}
    for p, c in counts.items():
        cs = compared_set(p)
        totals[cs] = totals.get(cs, 0.0) + c
    out = {}
    for p, c in counts.items():
        cs = compared_set(p)
        possible = len(STATES) ** sum(cs)
        out[p] = max(P_FLOOR, (c + SMOOTH) / (totals[cs] + SMOOTH * possible))
    return out


def _joint_codes(codes: Sequence[np.ndarray]) -> np.ndarray:
    """One code per row for the combination of ``codes`` (each field's codes, >= 0), combined in 64 bits and
    made small again only when the next field would overflow them."""
    key = codes[0].astype(np.int64)
    for c in codes[1:]:
        span = int(c.max()) + 1 if len(c) else 1
        if (int(key.max()) + 1 if len(key) else 1) * span >= 2 ** 62:
            key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
        key = key * span + c
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def exact_pattern_u(members: Sequence[int], present: Sequence[bool], codes_l: Sequence[np.ndarray],
                    codes_r: Sequence[np.ndarray] | None, m_exact: float, matches: float) -> float | None:
    """u of "every compared field of the group agrees exactly" for one compared set, counted over all pairs
    of records holding those fields (``codes_*``: each field's value codes, -1 missing; ``codes_r`` None:
    deduplication), less the expected matches among them. None when no pair compares them."""
    ks = [k for k, p in zip(members, present) if p]
    n_l = len(codes_l[0])
    mask_l = np.logical_and.reduce([codes_l[k] >= 0 for k in ks])
    nl = int(mask_l.sum())
    if codes_r is None:
        if nl < 2:
            return None
        keys = _joint_codes([codes_l[k][mask_l] for k in ks])
        c = np.bincount(keys)
        agree = float((c * (c - 1) // 2).sum())
        compared = nl * (nl - 1) / 2
        both = (nl / n_l) ** 2
    else:
        n_r = len(codes_r[0])
        mask_r = np.logical_and.reduce([codes_r[k] >= 0 for k in ks])
        nr = int(mask_r.sum())
        if not nl or not nr:
            return None
        joined = [np.concatenate([codes_l[k][mask_l], codes_r[k][mask_r]]) for k in ks]
        keys = _joint_codes(joined)
        size = int(keys.max()) + 1
        cl = np.bincount(keys[:nl], minlength=size)
        cr = np.bincount(keys[nl:], minlength=size)
        agree = float((cl * cr).sum())          # integers (a float dot product would call BLAS and its threads)
        compared = float(nl) * nr
        both = nl / n_l * nr / n_r
    same = matches * both
    if compared - same <= 0:
        return None
    return min(0.5, max(P_FLOOR, (agree - same * m_exact) / (compared - same)))


def joint_params(members: Sequence[int], sizes: Sequence[int], m_counts: dict[str, float],
                 rand_levels: Sequence[Sequence[int]] | np.ndarray, codes_l: Sequence[np.ndarray],
                 codes_r: Sequence[np.ndarray] | None, matches: float) -> tuple[tuple[str, ...], tuple[float, ...],
                                                                               tuple[float, ...]] | None:
    """(patterns, m, u) of one group (see the module docstring); None when the sessions saw no pattern.
    ``m_counts``: expected matches per pattern over the sessions; ``matches``: expected matching pairs
    among all pairs of records."""
    if not m_counts:
        return None
    u_counts: dict[str, float] = {}
    add_counts(u_counts, rand_levels, None, members, sizes)
    seen = {p for p, c in m_counts.items() if c >= MIN_SEEN} | set(u_counts)
    exacts = {",".join("exact" if c else MISSING for c in compared_set(p)) for p in seen}
    names = sorted(seen | exacts, key=_order)
    m_all = shares({p: m_counts.get(p, 0.0) for p in names})
    u_all = shares({p: u_counts.get(p, 0.0) for p in names})
    for exact in exacts:
        cs = compared_set(exact)
        ue = exact_pattern_u(members, cs, codes_l, codes_r, m_all[exact], matches)
        if ue is None:
            continue
        scale = (1 - ue) / (1 - u_all[exact])
        for p in names:
            if p != exact and compared_set(p) == cs:
                u_all[p] = max(P_FLOOR, u_all[p] * scale)
        u_all[exact] = ue
    return tuple(names), tuple(round(m_all[p], 8) for p in names), tuple(float(f"{u_all[p]:.6g}") for p in names)


def _order(name: str) -> tuple[Any, ...]:
    """Patterns by compared set (most fields first), then strongest agreement first."""
    states = name.split(",")
    return (-sum(s != MISSING for s in states), tuple(s != MISSING for s in states),
            tuple((STATES.index(s) if s in STATES else 9) for s in states))
