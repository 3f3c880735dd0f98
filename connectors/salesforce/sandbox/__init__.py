"""The Salesforce sandbox: an HTTPS org on loopback that simple-salesforce talks to unchanged.

``start(world, faults=..., port=0, **options)`` returns a :class:`RunningSandbox`. Options:

- ``accounts``: seed only the first N world companies (default: all ``world.size``)
- ``api_version`` (``"59.0"``), ``daily_api_limit`` (100000), ``token_ttl`` (seconds; None = never)
- ``duplicate_rules``: ``{"Account": "Name"}`` makes equal names a ``DUPLICATES_DETECTED`` rejection
- ``bulk_in_progress_polls``: how many status polls a Bulk job reports ``InProgress`` (1)
- ``public_key_pem``: the connected app certificate's public key for JWT bearer (one is generated)
- ``custom_objects``: ``{"Invoice__c": {"Amount__c": "currency", ...}}``
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from concord.hub.sandbox import FaultConfig, FaultInjector, Request, Response, SandboxApp, SandboxServer
from concord.hub.sandbox.running import RunningSandbox
from concord.hub.sandbox.world import World
from concord.connectors.salesforce.sandbox.describes import OBJECTS, custom_object
from concord.connectors.salesforce.sandbox.query import Executor
from concord.connectors.salesforce.sandbox.store import Store

CLIENT_ID = "3MVG9sandbox.concord.connected.app"
USERNAME = "integration@concord.sandbox"


@dataclass
class OrgState:
    """What tests and benchmarks reach into: the store (records, truth), the org (tokens, API usage)."""

    store: Store
    org: Any
    executor: Executor
    counts: dict[str, int]
    private_key_pem: bytes | None
    public_key_pem: bytes | None


def fault_renderer(org: Any) -> Any:
    def render(kind: str, req: Request, faults: FaultInjector) -> Response:
        retry = str(max(1, int(round(faults.config.retry_after + 0.499))))
        limit = org.limit_header() if org else {}
        if kind == "429":
            return Response.json([{"message": "Too many requests: concurrent request limit exceeded; retry later",
                                   "errorCode": "REQUEST_LIMIT_EXCEEDED"}], 429, {"Retry-After": retry, **limit})
        if kind == "503":
            return Response.json([{"message": "Server Unavailable", "errorCode": "SERVER_UNAVAILABLE"}], 503,
                                 {"Retry-After": retry, **limit})
        return Response.json([{"message": "An unexpected error occurred. Please include this ErrorId if you contact "
                                          "support: 1234567890-12345 (-1234567890)", "errorCode": "UNKNOWN_EXCEPTION"}],
                             500, limit)
    return render


class SalesforceApp(SandboxApp):
    def not_found(self, req: Request) -> Response:
        return Response.json([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404)

    def not_allowed(self, req: Request) -> Response:
        return Response.json([{"errorCode": "METHOD_NOT_ALLOWED",
                               "message": f"HTTP Method '{req.method}' not allowed. Allowed are GET,PATCH,DELETE"}], 405)

    def server_error(self, req: Request, exc: BaseException) -> Response:
        return Response.json([{"errorCode": "UNKNOWN_EXCEPTION", "message": f"An unexpected error occurred: "
                                                                          f"{type(exc).__name__}"}], 500)


def make_keypair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) for a JWT-bearer connected app."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub


def start(world: World, *, faults: FaultConfig | None = None, port: int = 0, **options: Any) -> RunningSandbox:
    from concord.connectors.salesforce.sandbox import bulk, rest
    from concord.connectors.salesforce.sandbox.seed import seed

    version = str(options.get("api_version", "59.0"))
    objects = dict(OBJECTS)
    for i, (name, fields) in enumerate((options.get("custom_objects") or {}).items()):
        objects[name] = custom_object(name, fields, prefix=f"a0{chr(ord('C') + i)}")
    store = Store(objects, duplicate_rules=options.get("duplicate_rules"))
    counts = seed(store, world, accounts=options.get("accounts"))
    app = SalesforceApp("salesforce", FaultInjector(faults))
    private_pem, public_pem = (None, options["public_key_pem"]) if options.get("public_key_pem") else make_keypair()
    client_secret = secrets.token_hex(16)
    refresh_token = "5Aep" + secrets.token_urlsafe(48)
    org = rest.Org(app, store, client_id=CLIENT_ID, client_secret=client_secret, username=USERNAME,
                   refresh_token=refresh_token, public_key_pem=public_pem,
                   daily_api_limit=int(options.get("daily_api_limit", 100000)), token_ttl=options.get("token_ttl"))
    app.fault_renderer = fault_renderer(org)
    executor = Executor(store, version)
    rest.install(app, org, executor)
    # Bulk routes share the REST auth wrapper.
    api = rest.api_wrapper(org)
    bulk.install(app, org, api, executor, in_progress_polls=int(options.get("bulk_in_progress_polls", 1)))
    app.fault_exempt.append(re.compile(r"/services/oauth2/.*"))
    server = SandboxServer(app, port=port, tls=True).start()
    env = {"SF_CLIENT_SECRET": client_secret, "SF_REFRESH_TOKEN": refresh_token}
    if private_pem:
        env["SF_PRIVATE_KEY"] = private_pem.decode()
    config = {"login_url": server.base_url, "auth": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": "${SF_CLIENT_SECRET}", "username": USERNAME, "api_version": version,
              "ca_file": server.ca_file}
    return RunningSandbox(connector="salesforce", server=server, app=app,
                          credentials={"client_id": CLIENT_ID, "client_secret": client_secret, "username": USERNAME,
                                       "refresh_token": refresh_token},
                          connector_config=config, env=env,
                          state=OrgState(store, org, executor, counts, private_pem, public_pem),
                          extra={"counts": counts, "api_version": version})
