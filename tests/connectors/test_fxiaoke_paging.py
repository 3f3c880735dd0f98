"""The keyset paginator on its own: no HTTP, a list that answers like data/query."""
from __future__ import annotations

import pytest

from concord.connectors.fxiaoke.read import KeysetPaginator, iso_to_ms, ms_to_iso
from concord.hub.errors import RecordError


def answer(rows, sqi):
    """Evaluate the paginator's filters/orders over ``rows`` like the server does (offset is always 0)."""
    assert sqi["offset"] == 0 and 1 <= sqi["limit"] <= 100
    out = rows
    for f in sqi["filters"]:
        v = f["field_values"][0]
        key = "last_modified_time" if f["field_name"] == "last_modified_time" else "_id"
        op = {"GTE": lambda a: a >= v, "GT": lambda a: a > v, "EQ": lambda a: a == v}[f["operator"]]
        out = [r for r in out if op(r[key])]
    out = sorted(out, key=lambda r: (r["last_modified_time"], r["_id"]))
    return out[: sqi["limit"]]


def drain(rows, limit=100, since=None):
    pag = KeysetPaginator(limit=limit, since_ms=since)
    got, calls = [], 0
    while not pag.done:
        calls += 1
        got += pag.take(answer(rows, pag.search_query_info()))
        assert calls < 1000
    return got, calls


def rows_with(ts_list):
    return [{"_id": f"{i:024x}", "last_modified_time": ts} for i, ts in enumerate(ts_list)]


def test_distinct_timestamps_cost_about_one_call_per_page():
    rows = rows_with(range(1000, 1250))
    got, calls = drain(rows)
    assert [r["_id"] for r in got] == [r["_id"] for r in sorted(rows, key=lambda r: r["last_modified_time"])]
    assert calls == 3   # 100 + 100 + 50 (the last page, shorter than limit, ends the read)


def test_more_ties_than_a_page_are_walked_by_id_and_nothing_is_lost():
    rows = rows_with([5] * 30 + [7] * 260 + [9] * 40)
    got, _ = drain(rows)
    ids = [r["_id"] for r in got]
    assert len(ids) == len(set(ids)) == len(rows)


def test_exactly_full_last_page_ends_with_an_empty_answer():
    got, calls = drain(rows_with(range(200)))
    assert len(got) == 200 and calls == 3


def test_since_is_inclusive():
    rows = rows_with([1, 2, 2, 3])
    got, _ = drain(rows, since=2)
    assert [r["last_modified_time"] for r in got] == [2, 2, 3]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_small_pages_with_ties(limit):
    rows = rows_with([1, 1, 1, 2, 2, 3, 3, 3, 3, 4])
    got, _ = drain(rows, limit=limit)
    assert sorted(r["_id"] for r in got) == sorted(r["_id"] for r in rows)


def test_row_without_epoch_ms_is_a_record_error():
    pag = KeysetPaginator(limit=2, entity="AccountObj")
    with pytest.raises(RecordError, match="AccountObj"):
        pag.take([{"_id": "a", "last_modified_time": "yesterday"}, {"_id": "b", "last_modified_time": 1}])


def test_cursor_values_round_trip_exactly():
    for ms in (0, 1704067200123, 1768257960000):
        assert iso_to_ms(ms_to_iso(ms)) == ms
    assert iso_to_ms("1704067200000") == 1704067200000
    assert ms_to_iso(1704067200123) == "2024-01-01T00:00:00.123+00:00"
