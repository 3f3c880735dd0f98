"""Built-in transforms: text, numbers, booleans, identifiers (dates and geo codes in sibling modules).

Every transform is pure, typed (a params model) and registered by name in ``TRANSFORMS``.
See docs/mapping-reference.md for each one with its parameters and an example.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field

from concord.hub.mapping.registry import (
    ANY_SOURCE, NUMERIC, TEXTUAL, TRANSFORMS, BoundTransform, NoParams, Params, Transform, TransformError,
    identity, register_transform,
)


def _text(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        return str(value)
    raise TransformError(f"expected text, got {type(value).__name__}")


# --------------------------------------------------------------------------- text

@register_transform("strip", produces="string", accepts=TEXTUAL)
def _strip(_p: NoParams):
    """Remove leading/trailing whitespace and collapse inner runs of whitespace to one space."""
    ws = re.compile(r"\s+")
    return (lambda v: ws.sub(" ", _text(v, "strip")).strip()), identity


@register_transform("upper", produces="string", accepts=TEXTUAL)
def _upper(_p: NoParams):
    """Upper-case text."""
    return (lambda v: _text(v, "upper").upper()), identity


@register_transform("lower", produces="string", accepts=TEXTUAL)
def _lower(_p: NoParams):
    """Lower-case text."""
    return (lambda v: _text(v, "lower").lower()), identity


@register_transform("title", produces="string", accepts=TEXTUAL)
def _title(_p: NoParams):
    """Title-case text ("ACME CORP" -> "Acme Corp")."""
    return (lambda v: _text(v, "title").title()), identity


class DefaultParams(Params):
    shorthand: ClassVar[str | None] = "value"
    value: Any


@register_transform("default", params=DefaultParams, handles_none=True, accepts=ANY_SOURCE)
def _default(p: DefaultParams):
    """Replace a missing/empty value with ``value`` (reverse: unchanged)."""
    value = p.value
    return (lambda v: value if v is None else v), identity


class JoinParams(Params):
    shorthand: ClassVar[str | None] = "sep"
    sep: str = ","


@register_transform("join", params=JoinParams, produces="string", accepts=frozenset({"array", "other", "string"}))
def _join(p: JoinParams):
    """A list -> one string joined by ``sep`` (reverse: split by ``sep``)."""
    sep = p.sep

    def forward(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return sep.join(str(x).strip() for x in v if x is not None and str(x).strip()) or None
        return _text(v, "join")

    def reverse(v: Any) -> Any:
        return [part.strip() for part in str(v).split(sep) if part.strip()]

    return forward, reverse


# --------------------------------------------------------------------------- numbers

class DecimalParams(Params):
    decimal_sep: str = Field(".", min_length=1, max_length=1)
    thousands_sep: str | None = Field(None, max_length=1)


_SPACES = "\u00a0\u202f\u2009 '"


def parse_decimal(value: Any, decimal_sep: str = ".", thousands_sep: str | None = None) -> Decimal:
    """Parse a number as sources write it: 1234.5, "1.234,56", "(12.00)", SAP's trailing minus "12.00-"."""
    if isinstance(value, bool):
        raise TransformError("a boolean is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        negative = False
        if text.startswith("(") and text.endswith(")"):
            negative, text = True, text[1:-1].strip()
        if text.endswith("-") and not text.startswith("-"):
            negative, text = True, text[:-1].strip()
        if thousands_sep:
            text = text.replace(thousands_sep, "")
            if thousands_sep in _SPACES:
                for s in _SPACES:
                    text = text.replace(s, "")
        if decimal_sep != ".":
            if "." in text and not thousands_sep:
                raise TransformError(f"'.' in a number whose decimal separator is {decimal_sep!r}")
            text = text.replace(decimal_sep, ".")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise TransformError("not a number") from None
        if negative:
            result = -result
    else:
        raise TransformError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise TransformError("not a finite number")
    return result


def format_decimal(value: Any, decimal_sep: str = ".", thousands_sep: str | None = None) -> str:
    from concord.hub.canonical import decimal_str

    number = value if isinstance(value, Decimal) else parse_decimal(value)
    text = decimal_str(number)
    if decimal_sep == "." and not thousands_sep:
        return text
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    if thousands_sep:
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = thousands_sep.join([whole, *groups])
    return sign + whole + (decimal_sep + frac if frac else "")


@register_transform("decimal", params=DecimalParams, produces="decimal", accepts=TEXTUAL | NUMERIC)
def _decimal(p: DecimalParams):
    """Parse a decimal number with the given separators (reverse: format it the same way)."""
    ds, ts = p.decimal_sep, p.thousands_sep
    return (lambda v: parse_decimal(v, ds, ts)), (lambda v: format_decimal(v, ds, ts))


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TransformError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise TransformError("not a whole number")
    return int(number)


@register_transform("int", produces="integer", accepts=TEXTUAL | NUMERIC)
def _int(_p: NoParams):
    """Parse a whole number ("0010" -> 10, "12.0" -> 12); reverse: the int."""
    return _to_int, _to_int


# --------------------------------------------------------------------------- booleans

_TRUE = ("true", "t", "yes", "y", "1", "x", "on", "ja", "j", "oui", "si", "sí", "wahr", "是", "真", "checked")
_FALSE = ("false", "f", "no", "n", "0", "off", "nein", "non", "falsch", "否", "假", "unchecked", "-")


class BoolParams(Params):
    true_values: tuple[str, ...] = _TRUE
    false_values: tuple[str, ...] = _FALSE
    true_out: Any = True
    false_out: Any = False


@register_transform("bool", params=BoolParams, produces="boolean",
                    accepts=TEXTUAL | frozenset({"boolean", "integer"}))
def _bool(p: BoolParams):
    """Flags such as "X", "yes", "1", "ja" -> True (reverse: ``true_out`` / ``false_out``)."""
    table = {str(s).strip().casefold(): False for s in p.false_values}
    table.update({str(s).strip().casefold(): True for s in p.true_values})
    t_out, f_out = p.true_out, p.false_out

    def forward(v: Any) -> bool:
        if isinstance(v, bool):
            return v
        key = str(v).strip().casefold()
        if key in table:
            return table[key]
        raise TransformError(f"not a known true/false value (true: {', '.join(p.true_values[:6])}...; "
                             f"false: {', '.join(p.false_values[:6])}...)")

    def reverse(v: Any) -> Any:
        return t_out if forward(v) else f_out

    return forward, reverse


# --------------------------------------------------------------------------- identifiers and contact data

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\].]{2,}$")


@register_transform("email", produces="string", accepts=TEXTUAL)
def _email(_p: NoParams):
    """Strip, lower-case and check the shape of an e-mail address (drops a ``mailto:`` prefix)."""

    def forward(v: Any) -> str:
        text = _text(v, "email").strip().lower()
        if text.startswith("mailto:"):
            text = text[7:]
        if not _EMAIL.match(text):
            raise TransformError("not an e-mail address")
        return text

    return forward, identity


_HOST = re.compile(r"^[a-z0-9\u00a1-\uffff]([a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?"
                   r"(\.[a-z0-9\u00a1-\uffff]([a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?)+$")


# a bare host, with or without http(s):// and a closing slash: what most website fields hold; its normal form
# is ``https://`` and the host in lower case, as the general path below gives (tests/mapping/test_transforms.py)
_PLAIN_HOST = re.compile(r"(?:[hH][tT][tT][pP][sS]?://)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/?")


def normalise_url(value: Any) -> str:
    text = _text(value, "url").strip()
    plain = _PLAIN_HOST.fullmatch(text)
    if plain is not None and _HOST.match(host := plain.group(1).lower()):
        return "https://" + host
    return _normalise_any_url(text)


def _normalise_any_url(text: str) -> str:
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise TransformError(f"unsupported URL scheme {parts.scheme!r}")
    host = (parts.hostname or "").rstrip(".")
    if not _HOST.match(host):
        raise TransformError("not a web address")
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = host + (f":{port}" if port else "")
    path = parts.path if parts.path not in ("", "/") else ""
    return urlunsplit(("https", netloc, path, parts.query, parts.fragment))


@register_transform("url", produces="string", accepts=TEXTUAL)
def _url(_p: NoParams):
    """Normalise a web address to ``https://host/path`` with a lower-case host ("www.x.com" works)."""
    # pure and costly (urlsplit, a host pattern): memoised per transform for text, failures not cached
    cached = lru_cache(maxsize=8192)(normalise_url)   # bounded: unique values must not grow memory

    def forward(v: Any) -> str:
        return cached(v) if v.__class__ is str else normalise_url(v)

    return forward, identity


@register_transform("tax_id", produces="string", accepts=TEXTUAL | NUMERIC)
def _tax_id(_p: NoParams):
    """VAT / tax numbers: drop spaces, dots, dashes and slashes, upper-case ("de 123.456.789" -> "DE123456789")."""
    junk = re.compile(r"[\s./\-\u00a0]+")
    return (lambda v: junk.sub("", _text(v, "tax_id")).upper() or None), identity


_LEGAL_FORMS = [
    "GmbH & Co. KGaA", "GmbH & Co. KG", "GmbH & Co KG", "UG (haftungsbeschränkt)", "gGmbH", "GmbH", "AG", "KGaA", "KG",
    "OHG", "GbR", "e.K.", "e.V.", "mbH", "Ges.m.b.H.",
    "Pty. Ltd.", "Pty Ltd", "Pte. Ltd.", "Pte Ltd", "Co., Ltd.", "Co. Ltd.", "Co., Ltd", "Co Ltd", "Limited", "Ltd",
    "Ltd.", "PLC", "LLP", "LLC", "L.L.C.", "Inc.", "Inc", "Incorporated", "Corporation", "Corp.", "Corp", "Co.",
    "SARL", "S.A.R.L.", "S.à r.l.", "S.à.r.l.", "S.A.S.", "SAS", "S.A.", "SA", "S.p.A.", "SpA", "S.r.l.", "Srl",
    "S.L.", "SL", "S.L.U.", "B.V.", "BV", "N.V.", "NV", "SE", "Oy", "Oyj", "AB", "A/S", "ApS", "AS", "ASA",
    "Sp. z o.o.", "s.r.o.", "a.s.", "K.K.", "Kft.", "Zrt.",
    "股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "株式会社", "有限会社", "合同会社",
]
_FORM_KEY: dict[str, str] = {}
for _f in _LEGAL_FORMS:
    _FORM_KEY.setdefault(re.sub(r"[\s.,]+", "", _f).casefold(), _f)
_FORM_TAIL = re.compile(
    r"(?:^|(?<=[\s,]))(" + "|".join(re.escape(f) for f in sorted(_LEGAL_FORMS, key=len, reverse=True)
                                  if f.isascii()) + r")\s*$", re.IGNORECASE)
_CJK_FORMS = tuple(f for f in sorted(_LEGAL_FORMS, key=len, reverse=True) if not f.isascii())


def split_legal_form(name: str) -> tuple[str, str | None]:
    """``"Acme Holding GmbH"`` -> ``("Acme Holding", "GmbH")``; names without a form are unchanged."""
    text = name.strip()
    for form in _CJK_FORMS:
        if text.endswith(form) and len(text) > len(form):
            return text[: -len(form)].strip(), form
        if text.startswith(form) and len(text) > len(form):   # 株式会社トヨタ
            return text[len(form):].strip(), form
    m = _FORM_TAIL.search(text)
    if m and m.start() > 0:
        rest = text[: m.start()].rstrip(" ,&")
        if rest:
            key = re.sub(r"[\s.,]+", "", m.group(1)).casefold()
            return rest, _FORM_KEY.get(key, m.group(1))
    return text, None


@register_transform("legal_form_strip", produces="string", accepts=TEXTUAL)
def _legal_form_strip(_p: NoParams):
    """Remove a trailing legal form from a company name ("Acme GmbH" -> "Acme"); not invertible."""
    return (lambda v: split_legal_form(_text(v, "legal_form_strip"))[0]), None


@register_transform("legal_form", produces="string", accepts=TEXTUAL)
def _legal_form(_p: NoParams):
    """The legal form of a company name ("Acme GmbH" -> "GmbH", none -> empty); not invertible."""
    return (lambda v: split_legal_form(_text(v, "legal_form"))[1]), None


# Dates, times, countries, currencies and phone numbers register themselves on import.
from concord.hub.mapping import transforms_geo as _geo  # noqa: E402,F401
from concord.hub.mapping import transforms_time as _time  # noqa: E402,F401

__all__ = ["TRANSFORMS", "Transform", "BoundTransform", "Params", "NoParams", "TransformError", "register_transform",
           "parse_decimal", "format_decimal", "normalise_url", "split_legal_form"]
