"""Find connectors and sandboxes through entry points (no import of ``connectors``).

A third-party package adds a system by declaring
``[project.entry-points."concord.connectors"] mysystem = "pkg.module:Class"``.
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from concord.hub.errors import ConfigError

CONNECTOR_GROUP = "concord.connectors"
SANDBOX_GROUP = "concord.sandboxes"


@lru_cache(maxsize=None)
def _eps(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str = CONNECTOR_GROUP) -> list[str]:
    return sorted(_eps(group))


def _load(group: str, name: str, what: str) -> Any:
    eps = _eps(group)
    if name not in eps:
        raise ConfigError(f"unknown {what} {name!r}; known: {', '.join(sorted(eps)) or '(none installed)'}")
    try:
        return eps[name].load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{what} {name!r} is registered ({eps[name].value}) but cannot be loaded: {exc}") from None


def load_entry_point(group: str, name: str, what: str) -> Any:
    return _load(group, name, what)


def connector_class(name: str) -> Any:
    return _load(CONNECTOR_GROUP, name, "connector")


def sandbox_starter(name: str) -> Any:
    return _load(SANDBOX_GROUP, name, "sandbox")


def available(group: str = CONNECTOR_GROUP) -> list[str]:
    """The registered names whose code imports (connectors still being written are left out)."""
    out = []
    for n in names(group):
        try:
            _load(group, n, "connector")
        except ConfigError:
            continue
        out.append(n)
    return out
