"""Salesforce connector benchmark: API calls and records/s for a full read, an incremental read and
collection writes against the HTTPS sandbox, compared with the minimum the API allows
(ceil(n/2000) query calls, ceil(n/200) collection calls).

    .venv/bin/python -m bench.bench_salesforce [--size N]
"""
from __future__ import annotations

import argparse
import math
import time

from bench._report import peak_rss_mb, write_section
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World
from concord.connectors.salesforce import SalesforceConfig, SalesforceConnector
from concord.connectors.salesforce.sandbox import start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000, help="world companies (about 80%% become Accounts)")
    ap.add_argument("--writes", type=int, default=10_000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rs = start(World(42, args.size), accounts=args.size)
    seed_s = time.perf_counter() - t0
    c = rs.credentials
    toolkit = HttpToolkit()
    conn = SalesforceConnector(SalesforceConfig(login_url=rs.base_url, auth="client_credentials",
                                                client_id=c["client_id"], client_secret=c["client_secret"],
                                                ca_file=rs.server.ca_file, bulk_read_threshold=None,
                                                bulk_write_threshold=None), ConnectorContext(system="crm", http=toolkit))
    conn.entities()
    rows = []
    data = {"size": args.size, "seed_seconds": round(seed_s, 1)}

    def measure(label: str, fn, n_min: int):  # noqa: ANN001
        rs.app.reset_stats()
        before = toolkit.ledger.calls("crm")
        t = time.perf_counter()
        n = fn()
        secs = time.perf_counter() - t
        calls = toolkit.ledger.calls("crm") - before
        per10k = calls * 10_000 / max(n, 1)
        rows.append(f"| {label} | {n:,} | {calls} | {n_min} | {per10k:.1f} | {n_min * 10_000 / max(n, 1):.1f} | "
                    f"{n / secs:,.0f} |")
        data[label] = {"records": n, "calls": calls, "minimum": n_min, "seconds": round(secs, 2),
                       "sandbox_requests": rs.app.stats.total}
        return n

    last = {}

    def full() -> int:
        n = 0
        for p in conn.read("Account"):
            n += len(p.records)
            last["cp"] = p.checkpoint or last.get("cp")
        return n

    n_acc = rs.state.store.count("Account")
    measure("full read (REST query, 2000/batch)", full, math.ceil(n_acc / 2000))
    store = rs.state.store
    for r in store.rows("Account")[: n_acc // 100]:
        store.update("Account", r["Id"], {"Rating": "Hot"})
    measure("incremental read (1% changed)", lambda: sum(len(p.records) for p in conn.read("Account", since=last["cp"])),
            math.ceil(max(1, n_acc // 100) / 2000))
    changes = [Change(op="upsert", entity="Account", fields={"Name": f"Bench {i}", "BillingCity": "Berlin"},
                      idempotency_key=f"bench-{i}", golden_id=f"G-BENCH-{i}") for i in range(args.writes)]

    def write() -> int:
        res = conn.write("Account", changes)
        assert all(r.ok for r in res), next(r.error for r in res if not r.ok)
        return len(res)

    measure("upsert (sObject Collections, 200/call)", write, math.ceil(args.writes / 200))
    bulk = SalesforceConnector(conn.config.model_copy(update={"bulk_read_threshold": 50_000, "bulk_poll_seconds": 0.2}),
                               ConnectorContext(system="crm", http=toolkit))
    bulk.entities()                                   # describes are metadata, not part of the read
    measure("full read (Bulk API 2.0 query job)", lambda: sum(len(p.records) for p in bulk.read("Account")),
            math.ceil(n_acc / 2000))
    rs.stop()
    data["peak_rss_mb"] = round(peak_rss_mb())
    table = "\n".join([
        f"Salesforce connector against the HTTPS sandbox; world of {args.size:,} companies -> {n_acc:,} Accounts "
        f"(seeding {seed_s:.0f} s). Calls are HTTP requests counted by the run ledger (including the OAuth token, "
        "a COUNT() probe for the bulk path and job polls); the minimum is ceil(n/2000) query calls for reads and "
        "ceil(n/200) collection calls for writes.",
        "",
        "| operation | records | API calls | minimum | calls / 10k | minimum / 10k | records/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Peak RSS {data['peak_rss_mb']} MB (sandbox and connector in one process).",
    ])
    write_section("salesforce", table, data=data)
    print(table)


if __name__ == "__main__":
    main()
