"""Sandbox toolkit: HTTPS on loopback, faults, request counting; the world generator."""
from __future__ import annotations

import tracemalloc

import requests

from concord.hub.sandbox import FaultConfig, FaultInjector, Response, SandboxApp, SandboxServer
from concord.hub.sandbox.world import World


def test_https_with_generated_certificate_and_counting() -> None:
    app = SandboxApp("t")
    app.add_route("GET", r"/v/(?P<x>\w+)", lambda req, x: Response.json({"x": x, "top": req.arg("$top")}), "v")
    with SandboxServer(app, tls=True) as srv:
        s = requests.Session()
        s.trust_env, s.verify = False, srv.ca_file
        assert srv.base_url.startswith("https://127.0.0.1:")
        assert s.get(srv.base_url + "/v/abc?%24top=5").json() == {"x": "abc", "top": "5"}
        assert s.get(srv.base_url + "/nope").status_code == 404
        assert app.stats.by_route == {"v": 1, "not_found": 1}


def test_random_faults_are_seeded_and_counted() -> None:
    def run() -> list[str | None]:
        f = FaultInjector(FaultConfig(rate=0.5, seed=7, kinds=("429", "503")))
        return [f.next_request_fault() for _ in range(50)]

    a, b = run(), run()
    assert a == b and {"429", "503", None} == set(a)


def test_partial_batch_and_token_expiry_knobs() -> None:
    f = FaultInjector()
    f.script("partial_batch", "token_expiry")
    assert f.fail_record() and not f.fail_record()
    assert f.token_expired() and not f.token_expired()


def test_world_is_deterministic_and_linked() -> None:
    w1, w2 = World(seed=5, size=50), World(seed=5, size=50)
    assert w1.company(17) == w2.company(17)
    assert World(seed=6, size=50).company(17) != w1.company(17)
    p = w1.person(10)
    assert p.company_index == 5 and p.email.endswith(w1.company(5).email.split("@")[1])
    o = w1.order(3)
    assert 0 <= o.company_index < 50 and all(ln.sku.startswith("MAT-") for ln in o.lines)
    inv = w1.invoice(3)
    assert inv.order_index == 3 and inv.open_amount <= inv.amount


def test_world_streams_in_constant_memory() -> None:
    w = World(seed=1, size=1_000_000)
    tracemalloc.start()
    n = sum(1 for _ in w.companies(0, 20_000))
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 20_000
    assert peak < 5_000_000  # a million-company world is iterated, never held


def test_noise_is_seeded_per_projection() -> None:
    w = World(seed=3, size=10)
    a, b = w.noise("crm", "company", 1), w.noise("crm", "company", 1)
    assert [a.typo("Nordwind Logistik", 1.0) for _ in range(3)] == [b.typo("Nordwind Logistik", 1.0) for _ in range(3)]
    assert w.noise("erp", "company", 1).phone("+4930123456", 1.0) != "+4930123456"
