"""The comparison levels of a probabilistic rule, computed fast (hub/matching/fs.py's hot path).

Same levels as ``fs.reference_levels`` (the plain reading of the rules, kept as the reference the
tests compare against), computed with fewer Python objects:

* records are normalised once into a **tuple** in field order (not a dict per record);
* each field gets one **compiled comparator** returning the level's index directly, chosen once per
  field kind (no dispatch on the kind per pair);
* fields whose values repeat across records (names, streets, cities, postcodes, free text) remember
  the level of every value pair they have compared (bounded memo, cleared when full): a surname is
  compared with the same few hundred surnames over and over, and the Latin/CJK check, the
  Damerau-Levenshtein and Jaro-Winkler distances run once per distinct pair;
* the swapped-names check remembers its "within one typo" answers the same way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from concord.hub.matching import normalise as N

NOT_COMPARED = -1
MEMO_PAIRS = 200_000        # value pairs remembered per field (the memo is cleared when full)
MEMO_KINDS = frozenset({"name", "person_name", "text", "street", "city", "postal_code"})
NAME_KINDS = frozenset({"name", "person_name"})

Comparator = Callable[[Any, Any], int]


def compile_field(kind: str, levels: tuple[str, ...], label: Callable[[str, Any, Any], str]) -> Comparator:
    """(x, y) -> level index for two normalised, present values (NOT_COMPARED for Latin against CJK names)."""
    index = {lv: i for i, lv in enumerate(levels)}
    exact = index["exact"]
    if kind not in MEMO_KINDS:
        def plain(x: Any, y: Any) -> int:
            return exact if x == y else index[label(kind, x, y)]
        return plain
    memo: dict[tuple[Any, Any], int] = {}
    names = kind in NAME_KINDS

    def remembered(x: Any, y: Any) -> int:
        if x == y:
            return exact
        key = (x, y)
        hit = memo.get(key)
        if hit is not None:
            return hit
        if names and N.has_cjk(str(x)) != N.has_cjk(str(y)):
            lv = NOT_COMPARED
        else:
            lv = index[label(kind, x, y)]
        if len(memo) >= MEMO_PAIRS:
            memo.clear()
        memo[key] = lv
        return lv
    return remembered


class LevelComputer:
    """Level vectors of normalised record tuples for one rule's fields (see the module docstring)."""

    def __init__(self, specs: Sequence[Any], label: Callable[[str, Any, Any], str],
                 close: Callable[[Any, Any], bool]) -> None:
        fields = [s.field for s in specs]
        self.specs = list(specs)
        self.n = len(specs)
        self._cmp = [compile_field(s.kind, s.levels, label) for s in specs]
        self._names = [s.kind in NAME_KINDS for s in specs]
        # (field index, partner index, index of the "swapped" level) for fields with a swap partner
        self._swap: list[tuple[int, int, int] | None] = [
            (k, fields.index(s.swap_with), s.levels.index("swapped")) if s.swap_with in fields else None
            for k, s in enumerate(specs)]
        self._close_raw = close
        self._close_memo: dict[tuple[Any, Any], bool] = {}

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
        out = [NOT_COMPARED] * self.n
        skip: set[int] | None = None
        for k, cmp in enumerate(self._cmp):
            x, y = a[k], b[k]
            if x is None or y is None or (skip is not None and k in skip):
                continue
            lv = cmp(x, y)
            if lv == NOT_COMPARED:
                continue
            sw = self._swap[k]
            if sw is not None and lv != 0:
                j = sw[1]
                ox, oy = a[j], b[j]
                if ox is not None and oy is not None and ox != oy and self._close(x, oy) and self._close(ox, y):
                    lv = sw[2]
                    if skip is None:
                        skip = set()
                    skip.add(j)
            out[k] = lv
        return out
