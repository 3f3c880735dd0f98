"""Source field paths, compiled once into small getter and setter closures.

Syntax: keys separated by dots, list indexes in brackets, and quoted keys for names that
contain dots, spaces or brackets::

    Name
    BillingAddress.city
    to_BusinessPartnerAddress.results[0].CityName
    owner[0]
    ["Cust. No"]          # a CSV header with a dot and a space
    Address['Zip Code']

A getter returns ``None`` when a key is missing or a parent is ``None`` (a list index past the
end too); it raises :class:`PathError` when a parent has the wrong shape (text where an object
is expected), because that is a broken payload rather than a missing value.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Segment = str | int
Getter = Callable[[Any], Any]
Setter = Callable[[dict[str, Any], Any], None]

_TOKEN = re.compile(r"""\[\s*(?:(-?\d+)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\]|([^.\[\]"']+)|(\.)""")


class PathError(ValueError):
    """A payload does not have the shape a path expects."""


def parse_path(text: str) -> tuple[Segment, ...]:
    """``"a.b[0]['c d']"`` -> ``("a", "b", 0, "c d")``; raises ValueError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a source path must be a non-empty string")
    text = text.strip()
    segments: list[Segment] = []
    pos, expect_key = 0, True
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unexpected {text[pos]!r} at position {pos + 1} of path {text!r}")
        index, dq, sq, bare, dot = m.groups()
        if dot:
            if expect_key:
                raise ValueError(f"empty key at position {pos + 1} of path {text!r}")
            expect_key = True
        elif bare is not None:
            if not expect_key:
                raise ValueError(f"missing '.' before {bare!r} in path {text!r}")
            key = bare.strip()
            if not key or key != bare:
                raise ValueError(f"key {bare!r} has spaces around it in path {text!r} (quote it: [\"...\"])")
            segments.append(key)
            expect_key = False
        elif index is not None:
            if expect_key and segments:
                raise ValueError(f"'.' before '[' in path {text!r}")
            if not segments:
                raise ValueError(f"path {text!r} starts with an index")
            segments.append(int(index))
            expect_key = False
        else:
            if not expect_key and segments and not text[m.start()] == "[":
                raise ValueError(f"missing '.' in path {text!r}")
            raw = dq if dq is not None else sq
            segments.append(re.sub(r"\\(.)", r"\1", raw))
            expect_key = False
        pos = m.end()
    if expect_key:
        raise ValueError(f"path {text!r} ends with '.'")
    return tuple(segments)


def format_path(segments: Sequence[Segment]) -> str:
    """The canonical text form of a parsed path."""
    out = ""
    for seg in segments:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif re.fullmatch(r"[^.\[\]\"'\s]+", seg):
            out += ("." if out else "") + seg
        else:
            out += '["' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out


def _kind(value: Any) -> str:
    return type(value).__name__


def compile_getter(segments: Sequence[Segment]) -> Getter:
    """A function ``raw -> value`` for the path (None when absent)."""
    segs = tuple(segments)
    text = format_path(segs)
    if len(segs) == 1 and isinstance(segs[0], str):
        key = segs[0]

        def get1(raw: Any) -> Any:
            try:
                return raw.get(key)
            except AttributeError:
                raise PathError(f"expected an object for {text!r}, found {_kind(raw)}") from None

        return get1

    if all(isinstance(seg, str) for seg in segs):
        # keys only: plain dicts (what JSON decoding gives) take a straight walk; anything else
        # (another Mapping, a wrong shape that must raise PathError) goes the general way
        general = _general_getter(segs, text)

        def get_keys(raw: Any) -> Any:
            value = raw
            for seg in segs:
                if type(value) is not dict:
                    return general(raw)
                value = value.get(seg)
                if value is None:
                    return None
            return value

        return get_keys
    return _general_getter(segs, text)


def _general_getter(segs: tuple[Segment, ...], text: str) -> Getter:
    def get(raw: Any) -> Any:
        value = raw
        for i, seg in enumerate(segs):
            if value is None:
                return None
            if isinstance(seg, int):
                if not isinstance(value, (list, tuple)):
                    raise PathError(f"expected a list at {format_path(segs[:i])!r} of {text!r}, found {_kind(value)}")
                try:
                    value = value[seg]
                except IndexError:
                    return None
            else:
                if not isinstance(value, Mapping):
                    where = format_path(segs[:i]) or "the record"
                    raise PathError(f"expected an object at {where!r} of {text!r}, found {_kind(value)}")
                value = value.get(seg)
        return value

    return get


def compile_setter(segments: Sequence[Segment]) -> Setter:
    """A function ``(target, value)`` that writes value at the path, creating parents as needed."""
    segs = tuple(segments)
    text = format_path(segs)
    if len(segs) == 1 and isinstance(segs[0], str):
        key = segs[0]

        def set1(target: dict[str, Any], value: Any) -> None:
            target[key] = value

        return set1

    def _child(container: Any, seg: Segment, nxt: Segment) -> Any:
        blank: Any = [] if isinstance(nxt, int) else {}
        if isinstance(seg, int):
            while len(container) <= seg:
                container.append(None)
            if container[seg] is None:
                container[seg] = blank
            return container[seg]
        current = container.get(seg)
        if current is None:
            current = container[seg] = blank
        return current

    def set_(target: dict[str, Any], value: Any) -> None:
        node: Any = target
        for i, seg in enumerate(segs[:-1]):
            node = _child(node, seg, segs[i + 1])
            if isinstance(segs[i + 1], int) != isinstance(node, list):
                raise PathError(f"path {text!r} clashes with another rule at {format_path(segs[:i + 1])!r}")
        last = segs[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append(None)
        node[last] = value

    return set_
