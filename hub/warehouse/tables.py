"""The warehouse schema: machinery tables and typed canonical tables generated from ``schemas``.

Machinery (what the engine runs on):
  raw_record      staged source records (payload, hash, mapped canonical, status)
  cursor          per stream position, committed with the page it covers
  golden          golden records as flat canonical JSON (the engine's truth) + version + field lineage
  xref            (entity, system, source_id) -> golden_id
  match_hash      exact and blocking keys of golden records, as 64-bit hashes (one primary-key index)
  match_hash_pending  keys of an initial load not yet moved into match_hash (a row per golden record, no index)
  match_keyset    per golden record, the key hashes it is indexed under (to rewrite only changed keys)
  match_decision  every link / new / ambiguous / manual decision with its evidence
  dirty           golden records to re-plan
  outbox          planned writes, their idempotency keys, attempts and results (dead letters)
  conflict        held conflicts (base, left, right)
  quarantine      records that could not be processed, with the reason and raw payload
  run, run_stream the run ledger the CLI and dashboard read

Canonical (for analysts, plain SQL): one typed table per entity (``account``, ``contact``, ...,
``sales_order_line``), kept in step with ``golden`` in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKeyConstraint, Index,
                        Integer, LargeBinary, MetaData, Numeric, String, Table, Text)
from sqlalchemy.dialects.postgresql import JSONB

from concord import schemas
from concord.schemas.base import CanonicalModel

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")
TS = DateTime(timezone=True)
ID = String(200)

raw_record = Table(
    "raw_record", metadata,
    Column("system", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),          # canonical entity of the stream
    Column("source_id", ID, primary_key=True),
    Column("source_entity", String(128), nullable=False),
    Column("payload", Json, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("source_updated_at", String(40)),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False),             # pending | mapped | quarantined
    Column("canonical", Json),                                 # last mapped flat canonical
    Column("golden_id", String(64)),
    Column("seen_run", Integer),
    Column("landed_at", TS, nullable=False),
    Column("mapped_at", TS),
    Index("ix_raw_record_pending", "system", "entity", "status", "source_id"),   # pending, in source-id order
)

cursor = Table(
    "cursor", metadata,
    Column("system", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("key", Text),
    Column("run_id", Integer),
    Column("updated_at", TS, nullable=False),
)

golden = Table(
    "golden", metadata,
    Column("entity", String(64), primary_key=True),
    Column("golden_id", String(64), primary_key=True),
    Column("data", Json, nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("title", Text),
    Column("lineage", Json),        # {"@": [[system, source_id, updated, changed, field...], ...]}: by origin (stores/golden.py)
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_golden_title", "entity", "title"),
)

xref = Table(
    "xref", metadata,
    Column("entity", String(64), primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("source_id", ID, primary_key=True),
    Column("golden_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),               # linked | manual | deleted
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_xref_golden", "entity", "golden_id", "system"),
)

# match keys as 64-bit hashes (stores/match_keys.py): the primary key is the only index
match_hash = Table(
    "match_hash", metadata,
    Column("entity", String(64), primary_key=True),
    Column("key_hash", BigInteger, primary_key=True, autoincrement=False),
    Column("golden_id", String(64), primary_key=True),
    sqlite_with_rowid=False,
)

# keys of golden records made on an initial load's fresh path, appended (no index) and moved into
# match_hash in key order once the load's batches are done, or before any lookup (stores/match_keys.py)
match_hash_pending = Table(
    "match_hash_pending", metadata,
    Column("entity", String(64), nullable=False),
    Column("golden_id", String(64), nullable=False),
    Column("hashes", Text, nullable=False),          # the golden record's key hashes, a JSON array of integers
)

match_keyset = Table(
    "match_keyset", metadata,
    Column("entity", String(64), primary_key=True),
    Column("golden_id", String(64), primary_key=True),
    Column("hashes", LargeBinary, nullable=False),          # sorted 8-byte hashes the record is indexed under
)

match_decision = Table(
    "match_decision", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("entity", String(64), nullable=False),
    Column("system", String(64), nullable=False),
    Column("source_id", ID, nullable=False),
    Column("golden_id", String(64)),
    Column("decision", String(16), nullable=False),            # link | new | ambiguous | manual_link | manual_unlink | review
    Column("rule", String(128)),
    Column("score", Float),
    Column("evidence", Json),
    Column("decided_at", TS, nullable=False),
    Index("ix_match_decision_record", "entity", "system", "source_id"),
    Index("ix_match_decision_golden", "entity", "golden_id"),
)

dirty = Table(
    "dirty", metadata,
    Column("entity", String(64), primary_key=True),
    Column("golden_id", String(64), primary_key=True),
    Column("since", TS, nullable=False),
)

target_state = Table(
    "target_state", metadata,
    Column("entity", String(64), primary_key=True),
    Column("golden_id", String(64), primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("data", Json, nullable=False),                       # flat canonical values last written / agreed
    Column("data_hash", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("entity", String(64), nullable=False),
    Column("system", String(64), nullable=False),
    Column("target_entity", String(128), nullable=False),
    Column("golden_id", String(64), nullable=False),
    Column("op", String(16), nullable=False),
    Column("target_id", ID),
    Column("fields", Json, nullable=False),                     # in the target's field names
    Column("canonical", Json, nullable=False),                  # the flat canonical values being written
    Column("idempotency_key", String(128), nullable=False),
    Column("status", String(16), nullable=False),               # stores.outbox.OutboxStatus
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Json),
    Column("next_attempt_at", TS),
    Column("claimed_by", String(200)),                          # host/pid/start of the worker sending it
    Column("lease_until", TS),                                  # the claim holds until then
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Index("ix_outbox_status", "system", "status"),
    Index("ix_outbox_golden", "entity", "golden_id", "system"),
    Index("ix_outbox_idem", "idempotency_key"),
)

conflict = Table(
    "conflict", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(64), nullable=False),
    Column("golden_id", String(64), nullable=False),
    Column("field", String(128), nullable=False),
    Column("systems", Json, nullable=False),
    Column("base", Json),
    Column("left", Json),
    Column("right", Json),
    Column("status", String(16), nullable=False),               # open | resolved
    Column("resolution", Json),
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
    Index("ix_conflict_open", "status", "entity"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("system", String(64), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("source_id", ID, nullable=False),
    Column("stage", String(16), nullable=False),                # land | map | match | survive
    Column("reason", Text, nullable=False),
    Column("error", Json),
    Column("payload", Json),
    Column("status", String(16), nullable=False),               # open | retried | resolved | discarded
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
    Index("ix_quarantine_open", "status", "system", "entity"),
    Index("ix_quarantine_record", "system", "entity", "source_id"),
)

run = Table(
    "run", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mode", String(16), nullable=False),                 # sync | plan | push | pull | resync
    Column("status", String(16), nullable=False),               # running | success | partial | failed
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("summary", Json),
    Column("error", Text),
    Column("prefect_flow_run_id", String(64)),
    Column("host", String(128)),
)

run_stream = Table(
    "run_stream", metadata,
    Column("run_id", Integer, primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("entity", String(64), primary_key=True),
    Column("direction", String(8), primary_key=True),           # pull | push
    Column("status", String(16), nullable=False),
    Column("records_in", Integer, nullable=False, default=0),
    Column("records_changed", Integer, nullable=False, default=0),
    Column("records_out", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("lag_seconds", Float),
    Column("error", Text),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
)

MACHINERY = [raw_record, cursor, golden, xref, match_hash, match_hash_pending, match_keyset, match_decision, dirty,
             target_state, outbox, conflict, quarantine, run, run_stream]


# ------------------------------------------------------------------------------------------------
# Typed canonical tables, generated from the pydantic models
# ------------------------------------------------------------------------------------------------
def _unwrap(ann: typing.Any) -> typing.Any:
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else ann
    return ann


def _sql_type(ann: typing.Any):  # type: ignore[no-untyped-def]
    ann = _unwrap(ann)
    if typing.get_origin(ann) is typing.Literal:
        return String(64)
    if ann is bool:
        return Boolean()
    if ann is int:
        return BigInteger()
    if ann is Decimal:
        return Numeric(24, 6)
    if ann is dt.datetime:
        return TS
    if ann is dt.date:
        return Date()
    return Text()


def canonical_columns(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, typing.Any]]:
    """(column name, flat canonical path, SQL type) for the scalar fields of a model, nested models flattened."""
    out = []
    for name, f in model.model_fields.items():
        ann = _unwrap(f.annotation)
        if isinstance(ann, type) and issubclass(ann, CanonicalModel):
            out.extend(canonical_columns(ann, prefix + name + "."))
        elif typing.get_origin(ann) in (tuple, list):
            continue  # child tables
        else:
            path = prefix + name
            out.append((path.replace(".", "__"), path, _sql_type(ann)))
    return out


def child_collections(model: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    out = []
    for name, f in model.model_fields.items():
        ann = _unwrap(f.annotation)
        if typing.get_origin(ann) in (tuple, list):
            (item, *_rest) = typing.get_args(ann)
            if isinstance(item, type) and issubclass(item, CanonicalModel):
                out.append((name, item))
    return out


CANONICAL: dict[str, Table] = {}
CANONICAL_CHILDREN: dict[str, list[tuple[str, Table, list[tuple[str, str, typing.Any]]]]] = {}
CANONICAL_COLUMNS: dict[str, list[tuple[str, str, typing.Any]]] = {}

for _entity, _model in schemas.ENTITIES.items():
    _cols = canonical_columns(_model)
    CANONICAL_COLUMNS[_entity] = _cols
    CANONICAL[_entity] = Table(
        _entity, metadata,
        Column("golden_id", String(64), primary_key=True),
        *[Column(c, t) for c, _p, t in _cols],
        Column("_version", Integer, nullable=False),
        Column("_updated_at", TS, nullable=False),
        comment=(_model.__doc__ or "").strip().splitlines()[0] if _model.__doc__ else None,
    )
    for _coll, _item in child_collections(_model):
        _ccols = canonical_columns(_item)
        _child = Table(
            f"{_entity}_{_coll.rstrip('s')}", metadata,
            Column("golden_id", String(64), primary_key=True),
            Column("position", Integer, primary_key=True),
            *[Column(c, t) for c, _p, t in _ccols],
            ForeignKeyConstraint(["golden_id"], [f"{_entity}.golden_id"], ondelete="CASCADE"),
        )
        CANONICAL_CHILDREN.setdefault(_entity, []).append((_coll, _child, _ccols))
