"""Helpers for the mapping tests: write a mapping file and compile it."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from concord.hub.errors import ConfigError
from concord.hub.mapping import CompiledMapping, load_mapping


class FakeResolver:
    """xref stand-in: source ids <-> golden ids per entity."""

    def __init__(self, pairs: dict[str, dict[str, str]]) -> None:
        self.pairs = pairs
        self.calls: list[tuple[str, str, str]] = []

    def resolve_in(self, entity: str, source_id: str) -> str | None:
        self.calls.append(("in", entity, source_id))
        return self.pairs.get(entity, {}).get(source_id)

    def resolve_out(self, entity: str, golden_id: str) -> str | None:
        self.calls.append(("out", entity, golden_id))
        inverse = {g: s for s, g in self.pairs.get(entity, {}).items()}
        return inverse.get(golden_id)


@pytest.fixture
def compile_yaml(tmp_path: Path):
    """compile_yaml(text) -> CompiledMapping, from a real file (so errors carry file and line)."""

    def make(text: str, name: str = "m.yaml") -> CompiledMapping:
        path = tmp_path / "sys" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return load_mapping(path)

    return make


@pytest.fixture
def compile_error(compile_yaml):
    """compile_error(text) -> the ConfigError it raises."""

    def make(text: str) -> ConfigError:
        with pytest.raises(ConfigError) as info:
            compile_yaml(text)
        return info.value

    return make
