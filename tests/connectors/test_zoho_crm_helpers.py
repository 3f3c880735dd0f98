"""Shared helpers of the Zoho CRM tests (no tests here): sandbox start and connector build."""
from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from concord.connectors.zoho_crm import ZohoCrmConfig, ZohoCrmConnector
from concord.connectors.zoho_crm.sandbox import ZohoRunningSandbox, start
from concord.hub.contracts import ConnectorContext
from concord.hub.http import CallLedger, HttpToolkit, RetryPolicy
from concord.hub.sandbox import FaultConfig
from concord.hub.sandbox.world import World


def sandbox(size: int = 60, seed: int = 7, **options: Any) -> ZohoRunningSandbox:
    return start(World(seed, size), faults=options.pop("faults", FaultConfig()), **options)


def connector(sb: ZohoRunningSandbox, ledger: CallLedger | None = None, **overrides: Any) -> ZohoCrmConnector:
    cfg: dict[str, Any] = {"accounts_url": sb.extra["accounts_url"], "client_id": sb.credentials["client_id"],
                           "client_secret": SecretStr(sb.credentials["client_secret"]),
                           "refresh_token": SecretStr(sb.credentials["refresh_token"])}
    cfg.update(overrides)
    toolkit = HttpToolkit(ledger or CallLedger(), policy=RetryPolicy(backoff_base=0.01, backoff_max=0.05),
                          sleep=lambda s: None)
    return ZohoCrmConnector(ZohoCrmConfig(**cfg), ConnectorContext(system="zoho_crm", http=toolkit))
