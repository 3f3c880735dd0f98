"""The operator's actions. Each runs in one warehouse transaction and goes through the hub's own functions
where they exist (quarantine retry/discard, dead-letter retry/discard).

- Resolving a conflict goes through ``hub.engine.conflicts.resolve``: ``status='resolved'`` and
  ``resolution={"value", "side", "by"}``; the next cycle applies it to the golden record and pushes it.
- Confirming or rejecting a review pair calls ``hub.matching.decide_review`` (manual link / unlink, which
  moves the cross-reference and rebuilds the golden records) when the matching package provides it;
  otherwise it records a ``manual_link`` / ``manual_unlink`` decision with its evidence.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from concord.hub.engine import conflicts
from concord.hub.warehouse.stores import conflicts as conflict_store
from concord.hub.warehouse.stores import deadletters, decisions, quarantine
from concord.hub.warehouse.stores.decisions import Decision, DecisionKind
from concord.hub.errors import ConfigError
from concord.hub.warehouse import Warehouse

SIDES = ("left", "right", "base")


class ActionError(ConfigError):
    """An action that cannot be done as asked (unknown id, already handled, bad input)."""


def resolve_conflict(wh: Warehouse, conflict_id: int, *, side: str | None, value: Any, by: str,
                     now: dt.datetime) -> dict[str, Any]:
    """Record a person's resolution through ``hub.engine.conflicts.resolve``; the next cycle applies it to the
    golden record (status ``applied``) and plans the writes."""
    if side is not None and side not in SIDES:
        raise ActionError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
    with wh.tx() as conn:
        row = conflict_store.get(conn, conflict_id)
        if row is None:
            raise ActionError(f"conflict {conflict_id} does not exist")
        if row.status != "open":
            raise ActionError(f"conflict {conflict_id} is already {row.status}")
        if side == "base":                      # the engine knows left/right; the base is passed as a value
            side, value = None, row.base
        try:
            return conflicts.resolve(conn, conflict_id, value=value, side=side, by=by, now=now)
        except ValueError as exc:               # resolved by someone else meanwhile
            raise ActionError(str(exc)) from None


def retry_quarantine(wh: Warehouse, ids: list[int], now: dt.datetime) -> int:
    with wh.tx() as conn:
        return quarantine.retry(conn, ids, now) if ids else 0


def discard_quarantine(wh: Warehouse, ids: list[int], now: dt.datetime) -> int:
    with wh.tx() as conn:
        return quarantine.discard(conn, ids, now) if ids else 0


def retry_dead(wh: Warehouse, ids: list[int], now: dt.datetime) -> int:
    with wh.tx() as conn:
        return deadletters.retry_dead(conn, ids, now) if ids else 0


def discard_dead(wh: Warehouse, ids: list[int], now: dt.datetime) -> int:
    with wh.tx() as conn:
        return deadletters.discard_dead(conn, ids, now) if ids else 0


def decide_review(wh: Warehouse, decision_id: int, *, confirm: bool, by: str, now: dt.datetime,
                  project: Any = None) -> str:
    """Confirm (link) or reject (unlink) a review pair. Returns the decision recorded."""
    with wh.tx() as conn:
        row = decisions.get(conn, decision_id)
        if row is None:
            raise ActionError(f"match decision {decision_id} does not exist")
        if row.decision != DecisionKind.REVIEW:
            raise ActionError(f"match decision {decision_id} is {row.decision.value!r}, "
                              f"not a pair waiting for review")
        later = decisions.settled_by(conn, row)
        if later is not None:
            raise ActionError(f"pair {decision_id} was already decided ({later.value})")
        decision = DecisionKind.MANUAL_LINK if confirm else DecisionKind.MANUAL_UNLINK
        hub_fn = _matching_fn("decide_review")
        if hub_fn is not None:     # hub.matching moves the cross-reference and rebuilds the golden records
            res = hub_fn(conn, decision_id, confirm=confirm, now=now, by=by, project=project)
            return str(res.get("decision") or decision.value)
        _record_decision(conn, row, decision, by, now)
        return decision.value


def _matching_fn(name: str) -> Any:
    from concord.hub import matching

    fn = getattr(matching, name, None)
    return fn if callable(fn) else None


def _record_decision(conn: Connection, row: Decision, decision: DecisionKind, by: str, now: dt.datetime) -> None:
    evidence = {"review_decision_id": row.id, "by": by, "score": row.score, "rule": row.rule,
                "evidence": row.evidence}
    decisions.add(conn, entity=row.entity, system=row.system, source_id=row.source_id, golden_id=row.golden_id,
                  decision=decision, rule="dashboard", evidence=evidence, now=now, score=row.score)
