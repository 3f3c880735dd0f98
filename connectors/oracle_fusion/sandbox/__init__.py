"""Oracle Fusion Cloud REST sandbox: ``start(world)`` serves fscmRestApi and crmRestApi on loopback.

Knobs (``**options`` of :func:`start`): ``tls`` (default False: plain http),
``resources`` (which resources to seed; default all), ``user`` / ``password``
(Basic auth), ``client_id`` / ``client_secret`` (OAuth client credentials at
``/oauth2/v1/token``), ``auth`` ("basic" or "oauth") for the printed connector
config, ``framework_version`` for the printed connector config.
"""
from __future__ import annotations

from typing import Any

from concord.hub.sandbox import FaultConfig, FaultInjector, SandboxServer
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World
from concord.connectors.oracle_fusion.sandbox.app import OracleSandbox
from concord.connectors.oracle_fusion.sandbox.seed import seed
from concord.connectors.oracle_fusion.sandbox.store import Store

__all__ = ["start", "Store", "OracleSandbox"]


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, **options: Any) -> RunningSandbox:
    store = Store()
    seed(store, world, options.get("resources"))
    user = options.get("user", "CONCORD.INTEGRATION")
    password = options.get("password", "Welcome1-sandbox")
    client_id = options.get("client_id", "concord-sandbox-client")
    client_secret = options.get("client_secret", "sandbox-client-secret-0xF00D")
    sandbox = OracleSandbox(store, FaultInjector(faults), user=user, password=password, client_id=client_id,
                            client_secret=client_secret)
    server = SandboxServer(sandbox.app, port=port, tls=bool(options.get("tls", False))).start()
    auth = options.get("auth", "basic")
    config: dict[str, Any] = {"base_url": server.base_url,
                              "framework_version": int(options.get("framework_version", 4))}
    if auth == "oauth":
        config["auth"] = {"kind": "oauth", "token_url": f"{server.base_url}/oauth2/v1/token", "client_id": client_id,
                          "client_secret": "${ORACLE_CLIENT_SECRET}", "scope": "urn:opc:resource:consumer::all"}
    else:
        config["auth"] = {"kind": "basic", "user": user, "password": "${ORACLE_PASSWORD}"}
    if server.ca_file:
        config["ca_file"] = server.ca_file
    return RunningSandbox(connector="oracle_fusion", server=server, app=sandbox.app,
                          credentials={"user": user, "password": password, "client_id": client_id,
                                       "client_secret": client_secret},
                          connector_config=config,
                          env={"ORACLE_PASSWORD": password, "ORACLE_CLIENT_SECRET": client_secret},
                          state=store, extra={"resources": sorted(store.tables)})
