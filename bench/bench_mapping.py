"""Mapping engine throughput: records/s of to_canonical for a 10-field mapping (no I/O, no API calls).

    .venv/bin/python -m bench.bench_mapping [--size N] [--no-write]

Measures compile time, to_canonical (raw -> validated model), to_canonical_flat (+ flatten to JSON-safe
values), to_source (flat -> the system's payload) and record_hash, each over the same N records.
"""
from __future__ import annotations

import argparse
import random
import time

from bench._report import peak_rss_mb, write_section
from concord.hub.canonical import record_hash
from concord.hub.mapping import compile_mapping

MAPPING = {
    "entity": "account",
    "source": "Account",
    "fields": {
        "name": "Name",
        "erp_customer_number": "AccountNumber",
        "tax_id": {"from": "VAT_Id__c", "transform": "tax_id"},
        "billing_address.city": "BillingCity",
        "billing_address.country": {"from": "BillingCountry", "transform": {"country": {"out": "name"}}},
        "credit_limit": {"from": "Credit_Limit__c", "transform": {"decimal": {"decimal_sep": ",", "thousands_sep": "."}}},
        "lifecycle": {"from": "Type", "map": {"Customer": "customer", "Prospect": "prospect"}, "default": "prospect"},
        "currency": {"const": "EUR"},
        "email": {"from": "Email", "transform": "email"},
        "created_at": {"from": "CreatedDate", "transform": {"datetime": "salesforce"}, "direction": "in"},
    },
}
COUNTRIES = ["Germany", "Deutschland", "DE", "France", "USA", "United Kingdom", "中国", "Österreich"]


def records(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append({
            "Name": f"  Company {i} GmbH ", "AccountNumber": str(100000 + i), "VAT_Id__c": f"de {i:09d}",
            "BillingCity": rnd.choice(["Berlin", "Paris", "", "Wien"]), "BillingCountry": rnd.choice(COUNTRIES),
            "Credit_Limit__c": f"{rnd.randint(0, 999)}.{rnd.randint(0, 999):03d},{rnd.randint(0, 99):02d}",
            "Type": rnd.choice(["Customer", "Prospect", "", "customer"]), "Email": f"Info{i}@Example.com",
            "CreatedDate": f"2024-01-{1 + i % 28:02d}T10:{i % 60:02d}:00.000+0000",
        })
    return out


def _timed(fn, items) -> tuple[float, list]:
    start = time.perf_counter()
    out = [fn(x) for x in items]
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="print only, do not update BENCHMARKS.md")
    args = parser.parse_args()
    n = args.size

    start = time.perf_counter()
    mapping = compile_mapping(MAPPING, file="bench")
    compile_s = time.perf_counter() - start
    raws = records(n)
    for country in COUNTRIES:              # warm caches (country tables incl. local names, pydantic)
        mapping.to_canonical({**raws[0], "BillingCountry": country})

    t_model, _ = _timed(mapping.to_canonical, raws)
    t_flat, flats = _timed(mapping.to_canonical_flat, raws)
    t_out, _ = _timed(mapping.to_source, flats)
    t_hash, _ = _timed(record_hash, flats)

    rows = [("compile (once)", f"{compile_s * 1000:.1f} ms", "-"),
            ("to_canonical (raw -> model)", f"{n / t_model:,.0f}", f"{t_model / n * 1e6:.1f}"),
            ("to_canonical_flat (+ flatten)", f"{n / t_flat:,.0f}", f"{t_flat / n * 1e6:.1f}"),
            ("to_source (flat -> payload)", f"{n / t_out:,.0f}", f"{t_out / n * 1e6:.1f}"),
            ("record_hash (flat)", f"{n / t_hash:,.0f}", f"{t_hash / n * 1e6:.1f}")]
    table = [f"Mapping engine, 10-field Account mapping (7 transforms, a value map, a const), {n:,} records, "
             "one process. API calls: none (pure CPU; the minimum is 0).", "",
             "| step | records/s | µs/record |", "|---|---:|---:|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    table.append(f"\nPeak RSS: {peak_rss_mb():.0f} MB (includes the {n:,} input records held in memory).")
    markdown = "\n".join(table)
    print(markdown)
    if not args.no_write:
        write_section("mapping", markdown, command=f".venv/bin/python -m bench.bench_mapping --size {n}", data={
            "size": n, "compile_ms": compile_s * 1000, "to_canonical_per_s": n / t_model,
            "to_canonical_flat_per_s": n / t_flat, "to_source_per_s": n / t_out, "record_hash_per_s": n / t_hash,
            "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
