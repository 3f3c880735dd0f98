"""Three-way conflict detection per field, policies, and applying a person's resolution.

The base of a field, for one source record, is the last value Concord knows that record held:
what it read from it last, or what it wrote to it since (push updates that knowledge). A source
change of a field is a conflict when the source did not hold the golden value before the change
(it had not yet agreed with the latest value from elsewhere) and its new value differs from the
golden value: both sides changed since they last agreed. The entity's policy then decides:

- ``latest_wins``: the more recent change wins (by source timestamps; an unknown time is "now");
- ``owner_wins``: the field's owner (``ownership``, else the first system of its survivorship
  priority) wins;
- ``hold``: neither value is written anywhere for that field of that record until a person
  resolves it; the rest of the record flows on.

Decided conflicts are recorded as ``auto``; held ones as ``open``. A person's resolution
(``resolved``, with ``resolution.value``) is applied to the golden record at the next cycle and the
conflict becomes ``applied``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from concord.hub.config.model import EntityConfig
from concord.hub.engine.context import RunContext
from concord.hub.survive import Lineage
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores.conflicts import ConflictStatus


@dataclass(frozen=True)
class ConflictCase:
    field: str
    base: Any
    left: Any                 # the golden value (from left_system)
    left_system: str | None
    right: Any                # the new value from right_system
    right_system: str
    policy: str
    decision: str             # take | keep | hold


def _owner(ecfg: EntityConfig, field: str) -> str | None:
    if field in ecfg.ownership:
        return ecfg.ownership[field]
    fs = ecfg.survivorship.fields.get(field)
    pri = (fs.priority if fs and fs.priority else None) or ecfg.survivorship.priority
    return pri[0] if pri else None


def _outranked(ecfg: EntityConfig, field: str, system: str, holder: str) -> bool:
    """A ``priority`` field's change from a system ranked below the one holding it is no conflict: survivorship
    never takes it, and the planner writes the holder's value back (unless ``ownership`` names this system)."""
    fs = ecfg.survivorship.fields.get(field)
    if ((fs.strategy if fs and fs.strategy else None) or ecfg.survivorship.strategy) != "priority":
        return False
    if ecfg.ownership.get(field) == system:
        return False
    pri = (fs.priority if fs and fs.priority else None) or ecfg.survivorship.priority
    rank = {s: i for i, s in enumerate(pri)}
    return rank.get(system, len(pri)) > rank.get(holder, len(pri))


def detect(ecfg: EntityConfig, golden: Mapping[str, Any], lineage: Mapping[str, Lineage], *, system: str,
           previous: Mapping[str, Any] | None, current: Mapping[str, Any],
           updated_at: str | None) -> tuple[dict[str, Any], list[ConflictCase]]:
    """The record as survivorship should see it (conflicting changes it must not take removed), and the cases."""
    if previous is None:
        return dict(current), []
    seen = dict(current)
    cases: list[ConflictCase] = []
    for f in set(previous) | set(current):
        old, new, g = previous.get(f), current.get(f), golden.get(f)
        if old == new or new == g or old == g or g is None:
            continue
        lin = lineage.get(f)
        if lin is not None and (lin.system == system or _outranked(ecfg, f, system, lin.system)):
            continue
        policy = ecfg.conflicts.for_field(f)
        if policy == "hold":
            decision = "hold"
        elif policy == "owner_wins":
            decision = "take" if _owner(ecfg, f) == system else "keep"
        else:
            theirs = lin.source_updated_at if lin else None
            decision = "take" if not (updated_at and theirs) or updated_at >= theirs else "keep"
        cases.append(ConflictCase(f, old, g, lin.system if lin else None, new, system, policy, decision))
        if decision in ("keep", "hold"):
            if old is None:
                seen.pop(f, None)
            else:
                seen[f] = old
    return seen, cases


def force_taken(cases: list[ConflictCase], data: dict[str, Any], lineage: dict[str, Lineage], *, source_id: str,
                updated_at: str | None) -> set[str]:
    """Apply 'take' decisions that survivorship (by its own strategy) may not have taken."""
    changed = set()
    for c in cases:
        if c.decision != "take":
            continue
        if c.right is None:
            data.pop(c.field, None)
        else:
            data[c.field] = c.right
        lineage[c.field] = Lineage(c.right_system, source_id, updated_at)
        changed.add(c.field)
    return changed


def record(ctx: RunContext, conn: Connection, entity: str, cases: list[tuple[str, ConflictCase]]) -> None:
    """Store conflicts: held ones open (one open row per record and field), decided ones as auto."""
    if not cases:
        return
    now = ctx.now()
    open_rows = conflict_store.open_ids(conn, entity, (gid for gid, k in cases if k.decision == "hold"))
    inserts = []
    for gid, k in cases:
        systems = [s for s in (k.left_system, k.right_system) if s]
        if k.decision == "hold" and (gid, k.field) in open_rows:
            conflict_store.update_held(conn, open_rows[(gid, k.field)], right=k.right, systems=systems)
            continue
        res = None if k.decision == "hold" else {
            "policy": k.policy, "winner": k.right_system if k.decision == "take" else k.left_system,
            "value": k.right if k.decision == "take" else k.left}
        held = k.decision == "hold"
        inserts.append({"entity": entity, "golden_id": gid, "field": k.field, "systems": systems, "base": k.base,
                        "left": k.left, "right": k.right,
                        "status": ConflictStatus.OPEN if held else ConflictStatus.AUTO,
                        "resolution": res, "created_at": now, "resolved_at": None if held else now})
    conflict_store.add(conn, inserts)


def apply_resolutions(ctx: RunContext, conn: Connection, entity: str, keys_of: Any) -> int:
    """Write people's resolutions into the golden records and queue them for planning."""
    from concord.hub.engine.golden import load_golden, save_golden

    rows = conflict_store.resolved(conn, entity)
    if not rows:
        return 0
    states = load_golden(conn, entity, {r.golden_id for r in rows})
    now = ctx.now()
    for r in rows:
        st = states.get(r.golden_id)
        if st is None:
            continue
        value = (r.resolution or {}).get("value")
        if value is None:
            st.data.pop(r.field, None)
        else:
            st.data[r.field] = value
        st.lineage[r.field] = Lineage("manual", f"conflict:{r.id}", now.isoformat())
        st.dirty_data, st.touched = True, True
        st.dirty_lineage.add(r.field)
    save_golden(ctx, conn, entity, states.values(), keys_of)
    conflict_store.mark_applied(conn, [r.id for r in rows])
    return len(rows)


def resolve(conn: Connection, conflict_id: int, *, value: Any = None, side: str | None = None, by: str = "cli",
            now: Any = None) -> dict[str, Any]:
    """A person's decision: take the left or right value, or enter one. Applied at the next cycle."""
    row = conflict_store.get(conn, conflict_id)
    if row is None or row.status != ConflictStatus.OPEN:
        raise ValueError(f"conflict {conflict_id} is not open")
    if side in ("left", "right"):
        value = row.left if side == "left" else row.right
    resolution = {"value": value, "side": side or "value", "by": by}
    if not conflict_store.decide(conn, conflict_id, resolution, now):
        raise ValueError(f"conflict {conflict_id} is not open")
    return resolution
