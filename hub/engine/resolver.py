"""Cross-reference lookups for mappings (``lookup:`` rules), bound to one system."""
from __future__ import annotations

from sqlalchemy import Connection, select

from concord.hub.warehouse import tables as T


class XrefResolver:
    """``resolve_in``: this system's record id -> golden id; ``resolve_out``: golden id -> this system's id.

    Answers are cached for the life of the object (one batch); misses are remembered so the
    caller can tell a reference that is not yet written from one that is empty.
    """

    def __init__(self, conn: Connection, system: str) -> None:
        self.conn, self.system = conn, system
        self._in: dict[tuple[str, str], str | None] = {}
        self._out: dict[tuple[str, str], str | None] = {}
        self.misses: list[tuple[str, str]] = []

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        key = (entity, str(source_id))
        if key not in self._in:
            x = T.xref.c
            self._in[key] = self.conn.execute(select(x.golden_id).where(
                x.entity == entity, x.system == self.system, x.source_id == key[1], x.state != "deleted")).scalar()
        if self._in[key] is None:
            self.misses.append(key)
        return self._in[key]

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        key = (entity, str(golden_id))
        if key not in self._out:
            x = T.xref.c
            self._out[key] = self.conn.execute(select(x.source_id).where(
                x.entity == entity, x.system == self.system, x.golden_id == key[1], x.state != "deleted")
                .order_by(x.created_at).limit(1)).scalar()
        if self._out[key] is None:
            self.misses.append(key)
        return self._out[key]
