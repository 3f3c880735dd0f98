"""Benchmark: SAP OData V2 connector against its sandbox (read N business partners, write M).

    .venv/bin/python -m bench.bench_sap_odata [--size N] [--write M]

``--size`` is the number of A_BusinessPartner rows to read (the world is sized to hold them),
``--write`` the number of creates sent through $batch changesets. API calls are counted both by
the sandbox (``app.stats``) and by the connector's ledger, and compared with the minimum the API
allows: ceil(N / 5000) pages (the server's largest page) and ceil(M / changesets per $batch) + 1 CSRF fetch.
"""
from __future__ import annotations

import argparse
import math
import time

from bench._report import peak_rss_mb, write_section
from concord.connectors.sap_odata import SapODataConfig, SapODataConnector
from concord.connectors.sap_odata.sandbox import OWN_EDMX, start
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World

BP = "API_BUSINESS_PARTNER"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--write", type=int, default=10_000)
    ap.add_argument("--page-size", type=int, default=5000)
    ap.add_argument("--batch-size", type=int, default=100)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    world = World(42, max(10, int(args.size / 0.78) + 50))
    sb = start(world, metadata=[str(OWN_EDMX / f"{BP}.edmx")], max_page_size=5000)
    store = sb.state.store(BP)
    # trim to exactly --size partners (the world decides presence per company)
    extra = store.count("A_BusinessPartner") - args.size
    for key in list(store.tables["A_BusinessPartner"])[:max(0, extra)]:
        store.delete("A_BusinessPartner", key)
    seed_s = time.perf_counter() - t0
    n = store.count("A_BusinessPartner")
    toolkit = HttpToolkit()
    cfg = SapODataConfig(service_url=sb.extra["services"][BP], user="CONCORD_SBX", password=sb.credentials["password"],
                         page_size=args.page_size, batch_size=args.batch_size)
    c = SapODataConnector(cfg, ConnectorContext(system="erp", http=toolkit))
    c.entities()
    sb.app.reset_stats()

    t = time.perf_counter()
    read = sum(len(p.records) for p in c.read("A_BusinessPartner"))
    read_s = time.perf_counter() - t
    read_calls = sb.app.stats.total
    read_ledger = toolkit.ledger.calls("erp", "A_BusinessPartner")
    assert read == n, (read, n)

    sb.app.reset_stats()
    changes = [Change(op="create", entity="A_BusinessPartner", idempotency_key=f"bench-{i}",
                      fields={"BusinessPartnerCategory": "2", "OrganizationBPName1": f"Bench {i} GmbH",
                              "SearchTerm1": f"BENCH{i}", "to_BusinessPartnerAddress": [
                                  {"CityName": "Berlin", "PostalCode": "10115", "Country": "DE"}]})
               for i in range(args.write)]
    t = time.perf_counter()
    results = c.write("A_BusinessPartner", changes)
    write_s = time.perf_counter() - t
    write_calls = sb.app.stats.total
    ok = sum(r.ok for r in results)
    sb.stop()

    min_read = math.ceil(n / 5000)
    min_write = math.ceil(args.write / args.batch_size) + 1
    data = {"partners": n, "written": args.write, "seed_s": round(seed_s, 1),
            "read_s": round(read_s, 2), "read_rps": round(n / read_s), "read_calls": read_calls,
            "read_ledger_calls": read_ledger, "read_min_calls": min_read,
            "write_s": round(write_s, 2), "write_rps": round(args.write / write_s), "write_calls": write_calls,
            "write_ok": ok, "write_min_calls": min_write, "peak_rss_mb": round(peak_rss_mb())}
    table = f"""### sap_odata (pyodata over loopback HTTP, sandbox with Concord's reduced API_BUSINESS_PARTNER)

| step | records | seconds | records/s | API calls (sandbox) | minimum the API allows |
|---|---:|---:|---:|---:|---:|
| full read A_BusinessPartner (+$expand address, customer), `$top={args.page_size}` | {n} | {read_s:.1f} | {n / read_s:,.0f} | {read_calls} | {min_read} (5000 per page) |
| create A_BusinessPartner with address (deep insert), $batch of {args.batch_size} changesets | {args.write} ({ok} ok) | {write_s:.1f} | {args.write / write_s:,.0f} | {write_calls} | {min_write} ({args.batch_size}/batch + CSRF fetch) |

Size: `--size {args.size} --write {args.write}`. Ledger counted {read_ledger} read calls (equal to the sandbox's count).
Peak RSS {data['peak_rss_mb']} MB (sandbox and connector in one process; seeding took {seed_s:.0f} s).
"""
    write_section("sap_odata", table, data=data,
                  command=f".venv/bin/python -m bench.bench_sap_odata --size {args.size} --write {args.write}")
    print(table)
    return data


if __name__ == "__main__":
    main()
