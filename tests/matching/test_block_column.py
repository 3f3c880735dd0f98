"""``BlockKey.column``: every record's keys of one block at once, the same as ``BlockKey.values`` record by record
(several values of one part, several parts, missing and empty values), with or without a scorer's
normalised values to read."""
from __future__ import annotations

from typing import Any

import pytest

from concord.hub.matching.fs_kinds import normaliser
from concord.hub.matching.rules import KEY_CHARS, BlockKey

RECORDS: list[dict[str, Any]] = [
    {"last_name": "Müller", "postal_code": "10115", "first_name": "Anna"},
    {"last_name": "Mueller-Schmidt", "postal_code": "10 115", "first_name": "anna maria"},
    {"last_name": "", "postal_code": "10115"}, {"postal_code": "20095"}, {},
    {"last_name": "X" * 500, "postal_code": "1"},
]


@pytest.mark.parametrize("spec", ["exact:postal_code", "name_edits:last_name", "name_split:first_name",
                                  "name_edits:last_name+exact:postal_code", "exact:postal_code+initial:first_name"])
@pytest.mark.parametrize("with_scorer", [False, True])
def test_column_equals_values(spec: str, with_scorer: bool) -> None:
    bk = BlockKey(spec)
    normalised = {}
    if with_scorer:         # a probabilistic rule that compares last_name as a person's name reads its values
        norm = normaliser("person_name", "last_name")
        normalised = {"last_name": (norm, [(norm(r.get("last_name")),) for r in RECORDS], 0)}
    got = bk.column(lambda f: [r.get(f) for r in RECORDS], normalised)
    assert got == [[(bk.name, v[:KEY_CHARS]) for v in bk.values(r)] for r in RECORDS]
    assert bk.multi == any(p in spec for p in ("name_edits", "name_split"))
