"""Offline matching of exported files with the configured rules (``concord match``).

Input: CSV or JSONL (by extension; ``.jsonl``/``.ndjson``/``.json`` are JSON lines) whose columns are
canonical field names, dotted for nested fields (``billing_address.city``; nested JSON objects are
flattened the same way), plus an ``id`` column. Empty cells are missing values.

``match_files(rules, left, right)`` links two files: every left record is matched against the right
records exactly as the engine matches a new record against golden records (same keys, blocks,
comparators and thresholds), then auto-links are made one-to-one (best score first), as a system
holds an entity once. Without ``right`` it deduplicates one file: every record is matched against
the others, and the links are closed transitively into clusters (if A links B and B links C, all
three are one entity), strictly (hub/matching/clustering.py): strongest link first, and a link joins
two clusters only when no pair across them scores below the rule's review threshold; a refused link
becomes a review case. The output has every pair of a cluster (``decision`` ``cluster`` for a pair
implied through others) and, in a last column, every pair's ``cluster_id`` (the smallest record id of
the cluster). ``--clusters`` writes ``id,cluster_id`` per linked record.

Probabilistic rules with ``tf`` fields and no trained term frequencies take them from the files.
Blocking keys are the engine's (``RuleMatcher.keys``; each key part's values are remembered per distinct
value, rules._remembering). When every rule is probabilistic, all records are decided at once
(hub/matching/bulk.py: the same keys, candidates, scores and decisions as ``RuleMatcher.decide`` record by
record, computed field by field over all candidate pairs with numpy); otherwise record by record.
The cyclic garbage collector is paused meanwhile (hub/matching/gc_pause.py).
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from concord.hub.config.model import MatchRule
from concord.hub.errors import ConfigError
from concord.hub.matching.clustering import Join, Score, strict_clusters
from concord.hub.matching import bulk, one_to_one
from concord.hub.matching.exact import Candidate, Decision
from concord.hub.matching.gc_pause import paused_gc
from concord.hub.matching.rules import RuleMatcher

JSON_EXT = (".jsonl", ".ndjson", ".json")
BULK = True     # probabilistic rules only: every record decided at once (hub/matching/bulk.py; same decisions)


@dataclass(frozen=True)
class Pair:
    left_id: str
    right_id: str
    score: float | None
    rule: str | None
    decision: str                 # link | review | cluster (dedup: linked through other records)
    evidence: dict[str, Any]
    cluster_id: str = ""

    def row(self) -> list[Any]:
        fields = self.evidence.get("fields") or {}
        return [self.left_id, self.right_id, "" if self.score is None else f"{self.score:.4f}", self.rule or "",
                self.decision, json.dumps(fields, ensure_ascii=False, sort_keys=True),
                json.dumps({k: v for k, v in self.evidence.items() if k != "fields"}, ensure_ascii=False,
                           sort_keys=True, default=str)]


HEADER = ["left_id", "right_id", "score", "rule", "decision", "field_scores", "evidence"]


def _flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif v is not None and v != "":
            out[key] = v
    return out


def read_records(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, flat record) for every row; errors name the file and line."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such file")
    if p.suffix.lower() in JSON_EXT:
        with open(p, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{p}:{n}: not a JSON object: {exc.msg}") from None
                if not isinstance(obj, dict):
                    raise ConfigError(f"{p}:{n}: each line must be a JSON object")
                yield _with_id(p, n, _flatten(obj))
        return
    with open(p, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        while header == []:         # blank lines before the header (as csv.DictReader skips them)
            header = next(reader, None)
        if not header or "id" not in header:
            raise ConfigError(f"{p}:1: the header needs an `id` column (found: {', '.join(header or [])})")
        for row in reader:
            if row:                 # cells past the header's are dropped, missing ones are missing values
                yield _with_id(p, reader.line_num, {k: v for k, v in dict(zip(header, row)).items() if k and v})


def _with_id(p: Path, n: int, rec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = rec.pop("id", None)
    if rid is None or str(rid).strip() == "":
        raise ConfigError(f"{p}:{n}: record without an `id`")
    return str(rid), rec


class _Index:
    """In-memory blocking index: the same keys the warehouse's ``match_key`` holds."""

    def __init__(self, matcher: RuleMatcher) -> None:
        self.matcher = matcher
        self.keys: dict[tuple[str, str], list[Candidate]] = {}      # each record's candidate, made once
        self.data: dict[str, dict[str, Any]] = {}

    def add(self, rid: str, rec: dict[str, Any]) -> list[tuple[str, str]]:
        self.data[rid] = rec
        ks = self.matcher.keys(rec)
        for k in ks:
            found = self.keys.setdefault(k, [])
            if len(found) <= self.matcher.max_block or not k[0].startswith("b:"):
                found.append(Candidate(rid, *k))
        return ks

    def candidates(self, keys: Sequence[tuple[str, str]], exclude: str | None = None) -> list[Candidate]:
        get = self.keys.get
        return [c for k in keys for c in get(k, ()) if c.golden_id != exclude]


@paused_gc
def match_files(rules: Sequence[MatchRule], left: str | Path, right: str | Path | None = None) -> tuple[list[Pair], dict[str, int]]:
    """Pairs (auto-links and review cases) and counts; see the module docstring."""
    matcher = RuleMatcher(rules)
    stats = {"left": 0, "right": 0, "link": 0, "review": 0, "new": 0, "ambiguous": 0, "dropped_one_to_one": 0}
    index = _Index(matcher)
    pairs: list[Pair] = []
    if right is None:
        records = list(read_records(left))
        _term_frequencies(matcher, [rec for _rid, rec in records])
        stats["left"] = len(records)
        if BULK and bulk.applies(matcher) and len({rid for rid, _rec in records}) == len(records):
            decisions: Iterable[Decision] = bulk.decide_all(matcher, records)
            index.data.update(records)
        else:
            own_keys = {rid: index.add(rid, rec) for rid, rec in records}
            decisions = (matcher.decide(rec, index.candidates(own_keys[rid], exclude=rid), index.data)
                         for rid, rec in records)
        seen: set[tuple[str, str]] = set()
        for (rid, rec), d in zip(records, decisions):
            d = _within_one_file(d)
            stats[d.decision] = stats.get(d.decision, 0) + 1
            if d.decision in ("link", "review") and d.golden_id:
                a, b = sorted((rid, d.golden_id))
                for p in [Pair(a, b, d.score, d.rule, d.decision, d.evidence), *_runner_up_link(rid, d)]:
                    if (p.left_id, p.right_id) not in seen:
                        seen.add((p.left_id, p.right_id))
                        pairs.append(p)
        pairs = close_clusters(pairs, score=_agreement(matcher, index.data))
        stats["clusters"] = len({p.cluster_id for p in pairs if p.cluster_id})
        stats["cluster_pairs"] = sum(p.decision == "cluster" for p in pairs)
        return pairs, stats
    right_records = list(read_records(right))
    left_records = list(read_records(left))
    _term_frequencies(matcher, [rec for _rid, rec in right_records + left_records])
    fast = BULK and bulk.applies(matcher)
    for rid, rec in right_records:
        if rid in index.data:
            raise ConfigError(f"{right}: duplicate id {rid!r}")
        if fast:
            index.data[rid] = rec
        else:
            index.add(rid, rec)
    stats["right"] = len(index.data)
    scored = bulk.score_all(matcher, left_records, right_records) if fast else None
    if scored is not None:
        decided = bulk.decide_scored(matcher, left_records, scored)
    else:
        decided = [matcher.decide(rec, index.candidates(matcher.keys(rec)), index.data) for _lid, rec in left_records]
    decided = _one_to_one(matcher, decided, left_records, right_records, scored)
    links: list[Pair] = []
    for (lid, rec), d in zip(left_records, decided):
        stats["left"] += 1
        stats[d.decision] = stats.get(d.decision, 0) + 1
        if d.decision == "link" and d.golden_id:
            links.append(Pair(lid, d.golden_id, d.score, d.rule, "link", d.evidence))
        elif d.decision == "review" and d.golden_id:
            pairs.append(Pair(lid, d.golden_id, d.score, d.rule, "review", d.evidence))
    taken_l: set[str] = set()
    taken_r: set[str] = set()
    for p in sorted(links, key=lambda p: (-(p.score or 0), p.left_id)):
        if p.left_id in taken_l or p.right_id in taken_r:
            stats["dropped_one_to_one"] += 1
            continue
        taken_l.add(p.left_id)
        taken_r.add(p.right_id)
        pairs.append(p)
    pairs.sort(key=lambda p: (p.decision != "link", p.left_id))
    return pairs, stats


def _one_to_one(matcher: RuleMatcher, decisions: list[Decision], left: Sequence[tuple[str, Mapping[str, Any]]],
                right: Sequence[tuple[str, Mapping[str, Any]]], scored: bulk.Scored | None) -> list[Decision]:
    """Linkage: the pairs of probabilistic rules (models trained by sessions) that one match per record links
    (hub/matching/one_to_one.py)."""
    priors, links = {}, {}
    for name, fs in matcher.fs_scorers.items():
        model = fs.model
        if fs.rule.one_to_one and model is not None and model.trained.get("prior") == "per pair of records":
            priors[name], links[name] = model.prior, fs.rule.thresholds.link
    if not priors or all(d.decision == "link" for d in decisions):
        return decisions
    if scored is None:
        scored = bulk.score_all(matcher, left, right, only_probabilistic=True)
    pairs_of = {name: got for name in priors if (got := scored.pairs(name)) is not None}

    def describe(name: str, i: int, j: int, own: float) -> dict[str, Any]:
        """A promoted pair's evidence when it was not its left record's decision (as RuleMatcher.verdict's)."""
        fs = matcher.fs_scorers[name]
        th = fs.rule.thresholds
        fields, explained = fs.evidence(left[i][1], right[j][1])
        return {"rule": name, "type": "probabilistic", "candidate": right[j][0], "fields": fields,
                "total": round(own, 4), "link_at": th.link, "review_at": th.review, **explained}

    return one_to_one.promote(decisions, pairs_of, priors, links, [rid for rid, _rec in right], describe)


def _within_one_file(d: Decision) -> Decision:
    """In deduplication a runner-up close to the best candidate is another duplicate of the record, not a rival
    golden record: with a probabilistic rule (both at or above ``link``: both match, by probability) the
    margin, which keeps a record from being linked to one of two look-alikes, does not apply, and the best
    candidate links (strict clustering then checks every pair a link joins). A weighted rule's totals are
    no probabilities: its margin stands."""
    ev = d.evidence or {}
    if d.decision != "review" or ev.get("reason") != "runner-up within margin" or ev.get("type") != "probabilistic":
        return d
    return replace(d, decision="link", evidence={k: v for k, v in ev.items() if k != "reason"})


def _runner_up_link(rid: str, d: Decision) -> list[Pair]:
    """Deduplication with a probabilistic rule: the runner-up too is linked when its probability is at or above
    ``link`` (a cluster of several duplicates: each record links to its best two, clustering closes the rest)."""
    ev = d.evidence or {}
    runner = ev.get("runner_up")
    if (d.decision != "link" or ev.get("type") != "probabilistic" or not runner or ev.get("link_at") is None
            or runner["total"] < ev["link_at"]):
        return []
    a, b = sorted((rid, runner["golden_id"]))
    return [Pair(a, b, runner["total"], d.rule, "link", {
        "rule": ev.get("rule"), "type": ev.get("type"), "candidate": runner["golden_id"], "total": runner["total"],
        "link_at": ev["link_at"], "runner_up_of": d.golden_id})]


def _term_frequencies(matcher: RuleMatcher, records: Sequence[Mapping[str, Any]]) -> None:
    """Pin the records in every probabilistic scorer, and give those whose rule wants term frequencies it has
    no trained table for the frequencies of these records."""
    from concord.hub.matching.em import term_frequencies

    for scorer in matcher.fs_scorers.values():
        norm = scorer.pin(records)        # normalised once; decide() finds them again by identity
        missing = [f for f in scorer.rule.tf if f not in scorer.tf]
        if missing:
            col = {f: k for k, f in enumerate(scorer.rule.fields)}
            tables = {f: t for f in missing if f in col
                      and (t := term_frequencies([n[col[f]] for n in norm])) is not None}
            scorer.with_term_frequencies(tables)


def clusters(links: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Connected components over links: record id -> cluster id (the smallest id of its component)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def _agreement(matcher: RuleMatcher, data: Mapping[str, Mapping[str, Any]]) -> Score:
    """(score, review threshold) of two records by the first fuzzy rule that can score them."""
    def score(x: str, y: str) -> tuple[float, float] | None:
        for rule in matcher.fuzzy:
            total, _fields = matcher.score(rule, data[x], data[y])
            if total is not None:
                return total, rule.thresholds.review
        return None
    return score


def close_clusters(pairs: Sequence[Pair], score: Score | None = None) -> list[Pair]:
    """Links closed transitively: every pair of each cluster, implied ones as ``cluster``; review pairs
    keep their own row (with the cluster of their first record, if any). With ``score``, the strict
    clustering of hub/matching/clustering.py (a refused link becomes a review pair), else connected
    components."""
    links = [p for p in pairs if p.decision == "link"]
    if score is None:
        cid = clusters([(p.left_id, p.right_id) for p in links])
    else:
        exact = {p.rule for p in links if (p.evidence or {}).get("type") == "exact"}
        cid, refused = strict_clusters([Join(p.left_id, p.right_id, p.score or 0.0, p.rule not in exact)
                                        for p in links], score)
        gone = {(r.left_id, r.right_id): r for r in refused}
        pairs = [replace(p, decision="review", evidence={
                     **p.evidence, "reason": "would join two clusters that disagree",
                     "disagreeing_pair": list(gone[(p.left_id, p.right_id)].against),
                     "disagreeing_score": round(gone[(p.left_id, p.right_id)].score, 4)})
                 if p.decision == "link" and (p.left_id, p.right_id) in gone else p for p in pairs]
        links = [p for p in pairs if p.decision == "link"]
    members: dict[str, list[str]] = {}
    for rid, c in cid.items():
        members.setdefault(c, []).append(rid)
    direct = {(p.left_id, p.right_id) for p in links}
    out = [replace(p, cluster_id=cid[p.left_id]) for p in links]
    for c, ids in members.items():
        ids.sort()
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if (a, b) not in direct:
                    out.append(Pair(a, b, None, None, "cluster", {"cluster_size": len(ids)}, c))
    out.extend(replace(p, cluster_id=cid.get(p.left_id, "")) for p in pairs if p.decision != "link")
    return out


def write_clusters(pairs: Sequence[Pair], out: str | Path) -> int:
    """``id,cluster_id`` for every record in a linked pair; returns the number of clusters."""
    ids: dict[str, str] = {}
    for p in pairs:
        if p.decision in ("link", "cluster"):     # linkage: each one-to-one pair is its own cluster
            ids[p.left_id] = ids[p.right_id] = p.cluster_id or min(p.left_id, p.right_id)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "cluster_id"])
        for rid in sorted(ids, key=lambda r: (ids[r], r)):
            w.writerow([rid, ids[rid]])
    return len(set(ids.values()))


def write_pairs(pairs: Sequence[Pair], out: str | Path, *, cluster_ids: bool | None = None) -> None:
    """The pairs as CSV; with ``cluster_ids`` (default: when any pair has one) a last ``cluster_id`` column."""
    if cluster_ids is None:
        cluster_ids = any(p.cluster_id for p in pairs)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER + ["cluster_id"] if cluster_ids else HEADER)
        for p in pairs:
            w.writerow(p.row() + [p.cluster_id] if cluster_ids else p.row())
