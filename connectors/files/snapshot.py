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

import contextlib
import hashlib
import marshal
import os
import struct
import sys
import tempfile
from array import array
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np

from concord.connectors.files.fileio import DIGEST_SIZE as DIGEST, Entry, Layout, digest, scan
from concord.hub.contracts import Cursor, Page

FORMAT = 4                # 4: a header, then the columns' bytes; 3 and before (one marshalled value) read again whole
FOLDER = ".concord_index"
KEEP = 3                  # indexes kept per drop (the newest): a cursor a version or two behind finds its own
PARTIAL = "+partial"      # suffix of a cursor in the middle of a diff read: names no version
_MAGIC = b"concord-index\n"
_LEN = struct.Struct("<Q")  # the length of the marshalled header that follows the magic
_MAX_HEAD = 1 << 20


def source_id(keys: Sequence[str], row: dict[str, Any]) -> str | None:
    """The engine's source id of a row (``hub.contracts.source_id_of``), None without one."""
    parts = []
    for k in keys:
        v = row.get(k)
        if v is None or v == "":
            return None
        parts.append(str(v))
    return "|".join(parts)


class Base:
    """One version's index, held as columns: the rows' digests, their source ids, and the external ids of
    the rows that have one. A digest is found through a table of buckets (the top bits of its first 8
    bytes; about one row a bucket), each bucket's rows listed together.

    About 40 bytes a row: as a dict of digests to source ids (and the sets a diff built from it), the
    index of a million-row drop took about 300 MB on each diff read."""

    def __init__(self, header: bytes | None, digests: bytes, sids: _Strings, exts: dict[int, str]) -> None:
        self.header, self.digests, self.sids, self.exts = header, digests, sids, exts
        self.n = len(digests) // DIGEST
        bits = max(1, self.n.bit_length() - 1)       # n/2 to n buckets
        self._shift = 64 - bits
        buckets = np.frombuffer(digests, dtype=np.uint64)[::DIGEST // 8] >> np.uint64(self._shift)
        order = np.argsort(buckets, kind="stable")
        starts = np.searchsorted(buckets[order], np.arange((1 << bits) + 1, dtype=np.uint64))
        self._order, self._starts = array("q"), array("q")      # (filled from the arrays' buffers, one copy)
        self._order.frombytes(memoryview(order.astype(np.int64, copy=False)).cast("B"))    # rows, by bucket
        self._starts.frombytes(memoryview(starts.astype(np.int64, copy=False)).cast("B"))  # each bucket's start

    def __len__(self) -> int:
        return self.n

    def row_of(self, d: bytes, _order: str = sys.byteorder) -> int | None:
        """The row whose bytes have the digest ``d``, None if the version has none."""
        b = int.from_bytes(d[:8], _order) >> self._shift
        starts, digests, order = self._starts, self.digests, self._order
        for i in range(starts[b], starts[b + 1]):
            r = order[i]
            if digests[r * DIGEST:r * DIGEST + DIGEST] == d:
                return r
        return None

    def rows_of(self, ds: Sequence[bytes]) -> list[int]:
        """:meth:`row_of` of each digest at once (-1 for none): a block of lines is looked up by a few
        vectorised passes, one per row a bucket holds, instead of a Python loop a line."""
        return self.rows_array(ds).tolist()

    def rows_array(self, ds: Sequence[bytes]) -> np.ndarray:
        """:meth:`rows_of` as an array of 64-bit integers."""
        found = np.full(len(ds), -1, dtype=np.int64)
        if not ds or not self.n:
            return found
        want = np.frombuffer(b"".join(ds), dtype=np.uint64).reshape(-1, 2)
        mine = np.frombuffer(self.digests, dtype=np.uint64).reshape(-1, 2)
        order, starts = np.frombuffer(self._order, dtype=np.int64), np.frombuffer(self._starts, dtype=np.int64)
        b = (want[:, 0] >> np.uint64(self._shift)).astype(np.int64)
        at, end = starts[b], starts[b + 1]
        todo = np.nonzero(at < end)[0]
        while len(todo):
            r = order[at[todo]]
            hit = (mine[r, 0] == want[todo, 0]) & (mine[r, 1] == want[todo, 1])
            found[todo[hit]] = r[hit]
            at[todo] += 1
            todo = todo[~hit & (at[todo] < end[todo])]
        return found

    def __contains__(self, d: object) -> bool:
        return isinstance(d, bytes) and self.row_of(d) is not None

    def sid(self, row: int) -> str:
        return self.sids[row]

    def ext(self, row: int) -> str | None:
        return self.exts.get(row)


class Index:
    """The indexes of one drop (per version): digest of each row's bytes -> its source id (and external id)."""

    def __init__(self, lay: Layout, keys: Sequence[str], ext: str | None = None, *, keep: bool = True) -> None:
        self.keep = keep
        self.lay, self.keys, self.ext = lay, tuple(keys), ext
        self.signature = (FORMAT, sys.byteorder, lay.kind, lay.delimiter, lay.encoding, lay.comment, lay.escape,
                          self.keys, ext)
        folder, name = os.path.split(os.path.abspath(lay.path))
        self.folder, self.name = os.path.join(folder, FOLDER), name

    def _file(self, token: str) -> str:
        tag = hashlib.blake2b(repr((self.signature, token)).encode(), digest_size=10).hexdigest()
        return os.path.join(self.folder, f"{self.name}.{tag}.idx")

    def load(self, token: str) -> Base | None:
        """The index of a version, or None if it has none that is usable."""
        try:
            with open(self._file(token), "rb") as fh:
                if fh.read(len(_MAGIC)) != _MAGIC:
                    return None                    # another format (3 and before: one marshalled tuple)
                (size,) = _LEN.unpack(_exact(fh, _LEN.size))
                if size > _MAX_HEAD:
                    return None
                fmt, sig, tok, header, n, sid_bytes, n_ext, ext_bytes = marshal.loads(_exact(fh, size))
                if fmt != FORMAT or tuple(sig) != self.signature or tok != token:
                    return None
                digests, sids, exts = _columns(fh, n, sid_bytes, n_ext, ext_bytes)
        except (OSError, ValueError, EOFError, TypeError, UnicodeDecodeError, struct.error):
            return None
        return Base(header, digests, sids, exts)

    def save(self, token: str, v: _Version) -> None:
        """Write a version's index atomically and prune old ones; a folder we cannot write is no error.
        The columns are written from the buffers that hold them: no copy of the index is made to write it."""
        if not self.keep:
            return
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.name}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as fh:
                    head = marshal.dumps((FORMAT, self.signature, token, v.header, *v.sizes()))
                    fh.write(_MAGIC + _LEN.pack(len(head)) + head)
                    for buf in v.sections():
                        fh.write(buf)
                os.replace(tmp, self._file(token))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        mine = []
        for e in os.scandir(self.folder):
            if e.name.startswith(self.name + ".") and e.name.endswith(".idx"):
                with contextlib.suppress(OSError):
                    mine.append((e.stat().st_mtime_ns, e.path))
        for _t, p in sorted(mine, reverse=True)[KEEP:]:
            with contextlib.suppress(OSError):
                os.unlink(p)


class _Strings:
    """Strings held as UTF-8 in one buffer with their ends: a few bytes a string where a list of ``str``
    costs about 60 (a drop of a million rows keeps its index in tens of MB). Appended one by one while
    a version is read; read back one at a time."""

    def __init__(self, blob: bytes | bytearray | None = None, ends: array | None = None) -> None:
        self.blob = bytearray() if blob is None else blob
        self.ends = array("q") if ends is None else ends

    def append(self, value: str) -> None:
        self.append_encoded(value.encode("utf-8", "surrogatepass"))

    def append_encoded(self, value: bytes) -> None:
        self.blob += value
        self.ends.append(len(self.blob))

    def extend_encoded(self, values: bytes, ends: np.ndarray) -> None:
        """Strings given as their UTF-8 bytes one after the other and where each ends in them."""
        base = len(self.blob)
        self.blob += values
        self.ends.frombytes((ends.astype(np.int64) + base).tobytes())

    def encoded(self, i: int) -> bytes:
        return self.blob[self.ends[i - 1] if i else 0:self.ends[i]]

    def __getitem__(self, i: int) -> str:
        return self.encoded(i).decode("utf-8", "surrogatepass")


def _columns(fh: IO[bytes], n: int, sid_bytes: int, n_ext: int, ext_bytes: int
             ) -> tuple[bytes, _Strings, dict[int, str]]:
    """An index file's columns after its header: (digests, source ids, row -> external id);
    ValueError if they do not fit the sizes the header gives, or one another."""
    if min(n, sid_bytes, n_ext, ext_bytes) < 0 or n_ext > n:
        raise ValueError("index sizes out of range")
    digests = _exact(fh, n * DIGEST)
    sids = _stored_strings(_exact(fh, n * 8), _exact(fh, sid_bytes))
    at = np.frombuffer(_exact(fh, n_ext * 8), dtype=np.int64)
    xs = _stored_strings(_exact(fh, n_ext * 8), _exact(fh, ext_bytes))
    if fh.read(1):
        raise ValueError("index file longer than its columns")
    if n_ext and (at[0] < 0 or at[-1] >= n or bool((np.diff(at) <= 0).any())):
        raise ValueError("index external-id rows out of order")
    return digests, sids, {r: xs[i] for i, r in enumerate(at.tolist())}


def _stored_strings(ends: bytes, blob: bytes) -> _Strings:
    """A column as an index file holds it (its strings' ends as 8-byte integers, then their UTF-8 bytes);
    ValueError if the two do not fit together, UnicodeDecodeError if a string is not UTF-8."""
    at = np.frombuffer(ends, dtype=np.int64)
    if len(at) and (at[-1] != len(blob) or bool((np.diff(at, prepend=0) < 0).any())):
        raise ValueError("index column ends do not fit")
    if not len(at) and blob:
        raise ValueError("index column bytes without strings")
    blob.decode("utf-8", "surrogatepass")          # checked once here, not on each string read
    return _Strings(blob, array("q", ends))


def _exact(fh: IO[bytes], size: int) -> bytes:
    """``size`` bytes of ``fh``; ValueError if the file ends before (checked first: a corrupt header's size
    is not allocated)."""
    if size > os.fstat(fh.fileno()).st_size - fh.tell():
        raise ValueError("index file shorter than its header says")
    got = fh.read(size)
    if len(got) != size:
        raise ValueError("index file shorter than its header says")
    return got


def _distinct(values: np.ndarray) -> bool:
    """No value twice (one sorted copy)."""
    ordered = np.sort(values)
    return not bool((ordered[1:] == ordered[:-1]).any())


class _Version:
    """What a read learns about the version it reads: per row its digest, source id and external id, and
    whether it can be a base (every line read, no row and no source id twice).

    Kept as columns, not dicts and sets: a whole read of a million-row drop held about 285 bytes a row
    (the peak RSS of an initial load grew with the drop); now about 45 (a digest, a source id and its
    hash). External ids are kept only for rows that have one (an initial load: none). Whether a row or a
    source id came twice is worked out once, at the end (``unique``), over the digests and the source ids'
    hashes (two source ids with one hash count as twice: the version is then not indexed, and the next
    read is whole)."""

    def __init__(self, ext: str | None = None) -> None:
        self.ext = ext
        self.digests = bytearray()
        self.sids = _Strings()
        self.exts = _Strings() if ext else None
        self.ext_rows = array("q")      # the row number of each external id in ``exts``
        self.hashes = array("q")        # hash() of each source id's UTF-8 bytes (in this process only)
        self.seen: bytearray | None = None    # a diff's: per row of the base, 1 if this version holds its bytes
        self.parsed: array | None = None      # a diff's: the rows of this version that were parsed (not in the base)
        self.header: bytes | None = None
        self.complete = True       # every line could be read
        self._unique: tuple[int, bool] = (0, True)

    def add(self, d: bytes, sid: str | None, ext: str | None = None) -> None:
        if sid is not None:
            self.add_encoded(d, sid.encode("utf-8", "surrogatepass"), ext)

    def add_encoded(self, d: bytes, sid: bytes, ext: str | None = None) -> None:
        """A row by its source id's UTF-8 bytes (a row the base holds: its id is copied, not decoded)."""
        if ext and self.exts is not None:
            self.ext_rows.append(len(self.hashes))
            self.exts.append(ext)
        self.digests += d
        self.sids.append_encoded(sid)
        self.hashes.append(hash(sid))

    def add_base_rows(self, base: Base, ds: Sequence[bytes], rows: np.ndarray) -> None:
        """Rows the base holds (their digests ``ds``; ``rows``, their rows in the base), in order: what
        :meth:`add_encoded` does for each, the source ids copied from the base's column in one gather
        (a diff read meets a million unchanged rows: one Python call each was a third of its time)."""
        ends = np.frombuffer(base.sids.ends, dtype=np.int64)
        stops = ends[rows]
        starts = np.where(rows > 0, ends[np.maximum(rows - 1, 0)], 0)
        lengths = stops - starts
        cum = np.cumsum(lengths)
        took = np.frombuffer(base.sids.blob, dtype=np.uint8)[
            np.repeat(starts - (cum - lengths), lengths) + np.arange(int(cum[-1]) if len(cum) else 0)].tobytes()
        firsts = len(self.hashes)
        if base.exts and self.exts is not None:
            for i, r in enumerate(rows.tolist()):
                x = base.exts.get(r)
                if x:
                    self.ext_rows.append(firsts + i)
                    self.exts.append(x)
        self.digests += b"".join(ds)
        self.sids.extend_encoded(took, cum)
        bounds = [0, *cum.tolist()]
        self.hashes.extend([hash(took[a:b]) for a, b in zip(bounds, bounds[1:])])

    @property
    def unique(self) -> bool:
        """No row's bytes twice and no source id twice (worked out once per number of rows)."""
        n = len(self.hashes)
        if self._unique[0] != n:
            # the digests' first 8 bytes stand for them (two rows that share those count as the same bytes)
            ok = _distinct(np.frombuffer(self.hashes, dtype=np.int64)) and \
                _distinct(np.frombuffer(self.digests, dtype=np.uint64)[::DIGEST // 8])
            self._unique = (n, ok)    # (the views are gone: a bytearray cannot grow while one is held)
        return self._unique[1]

    def sizes(self) -> tuple[int, int, int, int]:
        """What an index file's header gives of its columns: rows, source-id bytes, external ids, their bytes."""
        exts = self.exts or _Strings()
        return len(self.hashes), len(self.sids.blob), len(self.ext_rows), len(exts.blob)

    def sections(self) -> tuple[Any, ...]:
        """The buffers an index file holds after its header, in order (not copies: a file writes any buffer)."""
        exts = self.exts or _Strings()
        return self.digests, self.sids.ends, self.sids.blob, self.ext_rows, exts.ends, exts.blob

    def entry(self, e: Entry, keys: Sequence[str]) -> dict[str, Any] | None:
        """Note one scanned entry; its record if it is one to hand on (a parsed row or a bad line)."""
        if e.header:
            self.header = digest(e.raw)
            return None
        if e.error is not None:
            self.complete = False
            return e.error
        if e.row is not None:
            x = e.row.get(self.ext) if self.ext else None
            sid = source_id(keys, e.row)
            if sid is not None and self.parsed is not None:
                self.parsed.append(len(self.hashes))
            self.add(digest(e.raw), sid, str(x) if x else None)
            return e.row
        return None


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
    seen = _Version(index.ext)
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
    def __init__(self, version: _Version, records: list[dict[str, Any]] | None) -> None:
        self.version, self.records = version, records   # records None: more than the cap, read them again


class _Skipper:
    """``scan``'s skip: a row whose bytes the base holds is noted in ``new`` (and as seen) and not parsed;
    asked line by line (``skip``) or a block of lines at once (``many``)."""

    def __init__(self, base: Base, new: _Version) -> None:
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
        if hit.any():
            known = rows[hit]
            seen = np.frombuffer(self.seen, dtype=np.uint8)
            seen[known] = 1
            del seen                  # (no view may outlive the call)
            self.new.add_base_rows(self.base, [d for d, h in zip(ds, hit.tolist()) if h], known)
        return hit.tolist()

    def _known(self, d: bytes, r: int) -> None:
        self.seen[r] = 1
        self.new.add_encoded(d, self.base.sids.encoded(r), self.base.exts.get(r))


def _scan_new(fh: IO[bytes], lay: Layout, base: Base, new: _Version) -> Iterator[Entry]:
    """The entries of ``fh`` the base does not hold, its rows noted in ``new`` as they come."""
    skipper = _Skipper(base, new)
    return scan(fh, lay, skipper.skip, known=False, skip_many=skipper.many)


def _gone(base: Base, new: _Version) -> tuple[str, ...]:
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
    new = _Version(ext)
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
        new = _Version(diff.version.ext)
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
             new: _Version) -> Iterator[dict[str, Any]]:
    fh.seek(0)
    for e in _scan_new(fh, lay, base, new):
        rec = new.entry(e, keys)
        if rec is not None:
            yield rec
