"""The OData V2 $filter parser and evaluator."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from concord.connectors.sap_odata.filter import FilterError, evaluate, parse_filter, properties_of

UTC = dt.timezone.utc
ROW = {"Name": "Acme O'Neil GmbH", "Qty": Decimal("12.500"), "N": 10, "Flag": True, "Empty": None,
       "D": dt.datetime(2024, 1, 1, tzinfo=UTC), "T": dt.timedelta(hours=10, minutes=11, seconds=12),
       "TS": dt.datetime(2024, 1, 1, 8, 0, tzinfo=UTC), "G": "0f8fad5b-d9cb-469f-a165-70867728950e"}


@pytest.mark.parametrize("expr,expected", [
    ("Name eq 'Acme O''Neil GmbH'", True),
    ("substringof('Neil', Name)", True),
    ("startswith(Name, 'Acme') and endswith(Name, 'GmbH')", True),
    ("tolower(Name) eq 'acme o''neil gmbh'", True),
    ("Qty eq 12.5M and N eq 10L and N gt 9", True),
    ("D eq datetime'2024-01-01T00:00:00'", True),
    ("TS ge datetimeoffset'2024-01-01T09:00:00+01:00'", True),
    ("T ge time'PT10H11M12S' and T lt time'PT10H11M13S'", True),
    ("G eq guid'0f8fad5b-d9cb-469f-a165-70867728950e'", True),
    ("Empty eq null and not (Flag eq false)", True),
    ("(N lt 5 or N gt 20) or Qty le 1", False),
    ("Empty gt 3", False),
    ("length(Name) eq 16", True),
])
def test_evaluates(expr, expected):
    assert evaluate(parse_filter(expr), ROW) is expected


def test_precedence_and_binds_tighter_than_or():
    assert evaluate(parse_filter("N eq 1 or N eq 10 and Flag eq true"), ROW) is True
    assert evaluate(parse_filter("(N eq 1 or N eq 10) and Flag eq false"), ROW) is False


@pytest.mark.parametrize("expr", ["Name eq", "eq 1", "Name eq 'open", "foo(Name)", "datetime'nope' eq D",
                                  "Name eq 1)", "substringof('a')", ""])
def test_rejects_invalid(expr):
    with pytest.raises(FilterError):
        parse_filter(expr)


def test_properties_used():
    assert properties_of(parse_filter("A eq 1 and (substringof('x', B) or not C eq 2)")) == {"A", "B", "C"}
