"""Oracle Fusion REST connector benchmark: full read, incremental read, batch writes (clean and with bad parts).

    .venv/bin/python -m bench.bench_oracle_fusion [--size 100000] [--writes 10000] [--batch 100]

API calls come from the sandbox's ``app.stats`` (what the server answered) and the hub ledger (what the
client sent); the minimum is what the API allows: ceil(records / 500) pages for a read (500 is the
largest ``limit``), ceil(changes / batch) batch calls for writes, plus the describe call.
"""
from __future__ import annotations

import argparse
import math
import time

from bench._report import peak_rss_mb, write_section
from concord.hub.contracts import Change, ConnectorContext
from concord.hub.http import HttpToolkit
from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion import OracleFusionConfig, OracleFusionConnector
from concord.connectors.oracle_fusion.sandbox import start
from concord.connectors.oracle_fusion.sandbox.seed import SHARE

ENTITY = "customerAccounts"


def connector(sb, toolkit: HttpToolkit, **over) -> OracleFusionConnector:
    c = sb.credentials
    cfg = OracleFusionConfig(base_url=sb.base_url, auth={"kind": "basic", "user": c["user"], "password": c["password"]},
                             resources={ENTITY: OracleFusionConfig.model_fields["resources"].default_factory()[ENTITY]},
                             **over)
    return OracleFusionConnector(cfg, ConnectorContext(system="oracle_fusion", http=toolkit))


def measure(sb, toolkit: HttpToolkit, fn) -> dict:
    sb.app.reset_stats()
    before = toolkit.ledger.calls("oracle_fusion")
    t0 = time.perf_counter()
    n = fn()
    secs = time.perf_counter() - t0
    return {"records": n, "seconds": round(secs, 2), "rps": round(n / secs) if secs else 0,
            "server_calls": sb.app.stats.total, "client_calls": toolkit.ledger.calls("oracle_fusion") - before,
            "by_route": dict(sb.app.stats.by_route)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000, help="customer accounts to read")
    ap.add_argument("--writes", type=int, default=10_000, help="creates to write")
    ap.add_argument("--batch", type=int, default=100, help="parts per batch")
    args = ap.parse_args()

    t0 = time.perf_counter()
    sb = start(World(42, math.ceil(args.size / SHARE[ENTITY])), resources=(ENTITY,))
    seed_s = time.perf_counter() - t0
    held = sb.state.count(ENTITY)
    toolkit = HttpToolkit()
    rows: list[dict] = []
    try:
        for version, paging in ((4, "auto"), (1, "offset")):
            conn = connector(sb, toolkit, framework_version=version, paging=paging, batch_size=args.batch)
            conn.entities()
            state = {}

            def full() -> int:
                n, cp = 0, None
                for page in conn.read(ENTITY):
                    n += len(page.records)
                    cp = page.checkpoint
                state["cp"] = cp
                return n
            r = measure(sb, toolkit, full)
            rows.append((f"full read, framework {version}, {'keyset' if version >= 2 else 'offset'} paging", r,
                         math.ceil(held / 500)))
            keys = sorted(sb.state.tables[ENTITY].rows)[:: max(1, held // 1000)][:1000]
            for k in keys:
                sb.state.touch(ENTITY, k, PaymentTerms="NET60")
            r = measure(sb, toolkit, lambda: sum(len(p.records) for p in conn.read(ENTITY, since=state["cp"])))
            rows.append((f"incremental read after {len(keys)} edits, framework {version}", r,
                         math.ceil(r["records"] / 500)))

        conn = connector(sb, toolkit, framework_version=4, batch_size=args.batch)
        conn.entities()

        def creates(tag: str, bad_every: int = 0):
            out = []
            for i in range(args.writes):
                fields = {"AccountName": f"Bench {tag} {i}", "CurrencyCode": "EUR", "CreditLimit": 1000 + i}
                if bad_every and i % bad_every == bad_every - 1:
                    fields = {"CurrencyCode": "EUR"}          # no AccountName: JBO-27014
                out.append(Change(op="create", entity=ENTITY, fields=fields, idempotency_key=f"{tag}-{i}",
                                  golden_id=f"G-{tag}-{i}"))
            return out
        for tag, bad_every in (("clean", 0), ("one-bad-in-100", 100)):
            changes = creates(tag, bad_every)
            res: list = []
            r = measure(sb, toolkit, lambda: len(res.extend(conn.write(ENTITY, changes)) or res))
            r["ok"] = sum(1 for x in res if x.ok)
            r["failed"] = len(res) - r["ok"]
            rows.append((f"create {args.writes} in batches of {args.batch} ({tag})", r,
                         math.ceil(args.writes / args.batch)))
    finally:
        sb.stop()

    lines = [f"Oracle Fusion REST (sandbox on loopback, plain http; {held} customer accounts with their sites, "
             f"page size 500; seeded in {seed_s:.1f}s). Calls = HTTP calls the sandbox answered; minimum = what "
             "the API allows (500 rows per page, one batch call per batch).", "",
             "| run | records | seconds | records/s | API calls | minimum | extra |", "|---|---:|---:|---:|---:|---:|---|"]
    data = {"size": args.size, "held": held, "writes": args.writes, "batch": args.batch, "peak_rss_mb": peak_rss_mb(),
            "runs": []}
    for name, r, minimum in rows:
        extra = ", ".join(f"{k}: {v}" for k, v in sorted(r["by_route"].items()) if k not in ("query", "batch"))
        if "failed" in r:
            extra = (extra + "; " if extra else "") + f"{r['ok']} ok, {r['failed']} failed"
        lines.append(f"| {name} | {r['records']} | {r['seconds']} | {r['rps']} | {r['server_calls']} | {minimum} | "
                     f"{extra or '-'} |")
        data["runs"].append({"name": name, "minimum": minimum, **r})
    lines.append("")
    lines.append(f"Peak RSS of the process (client and sandbox together): {peak_rss_mb():.0f} MB. The failing creates "
                 "cost one extra batch call per batch: the all-or-none answer names the bad part, the rest is re-sent once.")
    table = "\n".join(lines)
    print(table)
    write_section("oracle_fusion", table, data=data,
                  command=f".venv/bin/python -m bench.bench_oracle_fusion --size {args.size} --writes {args.writes} "
                          f"--batch {args.batch}")


if __name__ == "__main__":
    main()
