"""The HTTP toolkit against a real loopback server: retries, Retry-After, auth refresh, counting, redaction."""
from __future__ import annotations

import logging

import pytest
import requests

from concord.hub.errors import AuthError, RecordError, StaleRecordError, TransientError
from concord.hub.http import BasicAuth, BearerAuth, HttpToolkit, RetryPolicy, classify_response, redact
from concord.hub.http.limiter import RateLimiter
from concord.hub.sandbox import Response, SandboxApp, SandboxServer


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    app = SandboxApp("t")
    state = {"token": "tok-1", "issued": 0, "posts": 0}

    @app.route("GET|POST", r"/thing")
    def thing(req):  # type: ignore[no-untyped-def]
        if req.method == "POST":
            state["posts"] += 1
        if req.headers.get("authorization") not in (f"Bearer {state['token']}", "Basic dTpwdw==") \
                or app.faults.token_expired():
            return Response.json({"error": "expired"}, 401)
        return Response.json({"ok": True})

    with SandboxServer(app) as srv:
        yield srv, app, state


def _fetch(state):  # type: ignore[no-untyped-def]
    def fetch() -> str:
        state["issued"] += 1
        state["token"] = f"tok-{state['issued']}"
        return state["token"]
    return fetch


def test_retries_429_and_503_honouring_retry_after(server) -> None:  # type: ignore[no-untyped-def]
    srv, app, state = server
    sleeps: list[float] = []
    tk = HttpToolkit(sleep=sleeps.append)
    s = tk.session("sys", auth=BearerAuth(_fetch(state)))
    app.faults.script("429", "503", "500")
    r = s.get(srv.base_url + "/thing")
    assert r.status_code == 500  # 500 is not retried: it goes up for the connector to classify
    app.faults.script("429", "503")
    assert s.get(srv.base_url + "/thing").json() == {"ok": True}
    assert sleeps[:2] == [1.0, 1.0]  # Retry-After: 1 from the sandbox
    assert tk.ledger.snapshot()["sys"]["retries"] >= 2


def test_gives_up_after_max_attempts_and_returns_the_answer(server) -> None:  # type: ignore[no-untyped-def]
    srv, app, state = server
    tk = HttpToolkit(sleep=lambda s: None, policy=RetryPolicy(max_attempts=3))
    s = tk.session("sys", auth=BearerAuth(_fetch(state)))
    app.faults.script("503", "503", "503", "503")
    r = s.get(srv.base_url + "/thing")
    assert r.status_code == 503
    assert isinstance(classify_response(r, system="sys"), TransientError)


def test_dropped_connection_retried_for_get_not_for_post(server) -> None:  # type: ignore[no-untyped-def]
    srv, app, state = server
    tk = HttpToolkit(sleep=lambda s: None)
    s = tk.session("sys", auth=BearerAuth(_fetch(state)))
    app.faults.script("drop")
    assert s.get(srv.base_url + "/thing").ok
    app.faults.script("drop")
    with pytest.raises(requests.ConnectionError):
        s.post(srv.base_url + "/thing", json={})


def test_auth_failure_refreshes_once(server) -> None:  # type: ignore[no-untyped-def]
    srv, app, state = server
    tk = HttpToolkit(sleep=lambda s: None)
    s = tk.session("sys", auth=BearerAuth(_fetch(state)))
    assert s.get(srv.base_url + "/thing").ok
    app.faults.expire_tokens(1)
    assert s.get(srv.base_url + "/thing").ok
    assert state["issued"] == 2
    app.faults.expire_tokens(5)
    r = s.get(srv.base_url + "/thing")
    assert r.status_code == 401 and isinstance(classify_response(r), AuthError)


def test_calls_are_counted_per_stream(server) -> None:  # type: ignore[no-untyped-def]
    srv, _app, _state = server
    tk = HttpToolkit(sleep=lambda s: None)
    s = tk.session("sys", auth=BasicAuth("u", "pw"))
    with tk.ledger.stream("account"):
        s.get(srv.base_url + "/thing")
        s.get(srv.base_url + "/thing")
    with tk.ledger.stream("contact"):
        s.get(srv.base_url + "/thing")
    assert tk.ledger.calls("sys") == 3
    assert tk.ledger.calls("sys", "account") == 2 and tk.ledger.calls("sys", "contact") == 1


def test_budget_remaining() -> None:
    from concord.hub.http import CallLedger

    led = CallLedger({"crm": 10})
    for _ in range(4):
        led.record("crm", 200)
    assert led.remaining("crm") == 6
    led.observe_vendor_usage("crm", 9, 10)
    assert led.remaining("crm") == 1 and led.remaining("erp") is None


def test_secrets_are_redacted_from_logs(server, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    tk = HttpToolkit(sleep=lambda s: None)
    tk.session("sys", auth=BasicAuth("u", "pa55word-xyz"), secrets=["client-secret-123"])
    logging.getLogger("concord.test").warning("sent client-secret-123 and password=pa55word-xyz")
    text = caplog.text
    assert "client-secret-123" not in text and "pa55word-xyz" not in text
    assert redact('{"access_token": "abc.def", "Authorization: Bearer zzz"}').count("***") == 2


def test_classification_table() -> None:
    def resp(code: int, body: str = "") -> requests.Response:
        r = requests.Response()
        r.status_code, r._content = code, body.encode()
        return r

    assert classify_response(resp(200)) is None
    assert isinstance(classify_response(resp(400, "bad field")), RecordError)
    assert isinstance(classify_response(resp(412)), StaleRecordError)
    assert isinstance(classify_response(resp(403, "REQUEST_LIMIT_EXCEEDED")), TransientError)
    assert isinstance(classify_response(resp(403)), AuthError)


def test_rate_limiter_spaces_calls() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(d: float) -> None:
        slept.append(d)
        now[0] += d

    lim = RateLimiter(2.0, burst=1, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        lim.acquire()
    assert sum(slept) == pytest.approx(2.0)
