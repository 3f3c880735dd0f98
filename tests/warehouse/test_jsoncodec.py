"""The warehouse's JSON codec stores the JSON value ``json.dumps`` stores, and refuses what it refuses."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.hub.warehouse import jsoncodec

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(_json)
def test_same_json_value_as_the_standard_library(value):
    text = jsoncodec.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert jsoncodec.loads(text) == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", [
    {1: "a", None: "b", False: "c", 2.5: "d"},    # non-string keys become strings, as json.dumps makes them
    {"big": 2 ** 70, "neg": -(2 ** 65)},           # beyond 64 bits: orjson refuses, json.dumps stores
    ["ünïcödé ✓", "\u2028", "a\x00b"],
    (1, 2, (3,)),
])
def test_edge_values_decode_as_before(value):
    assert json.loads(jsoncodec.dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("text", [
    "-9223372036854775809", "18446744073709551616", '{"a": [1, 123456789012345678901234567890]}',
    "1e19", "[1.5e300, -9223372036854775808]", '{"id": "12345678901234567890123"}',
    '{"\u00e9t\u00e9": ["\ud800", 99999999999999999999]}',
])
def test_integers_beyond_64_bits_are_read_whole(text):
    """orjson reads them as rounded floats; a stored value must read back as the standard library reads it
    (a float written as a float stays one)."""
    for given_as in (text, text.encode("utf-8", "surrogatepass")):
        got = jsoncodec.loads(given_as)
        assert got == json.loads(text) and repr(got) == repr(json.loads(text))


def test_non_finite_floats_are_written_as_the_standard_library_writes_them():
    text = jsoncodec.dumps({"x": [1.0, float("nan"), float("inf")]})
    assert text == json.dumps({"x": [1.0, float("nan"), float("inf")]})
    back = jsoncodec.loads(text)["x"]
    assert back[0] == 1.0 and math.isnan(back[1]) and back[2] == math.inf


@dataclasses.dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [dt.datetime(2026, 1, 1), {"when": dt.date(2026, 1, 1)}, _Point(1), {1, 2}])
def test_refuses_what_json_dumps_refuses(value):
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        jsoncodec.dumps(value)


def test_the_warehouse_stores_and_reads_through_it(tmp_path):
    from sqlalchemy import select

    from concord.hub.warehouse import Warehouse
    from concord.hub.warehouse import tables as T

    wh = Warehouse.open(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        now = dt.datetime(2026, 12, 4)
        values = {"g1": {"name": "Müller GmbH", "nested": {"a": [1, 2.5, None]}},
                  "g2": {"name": "Müller GmbH", "n": 2 ** 70}}         # beyond 64 bits: the fallback
        with wh.tx() as conn:
            for gid, value in values.items():
                conn.execute(T.golden.insert().values(entity="account", golden_id=gid, data=value, data_hash="h",
                                                      version=1, deleted=False, title="Müller GmbH",
                                                      created_at=now, updated_at=now))
        with wh.tx() as conn:
            raw = conn.exec_driver_sql("SELECT data FROM golden WHERE golden_id = 'g1'").scalar_one()
            stored = dict(conn.execute(select(T.golden.c.golden_id, T.golden.c.data)).all())
        assert "Müller" in raw                       # UTF-8 text, not \\u escapes
        assert stored == values
    finally:
        wh.dispose()
