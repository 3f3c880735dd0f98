"""Concord's test suite."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CONCORD_SHARED_DIR", ROOT.parent / "shared"))


def fixtures_path(*parts: str) -> Path:
    """A path under ../shared/fixtures, or skip the test with a clear reason when it is absent."""
    import pytest

    p = SHARED.joinpath("fixtures", *parts)
    if not p.exists():
        pytest.skip(f"vendor fixtures not available: {p} is absent (set CONCORD_SHARED_DIR or place shared/ beside the repo)")
    return p
