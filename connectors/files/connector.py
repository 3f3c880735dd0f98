"""The files connector: CSV and JSON Lines drops, the way many ERPs exchange data.

- Read: the file as a snapshot when its modification changed (cursor ``mtime``), or only
  rows whose change column is at or after the cursor (cursor = a column, inclusive, key tie-break).
  A whole snapshot ends with ``snapshot_complete`` so rows that disappeared are detected as deleted;
  once a version has been read whole, the next version yields only its new and changed rows and
  names the rows that disappeared (snapshot.py).
  Lines that cannot be read (not valid in the encoding, invalid JSON, more CSV cells than
  header columns, an unbalanced quote) are yielded whole with ``__error__`` (the engine
  quarantines them) and make the snapshot incomplete: an unreadable row is not a deleted one.
- Write: every batch rewrites the file atomically (temp file, fsync, rename) under a lock.
  Only the rows the batch changes are serialised again; every other line (bad lines, blank
  lines, comments, odd quoting) is copied byte-for-byte. CSV values that a spreadsheet would
  run as a formula are neutralised with a leading single quote (see README.md).
  Creates and upserts find an existing row by the external-id column first, so a retried
  create never adds a second row.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from concord.connectors.files import snapshot
from concord.connectors.files.config import FileEntity, FilesConfig
from concord.connectors.files.fileio import Drop, Entry, Layout, digest, header_of, open_binary, records, token
from concord.connectors.files.writing import header_line, locked, serialise, write_atomically
from concord.hub.contracts import (
    Change,
    ConnectorContext,
    Cursor,
    CursorSpec,
    EntitySpec,
    FieldSpec,
    Page,
    WriteResult,
    entity_by_name,
)
from concord.hub.errors import ConfigError, RecordError


class FilesConnector:
    name: ClassVar[str] = "files"
    Config: ClassVar[type[FilesConfig]] = FilesConfig

    def __init__(self, config: FilesConfig, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.context = context or ConnectorContext(system="files")
        self.writes = 0          # write calls made (each one rewrites a file)

    # ---- metadata ---------------------------------------------------------------------------
    def path(self, ent: FileEntity) -> str:
        return os.path.join(self.config.folder(), ent.file)

    def layout(self, ent: FileEntity) -> Layout:
        return Layout(self.path(ent), ent.kind, ent.delimiter, ent.encoding, ent.comment_prefix, ent.escape_formulas)

    def _entity(self, name: str) -> FileEntity:
        if name not in self.config.entities:
            raise ConfigError(f"files: no entity {name!r}; known: {', '.join(sorted(self.config.entities))}")
        return self.config.entities[name]

    def entities(self) -> Sequence[EntitySpec]:
        out = []
        for name, ent in self.config.entities.items():
            cols = dict(ent.fields or {})
            for c in header_of(self.layout(ent)):
                cols.setdefault(c, "string")
            for c in (*ent.keys, ent.external_id, ent.modified_column,
                      None if ent.cursor == "mtime" else ent.cursor):
                if c:
                    cols.setdefault(c, "string")
            fields = tuple(
                FieldSpec(name=c, type=t, createable=c not in ent.keys and c != ent.modified_column,
                          updateable=c not in ent.keys and c != ent.modified_column, nullable=c not in ent.required,
                          picklist=ent.picklists.get(c))
                for c, t in cols.items())
            caps = {"read", "incremental"} if ent.read_only else {"read", "incremental", "create", "update", "delete"}
            if ent.external_id and not ent.read_only:
                caps.add("upsert")
            out.append(EntitySpec(
                name=name, primary_key=ent.keys, fields=fields, external_id_field=ent.external_id,
                updated_field=ent.modified_column or (None if ent.cursor == "mtime" else ent.cursor),
                capabilities=frozenset(caps), max_batch=self.config.max_batch,
                cursor=CursorSpec(field="mtime" if ent.cursor == "mtime" else ent.cursor,
                                  tiebreak=ent.keys[0], kind="opaque" if ent.cursor == "mtime" else "datetime",
                                  lookback_seconds=ent.lookback_seconds)))
        return out

    def check(self) -> None:
        folder = self.config.folder()
        if not os.path.isdir(folder):
            raise ConfigError(f"files: folder {folder} does not exist")
        for name, ent in self.config.entities.items():
            p = self.path(ent)
            if os.path.exists(p) and not os.access(p, os.R_OK):
                raise ConfigError(f"files: {p} is not readable")
            if not ent.read_only and not os.access(folder, os.W_OK):
                raise ConfigError(f"files: cannot write into {folder}")

    # ---- read -------------------------------------------------------------------------------
    def read(self, entity: str, *, since: Cursor | None = None) -> Iterator[Page]:
        ent = self._entity(entity)
        entity_by_name(self, entity)
        path = self.path(ent)
        if not os.path.exists(path):
            yield Page(entity=entity, records=(), checkpoint=None, snapshot_complete=False)
            return
        if ent.cursor == "mtime":
            yield from self._read_snapshot(entity, ent, path, since)
        else:
            yield from self._read_column(entity, ent, path, since)

    def _read_snapshot(self, entity: str, ent: FileEntity, path: str, since: Cursor | None) -> Iterator[Page]:
        with open_binary(path) as fh:
            version = token(os.fstat(fh.fileno()))
            if since is not None and since.value == version:
                return
            # only the rows that changed since the version the cursor names, when that can be vouched for
            yield from snapshot.read(fh, self.layout(ent), ent.keys, entity=entity, token=version, since=since,
                                     page_size=self.config.page_size, ext=ent.external_id,
                                     keep_index=not self.context.dry_run)

    def _read_column(self, entity: str, ent: FileEntity, path: str, since: Cursor | None) -> Iterator[Page]:
        col, key = ent.cursor, ent.keys[0]
        floor = _minus(since.value, ent.lookback_seconds) if since else None
        picked: list[tuple[str, str, dict[str, Any]]] = []
        bad: list[dict[str, Any]] = []   # unreadable lines have no change time: reported on every read
        with open_binary(path) as fh:
            for _line, row in records(fh, self.layout(ent)):
                if "__error__" in row:
                    bad.append(row)
                    continue
                v = str(row.get(col) or "")
                if floor is not None and v < floor:
                    continue
                picked.append((v, str(row.get(key) or ""), row))
        picked.sort(key=lambda t: (t[0], t[1]))
        for i in range(0, len(bad), self.config.page_size):
            yield Page(entity=entity, records=bad[i:i + self.config.page_size])
        for i in range(0, len(picked), self.config.page_size):
            chunk = picked[i:i + self.config.page_size]
            last_v, last_k, _ = chunk[-1]
            yield Page(entity=entity, records=[r for _v, _k, r in chunk], checkpoint=Cursor(value=last_v, key=last_k))

    def lookup(self, entity: str, golden_id: str) -> str | None:
        """The key of the record carrying Concord's id in the external-id column, if any."""
        ent = self._entity(entity)
        path = self.path(ent)
        if not ent.external_id or not os.path.exists(path):
            return None
        with open_binary(path) as fh:
            for _n, row in records(fh, self.layout(ent)):
                if "__error__" not in row and str(row.get(ent.external_id) or "") == golden_id:
                    return _key(ent, row)
        return None

    # ---- write ------------------------------------------------------------------------------
    def write(self, entity: str, changes: Sequence[Change]) -> Sequence[WriteResult]:
        ent = self._entity(entity)
        if ent.read_only:
            err = ConfigError(f"files: {entity} is read-only")
            return [WriteResult(change=c, ok=False, error=err) for c in changes]
        path = self.path(ent)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with locked(path):
            drop, by_key, by_ext = self._load(ent)
            rows = _first_rows(drop, 201) if ent.kind != "csv" else []
            header = list(drop.header) if ent.kind == "csv" else \
                list(dict.fromkeys(k for r in rows for k in r if not k.startswith("__")))
            allowed = set(header) | set(ent.fields or {}) | {c for c in (ent.external_id, ent.modified_column) if c}
            batch = _Batch(allowed=allowed, now=self.context.utcnow().isoformat(timespec="seconds"),
                           by_key=by_key, by_ext=by_ext)
            for no, cells in drop.salvage((*ent.keys, *((ent.external_id,) if ent.external_id else ()))):
                if all(cells.get(k) for k in ent.keys):
                    batch.bad_keys[_key(ent, cells)] = no
                if ent.external_id and cells.get(ent.external_id):
                    batch.bad_ext[cells[ent.external_id]] = no
            seq = _next_seq(ent, [*batch.by_key, *batch.bad_keys])
            results: list[WriteResult] = []
            for ch in changes:
                try:
                    res = self._apply(ent, ch, batch, seq)
                    results.append(res)
                    seq += 1 if res.created else 0
                except RecordError as exc:
                    results.append(WriteResult(change=ch, ok=False, error=exc))
            if not batch.touched and not batch.deleted and not batch.created:
                return results          # nothing to change: the file is not rewritten
            cols = header
            if ent.kind == "csv":
                cols = list(dict.fromkeys([*header, *(ent.fields or {}), *ent.keys,
                                           *(c for c in (ent.external_id, ent.modified_column) if c)]))
                touched = [e.row for e in drop.entries if e.row is not None and id(e.row) in batch.touched]
                for r in [*touched, *batch.created]:
                    for c in r:
                        if c not in cols and not c.startswith("__"):
                            cols.append(c)
                if drop.header and cols != drop.header:
                    line = drop.has_extra_cells()
                    if line is not None:  # a wider header would turn that line's extra cells into values
                        err = RecordError(f"{ent.file}:{line} has more cells than the header, so the new column(s) "
                                          f"{', '.join(c for c in cols if c not in drop.header)} cannot be added; "
                                          "fix the line first. Nothing was written")
                        return [WriteResult(change=c, ok=False, error=err) for c in changes]
            write_atomically(drop, _output(drop, cols, batch))
            self.writes += 1
        return results

    def _load(self, ent: FileEntity) -> tuple[Drop, _Rows, _Rows]:
        """The drop, its rows by key and by external id. Rows whose bytes the index of this version of the
        file knows (snapshot.py, left by the last read) are loaded unparsed and parsed when a change asks."""
        lay = self.layout(ent)
        index = snapshot.Index(lay, ent.keys, ent.external_id)
        bases: list[snapshot.Base] = []

        def known(version: str) -> snapshot.Base | None:
            base = index.load(version)
            bases.extend([base] if base is not None else [])
            return base

        drop = Drop(lay, known)
        base = bases[0] if bases else None
        head = next((e for e in drop.entries if e.header), None)
        if base is not None and lay.kind == "csv" and (head is None or digest(head.raw) != base.header):
            drop, base = Drop(lay), None      # not the indexed header: every row is parsed
        by_key, by_ext = _Rows(drop), _Rows(drop)
        for e in drop.entries:
            if e.known and base is not None:
                r = base.row_of(digest(e.raw))
                assert r is not None            # known: the skip found it
                by_key.put(base.sid(r), e)
                if base.ext(r):
                    by_ext.put(base.ext(r), e)
            elif e.row is not None:
                by_key.put(_key(ent, e.row), e.row)
                if ent.external_id and e.row.get(ent.external_id):
                    by_ext.put(str(e.row[ent.external_id]), e.row)
        return drop, by_key, by_ext

    def _apply(self, ent: FileEntity, ch: Change, b: _Batch, seq: int) -> WriteResult:
        by_key, by_ext, allowed = b.by_key, b.by_ext, b.allowed
        unknown = sorted(k for k in ch.fields if allowed and k not in allowed)
        if unknown:
            raise RecordError(f"unknown column(s) {', '.join(unknown)} in {ent.file}", record_id=ch.key)
        for col, values in ent.picklists.items():
            v = ch.fields.get(col)
            if v not in (None, "") and str(v) not in values:
                raise RecordError(f"{col}: {v!r} is not one of {', '.join(values)}", field=col, record_id=ch.key)
        line = b.bad_keys.get(str(ch.key)) if ch.key is not None and str(ch.key) not in by_key else None
        if line is None and ch.op in ("create", "upsert") and ch.golden_id and ch.golden_id not in by_ext:
            line = b.bad_ext.get(ch.golden_id)
        if line is not None:
            raise RecordError(f"the record is on {ent.file}:{line}, a line that cannot be read; fix that line first",
                              record_id=ch.key)
        if ch.op == "delete":
            row = by_key.get(str(ch.key))
            if row is not None and id(row) not in b.deleted:
                b.deleted.add(id(row))
                by_key.pop(str(ch.key), None)
                if ent.external_id and row.get(ent.external_id):
                    by_ext.pop(str(row[ent.external_id]), None)
            return WriteResult(change=ch, ok=True, target_id=ch.key)
        row = None
        if ch.op in ("create", "upsert") and ent.external_id and ch.golden_id:
            row = by_ext.get(ch.golden_id)
        if ch.op in ("update",) or (ch.op == "upsert" and ch.key):
            row = row or by_key.get(str(ch.key))
            if row is None and ch.op == "update":
                raise RecordError(f"no record with key {ch.key} in {ent.file}", record_id=ch.key)
        created = row is None
        new = _merge(dict(row or {}), ch.fields)
        if created:
            if len(ent.keys) != 1:
                raise RecordError(f"cannot create in {ent.file}: composite key {ent.keys}")
            new[ent.keys[0]] = f"{ent.id_prefix}{seq}"
        if ent.external_id and ch.golden_id and not new.get(ent.external_id):
            new[ent.external_id] = ch.golden_id
        missing = [c for c in ent.required if new.get(c) in (None, "")]
        if missing:
            raise RecordError(f"required column(s) {', '.join(missing)} empty", record_id=ch.key)
        if ent.modified_column:
            new[ent.modified_column] = b.now
        if created:
            b.created.append(new)
        else:
            row.clear()
            row.update(new)
            new = row
            b.touched.add(id(row))
        k = _key(ent, new)
        by_key[k] = new
        if ent.external_id and new.get(ent.external_id):
            by_ext[str(new[ent.external_id])] = new
        return WriteResult(change=ch, ok=True, target_id=k, created=created)



class _Rows:
    """Rows of a loaded drop by key (or external id), the last row of a key winning; a row loaded unparsed
    (an ``Entry``) is parsed when it is asked for."""

    def __init__(self, drop: Drop) -> None:
        self.drop = drop
        self.items: dict[str, dict[str, Any] | Entry] = {}

    def put(self, key: str, row: dict[str, Any] | Entry) -> None:
        self.items.pop(key, None)
        self.items[key] = row

    def __setitem__(self, key: str, row: dict[str, Any]) -> None:
        self.items[key] = row

    def __contains__(self, key: object) -> bool:
        return key in self.items

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def get(self, key: str) -> dict[str, Any] | None:
        got = self.items.get(key)
        if isinstance(got, Entry):
            got = self.drop.parse(got)
            if got is None:
                del self.items[key]
            else:
                self.items[key] = got
        return got

    def pop(self, key: str, default: Any = None) -> Any:
        return self.items.pop(key, default)


def _first_rows(drop: Drop, n: int) -> list[dict[str, Any]]:
    out = []
    for e in drop.entries:
        row = drop.parse(e) if e.known else e.row
        if row is not None:
            out.append(row)
            if len(out) >= n:
                break
    return out


class _Batch:
    """The state of one write batch over a loaded drop."""

    def __init__(self, *, by_key: _Rows, by_ext: _Rows, allowed: set[str], now: str) -> None:
        self.by_key, self.by_ext, self.allowed, self.now = by_key, by_ext, allowed, now
        self.touched: set[int] = set()           # ids of existing rows the batch changed
        self.deleted: set[int] = set()           # ids of existing rows the batch deleted
        self.created: list[dict[str, Any]] = []  # new rows, appended at the end
        self.bad_keys: dict[str, int] = {}        # keys / Concord ids seen on unreadable lines -> line number
        self.bad_ext: dict[str, int] = {}


def _output(drop: Drop, cols: list[str], b: _Batch) -> Iterator[bytes]:
    """The new file: original bytes for every entry the batch did not change."""
    lay, last = drop.lay, b""
    wrote_header = False
    for e in drop.entries:
        if e.header:
            wrote_header = True
            out = e.raw if cols == drop.header else header_line(lay, cols, _ending(e.raw, drop.newline))
        elif e.row is not None and id(e.row) in b.deleted:
            continue
        elif e.row is not None and id(e.row) in b.touched:
            out = serialise(lay, e.row, cols, _ending(e.raw, drop.newline))
        else:
            out = e.raw
        if out:
            last = out
            yield out
    created = [r for r in b.created if id(r) not in b.deleted]
    if not created:
        return
    if last and not last.endswith(b"\n"):
        yield drop.newline           # the last line had no line break: give it one before appending
    if lay.kind == "csv" and not wrote_header:
        yield header_line(lay, cols, drop.newline)
    for r in created:
        yield serialise(lay, r, cols, drop.newline)


def _ending(raw: bytes, default: bytes) -> bytes:
    return b"\r\n" if raw.endswith(b"\r\n") else b"\n" if raw.endswith(b"\n") else default


def _key(ent: FileEntity, row: dict[str, Any]) -> str:
    """The row's key as the engine's source id (``hub.contracts.source_id_of``); an empty part stays empty."""
    return "|".join("" if row.get(k) is None or row.get(k) == "" else str(row.get(k)) for k in ent.keys)


_NUM = re.compile(r"(\d+)$")


def _next_seq(ent: FileEntity, by_key: Iterable[str]) -> int:
    best = 0
    for k in by_key:
        if k.startswith(ent.id_prefix):
            m = _NUM.search(k[len(ent.id_prefix):])
            if m:
                best = max(best, int(m.group(1)))
    return best + 1


def _merge(base: dict[str, Any], fields: Any) -> dict[str, Any]:
    """Apply changed fields; nested objects (a JSON address) are merged, not replaced."""
    for k, v in fields.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = _merge(dict(base[k]), v)
        else:
            base[k] = _cell(v)
    return base


def _cell(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def _minus(value: str, seconds: float) -> str:
    if not seconds:
        return value
    try:
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return (d - dt.timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z") \
        if value.endswith("Z") else (d - dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")
