"""An unusable warehouse is one clear line and exit code 2, never a traceback, never a password."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from concord.hub.errors import ConfigError
from concord.hub.warehouse import Warehouse
from tests.conftest import run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cases(tmp_path: Path) -> list[tuple[str, str]]:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return [
        (f"postgresql+psycopg://concord:hunter2-secret@127.0.0.1:{_free_port()}/test", "is the server running"),
        (f"sqlite:///{blocker}/warehouse.db", "does the folder exist"),
        ("nonsense://::hunter2-secret", "not a database URL"),
        ("mysql://concord:hunter2-secret@127.0.0.1/db", "cannot open warehouse"),
    ]


def test_open_raises_one_config_error(tmp_path: Path) -> None:
    for url, hint in _cases(tmp_path):
        with pytest.raises(ConfigError) as info:
            Warehouse.open(url)
        assert hint in info.value.message and "hunter2-secret" not in info.value.message, url


def test_cli_says_it_in_one_line(starter: Path, tmp_path: Path) -> None:
    for url, _hint in _cases(tmp_path):
        url = url.replace(":hunter2-secret@", "@")   # the CLI refuses literal passwords before it connects
        proc = run_cli("sync", cwd=starter, env={"CONCORD_DATABASE_URL": url}, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "hunter2-secret" not in proc.stderr + proc.stdout
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "warehouse" in lines[0], proc.stderr
