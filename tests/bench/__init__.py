"""Smoke tests of the benchmark scripts (behaviour only, never timings)."""
