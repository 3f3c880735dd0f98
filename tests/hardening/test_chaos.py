"""Chaos, small: faults at 10% on every demo sandbox during a full and an incremental cycle, then cycles
until nothing is left to write; an independent checker reads every store directly and compares it with
the same world run without faults (bench/bench_chaos.py runs more seeds and a bigger world).
"""
from __future__ import annotations

import pytest

from concord.hub.errors import RecordError, TransientError
from concord.hub.sandbox.faults import FaultConfig, FaultInjector


def test_record_transient_fault_is_scripted_and_counted() -> None:
    f = FaultInjector(FaultConfig())
    f.script("record_transient")
    assert f.fail_record() is False              # a permanent rejection is another kind
    assert f.fail_record_transient() is True
    assert f.fail_record_transient() is False
    assert f.injected == {"record_transient": 1}


def test_drop_mid_body_runs_the_handler_then_cuts_the_answer() -> None:
    import requests

    from concord.hub.sandbox.server import Response, SandboxApp, SandboxServer

    app = SandboxApp("t")
    hits = []
    app.add_route("POST", r"/w", lambda req: hits.append(1) or Response.json({"id": "x" * 200}), name="w")
    with SandboxServer(app) as srv:
        app.faults.script("drop_mid_body")
        with pytest.raises(requests.RequestException):
            requests.post(srv.base_url + "/w", json={}, timeout=5).json()
        assert hits == [1]                       # the write happened; its answer was lost
        assert requests.post(srv.base_url + "/w", json={}, timeout=5).json()["id"]


def _toolkit_and_app():  # type: ignore[no-untyped-def]
    from concord.hub.http import HttpToolkit
    from concord.hub.sandbox.server import Response, SandboxApp

    app = SandboxApp("t")
    hits: list[str] = []
    for method in ("GET", "PUT", "POST", "PATCH"):
        app.add_route(method, r"/w", lambda req: hits.append(req.method) or Response.json({"id": "x" * 200}),
                      name=f"w_{method}")
    return HttpToolkit(sleep=lambda _s: None), app, hits


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_cut_off_answer_to_an_idempotent_request_is_retried(method: str) -> None:
    from concord.hub.sandbox.server import SandboxServer

    toolkit, app, hits = _toolkit_and_app()
    with SandboxServer(app) as srv:
        app.faults.script("drop_mid_body", "drop_mid_body")
        s = toolkit.session("t")
        r = s.request(method, srv.base_url + "/w", json={})
        assert r.status_code == 200 and r.json()["id"] == "x" * 200
        assert hits == [method] * 3                      # two answers lost, the third one read
        assert toolkit.ledger.calls("t") == 3


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_cut_off_answer_to_a_post_is_an_unknown_outcome_not_resent(method: str) -> None:
    from concord.hub.sandbox.server import SandboxServer

    toolkit, app, hits = _toolkit_and_app()
    with SandboxServer(app) as srv:
        app.faults.script("drop_mid_body")
        s = toolkit.session("t")
        with pytest.raises(TransientError) as info:
            s.request(method, srv.base_url + "/w", json={})
        assert hits == [method]                          # applied once, never re-sent blindly
        assert info.value.code == "OUTCOME_UNKNOWN" and "outcome is unknown" in info.value.message
        assert f"t {method} " in info.value.message and info.value.details["outcome"] == "unknown"


def test_a_cut_off_answer_to_a_get_that_stays_cut_off_raises_the_requests_error() -> None:
    import requests

    from concord.hub.sandbox.server import SandboxServer

    toolkit, app, hits = _toolkit_and_app()
    with SandboxServer(app) as srv:
        app.faults.script(*["drop_mid_body"] * 6)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            toolkit.session("t").get(srv.base_url + "/w")
        assert len(hits) == 6                            # max_attempts


def test_vendor_transient_per_record_errors_are_transient() -> None:
    from concord.connectors.salesforce.write import record_error as sf_error
    from concord.connectors.zoho_crm.vendor import record_error as zoho_error
    from concord.hub.contracts import Change

    ch = Change(op="update", entity="Account", key="001", fields={}, idempotency_key="k")
    assert isinstance(sf_error("Account", ch, {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}), TransientError)
    assert isinstance(zoho_error({"code": "RECORD_LOCKED", "message": "locked"}, module="Accounts", position=0,
                                 record_id="1"), TransientError)
    assert isinstance(zoho_error({"code": "INVALID_DATA", "message": "bad"}, module="Accounts", position=0,
                                 record_id="1"), RecordError)


def test_fxiaoke_per_record_busy_fails_only_that_record() -> None:
    from concord.connectors.fxiaoke.write import Writer
    from concord.hub.contracts import Change

    class W(Writer):
        def __init__(self) -> None:
            self.n = 0

        def one(self, api, ch):  # type: ignore[no-untyped-def]
            self.n += 1
            if self.n == 1:
                raise TransientError("busy", code="-1")
            from concord.hub.contracts import WriteResult
            return WriteResult(change=ch, ok=True, target_id=ch.key)

    chs = [Change(op="update", entity="AccountObj", key=str(i), fields={}, idempotency_key=str(i)) for i in range(3)]
    res = W().write("AccountObj", chs)
    assert [r.ok for r in res] == [False, True, True]
    assert isinstance(res[0].error, TransientError)


def test_chaos_small_world_converges_without_loss_or_duplicates() -> None:
    from bench.bench_chaos import run

    r = run(seed=11, size=10, rate=0.10, rounds=1)
    assert sum(r["injected"].values()) > 20, r["injected"]
    assert r["lost"] == 0, r["diffs"]
    assert r["duplicated"] == 0, r["diffs"]
    assert r["dead"] == 0, r["diffs"]
    assert r["ok"], r["diffs"]
