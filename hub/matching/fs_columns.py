"""Level vectors of many pairs of records at once, one field at a time with numpy (offline matching and
training's hot path).

The same levels as ``LevelComputer`` (hub/matching/fs_levels.py) and ``fs.reference_levels``; the tests
compare them. Records are normalised tuples (``FSScorer.normalised_cached``), **coded**: each field's
values become integer codes (-1: missing) in one code space per field (a swap pair's two fields share
one, so a first name is compared with a last name by its code). Then, per field, over every pair:

* a value missing on either side: not compared; equal codes: ``exact``;
* the pairs of different values are compared once per **distinct pair of values**, by the kind's
  vectorised comparison: lengths, Latin/CJK, house numbers, the last 8 digits and date parts are
  properties of each value (computed once per value, compared as arrays); Damerau-Levenshtein and
  Jaro-Winkler run in C over the pairs that need them (``rapidfuzz.process.cpdist``; Jaro-Winkler in
  double precision, as ``JaroWinkler.similarity``). A kind whose comparison has no vectorised twin (or
  whose ``fs_kinds.DIFFERENT`` function is not the one the twin was written for) is compared by its
  Python function, still once per distinct pair;
* the swap check of ``LevelComputer._swapped``, as arrays.

The result is a matrix of level indices (fields x pairs, int8).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from concord.hub.matching import fs_kinds as K
from concord.hub.matching import normalise as N

NOT_COMPARED = -1
SAMPLE = 5000           # pairs of values looked at to tell whether a field's pairs repeat (then compared once each)
NAME_KINDS = frozenset({"name", "person_name"})


def distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted (``np.unique`` by a sort: numpy 2's plain ``np.unique``
    of a large int64 array is ten times slower than sorting it)."""
    s = np.sort(a)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


class Space:
    """The code space of one field (or of a swap pair's fields): value -> code, and properties per value."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}
        self._props: dict[str, tuple[int, np.ndarray]] = {}

    def values(self) -> np.ndarray:
        return self.prop("values", lambda vs: vs)

    def prop(self, name: str, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """A property of every value (an array by code), computed again only when values were added."""
        n = len(self.ids)
        hit = self._props.get(name)
        if hit is not None and hit[0] == n:
            return hit[1]
        vals = _objects(list(self.ids)) if name == "values" else self.values()
        arr = fn(vals)
        self._props[name] = (n, arr)
        return arr

    def codes_of(self, name: str, key: Callable[[Any], Any]) -> np.ndarray:
        """Per value, the code of ``key(value)`` (-1 where it is None) in a code space of its own."""
        def f(vals: np.ndarray) -> np.ndarray:
            ids: dict[Any, int] = {None: -1}
            return np.fromiter((ids.setdefault(key(v), len(ids) - 1) for v in vals), dtype=np.int64, count=len(vals))
        return self.prop(name, f)

    def lens(self) -> np.ndarray:
        return self.prop("len", lambda vs: np.fromiter(map(len, vs), dtype=np.int64, count=len(vs)))

    def is_str(self) -> np.ndarray:
        return self.prop("str", lambda vs: np.fromiter((isinstance(v, str) for v in vs), dtype=bool, count=len(vs)))


# ---- vectorised comparisons of different values (ux, uy: codes of distinct pairs, x != y) ------------
def _one_edit(sp: Space, ux: np.ndarray, uy: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``fs_kinds.one_edit`` of every pair (False where ``mask`` is False)."""
    lens = sp.lens()
    lx, ly = lens[ux], lens[uy]
    cand = (np.minimum(lx, ly) >= 3) & (np.abs(lx - ly) <= 1)
    if mask is not None:
        cand &= mask
    # one edit (insert, delete, substitute, swap of neighbours) leaves the first or the last character
    first = sp.prop("first", lambda vs: np.fromiter((ord(v[0]) if isinstance(v, str) and v else -1 for v in vs),
                                                    dtype=np.int64, count=len(vs)))
    last = sp.prop("last", lambda vs: np.fromiter((ord(v[-1]) if isinstance(v, str) and v else -1 for v in vs),
                                                  dtype=np.int64, count=len(vs)))
    cand &= (first[ux] == first[uy]) | (last[ux] == last[uy])
    out = np.zeros(len(ux), dtype=bool)
    idx = np.nonzero(cand)[0]
    if len(idx):
        vals = sp.values()
        out[idx] = _within_one(vals[ux[idx]], vals[uy[idx]])
    return out


def _within_one(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Damerau-Levenshtein distance <= 1 of every pair. Such a pair is within Levenshtein distance 2 (a swap of
    neighbours is two substitutions), and within 1 is within 1 for both: the (slower) Damerau-Levenshtein
    distance runs only for the pairs at Levenshtein distance 2."""
    d = cpdist(xs, ys, scorer=Levenshtein.distance, score_cutoff=2)
    out = d <= 1
    two = np.nonzero(d == 2)[0]
    if len(two):
        out[two] = cpdist(xs[two], ys[two], scorer=DamerauLevenshtein.distance, score_cutoff=1) <= 1
    return out


def _string(sp: Space, ux: np.ndarray, uy: np.ndarray, lv: dict[str, int], *, names: bool, street: bool) -> np.ndarray:
    out = np.full(len(ux), lv["else"], dtype=np.int8)
    todo = np.ones(len(ux), dtype=bool)
    if names:               # Latin against CJK: not compared
        cjk = sp.prop("cjk", lambda vs: np.fromiter((N.has_cjk(str(v)) for v in vs), dtype=bool, count=len(vs)))
        other = cjk[ux] != cjk[uy]
        out[other] = NOT_COMPARED
        todo &= ~other
    if street:              # other house numbers: different
        hn = sp.codes_of("house", lambda v: N.house_numbers(v) or None)
        hx, hy = hn[ux], hn[uy]
        todo &= ~((hx >= 0) & (hy >= 0) & (hx != hy))
    one = _one_edit(sp, ux, uy, todo)
    out[one] = lv["one_edit"]
    rest = np.nonzero(todo & ~one)[0]
    if len(rest):
        vals = sp.values()
        jw = cpdist(vals[ux[rest]], vals[uy[rest]], scorer=JaroWinkler.similarity, dtype=np.float64)
        out[rest[jw >= 0.92]] = lv["jw_0.92"]
        out[rest[(jw < 0.92) & (jw >= 0.80)]] = lv["jw_0.80"]
    return out


def _edit(sp: Space, ux: np.ndarray, uy: np.ndarray, lv: dict[str, int], **_: bool) -> np.ndarray:
    return np.where(_one_edit(sp, ux, uy), lv["one_edit"], lv["else"]).astype(np.int8)


def _date(sp: Space, ux: np.ndarray, uy: np.ndarray, lv: dict[str, int], **_: bool) -> np.ndarray:
    def parts(vals: np.ndarray) -> np.ndarray:    # (year, month, day) and (year, day, month): one code space
        ids: dict[Any, int] = {}
        a = [ids.setdefault((v[:4], v[5:7], v[8:10]), len(ids)) for v in vals]
        b = [ids.setdefault((v[:4], v[8:10], v[5:7]), len(ids)) for v in vals]
        return np.array([a, b], dtype=np.int64).reshape(2, len(vals))
    ab = sp.prop("date_parts", parts)
    swapped = ab[0][ux] == ab[1][uy]
    out = np.full(len(ux), lv["else"], dtype=np.int8)
    out[swapped] = lv["day_month_swapped"]
    rest = np.nonzero(~swapped)[0]
    if len(rest):
        digits = sp.prop("date_digits", lambda vs: _objects([v.replace("-", "") for v in vs]))
        out[rest[_within_one(digits[ux[rest]], digits[uy[rest]])]] = lv["one_edit"]
    return out


def _email(sp: Space, ux: np.ndarray, uy: np.ndarray, lv: dict[str, int], **_: bool) -> np.ndarray:
    one = _one_edit(sp, ux, uy)
    lens, vals = sp.lens(), sp.values()
    for n in np.nonzero(one & (lens[ux] == lens[uy]))[0]:      # few: a digit for another is no typo
        if K._digit_substituted(vals[ux[n]], vals[uy[n]]):
            one[n] = False
    local = sp.codes_of("local", lambda v: v.split("@")[0])
    out = np.where(local[ux] == local[uy], lv["same_local"], lv["else"]).astype(np.int8)
    out[one] = lv["one_edit"]
    return out


def _phone(sp: Space, ux: np.ndarray, uy: np.ndarray, lv: dict[str, int], **_: bool) -> np.ndarray:
    def last8(v: str) -> str | None:
        d = v.lstrip("+")
        return d[-8:] if len(d) >= 8 else None
    c = sp.codes_of("last_8", last8)
    cx, cy = c[ux], c[uy]
    return np.where((cx >= 0) & (cx == cy), lv["last_8"], lv["else"]).astype(np.int8)


def _else(sp: Space, ux: np.ndarray, uy: np.ndarray, lv: dict[str, int], **_: bool) -> np.ndarray:
    return np.full(len(ux), lv["else"], dtype=np.int8)


#: kind function of fs_kinds -> its vectorised twin (used only while the kind's function is that one)
VECTORISED: dict[Callable[[Any, Any], str], Callable[..., np.ndarray]] = {
    K._string_label: _string, K._street_label: _string, K._edit_label: _edit, K._date_label: _date,
    K._email_label: _email, K._phone_label: _phone, K._else_label: _else}
STRING_KINDS = frozenset({"name", "person_name", "text", "street", "city"})


class Coded:
    """Records coded field by field: ``codes[k]`` the code of each record's value (-1: missing)."""

    def __init__(self, codes: list[np.ndarray], n: int) -> None:
        self.codes = codes
        self.n = n


class ColumnLevels:
    """Level vectors of many pairs at once for one rule's fields (see the module docstring)."""

    def __init__(self, specs: Sequence[Any]) -> None:
        self.specs = list(specs)
        fields = [s.field for s in self.specs]
        self.swaps = [(k, fields.index(s.swap_with), s.levels.index("swapped"))
                      for k, s in enumerate(self.specs) if s.swap_with in fields]
        spaces: list[Space | None] = [None] * len(self.specs)
        for k, j, _sw in self.swaps:            # a swap pair's fields: one code space
            sp = spaces[k] or spaces[j] or Space()
            spaces[k] = spaces[j] = sp
        self.spaces: list[Space] = [sp or Space() for sp in spaces]

    def encode(self, tuples: Sequence[Sequence[Any]]) -> Coded:
        codes = []
        for k, sp in enumerate(self.spaces):
            ids = sp.ids
            col = np.fromiter((-1 if (v := t[k]) is None else ids.setdefault(v, len(ids)) for t in tuples),
                              dtype=np.int64, count=len(tuples))
            codes.append(col)
        return Coded(codes, len(tuples))

    def levels(self, left: Coded, right: Coded, li: np.ndarray, rj: np.ndarray) -> np.ndarray:
        """The level index of every field (rows) of every pair ``(left[li[p]], right[rj[p]])`` (columns)."""
        out = np.empty((len(self.specs), len(li)), dtype=np.int8)
        for k, (s, sp) in enumerate(zip(self.specs, self.spaces)):
            x, y = left.codes[k][li], right.codes[k][rj]
            row = np.full(len(li), NOT_COMPARED, dtype=np.int8)
            present = (x >= 0) & (y >= 0)
            row[present & (x == y)] = s.levels.index("exact")
            diff = np.nonzero(present & (x != y))[0]
            if len(diff):
                n = max(len(sp.ids), 1)
                pair = x[diff] * n + y[diff]
                if len(distinct(pair[:SAMPLE])) < 0.7 * min(len(pair), SAMPLE):   # values repeat: once per pair
                    uniq, inv = np.unique(pair, return_inverse=True)
                    row[diff] = self._different(s, sp, uniq // n, uniq % n)[inv.reshape(-1)]
                else:
                    row[diff] = self._different(s, sp, x[diff], y[diff])
            out[k] = row
        if self.swaps:
            self._swapped(out, left, right, li, rj)
        return out

    def _different(self, s: Any, sp: Space, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        lv = {label: i for i, label in enumerate(s.levels)}
        fn = K.DIFFERENT.get(s.kind, K._else_label)
        twin = VECTORISED.get(fn)
        if twin is not None and sp.is_str()[ux].all() and sp.is_str()[uy].all():
            return twin(sp, ux, uy, lv, names=s.kind in NAME_KINDS, street=fn is K._street_label)
        vals = sp.values()          # the kind's Python function, once per distinct pair
        names = s.kind in NAME_KINDS
        return np.fromiter((NOT_COMPARED if names and N.has_cjk(str(x)) != N.has_cjk(str(y)) else lv[fn(x, y)]
                            for x, y in zip(vals[ux], vals[uy])), dtype=np.int8, count=len(ux))

    def _swapped(self, out: np.ndarray, left: Coded, right: Coded, li: np.ndarray, rj: np.ndarray) -> None:
        """``LevelComputer._swapped`` over every pair: a first field whose values are each within one typo of the
        other side's second field (which differ) is ``swapped``, and the second is then not compared."""
        skipped = np.zeros((len(self.specs), len(li)), dtype=bool)
        for k, j, swapped in self.swaps:
            idx = np.nonzero((out[k] > 0) & ~skipped[k])[0]
            if not len(idx):
                continue
            ox, oy = left.codes[j][li[idx]], right.codes[j][rj[idx]]
            keep = (ox >= 0) & (oy >= 0) & (ox != oy)
            idx, ox, oy = idx[keep], ox[keep], oy[keep]
            x, y = left.codes[k][li[idx]], right.codes[k][rj[idx]]
            ok = self._close_codes(self.spaces[k], x, oy)
            sub = np.nonzero(ok)[0]
            ok[sub] = self._close_codes(self.spaces[k], ox[sub], y[sub])
            hit = idx[ok]
            out[k, hit] = swapped
            if j > k:
                out[j, hit] = NOT_COMPARED
                skipped[j, hit] = True

    def _close_codes(self, sp: Space, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``fs._close`` (equal, or two texts one edit apart) of pairs of codes of one space."""
        eq = x == y
        rest = np.nonzero(~eq)[0]
        if len(rest):
            strs = sp.is_str()
            both = strs[x[rest]] & strs[y[rest]]
            eq[rest] = _one_edit(sp, x[rest], y[rest], both)
        return eq
