"""Zoho CRM sandbox: an accounts server (OAuth) and a CRM API server, on two loopback ports.

``start(world, faults=..., port=0, **options)`` seeds the org from the world and returns a
:class:`RunningSandbox` whose ``app`` is the CRM API (faults, stats) and whose
``extra["accounts_url"]`` is the separate accounts server. Options:

- ``modules``: which modules to seed (default all; references are resolved either way)
- ``shares``: per-module share of world objects the org holds (``{"Accounts": 0.7, ...}``)
- ``credits_per_day``: API credits per rolling 24 h (None = unlimited); over it -> 429
- ``token_ttl``: access-token lifetime in seconds (3600)
- ``tz_offset_minutes``: the org's time zone for datetimes on the wire (60 = +01:00)
- ``tls``: serve HTTPS with a self-signed loopback certificate (default plain HTTP)
- ``now``: a callable returning the aware current time (tests pin the clock)
"""
from __future__ import annotations

import secrets
from typing import Any

from concord.connectors.zoho_crm.sandbox.api import CrmApi, OAuthServer
from concord.connectors.zoho_crm.sandbox.seed import seed
from concord.connectors.zoho_crm.sandbox.store import ZohoStore
from concord.hub.sandbox import FaultConfig, FaultInjector, SandboxApp, SandboxServer
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World

__all__ = ["start", "ZohoRunningSandbox", "ZohoStore"]


class ZohoRunningSandbox(RunningSandbox):
    """A RunningSandbox that also owns the accounts server."""

    accounts_server: SandboxServer | None = None
    oauth: OAuthServer | None = None

    def stop(self) -> None:
        super().stop()
        if self.accounts_server is not None:
            self.accounts_server.stop()

    def record(self, module: str, record_id: str) -> dict[str, Any] | None:
        """Sandbox-side lookup (tests): the stored record or None."""
        with self.state.lock:
            rec = self.state.modules[module].records.get(record_id)
            return dict(rec) if rec is not None else None

    def count(self, module: str) -> int:
        with self.state.lock:
            return len(self.state.modules[module].records)


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, **options: Any) -> ZohoRunningSandbox:
    store = ZohoStore(tz_offset_minutes=options.get("tz_offset_minutes", 60), now=options.get("now"),
                      credits_per_day=options.get("credits_per_day"))
    seed(store, world, shares=options.get("shares"), modules=options.get("modules"))
    tls = bool(options.get("tls", False))
    app = SandboxApp("zoho_crm", FaultInjector(faults))
    api_server = SandboxServer(app, port=port, tls=tls)
    accounts_app = SandboxApp("zoho_accounts")
    accounts_server = SandboxServer(accounts_app, port=options.get("accounts_port", 0), tls=tls)
    # the client id is fixed (a project written by `concord init --sandbox` names it in concord.yaml, and
    # `concord sandbox up` starts a new sandbox later); the secret and the refresh token are new each start
    creds = {"client_id": "1000.SANDBOXCONCORD0001", "client_secret": secrets.token_hex(20),
             "refresh_token": "1000." + secrets.token_hex(16) + "." + secrets.token_hex(16)}
    oauth = OAuthServer(store, api_domain=api_server.base_url, token_ttl=int(options.get("token_ttl", 3600)), **creds)
    oauth.install(accounts_app)
    CrmApi(app, store, oauth)
    api_server.start()
    accounts_server.start()
    config: dict[str, Any] = {"accounts_url": accounts_server.base_url, "client_id": creds["client_id"],
                              "client_secret": "${ZOHO_CLIENT_SECRET}", "refresh_token": "${ZOHO_REFRESH_TOKEN}",
                              # every standard module has a unique Concord_ID custom field (as an org set up for
                              # Concord would): writes carry the golden id, creates are upserts on it, lookups find it
                              "external_id_fields": {m: "Concord_ID" for m in sorted(store.modules)
                                                     if "Concord_ID" in store.modules[m].fields}}
    if api_server.ca_file:
        config["ca_file"] = api_server.ca_file
    running = ZohoRunningSandbox(
        connector="zoho_crm", server=api_server, app=app, credentials=dict(creds), connector_config=config,
        env={"ZOHO_CLIENT_SECRET": creds["client_secret"], "ZOHO_REFRESH_TOKEN": creds["refresh_token"]},
        state=store, extra={"accounts_url": accounts_server.base_url, "api_domain": api_server.base_url})
    running.accounts_server, running.oauth = accounts_server, oauth
    return running
