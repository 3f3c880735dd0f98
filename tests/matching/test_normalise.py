"""Normalisation: legal forms, unicode and CJK, streets, phones, domains, identifiers."""
from __future__ import annotations

import pytest

from concord.hub.matching import normalise as N
from concord.hub.matching.compare import company_name, person_name, phone, street


@pytest.mark.parametrize("raw,name,form", [
    ("Nordwind Logistik GmbH", "nordwind logistik", "gmbh"),
    ("Nordwind Logistik GmbH & Co. KG", "nordwind logistik", "gmbh co kg"),
    ("Acme Ltd.", "acme", "ltd"),
    ("Acme Limited", "acme", "limited"),
    ("ACME INC", "acme", "inc"),
    ("Acme, Incorporated", "acme", "incorporated"),
    ("Bluepeak B.V.", "bluepeak", "bv"),
    ("Orbis Co., Ltd.", "orbis", "co ltd"),
    ("华为科技有限公司", "华为科技", "有限公司"),
    ("华为科技股份有限公司", "华为科技", "股份有限公司"),
    ("The Helix Company", "helix", "company"),
    ("Kestrel Foods SARL", "kestrel foods", "sarl"),
])
def test_legal_forms_are_stripped(raw: str, name: str, form: str) -> None:
    assert N.company_name(raw) == name
    assert N.legal_form_of(raw) == form


def test_short_names_keep_two_letter_tokens() -> None:
    # "AG" after a short name is likely part of the name; after a longer one it is the legal form.
    assert N.company_name("Acme Systems AG") == "acme systems"
    assert N.company_name("XY AG") == "xy ag"


def test_unicode_folding() -> None:
    assert N.fold("Ｈｅｌｉｘ　Ｉｎｃ．") == "helix inc."          # full-width -> ASCII
    assert N.fold("Müller Straße") == "muller strasse"          # diacritics and ß
    assert N.fold("Łódź Søren Æther") == "lodz soren aether"
    assert N.fold("北京 华为") == "北京 华为"                     # CJK kept as it is
    assert N.person_name("Müller") == N.person_name("Mueller") == N.person_name("MULLER")
    assert N.company_name("ＡＣＭＥ　ＧｍｂＨ") == "acme"


def test_cjk_against_latin_is_not_comparable() -> None:
    assert company_name("华为科技有限公司", "Huawei Technology Co., Ltd.") is None
    assert company_name("华为科技有限公司", "华为科技") == 1.0
    assert person_name("王伟", "Wang Wei") is None


def test_legal_form_variants_compare_equal() -> None:
    assert company_name("Orbis Co., Ltd.", "ORBIS Company Limited") == 1.0
    assert company_name("Acme Systems GmbH", "Acme Sytems") > 0.9
    assert company_name("Acme Systems AB", "Acme Systems AC") < company_name("Acme Systems AB", "Acme Sytems AB")


@pytest.mark.parametrize("a,b", [("Hauptstraße 12", "Hauptstr. 12"), ("Hauptstrasse 12", "Haupt Str. 12"),
                                 ("12 Main Street", "12 Main St."), ("Nanjing Road 5", "Nanjing Rd. 5"),
                                 ("Avenue Victor Hugo 3", "Ave. Victor Hugo 3")])
def test_street_abbreviations(a: str, b: str) -> None:
    assert street(a, b) == 1.0


def test_street_house_number_matters() -> None:
    assert street("Hauptstraße 12", "Hauptstraße 14") <= 0.5


@pytest.mark.parametrize("raw", ["+49 301 2345678", "0049-3012345678", "+49 (301) 234-5678", "+493012345678"])
def test_phone_formats_to_e164(raw: str) -> None:
    assert N.phone(raw) == "+493012345678"


def test_phone_national_against_international() -> None:
    assert phone("030 12345678", "+49 30 12345678") == 0.9
    assert phone("+49 30 12345678", "+49 30 99999999") == 0.0
    assert N.phone("12") is None and N.phone(None) is None


def test_domains_and_identifiers() -> None:
    assert N.domain("https://www.Acme.com/about?x=1") == "acme.com"
    assert N.domain("www.acme.com") == N.domain("info@acme.com") == N.domain("http://acme.com:8080") == "acme.com"
    assert N.domain("not a url") is None
    assert N.identifier("DE 811 234 567") == N.identifier("de811234567")
    assert N.identifier("000123") == "123"
    assert N.email(" Anna.Smith@Example.COM ") == "anna.smith@example.com"
    assert N.date("1980-02-03T00:00:00") == "1980-02-03" and N.date("yesterday") is None
