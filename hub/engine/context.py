"""Everything one run needs: the project, the warehouse, connectors, the HTTP toolkit, the run id."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from concord.hub import registry
from concord.hub.config.loader import Project
from concord.hub.contracts import ConnectorContext, EntitySpec, entity_by_name
from concord.hub.http import CallLedger, HttpToolkit
from concord.hub.warehouse import Warehouse

if TYPE_CHECKING:     # the workers' module imports the matcher, which imports the engine's golden records
    from concord.hub.engine.mapping_pool import MappingWorkers


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


#: kinds of a stream's error: hub.errors kinds (configuration, auth, transient, record, fatal, and
#: skipped for a system whose circuit is open), plus budget (the daily API budget is used up),
#: blocked (writes whose parent will never be written), locked (another worker has the stream)
#: and unexpected (a bug: an exception outside the taxonomy)
ErrorKind = Literal["configuration", "auth", "transient", "record", "fatal", "skipped", "budget", "blocked",
                    "locked", "unexpected"]


@dataclass
class StreamStats:
    system: str
    entity: str
    direction: str                  # pull | push
    status: str = "success"         # success | partial | failed | skipped
    records_in: int = 0             # read (pull) / planned (push)
    records_changed: int = 0        # landed as new/changed (pull)
    records_out: int = 0            # written ok (push)
    quarantined: int = 0
    failed: int = 0                 # failed writes (push) that will be retried
    dead: int = 0                   # dead-lettered writes
    waiting: int = 0                # writes waiting for a parent that is being written (push)
    blocked: int = 0                # writes whose parent no rule will ever write (push)
    api_calls: int = 0
    error: str | None = None
    error_kind: ErrorKind | None = None   # what the caller does about ``error`` (typed, not a prefix)
    started_at: dt.datetime = field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    lag_seconds: float | None = None


@dataclass
class RunContext:
    project: Project
    warehouse: Warehouse | None       # None only for work that never touches it (``concord check``)
    http: HttpToolkit
    run_id: int | None = None
    now: Callable[[], dt.datetime] = utcnow
    progress: Any = None            # hub.engine.progress.Progress or None
    _connectors: dict[str, Any] = field(default_factory=dict)
    _specs: dict[tuple[str, str], EntitySpec] = field(default_factory=dict)
    mapping_workers: "MappingWorkers | None" = None   # the run's mapping workers, once a stream started them

    @classmethod
    def create(cls, project: Project, warehouse: Warehouse, *, http: HttpToolkit | None = None,
               progress: Any = None) -> "RunContext":
        budgets = {n: s.daily_budget for n, s in project.config.systems.items() if s.daily_budget}
        if warehouse is not None and getattr(getattr(project, "vocabulary", None), "extended", False):   # the project's own fields get their columns
            from concord.hub.warehouse.evolve import evolve_project

            evolve_project(warehouse, project.models)
        return cls(project, warehouse, http or HttpToolkit(CallLedger(budgets)), progress=progress)

    @property
    def ledger(self) -> CallLedger:
        return self.http.ledger

    def connector(self, system: str) -> Any:
        dry = self.warehouse is not None and self.warehouse.is_dry_run   # built for a dry run: leaves nothing behind
        if (system, dry) not in self._connectors:
            scfg = self.project.config.systems[system]
            cls = registry.connector_class(scfg.connector)
            config = self.project.connector_configs.get(system) or cls.Config.model_validate(scfg.config)
            ctx = ConnectorContext(system=system, base_dir=self.project.base_dir, http=self.http, now=self.now,
                                   dry_run=dry)
            self._connectors[(system, dry)] = cls(config, ctx)
        return self._connectors[(system, dry)]

    def spec(self, system: str, source_entity: str) -> EntitySpec:
        key = (system, source_entity)
        if key not in self._specs:
            self._specs[key] = entity_by_name(self.connector(system), source_entity)
        return self._specs[key]

    @property
    def workers_ready(self) -> bool:
        """The run's mapping workers are running and one has answered a batch (not only started)."""
        return self.mapping_workers is not None and self.mapping_workers.open and self.mapping_workers.warm

    def close(self) -> None:
        if self.mapping_workers is not None:
            self.mapping_workers.close()
            self.mapping_workers = None
        for c in self._connectors.values():
            close = getattr(c, "close", None)
            if callable(close):
                close()
        self._connectors.clear()
