"""Snapshot reads (cursor ``mtime``) that hand the engine only what changed since the version it holds.

A whole read of a drop leaves an **index** of that version beside it (``.concord_index/`` in the drop's
folder): per row, a digest of the row's exact bytes and the row's source id. The cursor names the
version (the file's token). When the file changes, the next read diffs it against the index of the
version the cursor names:

- a row whose bytes are in that index is neither decoded nor parsed, and not yielded (the engine
  holds exactly that row already);
- a new or changed row is yielded, a line that cannot be read is yielded as before (``__error__``);
- source ids of the index that no row of the new version carries are reported in ``Page.deleted``
  (not when the new version holds a line that cannot be read: that line may be the record).

The diff is the snapshot's meaning, not a guess: the engine's staging holds what the indexed version
held (a complete snapshot read of it, reconciled, or a diff read ending in its cursor). Whenever that
cannot be vouched for, the read is a whole snapshot with ``snapshot_complete`` as before:
- no index for the cursor's version (the first read, an index pruned, another layout or header);
- the indexed version was incomplete (a line could not be read, so its deletes were never reconciled)
  or held a source id twice (the last row of a key wins, and only a whole read orders them);
- the new version holds a source id twice.

Crash safety: a diff that spans several pages checkpoints its first pages with a cursor that names no
version (``<token>+partial``), so a rerun after a crash in the middle reads a whole snapshot again
(rows the crashed read staged may since have changed back to the indexed bytes). The index of a new
version is written before the page that carries its cursor is yielded; an index whose cursor never
committed is only unused. Indexes are a cache: losing them costs one whole read.
"""
from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np

from concord.connectors.files.fileio import Entry, Layout, digest, scan
from concord.connectors.files.index import Base, Index, Version, source_id
from concord.hub.contracts import Cursor, Page

__all__ = ["Base", "Index", "PARTIAL", "read", "source_id"]

PARTIAL = "+partial"      # suffix of a cursor in the middle of a diff read: names no version


def read(fh: IO[bytes], lay: Layout, keys: Sequence[str], *, entity: str, token: str, since: Cursor | None,
         page_size: int, ext: str | None = None, cap: int = 20_000, keep_index: bool = True) -> Iterator[Page]:
    """The pages of a snapshot read of ``fh`` (version ``token``) for a reader whose cursor is ``since``.

    ``ext``: the external-id column, indexed too (a write finds rows by it without parsing them).
    ``keep_index`` False (a dry run, ``concord plan``): indexes are read, none is written."""
    index = Index(lay, keys, ext, keep=keep_index)
    base = index.load(since.value) if since is not None else None
    if base is not None:
        diff = _diff(fh, lay, keys, base, cap, ext)
        if diff is not None:
            yield from _diff_pages(fh, lay, keys, base, diff, index, entity=entity, token=token,
                                   since=since, page_size=page_size)
            return
        fh.seek(0)
    yield from _whole(fh, lay, keys, index, entity=entity, token=token, page_size=page_size)


def _whole(fh: IO[bytes], lay: Layout, keys: Sequence[str], index: Index, *, entity: str, token: str,
           page_size: int) -> Iterator[Page]:
    seen = Version(index.ext)
    page: list[dict[str, Any]] = []
    for e in scan(fh, lay):
        rec = seen.entry(e, keys)
        if rec is None:
            continue
        page.append(rec)
        if len(page) >= page_size:
            yield Page(entity=entity, records=page)
            page = []
    if seen.complete and seen.unique:
        index.save(token, seen)
    # a row we could not read is not a deleted row: no delete detection for this version of the file
    yield Page(entity=entity, records=page, checkpoint=Cursor(value=token), snapshot_complete=seen.complete)


class _Diff:
    def __init__(self, version: Version, records: list[dict[str, Any]] | None) -> None:
        self.version, self.records = version, records   # records None: more than the cap, read them again


class _Skipper:
    """``scan``'s skip: a row whose bytes the base holds is noted in ``new`` (and as seen) and not parsed;
    asked line by line (``skip``) or a block of lines at once (``many``)."""

    def __init__(self, base: Base, new: Version) -> None:
        self.base, self.new = base, new
        self.seen = new.seen = bytearray(len(base))
        new.parsed = array("q")

    def skip(self, raw: bytes) -> bool:
        d = digest(raw)
        r = self.base.row_of(d)
        if r is None:
            return False
        self._known(d, r)
        return True

    def many(self, raws: list[bytes]) -> list[bool]:
        ds = [digest(raw) for raw in raws]
        rows = self.base.rows_array(ds)
        hit = rows >= 0
        hits = hit.tolist()
        if any(hits):
            known = rows[hit]
            seen = np.frombuffer(self.seen, dtype=np.uint8)
            seen[known] = 1
            del seen                  # (no view may outlive the call)
            self.new.add_base_rows(self.base, [d for d, h in zip(ds, hits) if h], known)
        return hits

    def _known(self, d: bytes, r: int) -> None:
        self.seen[r] = 1
        self.new.add_encoded(d, self.base.sids.encoded(r), self.base.exts.get(r))


def _scan_new(fh: IO[bytes], lay: Layout, base: Base, new: Version) -> Iterator[Entry]:
    """The entries of ``fh`` the base does not hold, its rows noted in ``new`` as they come."""
    skipper = _Skipper(base, new)
    return scan(fh, lay, skipper.skip, known=False, skip_many=skipper.many)


def _gone(base: Base, new: Version) -> tuple[str, ...]:
    """Source ids of the base that no row of the new version carries: those of the base's rows whose bytes
    the new version does not hold, less those its parsed (new and changed) rows carry. (A base holds each
    source id once, so a row it holds unchanged carries no other row's id.)"""
    seen, maybe = new.seen or bytearray(), set()
    r = seen.find(0)
    while r != -1:
        maybe.add(base.sid(r))
        r = seen.find(0, r + 1)
    for r in new.parsed or ():
        if not maybe:
            break
        maybe.discard(new.sids[r])
    return tuple(sorted(maybe))


def _diff(fh: IO[bytes], lay: Layout, keys: Sequence[str], base: Base, cap: int, ext: str | None) -> _Diff | None:
    """First pass: the new version's rows against the base; None if a whole read is needed."""
    header = base.header
    new = Version(ext)
    records: list[dict[str, Any]] | None = []
    for e in _scan_new(fh, lay, base, new):
        if e.header and digest(e.raw) != header:
            return None                       # the columns changed: every row may read differently
        rec = new.entry(e, keys)
        if rec is not None and records is not None:
            records.append(rec)
            if len(records) > cap:
                records = None                # too many to hold: the second pass reads them again
    if lay.kind == "csv" and new.header != header:
        return None
    if not new.unique:
        return None
    return _Diff(new, records)


def _diff_pages(fh: IO[bytes], lay: Layout, keys: Sequence[str], base: Base, diff: _Diff, index: Index, *, entity: str, token: str, since: Cursor | None,
                page_size: int) -> Iterator[Page]:
    partial = Cursor(value=(since.value if since else "") + PARTIAL)
    page: list[dict[str, Any]] = []
    if diff.records is not None:
        new = diff.version
        records: Iterator[dict[str, Any]] = iter(diff.records)
    else:   # the second pass yields what it reads itself, and its own view of the version is the one indexed
        new = Version(diff.version.ext)
        records = _changed(fh, lay, keys, base, new)
    for rec in records:
        if len(page) >= page_size:
            yield Page(entity=entity, records=page, checkpoint=partial)
            page = []
        page.append(rec)
    if not new.unique or new.header != base.header:   # the file changed under the second pass: read it whole next
        yield Page(entity=entity, records=page, checkpoint=partial)
        return
    gone = _gone(base, new) if new.complete else ()
    if new.complete:
        index.save(token, new)
    yield Page(entity=entity, records=page, checkpoint=Cursor(value=token), deleted=gone)


def _changed(fh: IO[bytes], lay: Layout, keys: Sequence[str], base: Base,
             new: Version) -> Iterator[dict[str, Any]]:
    fh.seek(0)
    for e in _scan_new(fh, lay, base, new):
        rec = new.entry(e, keys)
        if rec is not None:
            yield rec
