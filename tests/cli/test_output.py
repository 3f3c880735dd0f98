"""Output for operations: versioned JSON, plain tables off a terminal, status exit codes, logging flags,
progress lines, --version, shell completion, and `serve` stopping cleanly on a signal."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli


def test_version_and_completion() -> None:
    out = run_cli("--version").stdout
    assert out.startswith("concord ") and len(out.split()) == 2
    assert "--install-completion" in run_cli("--help").stdout
    # what `--install-completion` installs: click's completion script for the shell, and real completions
    script = run_cli(env={"_CONCORD_COMPLETE": "source_bash"}, check=False).stdout
    assert "_CONCORD_COMPLETE" in script and "complete" in script
    words = run_cli(env={"_CONCORD_COMPLETE": "complete_bash", "COMP_WORDS": "concord do", "COMP_CWORD": "1"},
                    check=False).stdout
    assert "doctor" in words


def test_json_is_versioned_and_tables_are_plain_off_a_terminal(starter: Path) -> None:
    sync = run_cli("sync", cwd=starter, env={"CONCORD_PROGRESS_SECONDS": "0.000001"})
    lines = sync.stdout.splitlines()
    assert lines[0].startswith("run ") and lines[1].split()[:3] == ["system", "entity", "read"]
    assert "…" not in sync.stdout and "{'" not in sync.stdout and "\\u" not in sync.stdout
    assert "golden records: account 7, contact 4" in sync.stdout
    # not a terminal: periodic progress lines on stderr, with counts and rate, per phase
    for phase in ("pull", "process", "push"):
        assert f"progress: {phase} " in sync.stderr, sync.stderr
    assert "/s" in sync.stderr
    for args in (["status"], ["plan"], ["sync"], ["check", "--offline"], ["quarantine", "list"],
                 ["deadletter", "list"], ["conflicts", "list"]):
        doc = json.loads(run_cli(*args, "--json", cwd=starter).stdout)
        assert doc["schema_version"] == 1, args
    status = json.loads(run_cli("status", "--json", cwd=starter).stdout)
    assert status["health"] == "ok" and status["exit_code"] == 0
    human = run_cli("status", cwd=starter).stdout
    assert "health: ok" in human and "{'" not in human and "datetime.datetime" not in human


def test_status_exits_2_when_a_stream_fails(starter: Path) -> None:
    run_cli("sync", cwd=starter)
    (starter / "data" / "erp" / "customers.csv").unlink()
    (starter / "data" / "erp" / "customers.csv").mkdir()        # unreadable as a file: the pull fails
    assert run_cli("sync", cwd=starter, check=False).returncode == 2
    proc = run_cli("status", cwd=starter, check=False)
    assert proc.returncode == 2 and "health: failing" in proc.stdout and "pull erp.account failed" in proc.stdout
    doc = json.loads(run_cli("status", "--json", cwd=starter, check=False).stdout)
    assert doc["health"] == "failing" and doc["exit_code"] == 2


def test_log_level_and_json_logs(starter: Path) -> None:
    proc = run_cli("--log-level", "info", "--log-json", "sync", cwd=starter)
    logs = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert logs and all({"time", "level", "logger", "message"} <= set(d) for d in logs)
    env = run_cli("sync", cwd=starter, env={"CONCORD_LOG_LEVEL": "debug", "CONCORD_LOG_JSON": "1"})
    logs2 = [json.loads(line) for line in env.stderr.splitlines() if line.startswith("{")]
    assert logs2 and {d["level"] for d in logs2} <= {"debug", "info", "warning", "error"}
    bad = run_cli("--log-level", "loud", "status", cwd=starter, check=False)
    assert bad.returncode == 2 and "debug, info" in bad.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_on_a_signal_without_a_traceback(starter: Path, sig: signal.Signals) -> None:
    exe = shutil.which("concord", path=str(Path(sys.executable).parent)) or "concord"
    proc = subprocess.Popen([exe, "serve"], cwd=starter, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith("serving "), first + (proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(3)
        t0 = time.monotonic()
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "stopped" in err and took < 30


def test_sync_says_when_prefect_runs_it(starter: Path) -> None:
    proc = run_cli("sync", cwd=starter, env={"PREFECT_API_URL": "http://127.0.0.1:9/api"}, check=False, timeout=120)
    assert "Prefect flow run because PREFECT_API_URL is set" in proc.stderr.splitlines()[0], proc.stderr[:2000]


def test_an_error_quoting_the_input_is_printed_as_it_is() -> None:
    """An error message quotes the user's input (a file's text, a value): printed as plain text, never read as
    rich markup. A backslash before "[" once opened a tag (the text vanished), and a long run of backslashes
    made rich's tag pattern take minutes (`concord check` of a broken file seemed to hang)."""
    import typer

    from concord.hub.cli.common import err_console, fail
    from concord.hub.errors import ConfigError

    message = "concord.yaml:3: unknown key 'x\\[red]y[/red]' and [bold]z[/] " + "\\" * 40 + "end"
    with err_console.capture() as cap:
        with pytest.raises(typer.Exit) as exit_:
            fail(ConfigError(message))
    assert exit_.value.exit_code == 2
    assert " ".join(cap.get().split()) == "error: " + " ".join(message.split())


def test_logging_follows_stderr_when_it_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run again in one process (an embedding program, the test suite) after stderr was replaced and
    the old one closed: the log goes to the stderr of now, not to the closed one ("I/O operation on closed
    file", printed as a logging error)."""
    import io
    import logging

    from concord.hub.cli.common import setup_logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        first = io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        setup_logging(verbose=True)
        logging.getLogger("concord.test").info("one")
        first.close()
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        setup_logging(verbose=True)
        monkeypatch.setattr(logging, "raiseExceptions", True)
        logging.getLogger("concord.test").info("two")
        assert "concord.test: two" in second.getvalue()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
