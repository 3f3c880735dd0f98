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

from sqlalchemy import Connection, select, update

from concord.hub.engine.golden import GoldenState, load_golden, save_golden
from concord.hub.engine.util import golden_id_for, stable_hash
from concord.hub.errors import ConfigError
from concord.hub.matching.rules import RuleMatcher
from concord.hub.survive import survive
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores.staging import MAPPED_STATES


class MatchActionError(ConfigError):
    """A link / unlink / review action that cannot be done as asked."""


def _xref(conn: Connection, entity: str, system: str, source_id: str) -> Any:
    x = T.xref.c
    row = conn.execute(select(T.xref).where(x.entity == entity, x.system == system, x.source_id == source_id)).first()
    if row is None or row.state == "deleted":
        raise MatchActionError(f"{entity} record {system}:{source_id} is not in the warehouse"
                               + (" (deleted at its source)" if row is not None else ""))
    return row


def _decision(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str, decision: str,
              evidence: dict[str, Any], now: dt.datetime) -> None:
    conn.execute(T.match_decision.insert().values(
        run_id=None, entity=entity, system=system, source_id=source_id, golden_id=golden_id, decision=decision,
        rule="manual", score=None, evidence=evidence, decided_at=now))


def _move(conn: Connection, entity: str, system: str, source_id: str, golden_id: str, now: dt.datetime) -> None:
    x, r = T.xref.c, T.raw_record.c
    conn.execute(update(T.xref).where(x.entity == entity, x.system == system, x.source_id == source_id)
                 .values(golden_id=golden_id, state="manual", updated_at=now))
    conn.execute(update(T.raw_record).where(r.entity == entity, r.system == system, r.source_id == source_id)
                 .values(golden_id=golden_id))


def link(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str, now: dt.datetime,
         by: str = "cli", project: Any = None, review_decision_id: int | None = None) -> dict[str, Any]:
    """Put ``system:source_id`` into golden record ``golden_id`` (a manual, sticky decision)."""
    xr = _xref(conn, entity, system, source_id)
    g = T.golden.c
    target = conn.execute(select(g.golden_id, g.deleted).where(g.entity == entity, g.golden_id == golden_id)).first()
    if target is None:
        raise MatchActionError(f"{entity} golden record {golden_id} does not exist")
    x = T.xref.c
    other = conn.execute(select(x.source_id).where(x.entity == entity, x.golden_id == golden_id, x.system == system,
                                                   x.state != "deleted", x.source_id != source_id)).first()
    if other is not None:
        raise MatchActionError(f"golden record {golden_id} already holds {system} record {other.source_id}; "
                               f"a golden record has one record per system (unlink that one first)")
    old = xr.golden_id
    evidence = {"by": by, "from_golden_id": old, **({"review_decision_id": review_decision_id}
                                                    if review_decision_id is not None else {})}
    _move(conn, entity, system, source_id, golden_id, now)
    _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=golden_id, decision="manual_link",
              evidence=evidence, now=now)
    touched = [golden_id] if old == golden_id else [old, golden_id]
    _rebuild(conn, project, entity, touched, now)
    return {"decision": "manual_link", "golden_id": golden_id, "from_golden_id": old}


def unlink(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str | None = None,
           now: dt.datetime, by: str = "cli", project: Any = None,
           review_decision_id: int | None = None) -> dict[str, Any]:
    """Split ``system:source_id`` out of its golden record (or, given another ``golden_id``, record that
    it does not belong there and pin it where it is)."""
    xr = _xref(conn, entity, system, source_id)
    current = xr.golden_id
    extra = {"review_decision_id": review_decision_id} if review_decision_id is not None else {}
    x = T.xref.c
    if golden_id is not None and golden_id != current:
        conn.execute(update(T.xref).where(x.entity == entity, x.system == system, x.source_id == source_id)
                     .values(state="manual", updated_at=now))
        _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=golden_id,
                  decision="manual_unlink", evidence={"by": by, "kept_in": current, **extra}, now=now)
        return {"decision": "manual_unlink", "golden_id": current, "from_golden_id": golden_id}
    others = conn.execute(select(x.source_id).where(x.entity == entity, x.golden_id == current,
                                                    x.state != "deleted", (x.system != system) | (x.source_id != source_id))).first()
    if others is None:      # alone in its golden record: nothing to split, pin it
        conn.execute(update(T.xref).where(x.entity == entity, x.system == system, x.source_id == source_id)
                     .values(state="manual", updated_at=now))
        _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=current,
                  decision="manual_unlink", evidence={"by": by, "new_golden_id": current, "alone": True, **extra},
                  now=now)
        return {"decision": "manual_unlink", "golden_id": current, "from_golden_id": current}
    new = _fresh_golden_id(conn, entity, system, source_id, now)
    _move(conn, entity, system, source_id, new, now)
    _decision(conn, entity=entity, system=system, source_id=source_id, golden_id=current, decision="manual_unlink",
              evidence={"by": by, "new_golden_id": new, **extra}, now=now)
    _rebuild(conn, project, entity, [current, new], now)
    return {"decision": "manual_unlink", "golden_id": new, "from_golden_id": current}


def _fresh_golden_id(conn: Connection, entity: str, system: str, source_id: str, now: dt.datetime) -> str:
    g = T.golden.c
    gid = golden_id_for(entity, system, source_id)
    for n in range(100):
        if conn.execute(select(g.golden_id).where(g.entity == entity, g.golden_id == gid)).first() is None:
            return gid
        gid = uuid.uuid5(uuid.UUID(gid), f"split:{now.isoformat()}:{n}").hex
    raise MatchActionError("could not find a free golden id")  # pragma: no cover


def _sources(conn: Connection, entity: str, gid: str) -> list[Any]:
    x, r = T.xref.c, T.raw_record.c
    return list(conn.execute(
        select(x.system, x.source_id, r.canonical, r.source_updated_at, r.status)
        .select_from(T.xref.join(T.raw_record, (r.system == x.system) & (r.entity == x.entity)
                                 & (r.source_id == x.source_id)))
        .where(x.entity == entity, x.golden_id == gid, x.state != "deleted")))


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
    g, r = T.golden.c, T.raw_record.c
    for gid in gids:
        srcs = _sources(conn, entity, gid)
        if not srcs:
            conn.execute(update(T.golden).where(g.entity == entity, g.golden_id == gid).values(deleted=True,
                                                                                               updated_at=now))
            conn.execute(T.dirty.insert().from_select(["entity", "golden_id", "since"], select(
                g.entity, g.golden_id, g.updated_at).where(g.entity == entity, g.golden_id == gid,
                                                          ~g.golden_id.in_(select(T.dirty.c.golden_id).where(
                                                              T.dirty.c.entity == entity)))))
            continue
        conn.execute(update(T.golden).where(g.entity == entity, g.golden_id == gid)
                     .values(data={}, data_hash=stable_hash({}), lineage={}, updated_at=now))
        for s in srcs:
            if s.status in MAPPED_STATES:
                conn.execute(update(T.raw_record).where(r.system == s.system, r.entity == entity,
                                                        r.source_id == s.source_id)
                             .values(status="pending", golden_id=None))


# ---- the review queue: 'review' decisions nobody has confirmed or rejected yet ----------------------
RESOLVED = ("manual_link", "manual_unlink")


def open_reviews(conn: Connection, *, entity: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Pairs between the review and auto-link thresholds that wait for a person (oldest first)."""
    from sqlalchemy import exists
    from sqlalchemy.orm import aliased

    md = T.match_decision
    later = aliased(md)
    stmt = select(md).where(md.c.decision == "review", ~exists().where(
        later.c.entity == md.c.entity, later.c.system == md.c.system, later.c.source_id == md.c.source_id,
        later.c.decision.in_(RESOLVED), later.c.id > md.c.id)).order_by(md.c.id).limit(limit)
    if entity:
        stmt = stmt.where(md.c.entity == entity)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def decide_review(conn: Connection, decision_id: int, *, confirm: bool, now: dt.datetime, by: str = "cli",
                  project: Any = None) -> dict[str, Any]:
    """Confirm (link the record into the candidate) or reject (keep them apart, for good) a review pair."""
    md = T.match_decision.c
    row = conn.execute(select(T.match_decision).where(md.id == decision_id)).first()
    if row is None:
        raise MatchActionError(f"match decision {decision_id} does not exist")
    if row.decision != "review":
        raise MatchActionError(f"match decision {decision_id} is {row.decision!r}, not a pair waiting for review")
    later = conn.execute(select(md.decision).where(md.entity == row.entity, md.system == row.system,
                                                   md.source_id == row.source_id, md.id > row.id,
                                                   md.decision.in_(RESOLVED))).first()
    if later is not None:
        raise MatchActionError(f"review {decision_id} was already decided ({later.decision})")
    fn = link if confirm else unlink
    return fn(conn, entity=row.entity, system=row.system, source_id=row.source_id, golden_id=row.golden_id,
              now=now, by=by, project=project, review_decision_id=row.id)
