"""Data flows one way (schemas <- hub <- connectors <- flows); connectors are independent; the
engine never imports the CLI. Enforced with import-linter's contracts from pyproject.toml."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import ROOT


def test_import_contracts_hold() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(exe), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and "KEPT" in proc.stdout


def test_schemas_import_nothing_of_ours() -> None:
    for path in (ROOT / "schemas").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for bad in ("import hub", "from hub", "import connectors", "from connectors", "from flows", "import flows"):
            assert bad not in text, f"{path} imports {bad.split()[-1]}"


def test_no_undefined_names_or_unused_imports() -> None:
    """pyflakes-level checks (ruff's F rules): undefined names, unused imports, broken f-strings."""
    exe = Path(sys.executable).parent / "ruff"
    proc = subprocess.run([str(exe), "check", "--select", "F", "--no-cache", "hub", "schemas", "connectors", "flows",
                           "bench", "tests"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
