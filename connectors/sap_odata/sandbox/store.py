"""The sandbox's data: one thread-safe table per entity set, typed Python values, change stamps, ETags."""
from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from concord.connectors.sap_odata.edmx import EntitySet, EntityType, Property, ServiceModel
from concord.connectors.sap_odata.wire import UTC, WireError, from_wire

Key = tuple[Any, ...]


class StoreError(Exception):
    """A business/validation error the sandbox answers in the Gateway error shape."""

    def __init__(self, status: int, code: str, message: str, target: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target


class Clock:
    """Monotonic change stamps: never earlier than the newest seeded stamp, one step per write."""

    def __init__(self) -> None:
        self._last = dt.datetime(2000, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def seen(self, when: dt.datetime | None) -> None:
        if when is not None:
            with self._lock:
                self._last = max(self._last, when)

    def next(self) -> dt.datetime:
        with self._lock:
            now = dt.datetime.now(UTC).replace(microsecond=0)
            self._last = max(now, self._last + dt.timedelta(seconds=1))
            return self._last


class ServiceStore:
    """All entity sets of one OData service."""

    def __init__(self, name: str, model: ServiceModel, metadata: bytes, clock: Clock | None = None) -> None:
        self.name, self.model, self.metadata = name, model, metadata
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.tables: dict[str, OrderedDict[Key, dict[str, Any]]] = {s: OrderedDict() for s in model.entity_sets}
        self.version = 0
        self.truth: dict[tuple[str, Key], int] = {}     # (set, key) -> world index (never in payloads)
        #: material -> list price (the sandbox's stand-in for pricing condition records)
        self.prices: dict[str, Decimal] = {}
        #: the other services of the same system by name (set by the sandbox), so that a sales order checks its
        #: sold-to party and materials as S/4 does; empty when a service is served alone
        self.peers: dict[str, "ServiceStore"] = {}
        self._counters: dict[str, int] = {}
        #: composite-key sets: first key value -> keys (navigation from the parent without a scan)
        self.by_first: dict[str, dict[Any, dict[Key, None]]] = {
            s: {} for s in model.entity_sets if len(model.type_of(s).keys) > 1}

    # ---- metadata helpers ------------------------------------------------------------------
    def entity_set(self, name: str) -> EntitySet:
        try:
            return self.model.entity_sets[name]
        except KeyError:
            raise StoreError(404, "/IWBEP/CM_MGW_RT/021", f"Resource not found for segment '{name}'") from None

    def etype(self, set_name: str) -> EntityType:
        return self.model.type_of(set_name)

    def key_of(self, set_name: str, row: dict[str, Any]) -> Key:
        return tuple(row.get(k) for k in self.etype(set_name).keys)

    # ---- value normalisation ---------------------------------------------------------------
    def coerce(self, prop: Property, value: Any, *, wire: bool) -> Any:
        if value is None:
            return None
        if wire:
            try:
                value = from_wire(prop.type, value)
            except WireError as exc:
                raise StoreError(400, "/IWBEP/CM_MGW_RT/004", f"Property '{prop.name}' has an invalid value: {exc}",
                                 prop.name) from None
        if prop.type == "Edm.String" and prop.max_length and len(value) > prop.max_length:
            raise StoreError(400, "/IWBEP/CM_MGW_RT/003",
                             f"Value '{value[:60]}' of property '{prop.name}' exceeds the maximum length {prop.max_length}",
                             prop.name)
        if prop.type == "Edm.Decimal" and isinstance(value, Decimal) and prop.scale is not None:
            value = value.quantize(Decimal(1).scaleb(-prop.scale))
        if prop.type == "Edm.DateTime" and prop.is_date_only and isinstance(value, dt.datetime):
            value = value.replace(hour=0, minute=0, second=0, microsecond=0)
        return value

    # ---- ETags -----------------------------------------------------------------------------
    def etag(self, set_name: str, row: dict[str, Any]) -> str | None:
        et = self.etype(set_name)
        cp = et.concurrency_property
        if cp is not None:
            v = row.get(cp.name)
            if isinstance(v, dt.datetime):
                text = v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
                return "W/\"datetimeoffset'" + text.replace(":", "%3A") + "'\""
            return f"W/\"'{v}'\""
        if "ETag" in et.properties and row.get("ETag"):
            return f"W/\"'{row['ETag']}'\""
        return None

    def has_etag(self, set_name: str) -> bool:
        et = self.etype(set_name)
        return et.concurrency_property is not None or "ETag" in et.properties

    # ---- change stamps ---------------------------------------------------------------------
    def stamp(self, set_name: str, row: dict[str, Any], when: dt.datetime | None = None, *, created: bool = False,
              user: str = "CONCORD") -> None:
        when = when or self.clock.next()
        self.clock.seen(when)
        props = self.etype(set_name).properties
        day = when.replace(hour=0, minute=0, second=0, microsecond=0)
        tod = when - day
        tod = dt.timedelta(seconds=int(tod.total_seconds()))
        fields: dict[str, Any] = {"LastChangeDate": day, "LastChangeTime": tod, "LastChangeDateTime": when,
                                  "LastChangedByUser": user, "ETag": f"{user} {when.strftime('%Y%m%d%H%M%S')}"}
        if created:
            fields.update({"CreationDate": day, "CreationTime": tod, "CreatedByUser": user})
        for name, value in fields.items():
            if name in props:
                row[name] = value

    # ---- keys ------------------------------------------------------------------------------
    def next_number(self, set_name: str, prop: Property, start: int = 1, step: int = 1) -> str:
        with self.lock:
            table = self.tables[set_name]
            n = self._counters.get(f"{set_name}.{prop.name}")
            if n is None:
                n = start
                for k in table:
                    v = k[list(self.etype(set_name).keys).index(prop.name)]
                    if isinstance(v, str) and v.isdigit():
                        n = max(n, int(v) + step)
            self._counters[f"{set_name}.{prop.name}"] = n + step
            width = min(prop.max_length or 10, 10)
            return str(n).zfill(width) if prop.display_format == "NonNegative" and width <= 6 else str(n)

    # ---- CRUD (callers hold ``lock`` for multi-step work) -------------------------------------
    def get(self, set_name: str, key: Key) -> dict[str, Any] | None:
        return self.tables[set_name].get(key)

    def put(self, set_name: str, row: dict[str, Any], *, world_index: int | None = None) -> Key:
        key = self.key_of(set_name, row)
        with self.lock:
            self.tables[set_name][key] = row
            self.version += 1
            if set_name in self.by_first:
                self.by_first[set_name].setdefault(key[0], {})[key] = None
            if world_index is not None:
                self.truth[(set_name, key)] = world_index
        for p in ("LastChangeDateTime",):
            v = row.get(p)
            if isinstance(v, dt.datetime):
                self.clock.seen(v)
        if isinstance(row.get("LastChangeDate"), dt.datetime) and isinstance(row.get("LastChangeTime"), dt.timedelta):
            self.clock.seen(row["LastChangeDate"] + row["LastChangeTime"])
        return key

    def delete(self, set_name: str, key: Key) -> dict[str, Any] | None:
        with self.lock:
            self.version += 1
            if set_name in self.by_first:
                self.by_first[set_name].get(key[0], {}).pop(key, None)
            return self.tables[set_name].pop(key, None)

    def count(self, set_name: str) -> int:
        return len(self.tables[set_name])

    def touch(self, set_name: str, key: Key, when: dt.datetime | None = None, **changes: Any) -> dict[str, Any]:
        """Test helper: change a row as an SAP user would (bumps its change stamp)."""
        with self.lock:
            row = self.tables[set_name][key]
            row.update(changes)
            self.stamp(set_name, row, when, user="SAPUSER")
            self.version += 1
            return row

    # ---- navigation --------------------------------------------------------------------------
    def children(self, set_name: str, row: dict[str, Any], nav_name: str) -> tuple[str, list[dict[str, Any]]] | None:
        """The rows a navigation property leads to (by shared key names), and their set."""
        et = self.etype(set_name)
        nav = et.navs.get(nav_name)
        if nav is None:
            return None
        target_set = self.model.set_for_type(nav.target)
        if target_set is None:
            return None
        tt = self.model.entity_types[nav.target]
        table = self.tables[target_set.name]
        shared = [k for k in et.keys if k in tt.properties]
        if shared and not (len(tt.keys) == 1 and tt.keys[0] not in shared and tt.keys[0] in et.properties):
            want = tuple(row.get(k) for k in shared)
            if tt.keys[:len(shared)] == tuple(shared) and target_set.name in self.by_first:
                keys = self.by_first[target_set.name].get(want[0], {})
                rows = [table[k] for k in keys if k[:len(shared)] == want and k in table]
            else:
                rows = [r for r in table.values() if tuple(r.get(k) for k in shared) == want]
            return target_set.name, rows
        if len(tt.keys) == 1 and tt.keys[0] in et.properties:
            hit = table.get((row.get(tt.keys[0]),))
            return target_set.name, [hit] if hit else []
        return target_set.name, []


def new_guid() -> str:
    return str(uuid.uuid4())
