"""Zoho CRM connector benchmark: records/s and API calls against the minimum the API allows.

    .venv/bin/python -m bench.bench_zoho_crm [--size 100000] [--writes 10000]

- full read of Accounts (``size`` records, ~60 fields: two column groups of <= 50 fields)
  minimum calls = ceil(size / 200) pages x column groups
- incremental read right after it (If-Modified-Since = last checkpoint): minimum 1 call + 1 deleted call
- ``writes`` creates of Contacts, then the same number of upserts by Email: minimum ceil(n / 100) calls each
"""
from __future__ import annotations

import argparse
import math
import time

from pydantic import SecretStr

from bench._report import peak_rss_mb, write_section
from concord.connectors.zoho_crm import ZohoCrmConfig, ZohoCrmConnector
from concord.connectors.zoho_crm.sandbox import start
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.http import CallLedger, HttpToolkit
from concord.hub.sandbox.world import World


def _connector(sb, ledger: CallLedger, **extra) -> ZohoCrmConnector:  # type: ignore[no-untyped-def]
    cfg = ZohoCrmConfig(accounts_url=sb.extra["accounts_url"], client_id=sb.credentials["client_id"],
                        client_secret=SecretStr(sb.credentials["client_secret"]),
                        refresh_token=SecretStr(sb.credentials["refresh_token"]), **extra)
    return ZohoCrmConnector(cfg, ConnectorContext(system="zoho_crm", http=HttpToolkit(ledger)))


def run(size: int, writes: int) -> dict:
    t0 = time.perf_counter()
    sb = start(World(11, size), modules=("Accounts", "Contacts"), shares={"Accounts": 1.0, "Contacts": 0.0})
    seed_s = time.perf_counter() - t0
    try:
        ledger = CallLedger()
        conn = _connector(sb, ledger, duplicate_check_fields={"Contacts": ("Email",)})
        spec = next(s for s in conn.entities() if s.name == "Accounts")
        groups = len(conn.reader.groups(conn.metadata.readable_fields(spec)))
        n = sb.count("Accounts")
        sb.app.reset_stats()
        t = time.perf_counter()
        count, checkpoint = 0, None
        for page in conn.read("Accounts"):
            count += len(page.records)
            checkpoint = page.checkpoint or checkpoint
        read_s = time.perf_counter() - t
        read_calls = sb.app.stats.total
        assert count == n, (count, n)
        sb.app.reset_stats()
        t = time.perf_counter()
        inc = sum(len(p.records) for p in conn.read("Accounts", since=checkpoint))
        inc_s, inc_calls = time.perf_counter() - t, sb.app.stats.total

        changes = [Change(op="create", entity="Contacts", idempotency_key=f"b{i}",
                          fields={"Last_Name": f"Bench{i}", "First_Name": "Ben", "Email": f"ben.bench{i}@example.org",
                                  "Title": "Buyer", "Mailing_City": "Berlin"}) for i in range(writes)]
        sb.app.reset_stats()
        t = time.perf_counter()
        res = conn.write("Contacts", changes)
        write_s, write_calls = time.perf_counter() - t, sb.app.stats.total
        assert all(r.ok for r in res)
        ups = [Change(op="upsert", entity="Contacts", idempotency_key=f"u{i}",
                      fields={"Last_Name": f"Bench{i}", "Email": f"ben.bench{i}@example.org", "Title": "CFO"})
               for i in range(writes)]
        sb.app.reset_stats()
        t = time.perf_counter()
        res = conn.write("Contacts", ups)
        upsert_s, upsert_calls = time.perf_counter() - t, sb.app.stats.total
        assert all(r.ok and r.created is False for r in res)
        return {
            "size": size, "records": n, "column_groups": groups, "seed_s": round(seed_s, 2),
            "read_s": round(read_s, 2), "read_rps": round(n / read_s), "read_calls": read_calls,
            "read_min_calls": math.ceil(n / 200) * groups,
            "incremental_records": inc, "incremental_calls": inc_calls, "incremental_s": round(inc_s, 3),
            "writes": writes, "write_s": round(write_s, 2), "write_rps": round(writes / write_s),
            "write_calls": write_calls, "write_min_calls": math.ceil(writes / 100),
            "upsert_s": round(upsert_s, 2), "upsert_rps": round(writes / upsert_s), "upsert_calls": upsert_calls,
            "token_calls": sb.oauth.issued, "ledger_calls": ledger.calls("zoho_crm"), "peak_rss_mb": round(peak_rss_mb()),
        }
    finally:
        sb.stop()


def table(d: dict) -> str:
    rows = [
        ("full read, Accounts", d["records"], d["read_s"], d["read_rps"], d["read_calls"], d["read_min_calls"]),
        ("incremental read (nothing changed)", d["incremental_records"], d["incremental_s"], "-", d["incremental_calls"], d["column_groups"] + 1),
        ("insert, Contacts", d["writes"], d["write_s"], d["write_rps"], d["write_calls"], d["write_min_calls"]),
        ("upsert by Email, Contacts", d["writes"], d["upsert_s"], d["upsert_rps"], d["upsert_calls"], d["write_min_calls"]),
    ]
    out = ["## Zoho CRM (`zoho_crm`)", "",
           f"World size {d['size']} ({d['records']} Accounts, {d['column_groups']} column groups of <= 50 fields), "
           f"sandbox on loopback HTTP, {d['writes']} records written. Token calls: {d['token_calls']}; "
           f"all calls in the run ledger: {d['ledger_calls']}; peak RSS {d['peak_rss_mb']} MB.", "",
           "| operation | records | seconds | records/s | API calls | minimum calls |",
           "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {a} | {b} | {c} | {e} | {f} | {g} |" for a, b, c, e, f, g in rows]
    out += ["", "Minimum: reads `ceil(n/200)` pages x column groups (`fields` takes at most 50 names); the incremental "
            "minimum is one call per column group (the inclusive cursor re-reads the last record) plus one `/deleted` call; writes `ceil(n/100)`."]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--writes", type=int, default=10_000)
    a = ap.parse_args()
    data = run(a.size, a.writes)
    write_section("zoho_crm", table(data), data=data,
                  command=f".venv/bin/python -m bench.bench_zoho_crm --size {a.size} --writes {a.writes}")
    print(table(data))


if __name__ == "__main__":
    main()
