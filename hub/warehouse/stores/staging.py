"""Staging (``raw_record``): the status of a staged source record.

Pull stages a record as ``pending``; processing maps it (``mapped``), or maps it with a reference it could
not resolve yet (``unresolved``: a contact read before its account; mapped again once a record of the
referenced entity has changed), or quarantines it (``quarantined``).
"""
from __future__ import annotations

from enum import StrEnum


class RawStatus(StrEnum):
    PENDING = "pending"
    MAPPED = "mapped"
    UNRESOLVED = "unresolved"
    QUARANTINED = "quarantined"


#: statuses of a record whose canonical view is current (it takes part in golden records)
MAPPED_STATES = (RawStatus.MAPPED, RawStatus.UNRESOLVED)
