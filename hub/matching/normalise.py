"""Normalisation for matching: names without legal forms, folded unicode, streets, phones, domains.

Every function is pure, total (``None`` in, ``None`` out; never raises on odd input) and cheap, since
matching calls them for every record and every candidate.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

MEMO = 8192   # values remembered per normaliser: a batch's repeats hit, a million unique values cost no memory

# Letters that NFKD does not decompose into a base letter plus marks.
_TRANSLIT = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                           "ı": "i", "ŋ": "n", "ħ": "h", "ĸ": "k", "ſ": "s"})
# German umlauts are often written out (Müller / Mueller): fold both to the bare vowel.
_UMLAUT_OUT = re.compile(r"(?<=[aou])e")

# Legal forms, longest first, as they look after folding ("." removed, other punctuation -> space).
_LEGAL_FORMS = sorted({
    "gmbh co kg", "gmbh co kgaa", "gmbh co ohg", "gesellschaft mit beschrankter haftung", "gesellschaft mbh",
    "gmbh", "ag", "kgaa", "kg", "ohg", "ug haftungsbeschrankt", "ug", "ev", "se",
    "ltd", "limited", "plc", "llp", "lp", "pvt ltd", "private limited", "public limited company",
    "inc", "incorporated", "llc", "corp", "corporation", "co", "company", "co ltd", "company limited",
    "co limited", "co inc", "pty ltd", "pty",
    "sa", "sarl", "sas", "sasu", "sca", "snc", "eurl", "srl", "spa", "sl", "sau",
    "bv", "nv", "vof", "cv",
    "ab", "oy", "oyj", "as", "asa", "aps", "a s",
    "kk", "gk",
}, key=lambda f: -len(f))
_LEGAL_SUFFIXES = tuple(" " + form for form in _LEGAL_FORMS)     # as a name ends with them, longest first
# Two-letter forms are also plausible name parts; they are stripped only after a longer name.
_CJK_LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "株式会社", "有限會社", "公司")

_PUNCT = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_DIGITS = re.compile(r"\d+")


def has_cjk(s: str) -> bool:
    return bool(_CJK.search(s))


@lru_cache(maxsize=MEMO)
def fold(value: str) -> str:
    """NFKC (full-width -> half-width), case-folded, Latin diacritics removed, whitespace collapsed.

    CJK characters are kept as they are: transliterating them would lose identity, not add it.
    """
    if value.isascii():      # NFKC and the transliteration leave ASCII alone, and casefold is lower
        return _SPACES.sub(" ", value.lower()).strip()
    s = unicodedata.normalize("NFKC", value).casefold().translate(_TRANSLIT)
    if not s.isascii():
        s = s.replace("ä", "a").replace("ö", "o").replace("ü", "u")
        s = "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))
        s = unicodedata.normalize("NFKC", s)
    return _SPACES.sub(" ", s).strip()


def _words(value: str) -> str:
    s = fold(value).replace(".", "").replace("'", "").replace("’", "")
    return _SPACES.sub(" ", _PUNCT.sub(" ", s).replace("_", " ")).strip()


@lru_cache(maxsize=MEMO)
def company_name(value: Any) -> str | None:
    """A company name for comparison: folded, punctuation removed, one legal form stripped.

    ``"Nordwind Logistik GmbH & Co. KG"`` -> ``"nordwind logistik"``; ``"华为科技有限公司"`` -> ``"华为科技"``;
    ``"ACME Co., Ltd."`` -> ``"acme"``.
    """
    if value is None:
        return None
    s = _words(str(value))
    if not s:
        return None
    if s.endswith(_CJK_LEGAL):
        for form in _CJK_LEGAL:
            if s.endswith(form) and len(s) > len(form):
                s = s[: -len(form)].strip()
                break
    if s.endswith(_LEGAL_SUFFIXES):             # (one C-level test first: the loop only where one ends it)
        for suffix in _LEGAL_SUFFIXES:
            if s.endswith(suffix):
                rest = s[: -len(suffix)].strip()
                if len(suffix) > 3 or len(rest.replace(" ", "")) >= 4:
                    s = rest
                break
    if s.startswith("the "):
        s = s[4:]
    return s or None


def legal_form_of(value: Any) -> str | None:
    """The legal form a name ends with (folded), or None."""
    if value is None:
        return None
    full, bare = _words(str(value)), company_name(value)
    if full.startswith("the "):
        full = full[4:]
    if not bare or full == bare:
        return None
    return full[len(bare):].strip() or None


def compact(value: str | None) -> str | None:
    """Without spaces: ``"acme systems ab"`` -> ``"acmesystemsab"`` (the key that typos are measured on)."""
    return value.replace(" ", "") if value else None


@lru_cache(maxsize=MEMO)
def person_name(value: Any) -> str | None:
    if value is None:
        return None
    s = _words(str(value))
    return _UMLAUT_OUT.sub("", s) if s and not has_cjk(s) else (s or None)


_STREET_WORDS = {
    "str": "strasse", "strasse": "strasse", "st": "street", "ave": "avenue", "av": "avenue", "rd": "road",
    "blvd": "boulevard", "bd": "boulevard", "ln": "lane", "dr": "drive", "ct": "court", "pl": "place",
    "sq": "square", "hwy": "highway", "pkwy": "parkway", "mt": "mount", "n": "north", "s": "south",
    "e": "east", "w": "west", "r": "rue", "ch": "chemin", "pza": "piazza", "weg": "weg",
}
_GLUED = re.compile(r"(strasse|str)$")


@lru_cache(maxsize=MEMO)
def street(value: Any) -> str | None:
    """``"Hauptstr. 12"`` and ``"Hauptstraße 12"`` -> ``"haupt strasse 12"``; ``"Main St."`` -> ``"main street"``."""
    if value is None:
        return None
    out = []
    for w in _words(str(value)).split():
        m = _GLUED.search(w)
        if m and len(w) > len(m.group(1)):
            out.extend([w[: m.start()], "strasse"])
        else:
            out.append(_STREET_WORDS.get(w, w))
    return " ".join(out) or None


@lru_cache(maxsize=MEMO)
def house_numbers(value: str | None) -> frozenset[str]:
    return frozenset(_DIGITS.findall(value or ""))


def postal_code(value: Any) -> str | None:
    if value is None:
        return None
    s = _PUNCT.sub("", fold(str(value)))
    return s or None


def city(value: Any) -> str | None:
    if value is None:
        return None
    return _words(str(value)) or None


_NOT_DIGIT = re.compile(r"[^0-9]+")


def phone(value: Any) -> str | None:
    """E.164 without formatting: ``"+49 (301) 234-5678"`` and ``"0049-3012345678"`` -> ``"+493012345678"``.

    A national number without a country code keeps its digits (it can still match its own kind).
    """
    if value is None:
        return None
    s = fold(str(value))
    s = s.split("ext")[0].split("x")[0].split(";")[0]
    plus = s.lstrip().startswith("+")
    # ASCII text (nearly every phone number): one regex pass; else every character that is a digit
    digits = _NOT_DIGIT.sub("", s) if s.isascii() else "".join(ch for ch in s if ch.isdigit())
    if not digits:
        return None
    if not plus and digits.startswith("00"):
        digits, plus = digits[2:], True
    if len(digits) < 6:
        return None
    return ("+" if plus else "") + digits


def email(value: Any) -> str | None:
    if value is None:
        return None
    s = fold(str(value)).strip("<>").replace("mailto:", "")
    return s if "@" in s and "." in s.rsplit("@", 1)[1] else None


def domain(value: Any) -> str | None:
    """The host of a website or an e-mail address, without ``www.``: ``"https://www.Acme.com/x"`` -> ``"acme.com"``."""
    if value is None:
        return None
    s = fold(str(value))
    if "@" in s and "/" not in s:
        s = s.rsplit("@", 1)[1]
    s = re.sub(r"^[a-z][a-z0-9+.-]*://", "", s)
    s = s.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    if s.startswith("www."):
        s = s[4:]
    return s if "." in s else None


def date(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()[:10]
    return s if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) else None


def identifier(value: Any) -> str | None:
    """Tax ids, DUNS, customer numbers: folded, separators removed, leading zeros of pure numbers dropped."""
    if value is None:
        return None
    s = _PUNCT.sub("", fold(str(value))).replace("_", "")
    if s.isdigit():
        s = s.lstrip("0") or "0"
    return s or None


def national_id(value: Any) -> str | None:
    """A national identity / social-security number: folded, separators removed, upper case, leading
    zeros kept (they are part of the number): ``"078-05-1120"`` -> ``"078051120"``, ``"ab 12 34 56 c"``
    -> ``"AB123456C"``. Fewer than 4 characters, or one character repeated (``000000000``), is no id."""
    if value is None:
        return None
    s = _PUNCT.sub("", fold(str(value))).replace("_", "").upper()
    if len(s) < 4 or len(set(s)) == 1:
        return None
    return s


def person_id(value: Any) -> str | None:
    """A customer-assigned person id: like :func:`identifier` (case and separators ignored, leading zeros
    of a pure number dropped), so ``"P-00042"`` and ``"p00042"`` agree."""
    return identifier(value)


def lei(value: Any) -> str | None:
    """A Legal Entity Identifier (ISO 17442): 20 characters whose ISO 7064 mod 97-10 check holds, upper
    case; anything else is None (a mistyped LEI must not link two companies)."""
    if value is None:
        return None
    s = _PUNCT.sub("", fold(str(value))).upper()
    if len(s) != 20 or not s.isalnum() or not s[-2:].isdigit():
        return None
    digits = "".join(str(int(ch, 36)) for ch in s)
    return s if int(digits) % 97 == 1 else None


def registration_number(value: Any) -> str | None:
    """A company register number: ``"HRB 12345 B"`` / ``"hrb12345b"`` -> ``"hrb12345b"`` (as :func:`identifier`)."""
    return identifier(value)
