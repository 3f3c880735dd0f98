"""The connector contract: four verbs and the small frozen types they exchange.

A connector is any class with these attributes and methods (a Protocol, no
framework base class). It is found through the ``concord.connectors`` entry
point group (see :mod:`concord.hub.registry`) and constructed as
``Connector(config, context)``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from concord.hub.errors import HubError

Capability = Literal["read", "incremental", "create", "update", "upsert", "delete", "bulk"]
FieldType = Literal["string", "text", "integer", "decimal", "boolean", "date", "datetime", "time",
                    "picklist", "reference", "id", "email", "phone", "url", "object", "array", "binary", "other"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldSpec(Frozen):
    """One field of a source entity, as the system's own metadata describes it."""

    name: str
    type: FieldType = "string"
    nullable: bool = True
    createable: bool = True
    updateable: bool = True
    filterable: bool = True
    picklist: tuple[str, ...] | None = None
    max_length: int | None = None
    label: str | None = None
    #: for object/array fields: the nested fields (e.g. order items)
    children: tuple["FieldSpec", ...] | None = None


class CursorSpec(Frozen):
    """How a stream is read incrementally."""

    field: str                       # e.g. SystemModstamp, LastChangeDateTime, mtime
    tiebreak: str | None = None      # primary key used to order equal cursor values
    kind: Literal["datetime", "date", "integer", "string", "opaque"] = "datetime"
    lookback_seconds: float = 0.0    # re-read window for rows that commit late


class EntitySpec(Frozen):
    """A readable/writable collection of a system (SAP entity set, SF sObject, CSV file...)."""

    name: str
    primary_key: tuple[str, ...]
    cursor: CursorSpec | None = None
    capabilities: frozenset[Capability] = frozenset({"read"})
    external_id_field: str | None = None
    #: the largest batch one write call accepts (sObject Collections: 200, Zoho: 100)
    max_batch: int = 200
    fields: tuple[FieldSpec, ...] | None = None
    label: str | None = None
    #: the field holding the record's last change time at the source, when it is not the cursor field
    updated_field: str | None = None

    @property
    def change_time_field(self) -> str | None:
        return self.updated_field or (self.cursor.field if self.cursor else None)

    def field(self, name: str) -> FieldSpec | None:
        for f in self.fields or ():
            if f.name == name:
                return f
        return None


class Cursor(Frozen):
    """A resumable position: inclusive ``value`` plus the tie-break ``key`` of the last row taken."""

    value: str
    key: str | None = None


class Page(Frozen):
    """A page of raw records. Every page is safe to commit together with its checkpoint.

    ``checkpoint`` None means "do not move the cursor" (e.g. the middle of a
    snapshot whose cursor is only valid at its end). ``deleted`` names source
    ids the system reports as deleted. ``snapshot_complete`` on the last page of
    a full read lets the engine reconcile keys: rows not seen are deleted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    entity: str
    records: Sequence[Mapping[str, Any]] = ()
    checkpoint: Cursor | None = None
    deleted: tuple[str, ...] = ()
    snapshot_complete: bool = False


ChangeOp = Literal["create", "update", "upsert", "delete"]


class Change(Frozen):
    """One write to one record of a target system, in the target's own field names."""

    op: ChangeOp
    entity: str                       # the target system's entity name
    key: str | None = None            # target source id (None for a create)
    fields: Mapping[str, Any] = Field(default_factory=dict)
    idempotency_key: str              # stable across retries of the same intended write
    golden_id: str | None = None      # Concord's id (the external id value for upserts)
    etag: str | None = None           # concurrency token from the last read, where the API has one


class WriteResult(Frozen):
    """The outcome of one change."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    change: Change
    ok: bool
    target_id: str | None = None
    error: HubError | None = None
    created: bool | None = None


class ConnectorContext(Frozen):
    """What the hub hands a connector when it builds one."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    system: str                        # the system's name in concord.yaml ("erp", "crm")
    base_dir: str = "."                # folder of concord.yaml; relative paths resolve here
    http: Any = None                   # hub.http.HttpToolkit (session factory, ledger, limiter)
    now: Any = None                    # callable returning an aware datetime (tests pin the clock)
    dry_run: bool = False              # the run writes nothing anywhere (``concord plan``): no cache or side file

    def utcnow(self) -> dt.datetime:
        return self.now() if self.now else dt.datetime.now(dt.timezone.utc)


@runtime_checkable
class Connector(Protocol):
    """Four verbs; no framework base class required."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    def entities(self) -> Sequence[EntitySpec]: ...

    def check(self) -> None: ...

    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]: ...

    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]: ...


def entity_by_name(connector: Connector, name: str) -> EntitySpec:
    """Find an entity of a connector or raise a ConfigError that lists the known ones."""
    from concord.hub.errors import ConfigError

    specs = list(connector.entities())
    for spec in specs:
        if spec.name == name:
            return spec
    raise ConfigError(f"system {getattr(connector, 'name', '?')} has no entity {name!r}; "
                      f"known: {', '.join(sorted(s.name for s in specs))}")


def source_id_of(spec: EntitySpec, record: Mapping[str, Any]) -> str:
    """The source id of a raw record: its primary key values joined with '|'."""
    parts = []
    for k in spec.primary_key:
        v = record.get(k)
        if v is None or v == "":
            from concord.hub.errors import RecordError
            raise RecordError(f"record has no value for primary key field {k!r}", field=k)
        parts.append(str(v))
    return "|".join(parts)
