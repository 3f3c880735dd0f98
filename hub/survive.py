"""Survivorship: how a golden record takes each field from its sources (pure functions).

For every field a source record *changed* (against the last version Concord saw of that same
record; on first sighting, every field it has), the field's strategy decides:

- ``priority``: the change wins only if its system ranks at least as high as the system that
  owns the field now (a lower-ranked system's edits are not taken, and the planner writes the
  owner's value back to it). An empty value never displaces another system's value.
- ``latest``: the most recent change wins (by the source's own change timestamp, ties and unknown
  times by rank). A first sighting of a record fills gaps and otherwise goes by rank, so an
  initial load is decided by priority, not by the order in which systems were read.
- ``most_complete``: the fuller value wins (more characters of text, more digits, more items);
  ties go by rank. The owning record may always change its own value.
- ``trust``: each system has a trust score (``trust``, default 0.5) that halves every
  ``half_life_days`` of the value's age; the higher effective trust wins, ties by rank. Ages are
  measured at the later of the two values' timestamps, so the decision is pure and repeatable.

Lineage says, per field, which system and source record the golden value came from, and when.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from concord.hub.config.model import FieldSurvivorship, Survivorship


@dataclass(frozen=True)
class Lineage:
    system: str
    source_id: str
    source_updated_at: str | None


@dataclass(frozen=True)
class SurviveResult:
    golden: dict[str, Any]
    lineage: dict[str, Lineage]          # full lineage after the change
    changed_fields: frozenset[str]       # golden fields whose value changed
    lineage_changed: frozenset[str]      # fields whose lineage entry changed


def _rank(priority: tuple[str, ...], system: str) -> int:
    return priority.index(system) if system in priority else len(priority)


def survive(policy: Survivorship, golden: Mapping[str, Any], lineage: Mapping[str, Lineage], *, system: str,
            source_id: str, previous: Mapping[str, Any] | None, current: Mapping[str, Any],
            updated_at: str | None) -> SurviveResult:
    """Apply one source record's version to a golden record."""
    if previous is None and not golden and not lineage:
        return _first(system, source_id, current, updated_at)
    new_golden = dict(golden)
    new_lineage = dict(lineage)
    first = previous is None
    prev = previous or {}
    touched = set(current) if first else {f for f in set(prev) | set(current) if prev.get(f) != current.get(f)}
    changed: set[str] = set()
    lin_changed: set[str] = set()
    for f in sorted(touched):
        value = current.get(f)
        fpol = policy.fields.get(f)
        strategy = (fpol.strategy if fpol and fpol.strategy else policy.strategy)
        priority = (fpol.priority if fpol and fpol.priority else policy.priority)
        owner = new_lineage.get(f)
        have = new_golden.get(f)
        if owner is None or have is None:
            take = value is not None
        elif owner.system == system and owner.source_id == source_id:
            take = True
        elif value is None:
            take = strategy == "latest" and not first and _newer_or_equal(updated_at, owner, priority, system)
        elif strategy == "most_complete":
            take = _more_complete(value, have, priority, system, owner.system)
        elif strategy == "trust":
            take = _more_trusted(policy, fpol, system, updated_at, owner, priority)
        elif strategy == "priority" or first:
            take = _rank(priority, system) < _rank(priority, owner.system) or (
                _rank(priority, system) == _rank(priority, owner.system) and owner.system == system)
        else:
            take = _newer_or_equal(updated_at, owner, priority, system)
        if not take:
            continue
        if value is None:
            if f in new_golden:
                del new_golden[f]
                changed.add(f)
            if f in new_lineage:
                del new_lineage[f]
                lin_changed.add(f)
            continue
        if have != value:
            new_golden[f] = value
            changed.add(f)
        lin = Lineage(system, source_id, updated_at)
        if new_lineage.get(f) != lin and (have != value or owner is None or owner.system != system
                                          or owner.source_id != source_id):
            new_lineage[f] = lin
            lin_changed.add(f)
    return SurviveResult(new_golden, new_lineage, frozenset(changed), frozenset(lin_changed))


def _first(system: str, source_id: str, current: Mapping[str, Any], updated_at: str | None) -> SurviveResult:
    """A new golden record's first source (the common case of an initial load): every non-empty field is
    taken, in field order, whatever the strategy (what the general path gives when nothing is owned yet)."""
    lin = Lineage(system, source_id, updated_at)
    golden = {f: current[f] for f in sorted(current) if current[f] is not None}
    fields = frozenset(golden)
    return SurviveResult(golden, dict.fromkeys(golden, lin), fields, fields)


def _newer_or_equal(updated_at: str | None, owner: Lineage, priority: tuple[str, ...], system: str) -> bool:
    if updated_at and owner.source_updated_at:
        if updated_at != owner.source_updated_at:
            return updated_at > owner.source_updated_at
        return _rank(priority, system) <= _rank(priority, owner.system)
    return True  # an unknown time is "now": the change just arrived


def completeness(value: Any) -> int:
    """How much a value says: characters of text (no spaces), digits of a number, items of a list."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len("".join(value.split()))
    if isinstance(value, (list, tuple, dict, set)):
        return len(value)
    if isinstance(value, bool):
        return 1
    return len("".join(ch for ch in str(value) if ch.isalnum()))


def _more_complete(value: Any, have: Any, priority: tuple[str, ...], system: str, owner_system: str) -> bool:
    a, b = completeness(value), completeness(have)
    if a != b:
        return a > b
    return _rank(priority, system) <= _rank(priority, owner_system)


def _parse_ts(ts: str | None) -> dt.datetime | None:
    if not ts:
        return None
    try:
        d = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)


def trust_score(base: float, half_life_days: float, updated_at: str | None, at: dt.datetime | None) -> float:
    """``base`` halved every ``half_life_days`` between ``updated_at`` and ``at`` (no time: no decay)."""
    t = _parse_ts(updated_at)
    if t is None or at is None or at <= t:
        return base
    age_days = (at - t).total_seconds() / 86400.0
    return base * 0.5 ** (age_days / half_life_days)


def _more_trusted(policy: Survivorship, fpol: FieldSurvivorship | None, system: str, updated_at: str | None,
                  owner: Lineage, priority: tuple[str, ...]) -> bool:
    trust = dict(policy.trust)
    if fpol and fpol.trust:
        trust.update(fpol.trust)
    half = (fpol.half_life_days if fpol and fpol.half_life_days else policy.half_life_days)
    times = [t for t in (_parse_ts(updated_at), _parse_ts(owner.source_updated_at)) if t is not None]
    at = max(times) if times else None
    mine = trust_score(trust.get(system, 0.5), half, updated_at, at)
    theirs = trust_score(trust.get(owner.system, 0.5), half, owner.source_updated_at, at)
    if abs(mine - theirs) > 1e-12:
        return mine > theirs
    return _rank(priority, system) <= _rank(priority, owner.system)


def detach(golden: Mapping[str, Any], lineage: Mapping[str, Lineage], *, system: str,
           source_id: str) -> dict[str, Lineage]:
    """Lineage after a source record is deleted or unlinked: its entries go, the values stay."""
    return {f: lin for f, lin in lineage.items() if not (lin.system == system and lin.source_id == source_id)}
