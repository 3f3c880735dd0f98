"""Concord, the ERP <-> CRM integration hub.

Everything installs under this one namespace, mapped from the repository's top-level folders
(``concord.schemas`` <- ``schemas/``, ``concord.hub`` <- ``hub/``, ``concord.connectors`` <-
``connectors/``, ``concord.flows`` <- ``flows/``, ``concord.mappings`` <- ``mappings/``; see setup.py),
so a user's own ``schemas.py`` or ``flows/`` folder never shadows Concord's modules.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("concord-hub")
except PackageNotFoundError:          # imported from a checkout that was never installed
    __version__ = "0+unknown"
