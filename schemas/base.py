"""Shared base for every canonical model.

Canonical models are the contract between Concord's layers: frozen (a record
never changes under the engine's feet), ``extra="forbid"`` (a mapping that sets
an unknown field is a configuration error, not silent data loss) and versioned.
"""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1.0"


class CanonicalModel(BaseModel):
    """Base of all canonical records and their nested parts."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    #: Version of the canonical model family; bumped on incompatible changes.
    schema_version: ClassVar[str] = SCHEMA_VERSION


class CanonicalEntity(CanonicalModel):
    """A top-level canonical record that the hub stores as a golden record."""

    #: Canonical entity name, as used in concord.yaml and mapping files.
    entity_name: ClassVar[str]
    #: Fields whose value identifies the record across systems (exact-match keys).
    identity_fields: ClassVar[tuple[str, ...]] = ()
    #: Field used as the human-readable title of a record (dashboard, CLI).
    title_field: ClassVar[str] = "name"
