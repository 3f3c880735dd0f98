"""A page's primary key (one or more typed fields) and its encoding into one Concord source id.

NAV identifies a record by its primary key fields: ``No`` for a Customer, but
``Journal_Template_Name, Journal_Batch_Name, Line_No`` for a journal line and
``Document_Type, Document_No, Line_No`` for a document line. Concord's source ids
are strings, so a key becomes one string:

- **one key field**: the value itself, as text (``"10000"``, ``"C00010"``), unchanged
  from what a single-key page always used;
- **several key fields**: the values as text, each escaped, joined with ``,`` in key
  order: ``GENERAL,DEFAULT,10000``. Escaping replaces ``%`` with ``%25`` and ``,``
  with ``%2C`` (nothing else), so ``A,B`` / ``X`` / ``1`` is ``A%2CB,X,1`` and every
  value, including empty text and values holding ``,`` or ``%``, decodes back exactly.

Integers are written in plain decimal (``10000``), dates as ``YYYY-MM-DD``; decoding
converts each part back to its declared type. The encoding is stable: the same key
always gives the same string, so cross-references made on one run match the next.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from concord.hub.errors import RecordError

SEP = ","
_ESCAPES = re.compile(r"%(25|2C)", re.IGNORECASE)


def escape(text: str) -> str:
    return text.replace("%", "%25").replace(SEP, "%2C")


def unescape(text: str) -> str:
    return _ESCAPES.sub(lambda m: "%" if m.group(1) == "25" else SEP, text)


def encode_parts(parts: Sequence[str]) -> str:
    """Text parts in key order as one source id (a single part is returned as it is)."""
    if len(parts) == 1:
        return parts[0]
    return SEP.join(escape(p) for p in parts)


def decode_parts(source_id: str, n: int) -> list[str]:
    """The ``n`` text parts of a source id; RecordError when it has another number of parts."""
    if n == 1:
        return [source_id]
    parts = source_id.split(SEP)
    if len(parts) != n:
        raise RecordError(f"source id {source_id!r} has {len(parts)} part(s); this page's key has {n} "
                          f"(values joined with ',', ',' and '%' escaped as %2C and %25)", code="bad_key",
                          record_id=source_id)
    return [unescape(p) for p in parts]


def to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class PageKey:
    """The key fields of one page, in key order, with their types (``string``, ``int``, ``date``)."""

    names: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def composite(self) -> bool:
        return len(self.names) > 1

    def typed(self, name: str, value: Any, record_id: str | None = None) -> Any:
        kind = self.types[self.names.index(name)]
        try:
            if kind == "int":
                if isinstance(value, bool):
                    raise ValueError
                return int(str(value).strip()) if not isinstance(value, int) else value
            if kind == "date":
                return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
        except (TypeError, ValueError):
            raise RecordError(f"key field {name}: {value!r} is not a valid {kind}", field=name, code="bad_key",
                              record_id=record_id) from None
        return to_text(value)

    def values_of(self, record: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The key values of a record (None when a part is missing)."""
        out = []
        for name in self.names:
            v = record.get(name)
            if v is None or (isinstance(v, str) and v == "" and not self.composite):
                return None
            out.append(v)
        return tuple(out)

    def encode(self, values: Sequence[Any]) -> str:
        return encode_parts([to_text(v) for v in values])

    def source_id(self, record: Mapping[str, Any]) -> str | None:
        values = self.values_of(record)
        return None if values is None else self.encode(values)

    def decode(self, source_id: str) -> dict[str, Any]:
        """Key field -> typed value (RecordError when the id does not fit the key)."""
        parts = decode_parts(str(source_id), len(self.names))
        return {n: self.typed(n, p, source_id) for n, p in zip(self.names, parts)}

    def norm(self, values: Sequence[Any]) -> tuple[str, ...]:
        """A comparable form: text, upper case (NAV compares Code values case-insensitively)."""
        return tuple(to_text(v).upper() for v in values)
