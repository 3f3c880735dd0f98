"""The comparison levels of a probabilistic rule, computed fast (hub/matching/fs.py's hot path: the engine's
record-by-record matching; offline matching and training compare all their pairs at once with numpy,
hub/matching/fs_columns.py, which the tests hold to these levels).

Same levels as ``fs.reference_levels`` (the plain reading of the rules, kept as the reference the
tests compare against), computed with fewer Python objects:

* records are normalised once into a **tuple** in field order (not a dict per record);
* each field gets one **compiled comparator** returning the level's index directly: equal values are
  ``exact`` at once, different ones go straight to their kind's function (``fs.DIFFERENT``, chosen
  once per field, no dispatch on the kind per pair);
* fields whose values repeat across records (names, streets, cities, postcodes, free text) remember
  the level of every value pair they have compared (bounded memo, cleared when full): a surname is
  compared with the same few hundred surnames over and over, and the Latin/CJK check, the
  Damerau-Levenshtein and Jaro-Winkler distances run once per distinct pair;
* the swapped-names check remembers its "within one typo" answers the same way;
* the **level vector of a pair of records** is remembered too (bounded), in either order (every level
  is symmetric): training compares the pairs that agree on a strong field, matching then scores many
  of the same pairs again, deduplication scores each pair once from each side, the best candidate's
  evidence and clustering's checks across clusters read pairs already scored. Vectors are interned
  (a few thousand distinct ones), so a remembered pair costs its key only.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from concord.hub.matching import normalise as N

NOT_COMPARED = -1
MEMO_PAIRS = 200_000        # value pairs remembered per field (the memo is cleared when full)
MEMO_VECTORS = 500_000      # record pairs whose level vector is remembered (two generations of this many)
MEMO_KINDS = frozenset({"name", "person_name", "text", "street", "city", "postal_code"})
NAME_KINDS = frozenset({"name", "person_name"})

Comparator = Callable[[Any, Any], int]
def compile_field(kind: str, levels: tuple[str, ...], different: Callable[[Any, Any], str]) -> Comparator:
    """(x, y) -> level index for two normalised, present values (NOT_COMPARED for Latin against CJK names);
    ``different`` gives the level's name of two values that are not equal."""
    index = {lv: i for i, lv in enumerate(levels)}
    exact = index["exact"]
    if kind not in MEMO_KINDS:
        def plain(x: Any, y: Any) -> int:
            return exact if x == y else index[different(x, y)]
        return plain
    memo: dict[tuple[Any, Any], int] = {}
    names = kind in NAME_KINDS
    has_cjk = N.has_cjk

    def remembered(x: Any, y: Any) -> int:
        if x == y:
            return exact
        key = (x, y)
        hit = memo.get(key)
        if hit is not None:
            return hit
        if names and has_cjk(str(x)) != has_cjk(str(y)):
            lv = NOT_COMPARED
        else:
            lv = index[different(x, y)]
        if len(memo) >= MEMO_PAIRS:
            memo.clear()
        memo[key] = lv
        return lv
    return remembered


class LevelComputer:
    """Level vectors of normalised record tuples for one rule's fields (see the module docstring)."""

    def __init__(self, specs: Sequence[Any], different: Mapping[str, Callable[[Any, Any], str]],
                 close: Callable[[Any, Any], bool]) -> None:
        fields = [s.field for s in specs]
        self.specs = list(specs)
        self.n = len(specs)
        self._cmp = [compile_field(s.kind, s.levels, different[s.kind]) for s in specs]
        # (field index, partner index, index of the "swapped" level) for fields with a swap partner
        self._swaps: list[tuple[int, int, int]] = [
            (k, fields.index(s.swap_with), s.levels.index("swapped"))
            for k, s in enumerate(specs) if s.swap_with in fields]
        self._close_raw = close
        self._close_memo: dict[tuple[Any, Any], bool] = {}
        # (id(a), id(b)) -> (a, b, vector): keys hash two ints, not twenty values; an entry holds its two
        # tuples, so neither id can be reused by another object while the entry exists (checked by `is`)
        self._vectors: dict[tuple[int, int], tuple[Any, Any, tuple[int, ...]]] = {}
        self._vectors_old: dict[tuple[int, int], tuple[Any, Any, tuple[int, ...]]] = {}
        self._interned: dict[tuple[int, ...], tuple[int, ...]] = {}

    _shared: ClassVar[dict[tuple[Any, ...], LevelComputer]] = {}

    @classmethod
    def shared(cls, specs: Sequence[Any], different: Mapping[str, Callable[[Any, Any], str]],
               close: Callable[[Any, Any], bool]) -> LevelComputer:
        """One computer (and its memos) per set of field specs: training's scorer and the trained one
        compare the same pairs."""
        key = (tuple((s.field, s.kind, s.levels, s.swap_with) for s in specs), id(different), id(close))
        lc = cls._shared.get(key)
        if lc is None:
            lc = cls._shared[key] = cls(specs, different, close)
        return lc

    def _close(self, x: Any, y: Any) -> bool:
        key = (x, y)
        hit = self._close_memo.get(key)
        if hit is None:
            if len(self._close_memo) >= MEMO_PAIRS:
                self._close_memo.clear()
            hit = self._close_memo[key] = self._close_raw(x, y)
        return hit

    def levels(self, a: Sequence[Any], b: Sequence[Any]) -> list[int]:
        """The level index of every field (NOT_COMPARED where a value is missing)."""
        return list(self.vector(a, b))

    def vector(self, a: Sequence[Any], b: Sequence[Any]) -> tuple[int, ...]:
        """``levels`` as a tuple, remembered per pair of normalised tuples (the same objects: the scorer's
        record cache hands out one tuple per record), in either order."""
        ia, ib = id(a), id(b)
        new, old = self._vectors, self._vectors_old
        hit = new.get((ia, ib))
        if hit is not None and hit[0] is a and hit[1] is b:
            return hit[2]
        hit = new.get((ib, ia)) or old.get((ia, ib)) or old.get((ib, ia))   # older generation: not copied
        if hit is not None and ((hit[0] is a and hit[1] is b) or (hit[0] is b and hit[1] is a)):
            return hit[2]
        v = tuple(self._compute(a, b))
        v = self._interned.setdefault(v, v)
        if len(self._interned) > MEMO_VECTORS:         # not with real fields (levels are few)
            self._interned.clear()
        if len(new) >= MEMO_VECTORS:
            self._vectors_old, self._vectors = new, {}
        self._vectors[(ia, ib)] = (a, b, v)
        return v

    def _compute(self, a: Sequence[Any], b: Sequence[Any]) -> list[int]:
        out = [NOT_COMPARED if x is None or y is None else cmp(x, y) for cmp, x, y in zip(self._cmp, a, b)]
        return self._swapped(out, a, b) if self._swaps else out

    def _swapped(self, out: list[int], a: Sequence[Any], b: Sequence[Any]) -> list[int]:
        """``out`` with the swap partners' levels (a first field equal to the other side's second and vice versa)."""
        skipped: set[int] = set()
        for k, j, swapped in self._swaps:
            if k in skipped:            # compared as another field's swap partner already
                continue
            lv = out[k]
            if lv <= 0:                 # exact, or not compared
                continue
            x, y, ox, oy = a[k], b[k], a[j], b[j]
            if ox is not None and oy is not None and ox != oy and self._close(x, oy) and self._close(ox, y):
                out[k] = swapped
                if j > k:
                    out[j] = NOT_COMPARED
                    skipped.add(j)
        return out
