"""Linkage of two files, each record matching at most one of the other file: what that adds to a probabilistic
rule's match probability, and which pairs it links (offline ``concord match --left --right``).

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

    odds(a, b) = o(a, b) / (D_a x D_b),   D_a = (1 - pi_a) + sum over a's other candidates c of o(a, c) / E_c,
                                          D_b = (1 - pi_b) + sum over b's other candidates d of o(d, b) / E_d,

``o`` being each pair's own odds (probability / (1 - probability)) and ``E_c = (1 - pi_c) + `` the odds of
c's candidates other than a: the hypothesis "a's match is c" leaves b to its own alternatives and takes c
from its own, so a rival counts by how free it is (one that nobody else wants would otherwise be left
without a match: its odds weigh 1 / (1 - pi_c) times more; one with a strong match of its own weighs little).
This is exact when the rivals have no further candidates; beyond, the records' alternatives are taken as
independent. Without rivals, a pair's odds grow by 1 / ((1 - pi_a)(1 - pi_b)) (files overlapping 80% and
90%: 50x, +5.6 bits); a free rival of similar odds takes them to about even.

``promote`` links, among the pairs of two records that neither links yet, best one-to-one probability
first (each record in one link, as hub/matching/offline.py's one-to-one step):

- a pair whose one-to-one probability reaches the rule's ``link`` threshold (what a pair's own probability
  needs to link);
- then pairs below ``link`` while **both** hold, by the model's own numbers (no labels):
  * the link raises the expected F1 of the linkage: its probability ``p`` is above half the expected F1
    of the links so far, ``E[TP] / (links + E[true pairs])`` (adding a pair adds ``p`` expected true links
    and ``1 - p`` false ones; the F1-optimal threshold of calibrated probabilities is half the F1 reached,
    Lipton, Elkan & Naryanaswamy 2014), with ``E[TP]`` the sum of the links' one-to-one probabilities and
    ``E[true pairs] = P x left records x right records`` (at most the smaller file);
  * the expected precision of all links stays at or above ``link``, counted conservatively: each link at
    the lower of its own and its one-to-one probability (the one-to-one reasoning leans on the model's prior
    and on its pair probabilities being honest; a pair's own evidence is what the budget trusts). The
    threshold a single pair needs becomes the precision the linkage as a whole keeps.
  The first pair below the F1 threshold ends the pass (probabilities only fall from there); a pair over the
  precision budget is passed over (a surer one further down may fit).

Links stay links (the pair's own evidence already sufficed). Each promoted pair's evidence has ``one_to_one``
(its probability, the pair's own, the shares without match, the rivals' odds and, below ``link``, the expected
precision and F1 threshold it passed) and a sentence in ``explain``. It needs a model trained by sessions
(whose prior is per pair of records, ``trained.prior``); each ``1 - pi`` is at least ``MIN_UNMATCHED``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from concord.hub.matching.exact import Decision

MIN_UNMATCHED = 0.05     # the share of a file without a match in the other is taken as at least this
ODDS_CAP = 1e15          # a probability of 1.0 (weight above 60 bits) as odds

# (rule, left index, right index, the pair's own probability) -> the pair's evidence, as a verdict has it
Describe = Callable[[str, int, int, float], dict[str, Any]]


def _odds(p: np.ndarray) -> np.ndarray:
    p = np.where(np.isnan(p), 0.0, p)
    return np.minimum(p / np.maximum(1.0 - p, 1.0 / ODDS_CAP), ODDS_CAP)


def probabilities(li: np.ndarray, rj: np.ndarray, tot: np.ndarray, prior: float, n_left: int,
                  n_right: int) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray]:
    """The one-to-one probability of every candidate pair (0 where the rule does not apply), the shares of
    the left and the right file without a match, and each pair's rivals' weight on the left and on the right
    (each rival pair's odds over its other record's alternatives; see the module docstring)."""
    o = _odds(tot)
    sum_l = np.bincount(li, weights=o, minlength=n_left)
    sum_r = np.bincount(rj, weights=o, minlength=n_right)
    unmatched_l = max(MIN_UNMATCHED, 1.0 - prior * n_right)
    unmatched_r = max(MIN_UNMATCHED, 1.0 - prior * n_left)
    as_left_rival = o / (unmatched_r + np.maximum(0.0, sum_r[rj] - o))     # (a, c) beside a's other pairs
    as_right_rival = o / (unmatched_l + np.maximum(0.0, sum_l[li] - o))    # (d, b) beside b's other pairs
    rivals_l = np.maximum(0.0, np.bincount(li, weights=as_left_rival, minlength=n_left)[li] - as_left_rival)
    rivals_r = np.maximum(0.0, np.bincount(rj, weights=as_right_rival, minlength=n_right)[rj] - as_right_rival)
    odds = o / ((unmatched_l + rivals_l) * (unmatched_r + rivals_r))
    p = np.where(np.isnan(tot), 0.0, odds / (1.0 + odds))
    return p, unmatched_l, unmatched_r, rivals_l, rivals_r


def worth_linking(p: float, sure: float, n_links: int, exp_tp: float, sure_tp: float, true_pairs: float,
                  link: float) -> tuple[bool, float, float]:
    """Whether a pair of one-to-one probability ``p`` below ``link`` links beside ``n_links`` links whose
    probabilities sum to ``exp_tp`` (the model expecting ``true_pairs`` matches): (it raises the expected F1,
    and the links' expected precision counted conservatively, each link at ``sure``, the lower of its own and
    its one-to-one probability, summing to ``sure_tp``, stays at ``link``; the F1 threshold; that precision)."""
    f1_at = exp_tp / (n_links + true_pairs) if n_links + true_pairs else 0.0
    precision = (sure_tp + sure) / (n_links + 1)
    return p > f1_at and precision >= link, f1_at, precision


def promote(decisions: Sequence[Decision], pairs_of: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
            priors: dict[str, float], links: dict[str, float], right_ids: Sequence[str],
            describe: Describe | None = None) -> list[Decision]:
    """The decisions of a linkage's left records (in order), with the pairs one match per record links (see
    the module docstring). ``pairs_of``: per probabilistic rule, every candidate pair (left index, right index,
    probability), ordered by left then right index; ``priors``: per rule, the model's prior per pair of
    records; ``links``: per rule, its link threshold; ``right_ids``: the right file's ids in order;
    ``describe``: the evidence of a pair that was not its left record's decision."""
    out = list(decisions)
    n_left, n_right = len(decisions), len(right_ids)
    at_right = {rid: j for j, rid in enumerate(right_ids)}
    taken_l = {i for i, d in enumerate(decisions) if d.decision == "link"}
    taken_r = {at_right[d.golden_id] for d in decisions if d.decision == "link" and d.golden_id in at_right}
    for name, (li, rj, tot) in pairs_of.items():
        prior = priors.get(name)
        if prior is None or not len(li):
            continue
        link = links[name]
        p, unmatched_l, unmatched_r, rivals_l, rivals_r = probabilities(li, rj, tot, prior, n_left, n_right)
        key = li * n_right + rj
        # this rule's links and the sums of their probabilities (see above): one-to-one, and the lower of the two
        mine = [(i, at_right[d.golden_id], d.score or 0.0) for i, d in enumerate(out)
                if d.decision == "link" and d.rule == name and d.golden_id in at_right]
        n_links, exp_tp, sure_tp = len(mine), 0.0, 0.0
        if mine:
            k = np.array([i * n_right + j for i, j, _s in mine], dtype=key.dtype)
            q = np.minimum(np.searchsorted(key, k), len(key) - 1)
            got, score = key[q] == k, np.array([sc for _i, _j, sc in mine])
            exp_tp = float(np.where(got, p[q], score).sum())
            sure_tp = float(np.where(got, np.minimum(p[q], np.nan_to_num(tot[q])), score).sum())
        true_pairs = min(prior * n_left * n_right, float(min(n_left, n_right)))     # the model's expected matches
        busy_l, busy_r = np.zeros(n_left, dtype=bool), np.zeros(n_right, dtype=bool)
        busy_l[list(taken_l)], busy_r[list(taken_r)] = True, True
        free = np.flatnonzero((p > 0) & ~busy_l[li] & ~busy_r[rj])
        for q in free[np.lexsort((rj[free], li[free], -p[free]))]:
            pq = float(p[q])
            below = pq < link
            own = float(tot[q])
            ok, f1_at, precision = worth_linking(pq, min(pq, own), n_links, exp_tp, sure_tp, true_pairs, link)
            if below and not ok:
                if pq <= f1_at:
                    break                 # one-to-one probabilities only fall from here
                continue                  # over the precision budget; a surer pair further down may fit
            i, j = int(li[q]), int(rj[q])
            if i in taken_l or j in taken_r:
                continue
            taken_l.add(i)
            taken_r.add(j)
            n_links, exp_tp, sure_tp = n_links + 1, exp_tp + pq, sure_tp + min(pq, own)
            d, rid = out[i], right_ids[j]
            if d.golden_id == rid and d.rule == name:
                ev = {k: v for k, v in d.evidence.items() if k != "reason"}
            elif describe is not None:
                ev = describe(name, i, j, own)
            else:
                ev = {"rule": name, "type": "probabilistic", "candidate": rid, "total": round(own, 4)}
            o2o: dict[str, Any] = {"probability": round(pq, 6), "pair_probability": round(own, 6),
                                   "left_unmatched": round(unmatched_l, 4), "right_unmatched": round(unmatched_r, 4),
                                   "left_rivals_odds": round(float(rivals_l[q]), 6),
                                   "right_rivals_odds": round(float(rivals_r[q]), 6)}
            line = (f"one match per record: about {unmatched_l:.0%} of the left file and {unmatched_r:.0%} of the "
                    f"right file have none; rival candidates' odds {rivals_l[q]:.3g} (left) and {rivals_r[q]:.3g} "
                    f"(right): match probability {pq:.6f}")
            if below:
                o2o.update(expected_precision=round(precision, 6), f1_threshold=round(f1_at, 6))
                line += (f", below {link:g} but linked: above half the linkage's expected F1 ({f1_at:.4f}), so the link "
                         f"raises it, and the links' expected precision, each counted at the lower of its own and its "
                         f"one-to-one probability, stays {precision:.5f} (at least {link:g})")
            ev["one_to_one"] = o2o
            ev["explain"] = [*ev.get("explain", []), line]
            out[i] = replace(d, decision="link", golden_id=rid, rule=name, score=round(pq, 4), evidence=ev)
    return out
