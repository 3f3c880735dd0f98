"""Comparison kinds of probabilistic rules (hub/matching/fs.py): for each kind of field (names, streets,
dates, e-mail, phones, identifiers, numbers ...) its comparison levels, strongest first, how its values are
normalised, which level two present values fall into, the words the evidence uses for each level, and the
conservative (m, u) defaults a rule has before ``concord match train`` learns its own."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from concord.hub.config.model import FSFieldParams
from concord.hub.matching import normalise as N
from concord.hub.matching.compare import FIELD_NORMALISERS, default_comparator

STRING = ("exact", "one_edit", "jw_0.92", "jw_0.80", "else")
LEVELS: dict[str, tuple[str, ...]] = {
    "name": STRING, "person_name": STRING, "text": STRING, "street": STRING, "city": STRING,
    "postal_code": ("exact", "one_edit", "else"),
    "identifier": ("exact", "one_edit", "else"),
    "date": ("exact", "day_month_swapped", "one_edit", "else"),
    "email": ("exact", "one_edit", "same_local", "else"),
    "phone": ("exact", "last_8", "else"),
    "domain": ("exact", "else"),
    "numeric": ("exact", "within_1pct", "within_10pct", "else"),
}
WORDS = {"exact": "equal", "one_edit": "one typo apart", "jw_0.92": "very similar (Jaro-Winkler >= 0.92)",
         "jw_0.80": "similar (Jaro-Winkler >= 0.80)", "else": "different", "swapped": "swapped with {other}",
         "day_month_swapped": "day and month swapped", "same_local": "same mailbox, other domain",
         "last_8": "same last 8 digits", "within_1pct": "within 1%", "within_10pct": "within 10%"}
# Conservative defaults (m, u) per level before a model is trained; "else" takes what is left.
DEFAULT_MU = {"exact": (0.85, 0.01), "one_edit": (0.06, 0.002), "jw_0.92": (0.03, 0.005),
              "jw_0.80": (0.02, 0.03), "swapped": (0.02, 0.0005), "day_month_swapped": (0.03, 0.001),
              "same_local": (0.04, 0.001), "last_8": (0.05, 0.0005), "within_1pct": (0.1, 0.02),
              "within_10pct": (0.05, 0.08)}
DEFAULT_EXACT_U = {"identifier": 1e-5, "email": 1e-4, "phone": 1e-4, "date": 0.002, "domain": 0.005,
                   "postal_code": 0.02, "city": 0.05}


_COMPACT: dict[Callable[[Any], str | None], Callable[[Any], str | None]] = {}


def _compact(norm: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """``norm`` without spaces; one function per ``norm`` (blocking keys recognise it: rules.part_normaliser)."""
    hit = _COMPACT.get(norm)
    if hit is None:
        def f(v: Any) -> str | None:
            x = norm(v)
            return x.replace(" ", "") if x else None
        hit = _COMPACT[norm] = f
    return hit


def _numeric(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        x = float(str(v).replace(",", "."))
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def normaliser(kind: str, field: str) -> Callable[[Any], Any]:
    leaf = field.rsplit(".", 1)[-1]
    if kind == "identifier":
        return FIELD_NORMALISERS.get(leaf, N.identifier)
    return {"name": _compact(N.company_name), "person_name": _compact(N.person_name),
            "text": lambda v: N.fold(str(v)) or None if v is not None else None, "street": N.street,
            "city": N.city, "postal_code": N.postal_code, "phone": N.phone, "email": N.email,
            "domain": N.domain, "date": N.date, "numeric": _numeric}[kind]


def default_kind(field: str) -> str:
    kind = default_comparator(field)
    return {"exact": "identifier"}.get(kind, kind)


# ---- comparison levels --------------------------------------------------------------------------
def one_edit(x: str, y: str) -> bool:
    lx, ly = len(x), len(y)      # lengths more than one apart are more than one edit apart
    return min(lx, ly) >= 3 and -1 <= lx - ly <= 1 and DamerauLevenshtein.distance(x, y, score_cutoff=1) <= 1


def _digit_substituted(x: str, y: str) -> bool:
    """One digit written for another (``john.smith1@`` against ``john.smith2@``): numbered mailboxes are
    different mailboxes, not a typo of one another (a transposed, dropped or doubled digit still is)."""
    if len(x) != len(y):
        return False
    diff = [i for i, (a, b) in enumerate(zip(x, y)) if a != b]
    return len(diff) == 1 and x[diff[0]].isdigit() and y[diff[0]].isdigit()


def _string_label(x: str, y: str) -> str:
    if one_edit(x, y):
        return "one_edit"
    jw = JaroWinkler.similarity(x, y)
    return "jw_0.92" if jw >= 0.92 else "jw_0.80" if jw >= 0.80 else "else"


def _street_label(x: str, y: str) -> str:
    hx, hy = N.house_numbers(x), N.house_numbers(y)
    if hx and hy and hx != hy:
        return "else"
    return _string_label(x, y)


def _edit_label(x: str, y: str) -> str:
    return "one_edit" if one_edit(x, y) else "else"


def _date_label(x: str, y: str) -> str:
    if x[:4] == y[:4] and x[5:7] == y[8:10] and x[8:10] == y[5:7]:
        return "day_month_swapped"
    dx, dy = x.replace("-", ""), y.replace("-", "")
    return "one_edit" if DamerauLevenshtein.distance(dx, dy, score_cutoff=1) <= 1 else "else"


def _email_label(x: str, y: str) -> str:
    if one_edit(x, y) and not _digit_substituted(x, y):
        return "one_edit"
    return "same_local" if x.split("@")[0] == y.split("@")[0] else "else"


def _phone_label(x: str, y: str) -> str:
    dx, dy = x.lstrip("+"), y.lstrip("+")
    return "last_8" if len(dx) >= 8 and len(dy) >= 8 and dx[-8:] == dy[-8:] else "else"


def _numeric_label(x: float, y: float) -> str:
    scale = max(abs(x), abs(y))
    diff = abs(x - y) / scale if scale else 0.0
    return "within_1pct" if diff <= 0.01 else "within_10pct" if diff <= 0.1 else "else"


def _else_label(x: Any, y: Any) -> str:
    return "else"


#: The level of two present values that differ, per field kind (one function per kind, chosen once).
DIFFERENT: dict[str, Callable[[Any, Any], str]] = {
    "name": _string_label, "person_name": _string_label, "text": _string_label, "city": _string_label,
    "street": _street_label, "postal_code": _edit_label, "identifier": _edit_label, "date": _date_label,
    "email": _email_label, "phone": _phone_label, "numeric": _numeric_label, "domain": _else_label}


def level_label(kind: str, x: Any, y: Any) -> str:
    """The comparison level of two normalised, present values."""
    if x == y:
        return "exact"
    return DIFFERENT.get(kind, _else_label)(x, y)


def default_params(kind: str, levels: tuple[str, ...]) -> FSFieldParams:
    m, u = [], []
    for lv in levels[:-1]:
        dm, du = DEFAULT_MU[lv]
        if lv == "exact" and kind in DEFAULT_EXACT_U:
            du = DEFAULT_EXACT_U[kind]
        m.append(dm)
        u.append(du)
    scale_m = min(1.0, 0.98 / sum(m))
    m = [x * scale_m for x in m]
    return FSFieldParams(levels=levels, m=(*m, max(0.02, 1 - sum(m))), u=(*u, max(0.01, 1 - sum(u))))
