"""Every built-in transform, forward and reverse (round trips where invertible)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concord.hub.mapping import TRANSFORMS, NoParams, Params, TransformError, register_transform

UTC = dt.timezone.utc


def bind(name: str, **params):
    t = TRANSFORMS[name]
    return t.bind(t.params.model_validate(params))


def roundtrip(name: str, source, canonical, written=None, **params):
    b = bind(name, **params)
    assert b.forward(source) == canonical
    assert b.reverse is not None
    back = b.reverse(canonical)
    assert back == (source if written is None else written)
    assert b.forward(back) == canonical


# ---------------------------------------------------------------- text
def test_text_transforms():
    assert bind("strip").forward("  a \n b  ") == "a b"
    assert bind("upper").forward("de") == "DE" and bind("lower").forward("A@B.DE") == "a@b.de"
    assert bind("title").forward("ACME CORP") == "Acme Corp"
    for name in ("strip", "upper", "lower", "title"):
        assert bind(name).reverse("x") == "x"
    assert bind("upper").forward(42) == "42"
    with pytest.raises(TransformError):
        bind("upper").forward(["a"])


def test_default_and_join():
    d = bind("default", value="n/a")
    assert d.forward(None) == "n/a" and d.forward("x") == "x" and TRANSFORMS["default"].handles_none
    j = bind("join", sep=";")
    assert j.forward(["FSUID_1", " FSUID_2 ", None]) == "FSUID_1;FSUID_2"
    assert j.reverse("FSUID_1;FSUID_2") == ["FSUID_1", "FSUID_2"]


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("source, params, value", [
    ("1234.5", {}, Decimal("1234.5")), (1234, {}, Decimal(1234)), (12.5, {}, Decimal("12.5")),
    ("1.234,56", {"decimal_sep": ",", "thousands_sep": "."}, Decimal("1234.56")),
    ("1 234,56", {"decimal_sep": ",", "thousands_sep": " "}, Decimal("1234.56")),
    ("1\u00a0234,56", {"decimal_sep": ",", "thousands_sep": " "}, Decimal("1234.56")),
    ("1,234.56", {"thousands_sep": ","}, Decimal("1234.56")),
    ("12.00-", {}, Decimal("-12.00")), ("(7.50)", {}, Decimal("-7.50")), ("-3", {}, Decimal(-3)),
])
def test_decimal_forward(source, params, value):
    assert bind("decimal", **params).forward(source) == value


def test_decimal_reverse_and_errors():
    roundtrip("decimal", "1.234,56", Decimal("1234.56"), decimal_sep=",", thousands_sep=".")
    roundtrip("decimal", "1.234.567", Decimal("1234567"), decimal_sep=",", thousands_sep=".")
    assert bind("decimal").reverse(Decimal("5000.00")) == "5000"
    assert bind("decimal", decimal_sep=",").reverse(Decimal("-0.50")) == "-0,5"
    for bad in ("abc", "1.2.3", True, "NaN", "Infinity"):
        with pytest.raises(TransformError):
            bind("decimal").forward(bad)
    with pytest.raises(TransformError, match="decimal separator"):
        bind("decimal", decimal_sep=",").forward("1.5")


def test_int():
    i = bind("int")
    assert i.forward("0010") == 10 and i.forward("12.0") == 12 and i.forward(7) == 7 and i.reverse(10) == 10
    for bad in ("1.5", "x", False):
        with pytest.raises(TransformError):
            i.forward(bad)


# ---------------------------------------------------------------- booleans
def test_bool_defaults_and_literals():
    b = bind("bool")
    for v in ("X", "yes", "Y", "1", "true", "ja", "是", True, 1):
        assert b.forward(v) is True
    for v in ("no", "N", "0", "false", "nein", "否", False, 0):
        assert b.forward(v) is False
    with pytest.raises(TransformError, match="true/false"):
        b.forward("maybe")
    sap = bind("bool", true_values=["X"], false_values=["-"], true_out="X", false_out="")
    assert sap.forward("x") is True and sap.reverse(True) == "X" and sap.reverse(False) == ""
    with pytest.raises(TransformError):
        sap.forward("yes")


# ---------------------------------------------------------------- dates and times
@pytest.mark.parametrize("fmt, source, value", [
    ("iso", "2024-01-31", dt.date(2024, 1, 31)),
    ("oracle", "2024-01-31", dt.date(2024, 1, 31)),
    ("sap", "/Date(1706659200000)/", dt.date(2024, 1, 31)),
    ("epoch_ms", 1706659200000, dt.date(2024, 1, 31)),
    ("epoch_s", 1706659200, dt.date(2024, 1, 31)),
    ("%d.%m.%Y", "31.01.2024", dt.date(2024, 1, 31)),
    ("%m/%d/%Y", "01/31/2024", dt.date(2024, 1, 31)),
])
def test_date_roundtrip(fmt, source, value):
    roundtrip("date", source, value, format=fmt)


def test_date_accepts_datetimes_and_sap_offset():
    assert bind("date").forward("2024-01-31T23:00:00+00:00") == dt.date(2024, 1, 31)
    assert bind("date", format="sap").forward("/Date(1706659200000+0000)/") == dt.date(2024, 1, 31)
    assert bind("date", format="epoch_ms").forward("1706659200000") == dt.date(2024, 1, 31)
    assert bind("date", format="sap").reverse("2024-01-31") == "/Date(1706659200000)/"
    assert bind("date", format="sap_offset").reverse(dt.date(2024, 1, 31)) == "/Date(1706659200000+0000)/"
    for fmt, bad in (("iso", "31.01.2024"), ("sap", "2024-01-31"), ("%d.%m.%Y", "2024-01-31"), ("epoch_ms", "x")):
        with pytest.raises(TransformError):
            bind("date", format=fmt).forward(bad)


@pytest.mark.parametrize("fmt, source, value", [
    ("iso", "2024-01-01T10:00:00Z", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("sap", "/Date(1704103200000)/", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("sap_offset", "/Date(1704103200000+0000)/", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("epoch_ms", 1704103200000, dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("epoch_s", 1704103200, dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("salesforce", "2024-01-01T10:00:00.000+0000", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("oracle", "2024-01-01T10:00:00+00:00", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("zoho", "2024-01-01T10:00:00+00:00", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("%d.%m.%Y %H:%M", "01.01.2024 10:00", dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
])
def test_datetime_roundtrip(fmt, source, value):
    roundtrip("datetime", source, value, format=fmt)


def test_datetime_offsets_and_zones():
    sap = bind("datetime", format="sap")
    local = sap.forward("/Date(1704103200000+0060)/")      # offset in minutes: UTC+1, same instant
    assert local == dt.datetime(2024, 1, 1, 10, tzinfo=UTC) and local.utcoffset() == dt.timedelta(hours=1)
    zoho = bind("datetime", format="zoho")
    moment = zoho.forward("2024-01-01T15:30:00+05:30")
    assert moment == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert bind("datetime", format="zoho", tz="Asia/Kolkata").reverse(moment) == "2024-01-01T15:30:00+05:30"
    berlin = bind("datetime", format="%Y-%m-%d %H:%M", tz="Europe/Berlin")
    assert berlin.forward("2024-07-01 12:00") == dt.datetime(2024, 7, 1, 10, tzinfo=UTC)
    assert berlin.reverse(dt.datetime(2024, 7, 1, 10, tzinfo=UTC)) == "2024-07-01 12:00"
    assert bind("datetime").reverse("2024-01-01T10:00:00+00:00") == "2024-01-01T10:00:00Z"
    assert bind("datetime").forward("2024-01-01 10:00:00") == dt.datetime(2024, 1, 1, 10, tzinfo=UTC)
    with pytest.raises(TransformError):
        bind("datetime", format="sap").forward("2024-01-01T00:00:00Z")


def test_time_params_are_checked():
    with pytest.raises(ValueError, match="format must be one of"):
        TRANSFORMS["date"].params.model_validate({"format": "german"})
    with pytest.raises(ValueError, match="unknown time zone"):
        TRANSFORMS["datetime"].params.model_validate({"tz": "Mars/Olympus"})


# ---------------------------------------------------------------- geo
@pytest.mark.parametrize("source, code", [
    ("DE", "DE"), ("de", "DE"), ("DEU", "DE"), ("Germany", "DE"), ("Deutschland", "DE"), ("Allemagne", "DE"),
    ("China", "CN"), ("中国", "CN"), ("United States", "US"), ("USA", "US"), ("U.S.", "US"), ("u.s.a.", "US"),
    ("United Kingdom", "GB"), ("UK", "GB"), ("Österreich", "AT"), ("Schweiz", "CH"), ("Côte d'Ivoire", "CI"),
    ("South Korea", "KR"), ("Niederlande", "NL"), ("España", "ES"), ("Japan", "JP"), ("日本", "JP"),
])
def test_country_forward(source, code):
    assert bind("country").forward(source) == code


def test_country_reverse_and_errors():
    assert bind("country", out="iso3").reverse("DE") == "DEU"
    assert bind("country", out="name").reverse("US") == "United States"
    assert bind("country", out="name").reverse("KR") == "South Korea"
    assert bind("country").reverse("DE") == "DE"
    roundtrip("country", "Germany", "DE", out="name")
    with pytest.raises(TransformError, match="unknown country"):
        bind("country").forward("Atlantis")


@pytest.mark.parametrize("source, code", [
    ("EUR", "EUR"), ("eur", "EUR"), ("€", "EUR"), ("Euro", "EUR"), ("$", "USD"), ("US Dollar", "USD"),
    ("£", "GBP"), ("¥", "JPY"), ("RMB", "CNY"), ("人民币", "CNY"), ("Yuan Renminbi", "CNY"), ("CHF", "CHF"),
])
def test_currency(source, code):
    assert bind("currency").forward(source) == code


def test_currency_params_and_errors():
    assert bind("currency", yen="CNY").forward("¥") == "CNY"
    assert bind("currency", dollar="CAD").forward("$") == "CAD"
    assert bind("currency").reverse("EUR") == "EUR"
    with pytest.raises(TransformError, match="unknown currency"):
        bind("currency").forward("Dogecoin")


def test_phone():
    de = bind("phone", region="DE")
    assert de.forward("030 1234567") == "+49301234567"
    assert de.forward("+49 (30) 123-4567") == "+49301234567"
    assert de.forward("0049 30 1234567") == "+49301234567"
    assert bind("phone").forward("+1 650-253-0000") == "+16502530000"
    assert de.reverse("+49301234567") == "+49301234567"
    assert bind("phone", region="DE", out="international").reverse("+49301234567") == "+49 30 1234567"
    assert bind("phone", region="DE", out="national").reverse("+49301234567") == "030 1234567"
    roundtrip("phone", "+49 30 1234567", "+49301234567", region="DE", out="international")
    with pytest.raises(TransformError, match="no country code"):
        bind("phone").forward("030 1234567")
    for bad in ("12", "not a number", "+49 1"):
        with pytest.raises(TransformError):
            de.forward(bad)


def test_phone_invalid_keep_normalises_what_parses_and_keeps_the_rest_as_typed():
    keep = bind("phone", invalid="keep")
    assert keep.forward("+49 (30) 123-4567") == "+49301234567"      # same form as a strict mapping gives
    assert keep.forward("  001-686882173 ") == "001-686882173"        # invalid: kept, stripped, no error
    assert keep.forward("030 1234567") == "030 1234567"               # no country code, no region
    assert bind("phone", invalid="keep", out="international").reverse("ext. 12") == "ext. 12"
    with pytest.raises(TransformError):
        keep.forward(["+49301234567"])                                 # not text at all is still an error


# ---------------------------------------------------------------- identifiers
def test_url_email_tax_id():
    u = bind("url")
    assert u.forward("www.Example.COM") == "https://www.example.com"
    assert u.forward("HTTP://Example.com:80/About") == "https://example.com/About"
    assert u.forward("example.com/") == "https://example.com"
    assert u.forward("https://shop.example.de:8443/a?b=1") == "https://shop.example.de:8443/a?b=1"
    assert u.reverse("https://x.com") == "https://x.com"
    for bad in ("not a url", "ftp://example.com", "localhost"):
        with pytest.raises(TransformError):
            u.forward(bad)
    e = bind("email")
    assert e.forward("  Max.Mustermann@Example.DE ") == "max.mustermann@example.de"
    assert e.forward("mailto:a@b.io") == "a@b.io"
    for bad in ("a@b", "no-at.example.com", "a b@c.de"):
        with pytest.raises(TransformError, match="e-mail"):
            e.forward(bad)
    assert bind("tax_id").forward("de 123.456-789") == "DE123456789"
    assert bind("tax_id").forward("GB 123 4567 89") == "GB123456789"


@settings(max_examples=600, deadline=None, database=None)
@given(st.text(alphabet="hHtTpPsS:/.-_aZ09ä\u00a0 \t@?#%[]", max_size=24)
       | st.from_regex(r"(?i)(https?://)?[a-z0-9-]{0,6}(\.[a-z0-9-]{0,6}){0,3}\.?/?", fullmatch=True))
def test_a_bare_host_s_short_way_gives_what_urlsplit_gives(text: str) -> None:
    """``normalise_url`` takes bare hosts without urlsplit; every input gives what the general path gives."""
    from concord.hub.mapping.transforms import _normalise_any_url, normalise_url

    def outcome(fn, arg):  # type: ignore[no-untyped-def]
        try:
            return fn(arg)
        except (TransformError, ValueError) as exc:
            return type(exc)
    assert outcome(normalise_url, text) == outcome(_normalise_any_url, text.strip())


@pytest.mark.parametrize("name, rest, form", [
    ("Acme Holding GmbH", "Acme Holding", "GmbH"), ("Müller GmbH & Co. KG", "Müller", "GmbH & Co. KG"),
    ("Big Data, Inc.", "Big Data", "Inc."), ("Widgets Ltd", "Widgets", "Ltd"), ("Foo LLC", "Foo", "LLC"),
    ("Alpha S.A.", "Alpha", "S.A."), ("Bistro SARL", "Bistro", "SARL"), ("Holland B.V.", "Holland", "B.V."),
    ("华为技术有限公司", "华为技术", "有限公司"), ("株式会社トヨタ", "トヨタ", "株式会社"), ("Acme", "Acme", None),
    ("AG", "AG", None),
])
def test_legal_forms(name, rest, form):
    assert bind("legal_form_strip").forward(name) == rest
    assert bind("legal_form").forward(name) == form
    assert TRANSFORMS["legal_form_strip"].bind(NoParams()).reverse is None


def test_register_custom_transform():
    class Pad(Params):
        shorthand = "width"
        width: int

    @register_transform("zpad_test", params=Pad, produces="string", replace=True)
    def _zpad(p: Pad):
        """Left-pad with zeros."""
        return (lambda v: str(v).zfill(p.width)), (lambda v: str(v).lstrip("0"))

    try:
        t = bind("zpad_test", width=6)
        assert t.forward("42") == "000042" and t.reverse("000042") == "42"
        assert TRANSFORMS["zpad_test"].summary == "Left-pad with zeros."
        with pytest.raises(ValueError, match="already registered"):
            register_transform("zpad_test")(_zpad)
    finally:
        TRANSFORMS.pop("zpad_test", None)
