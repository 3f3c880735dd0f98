"""Property tests: any value the connector puts into ``q`` comes back from the sandbox's parser as one literal.

Generated values mix every kind of whitespace (space, tab, CR, LF, VT, FF, NBSP, em space, line/paragraph
separators, ...), both quote characters, ``;``, operators, wildcards and the keywords, so a value that could split a
clause (``;``), join a condition (``and``/``or``) or close a quote early is caught.
"""
from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from concord.connectors.oracle_fusion import qgrammar as q
from concord.connectors.oracle_fusion.qgrammar import And, Cmp, Like, Or

WHITESPACE = [" ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u00a0",
              "\u1680", "\u2000", "\u2003", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
PIECES = WHITESPACE + ["'", "''", '"', ";", "*", "%", "=", "!=", "<>", ">=", "<", ">", "(", ")", ",", "and", "or",
                       "AND", "Or", "not", "null", "is", "like", "between", "in", "true", "x", "ACME", "1", "-", ":",
                       "é", "中", "\\", "\x00"]
TRICKY = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
VALUES = st.one_of(TRICKY, st.text(max_size=30), st.text(alphabet=string.printable, max_size=30))
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _value_of(node: object) -> str:
    assert isinstance(node, (Cmp, Like)), node
    return node.value if isinstance(node, Cmp) else node.pattern


@SETTINGS
@given(VALUES)
@example("a\tand\tb")
@example("x\nor\nOther=1")
@example("a;Other=1")
@example("it's \"quoted\"")
@example("  padded  ")
@example("")
@example("and")
@example("\u2003or\u2003")
def test_v1_value_is_one_literal(value: str) -> None:
    text = q.combine(1, "Other=1", f"Name={q.literal(value, 1)}")
    node = q.parse(text, 1)
    assert isinstance(node, And) and len(node.items) == 2, (value, text, node)
    assert node.items[0] == Cmp("Other", "=", "1")
    assert node.items[1].field == "Name"
    assert _value_of(node.items[1]) == value, (value, text)


@SETTINGS
@given(VALUES, st.booleans())
def test_v1_cursor_filter_is_one_condition(value: str, strict: bool) -> None:
    text = q.combine(1, "Status=OPEN", q.build_cursor_filter(1, "Name", value, strict=strict))
    node = q.parse(text, 1)
    assert node == And((Cmp("Status", "=", "OPEN"), Cmp("Name", ">" if strict else ">=", value))), (value, text)


@SETTINGS
@given(VALUES, VALUES, st.booleans())
def test_v2_cursor_filter_round_trips(value: str, key: str, strict: bool) -> None:
    for version in (2, 4):
        text = q.combine(version, "Status = 'OPEN'",
                         q.build_cursor_filter(version, "Name", value, key_field="Id", key=key, strict=strict))
        node = q.parse(text, version)
        assert node == And((Cmp("Status", "=", "OPEN"), Or((
            Cmp("Name", ">", value), And((Cmp("Name", "=", value), Cmp("Id", ">" if strict else ">=", key))))))), text


@pytest.mark.parametrize("value", ["2026-03-01T10:00:00.000+00:00", "ACME", "C-100/2", "300000047"])
def test_v1_plain_values_stay_bare(value: str) -> None:
    assert q.literal(value, 1) == value


@pytest.mark.parametrize("value,expected", [
    ("a b", '"a b"'), ("a\tand\tb", '"a\tand\tb"'), ('say "hi"', "'say \"hi\"'"), ("it's \"x\"", "'it''s \"x\"'"),
    ("and", '"and"'), ("", '""'), ("A;B", '"A;B"'), ("x\u2028or y", '"x\u2028or y"'),
])
def test_v1_quoting(value: str, expected: str) -> None:
    assert q.literal(value, 1) == expected


def test_v1_dates_and_numbers() -> None:
    when = dt.datetime(2026, 3, 1, 10, tzinfo=dt.timezone.utc)
    assert q.literal(when, 1) == "2026-03-01T10:00:00+00:00" and q.literal(7, 1) == "7"
