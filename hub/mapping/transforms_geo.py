"""Country codes, currency codes and phone numbers.

Countries: ISO 3166-1 alpha-2/alpha-3, English names (short, common and official) from ``pycountry``
(Debian's iso-codes tables, kept up to date by their maintainers), local names in ~40 languages from ``phonenumbers`` geodata
(Deutschland, Allemagne, 中国, ...), plus a few aliases (USA, U.S., UK, Holland...).
Matching ignores case, accents, punctuation and spaces.
"""
from __future__ import annotations


import re
import unicodedata
from functools import lru_cache
from typing import Any, ClassVar, Literal

import pycountry

from concord.hub.mapping.registry import NUMERIC, TEXTUAL, Params, TransformError, identity, register_transform

_ALIASES = {
    "US": ("U.S.", "U.S.A.", "America", "United States of America", "Vereinigte Staaten", "美国", "美國", "Etats-Unis"),
    "GB": ("UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland",
           "Grossbritannien", "Großbritannien", "Vereinigtes Königreich", "英国"),
    "NL": ("Holland", "The Netherlands", "Niederlande"),
    "RU": ("Russia", "Russland", "俄罗斯"),
    "KR": ("Korea", "Republic of Korea", "韩国"),
    "KP": ("North Korea",),
    "CN": ("PRC", "P.R. China", "P.R.C.", "Mainland China", "中华人民共和国", "中國", "VR China"),
    "TW": ("Republic of China", "台湾", "台灣", "中華民國"),
    "HK": ("Hong Kong SAR", "香港"),
    "CZ": ("Czech Republic", "Tschechien"),
    "CH": ("Schweiz", "Suisse", "Svizzera", "瑞士"),
    "AT": ("Österreich", "Oesterreich"),
    "DE": ("Deutschland", "BRD", "Germany", "德国", "德國"),
    "AE": ("UAE", "U.A.E.", "Emirates"),
    "VN": ("Vietnam", "Viet Nam"),
    "IR": ("Iran",),
    "SY": ("Syria",),
    "LA": ("Laos",),
    "BO": ("Bolivia",),
    "VE": ("Venezuela",),
    "TZ": ("Tanzania",),
    "MD": ("Moldova",),
    "TR": ("Turkey", "Türkiye", "Turkiye", "Türkei"),
    "CI": ("Ivory Coast",),
    "CD": ("DR Congo", "DRC", "Congo-Kinshasa"),
    "CG": ("Congo-Brazzaville",),
    "VA": ("Vatican", "Holy See"),
    "JP": ("日本",),
}


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKD", text).casefold())


@lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(lookup key -> alpha-2, alpha-2 -> (alpha-3, English name)) from codes, English names and aliases."""
    index: dict[str, str] = {}
    info: dict[str, tuple[str, str]] = {}
    rows = [(c.alpha_2, c.alpha_3, ";".join(n for n in (getattr(c, "common_name", None), c.name,   # the common
                                                       getattr(c, "official_name", None)) if n))  # name first
            for c in pycountry.countries]
    for a2, a3, names in rows:
        info[a2] = (a3, names.split(";")[0])
    for a2, aliases in _ALIASES.items():
        for alias in aliases:
            index[_key(alias)] = a2
    for a2, a3, names in rows:          # English names and codes win over aliases
        for name in names.split(";"):
            index[_key(name)] = a2
        index[_key(a3)] = a2
    for a2 in info:
        index[a2.casefold()] = a2
    return index, info


@lru_cache(maxsize=1)
def _local_names() -> dict[str, str]:
    """Country names in ~40 languages from phonenumbers geodata (loaded on the first miss: ~1 s)."""
    try:
        from phonenumbers.geodata.locale import LOCALE_DATA
    except ImportError:  # pragma: no cover - older phonenumbers
        return {}
    _, info = _countries()
    index: dict[str, str] = {}
    for a2, langs in LOCALE_DATA.items():
        if a2 in info:
            for name in langs.values():
                if not name.startswith("*"):
                    index.setdefault(_key(name), a2)
    return index


@lru_cache(maxsize=4096)
def _lookup_country(text: str) -> str | None:
    key = _key(text)
    return _countries()[0].get(key) or _local_names().get(key)


def country_code(value: Any) -> str:
    """Any spelling of a country -> ISO 3166-1 alpha-2."""
    if not isinstance(value, str):
        raise TransformError(f"expected a country name or code, got {type(value).__name__}")
    code = _lookup_country(value)
    if code is None:
        raise TransformError("unknown country (expected an ISO 3166 code or a country name)")
    return code


class CountryParams(Params):
    shorthand: ClassVar[str | None] = "out"
    out: Literal["iso2", "iso3", "name"] = "iso2"


@register_transform("country", params=CountryParams, produces="string", accepts=TEXTUAL)
def _country(p: CountryParams):
    """Any country spelling -> ISO alpha-2 (reverse: ``out`` = iso2, iso3 or English name)."""
    _, info = _countries()

    def reverse(v: Any) -> str:
        code = country_code(v)
        if p.out == "iso2":
            return code
        return info[code][0] if p.out == "iso3" else info[code][1]

    return country_code, reverse


# --------------------------------------------------------------------------- currency

_SYMBOLS = {"€": "EUR", "£": "GBP", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "₫": "VND",
            "฿": "THB", "₱": "PHP", "₴": "UAH", "zł": "PLN", "kč": "CZK", "fr.": "CHF", "sfr": "CHF",
            "r$": "BRL", "us$": "USD", "a$": "AUD", "au$": "AUD", "c$": "CAD", "ca$": "CAD", "hk$": "HKD",
            "nz$": "NZD", "s$": "SGD", "rmb": "CNY", "元": "CNY", "人民币": "CNY", "￥": "CNY", "円": "JPY",
            "欧元": "EUR", "美元": "USD", "英镑": "GBP", "日元": "JPY", "港币": "HKD"}
_NAMES = {"euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD", "usdollars": "USD", "pound": "GBP",
          "pounds": "GBP", "poundsterling": "GBP", "sterling": "GBP", "yen": "JPY", "yuan": "CNY", "renminbi": "CNY",
          "swissfranc": "CHF", "swissfrancs": "CHF", "franken": "CHF", "rupee": "INR", "rupees": "INR"}


#: withdrawn from ISO 4217 (so no longer in pycountry) but still on invoices and in ERP histories
_WITHDRAWN = {"HRK": "Kuna", "BGN": "Bulgarian Lev", "ANG": "Netherlands Antillean Guilder", "CUC": "Peso Convertible",
              "SLL": "Leone", "ZWL": "Zimbabwe Dollar"}


@lru_cache(maxsize=1)
def _currencies() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, name in [*((c.alpha_3, c.name) for c in pycountry.currencies), *_WITHDRAWN.items()]:
        index[_key(name)] = code
        index[code.casefold()] = code
    index.update(_NAMES)
    return index


class CurrencyParams(Params):
    dollar: str = "USD"      # what a bare "$" means
    yen: str = "JPY"         # what a bare "¥" means (set CNY for Chinese sources)


@register_transform("currency", params=CurrencyParams, produces="string", accepts=TEXTUAL)
def _currency(p: CurrencyParams):
    """ISO 4217 codes, symbols (€ $ £ ¥) and names ("Euro") -> the ISO 4217 code."""
    index = _currencies()
    symbols = dict(_SYMBOLS, **{"$": p.dollar, "¥": p.yen})

    def forward(v: Any) -> str:
        if not isinstance(v, str):
            raise TransformError(f"expected a currency code, got {type(v).__name__}")
        text = v.strip()
        code = symbols.get(text.casefold()) or index.get(_key(text))
        if code is None:
            raise TransformError("unknown currency (expected an ISO 4217 code, symbol or name)")
        return code

    return forward, identity


# --------------------------------------------------------------------------- phone

class PhoneParams(Params):
    shorthand: ClassVar[str | None] = "region"
    region: str | None = None                                     # ISO alpha-2 for numbers without +country
    out: Literal["e164", "international", "national"] = "e164"    # how the number is written back
    # ``keep``: a number phonenumbers cannot parse or calls invalid is kept as typed (stripped) instead of
    # failing the record -- for free-text phone fields, where a customer must not be quarantined for it
    invalid: Literal["refuse", "keep"] = "refuse"


def parse_phone(value: Any, region: str | None) -> Any:
    """Parse and validate with phonenumbers (imported on first use: it is large)."""
    import phonenumbers

    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TransformError(f"expected a phone number, got {type(value).__name__}")
    text = str(value).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+") and region is None:
        raise TransformError("no country code (+..) and no region parameter")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise TransformError(f"not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise TransformError("not a valid phone number")
    return number


@register_transform("phone", params=PhoneParams, produces="string", accepts=TEXTUAL | NUMERIC)
def _phone(p: PhoneParams):
    """Phone numbers -> E.164 (``+4930123456``) via phonenumbers (reverse: ``out`` format)."""
    import phonenumbers

    region = p.region.upper() if p.region else None
    fmt = getattr(phonenumbers.PhoneNumberFormat, p.out.upper())

    # pure and costly (about 0.1 ms a number): memoised per transform, failures are not cached; bounded
    # (most numbers are unique: a large memo only grows memory)
    @lru_cache(maxsize=8192)
    def _format(v: str | int, style: int) -> str:
        return phonenumbers.format_number(parse_phone(v, region), style)

    def strict(v: Any, style: int) -> str:
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            return _format(v, style)
        return phonenumbers.format_number(parse_phone(v, region), style)

    def lenient(v: Any, style: int) -> Any:
        try:
            return strict(v, style)
        except TransformError:
            if isinstance(v, str):
                return v.strip()
            raise

    convert = lenient if p.invalid == "keep" else strict

    def forward(v: Any) -> Any:
        return convert(v, phonenumbers.PhoneNumberFormat.E164)

    def reverse(v: Any) -> Any:
        return convert(v, fmt)

    if p.out == "e164":
        return forward, identity
    return forward, reverse
