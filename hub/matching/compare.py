"""Field comparators for probabilistic rules: each gives a score in [0, 1], or None (not comparable).

A missing value on either side is *not comparable* (None), never a disagreement: a field that one
system does not hold says nothing about whether two records are the same entity. Names in different
scripts (Latin against CJK) are likewise not comparable.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rapidfuzz import fuzz

from concord.hub.matching import normalise as N

Score = float | None


def _name(norm: Callable[[Any], str | None]) -> Callable[[Any, Any], Score]:
    def cmp(a: Any, b: Any) -> Score:
        x, y = norm(a), norm(b)
        if not x or not y:
            return None
        if N.has_cjk(x) != N.has_cjk(y):
            return None
        if x == y:
            return 1.0
        cx, cy = x.replace(" ", ""), y.replace(" ", "")
        if cx == cy:
            return 0.99
        return max(fuzz.ratio(cx, cy), fuzz.token_sort_ratio(x, y)) / 100.0
    return cmp


def company_name(a: Any, b: Any) -> Score:
    return _company(a, b)


_company = _name(N.company_name)
person_name = _name(N.person_name)


def street(a: Any, b: Any) -> Score:
    x, y = N.street(a), N.street(b)
    if not x or not y:
        return None
    r = fuzz.token_sort_ratio(x, y) / 100.0
    hx, hy = N.house_numbers(x), N.house_numbers(y)
    if hx and hy and hx != hy:
        r *= 0.5
    return r


def postal_code(a: Any, b: Any) -> Score:
    x, y = N.postal_code(a), N.postal_code(b)
    if not x or not y:
        return None
    return 1.0 if x == y else 0.0


def city(a: Any, b: Any) -> Score:
    x, y = N.city(a), N.city(b)
    if not x or not y:
        return None
    return 1.0 if x == y else fuzz.ratio(x, y) / 100.0 * 0.8


def phone(a: Any, b: Any) -> Score:
    x, y = N.phone(a), N.phone(b)
    if not x or not y:
        return None
    if x == y:
        return 1.0
    dx, dy = x.lstrip("+"), y.lstrip("+")
    if len(dx) >= 8 and len(dy) >= 8 and dx[-8:] == dy[-8:]:
        return 0.9          # the same line, once with and once without the country code
    return 0.0


def email(a: Any, b: Any) -> Score:
    x, y = N.email(a), N.email(b)
    if not x or not y:
        return None
    if x == y:
        return 1.0
    return 0.3 if x.split("@")[0] == y.split("@")[0] else 0.0


def domain(a: Any, b: Any) -> Score:
    x, y = N.domain(a), N.domain(b)
    if not x or not y:
        return None
    return 1.0 if x == y else 0.0


def date(a: Any, b: Any) -> Score:
    x, y = N.date(a), N.date(b)
    if not x or not y:
        return None
    if x == y:
        return 1.0
    if x[:4] == y[:4] and x[5:7] == y[8:10] and x[8:10] == y[5:7]:
        return 0.5          # day and month swapped
    return 0.0


def exact(a: Any, b: Any) -> Score:
    x, y = N.identifier(a), N.identifier(b)
    if not x or not y:
        return None
    return 1.0 if x == y else 0.0


def text(a: Any, b: Any) -> Score:
    if a is None or b is None:
        return None
    x, y = N.fold(str(a)), N.fold(str(b))
    if not x or not y:
        return None
    return fuzz.ratio(x, y) / 100.0


COMPARATORS: dict[str, Callable[[Any, Any], Score]] = {
    "name": company_name, "person_name": person_name, "text": text, "street": street, "postal_code": postal_code,
    "city": city, "phone": phone, "email": email, "domain": domain, "date": date, "exact": exact,
}

_IDENTIFIERS = ("tax_id", "duns", "erp_customer_number", "vat", "customer_number", "sku", "gtin", "national_id",
                "person_id", "lei", "registration_number")


def default_comparator(field: str) -> str:
    """The comparator a field gets when the rule does not name one (by the field's name)."""
    leaf = field.rsplit(".", 1)[-1]
    if leaf == "name":
        return "name"
    if leaf in ("first_name", "last_name", "full_name", "middle_name"):
        return "person_name"
    if "street" in leaf:
        return "street"
    if leaf in ("postal_code", "zip", "postcode"):
        return "postal_code"
    if leaf == "city":
        return "city"
    if "phone" in leaf or leaf in ("mobile", "fax"):
        return "phone"
    if "email" in leaf:
        return "email"
    if leaf in ("website", "domain", "url"):
        return "domain"
    if leaf.endswith("date") or leaf == "dob":
        return "date"
    if leaf in _IDENTIFIERS:
        return "exact"
    return "text"


def normaliser_for(field: str) -> Callable[[Any], str | None]:
    """The normaliser a blocking key uses for a field (by the field's comparator)."""
    kind = default_comparator(field)
    leaf = field.rsplit(".", 1)[-1]
    if leaf in FIELD_NORMALISERS:
        return FIELD_NORMALISERS[leaf]
    return {"name": N.company_name, "person_name": N.person_name, "street": N.street,
            "postal_code": N.postal_code, "city": N.city, "phone": N.phone, "email": N.email,
            "domain": N.domain, "date": N.date}.get(kind, N.identifier)


#: Identifiers with a normaliser of their own (blocking keys and probabilistic comparisons use it).
FIELD_NORMALISERS: dict[str, Callable[[Any], str | None]] = {
    "national_id": N.national_id, "person_id": N.person_id, "lei": N.lei,
    "registration_number": N.registration_number,
}
