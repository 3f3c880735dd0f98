"""The sync-status dashboard: server-rendered FastAPI pages over the warehouse (no CDN, no build step).

``create_app(project, warehouse)`` builds the app; ``concord dashboard`` serves it on 127.0.0.1.
Pages: ``/`` overview, ``/runs``, ``/records``, ``/conflicts``, ``/quarantine``, ``/review``.
"""
from concord.hub.dashboard.app import create_app
from concord.hub.dashboard.auth import Tokens

__all__ = ["create_app", "Tokens"]
