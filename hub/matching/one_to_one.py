"""Linkage of two files, each record matching at most one of the other file: what that adds to a probabilistic
rule's match probability (offline ``concord match --left --right``).

A pair's match probability (hub/matching/fs.py) weighs the pair's own evidence against the chance that two
records picked at random are one entity. In a linkage of two files without duplicates inside each, a record
has **at most one** match in the other file, and the other candidates of both records are evidence too.
Two records agreeing on a surname, a landline and an address and nothing else may be one person or two
relatives (probability 0.995, say); but if they were two relatives, the left record's own person would be
missing from the right file (or found there as another candidate) and the right record's person missing
from the left file (or another candidate). Under the rule's model, with hypotheses "record a's match is
candidate c" (prior ``P`` each, the model's prior per pair of records) and "a has no match in the other
file" (prior ``1 - pi_a``, ``pi_a = P x`` the other file's records: the share of a's file the model
expects to have a match), the probability that b is a's match is

    odds(a, b) = o(a, b) / (D_a x D_b),   D_a = (1 - pi_a) + sum of o(a, c) over a's other candidates c,
                                          D_b = (1 - pi_b) + sum of o(d, b) over b's other candidates d,

``o`` being each pair's own odds (probability / (1 - probability)); the two records' alternatives are taken
as independent. Without rivals, a pair's odds grow by 1 / ((1 - pi_a)(1 - pi_b)) (files overlapping 80% and
90%: 50x, +5.6 bits); a rival of similar odds takes them below the pair's own.

``promote`` applies this to the **review** cases of a linkage: a record whose best candidate was sent to
review links when this probability reaches the rule's ``link`` threshold (evidence ``one_to_one``, and a
sentence in ``explain``). Links stay links (the pair's own evidence already sufficed, and the one-to-one step
of hub/matching/offline.py then keeps each record in one link). It needs a model trained by sessions (whose
prior is per pair of records, ``trained.prior``); each ``1 - pi`` is at least ``MIN_UNMATCHED``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from concord.hub.matching.exact import Decision

MIN_UNMATCHED = 0.05     # the share of a file without a match in the other is taken as at least this
ODDS_CAP = 1e15          # a probability of 1.0 (weight above 60 bits) as odds


def _odds(p: np.ndarray) -> np.ndarray:
    p = np.where(np.isnan(p), 0.0, p)
    return np.minimum(p / np.maximum(1.0 - p, 1.0 / ODDS_CAP), ODDS_CAP)


def promote(decisions: Sequence[Decision], pairs_of: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
            priors: dict[str, float], links: dict[str, float], right_ids: Sequence[str]) -> list[Decision]:
    """The decisions of a linkage's left records (in order), review cases promoted to links where the
    one-to-one probability reaches ``link`` (see the module docstring). ``pairs_of``: per probabilistic rule,
    every candidate pair (left index, right index, probability); ``priors``: per rule, the model's prior per
    pair of records; ``links``: per rule, its link threshold; ``right_ids``: the right file's ids in order."""
    out = list(decisions)
    n_left, n_right = len(decisions), len(right_ids)
    at_right = {rid: j for j, rid in enumerate(right_ids)}
    for name, (li, rj, tot) in pairs_of.items():
        prior = priors.get(name)
        if prior is None or not len(li):
            continue
        o = _odds(tot)
        sum_l = np.bincount(li, weights=o, minlength=n_left)
        sum_r = np.bincount(rj, weights=o, minlength=n_right)
        unmatched_l = max(MIN_UNMATCHED, 1.0 - prior * n_right)
        unmatched_r = max(MIN_UNMATCHED, 1.0 - prior * n_left)
        key = li * n_right + rj
        for i, d in enumerate(decisions):
            if d.decision != "review" or d.rule != name or d.golden_id not in at_right:
                continue
            j = at_right[d.golden_id]
            q = int(np.searchsorted(key, i * n_right + j))
            if q >= len(key) or key[q] != i * n_right + j or np.isnan(tot[q]):
                continue
            own = float(o[q])
            d_l = unmatched_l + max(0.0, float(sum_l[i]) - own)
            d_r = unmatched_r + max(0.0, float(sum_r[j]) - own)
            odds = own / (d_l * d_r)
            p = odds / (1.0 + odds)
            if p < links[name]:
                continue
            ev = {k: v for k, v in d.evidence.items() if k != "reason"}
            ev["one_to_one"] = {"probability": round(p, 6), "pair_probability": round(float(tot[q]), 6),
                                "left_unmatched": round(unmatched_l, 4), "right_unmatched": round(unmatched_r, 4),
                                "left_rivals_odds": round(d_l - unmatched_l, 6),
                                "right_rivals_odds": round(d_r - unmatched_r, 6)}
            ev["explain"] = [*ev.get("explain", []),
                             f"one match per record: about {unmatched_l:.0%} of the left file and {unmatched_r:.0%} "
                             f"of the right file have none; rival candidates' odds {d_l - unmatched_l:.3g} (left) "
                             f"and {d_r - unmatched_r:.3g} (right): match probability {p:.6f}"]
            out[i] = replace(d, decision="link", score=round(p, 4), evidence=ev)
    return out
