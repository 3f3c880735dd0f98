"""The q grammar on its own: framework 1 query-by-example, framework 2+ expressions, evaluation, building."""
from __future__ import annotations

import pytest

from concord.connectors.oracle_fusion import qgrammar as q
from concord.connectors.oracle_fusion.qgrammar import And, Between, Cmp, In, IsNull, Like, Not, Or, QSyntaxError

TYPES = {"Name": "string", "Deptno": "integer", "Amount": "number", "LastUpdateDate": "datetime", "Day": "date",
         "Active": "boolean", "Id": "integer"}


# ---- framework 1 -------------------------------------------------------------------------------
def test_v1_clauses_are_anded_with_semicolons() -> None:
    assert q.parse("Name=ACME;Deptno>=10", 1) == And((Cmp("Name", "=", "ACME"), Cmp("Deptno", ">=", "10")))


def test_v1_compound_condition_on_one_attribute() -> None:
    assert q.parse("Deptno>=10 and <=30", 1) == And((Cmp("Deptno", ">=", "10"), Cmp("Deptno", "<=", "30")))
    assert q.parse("Deptno=10 or =20", 1) == Or((Cmp("Deptno", "=", "10"), Cmp("Deptno", "=", "20")))


def test_v1_wildcards_space_as_equals_and_quotes() -> None:
    assert q.parse("Name SA*", 1) == Like("Name", "SA*")
    assert q.parse("Name<>SA*", 1) == Like("Name", "SA*", negate=True)
    assert q.parse("Name='A;B'", 1) == Cmp("Name", "=", "A;B")
    assert q.parse("LastUpdateDate>=2026-01-01T00:00:00.000+00:00", 1) == \
        Cmp("LastUpdateDate", ">=", "2026-01-01T00:00:00.000+00:00")


@pytest.mark.parametrize("bad", ["", ";", "Name", "Name='open", "=5"])
def test_v1_errors(bad: str) -> None:
    with pytest.raises(QSyntaxError):
        q.parse(bad, 1)


# ---- framework 2+ ------------------------------------------------------------------------------
def test_v2_expression_with_precedence_and_parentheses() -> None:
    node = q.parse("Name = 'A' or Deptno > 5 and (Active = true or Amount IS NULL)", 2)
    assert isinstance(node, Or)
    assert node.items[0] == Cmp("Name", "=", "A")
    assert isinstance(node.items[1], And)


def test_v2_operators() -> None:
    assert q.parse("Deptno BETWEEN 10 AND 20", 3) == Between("Deptno", 10, 20)
    assert q.parse("Name IN ('A', 'B''s')", 2) == In("Name", ("A", "B's"))
    assert q.parse("Name IS NOT NULL", 2) == IsNull("Name", negate=True)
    assert q.parse("Name not like 'SA%'", 2) == Like("Name", "SA%", negate=True)
    assert q.parse("not Deptno <> 3", 2) == Not(Cmp("Deptno", "!=", 3))


def test_v2_refuses_v1_syntax_and_vice_versa() -> None:
    with pytest.raises(QSyntaxError):
        q.parse("Name=ACME;Deptno>=10", 2)
    with pytest.raises(QSyntaxError):
        q.parse("Name SA*", 2)
    # a v2 expression read as v1 is a different (wrong) query: the versions are incompatible
    assert q.parse("Name = 'A' or Deptno > 5", 1) != q.parse("Name = 'A' or Deptno > 5", 2)


@pytest.mark.parametrize("bad", ["Name =", "Name = 'x' and", "(Name = 'x'", "Name ~ 'x'", "Deptno BETWEEN 1",
                                 "Name IN ()", "Name = 'x')"])
def test_v2_errors(bad: str) -> None:
    with pytest.raises(QSyntaxError):
        q.parse(bad, 2)


# ---- evaluation ---------------------------------------------------------------------------------
ROW = {"Name": "Sales West", "Deptno": 20, "Amount": "12.50", "LastUpdateDate": "2026-03-01T10:00:00.000+00:00",
       "Day": "2026-03-01", "Active": True, "Id": 7}


@pytest.mark.parametrize("text,version,expected", [
    ("Name SA*", 1, True), ("Name=sales*", 1, True), ("Deptno>=10 and <=30", 1, True), ("Deptno>20", 1, False),
    ("Deptno > 3", 2, True),  # numeric, not string, comparison
    ("Amount >= 12.5", 2, True), ("LastUpdateDate > '2026-03-01T09:00:00Z'", 2, True),
    ("LastUpdateDate >= '2026-03-01T11:00:00+01:00'", 2, True), ("Day BETWEEN '2026-01-01' AND '2026-02-01'", 2, False),
    ("Name IN ('Sales West', 'X')", 2, True), ("Active = true and Name IS NOT NULL", 2, True),
    ("Missing IS NULL", 2, None),
])
def test_evaluate(text: str, version: int, expected: bool | None) -> None:
    node = q.parse(text, version)
    if expected is None:
        with pytest.raises(QSyntaxError):
            q.evaluate(node, ROW, TYPES)
    else:
        assert q.evaluate(node, ROW, TYPES) is expected


def test_lower_bound_for_seeking() -> None:
    node = q.parse("(LastUpdateDate > '2026-01-02T00:00:00Z' or (LastUpdateDate = '2026-01-02T00:00:00Z' and Id >= 5))"
                   " and Name = 'x'", 2)
    conv = lambda v: q.coerce(v, "datetime")  # noqa: E731
    assert q.lower_bound(node, "LastUpdateDate", conv) == conv("2026-01-02T00:00:00Z")
    assert q.lower_bound(q.parse("Name = 'x' or LastUpdateDate > '2026-01-01'", 2), "LastUpdateDate", conv) is None


# ---- building (what the connector sends) ----------------------------------------------------------
def test_build_cursor_filter_per_version() -> None:
    ts = "2026-03-01T10:00:00.000+00:00"
    assert q.build_cursor_filter(1, "LastUpdateDate", ts, key_field="Id", key=7) == f"LastUpdateDate>={ts}"
    v2 = q.build_cursor_filter(2, "LastUpdateDate", ts, key_field="Id", key=7)
    assert v2 == f"(LastUpdateDate > '{ts}' or (LastUpdateDate = '{ts}' and Id >= 7))"
    assert "Id > 'K''1'" in q.build_cursor_filter(4, "LastUpdateDate", ts, key_field="Id", key="K'1", strict=True)


@pytest.mark.parametrize("version", [1, 2, 4])
def test_built_filter_round_trips_through_the_parser(version: int) -> None:
    ts = "2026-03-01T10:00:00.000+00:00"
    text = q.combine(version, "Name=Sales E*" if version == 1 else "Name LIKE 'Sales E*'",
                     q.build_cursor_filter(version, "LastUpdateDate", ts, key_field="Id", key=7))
    node = q.parse(text, version)
    assert q.evaluate(node, ROW, TYPES) is False       # the name does not match
    assert q.evaluate(node, {**ROW, "Name": "Sales East"}, TYPES) is True
    later = {**ROW, "Name": "Sales East", "LastUpdateDate": "2026-03-01T09:59:59.999+00:00"}
    assert q.evaluate(node, later, TYPES) is False
