"""Reading CSV and JSON Lines drops without losing a byte, and loading one for a rewrite (``Drop``).

A drop is read as **bytes** and cut into entries: one entry per logical record (a CSV record
may span physical lines inside a quoted field), each keeping its exact original bytes. An
entry is a parsed row, or a bad line (not valid in the file's encoding, invalid JSON, more
CSV cells than header columns, an unbalanced quote), or a passive line (the CSV header, a
blank line, a comment). A rewrite (``writing.py``) emits every entry's original bytes unless
the entry is a row that the write changed or deleted, so lines Concord did not mean to touch
survive byte-for-byte, bad ones included.

Bad entries reach the engine as records with ``__error__`` (``file:line`` and the reason) and
the whole original line in ``__line__``; when the bytes are not valid in the encoding the
line is given with backslash escapes and, exactly, in ``__bytes_b64__``.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import itertools
import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from concord.hub.errors import ConfigError, RecordError

csv.field_size_limit(16 * 1024 * 1024)

MAX_RECORD_LINES = 10_000          # physical lines one quoted CSV record may span
MAX_RECORD_BYTES = 16 * 1024 * 1024

# CSV formula injection (OWASP): a cell starting with one of these is a formula to a spreadsheet.
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")        # what neutralise() produces; unneutralise() undoes it
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?")


def neutralise(value: str) -> str:
    """Prefix a single quote to a value a spreadsheet would run as a formula (plain numbers stay).

    A value that already starts with quotes before a trigger character gets one more, so that
    ``unneutralise(neutralise(v)) == v`` for every string.
    """
    if value.startswith(_TRIGGERS):
        return value if _NUMBER.fullmatch(value) else "'" + value
    if value.startswith("'") and value.lstrip("'").startswith(_TRIGGERS):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    return value[1:] if _ESCAPED.match(value) else value


class Entry:
    """One logical record of a drop with its original bytes."""

    __slots__ = ("error", "header", "known", "no", "raw", "row")

    def __init__(self, no: int, raw: bytes, row: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
                 header: bool = False, known: bool = False) -> None:
        self.no = no                  # physical line number where it starts (1-based)
        self.raw = raw                # exact bytes, line terminator included
        self.row = row                # the parsed record (None: bad, passive or known)
        self.error = error            # the quarantine record of a bad line
        self.header = header
        self.known = known            # skipped unparsed: the caller knows these bytes (``scan(skip=...)``)

    @property
    def record(self) -> dict[str, Any] | None:
        return self.row if self.row is not None else self.error


class Layout:
    """How to cut a drop: format, delimiter, encoding, comment prefix, formula escaping."""

    __slots__ = ("comment", "delimiter", "encoding", "escape", "kind", "path")

    def __init__(self, path: str, kind: str, delimiter: str = ",", encoding: str = "utf-8",
                 comment: str | None = None, escape: bool = True) -> None:
        self.path, self.kind, self.delimiter, self.encoding = path, kind, delimiter, encoding
        self.comment, self.escape = comment, escape


def token(st: os.stat_result) -> str:
    """A version of a drop: every atomic rewrite is a new inode; in-place edits change mtime/ctime."""
    return f"{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_size}:{st.st_ino}"


DIGEST_SIZE = 16       # bytes of a row digest


def digest(raw: bytes) -> bytes:
    """The identity of a record's exact bytes (snapshot indexes)."""
    return hashlib.blake2b(raw, digest_size=DIGEST_SIZE).digest()


def open_binary(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise ConfigError(f"drop file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _terminator(raw: bytes) -> bytes:
    return b"\r\n" if raw.endswith(b"\r\n") else b"\n" if raw.endswith(b"\n") else b""


def _bad(lay: Layout, no: int, raw: bytes, reason: str, *, last: int | None = None,
         extra: int | None = None) -> Entry:
    where = f"{no}-{last}" if last and last != no else str(no)
    err: dict[str, Any] = {"__error__": f"{lay.path}:{where}: {reason}", "__line_no__": no}
    body = raw[:len(raw) - len(_terminator(raw))]
    try:
        err["__line__"] = body.decode(lay.encoding)
    except UnicodeDecodeError:
        err["__line__"] = body.decode(lay.encoding, "backslashreplace")
        err["__bytes_b64__"] = base64.b64encode(raw).decode("ascii")
    if extra is not None:
        err["__extra_cells__"] = extra
    return Entry(no, raw, error=err)


def _decode(lay: Layout, no: int, raw: bytes) -> str | Entry:
    try:
        return raw.decode(lay.encoding)
    except UnicodeDecodeError as exc:
        return _bad(lay, no, raw, f"not valid {lay.encoding} (byte 0x{raw[exc.start]:02x} at offset {exc.start})")


def _passive(lay: Layout, text: str) -> bool:
    return not text.strip() or (lay.comment is not None and text.startswith(lay.comment))


# ---- scanning --------------------------------------------------------------------------------
Skip = Callable[[bytes], bool]
SkipMany = Callable[[list[bytes]], Sequence[bool]]


def scan(fh: IO[bytes], lay: Layout, skip: Skip | None = None, *, known: bool = True,
         skip_many: SkipMany | None = None) -> Iterator[Entry]:
    """Every entry of the drop, in file order (the file handle is read as it goes).

    ``skip(raw)`` true: the record's bytes are known to the caller, so they are neither decoded nor
    parsed (an ``Entry`` with ``known``; none at all with ``known`` False). It is asked about every
    record after the CSV header. ``skip_many(raws)`` asks the same of a block of JSON Lines at once
    (one answer per line, in order), where a caller can answer a block faster than line by line; CSV
    drops ask ``skip``.
    """
    if lay.kind == "csv":
        yield from _scan_csv(fh, lay, skip, known)
    elif skip_many is not None:
        yield from _scan_jsonl_blocks(fh, lay, skip_many, known)
    else:
        yield from _scan_jsonl(fh, lay, skip, known)


def _scan_jsonl(fh: IO[bytes], lay: Layout, skip: Skip | None = None, known: bool = True) -> Iterator[Entry]:
    for no, raw in enumerate(fh, start=1):
        if skip is not None and skip(raw):
            if known:
                yield Entry(no, raw, known=True)
            continue
        yield _jsonl_entry(lay, no, raw)


SCAN_BLOCK = 8192       # JSON Lines asked of ``skip_many`` at once


def _scan_jsonl_blocks(fh: IO[bytes], lay: Layout, skip_many: SkipMany, known: bool) -> Iterator[Entry]:
    no = 0
    while block := list(itertools.islice(fh, SCAN_BLOCK)):
        for raw, hit in zip(block, skip_many(block), strict=True):
            no += 1
            if not hit:
                yield _jsonl_entry(lay, no, raw)
            elif known:
                yield Entry(no, raw, known=True)


def _jsonl_entry(lay: Layout, no: int, raw: bytes) -> Entry:
    """One JSON Lines line: a row, a passive line or a bad one."""
    text = _decode(lay, no, raw)
    if isinstance(text, Entry):
        return text
    if _passive(lay, text):
        return Entry(no, raw)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return _bad(lay, no, raw, f"invalid JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(obj, dict):
        return _bad(lay, no, raw, "a line must hold a JSON object")
    return Entry(no, raw, row=obj)


def _open_quote_at_end(line: bytes, in_quote: bool, delim: bytes) -> bool:
    """Whether a CSV quoted field is still open after ``line`` (the csv module's rules, non-strict)."""
    if not in_quote and b'"' not in line:
        return False
    i = 0
    while True:
        if in_quote:
            j = line.find(b'"', i)
            if j < 0:
                return True
            if line[j + 1:j + 2] == b'"':         # a doubled quote inside the quoted field
                i = j + 2
                continue
            in_quote = False
            k = line.find(delim, j + 1)            # text after the closing quote belongs to the field
            if k < 0:
                return False
            i = k + len(delim)
        else:                                      # at the start of a field
            if line[i:i + 1] == b'"':
                in_quote = True
                i += 1
                continue
            k = line.find(delim, i)                # a quote inside an unquoted field is literal
            if k < 0:
                return False
            i = k + len(delim)


def _scan_csv(fh: IO[bytes], lay: Layout, skip: Skip | None = None, known: bool = True) -> Iterator[Entry]:
    delim = lay.delimiter.encode(lay.encoding)
    source = enumerate(fh, start=1)
    pushed: deque[tuple[int, bytes]] = deque()    # physical lines to read again after a stray quote
    header: list[str] | None = None

    def next_line() -> tuple[int, bytes] | None:
        return pushed.popleft() if pushed else next(source, None)

    def no_header(bad: Entry) -> RecordError:
        return RecordError(f"the header of {lay.path} cannot be read: {bad.error['__error__'] if bad.error else ''}")

    while True:
        first = next_line()
        if first is None:
            return
        parts = [first]
        open_quote = _open_quote_at_end(first[1], False, delim)
        size = len(first[1])
        while open_quote and len(parts) < MAX_RECORD_LINES and size < MAX_RECORD_BYTES:
            nxt = next_line()
            if nxt is None:
                break
            parts.append(nxt)
            size += len(nxt[1])
            open_quote = _open_quote_at_end(nxt[1], True, delim)
        no, last = first[0], parts[-1][0]
        if open_quote:
            # never closed (end of file, or too long): the line with the stray quote is bad; read on after it
            pushed.extendleft(reversed(parts[1:]))
            bad = _bad(lay, no, first[1], "unbalanced quote: a quoted field is never closed")
            if header is None:
                raise no_header(bad)
            yield bad
            continue
        raw = parts[0][1] if len(parts) == 1 else b"".join(p for _n, p in parts)
        if skip is not None and header is not None and skip(raw):
            if known:
                yield Entry(no, raw, known=True)
            continue
        text = _decode(lay, no, raw)
        if isinstance(text, Entry):
            if header is None:
                raise no_header(text)
            yield text
            continue
        if _passive(lay, text):
            yield Entry(no, raw)
            continue
        cells = _cells(text, lay.delimiter)
        if isinstance(cells, str):
            bad = _bad(lay, no, raw, cells, last=last)
            if header is None:
                raise no_header(bad)
            yield bad
            continue
        if header is None:
            header = cells
            yield Entry(no, raw, header=True)
            continue
        yield _csv_row(lay, header, no, last, raw, cells)


def _csv_row(lay: Layout, header: list[str], no: int, last: int, raw: bytes, cells: list[str]) -> Entry:
    if len(cells) > len(header):
        more = len(cells) - len(header)
        hint = " (a stray quote may join lines)" if last != no else ""
        return _bad(lay, no, raw, f"{more} cell(s) more than the {len(header)} header columns: "
                                  f"the row has {len(cells)}{hint}", last=last, extra=more)
    row: dict[str, Any] = {}
    for i, col in enumerate(header):
        v = cells[i] if i < len(cells) else None
        row[col] = unneutralise(v) if lay.escape and v else v
    return Entry(no, raw, row=row)


def _cells(text: str, delimiter: str) -> list[str] | str:
    """The cells of one record, or the reason it is not one record."""
    body = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if '"' not in body and "\r" not in body and "\n" not in body:
        return body.split(delimiter) if body else []
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        return f"malformed CSV: {exc}"
    if len(rows) != 1:
        return "more than one record on the line (a bare CR line ending?)"
    return rows[0]


# ---- whole-file views ------------------------------------------------------------------------
def records(fh: IO[bytes], lay: Layout) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs: parsed rows and, for bad lines, a record with ``__error__``."""
    for e in scan(fh, lay):
        rec = e.record
        if rec is not None:
            yield e.no, rec


def header_of(lay: Layout) -> list[str]:
    if not os.path.exists(lay.path):
        return []
    with open_binary(lay.path) as fh:
        if lay.kind == "csv":
            for e in scan(fh, lay):
                if e.header:
                    return _header_cells(e, lay)
            return []
        cols: dict[str, None] = {}
        seen = 0
        for e in scan(fh, lay):
            if e.row is not None:
                cols.update(dict.fromkeys(k for k in e.row if not k.startswith("__")))
                seen += 1
                if seen > 200:
                    break
        return list(cols)


def _header_cells(e: Entry, lay: Layout) -> list[str]:
    cells = _cells(e.raw.decode(lay.encoding), lay.delimiter)
    assert isinstance(cells, list)
    return cells


class Drop:
    """A drop loaded for a rewrite: its entries, header, line ending and identity.

    ``known(token)``: the digests of rows whose bytes the caller knows for that version of the file
    (its snapshot index); those entries are loaded unparsed and parsed only when asked (``parse``).
    """

    def __init__(self, lay: Layout, known: Callable[[str], Any] | None = None) -> None:
        self.lay = lay
        self.entries: list[Entry] = []
        self.header: list[str] = []
        self.newline = b"\r\n" if lay.kind == "csv" else b"\n"
        self.identity: tuple[int, int, int] | None = None
        self.token: str | None = None
        if not os.path.exists(lay.path):
            return
        with open_binary(lay.path) as fh:
            st = os.fstat(fh.fileno())
            self.identity = (st.st_ino, st.st_size, st.st_mtime_ns)
            self.token = token(st)
            self.mode = st.st_mode & 0o7777
            digests = known(self.token) if known is not None else None
            skip = None if not digests else (lambda raw: digest(raw) in digests)
            self.entries = list(scan(fh, lay, skip))
        for e in self.entries:
            if _terminator(e.raw):
                self.newline = _terminator(e.raw)
                break
        head = next((e for e in self.entries if e.header), None)
        if head is not None:
            self.header = _header_cells(head, lay)

    def parse(self, e: Entry) -> dict[str, Any] | None:
        """The row of an entry loaded unparsed (``known``), parsed now; None if it is not a row."""
        if e.known:
            e.known = False
            text = e.raw.decode(self.lay.encoding)
            if self.lay.kind == "csv":
                cells = _cells(text, self.lay.delimiter)
                parsed = _csv_row(self.lay, self.header, e.no, e.no, e.raw, cells) if isinstance(cells, list) else None
                e.row = parsed.row if parsed is not None else None
            else:
                obj = json.loads(text)
                e.row = obj if isinstance(obj, dict) else None
        return e.row

    def rows(self) -> list[dict[str, Any]]:
        """The parsed rows (not those loaded unparsed)."""
        return [e.row for e in self.entries if e.row is not None]

    def salvage(self, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
        """Best-effort values of ``columns`` on the bad lines (so a write never reuses their key)."""
        out = []
        for e in self.entries:
            if e.error is None:
                continue
            text = e.raw.decode(self.lay.encoding, "replace")
            found: dict[str, str] = {}
            if self.lay.kind == "csv":
                cells = _cells(text, self.lay.delimiter)
                if isinstance(cells, list):
                    found = {c: cells[i] for i, c in enumerate(self.header) if c in columns and i < len(cells)}
            else:
                for c in columns:
                    m = re.search(rf'"{re.escape(c)}"\s*:\s*"?([^",}}\r\n]*)', text)
                    if m:
                        found[c] = m.group(1)
            if found:
                out.append((e.no, found))
        return out

    def has_extra_cells(self) -> int | None:
        for e in self.entries:
            if e.error is not None and "__extra_cells__" in e.error:
                return e.no
        return None

    def changed_since_load(self) -> bool:
        try:
            st = os.stat(self.lay.path)
        except FileNotFoundError:
            return self.identity is not None
        return self.identity != (st.st_ino, st.st_size, st.st_mtime_ns)
