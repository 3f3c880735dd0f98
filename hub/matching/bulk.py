"""Decisions of many records at once: offline matching (hub/matching/offline.py) with probabilistic rules.

``decide_all`` gives, for every record of a file, the ``Decision`` that ``RuleMatcher.decide`` gives it
against the other file's records (linkage) or the file's other records (deduplication), and in the same
way: the same keys and blocks (a block shared by more than ``max_block`` records is skipped and named),
the same scores, the best candidate (highest probability, then smallest id) and the runner-up, and the
same evidence and verdict (``RuleMatcher.verdict``, ``RuleMatcher.new``, ``FSScorer.evidence_of``). Only
the work is arranged differently:

* the candidate pairs of every record are gathered first, as integer indices (no ``Candidate`` objects);
* their level vectors are computed for all pairs at once, field by field (hub/matching/fs_columns.py);
* a pair's probability depends only on its level vector and the term-frequency adjustments of its exact
  ``tf`` fields, so it is computed once per distinct combination of those (``FSScorer.total_of``, the
  very arithmetic of the one-pair path) and read back for every pair;
* the best candidate and the runner-up of every record come from one sort of all pairs.

It applies when every rule of the matcher is probabilistic (``applies``); otherwise offline matching
decides record by record.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from concord.hub.matching.exact import Decision
from concord.hub.matching.fs import FSScorer
from concord.hub.matching.fs_columns import ColumnLevels, distinct
from concord.hub.matching.rules import RuleMatcher

Records = Sequence[tuple[str, Mapping[str, Any]]]


def applies(matcher: RuleMatcher) -> bool:
    """Whether ``decide_all`` decides for this matcher: probabilistic rules only (no exact or weighted rule)."""
    return bool(matcher.fuzzy) and not matcher.exact and all(r.key_name in matcher.fs_scorers for r in matcher.fuzzy)


def decide_all(matcher: RuleMatcher, left: Records, right: Records | None = None) -> list[Decision]:
    """The decision of every record of ``left`` (in order) against ``right``'s records, or, without ``right``,
    against the other records of ``left`` (record ids unique); see the module docstring."""
    return decide_scored(matcher, left, score_all(matcher, left, right))


class Scored:
    """Every probabilistic rule's candidate pairs scored (``score_all``), what ``decide_scored`` decides from."""

    def __init__(self, ids: list[str], rules: list[tuple[Any, FSScorer, Any]], any_candidate: np.ndarray,
                 oversized: list[dict[int, list[str]]], decided: list[tuple[np.ndarray, ...]]) -> None:
        self.ids, self.rules, self.any_candidate, self.oversized, self.decided = ids, rules, any_candidate, oversized, decided

    def pairs(self, rule_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(left index, other index, probability; NaN: the rule does not apply) of every candidate pair of
        the rule, ordered by left index then other index; None: not a rule scored here."""
        for (rule, _fs, _names), d in zip(self.rules, self.decided):
            if rule.key_name == rule_name:
                return d[6], d[4], d[3]
        return None


def score_all(matcher: RuleMatcher, left: Records, right: Records | None = None, *,
              only_probabilistic: bool = False) -> Scored:
    """The candidate pairs of every record of ``left`` and their scores, per probabilistic rule (``decide_all``;
    ``only_probabilistic``: a matcher with other rules too, whose probabilistic rules alone are scored)."""
    dedup = right is None
    others = left if right is None else right
    left_keys = keys_all(matcher, left)
    other_keys = left_keys if dedup else keys_all(matcher, others)
    index: dict[tuple[str, str], list[int]] = {}
    cap = matcher.max_block
    for j, ks in enumerate(other_keys):
        for k in ks:
            found = index.setdefault(k, [])
            if len(found) <= cap or not k[0].startswith("b:"):
                found.append(j)
    ids = [rid for rid, _rec in others]
    rank = np.empty(len(ids), dtype=np.int64)
    rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    rules = [(r, matcher.fs_scorers[r.key_name], matcher.rule_blocks[r.key_name]) for r in matcher.fuzzy
             if not only_probabilistic or r.key_name in matcher.fs_scorers]

    # candidate pairs per rule (as matcher._blocked finds them), blocks too common to use, records with none
    pairs: list[tuple[list[int], list[int]]] = [([], []) for _ in rules]
    oversized: list[dict[int, list[str]]] = [{} for _ in rules]
    any_candidate = np.zeros(len(left), dtype=bool)
    get = index.get
    for i, ks in enumerate(left_keys):
        for name, value in ks:
            found = get((name, value))
            if not found:
                continue
            if not dedup or len(found) > 1 or found[0] != i:
                any_candidate[i] = True
            n = len(found) - (1 if dedup and len(found) > cap and i in found else 0)
            for r, (_rule, _fs, names) in enumerate(rules):
                if name not in names:
                    continue
                if n > cap:
                    oversized[r].setdefault(i, []).append(f"{name}={value}")
                    continue
                li, rj = pairs[r]
                li.extend([i] * len(found))
                rj.extend(found)

    decided: list[tuple[np.ndarray, ...]] = []
    for (rule, fs, _names), (li_list, rj_list) in zip(rules, pairs):
        decided.append(_best(fs, left, others, li_list, rj_list, dedup, rank))
    return Scored(ids, rules, any_candidate, oversized, decided)


def decide_scored(matcher: RuleMatcher, left: Records, scored: Scored) -> list[Decision]:
    """``decide_all``'s decisions from the scored pairs."""
    ids, rules, any_candidate, oversized, decided = (scored.ids, scored.rules, scored.any_candidate,
                                                     scored.oversized, scored.decided)
    out: list[Decision] = []
    for i, (_rid, rec) in enumerate(left):
        if not any_candidate[i]:
            out.append(matcher.new(rec))
            continue
        skipped: list[str] = []
        best_review: Decision | None = None
        link: Decision | None = None
        for r, (rule, fs, _names) in enumerate(rules):
            skipped += oversized[r].get(i, [])
            best, runner, count, tot, rj, levels, _li = decided[r]
            p = best[i]
            if p < 0:
                continue
            total = float(tot[p])
            if total < rule.thresholds.review and total < rule.thresholds.link:
                continue            # neither a link nor a review case: ``verdict`` would leave both as they are
            ta = fs.normalised_cached(rec)
            fields, explained = fs.evidence_of(tuple(levels[:, p].tolist()), ta)
            q = runner[i]
            run = None if q < 0 else (float(tot[q]), ids[rj[q]], None)
            link, best_review = matcher.verdict(rule, total, ids[rj[p]], fields, explained, run,
                                                int(count[i]), skipped, best_review)
            if link is not None:
                break
        out.append(link if link is not None else best_review if best_review is not None
                   else matcher.new(rec, skipped))
    return out


def keys_all(matcher: RuleMatcher, records: Records) -> list[list[tuple[str, str]]]:
    """``matcher.keys`` of every record, block by block over all records (``BlockKey.column``): a key part whose
    normaliser is the one a probabilistic rule's field normalises with reads the scorer's normalised value
    (normalised once per record for both)."""
    shared: dict[str, tuple[Callable[[Any], Any], list[tuple[Any, ...]], int]] = {}
    for fs in matcher.fs_scorers.values():
        tuples: list[tuple[Any, ...]] | None = None
        for k, spec in enumerate(fs.specs):
            if spec.field not in shared:
                tuples = tuples if tuples is not None else [fs.normalised_cached(rec) for _rid, rec in records]
                shared[spec.field] = (spec.norm, tuples, k)
    raw_columns: dict[str, list[Any]] = {}                # each field's raw values, read once

    def raw(field: str) -> list[Any]:
        got = raw_columns.get(field)
        if got is None:
            got = raw_columns[field] = [rec.get(field) for _rid, rec in records]
        return got

    columns = [bk.column(raw, shared) for bk in matcher.blocks.values()]     # per block, each record's keys
    if not columns:
        return [[] for _ in records]
    if not any(bk.multi for bk in matcher.blocks.values()):      # no key repeats
        return [[k for ks in row for k in ks] for row in zip(*columns)]
    return [list(dict.fromkeys([k for ks in row for k in ks])) for row in zip(*columns)]


def _best(fs: FSScorer, left: Records, others: Records, li_list: list[int], rj_list: list[int], dedup: bool,
          rank: np.ndarray) -> tuple[np.ndarray, ...]:
    """One rule's candidate pairs scored: per left record the best pair, the runner-up (-1: none) and the number
    of pairs scored; with every pair's probability (NaN: the rule does not apply), right index, levels and left
    index."""
    n_left, n_other = len(left), len(others)
    li = np.asarray(li_list, dtype=np.int64)
    rj = np.asarray(rj_list, dtype=np.int64)
    if dedup:
        keep = li != rj
        li, rj = li[keep], rj[keep]
    key = distinct(li * n_other + rj)
    li, rj = key // n_other, key % n_other
    cached = fs.normalised_cached
    lt = [cached(rec) for _rid, rec in left]
    cols = ColumnLevels(fs.specs)
    lc = cols.encode(lt)
    oc = lc if dedup else cols.encode([cached(rec) for _rid, rec in others])
    if dedup:       # levels are symmetric (fs_levels), and so are totals: each pair of records computed once
        ck = np.minimum(li, rj) * n_other + np.maximum(li, rj)
        canon = distinct(ck)
        at = np.searchsorted(canon, ck)
        ci = canon // n_other
        levels = cols.levels(lc, oc, ci, canon % n_other)
        tot = _totals(fs, levels, lt, ci)[at]
        levels = levels[:, at]
    else:
        levels = cols.levels(lc, oc, li, rj)
        tot = _totals(fs, levels, lt, li)
    # per record (pairs are in record order): the highest probability, then the smallest id; then the next one
    best = np.full(n_left, -1, dtype=np.int64)
    runner = np.full(n_left, -1, dtype=np.int64)
    count = np.zeros(n_left, dtype=np.int64)
    v = np.nonzero(~np.isnan(tot))[0]
    if len(v):
        lv, tv, rv = li[v], tot[v], rank[rj[v]]
        starts = np.flatnonzero(np.r_[True, lv[1:] != lv[:-1]])
        sizes = np.diff(np.r_[starts, len(v)])
        group = np.repeat(np.arange(len(starts)), sizes)
        count[lv[starts]] = sizes
        first = _first(tv, rv, starts, group)
        best[lv[first]] = v[first]
        tv = tv.copy()
        tv[first] = -np.inf                 # below every probability: the runner-up is the best of the rest
        second = _first(tv, rv, starts, group)
        second = second[sizes[group[second]] > 1]
        runner[lv[second]] = v[second]
    return best, runner, count, tot, rj, levels, li


def _first(tv: np.ndarray, rv: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group of consecutive pairs: the position of the highest ``tv``, the smallest ``rv`` among equals (as
    ``RuleMatcher.decide`` sorts its candidates: by probability, then id)."""
    top = tv == np.maximum.reduceat(tv, starts)[group]
    ranks = np.where(top, rv, np.iinfo(np.int64).max)
    return np.flatnonzero(top & (ranks == np.minimum.reduceat(ranks, starts)[group]))


def _totals(fs: FSScorer, levels: np.ndarray, lt: Sequence[tuple[Any, ...]], li: np.ndarray) -> np.ndarray:
    """Every pair's probability (NaN: None), computed by ``FSScorer.total_of`` once per distinct level vector and
    term-frequency adjustments of its exact ``tf`` fields (the left record's value's, as ``total_of`` reads them)."""
    rows: list[np.ndarray] = [levels[k].astype(np.int64) + 1 for k in range(levels.shape[0])]
    sizes = [len(s.levels) + 1 for s in fs.specs]
    for k, memo in enumerate(fs._tf_memo):
        if memo is None:
            continue
        adj_ids: dict[float, int] = {}
        tf_adj = fs._tf_adj
        per_left = np.fromiter((0 if t[k] is None else adj_ids.setdefault(tf_adj(k, t[k]), len(adj_ids)) + 1
                                for t in lt), dtype=np.int64, count=len(lt))
        rows.append(np.where(levels[k] == 0, per_left[li], 0))
        sizes.append(len(adj_ids) + 1)
    if float(np.prod(np.array(sizes, dtype=np.float64))) < 2.0 ** 62:
        key = np.zeros(levels.shape[1], dtype=np.int64)
        span = 1
        for row, size in zip(rows, sizes):
            key += row * span
            span *= size
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:                       # too many fields for one 64-bit code: distinct rows
        uniq, first, inverse = np.unique(np.stack(rows, axis=1), axis=0, return_index=True, return_inverse=True)
    out = np.empty(len(uniq), dtype=np.float64)
    for u, p in enumerate(first.tolist()):
        t = fs.total_of(tuple(levels[:, p].tolist()), lt[int(li[p])])
        out[u] = np.nan if t is None else t
    return out[inverse.reshape(-1)]
