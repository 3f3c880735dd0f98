"""Snapshot reads of a changed drop hand on only what changed (connectors/files/snapshot.py), and what
the engine stages from them equals what it stages from a whole read of every version."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from concord.connectors.files import FilesConfig, FilesConnector
from concord.connectors.files import index as files_index
from concord.connectors.files import snapshot as snap
from concord.hub.contracts import Change, ConnectorContext, Cursor, Page


def _conn(folder: Path, file: str, page_size: int = 3) -> FilesConnector:
    return FilesConnector(FilesConfig(root=str(folder), page_size=page_size,
                                      entities={"a": {"file": file, "key": "id"}}))


def _replace(path: Path, data: bytes) -> None:
    """A new version of the drop (a new inode, as every program that rewrites atomically makes)."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


class Staging:
    """What the engine's pull keeps of a stream (hub/engine/pull.py): the last row per source id."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.cursor: Cursor | None = None

    def land(self, pages: Iterable[Page]) -> list[Page]:
        pages = list(pages)
        seen: set[str] = set()
        for p in pages:
            for r in p.records:
                sid = snap.source_id(("id",), r) if "__error__" not in r else None
                if sid is not None:
                    self.rows[sid] = dict(r)
                    seen.add(sid)
            for d in p.deleted:
                self.rows.pop(d, None)
            if p.checkpoint is not None:
                self.cursor = p.checkpoint
            if p.snapshot_complete:
                self.rows = {k: v for k, v in self.rows.items() if k in seen}
        return pages


def _records(pages: list[Page]) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


def test_a_changed_file_yields_its_changed_rows_and_names_the_deleted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [{"id": str(i), "v": i} for i in range(10)]
    path.write_bytes(_jsonl(rows))
    conn, st = _conn(tmp_path, "a.jsonl"), Staging()
    first = st.land(conn.read("a"))
    assert len(_records(first)) == 10 and first[-1].snapshot_complete     # the first read is whole
    assert list(conn.read("a", since=st.cursor)) == []                      # unchanged: nothing
    rows[3]["v"] = "changed"
    del rows[7]
    rows.append({"id": "new", "v": 0})
    _replace(path, _jsonl(rows))
    pages = st.land(conn.read("a", since=st.cursor))
    assert [r["id"] for r in _records(pages)] == ["3", "new"]
    assert pages[-1].deleted == ("7",) and not pages[-1].snapshot_complete
    assert pages[-1].checkpoint is not None and pages[-1].checkpoint == st.cursor
    # the same bytes again under a new token: nothing changed, nothing deleted
    _replace(path, _jsonl(rows))
    pages = st.land(conn.read("a", since=st.cursor))
    assert _records(pages) == [] and pages[-1].deleted == ()


def test_csv_rows_are_skipped_unparsed_and_a_new_header_reads_whole(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,name\r\n1,a\r\n2,\"b, quoted\"\r\n3,c\r\n")
    conn, st = _conn(tmp_path, "c.csv"), Staging()
    st.land(conn.read("a"))
    _replace(path, b"id,name\r\n1,a\r\n2,\"b, quoted\"\r\n3,C\r\n")
    assert [r["name"] for r in _records(st.land(conn.read("a", since=st.cursor)))] == ["C"]
    _replace(path, b"id,name,city\r\n1,a\r\n2,\"b, quoted\"\r\n3,C\r\n")          # a column more
    pages = st.land(conn.read("a", since=st.cursor))
    assert len(_records(pages)) == 3 and pages[-1].snapshot_complete


@pytest.mark.parametrize("change", ["bad line", "duplicate key", "no index"])
def test_what_a_diff_cannot_vouch_for_is_read_whole(tmp_path: Path, change: str) -> None:
    path = tmp_path / "a.jsonl"
    rows = [{"id": str(i)} for i in range(5)]
    path.write_bytes(_jsonl(rows))
    conn, st = _conn(tmp_path, "a.jsonl"), Staging()
    st.land(conn.read("a"))
    if change == "bad line":      # an unreadable line may be a record: no deletes, and the next read is whole
        _replace(path, _jsonl(rows[:3]) + b"{oops\n")
        pages = st.land(conn.read("a", since=st.cursor))
        assert ["__error__" in r for r in _records(pages)] == [True]
        assert pages[-1].deleted == () and set(st.rows) == {"0", "1", "2", "3", "4"}
        _replace(path, _jsonl(rows[:3]))
        pages = st.land(conn.read("a", since=st.cursor))
        assert len(_records(pages)) == 3 and pages[-1].snapshot_complete and set(st.rows) == {"0", "1", "2"}
    elif change == "duplicate key":   # the last row of a key wins, which only a whole read orders
        _replace(path, _jsonl([*rows, {"id": "1", "v": "second"}]))
        pages = st.land(conn.read("a", since=st.cursor))
        assert len(_records(pages)) == 6 and pages[-1].snapshot_complete and st.rows["1"] == {"id": "1", "v": "second"}
        _replace(path, _jsonl(rows))          # and the version after it has no base to diff against
        pages = st.land(conn.read("a", since=st.cursor))
        assert len(_records(pages)) == 5 and st.rows["1"] == {"id": "1"}
    else:                             # the index is a cache: without it a read is whole
        shutil.rmtree(tmp_path / files_index.FOLDER)
        _replace(path, _jsonl(rows[1:]))
        pages = st.land(conn.read("a", since=st.cursor))
        assert len(_records(pages)) == 4 and pages[-1].snapshot_complete and "0" not in st.rows


def test_a_diff_over_several_pages_checkpoints_no_version_until_its_end(tmp_path: Path) -> None:
    """A crash in the middle of a diff leaves a cursor that names no version: the rerun reads whole."""
    path = tmp_path / "a.jsonl"
    rows = [{"id": str(i), "v": 0} for i in range(20)]
    path.write_bytes(_jsonl(rows))
    conn, st = _conn(tmp_path, "a.jsonl", page_size=3), Staging()
    st.land(conn.read("a"))
    for r in rows[:10]:
        r["v"] = 1
    _replace(path, _jsonl(rows))
    pages = list(conn.read("a", since=st.cursor))
    assert len(pages) == 4 and sum(len(p.records) for p in pages) == 10
    assert all(p.checkpoint is not None and p.checkpoint.value.endswith(snap.PARTIAL) for p in pages[:-1])
    st.land(pages[:2])                      # the process dies after two pages
    for r in rows[:3]:
        r["v"] = 0                           # a row the crashed read staged changes back to the indexed bytes
    _replace(path, _jsonl(rows))
    pages = st.land(conn.read("a", since=st.cursor))
    assert pages[-1].snapshot_complete and len(_records(pages)) == 20
    assert {k: v["v"] for k, v in st.rows.items()} == {str(i): int(i >= 3 and i < 10) for i in range(20)}


def test_more_changes_than_it_holds_are_read_again_in_a_second_pass(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [{"id": str(i), "v": 0} for i in range(30)]
    path.write_bytes(_jsonl(rows))
    conn, st = _conn(tmp_path, "a.jsonl", page_size=4), Staging()
    st.land(conn.read("a"))
    for r in rows[::2]:
        r["v"] = 1
    _replace(path, _jsonl(rows[:-1]))
    fh = open(path, "rb")
    try:
        token = Cursor(value="next")
        one = list(snap.read(fh, conn.layout(conn.config.entities["a"]), ("id",), entity="a", token=token.value,
                             since=st.cursor, page_size=4))
        fh.seek(0)
        two = list(snap.read(fh, conn.layout(conn.config.entities["a"]), ("id",), entity="a", token=token.value,
                             since=st.cursor, page_size=4, cap=2))
    finally:
        fh.close()
    assert [p.records for p in one] == [p.records for p in two] and len(_records(one)) == 15
    assert one[-1].deleted == two[-1].deleted == ("29",)


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
@pytest.mark.parametrize("seed", range(6))
def test_diff_reads_stage_what_whole_reads_stage(tmp_path: Path, kind: str, seed: int) -> None:
    """Random versions of a drop (edits, deletes, new rows, bad lines, duplicates, reordering, a lost
    index): after every version, staging fed by diff reads equals staging fed by whole reads."""
    rng = random.Random(seed)
    name = f"a.{kind}"
    path = tmp_path / "d" / name
    path.parent.mkdir()
    whole_dir = tmp_path / "w"
    whole_dir.mkdir()
    rows: list[dict[str, Any]] = [{"id": f"k{i}", "v": str(rng.randrange(5))} for i in range(25)]
    bad: list[bytes] = []

    def render() -> bytes:
        if kind == "jsonl":
            body = [json.dumps(r).encode() + b"\n" for r in rows]
            bad_lines = [b + b"\n" for b in bad]
        else:
            body = [f"{r['id']},\"{r['v']}\"\r\n".encode() for r in rows]
            bad_lines = [b + b"\r\n" for b in bad]
        for b in bad_lines:
            body.insert(rng.randrange(len(body) + 1), b)
        return (b"id,v\r\n" if kind == "csv" else b"") + b"".join(body)

    diff, whole = _conn(path.parent, name, page_size=4), _conn(whole_dir, name, page_size=4)
    st_diff, st_whole = Staging(), Staging()
    for _version in range(40):
        data = render()
        _replace(path, data)
        _replace(whole_dir / name, data)
        st_diff.land(diff.read("a", since=st_diff.cursor))
        st_whole.land(whole.read("a"))           # no cursor: the old behaviour, every version read whole
        assert st_diff.rows == st_whole.rows
        for _ in range(rng.randrange(1, 4)):
            op = rng.choice(["edit", "edit", "edit", "many", "delete", "add", "add", "bad", "unbad", "unbad", "dup",
                             "undup", "undup", "shuffle", "lose"])
            if op == "edit" and rows:
                rng.choice(rows)["v"] = str(rng.randrange(9))
            elif op == "many":
                for r in rng.sample(rows, len(rows) // 2):
                    r["v"] = str(rng.randrange(9))
            elif op == "delete" and rows:
                rows.pop(rng.randrange(len(rows)))
            elif op == "add":
                rows.insert(rng.randrange(len(rows) + 1), {"id": f"n{rng.randrange(40)}", "v": "0"})
            elif op == "bad":
                bad.append(b'{"id": "k1", broken' if kind == "jsonl" else b'k2,"never closed')
            elif op == "unbad":
                bad.clear()
            elif op == "dup" and rows:
                rows.append(dict(rng.choice(rows), v="dup"))
            elif op == "undup":
                seen: set[str] = set()
                rows[:] = [r for r in rows if not (r["id"] in seen or seen.add(r["id"]))]
            elif op == "shuffle":
                rng.shuffle(rows)
            elif op == "lose":
                shutil.rmtree(path.parent / files_index.FOLDER, ignore_errors=True)


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
@pytest.mark.parametrize("seed", range(4))
def test_a_write_over_an_indexed_drop_equals_one_that_parses_every_row(tmp_path: Path, kind: str, seed: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A write parses only the rows its changes touch when the last read left an index of the file's
    version; the file it writes and its results are those of a write that parses everything."""
    rng = random.Random(seed)
    name = f"a.{kind}"
    rows = [{"id": f"C{i}", "name": f"n{i}", "gid": f"G{i}" if i % 3 else ""} for i in range(1, 40)]
    if kind == "jsonl":
        data = _jsonl(rows) + b"{broken\n"
    else:
        data = b"id,name,gid\r\n" + b"".join(f"{r['id']},\"{r['name']}\",{r['gid']}\r\n".encode() for r in rows) \
            + b'C77,"never closed\r\n'
    conns = []
    for sub in ("indexed", "plain"):
        folder = tmp_path / sub
        folder.mkdir()
        (folder / name).write_bytes(data)
        conns.append(FilesConnector(FilesConfig(root=str(folder), entities={"a": {
            "file": name, "key": "id", "external_id": "gid", "id_prefix": "C", "modified_column": "at"}}),
            ConnectorContext(system="x", now=lambda: dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))))
    indexed, plain = conns
    list(indexed.read("a"))
    assert not (tmp_path / "indexed" / files_index.FOLDER).exists()      # an unreadable line: no index of this version
    for sub in ("indexed", "plain"):
        (tmp_path / sub / name).write_bytes(data.replace(b"{broken\n", b"").replace(b'C77,"never closed\r\n', b""))
    list(indexed.read("a"))
    assert (tmp_path / "indexed" / files_index.FOLDER).exists()
    found = []
    load = snap.Index.load
    monkeypatch.setattr(snap.Index, "load", lambda self, token: found.append(load(self, token)) or found[-1])
    for _round in range(3):
        changes = []
        for i in range(6):
            op = rng.choice(["update", "delete", "upsert", "create"])
            key = f"C{rng.randrange(1, 45)}"
            changes.append(Change(op=op, entity="a", key=None if op == "create" else key, idempotency_key=f"{_round}{i}",
                                  fields={"name": f"x{rng.randrange(99)}"} if op != "delete" else {},
                                  golden_id=f"G{rng.randrange(1, 50)}" if op in ("create", "upsert") else None))
        got = [[(r.ok, r.target_id, r.created, str(r.error)) for r in c.write("a", changes)] for c in conns]
        assert got[0] == got[1]
        a, b = ((tmp_path / sub / name).read_bytes() for sub in ("indexed", "plain"))
        assert a == b
        list(indexed.read("a", since=None))     # the next version indexed (a whole read: cursors aside)
    assert len([b for b in found if b is not None]) >= 3     # each write loaded its rows unparsed


def test_sigkill_in_the_middle_of_a_diff_and_the_rows_changed_back(starter: Path, database_url: str,
                                                                   tmp_path: Path) -> None:
    """A sync killed after the first page of a diff read, the drop changed back to the synced version, a rerun:
    staging holds the drop as it is (the rerun reads whole), and nothing is left to write."""
    from sqlalchemy import select

    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse import tables as T
    from tests.conftest import run_cli
    from tests.engine.helpers import read_jsonl, write_jsonl
    from tests.engine.test_crash import _run_until, _with_small_pages

    _with_small_pages(starter)                      # two records a page
    run_cli("sync", cwd=starter)
    path = starter / "data/crm/accounts.jsonl"
    synced = path.read_bytes()
    rows = read_jsonl(path)
    for r in rows[:5]:
        r["name"] = r["name"] + " (renamed)"
    write_jsonl(path, rows)
    _run_until(starter, "pull.after_page:1", tmp_path)   # one page of the five renamed accounts is staged
    _replace(path, synced)
    again = json.loads(run_cli("sync", "--json", cwd=starter).stdout)
    assert sum(v.get("written", 0) for s in again["streams"].values() for v in s.values()) == 0
    wh = Warehouse.open(database_url, migrate=False)
    try:
        with wh.tx() as conn:
            r = T.raw_record.c
            staged = {x.source_id: x.payload for x in conn.execute(
                select(r.source_id, r.payload).where(r.system == "crm", r.entity == "account"))}
    finally:
        wh.dispose()
    staged = {k: json.loads(v) if isinstance(v, str) else v for k, v in staged.items()}
    assert {r["id"]: r["name"] for r in read_jsonl(path)} == {k: v["name"] for k, v in staged.items()}


def test_an_index_keeps_its_columns_and_refuses_what_does_not_fit(tmp_path: Path) -> None:
    """A version's index (digests, source ids, external ids as columns) reads back as the dicts it stands for;
    an index of an older format, or one whose columns disagree with its header, is no index (the next read
    is whole);
    a row's bytes or a source id twice leave the version unindexed."""
    drop = tmp_path / "a.jsonl"
    drop.write_bytes(b"")
    index = snap.Index(snap.Layout(str(drop), "jsonl"), ["id"], "ext")
    v = files_index.Version("ext")
    rows = [(bytes([i]) * 16, sid, ext) for i, (sid, ext) in
            enumerate([("1", "E1"), ("zwölf|7", None), ("\ud800x", "e\u00e9"), ("", "")])]
    for d, sid, ext in rows:
        v.add(d, sid, ext)
    assert v.unique
    index.save("t1", v)
    base = index.load("t1")
    assert base is not None and len(base) == len(rows)
    for r, (d, sid, x) in enumerate(rows):
        assert base.row_of(d) == r and d in base and base.sid(r) == sid and base.ext(r) == (x or None)
    assert base.row_of(bytes([9]) * 16) is None and bytes([9]) * 16 not in base
    assert index.load("t2") is None                                   # another version's token

    path = Path(index._file("t1"))
    good = path.read_bytes()
    head_at = len(files_index._MAGIC) + files_index._LEN.size
    size = files_index._LEN.unpack(good[len(files_index._MAGIC):head_at])[0]
    fmt, sig, tok, header, n, sid_bytes, n_ext, ext_bytes = files_index.marshal.loads(good[head_at:head_at + size])
    assert (n, n_ext) == (4, 2)                        # external ids are kept for the rows that have one

    def with_head(*fields: object) -> bytes:
        head = files_index.marshal.dumps(fields)
        return files_index._MAGIC + files_index._LEN.pack(len(head)) + head + good[head_at + size:]

    for bad in [files_index.marshal.dumps((3, sig, tok, header, b"", b"", b"", None, None)),   # the one-value format of before
                good[:-1], good + b"x",                                              # cut short, or longer
                with_head(fmt, sig, tok, header, n - 1, sid_bytes, n_ext, ext_bytes),
                with_head(fmt, sig, tok, header, n, sid_bytes + 1, n_ext, ext_bytes),
                with_head(fmt, sig, tok, header, n, sid_bytes, n_ext - 1, ext_bytes),
                with_head(fmt, sig, tok, header, n, sid_bytes, n_ext, -1),
                with_head(fmt, sig, tok, header, 10**15, sid_bytes, n_ext, ext_bytes),   # not allocated
                with_head(fmt, sig, tok, header, n, sid_bytes)]:
        path.write_bytes(bad)
        assert index.load("t1") is None
    path.write_bytes(good)
    assert index.load("t1") is not None

    twice_bytes, twice_id = files_index.Version(), files_index.Version()
    for d, sid in [(b"a" * 16, "1"), (b"b" * 16, "2"), (b"a" * 16, "3")]:
        twice_bytes.add(d, sid)
    for d, sid in [(b"a" * 16, "1"), (b"b" * 16, "2"), (b"c" * 16, "1")]:
        twice_id.add(d, sid)
    assert not twice_bytes.unique and not twice_id.unique
    twice_id.add(b"d" * 16, "4")                                      # worked out again as rows come
    assert not twice_id.unique and files_index.Version().unique


def test_an_index_finds_rows_whose_digests_share_their_first_bytes(tmp_path: Path) -> None:
    """Rows are looked up by the first 8 bytes of their digest, then the whole digest: rows sharing those
    bytes are told apart, and a digest sharing them with no row is not found."""
    drop = tmp_path / "a.jsonl"
    drop.write_bytes(b"")
    index = snap.Index(snap.Layout(str(drop), "jsonl"), ["id"], "ext")
    v = files_index.Version("ext")
    digests = [b"a" * 8 + bytes([i]) * 8 for i in (3, 1, 2)] + [b"b" * 16, b"\x00" * 16]
    for i, d in enumerate(digests):
        v.add(d, f"id{i}", f"E{i}" if i % 2 else None)
    index.save("t", v)
    base = index.load("t")
    assert base is not None and len(base) == 5
    assert [base.row_of(d) for d in digests] == [0, 1, 2, 3, 4]
    assert [base.ext(r) for r in range(5)] == [None, "E1", None, "E3", None]
    assert base.row_of(b"a" * 8 + b"\x09" * 8) is None and base.row_of(b"c" * 16) is None
    asked = [*digests, b"a" * 8 + b"\x09" * 8, b"c" * 16, digests[2]]
    assert base.rows_of(asked) == [0, 1, 2, 3, 4, -1, -1, 2] and base.rows_of([]) == []


def test_a_block_of_digests_is_found_as_one_at_a_time_finds_it(tmp_path: Path) -> None:
    """``rows_of`` (a block of lines at once, vectorised) agrees with ``row_of`` (one line) on an index of
    random digests, many of them sharing a bucket or their first 8 bytes, and on digests it does not hold."""
    import random

    drop = tmp_path / "a.jsonl"
    drop.write_bytes(b"")
    index = snap.Index(snap.Layout(str(drop), "jsonl"), ["id"])
    rng = random.Random(5)
    firsts = [rng.randbytes(8) for _ in range(300)]
    digests = list(dict.fromkeys(rng.choice(firsts) + rng.randbytes(8) for _ in range(2000)))
    v = files_index.Version()
    for i, d in enumerate(digests[:1500]):
        v.add(d, f"id{i}")
    index.save("t", v)
    base = index.load("t")
    assert base is not None
    asked = digests + [rng.randbytes(16) for _ in range(200)]
    rng.shuffle(asked)
    one_by_one = [base.row_of(d) for d in asked]
    assert base.rows_of(asked) == [-1 if r is None else r for r in one_by_one]
    assert sorted(r for r in one_by_one if r is not None) == list(range(1500))


def test_a_block_of_known_rows_is_noted_as_one_at_a_time_notes_it(tmp_path: Path) -> None:
    """A diff notes the rows the base holds a block at a time (``_Skipper.many``: the source ids copied from
    the base's column in one gather) exactly as line by line (``skip``): the same columns, external ids, rows
    seen and hashes, with source ids of several lengths, non-ASCII, a lone surrogate and the empty one."""
    drop = tmp_path / "a.jsonl"
    drop.write_bytes(b"")
    index = snap.Index(snap.Layout(str(drop), "jsonl"), ["id"], "ext")
    rng = random.Random(11)
    sids = ["1", "zwölf|7", "", "\ud800x", *(f"id-{i}" * rng.randint(1, 4) for i in range(400))]
    raws = [f'{{"n": {i}}}\n'.encode() for i in range(len(sids))]
    base_version = files_index.Version("ext")
    for i, (raw, sid) in enumerate(zip(raws, sids)):
        base_version.add(snap.digest(raw), sid, f"E{i}" if i % 3 == 0 else None)
    index.save("t", base_version)
    base = index.load("t")
    assert base is not None
    asked = raws[:-20] + [f'{{"new": {i}}}\n'.encode() for i in range(50)]       # a row of the base gone
    rng.shuffle(asked)
    columns = []
    for by_block in (True, False):
        new = files_index.Version("ext")
        skipper = snap._Skipper(base, new)
        hits = skipper.many(asked[:150]) + skipper.many(asked[150:]) + skipper.many([]) if by_block \
            else [skipper.skip(raw) for raw in asked]
        exts = new.exts or files_index.Strings()
        columns.append((hits, bytes(new.digests), bytes(new.sids.blob), new.sids.ends.tolist(), new.ext_rows.tolist(),
                        bytes(exts.blob), exts.ends.tolist(), new.hashes.tolist(), bytes(new.seen or b"")))
    assert columns[0] == columns[1]
    assert sum(columns[0][0]) == len(raws) - 20 and len(columns[0][4]) == sum(1 for raw in asked if raw in raws[::3])
