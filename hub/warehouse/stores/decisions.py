"""The match decision log (``match_decision``): every link, new, ambiguous and review decision of the rules,
and every manual link or unlink, with its evidence; and the review queue read from it.

A ``review`` decision (a pair between the review and auto-link thresholds) waits for a person until a later
``manual_link`` or ``manual_unlink`` of the same source record decides it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, exists, func, select
from sqlalchemy.orm import aliased

from concord.hub.warehouse import bulk
from concord.hub.warehouse import tables as T


class DecisionKind(StrEnum):
    LINK = "link"                     # linked by a rule
    NEW = "new"                       # no candidate: a new golden record
    AMBIGUOUS = "ambiguous"           # several candidates: a new golden record, kept apart
    REVIEW = "review"                 # a pair between the thresholds, waiting for a person
    MANUAL_LINK = "manual_link"       # a person linked the record (hub/matching/manual.py)
    MANUAL_UNLINK = "manual_unlink"   # a person split the record out, or kept a pair apart


#: a person's decisions: the ones that settle a review pair
BY_PERSON = (DecisionKind.MANUAL_LINK, DecisionKind.MANUAL_UNLINK)


@dataclass(frozen=True)
class Decision:
    id: int
    run_id: int | None
    entity: str
    system: str
    source_id: str
    golden_id: str | None
    decision: DecisionKind
    rule: str | None
    score: float | None
    evidence: Any
    decided_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _decision(row: Any) -> Decision:
    return Decision(row.id, row.run_id, row.entity, row.system, row.source_id, row.golden_id,
                    DecisionKind(row.decision), row.rule, row.score, row.evidence, row.decided_at)


def add(conn: Connection, *, entity: str, system: str, source_id: str, golden_id: str | None,
        decision: DecisionKind, rule: str, evidence: dict[str, Any], now: dt.datetime, score: float | None = None,
        run_id: int | None = None) -> None:
    """Record one decision (a person's, or a rule's outside a run)."""
    conn.execute(T.match_decision.insert().values(
        run_id=run_id, entity=entity, system=system, source_id=source_id, golden_id=golden_id,
        decision=decision.value, rule=rule, score=score, evidence=evidence, decided_at=now))


def get(conn: Connection, decision_id: int) -> Decision | None:
    row = conn.execute(select(T.match_decision).where(T.match_decision.c.id == decision_id)).first()
    return _decision(row) if row is not None else None


def settled_by(conn: Connection, review: Decision) -> DecisionKind | None:
    """The person's decision that settled a review pair since, if any."""
    md = T.match_decision.c
    got = conn.execute(select(md.decision).where(md.entity == review.entity, md.system == review.system,
                                                 md.source_id == review.source_id, md.id > review.id,
                                                 md.decision.in_([d.value for d in BY_PERSON]))).first()
    return DecisionKind(got.decision) if got is not None else None


def open_reviews_listing(*, entity: str | None = None) -> Select[Any]:
    """The statement listing review pairs nobody has confirmed or rejected yet, oldest first (the dashboard
    pages through it)."""
    md = T.match_decision
    later = aliased(md)
    stmt = select(md).where(md.c.decision == DecisionKind.REVIEW.value, ~exists().where(
        later.c.entity == md.c.entity, later.c.system == md.c.system, later.c.source_id == md.c.source_id,
        later.c.decision.in_([d.value for d in BY_PERSON]), later.c.id > md.c.id)).order_by(md.c.id)
    if entity:
        stmt = stmt.where(md.c.entity == entity)
    return stmt


def open_reviews(conn: Connection, *, entity: str | None = None, limit: int = 100) -> list[Decision]:
    """Review pairs that wait for a person, oldest first."""
    return [_decision(r) for r in conn.execute(open_reviews_listing(entity=entity).limit(limit))]


def count_open_reviews(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(open_reviews_listing().subquery())).scalar() or 0)


def of_golden(conn: Connection, entity: str, golden_id: str, *, limit: int) -> list[Decision]:
    """The decisions that put records into (or kept them out of) a golden record, newest first."""
    md = T.match_decision.c
    return [_decision(r) for r in conn.execute(select(T.match_decision).where(
        md.entity == entity, md.golden_id == golden_id).order_by(md.id.desc()).limit(limit))]


def add_batch(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Record a batch's decisions (the processing step: one set-based insert). Each row holds ``run_id,
    entity, system, source_id, golden_id, decision, rule, score, evidence, decided_at``."""
    bulk.insert(conn, T.match_decision, [dict(r) for r in rows] if rows and not isinstance(rows[0], dict) else rows)
