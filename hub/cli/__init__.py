"""The ``concord`` command line (the outer edge of hub: nothing in the engine imports it)."""
from concord.hub.cli.app import app, main

__all__ = ["app", "main"]
