"""Resolve: one source record's version applied to a golden record, as one pure function.

    resolve(golden, lineage, record, policy) -> Resolution(golden, lineage, changed, conflicts)

Survivorship (which source a field takes its value from), field ownership and the conflict policy
used to be applied one after another in the middle of the processing loop, each overriding the
last. Here they are one step with one order, which the table-driven tests in
tests/engine/test_resolve.py pin down:

1. **Conflicts** (``conflicts.detect``): a field both this source and another changed since they
   last agreed is decided by the entity's conflict policy. ``keep`` and ``hold`` hide this source's
   change from survivorship; ``take`` lets it through.
2. **Survivorship** (``survive``): every other field goes by the entity's strategy (priority,
   latest, most complete, trust) and field overrides; lineage follows the values taken.
3. **Taken conflicts win** (``conflicts.force_taken``): a conflict decided ``take`` is applied even
   where survivorship's own strategy would not have taken it (owner_wins for a lower-ranked owner).

Processing is then load -> resolve -> save; nothing here touches the warehouse.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from concord.hub.config.model import EntityConfig
from concord.hub.engine import conflicts as conflict_rules
from concord.hub.engine.conflicts import ConflictCase
from concord.hub.survive import Lineage, survive


@dataclass(frozen=True)
class SourceRecord:
    """One source record's version: its system and id, what Concord last saw of it, and what it says now."""
    system: str
    source_id: str
    current: Mapping[str, Any]
    previous: Mapping[str, Any] | None = None      # None: first sighting (or linked to this golden just now)
    updated_at: str | None = None                  # the change time at the source (ISO 8601)


@dataclass(frozen=True)
class Resolution:
    golden: dict[str, Any]
    lineage: dict[str, Lineage]
    changed: frozenset[str]              # golden fields whose value changed (survivorship or a taken conflict)
    lineage_changed: frozenset[str]      # fields whose lineage entry changed
    conflicts: tuple[ConflictCase, ...]  # every conflict seen, with its decision (take / keep / hold)


def resolve(golden: Mapping[str, Any], lineage: Mapping[str, Lineage], record: SourceRecord,
            policy: EntityConfig) -> Resolution:
    if record.previous is None and not golden and not lineage:
        # a golden record's first source (every record of an initial load): no conflict, nothing forced;
        # what the steps below give, without their copies
        first = survive(policy.survivorship, golden, lineage, system=record.system, source_id=record.source_id,
                        previous=None, current=record.current, updated_at=record.updated_at)
        return Resolution(first.golden, first.lineage, first.changed_fields, first.lineage_changed, ())
    seen, cases = conflict_rules.detect(policy, golden, lineage, system=record.system, previous=record.previous,
                                        current=record.current, updated_at=record.updated_at)
    res = survive(policy.survivorship, golden, lineage, system=record.system, source_id=record.source_id,
                  previous=record.previous, current=seen, updated_at=record.updated_at)
    data, lin = dict(res.golden), dict(res.lineage)
    forced = conflict_rules.force_taken(cases, data, lin, source_id=record.source_id, updated_at=record.updated_at)
    return Resolution(data, lin, frozenset(res.changed_fields | forced),
                      frozenset(res.lineage_changed | forced), tuple(cases))
