"""Sandbox toolkit: real HTTP(S) servers on loopback that speak a vendor's protocol.

- :mod:`concord.hub.sandbox.server`: ``SandboxApp`` (routing, request counting), ``SandboxServer``
  (a threaded HTTP or HTTPS server on a free loopback port).
- :mod:`concord.hub.sandbox.faults`: fault injection (429 + Retry-After, 5xx, latency, dropped
  connections, expired tokens, partial batch failures), random at a rate or scripted.
- :mod:`concord.hub.sandbox.tls`: a self-signed certificate for 127.0.0.1/localhost.
- :mod:`concord.hub.sandbox.world`: the seeded world every sandbox is fed from.
"""
from concord.hub.sandbox.faults import FaultConfig, FaultInjector
from concord.hub.sandbox.server import DropConnection, Request, Response, SandboxApp, SandboxServer

__all__ = ["FaultConfig", "FaultInjector", "DropConnection", "Request", "Response", "SandboxApp", "SandboxServer"]
