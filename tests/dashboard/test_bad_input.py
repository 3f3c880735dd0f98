"""Bad input never gives a 500: odd cookies are no login, page numbers and ids out of range are a 400 or a
404, and every response, error pages and unexpected failures included, carries the security headers."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from concord.hub.dashboard.app import CSP
from concord.hub.dashboard.auth import COOKIE, SessionSigner
from tests.dashboard.conftest import READ_TOKEN, SECRET, op_headers, read_headers

HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "no-referrer"}
LISTS = ["/runs", "/records", "/conflicts", "/quarantine", "/review"]


def _secure(r) -> None:
    for k, v in HEADERS.items():
        assert r.headers.get(k) == v, (r.status_code, r.request.url, k)


def _raw_cookie(client, path: str, cookie: bytes, accept: str = "text/html"):
    """Send a Cookie header as raw bytes (httpx would refuse non-ASCII in a str header)."""
    return client.get(path, headers=[(b"cookie", cookie), (b"accept", accept.encode())], follow_redirects=False)


BAD_COOKIES = [
    f"{COOKIE}=caf\u00e9.x".encode(), f"{COOKIE}=\u00e9\u00e9\u00e9.\u00e9".encode(),
    f"{COOKIE}=abc.d\u00e9f".encode("latin-1"), f"{COOKIE}=\u4e2d\u6587.\u4e2d".encode(),
    f"{COOKIE}=a.b.c".encode(), f"{COOKIE}=.".encode(), f"{COOKIE}=%ZZ.%%".encode(), b"\xff\xfe=\xff",
    f"{COOKIE}={'A' * 5000}.{'B' * 5000}".encode(), f'{COOKIE}="quoted.value"'.encode(),
]


def test_bad_cookie_is_no_login(client) -> None:   # one warehouse for all cases: its setup is the slow part
    for cookie in BAD_COOKIES:
        _no_login(client, cookie)


def _no_login(client, cookie: bytes) -> None:
    for path in ("/", "/runs", "/login"):
        r = _raw_cookie(client, path, cookie)
        assert r.status_code in (200, 401), (path, r.status_code, r.text[:300])
        if path != "/login":
            assert r.status_code == 401 and 'action="/login"' in r.text
        _secure(r)
    r = _raw_cookie(client, "/runs", cookie, accept="application/json")
    assert r.status_code == 401 and r.json()["detail"]
    # a bad cookie next to a valid bearer token: the token still works
    r = client.get("/runs", headers=[(b"cookie", cookie), (b"authorization", f"Bearer {READ_TOKEN}".encode())])
    assert r.status_code == 200


def test_signed_cookie_with_odd_body_is_no_login() -> None:
    import hashlib

    from itsdangerous import URLSafeSerializer

    signer = SessionSigner(b"k" * 32)

    def forge(body: object) -> str:   # correctly signed with the key, but an odd body
        return URLSafeSerializer(b"k" * 32, salt="concord-dashboard-session",
                                 signer_kwargs={"digest_method": hashlib.sha256}).dumps(body)

    for body in ({"r": "operator", "e": "soon"}, {"r": "operator", "e": [1]}, {"r": "operator", "e": 1e400},
                 {"r": "operator", "e": None}, [1, 2], "operator", {"r": ["operator"]}):
        assert signer.verify(forge(body)) is None, body
    assert signer.verify(forge({"r": "read", "s": "x", "e": 10**12})) is not None


QUERIES = ["page=99999999999999999999", "page=-99999999999999999999", "page=1e9", "page=abc", "page=", "page=0",
           "page=-1", "page=1000001", "dpage=99999999999999999999", "refresh=99999999999999999999"]


def test_page_numbers_out_of_range(client) -> None:
    for query in QUERIES:
        _page_query(client, query)
    assert "Bad request" in client.get("/runs?page=99999999999999999999", headers=op_headers()).text


def _page_query(client, query: str) -> None:
    name = query.split("=")[0]
    for path in LISTS + ["/"]:
        r = client.get(f"{path}?{query}", headers=op_headers())
        assert r.status_code in (200, 400), (path, query, r.status_code, r.text[:300])
        _secure(r)
        if r.status_code == 400:
            assert name in r.text
        r = client.get(f"{path}?{query}", headers={"Authorization": read_headers()["Authorization"]})
        assert r.status_code in (200, 400) and (r.status_code == 200 or name in r.json()["detail"])


def test_page_numbers_before_authentication_are_401(client) -> None:
    r = client.get("/runs?page=99999999999999999999")
    assert r.status_code == 401
    _secure(r)


def test_ids_out_of_range(client) -> None:
    for path in ["/runs/99999999999999999999", "/runs/-1", "/runs/abc", "/records/account/" + "x" * 5000,
                 "/records/nosuch/x"]:
        r = client.get(path, headers=op_headers())
        assert r.status_code in (400, 404), (path, r.status_code, r.text[:300])
        _secure(r)
    for path in ["/quarantine/99999999999999999999/retry", "/deadletters/99999999999999999999/discard",
                 "/conflicts/99999999999999999999/resolve", "/review/99999999999999999999/confirm"]:
        r = client.post(path, data={"side": "left"}, headers=op_headers(), follow_redirects=False)
        assert r.status_code in (303, 400, 404, 409), (path, r.status_code, r.text[:300])
        _secure(r)


def test_unexpected_error_is_a_500_page_with_headers_and_no_detail(app, client, monkeypatch) -> None:
    from concord.hub.dashboard import queries

    def boom(*_a, **_k):
        raise RuntimeError(f"database exploded with password={SECRET}")

    monkeypatch.setattr(queries, "runs", boom)
    r = client.get("/runs", headers=op_headers())
    assert r.status_code == 500
    _secure(r)
    assert SECRET not in r.text and "Traceback" not in r.text and "exploded" not in r.text
    assert "Something went wrong" in r.text
    r = client.get("/runs", headers={"Authorization": read_headers()["Authorization"]})
    assert r.status_code == 500 and r.json() == {"detail": "internal error; see the dashboard's log"}
    _secure(r)


def test_every_kind_of_response_has_the_headers(client, filled) -> None:
    for r in (client.get("/"), client.get("/", headers=op_headers()), client.get("/nope", headers=op_headers()),
              client.get("/login"), client.get("/healthz"), client.get("/records?entity=nope", headers=op_headers()),
              client.post("/quarantine/1/retry", headers=read_headers(), follow_redirects=False)):
        _secure(r)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.text(max_size=40), st.integers().map(str), st.binary(max_size=40).map(lambda b: b.hex())),
       cookie=st.binary(max_size=60))
def test_any_page_parameter_or_cookie_never_500(client, value: str, cookie: bytes) -> None:
    import urllib.parse

    q = urllib.parse.urlencode({"page": value, "dpage": value, "status": value, "entity": value, "q": value})
    for path in ("/quarantine", "/runs", "/records", "/conflicts", "/review", "/"):
        r = client.get(f"{path}?{q}", headers=op_headers())
        assert r.status_code in (200, 400, 404), (path, value, r.status_code, r.text[:300])
        _secure(r)
    safe = cookie.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
    r = client.get("/runs", headers=[(b"cookie", COOKIE.encode() + b"=" + safe), (b"accept", b"text/html")])
    assert r.status_code == 401, r.status_code
    _secure(r)
