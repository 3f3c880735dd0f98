"""The NAV filter language on its own: parser, evaluator and the builders the connector uses."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from concord.connectors.soap_erp import navfilter as nf


def match(criteria: str, values: list, xsd: str = "string") -> list:
    pred = nf.compile_criteria(criteria, nf.value_parser(xsd))
    return [v for v in values if pred(v)]


NAMES = ["Acme GmbH", "ACME Inc", "Bluepeak Ltd", "", None, "acme|pipe", "Zenith"]


@pytest.mark.parametrize("criteria,expected", [
    ("Acme GmbH", ["Acme GmbH"]),
    ("=Zenith", ["Zenith"]),
    ("<>''", ["Acme GmbH", "ACME Inc", "Bluepeak Ltd", "acme|pipe", "Zenith"]),
    ("''", ["", None]),
    ("@*acme*", ["Acme GmbH", "ACME Inc", "acme|pipe"]),
    ("*acme*", ["acme|pipe"]),
    ("Acme*", ["Acme GmbH"]),
    ("Zen?th", ["Zenith"]),
    ("A..B", ["Acme GmbH", "ACME Inc"]),
    ("B..", ["Bluepeak Ltd", "acme|pipe", "Zenith"]),
    ("..ACME Inc", ["ACME Inc", "", None]),          # ordinal order: "ACME" < "Acme"
    ("@..acme inc", ["Acme GmbH", "ACME Inc", "", None]),
    ("Zenith|Bluepeak Ltd", ["Bluepeak Ltd", "Zenith"]),
    ("'acme|pipe'", ["acme|pipe"]),
    ("@acme*&<>ACME Inc", ["Acme GmbH", "acme|pipe"]),
    ("(Zenith|Acme GmbH)&<>Zenith", ["Acme GmbH"]),
    ("<>@*acme*", ["Bluepeak Ltd", "", None, "Zenith"]),
    ("@<>*acme*", ["Bluepeak Ltd", "", None, "Zenith"]),
])
def test_text_criteria(criteria, expected):
    assert match(criteria, NAMES) == expected


def test_typed_values_dates_decimals_booleans():
    days = [dt.date(2024, 1, 1), dt.date(2024, 6, 30), dt.date(2025, 1, 1), None]
    assert match(">=2024-06-30", days, "date") == days[1:3]
    assert match("2024-01-01..2024-12-31", days, "date") == days[:2]
    assert match("..2024-01-01", days, "date") == [days[0], None]
    amounts = [Decimal("0"), Decimal("10.5"), Decimal("1000")]
    assert match("10.5..999", amounts, "decimal") == [Decimal("10.5")]
    assert match(">10|0", amounts, "decimal") == [Decimal("0"), Decimal("10.5"), Decimal("1000")]
    assert match("<>0", amounts, "decimal") == amounts[1:]
    assert match("Yes", [True, False], "boolean") == [True]
    assert match("false", [True, False], "boolean") == [False]


def test_quotes_escape_and_double_quote():
    assert match("'O''Brien & Sons'", ["O'Brien & Sons", "O"]) == ["O'Brien & Sons"]
    assert nf.parse("'a..b'") == nf.Compare("=", nf.Value("a..b", quoted=True))


def test_empty_criteria_is_no_filter():
    assert nf.parse("") is None and nf.parse("   ") is None
    assert match("", NAMES) == NAMES


@pytest.mark.parametrize("bad", ["(A|B", "'open", "A|", "..", ">=", "a=b", "A)"])
def test_syntax_errors_are_clear(bad):
    with pytest.raises(nf.FilterSyntaxError) as exc:
        nf.compile_criteria(bad)
    assert "invalid filter" in str(exc.value) or "not valid" in str(exc.value)


def test_type_errors_name_the_value():
    with pytest.raises(nf.FilterSyntaxError, match="not a valid date"):
        nf.compile_criteria(">=31/12/2024", nf.value_parser("date"))
    with pytest.raises(nf.FilterSyntaxError, match="not a valid decimal"):
        nf.compile_criteria("abc", nf.value_parser("decimal"))
    with pytest.raises(nf.FilterSyntaxError, match="wildcards"):
        nf.compile_criteria(">A*")


@pytest.mark.parametrize("value", ["plain", "A|B", "x&y", "(p)", "<>", "50% *off*", "Inc.", "a..b", "O'Neil", "",
                                   " padded ", "@home", "why?"])
def test_quote_round_trips_any_literal(value):
    assert match(nf.quote(value), [value, "other"]) == [value]


def test_builders():
    assert nf.any_of(["10000", "A|B"]) == "10000|'A|B'"
    assert match(nf.any_of(["10000", "A|B"]), ["10000", "A|B", "A"]) == ["10000", "A|B"]
    assert nf.at_least(dt.date(2024, 5, 1)) == "2024-05-01.."
    assert nf.between(1, 5) == "1..5"
    with pytest.raises(ValueError):
        nf.any_of([])
