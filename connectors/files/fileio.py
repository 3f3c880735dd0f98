"""Reading and atomically rewriting CSV and JSON Lines files."""
from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from hub.errors import ConfigError, RecordError

csv.field_size_limit(16 * 1024 * 1024)


def open_for_read(path: str, encoding: str) -> IO[str]:
    try:
        return open(path, encoding=encoding, newline="")
    except FileNotFoundError:
        raise ConfigError(f"drop file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def iter_rows(fh: IO[str], kind: str, delimiter: str, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs. Malformed lines become a row with ``__error__`` (the engine quarantines it)."""
    if kind == "csv":
        reader = csv.DictReader(fh, delimiter=delimiter)
        try:
            for row in reader:
                if None in row:  # more cells than header columns
                    extra = row.pop(None)
                    row["__error__"] = f"{path}:{reader.line_num}: {len(extra)} cell(s) more than the header has"
                yield reader.line_num, {k: v for k, v in row.items()}
        except csv.Error as exc:
            raise RecordError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None
        return
    for n, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, {"__error__": f"{path}:{n}: invalid JSON: {exc.msg}", "__line__": line[:500]}
            continue
        if not isinstance(obj, dict):
            yield n, {"__error__": f"{path}:{n}: a line must hold a JSON object", "__line__": line[:500]}
            continue
        yield n, obj


def header_of(path: str, kind: str, delimiter: str, encoding: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open_for_read(path, encoding) as fh:
        if kind == "csv":
            first = next(csv.reader(fh, delimiter=delimiter), None)
            return list(first or [])
        cols: dict[str, None] = {}
        for i, (_n, row) in enumerate(iter_rows(fh, kind, delimiter, path)):
            cols.update(dict.fromkeys(k for k in row if not k.startswith("__")))
            if i > 200:
                break
        return list(cols)


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """An exclusive lock for writers of one drop file."""
    with open(path + ".lock", "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)


def write_atomically(path: str, kind: str, header: list[str], rows: list[dict[str, Any]], delimiter: str,
                     encoding: str) -> None:
    """Write to a temporary file beside the target, fsync it, then rename over the target."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".concord-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            if kind == "csv":
                w = csv.DictWriter(fh, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
                w.writeheader()
                for r in rows:
                    w.writerow({k: ("" if v is None else v) for k, v in r.items()})
            else:
                for r in rows:
                    fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
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
