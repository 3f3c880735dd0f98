"""The demo project built from running sandboxes (``concord demo``)."""
from concord.hub.demo.runner import DEFAULT_SIZE, SIZES, Demo, parse_size

__all__ = ["Demo", "SIZES", "DEFAULT_SIZE", "parse_size"]
