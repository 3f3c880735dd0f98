"""Where a run's wall time went: the run page's phases, streams and entities, from the run's timeline.

The engine stores a timeline with each run (``run.summary["timings"]``, ``hub.engine.ledger.Timeline``):
one span per step, as seconds from the run's start. Steps of one phase may run side by side (each
system in its own thread), so a phase's time is the **union** of its spans, not their sum; a
stream's time is the sum of its own spans over the rounds (its busy time). The phases of a cycle
follow one another, so

    pull + process + derive + plan + push + settle + ledger + unattributed = wall time

(``overlap`` is subtracted when an orchestrator ran steps of different phases at the same time).
A run recorded before timelines were kept has only the ``run_stream`` spans of each stream's last
round; the page says so instead of pretending they add up.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

#: the phases of a run, in the order the page shows them, with what each covers
PHASES: tuple[tuple[str, str], ...] = (
    ("pull", "read every stream and land the pages (round 1)"),
    ("process", "map, match and survive each entity (round 1)"),
    ("derive", "derived records, such as orders from won opportunities (round 1)"),
    ("plan", "plan the writes per target (round 1)"),
    ("push", "send the writes (round 1)"),
    ("settle", "rounds 2 and later: read back what the targets assigned, and propagate it"),
    ("ledger", "the run's own bookkeeping: start, totals, stream rows"),
)


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    seconds: float
    share: float            # of the wall time, 0..1
    about: str
    steps: int


class StreamTime(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    system: str
    entity: str
    direction: str          # pull | push
    seconds: float          # busy time, summed over the rounds
    records: int
    rounds: int

    @property
    def rate(self) -> float | None:
        return self.records / self.seconds if self.records and self.seconds > 0 else None


class EntityTime(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    entity: str
    process: float
    derive: float
    plan: float
    records: int

    @property
    def total(self) -> float:
        return self.process + self.derive + self.plan


class Attribution(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    wall_seconds: float | None
    phases: list[Phase]
    unattributed: float
    overlap: float
    streams: list[StreamTime]
    entities: list[EntityTime]
    complete: bool          # False: an older run without a timeline (only last-round stream spans)
    rounds: int

    @property
    def attributed(self) -> float:
        return sum(p.seconds for p in self.phases) - self.overlap

    @property
    def bar_parts(self) -> list[tuple[str, float]]:
        """(name, seconds) for the run page's bar: the phases, then the unattributed rest."""
        return [(p.name, p.seconds) for p in self.phases] + [("unattributed", self.unattributed)]


def union_seconds(spans: Iterable[tuple[float, float]]) -> float:
    """The length of the union of [start, end] intervals."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted((float(a), float(b)) for a, b in spans if b is not None and a is not None and b >= a):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s  # type: ignore[operator]
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s  # type: ignore[operator]
    return total


def bucket(span: Mapping[str, Any]) -> str:
    """The page's phase of one span: rounds after the first are the settle phase."""
    phase = str(span.get("phase") or "")
    if phase == "ledger":
        return "ledger"
    if int(span.get("round") or 1) > 1:
        return "settle"
    return phase if phase in dict(PHASES) else "process"


def attribute(run: Mapping[str, Any], streams: Sequence[Mapping[str, Any]]) -> Attribution:
    """The run page's time attribution (see the module's docstring)."""
    timings = (run.get("summary") or {}).get("timings") if isinstance(run.get("summary"), dict) else None
    if isinstance(timings, dict) and isinstance(timings.get("spans"), list):
        return _from_timeline(timings)
    return _from_stream_rows(run, streams)


def _from_timeline(timings: Mapping[str, Any]) -> Attribution:
    spans = [s for s in timings["spans"] if isinstance(s, dict) and "start" in s and "end" in s]
    wall = float(timings.get("wall_s") or 0.0) or max((float(s["end"]) for s in spans), default=0.0)
    by_phase: dict[str, list[Mapping[str, Any]]] = {}
    for s in spans:
        by_phase.setdefault(bucket(s), []).append(s)
    phases = [_phase(name, about, by_phase.get(name, []), wall) for name, about in PHASES]
    covered = union_seconds((s["start"], s["end"]) for s in spans)
    overlap = max(0.0, sum(p.seconds for p in phases) - covered)
    streams: dict[tuple[str, str, str], dict[str, Any]] = {}
    entities: dict[str, dict[str, Any]] = {}
    for s in spans:
        took = max(0.0, float(s["end"]) - float(s["start"]))
        if s.get("phase") in ("pull", "push") and s.get("system"):
            d = streams.setdefault((s["system"], s.get("entity") or "", s["phase"]),
                                   {"seconds": 0.0, "records": 0, "rounds": 0})
            d["seconds"] += took
            d["records"] += int(s.get("records") or 0)
            d["rounds"] += 1
        elif s.get("phase") in ("process", "derive", "plan") and s.get("entity"):
            e = entities.setdefault(s["entity"], {"process": 0.0, "derive": 0.0, "plan": 0.0, "records": 0})
            e[s["phase"]] += took
            e["records"] += int(s.get("records") or 0) if s.get("phase") == "process" else 0
    return Attribution(
        wall_seconds=wall, phases=phases, unattributed=max(0.0, wall - covered), overlap=overlap,
        streams=[StreamTime(system=k[0], entity=k[1], direction=k[2], **v) for k, v in streams.items()],
        entities=[EntityTime(entity=k, **v) for k, v in entities.items()], complete=True,
        rounds=max((int(s.get("round") or 0) for s in spans), default=0))


def _phase(name: str, about: str, spans: list[Mapping[str, Any]], wall: float) -> Phase:
    secs = union_seconds((s["start"], s["end"]) for s in spans)
    return Phase(name=name, seconds=secs, share=secs / wall if wall > 0 else 0.0, about=about, steps=len(spans))


def _from_stream_rows(run: Mapping[str, Any], streams: Sequence[Mapping[str, Any]]) -> Attribution:
    """An older run: the ``run_stream`` spans (each stream's last round only) against the run's wall time."""
    start, end = run.get("started_at"), run.get("finished_at")
    wall = (_aware(end) - _aware(start)).total_seconds() if start is not None and end is not None else None
    t0 = _aware(start) if start is not None else None
    rel: dict[str, list[tuple[float, float]]] = {}
    rows = []
    for s in streams:
        if s.get("started_at") is None or s.get("finished_at") is None or t0 is None:
            continue
        a = (_aware(s["started_at"]) - t0).total_seconds()
        b = (_aware(s["finished_at"]) - t0).total_seconds()
        rel.setdefault(str(s.get("direction")), []).append((a, b))
        rows.append(StreamTime(system=str(s["system"]), entity=str(s["entity"]), direction=str(s["direction"]),
                               seconds=max(0.0, b - a), records=int((s.get("records_in") if s.get("direction") == "pull"
                                                                     else s.get("records_out")) or 0), rounds=1))
    w = wall or 0.0
    phases = [Phase(name=name, seconds=union_seconds(rel.get(name, [])),
                    share=union_seconds(rel.get(name, [])) / w if w > 0 else 0.0, about=about,
                    steps=len(rel.get(name, []))) for name, about in PHASES]
    covered = union_seconds([x for v in rel.values() for x in v])
    return Attribution(wall_seconds=wall, phases=phases, unattributed=max(0.0, w - covered),
                       overlap=max(0.0, sum(p.seconds for p in phases) - covered), streams=rows, entities=[],
                       complete=False, rounds=0)


def _aware(ts: Any) -> dt.datetime:
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
