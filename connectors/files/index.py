"""The index of one version of a drop: per row, a digest of the row's exact bytes, its source id and its
external id (where it has one), kept as columns and written beside the drop (``.concord_index/``).

A snapshot read (snapshot.py) builds a :class:`Version` as it reads and saves it with :class:`Index`; the next
read of a changed file loads it as a :class:`Base` and diffs the new version against it. The file: a magic
line, the length of a marshalled header (format, signature, token, sizes), then the columns' bytes. Anything
that does not fit is no index (the next read is whole): indexes are a cache.
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
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from concord.connectors.files.fileio import DIGEST_SIZE as DIGEST, Entry, Layout, digest

FORMAT = 4                # 4: a header, then the columns' bytes; 3 and before (one marshalled value) read again whole
FOLDER = ".concord_index"
KEEP = 3                  # indexes kept per drop (the newest): a cursor a version or two behind finds its own
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

    def __init__(self, header: bytes | None, digests: bytes, sids: Strings, exts: dict[int, str]) -> None:
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

    def save(self, token: str, v: Version) -> None:
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


class Strings:
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
             ) -> tuple[bytes, Strings, dict[int, str]]:
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


def _stored_strings(ends: bytes, blob: bytes) -> Strings:
    """A column as an index file holds it (its strings' ends as 8-byte integers, then their UTF-8 bytes);
    ValueError if the two do not fit together, UnicodeDecodeError if a string is not UTF-8."""
    at = np.frombuffer(ends, dtype=np.int64)
    if len(at) and (at[-1] != len(blob) or bool((np.diff(at, prepend=0) < 0).any())):
        raise ValueError("index column ends do not fit")
    if not len(at) and blob:
        raise ValueError("index column bytes without strings")
    blob.decode("utf-8", "surrogatepass")          # checked once here, not on each string read
    return Strings(blob, array("q", ends))


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


class Version:
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
        self.sids = Strings()
        self.exts = Strings() if ext else None
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
        exts = self.exts or Strings()
        return len(self.hashes), len(self.sids.blob), len(self.ext_rows), len(exts.blob)

    def sections(self) -> tuple[Any, ...]:
        """The buffers an index file holds after its header, in order (not copies: a file writes any buffer)."""
        exts = self.exts or Strings()
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
