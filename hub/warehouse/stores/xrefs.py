"""The cross-reference store: which record of which system is which golden record."""
from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import Connection, func, select

from concord.hub.warehouse import chunks
from concord.hub.warehouse import tables as T


class XrefState(StrEnum):
    LINKED = "linked"      # linked by the rules
    MANUAL = "manual"      # linked by a person (hub/matching/manual.py)
    DELETED = "deleted"    # the source record was deleted


def linked_golden_ids(conn: Connection, entity: str, system: str, golden_ids: Sequence[str]) -> dict[str, str]:
    """golden id -> the system's live record id, for those of ``golden_ids`` linked to ``system``."""
    x = T.xref.c
    out: dict[str, str] = {}
    for chunk in chunks(sorted(set(golden_ids))):
        for r in conn.execute(select(x.golden_id, x.source_id).where(
                x.entity == entity, x.system == system, x.golden_id.in_(chunk), x.state != XrefState.DELETED)):
            out.setdefault(r.golden_id, r.source_id)
    return out


def links(conn: Connection, entity: str, system: str | None = None) -> dict[str, dict[str, str]]:
    """system -> source id -> golden id of the entity's records linked by the rules (one system, when named)."""
    x = T.xref.c
    q = select(x.system, x.source_id, x.golden_id).where(x.entity == entity, x.state == XrefState.LINKED)
    if system is not None:
        q = q.where(x.system == system)
    out: dict[str, dict[str, str]] = {}
    for r in conn.execute(q.order_by(x.system, x.source_id)):
        out.setdefault(r.system, {})[r.source_id] = r.golden_id
    return out


def count_linked(conn: Connection) -> tuple[int, int]:
    """(records linked by the rules, golden records linked in two systems or more)."""
    x = T.xref.c
    linked = conn.execute(select(func.count()).select_from(T.xref).where(x.state == XrefState.LINKED)).scalar() or 0
    multi = select(x.golden_id).where(x.state == XrefState.LINKED).group_by(x.entity, x.golden_id).having(
        func.count(func.distinct(x.system)) >= 2).subquery()
    return int(linked), int(conn.execute(select(func.count()).select_from(multi)).scalar() or 0)
