"""The Fxiaoke (纷享销客) open API on loopback: token endpoint, CRM v2 data and describe APIs.

``start(world)`` seeds the objects from the world (Chinese company and person names),
serves plain HTTP on 127.0.0.1 and returns a :class:`RunningSandbox`. Knobs:

- ``share``: the share of the world's companies this CRM holds (default 0.6)
- ``objects``: seed only these objects (AccountObj is always seeded; others reference it)
- ``token_ttl``: lifetime of a ``corpAccessToken`` in seconds (default 7200)
- ``throttle``: ``(calls, seconds)`` per endpoint, answered as ``errorCode 30004`` (documented:
  100 calls / 20 s); off by default
- ``daily_quota``: total calls before ``errorCode 30002``; off by default
- ``faults``: a :class:`FaultConfig` (429/503/500 at the gateway, latency, drops, token expiry
  answered as ``errorCode 20016``, per-record write failures)
"""
from __future__ import annotations

from typing import Any

from concord.connectors.fxiaoke.sandbox.app import FxiaokeSandbox
from concord.connectors.fxiaoke.sandbox.objects import CONCORD_ID_FIELD
from concord.connectors.fxiaoke.sandbox.seed import seed
from concord.connectors.fxiaoke.sandbox.store import Store
from concord.hub.sandbox import FaultConfig, FaultInjector, SandboxServer
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World

__all__ = ["start", "FxiaokeSandbox", "Store"]


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, share: float = 0.6,
          objects: set[str] | None = None, token_ttl: int = 7200, throttle: tuple[int, float] | None = None,
          daily_quota: int | None = None, **options: Any) -> RunningSandbox:
    store = Store()
    seed(store, world, share=share, objects=objects)
    app = FxiaokeSandbox(store, FaultInjector(faults), token_ttl=token_ttl, throttle=throttle, daily_quota=daily_quota)
    server = SandboxServer(app, port=port, tls=False).start()
    c = app.creds
    return RunningSandbox(
        connector="fxiaoke", server=server, app=app,
        credentials={"app_id": c.app_id, "app_secret": c.app_secret, "permanent_code": c.permanent_code,
                     "corp_id": c.corp_id, "current_open_user_id": "FSUID_ADMIN1000"},
        connector_config={"base_url": server.base_url, "app_id": c.app_id, "app_secret": "${FXIAOKE_APP_SECRET}",
                          "permanent_code": "${FXIAOKE_PERMANENT_CODE}", "current_open_user_id": "FSUID_ADMIN1000",
                          "external_id_fields": {api: CONCORD_ID_FIELD for api in sorted(store.describes)
                                                 if CONCORD_ID_FIELD in store.describes[api]["fields"]}},
        env={"FXIAOKE_APP_SECRET": c.app_secret, "FXIAOKE_PERMANENT_CODE": c.permanent_code},
        state=store, extra={"corp_id": c.corp_id})
