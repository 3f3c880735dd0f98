""""Is everything in sync?" in one line: the overview's verdict, from what its queries already read.

The verdict is the worst of:
- **failing**: a stream whose last pull or push failed, or a system whose daily API budget is used up;
- **needs attention**: open conflicts, dead letters, blocked writes, quarantined records, pairs to
  review, a partial stream, or a budget above 90 %;
- **in sync** otherwise (**never run** before the first run).

Beside it, the line says each system's lag behind its source (the largest of its streams' last pulls)
and how long ago it was last read, and the most used API budget.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

State = Literal["in sync", "needs attention", "failing", "never run"]


class SystemLag(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    system: str
    lag_seconds: float | None       # behind the source (largest of the system's streams)
    read_seconds_ago: float | None  # since its last pull finished


class Verdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    state: State
    problems: list[tuple[str, str]]      # (text, link)
    lags: list[SystemLag]
    failing: list[str]                   # "system.entity direction"
    budget: list[tuple[str, float]]      # (system, percent used), most used first

    @property
    def css(self) -> str:
        return {"in sync": "ok", "needs attention": "warn", "failing": "bad"}.get(self.state, "none")


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def verdict(tiles: Sequence[Mapping[str, Any]], systems: Sequence[Mapping[str, Any]], counts: Mapping[str, Any],
            blocked: int, now: dt.datetime, last_run: Any) -> Verdict:
    failing = [f"{t['system']}.{t['entity']} {d}" for t in tiles for d in ("pull", "push")
               if t.get(d) is not None and t[d].status == "failed"]
    partial = [t for t in tiles if t.get("state") == "partial"]
    budget = sorted(((s["system"], float(s["pct"])) for s in systems if s.get("pct") is not None),
                    key=lambda b: -b[1])
    exhausted = [s for s, p in budget if p >= 100]
    problems: list[tuple[str, str]] = []
    if failing:
        problems.append((_plural(len(failing), "failing stream") + f" ({', '.join(failing[:3])}"
                         + (", …" if len(failing) > 3 else "") + ")", "/runs?status=failed"))
    if exhausted:
        problems.append((f"API budget used up: {', '.join(exhausted)}", "/#systems"))
    for key, one, many, link in (("conflicts", "open conflict", None, "/conflicts"),
                                 ("dead", "dead letter", None, "/quarantine#dead"),
                                 ("quarantine", "quarantined record", None, "/quarantine"),
                                 ("review", "pair to review", "pairs to review", "/review")):
        n = int(counts.get(key) or 0)
        if n:
            problems.append((_plural(n, one, many), link))
    if blocked:
        problems.append((_plural(blocked, "blocked write"), "/writes?kind=blocked"))
    if partial:
        problems.append((_plural(len(partial), "partial stream"), "/runs?status=partial"))
    high = [(s, p) for s, p in budget if 90 <= p < 100]
    if high:
        problems.append(("API budget above 90 %: " + ", ".join(f"{s} {p:.0f} %" for s, p in high), "/#systems"))
    lags = []
    for name in dict.fromkeys(t["system"] for t in tiles):
        pulls = [t["pull"] for t in tiles if t["system"] == name and t.get("pull") is not None]
        lag = max((p.lag_seconds for p in pulls if p.lag_seconds is not None), default=None)
        done = [p.finished_at for p in pulls if p.finished_at is not None]
        ago = (now - _aware(max(done, key=_aware))).total_seconds() if done else None
        lags.append(SystemLag(system=name, lag_seconds=lag, read_seconds_ago=ago))
    if last_run is None:
        state: State = "never run"
    elif failing or exhausted:
        state = "failing"
    elif problems:
        state = "needs attention"
    else:
        state = "in sync"
    return Verdict(state=state, problems=problems, lags=lags, failing=failing, budget=budget)


def _aware(ts: Any) -> dt.datetime:
    if isinstance(ts, str):
        ts = dt.datetime.fromisoformat(ts)
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
