"""The sync engine: pull, land, map, match, survive, plan, push (see cycle.run_cycle)."""
from concord.hub.engine.context import RunContext, StreamStats
from concord.hub.engine.cycle import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, RunSummary, run_cycle

__all__ = ["RunContext", "StreamStats", "RunSummary", "run_cycle", "EXIT_OK", "EXIT_PARTIAL", "EXIT_FAILED"]
