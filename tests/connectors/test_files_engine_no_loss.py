"""Through the whole cycle: bad lines in a `files` drop are quarantined whole, the rest syncs, and the
write-back leaves every line Concord did not mean to change byte-for-byte where it was."""
from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.conftest import run_cli
from tests.engine.helpers import read_csv, read_jsonl, write_jsonl

BAD_UTF8 = b"C8,Kaputt \xff\xfe GmbH,DE800000001,Weg 1,10115,Berlin,DE,\"1.000,00\",NET30,EUR,,,2026-11-02T09:00:00,\r\n"
EXTRA = ("C9,Zuviel KG,DE800000002,Weg 2,10115,Berlin,DE,\"1.000,00\",NET30,EUR,,,2026-11-02T09:00:00,,"
         + "extra-" * 200).encode() + b"\r\n"
BLANK = b"\r\n"


def test_bad_lines_survive_a_sync_and_are_quarantined_whole(starter: Path, database_url: str) -> None:
    path = starter / "data/erp/customers.csv"
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    # the bad lines sit between good ones
    path.write_bytes(b"".join([*lines[:3], BAD_UTF8, BLANK, EXTRA, *lines[3:]]))
    # a CRM-only account whose name a spreadsheet would run as a formula
    evil = '=HYPERLINK("http://evil.example","Click")'
    crm = read_jsonl(starter / "data/crm/accounts.jsonl")
    crm.append({"id": "acc-9", "name": evil, "type": "Prospect", "updated_at": "2026-11-14T00:00:00"})
    write_jsonl(starter / "data/crm/accounts.jsonl", crm)

    proc = run_cli("sync", "--json", cwd=starter, check=False)
    assert proc.returncode == 1, proc.stderr              # partial: two lines quarantined
    summary = json.loads(proc.stdout)
    assert summary["status"] == "partial"

    listed = json.loads(run_cli("quarantine", "list", "--json", cwd=starter).stdout)["items"]
    erp = [q for q in listed if q["system"] == "erp"]
    assert len(erp) == 2, listed
    by_line = {q["payload"]["__line_no__"]: q for q in erp}
    utf = by_line[4]
    assert "customers.csv:4" in utf["reason"] and "not valid utf-8" in utf["reason"]
    assert base64.b64decode(utf["payload"]["__bytes_b64__"]) == BAD_UTF8
    extra = by_line[6]
    assert "customers.csv:6" in extra["reason"] and "more than the 14 header columns" in extra["reason"]
    assert extra["payload"]["__line__"] == EXTRA.decode().removesuffix("\r\n")   # all of it

    # the write-back: the bad lines and the blank line are where they were, byte for byte
    after = path.read_bytes().splitlines(keepends=True)
    assert after[3] == BAD_UTF8 and after[4] == BLANK and after[5] == EXTRA
    # good lines are either untouched or rows Concord wrote to (same key, same order)
    keys = [ln.split(b",", 1)[0] for ln in after if ln.strip()]
    assert keys[:8] == [b"CustomerNo", b"C1", b"C2", b"C8", b"C9", b"C3", b"C4", b"C5"]
    written = {r["CustomerNo"] for r in read_csv_lenient(path) if r.get("ConcordId")}
    for ln in lines[1:]:
        if ln.split(b",", 1)[0].decode() not in written:
            assert ln in after
    # the formula reached the ERP neutralised, and reads back as the CRM's value: nothing to write again
    assert any(b"'=HYPERLINK(" in ln for ln in after)
    # new ERP numbers skip the numbers held by the unreadable lines (C8, C9)
    assert not [ln for ln in after if ln.startswith((b"C8,", b"C9,")) and ln not in (BAD_UTF8, EXTRA)]
    again = json.loads(run_cli("sync", "--json", cwd=starter, check=False).stdout)
    assert sum(v.get("written", 0) for s in again["streams"].values() for v in s.values()) == 0
    assert path.read_bytes().splitlines(keepends=True) == after
    assert evil in {r["name"] for r in read_jsonl(starter / "data/crm/accounts.jsonl")}


def read_csv_lenient(path: Path) -> list[dict[str, str]]:
    """The good rows of a CSV drop that holds bad lines (the test helper reads strict UTF-8)."""
    clean = path.with_suffix(".clean.csv")
    clean.write_bytes(b"".join(ln for ln in path.read_bytes().splitlines(keepends=True)
                               if ln not in (BAD_UTF8, EXTRA)))
    try:
        return read_csv(clean)
    finally:
        clean.unlink()
