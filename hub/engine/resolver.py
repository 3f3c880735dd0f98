"""Cross-reference lookups for mappings (``lookup:`` and ``write_ref:`` rules), bound to one system."""
from __future__ import annotations

from sqlalchemy import Connection, select

from concord.hub.warehouse import tables as T
from concord.hub.warehouse.stores import xrefs


class XrefResolver:
    """``resolve_in``: this system's record id -> golden id; ``resolve_out``: golden id -> this system's id;
    ``resolve_key_out``: a business key (a product's sku) -> the golden record that holds it -> this system's id;
    ``resolve_key_in``: a business key (an invoice's customer number) -> the golden record that holds it.

    Answers are cached for the life of the object (one batch); misses are remembered so the
    caller can tell a reference that is not yet written from one that is empty.
    """

    def __init__(self, conn: Connection, system: str) -> None:
        self.conn, self.system = conn, system
        self._in: dict[tuple[str, str], str | None] = {}
        self._out: dict[tuple[str, str], str | None] = {}
        self.misses: list[tuple[str, str]] = []
        self._key_miss: dict[tuple[str, str], str] = {}

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        key = (entity, str(source_id))
        if key not in self._in:
            self._in[key] = xrefs.golden_of(self.conn, entity, self.system, key[1])
        if self._in[key] is None:
            self.misses.append(key)
        return self._in[key]

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        key = (entity, str(golden_id))
        if key not in self._out:
            self._out[key] = xrefs.source_of(self.conn, entity, self.system, key[1])
        if self._out[key] is None:
            self.misses.append(key)
        return self._out[key]

    def resolve_key_out(self, entity: str, field: str, value: str) -> str | None:
        """The id in this system of the golden record of ``entity`` whose ``field`` is ``value``.

        Read from the entity's typed table (the golden records' current values). A key held by no golden
        record is a miss ``(entity, "<field>=<value>")``; one whose golden record has no id here yet is a miss
        ``(entity, golden_id)``, so that the write waits for it (or is reported as blocked: engine/parents.py).
        Several golden records with the key: one that is linked to this system wins, the oldest id first."""
        key = (f"{entity}.{field}", str(value))
        if key not in self._out:
            table = T.CANONICAL.get(entity)
            col = table.c.get(field) if table is not None else None
            found: str | None = None
            miss: str | None = f"{field}={value}"
            if col is not None:
                gids = [g for (g,) in self.conn.execute(select(table.c.golden_id).where(col == key[1])
                                                        .order_by(table.c.golden_id))]
                if gids:
                    found = xrefs.first_source_among(self.conn, entity, self.system, gids)
                    miss = gids[0]
            self._out[key] = found
            self._key_miss[key] = miss
        if self._out[key] is None:
            self.misses.append((entity, self._key_miss[key]))
        return self._out[key]

    def resolve_key_in(self, entity: str, field: str, value: str) -> str | None:
        """The golden id of the record of ``entity`` whose ``field`` is ``value`` (``lookup`` with ``by``).

        Several golden records with the key: one linked to this system wins, then the smallest id."""
        key = (f"{entity}.{field}", str(value))
        if key not in self._in:
            table = T.CANONICAL.get(entity)
            col = table.c.get(field) if table is not None else None
            gids = [] if col is None else [g for (g,) in self.conn.execute(
                select(table.c.golden_id).where(col == key[1]).order_by(table.c.golden_id))]
            if len(gids) > 1:
                linked = xrefs.first_linked_among(self.conn, entity, self.system, gids)
                gids = [linked] if linked else gids
            self._in[key] = gids[0] if gids else None
        if self._in[key] is None:
            self.misses.append((entity, f"{field}={value}"))
        return self._in[key]
