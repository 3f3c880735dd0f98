"""``concord check``: every mapping against the system's own metadata, and every system's credentials."""
from __future__ import annotations

from concord.hub.config.loader import Project
from concord.hub.contracts import entity_by_name
from concord.hub.engine.context import RunContext
from concord.hub.errors import ConfigError, HubError


def check_project(project: Project, ctx: RunContext | None = None, *, auth: bool = True) -> list[HubError]:
    """Problems found (empty = all good). Contacts each system once for metadata (and auth)."""
    from concord.hub.http import HttpToolkit

    ctx = ctx or RunContext(project, None, HttpToolkit())  # metadata and auth only: no warehouse involved
    problems: list[HubError] = []
    checked: set[str] = set()
    try:
        for (entity, system), mapping in sorted(project.mappings.items()):
            try:
                connector = ctx.connector(system)
                if auth and system not in checked:
                    checked.add(system)
                    connector.check()
                spec = entity_by_name(connector, project.source_entity(entity, system))
            except HubError as exc:
                problems.append(exc if isinstance(exc, ConfigError) else
                                type(exc)(f"{system}: {exc.message}", code=exc.code))
                continue
            except Exception as exc:  # a connector bug or an unreachable system
                problems.append(ConfigError(f"{system}: cannot read metadata: {type(exc).__name__}: {exc}"))
                continue
            problems.extend(mapping.check_against(spec))
    finally:
        ctx.close()
    return problems
