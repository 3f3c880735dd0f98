"""Offline matching of exported files with the configured rules (``concord match``).

Input: CSV or JSONL (by extension; ``.jsonl``/``.ndjson``/``.json`` are JSON lines) whose columns are
canonical field names, dotted for nested fields (``billing_address.city``; nested JSON objects are
flattened the same way), plus an ``id`` column. Empty cells are missing values.

``match_files(rules, left, right)`` links two files: every left record is matched against the right
records exactly as the engine matches a new record against golden records (same keys, blocks,
comparators and thresholds), then auto-links are made one-to-one (best score first), as a system
holds an entity once. Without ``right`` it deduplicates one file: every pair within it.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.config.model import MatchRule
from hub.errors import ConfigError
from hub.matching.exact import Candidate
from hub.matching.rules import RuleMatcher

JSON_EXT = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class Pair:
    left_id: str
    right_id: str
    score: float | None
    rule: str | None
    decision: str                 # link | review
    evidence: dict[str, Any]

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
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise ConfigError(f"{p}:1: the header needs an `id` column (found: {', '.join(reader.fieldnames or [])})")
        for row in reader:
            yield _with_id(p, reader.line_num, {k: v for k, v in row.items() if k and v not in (None, "")})


def _with_id(p: Path, n: int, rec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = rec.pop("id", None)
    if rid is None or str(rid).strip() == "":
        raise ConfigError(f"{p}:{n}: record without an `id`")
    return str(rid), rec


class _Index:
    """In-memory blocking index: the same keys the warehouse's ``match_key`` holds."""

    def __init__(self, matcher: RuleMatcher) -> None:
        self.matcher = matcher
        self.keys: dict[tuple[str, str], list[str]] = {}
        self.data: dict[str, dict[str, Any]] = {}

    def add(self, rid: str, rec: dict[str, Any]) -> list[tuple[str, str]]:
        self.data[rid] = rec
        ks = self.matcher.keys(rec)
        for k in ks:
            ids = self.keys.setdefault(k, [])
            if len(ids) <= self.matcher.max_block or not k[0].startswith("b:"):
                ids.append(rid)
        return ks

    def candidates(self, keys: Sequence[tuple[str, str]], exclude: str | None = None) -> list[Candidate]:
        return [Candidate(rid, name, value) for name, value in keys for rid in self.keys.get((name, value), ())
                if rid != exclude]


def match_files(rules: Sequence[MatchRule], left: str | Path, right: str | Path | None = None) -> tuple[list[Pair], dict[str, int]]:
    """Pairs (auto-links and review cases) and counts; see the module docstring."""
    matcher = RuleMatcher(rules)
    stats = {"left": 0, "right": 0, "link": 0, "review": 0, "new": 0, "ambiguous": 0, "dropped_one_to_one": 0}
    index = _Index(matcher)
    pairs: list[Pair] = []
    if right is None:
        records = list(read_records(left))
        own_keys = {rid: index.add(rid, rec) for rid, rec in records}
        stats["left"] = len(records)
        seen: set[tuple[str, str]] = set()
        for rid, rec in records:
            d = matcher.decide(rec, index.candidates(own_keys[rid], exclude=rid), index.data)
            stats[d.decision] = stats.get(d.decision, 0) + 1
            if d.decision in ("link", "review") and d.golden_id:
                a, b = sorted((rid, d.golden_id))
                if (a, b) not in seen:
                    seen.add((a, b))
                    pairs.append(Pair(a, b, d.score, d.rule, d.decision, d.evidence))
        return pairs, stats
    for rid, rec in read_records(right):
        if rid in index.data:
            raise ConfigError(f"{right}: duplicate id {rid!r}")
        index.add(rid, rec)
    stats["right"] = len(index.data)
    links: list[Pair] = []
    for lid, rec in read_records(left):
        stats["left"] += 1
        d = matcher.decide(rec, index.candidates(matcher.keys(rec)), index.data)
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


def write_pairs(pairs: Sequence[Pair], out: str | Path) -> None:
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for p in pairs:
            w.writerow(p.row())
