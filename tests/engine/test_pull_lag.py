"""A pull's replication lag: the longest a change it brought had waited at the source (hub/engine/pull.py)."""
from __future__ import annotations

import datetime as dt

from concord.hub.engine.pull import Lag


def test_the_lag_is_the_longest_wait_and_unreadable_times_are_passed_over() -> None:
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)
    lag = Lag()
    assert lag.seconds == 0.0                                          # nothing new: no lag
    lag.note(now, ["2026-12-05T11:59:00+00:00", None, "", "not a time", "2026-12-05T11:00:00+00:00"])
    assert lag.seconds == 3600.0
    lag.note(now, ["2026-12-05T11:30:00+00:00", "2026-12-05T13:00:00+00:00"])   # shorter, and one ahead of us
    assert lag.seconds == 3600.0
    lag.note(now, ["2026-12-04T12:00:00+00:00"])
    assert lag.seconds == 86400.0
    ahead = Lag()
    ahead.note(now, ["2026-12-05T13:00:00+00:00"])                  # a source clock ahead: no negative lag
    assert ahead.seconds == 0.0
