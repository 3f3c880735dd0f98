"""The run page's time attribution: phases that add up to the wall time (from given spans, never a clock)."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from concord.hub.dashboard.timings import attribute, union_seconds
from tests.dashboard.conftest import op_headers


def _run(spans, wall):
    return {"summary": {"timings": {"version": 1, "wall_s": wall, "spans": spans}}}


def span(phase, start, end, round_=1, entity="account", system=None, records=0):
    return {"phase": phase, "round": round_, "entity": entity, "system": system, "start": start, "end": end,
            "records": records}


def test_union_of_intervals() -> None:
    assert union_seconds([]) == 0
    assert union_seconds([(0, 1), (0.5, 2), (3, 4)]) == pytest.approx(3.0)
    assert union_seconds([(2, 3), (0, 1)]) == pytest.approx(2.0)


def test_phases_and_the_rest_add_up_to_the_wall_time() -> None:
    spans = [span("ledger", 0, 0.1, 0),
             span("pull", 0.1, 2.1, system="erp", records=1000), span("pull", 0.1, 1.1, system="crm", records=10),
             span("process", 2.2, 5.2, records=1010), span("derive", 5.2, 5.3), span("plan", 5.3, 5.8),
             span("push", 6.0, 606.0, system="crm", records=1818),           # a 10-minute push
             span("pull", 606.0, 606.5, 2, system="crm", records=1818), span("process", 606.5, 607.0, 2),
             span("push", 607.0, 607.2, 2, system="crm", records=0), span("ledger", 607.2, 607.4, 2)]
    t = attribute(_run(spans, 608.0), [])
    phases = {p.name: p.seconds for p in t.phases}
    assert phases["pull"] == pytest.approx(2.0)           # erp and crm side by side: the union, not 3 s
    assert phases["process"] == pytest.approx(3.0) and phases["derive"] == pytest.approx(0.1)
    assert phases["push"] == pytest.approx(600.0)
    assert phases["settle"] == pytest.approx(1.2) and phases["ledger"] == pytest.approx(0.3)
    assert t.overlap == 0 and t.complete and t.rounds == 2
    assert sum(phases.values()) + t.unattributed == pytest.approx(608.0)
    assert t.unattributed == pytest.approx(608.0 - 2.0 - 3.0 - 0.1 - 0.5 - 600.0 - 1.2 - 0.3)
    push = {(s.system, s.direction): s for s in t.streams}[("crm", "push")]
    # the stream's time is its own, summed over the rounds: never the last round's 0.2 s
    assert push.seconds == pytest.approx(600.2) and push.records == 1818 and push.rounds == 2
    assert push.rate == pytest.approx(1818 / 600.2)
    (acc,) = t.entities
    assert acc.process == pytest.approx(3.5) and acc.records == 1010


def test_steps_of_different_phases_at_once_are_counted_once() -> None:
    t = attribute(_run([span("pull", 0, 2, system="erp"), span("process", 1, 3)], 4.0), [])
    assert t.overlap == pytest.approx(1.0) and t.unattributed == pytest.approx(1.0)
    assert t.attributed + t.unattributed == pytest.approx(4.0)


def test_an_older_run_without_a_timeline_says_so() -> None:
    t0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    run = {"summary": {"status": "success"}, "started_at": t0, "finished_at": t0 + dt.timedelta(minutes=10)}
    streams = [{"system": "crm", "entity": "account", "direction": "push", "records_out": 1818, "records_in": 0,
                "started_at": t0 + dt.timedelta(seconds=599), "finished_at": t0 + dt.timedelta(seconds=599.0006)}]
    t = attribute(run, streams)
    assert not t.complete and t.wall_seconds == pytest.approx(600.0)
    assert t.unattributed == pytest.approx(600.0 - 0.0006)


def test_the_run_page_shows_where_the_time_went(client) -> None:
    html = client.get("/runs/1", headers=op_headers()).text
    assert "Where the time went" in html and 'class="timebar"' in html
    for phase in ("pull", "process", "derive", "plan", "push", "settle", "ledger", "unattributed"):
        assert f'data-phase="{phase}"' in html, phase
    shares = [float(x) for x in re.findall(r'data-phase="[a-z]+">.*?<td class="num">[^<]*</td>\s*<td class="num">([\d.]+) %',
                                           html, re.S)]
    assert len(shares) == 8 and sum(shares) == pytest.approx(100.0, abs=0.5)   # rounded to 0.1 % each
    assert "Processing per entity" in html and 'data-entity="account"' in html
    assert "(2 rounds)" in html or "(3 rounds)" in html      # a stream's time sums its rounds
    assert '"spans"' not in html                              # the raw timeline is not dumped in the summary
