"""Data flows one way (schemas <- hub <- connectors <- flows); connectors are independent; the
engine never imports the CLI. Enforced with import-linter's contracts from pyproject.toml."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests import ROOT

FOLDERS = ("schemas", "hub", "connectors", "flows")


def test_import_contracts_hold(tmp_path: Path) -> None:
    """import-linter reads packages from disk, and ``concord.hub`` is mapped from ``hub/`` (setup.py), so the
    check runs on a copy of the sources laid out as the wheel installs them: ``concord/hub/...``."""
    pkg = tmp_path / "concord"
    shutil.copytree(ROOT / "concord", pkg, ignore=shutil.ignore_patterns("*.yaml"))
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, pkg / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    exe = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([str(exe), str(ROOT / "pyproject.toml")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and "KEPT" in proc.stdout


def test_schemas_import_nothing_of_ours() -> None:
    for path in (ROOT / "schemas").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for bad in ("concord.hub", "concord.connectors", "concord.flows"):
            assert bad not in text, f"{path} imports {bad}"


OLD_NAME = re.compile(r"(^\s*|\\n)(from|import) (schemas|hub|connectors|flows)\b", re.M)   # also in code strings


def test_everything_imports_through_the_concord_namespace() -> None:
    """A top-level ``hub``/``schemas`` import would load a second copy of a module (or a user's own
    ``schemas.py``): every import names ``concord.``."""
    bad = []
    for folder in (*FOLDERS, "concord", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in OLD_NAME.finditer(path.read_text(encoding="utf-8")):
                line = path.read_text(encoding="utf-8")[:m.start()].count("\n") + 1
                bad.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0).strip()}")
    assert not bad, "\n".join(bad)


def test_no_undefined_names_or_unused_imports() -> None:
    """pyflakes-level checks (ruff's F rules): undefined names, unused imports, broken f-strings."""
    exe = Path(sys.executable).parent / "ruff"
    proc = subprocess.run([str(exe), "check", "--select", "F", "--no-cache", "concord", "hub", "schemas", "connectors",
                           "flows", "bench", "tests"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
