"""Exact-key matching: normalised identifiers (tax id, ERP customer number, e-mail...)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from concord.hub.config.model import MatchRule

_NON_ALNUM = re.compile(r"[^0-9a-z@._+-]+")


def normalise_key(field_name: str, value: Any) -> str | None:
    """Normalise one identifier for comparison; None when it carries no identity."""
    if value is None:
        return None
    s = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not s:
        return None
    if field_name.endswith("email"):
        return s
    if "phone" in field_name or field_name == "mobile":
        digits = re.sub(r"[^0-9+]", "", s)
        return digits or None
    s = _NON_ALNUM.sub("", s.replace(" ", ""))
    s = s.lstrip("0") if s.isdigit() else s
    return s or None


class Candidate(NamedTuple):
    """A golden record found by one of a record's keys (a named tuple: a batch builds one per key and
    golden record found, and a tuple is built several times faster than a frozen dataclass)."""

    golden_id: str
    rule: str
    key: str


@dataclass(frozen=True)
class Decision:
    decision: str                      # link | review | new | ambiguous
    golden_id: str | None
    rule: str | None = None
    score: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


class Matcher(Protocol):
    """keys(): the (key name, value) pairs a record is indexed and blocked under.
    decide(): link / review / new / ambiguous among candidates; ``data`` maps candidate golden ids
    to their golden records (needed by fuzzy rules, see ``needs_data``)."""

    max_block: int

    @property
    def needs_data(self) -> bool: ...

    def keys(self, record: Mapping[str, Any]) -> list[tuple[str, str]]: ...

    def decide(self, record: Mapping[str, Any], candidates: Sequence[Candidate],
               data: Mapping[str, Mapping[str, Any]] | None = None) -> Decision: ...


def exact_key(rule: MatchRule, record: Mapping[str, Any]) -> str | None:
    """The key of an exact rule: every field's normalised value joined, or None if one is missing."""
    parts = []
    for f in rule.fields:
        v = normalise_key(f, record.get(f))
        if v is None:
            return None
        parts.append(v)
    return "|".join(parts)


class ExactMatcher:
    """Rules in order; the first rule whose key finds exactly one golden record links to it."""

    max_block = 50
    needs_data = False

    def __init__(self, rules: Sequence[MatchRule]) -> None:
        self.rules = [r for r in rules if r.type == "exact"]

    def keys(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        out = []
        for rule in self.rules:
            k = exact_key(rule, record)
            if k is not None:
                out.append((rule.key_name, k))
        return out

    def decide(self, record: Mapping[str, Any], candidates: Sequence[Candidate],
               data: Mapping[str, Mapping[str, Any]] | None = None) -> Decision:
        by_rule: dict[str, list[Candidate]] = {}
        for c in candidates:
            by_rule.setdefault(c.rule, []).append(c)
        for rule in self.rules:
            found = sorted({c.golden_id for c in by_rule.get(rule.key_name, [])})
            if len(found) == 1:
                key = by_rule[rule.key_name][0].key
                return Decision("link", found[0], rule.key_name, 1.0,
                                {"rule": rule.key_name, "fields": list(rule.fields), "key": key})
            if len(found) > 1:
                return Decision("ambiguous", None, rule.key_name, None,
                                {"rule": rule.key_name, "candidates": found[:20]})
        return Decision("new", None, None, None, {"keys": dict(self.keys(record))})
