"""Keys of many records at once for offline matching (hub/matching/offline.py): ``RuleMatcher.keys``, each
blocking-key part's values computed once per distinct value.

A file's records repeat their postcodes, surnames, initials, cities and dates thousands of times; a
blocking key ``exact:postal_code+name:last_name+initial:first_name`` normalises each of its parts on its
own and joins their values. Here every part (``function:field``) remembers its values per distinct raw
value, shared by the keys that use the same part, and the keys are joined exactly as ``BlockKey.values``
joins them. The first records are also keyed by ``RuleMatcher.keys`` itself: should the two ever disagree
(the rules changed how they join parts), every record is keyed by ``RuleMatcher.keys``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from concord.hub.matching.exact import exact_key
from concord.hub.matching.rules import BlockKey, RuleMatcher

CHECKED = 32            # records keyed both ways before the memoised path is trusted
MEMO_VALUES = 200_000   # distinct values remembered per part (the memo is cleared when full)
PROBE = 2_000           # values a part remembers before it checks that they repeat

Part = tuple[str, Callable[[Any], Sequence[str]]]


class BulkKeys:
    """``keys(record)``: the same list ``matcher.keys(record)`` gives (see the module docstring)."""

    def __init__(self, matcher: RuleMatcher) -> None:
        self.matcher = matcher
        self._checked = 0
        self._trusted = True
        parts: dict[tuple[str, str], Callable[[Any], Sequence[str]]] = {}
        # in the matcher's order: (key name, field, its keys of a value) for a one-part key, else
        # (key name, None, [(field, the part's values of a value)])
        self._blocks: list[tuple[str, str | None, Any]] = []
        for name, bk in matcher.blocks.items():
            if len(bk.parts) == 1:
                fn, field = bk.parts[0]
                self._blocks.append((name, field, _remembering(BlockKey(f"{fn}:{field}"), field, name)))
                continue
            mine = []
            for fn, field in bk.parts:
                if (fn, field) not in parts:
                    parts[(fn, field)] = _remembering(BlockKey(f"{fn}:{field}"), field, None)
                mine.append((field, parts[(fn, field)]))
            self._blocks.append((name, None, mine))

    def keys(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not self._trusted:
            return self.matcher.keys(record)
        out = self._keys(record)
        if self._checked < CHECKED:
            self._checked += 1
            if out != self.matcher.keys(record):
                self._trusted = False
                return self.matcher.keys(record)
        return out

    def _keys(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        out: list[Any] = []
        for rule in self.matcher.exact:
            k = exact_key(rule, record)
            if k is not None:
                out.append((rule.key_name, k))
        get = record.get
        for name, field, how in self._blocks:
            if field is not None:           # one part: its keys, remembered per value
                value = get(field)
                if value is not None and value != "":
                    out += how(value)
                continue
            vals: Sequence[str] = [""]
            for part_field, part in how:
                value = get(part_field)
                if value is None or value == "":
                    vals = []
                    break
                got = part(value)
                if not got:
                    vals = []
                    break
                vals = [f"{o}|{v}" if o else v for o in vals for v in got]
            out += [(name, v[:400]) for v in vals]
        return list(dict.fromkeys(out))


def _remembering(bk: BlockKey, field: str, name: str | None) -> Callable[[Any], Sequence[Any]]:
    """One part's values of a raw value (``BlockKey.values`` of a one-part key), remembered for strings; with
    ``name``, the keys ``(name, value)`` of a one-part key named so."""
    memo: dict[str, tuple[Any, ...]] = {}
    seen = [0, 0]           # values looked up, values found: a part whose values hardly repeat stops remembering

    def compute(value: Any) -> tuple[Any, ...]:
        vals = bk.values({field: value})
        return tuple(vals) if name is None else tuple([(name, v[:400]) for v in vals])

    def values(value: Any) -> Sequence[Any]:
        if type(value) is not str:
            return compute(value)
        hit = memo.get(value)
        if hit is not None:
            seen[1] += 1
            return hit
        if seen[0] >= PROBE and seen[1] * 10 < seen[0]:        # under 10% repeats: not worth the memory
            return compute(value)
        seen[0] += 1
        if len(memo) >= MEMO_VALUES:
            memo.clear()
        hit = memo[value] = compute(value)
        return hit
    return values
