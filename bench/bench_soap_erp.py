"""SOAP ERP (NAV page service) benchmark: full read, incremental read and batched writes against the sandbox.

    .venv/bin/python -m bench.bench_soap_erp [--size 100000] [--writes 10000] [--page-size 1000]

API calls are counted twice (sandbox ``app.stats`` and the hub's call ledger) and compared with the
minimum the protocol allows: ReadMultiple needs ceil(n/setSize) calls (+1 when n is a multiple of
setSize, because only a short page ends the set); CreateMultiple/UpdateMultiple take max_batch records.
"""
from __future__ import annotations

import argparse
import math
import time

from bench._report import peak_rss_mb, write_section
from concord.connectors.soap_erp import SoapErpConnector
from concord.connectors.soap_erp.config import SoapErpConfig
from concord.connectors.soap_erp.sandbox import start
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World


def min_read_calls(n: int, size: int) -> int:
    return n // size + 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000, help="customers in the sandbox (all read)")
    ap.add_argument("--writes", type=int, default=10_000, help="records created, then updated")
    ap.add_argument("--page-size", type=int, default=1000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    sb = start(World(seed=42, size=args.size), share=1.0, today="2027-01-08")
    seed_s = time.perf_counter() - t0
    cfg = dict(sb.connector_config)
    cfg["auth"] = dict(cfg["auth"], password=sb.env["NAV_PASSWORD"])
    cfg["pages"] = [dict(p, page_size=args.page_size) for p in cfg["pages"]]
    toolkit = HttpToolkit()
    conn = SoapErpConnector(SoapErpConfig.model_validate(cfg), ConnectorContext(system="erp", http=toolkit))
    spec = conn.entities()[0]
    rows = []
    try:
        n = sb.state.count()
        sb.app.reset_stats()
        c0 = toolkit.ledger.calls("erp")
        t = time.perf_counter()
        pages = list(conn.read("Customer"))
        full_s = time.perf_counter() - t
        got = sum(len(p.records) for p in pages)
        assert got == n, (got, n)
        rows.append(("full read", got, full_s, sb.app.stats.total, toolkit.ledger.calls("erp") - c0,
                     min_read_calls(n, args.page_size)))
        cp = pages[-1].checkpoint
        del pages
        sb.app.reset_stats()
        c0 = toolkit.ledger.calls("erp")
        t = time.perf_counter()
        inc = sum(len(p.records) for p in conn.read("Customer", since=cp))
        inc_s = time.perf_counter() - t
        rows.append((f"incremental (since {cp.value}, 1-day overlap)", inc, inc_s, sb.app.stats.total,
                     toolkit.ledger.calls("erp") - c0, min_read_calls(inc, args.page_size)))
        mb = spec.max_batch
        creates = [Change(op="create", entity="Customer", idempotency_key=f"b-{i}",
                          fields={"Name": f"Bench Customer {i}", "City": "Berlin", "Country_Region_Code": "DE",
                                  "Credit_Limit_LCY": "1000"}) for i in range(args.writes)]
        sb.app.reset_stats()
        c0 = toolkit.ledger.calls("erp")
        t = time.perf_counter()
        res = conn.write("Customer", creates)
        w_s = time.perf_counter() - t
        assert all(r.ok for r in res)
        rows.append(("create (CreateMultiple)", len(res), w_s, sb.app.stats.total, toolkit.ledger.calls("erp") - c0,
                     math.ceil(args.writes / mb)))
        ids = [r.target_id for r in res]
        keys = {k: sb.state.get(k)["Key"] for k in ids}
        updates = [Change(op="update", entity="Customer", key=k, etag=keys[k], idempotency_key=f"u-{k}",
                          fields={"City": "Hamburg"}) for k in ids]
        sb.app.reset_stats()
        c0 = toolkit.ledger.calls("erp")
        t = time.perf_counter()
        res = conn.write("Customer", updates)
        u_s = time.perf_counter() - t
        assert all(r.ok for r in res)
        rows.append(("update with Key (UpdateMultiple)", len(res), u_s, sb.app.stats.total,
                     toolkit.ledger.calls("erp") - c0, math.ceil(args.writes / mb)))
        updates = [Change(op="update", entity="Customer", key=k, idempotency_key=f"v-{k}", fields={"City": "Bremen"})
                   for k in ids]
        sb.app.reset_stats()
        c0 = toolkit.ledger.calls("erp")
        t = time.perf_counter()
        res = conn.write("Customer", updates)
        v_s = time.perf_counter() - t
        assert all(r.ok for r in res)
        rows.append(("update without Key (lookup + UpdateMultiple)", len(res), v_s, sb.app.stats.total,
                     toolkit.ledger.calls("erp") - c0, math.ceil(args.writes / mb)))
    finally:
        sb.stop()
    table = ["| operation | records | seconds | records/s | API calls (sandbox) | calls (ledger) | minimum calls |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, recs, secs, calls, ledger, minimum in rows:
        table.append(f"| {name} | {recs} | {secs:.2f} | {recs / secs if secs else 0:,.0f} | {calls} | {ledger} | {minimum} |")
    md = (f"### soap_erp (Dynamics NAV Customer page over SOAP 1.1, zeep)\n\n"
          f"Sandbox of {args.size} customers (seeded in {seed_s:.1f} s), setSize {args.page_size}, "
          f"max_batch {spec.max_batch}, on loopback HTTP, no faults. Peak RSS {peak_rss_mb():.0f} MB "
          f"(client and sandbox in one process).\n\n" + "\n".join(table) + "\n\n"
          "Lookups without a Key cost one extra ReadMultiple (`No=a|b|...`) per 100 records.")
    print(md)
    write_section("soap_erp", md, data={"size": args.size, "writes": args.writes, "page_size": args.page_size,
                                        "rows": [dict(zip(("op", "records", "seconds", "calls", "ledger", "minimum"), r))
                                                 for r in rows]})


if __name__ == "__main__":
    main()
