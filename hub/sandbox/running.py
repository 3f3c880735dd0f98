"""What a started sandbox tells the hub and the integrator.

Every connector package that ships a sandbox registers a ``start`` function in
the ``concord.sandboxes`` entry-point group::

    def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, **options) -> RunningSandbox

``concord sandbox up`` prints :meth:`RunningSandbox.describe` as one JSON line,
and ``concord demo`` writes ``connector_config`` into concord.yaml (secrets as
``${ENV}`` references, their values in ``env``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from concord.hub.sandbox.server import SandboxApp, SandboxServer


@dataclass
class RunningSandbox:
    connector: str                       # connector name ("salesforce")
    server: SandboxServer | None         # None for sandboxes that are folders (files)
    app: SandboxApp | None
    credentials: dict[str, str] = field(default_factory=dict)   # shown to the integrator (sandbox-only values)
    connector_config: dict[str, Any] = field(default_factory=dict)  # the ``config:`` block for concord.yaml
    env: dict[str, str] = field(default_factory=dict)            # values of the ${ENV} references above
    state: Any = None                    # the sandbox's store (tests poke it to make edits)
    extra: dict[str, Any] = field(default_factory=dict)          # JSON-safe facts, printed by describe()
    handles: dict[str, Any] = field(default_factory=dict)        # live objects for tests (knobs, stores); never printed

    @property
    def base_url(self) -> str:
        return self.server.base_url if self.server else str(self.extra.get("base_url", ""))

    def describe(self) -> dict[str, Any]:
        out = {"system": self.connector, "base_url": self.base_url, "credentials": self.credentials}
        if self.server and self.server.ca_file:
            out["ca_file"] = self.server.ca_file
        out.update(self.extra)
        return out

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def __enter__(self) -> "RunningSandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
