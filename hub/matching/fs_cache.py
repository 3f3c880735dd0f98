"""Memory for the Fellegi-Sunter scorer (hub/matching/fs.py): normalised records shared by the scorers that
read the same fields, and normalisers that remember their answers for values that repeat."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from concord.hub.matching.fs_levels import MEMO_PAIRS

CACHE_RECORDS = 100_000  # normalised records kept per generation (two generations; see RecordCache)


class RecordCache:
    """Normalised records by their raw values, shared by every scorer that reads the same fields the same
    way (training's scorer and the trained one normalise each record once between them). Two generations
    of ``CACHE_RECORDS``: when the newer is full it becomes the older and the oldest are forgotten; a hit
    in the older generation is not copied forward, so a pass over more records than one generation holds
    still finds all of them the second time."""

    _by_fields: ClassVar[dict[tuple[tuple[str, str], ...], RecordCache]] = {}

    def __init__(self) -> None:
        self._new: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._old: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    @classmethod
    def shared(cls, fields: tuple[tuple[str, str], ...]) -> RecordCache:
        cache = cls._by_fields.get(fields)
        if cache is None:
            cache = cls._by_fields[fields] = cls()
        return cache

    def get(self, key: tuple[Any, ...]) -> tuple[Any, ...] | None:
        hit = self._new.get(key)
        return hit if hit is not None else self._old.get(key)

    def put(self, key: tuple[Any, ...], value: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(self._new) >= CACHE_RECORDS:
            self._old, self._new = self._new, {}
        self._new[key] = value
        return value


def remembering(norm: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A normaliser that remembers its answers for values that repeat (names, cities, postcodes)."""
    memo: dict[Any, Any] = {}

    def f(v: Any) -> Any:
        if type(v) is not str:      # 1, 1.0 and True are equal keys but may normalise differently
            return norm(v)
        hit = memo.get(v)
        if hit is not None:
            return hit
        if len(memo) >= MEMO_PAIRS:
            memo.clear()
        out = memo[v] = norm(v)
        return out
    return f
