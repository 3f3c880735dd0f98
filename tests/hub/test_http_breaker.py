"""The per-system circuit breaker of the HTTP layer, against real loopback servers.

A port with nothing listening refuses connections; an ``http.server`` answers 503 to everything.
Attempts are counted (on the server, and in the call ledger); no test asserts wall-clock time.
"""
from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from concord.hub.errors import SystemUnavailable, TransientError, error_from_dict
from concord.hub.http import BearerAuth, BreakerPolicy, HttpToolkit, RetryPolicy
from concord.hub.sandbox import Response, SandboxApp, SandboxServer


def refused_url() -> str:
    """A loopback URL with nothing listening (the port was bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Switchable:
    """An http.server that answers 503 (or 200 once switched ``up``), counting the requests it got."""

    def __init__(self) -> None:
        self.requests = 0
        self.up = False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = b'{"ok": true}' if outer.up else b"down for maintenance"
                self.send_response(200 if outer.up else 503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def down503() -> Iterator[Switchable]:
    srv = Switchable()
    yield srv
    srv.close()


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def toolkit(clock: Clock | None = None, **breaker: object) -> HttpToolkit:
    return HttpToolkit(sleep=lambda s: None, clock=clock or Clock(), breaker=BreakerPolicy(**breaker))  # type: ignore[arg-type]


def test_refused_connections_open_the_breaker_and_later_calls_fail_at_once() -> None:
    tk = toolkit()
    s = tk.session("erp")
    url = refused_url()
    with pytest.raises(requests.ConnectionError):
        s.get(url + "/a")
    first = tk.ledger.calls("erp")
    assert first == RetryPolicy().max_attempts          # the first call retried as usual
    for path in ("/b", "/c", "/d"):
        with pytest.raises(SystemUnavailable) as ei:
            s.get(url + path)
    assert tk.ledger.calls("erp") == first              # nothing more was attempted
    err = ei.value
    assert isinstance(err, TransientError) and err.kind == "skipped" and err.system == "erp"
    assert "system erp is unavailable (circuit open since " in err.message
    assert "ConnectionRefusedError" in err.message and err.first_error and "0x" not in err.message
    assert f"{err.kind}: {err.message}".startswith("skipped: system erp is unavailable (circuit open since ")
    assert tk.breaker("erp").rejected == 3
    # the breaker is per system: another session for the same system shares it
    with pytest.raises(SystemUnavailable):
        tk.session("erp").get(url + "/e")
    assert error_from_dict(err.to_dict()).kind == "skipped"


def test_other_systems_go_on(down503: Switchable) -> None:
    app = SandboxApp("crm")

    @app.route("GET", r"/ok")
    def ok(req):  # type: ignore[no-untyped-def]
        return Response.json({"ok": True})

    tk = toolkit()
    with SandboxServer(app) as up:
        erp, crm = tk.session("erp"), tk.session("crm")
        assert erp.get(down503.url + "/x").status_code == 503     # the answer goes up after the retries
        assert down503.requests == RetryPolicy().max_attempts
        for _ in range(3):
            with pytest.raises(SystemUnavailable):
                erp.get(down503.url + "/x")
            assert crm.get(up.base_url + "/ok").json() == {"ok": True}
        assert down503.requests == RetryPolicy().max_attempts
        assert tk.breaker("crm").state == "closed"


def test_half_open_trial_closes_on_success(down503: Switchable) -> None:
    clock = Clock()
    tk = toolkit(clock, cooldown=30)
    s = tk.session("erp")
    s.get(down503.url)
    n = down503.requests
    clock.t += 29
    with pytest.raises(SystemUnavailable):
        s.get(down503.url)
    assert down503.requests == n
    clock.t += 2
    down503.up = True
    assert s.get(down503.url).status_code == 200                 # the trial call
    assert down503.requests == n + 1
    assert tk.breaker("erp").state == "closed"
    s.get(down503.url)
    assert down503.requests == n + 2


def test_failed_trial_reopens_after_one_attempt(down503: Switchable) -> None:
    clock = Clock()
    tk = toolkit(clock, cooldown=30)
    s = tk.session("erp")
    s.get(down503.url)
    first = tk.breaker("erp").since
    n = down503.requests
    clock.t += 31
    assert s.get(down503.url).status_code == 503                 # the trial: one attempt, no retries
    assert down503.requests == n + 1
    with pytest.raises(SystemUnavailable) as ei:                 # open again for a full cool-down
        s.get(down503.url)
    assert tk.breaker("erp").since == first                      # "since" is when the outage began
    assert "HTTP 503" in ei.value.message
    clock.t += 31
    down503.up = True
    assert s.get(down503.url).status_code == 200


def test_trial_may_fetch_its_token_through_the_same_session(down503: Switchable) -> None:
    clock = Clock()
    tk = toolkit(clock, cooldown=30)
    plain = tk.session("erp")   # the token endpoint's session: same system, same breaker

    def fetch() -> str:   # called from inside the trial call (its auth), on the same thread
        r = plain.post(down503.url + "/token")
        r.raise_for_status()
        return "tok"

    s = tk.session("erp", auth=BearerAuth(fetch))
    with pytest.raises(requests.HTTPError):
        s.get(down503.url + "/data")
    clock.t += 31
    down503.up = True
    assert s.get(down503.url + "/data").status_code == 200
    assert tk.breaker("erp").state == "closed"


def test_answers_from_a_working_server_reset_the_count() -> None:
    app = SandboxApp("t")
    state = {"n": 0}

    @app.route("GET", r"/x")
    def x(req):  # type: ignore[no-untyped-def]
        state["n"] += 1
        return Response.json({"e": "bad"}, 500 if state["n"] % 2 else 404)

    tk = toolkit(failure_threshold=2)
    with SandboxServer(app) as srv:
        s = tk.session("t")
        for _ in range(6):   # 500 and 404 show the server is up: neither counts
            s.get(srv.base_url + "/x")
            app.faults.script("503")
            s.get(srv.base_url + "/x")   # one 503, then the retry succeeds: the count resets
        assert tk.breaker("t").state == "closed"


def test_threshold_zero_switches_the_breaker_off() -> None:
    tk = toolkit(failure_threshold=0)
    s = tk.session("erp")
    url = refused_url()
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            s.get(url)
    assert tk.ledger.calls("erp") == 3 * RetryPolicy().max_attempts


def test_budget_stop_does_not_wedge_the_trial(down503: Switchable) -> None:
    clock = Clock()
    tk = toolkit(clock, cooldown=30)
    s = tk.session("erp")
    s.get(down503.url)
    clock.t += 31
    tk.ledger.budgets["erp"] = 1   # the trial is refused by the budget before it is sent
    with pytest.raises(TransientError) as ei:
        s.get(down503.url)
    assert ei.value.kind == "budget"
    del tk.ledger.budgets["erp"]
    down503.up = True
    assert s.get(down503.url).status_code == 200                  # another call becomes the trial
