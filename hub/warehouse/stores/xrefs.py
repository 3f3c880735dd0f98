"""The cross-reference store: which record of which system is which golden record."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from concord.hub.warehouse import chunks
from concord.hub.warehouse import tables as T


def linked_golden_ids(conn: Connection, entity: str, system: str, golden_ids: Sequence[str]) -> dict[str, str]:
    """golden id -> the system's live record id, for those of ``golden_ids`` linked to ``system``."""
    x = T.xref.c
    out: dict[str, str] = {}
    for chunk in chunks(sorted(set(golden_ids))):
        for r in conn.execute(select(x.golden_id, x.source_id).where(
                x.entity == entity, x.system == system, x.golden_id.in_(chunk), x.state != "deleted")):
            out.setdefault(r.golden_id, r.source_id)
    return out
