"""`name_split` blocking: two compact names within one edit always share a key, with 8 keys a name.

The guarantee (hub/matching/rules.py ``_split``): any two compact names within one edit (insert,
delete, substitute, swap of neighbours), the longer of them at least 4 characters, share a key;
edits past the first ``NAME_EDIT_CHARS`` characters are invisible. Proved here exhaustively over
every single edit of a set of names, and as a property over random names and random edits.
"""
from __future__ import annotations

import random

from concord.hub.config.model import MatchRule
from concord.hub.matching import RuleMatcher
from concord.hub.matching.rules import (
    NAME_EDIT_CHARS,
    NAME_SPLIT_PARTS,
    _edits,
    _split,
    _windows,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ALPHABET = "abcdé1华"     # few letters: random names collide often, so a wrong key would show


def single_edits(s: str, alphabet: str = ALPHABET) -> set[str]:
    """Every string one insert, delete, substitution or swap of neighbours away from ``s``."""
    out = set()
    for i in range(len(s) + 1):
        out.update(s[:i] + c + s[i:] for c in alphabet)
    for i in range(len(s)):
        out.add(s[:i] + s[i + 1:])
        out.update(s[:i] + c + s[i + 1:] for c in alphabet)
    for i in range(len(s) - 1):
        out.add(s[:i] + s[i + 1] + s[i] + s[i + 2:])
    out.discard(s)
    return out


def _meet(a: str, b: str) -> bool:
    return bool(set(_split(a)) & set(_split(b)))


def test_every_single_edit_of_every_name_shares_a_key() -> None:
    rnd = random.Random(5)
    names = ["abcd", "aaaa", "abab", "華华华华", "nordwindlogistik", "x" * 30, "ab", "abc"]
    names += ["".join(rnd.choice(ALPHABET) for _ in range(n)) for n in range(1, NAME_EDIT_CHARS + 6) for _ in range(3)]
    checked = 0
    for s in names:
        for t in single_edits(s):
            if max(len(s), len(t)) >= 4:
                assert _meet(s, t), (s, t, _split(s), _split(t))
                checked += 1
    assert checked > 10_000


@st.composite
def name_and_edit(draw: st.DrawFn) -> tuple[str, str]:
    s = draw(st.text(alphabet=st.sampled_from("abcdefgh0é华"), min_size=3, max_size=40))
    kind = draw(st.sampled_from(["insert", "delete", "substitute", "swap"]))
    c = draw(st.sampled_from("abcdefgh0é华"))
    i = draw(st.integers(0, len(s)))
    if kind == "insert":
        t = s[:i] + c + s[i:]
    elif kind == "delete":
        t = s[:i] + s[i + 1:]
    elif kind == "substitute":
        t = s[:i] + c + s[i + 1:]
    else:
        t = s[:i] + s[i + 1:i + 2] + s[i:i + 1] + s[i + 2:]
    return s, t


@settings(max_examples=3000, deadline=None)
@given(name_and_edit())
def test_property_one_edit_shares_a_key(pair: tuple[str, str]) -> None:
    s, t = pair
    if max(len(s), len(t)) >= 4:
        assert _meet(s, t), (s, t)


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 200))
def test_windows_cover_every_pair_of_neighbours(n: int) -> None:
    w = _windows(n)
    assert len(w) == NAME_SPLIT_PARTS and w[0][0] == 0 and w[-1][1] == n
    assert all(b > a for a, b in w)
    for i in range(n):                   # every position and every neighbour pair inside one window
        assert any(a <= i and min(i + 2, n) <= b for a, b in w), (n, i, w)


def test_few_keys_and_they_are_selective() -> None:
    for s in ("nordwindlogistik", "meridiansoftwareabcd", "stadtwerkemuenchen"):
        assert len(_split(s)) == 2 * NAME_SPLIT_PARTS < len(_edits(s))
    assert all(len(_split(s)) <= 2 * NAME_SPLIT_PARTS for s in ("abcd", "abcde", "x" * 40))
    assert _split("ab") == ["ab"] and len(_split("abc")) <= NAME_SPLIT_PARTS
    # two edits far apart: no key in common; a common stem with another ending: none either
    assert not _meet("nordwindlogistik", "bordwindlogistix")
    assert not _meet("meridiansoftwareabcd", "meridiansoftwarewxyz")
    assert not _meet("nordwindlogistik", "bluepeaksoftware")
    # differences past the first NAME_EDIT_CHARS characters are invisible, as for name_edits
    assert _meet("a" * NAME_EDIT_CHARS + "xyz", "a" * NAME_EDIT_CHARS + "klmnop")


def test_rule_with_name_split_blocks_typos_of_real_names() -> None:
    rule = MatchRule.model_validate({
        "name": "company", "type": "fuzzy", "fields": ["name", "phone"],
        "block": ["name_split:name", "phone:phone"], "thresholds": {"link": 0.85, "review": 0.7}})
    m = RuleMatcher([rule])
    key = "b:name_split:name"
    a = {k for k in m.keys({"name": "Nordwind Logistik GmbH"}) if k[0] == key}
    assert len(a) == 2 * NAME_SPLIT_PARTS
    for typo in ("Nordwnd Logistik", "Nordwidn Logistik", "Nordwiind Logistik", "NORDWIND LOGISTIK Ltd",
                 "Nordwind Logistick AG", "Mordwind Logistik"):
        assert a & {k for k in m.keys({"name": typo}) if k[0] == key}, typo
    assert not a & {k for k in m.keys({"name": "Bluepeak Software"}) if k[0] == key}
    assert not a & {k for k in m.keys({"name": "Nordwind Spedition"}) if k[0] == key}
