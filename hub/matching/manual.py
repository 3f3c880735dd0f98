"""Manual link and unlink: a person's decision always overrides the rules and survives re-matching.

* ``link`` moves one source record's cross-reference into a golden record.
* ``unlink`` splits one source record out of its golden record into a new golden record; given a
  ``golden_id`` the record is not in (rejecting a review pair), it records that the two are *not* the
  same entity and pins the record where it is.

Either way the cross-reference becomes ``state='manual'`` (the engine never re-matches it), the
decision goes to ``match_decision`` (``manual_link`` / ``manual_unlink``) with who decided and why,
and every golden record involved is rebuilt from its remaining sources' last mapped canonical
records (``raw_record.canonical``) with the entity's survivorship rules: new values, new lineage,
new match keys, and ``dirty`` so the planner looks at it again.

Without a ``project`` (survivorship and match rules unknown) the rebuild is deferred: the records
involved go back to ``pending`` and the next sync rebuilds the golden records from scratch.
"""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from concord.hub.engine.golden import GoldenState, load_golden, save_golden
from concord.hub.engine.util import golden_id_for, stable_hash
from concord.hub.errors import ConfigError
from concord.hub.matching.rules import RuleMatcher
from concord.hub.survive import survive
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.stores import decisions, dirty, golden_reset, lookup, staged, xrefs
from concord.hub.warehouse.stores.decisions import DecisionKind
from concord.hub.warehouse.stores.staging import MAPPED_STATES
from concord.hub.warehouse.stores.xrefs import Xref, XrefState


class MatchActionError(ConfigError):
    """A link / unlink / review action that cannot be done as asked."""


def _xref(conn: Connection, entity: str, system: str, source_id: str) -> Xref:
    row = xrefs.get(conn, entity, system, source_id)
    if row is None or row.state == XrefState.DELETED:
        raise MatchActionError(f"{entity} record {system}:{source_id} is not in the warehouse"
                               + (" (deleted at its source)" if row is not None else ""))
    return row


def _decision(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str,
              decision: DecisionKind, evidence: dict[str, Any], now: dt.datetime) -> None:
    decisions.add(conn, entity=entity, system=system, source_id=source_id, golden_id=golden_id, decision=decision,
                  rule="manual", evidence=evidence, now=now)


def _move(conn: Connection, entity: str, system: str, source_id: str, golden_id: str, now: dt.datetime) -> None:
    xrefs.pin(conn, entity, system, source_id, now, golden_id=golden_id)
    staged.set_golden(conn, entity, system, source_id, golden_id)


def link(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str, now: dt.datetime,
         by: str = "cli", project: Any = None, review_decision_id: int | None = None) -> dict[str, Any]:
    """Put ``system:source_id`` into golden record ``golden_id`` (a manual, sticky decision)."""
    xr = _xref(conn, entity, system, source_id)
    if not lookup.exists(conn, entity, golden_id):
        raise MatchActionError(f"{entity} golden record {golden_id} does not exist")
    other = xrefs.held_by_other(conn, entity, golden_id, system, source_id)
    if other is not None:
        raise MatchActionError(f"golden record {golden_id} already holds {system} record {other}; "
                               f"a golden record has one record per system (unlink that one first)")
    old = xr.golden_id
    evidence = {"by": by, "from_golden_id": old, **({"review_decision_id": review_decision_id}
                                                    if review_decision_id is not None else {})}
    _move(conn, entity, system, source_id, golden_id, now)
    _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=golden_id, decision=DecisionKind.MANUAL_LINK,
              evidence=evidence, now=now)
    touched = [golden_id] if old == golden_id else [old, golden_id]
    _rebuild(conn, project, entity, touched, now)
    return {"decision": DecisionKind.MANUAL_LINK.value, "golden_id": golden_id, "from_golden_id": old}


def unlink(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str | None = None,
           now: dt.datetime, by: str = "cli", project: Any = None,
           review_decision_id: int | None = None) -> dict[str, Any]:
    """Split ``system:source_id`` out of its golden record (or, given another ``golden_id``, record that
    it does not belong there and pin it where it is)."""
    xr = _xref(conn, entity, system, source_id)
    current = xr.golden_id
    extra = {"review_decision_id": review_decision_id} if review_decision_id is not None else {}
    if golden_id is not None and golden_id != current:
        xrefs.pin(conn, entity, system, source_id, now)
        _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=golden_id,
                  decision=DecisionKind.MANUAL_UNLINK, evidence={"by": by, "kept_in": current, **extra}, now=now)
        return {"decision": DecisionKind.MANUAL_UNLINK.value, "golden_id": current, "from_golden_id": golden_id}
    if not xrefs.has_other_members(conn, entity, current, system, source_id):   # alone: nothing to split, pin it
        xrefs.pin(conn, entity, system, source_id, now)
        _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=current,
                  decision=DecisionKind.MANUAL_UNLINK, evidence={"by": by, "new_golden_id": current, "alone": True, **extra},
                  now=now)
        return {"decision": DecisionKind.MANUAL_UNLINK.value, "golden_id": current, "from_golden_id": current}
    new = _fresh_golden_id(conn, entity, system, source_id, now)
    _move(conn, entity, system, source_id, new, now)
    _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=current,
              decision=DecisionKind.MANUAL_UNLINK,
              evidence={"by": by, "new_golden_id": new, **extra}, now=now)
    _rebuild(conn, project, entity, [current, new], now)
    return {"decision": DecisionKind.MANUAL_UNLINK.value, "golden_id": new, "from_golden_id": current}


def _fresh_golden_id(conn: Connection, entity: str, system: str, source_id: str, now: dt.datetime) -> str:
    gid = golden_id_for(entity, system, source_id)
    for n in range(100):
        if not lookup.exists(conn, entity, gid):
            return gid
        gid = uuid.uuid5(uuid.UUID(gid), f"split:{now.isoformat()}:{n}").hex
    raise MatchActionError("could not find a free golden id")  # pragma: no cover


def _sources(conn: Connection, entity: str, gid: str) -> list[staged.LinkedSource]:
    return staged.sources_of(conn, entity, gid)


def _rebuild(conn: Connection, project: Any, entity: str, gids: list[str], now: dt.datetime) -> None:
    if project is None:
        _defer_rebuild(conn, entity, gids, now)
        return
    ecfg = project.config.entities[entity]
    order = {s: i for i, s in enumerate(project.system_order(entity))}
    states = load_golden(conn, entity, gids)
    for gid in gids:
        srcs = sorted((s for s in _sources(conn, entity, gid) if s.canonical is not None),
                      key=lambda s: (order.get(s.system, len(order)), s.source_id))
        data: dict[str, Any] = {}
        lineage: dict[str, Any] = {}
        for s in srcs:
            res = survive(ecfg.survivorship, data, lineage, system=s.system, source_id=s.source_id, previous=None,
                          current=dict(s.canonical), updated_at=s.source_updated_at)
            data, lineage = res.golden, res.lineage
        st = states.get(gid) or states.setdefault(gid, GoldenState(gid, {}, {}, exists=False))
        if not srcs and not st.exists:
            states.pop(gid)
            continue
        st.removed_lineage = set(st.lineage) - set(lineage)
        st.lineage, st.dirty_lineage = lineage, set(lineage)
        if srcs:
            st.data = data
        st.deleted = not srcs
        st.dirty_data = st.touched = True
    ctx = SimpleNamespace(now=lambda: now, warehouse=Warehouse(conn.engine), project=project)
    save_golden(ctx, conn, entity, states.values(), RuleMatcher(ecfg.match).keys)  # type: ignore[arg-type]


def _defer_rebuild(conn: Connection, entity: str, gids: list[str], now: dt.datetime) -> None:
    """No project at hand: empty the golden records and queue their sources, the next sync rebuilds them."""
    for gid in gids:
        srcs = _sources(conn, entity, gid)
        if not srcs:
            golden_reset.mark_deleted(conn, entity, gid, now)
            dirty.mark_stored(conn, entity, gid)
            continue
        golden_reset.empty(conn, entity, gid, empty_hash=stable_hash({}), now=now)
        for s in srcs:
            if s.status in MAPPED_STATES:
                staged.requeue(conn, entity, s.system, s.source_id)


# ---- the review queue: 'review' decisions nobody has confirmed or rejected yet ----------------------
def open_reviews(conn: Connection, *, entity: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Pairs between the review and auto-link thresholds that wait for a person (oldest first)."""
    return [d.as_dict() for d in decisions.open_reviews(conn, entity=entity, limit=limit)]


def decide_review(conn: Connection, decision_id: int, *, confirm: bool, now: dt.datetime, by: str = "cli",
                  project: Any = None) -> dict[str, Any]:
    """Confirm (link the record into the candidate) or reject (keep them apart, for good) a review pair."""
    row = decisions.get(conn, decision_id)
    if row is None:
        raise MatchActionError(f"match decision {decision_id} does not exist")
    if row.decision != DecisionKind.REVIEW:
        raise MatchActionError(f"match decision {decision_id} is {row.decision.value!r}, not a pair waiting for review")
    later = decisions.settled_by(conn, row)
    if later is not None:
        raise MatchActionError(f"review {decision_id} was already decided ({later.value})")
    fn = link if confirm else unlink
    return fn(conn, entity=row.entity, system=row.system, source_id=row.source_id, golden_id=row.golden_id,
              now=now, by=by, project=project, review_decision_id=row.id)
