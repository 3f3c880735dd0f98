"""Writing a drop back: rows serialised as the file's format writes them, under a lock, atomically.

A rewrite (``connector.py``) copies every line it does not change byte-for-byte and serialises only
the rows it changes (``serialise``); the new file is written beside the old one, fsynced and renamed
over it, unless another program changed the file meanwhile (``write_atomically``).
"""
from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from concord.connectors.files.fileio import Drop, Layout, neutralise
from concord.hub.errors import TransientError


def serialise(lay: Layout, row: dict[str, Any], columns: list[str], terminator: bytes) -> bytes:
    if lay.kind == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=lay.delimiter, lineterminator="")
        w.writerow([_csv_cell(row.get(c), lay.escape) for c in columns])
        text = buf.getvalue()
    else:
        text = json.dumps(row, ensure_ascii=False, default=str)
    return text.encode(lay.encoding) + terminator


def _csv_cell(v: Any, escape: bool) -> str:
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False, default=str)
    s = str(v)
    return neutralise(s) if escape else s


def header_line(lay: Layout, columns: list[str], terminator: bytes) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=lay.delimiter, lineterminator="").writerow(columns)
    return buf.getvalue().encode(lay.encoding) + terminator


# ---- locking and atomic replacement ----------------------------------------------------------
@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """An exclusive lock for writers of one drop file."""
    with open(path + ".lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)


def _default_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_NEW_FILE_MODE = _default_mode()


def write_atomically(drop: Drop, chunks: Iterable[bytes]) -> None:
    """Write to a temporary file beside the target, fsync it, then rename over the target.

    The target keeps its permission bits. If the file changed since ``drop`` was loaded (another
    program wrote it), nothing is replaced and a ``TransientError`` asks for a retry.
    """
    path = drop.lay.path
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".concord-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), getattr(drop, "mode", _NEW_FILE_MODE))
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if drop.changed_since_load():
            raise TransientError(f"{os.path.basename(path)} changed while Concord was writing it; "
                                 "nothing was written, the batch will be retried")
        os.replace(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
