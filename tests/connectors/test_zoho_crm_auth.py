"""Zoho OAuth: the accounts server vs the api_domain, refresh on INVALID_TOKEN, failed refresh = HTTP 200 error."""
from __future__ import annotations

import pytest
from pydantic import SecretStr

from concord.hub.errors import AuthError, HubError
from concord.hub.http import CallLedger
from tests.connectors.test_zoho_crm_helpers import connector, sandbox


@pytest.fixture(scope="module")
def sb():
    s = sandbox(40)
    yield s
    s.stop()


def test_token_from_accounts_server_and_api_domain_from_its_answer(sb) -> None:
    c = connector(sb)
    c.check()
    assert c.auth.api_domain == sb.base_url and sb.extra["accounts_url"] != sb.base_url
    # the accounts server serves only OAuth; every CRM call went to the api_domain
    assert set(sb.accounts_server.app.stats.by_route) == {"oauth_token"}
    assert sb.app.stats.by_route.get("modules", 0) >= 1


def test_requests_use_the_zoho_oauthtoken_scheme(sb) -> None:
    import requests
    c = connector(sb)
    c.check()
    token = c.auth.token()
    r = requests.get(sb.base_url + "/crm/v8/settings/modules", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    r = requests.get(sb.base_url + "/crm/v8/settings/modules", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert r.status_code == 200


def test_failed_refresh_is_http_200_with_error_and_an_auth_error(sb) -> None:
    import requests
    r = requests.post(sb.extra["accounts_url"] + "/oauth/v2/token",
                      data={"grant_type": "refresh_token", "client_id": sb.credentials["client_id"],
                            "client_secret": sb.credentials["client_secret"], "refresh_token": "wrong"})
    assert r.status_code == 200 and r.json() == {"error": "invalid_code"}
    bad = connector(sb, refresh_token=SecretStr("1000.wrong.refresh"))
    with pytest.raises(AuthError) as exc:
        bad.check()
    assert "invalid_code" in str(exc.value) and "1000.wrong.refresh" not in str(exc.value)
    wrong_secret = connector(sb, client_secret=SecretStr("not-the-secret-123"))
    with pytest.raises(AuthError) as exc2:
        list(wrong_secret.read("Accounts"))
    assert "invalid_client" in str(exc2.value) and "not-the-secret-123" not in str(exc2.value)


def test_token_expiry_mid_run_refreshes_once_and_the_read_completes(sb) -> None:
    ledger = CallLedger()
    c = connector(sb, ledger=ledger, per_page=10)
    c.entities()
    issued = sb.oauth.issued
    pages = iter(c.read("Contacts"))
    first = next(pages)
    sb.app.faults.expire_tokens(1)
    rest = [r for p in pages for r in p.records]
    assert len(first.records) + len(rest) == sb.count("Contacts")
    assert sb.oauth.issued == issued + 1
    assert sb.app.stats.by_status.get(401, 0) >= 1


def test_refresh_before_the_token_expires(sb) -> None:
    clock = [1000.0]
    c = connector(sb)
    c.auth._clock = lambda: clock[0]
    c.check()
    issued = sb.oauth.issued
    c.auth.token()
    assert sb.oauth.issued == issued
    clock[0] += 3600 - 30          # within the early-refresh margin of expires_in=3600
    c.auth.token()
    assert sb.oauth.issued == issued + 1


def test_secrets_never_in_errors_or_records(sb) -> None:
    c = connector(sb, refresh_token=SecretStr("1000.leaky.secret.value"))
    try:
        list(c.read("Accounts"))
    except HubError as exc:
        assert "1000.leaky.secret.value" not in str(exc) and "1000.leaky" not in repr(exc.to_dict())
    good = connector(sb)
    recs = [r for p in good.read("Products") for r in p.records]
    blob = repr(recs)
    assert sb.credentials["client_secret"] not in blob and sb.credentials["refresh_token"] not in blob


def test_https_with_a_ca_file() -> None:
    s = sandbox(20, tls=True)
    try:
        assert s.base_url.startswith("https://")
        c = connector(s, ca_file=s.server.ca_file)
        assert sum(len(p.records) for p in c.read("Products")) == s.count("Products")
    finally:
        s.stop()
