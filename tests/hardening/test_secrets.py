"""Secrets harness: credentials never show up anywhere a person or a log collector can see.

Every credential field (each ``SecretStr`` of every connector's ``Config``, found through the
``concord.connectors`` entry points, nested auth models included) gets a distinctive value: the
sandbox's real one where the connector uses that field, a planted one where it does not, and a
planted *wrong* one for some systems (first run) or all of them (second run), so the auth error
paths run too. Then ``check``, ``sync``, ``plan --json`` and ``status --json`` run in-process
(typer's CliRunner) against the vendor sandboxes on loopback, with every logger at DEBUG, and the
secret strings (and their Basic-auth encodings) are looked for in: the log records (messages and
tracebacks), stdout/stderr, the exceptions the connectors raise, every column of every table of
the SQLite warehouse, and every dashboard page.
"""
from __future__ import annotations

import base64
import json
import logging
import secrets as pysecrets
import sqlite3
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from typer.testing import CliRunner

from concord.hub import registry
from concord.hub.demo.profiles import PROFILES
from concord.hub.demo.project import build_config, copy_mappings, write_config
from concord.hub.errors import HubError

SYSTEMS = ("sap_odata", "oracle_fusion", "soap_erp", "salesforce", "zoho_crm", "fxiaoke")
WRONG_IN_FIRST_RUN = ("sap_odata", "zoho_crm")
OP_TOKEN, READ_TOKEN = "op-token-harness-0123456789", "read-token-harness-0123456789"


# ------------------------------------------------------------------------------------------------
# finding the credential fields
# ------------------------------------------------------------------------------------------------
def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models(a)]


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation) or any(
        _is_secret(a) for a in typing.get_args(annotation) if typing.get_args(a))


def secret_paths(model: type[BaseModel], data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the SecretStr fields of ``model`` that apply to ``data`` (nested auth models included)."""
    out: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if _is_secret(field.annotation):
            out.append((*prefix, key))
            continue
        sub = data.get(key) if isinstance(data, dict) else None
        subs = _models(field.annotation)
        if not isinstance(sub, dict):   # no config at hand: every variant's fields
            out.extend(p for m in subs for p in secret_paths(m, None, (*prefix, key)) if p not in out)
            continue
        for m in subs:   # a union of auth models: the variant this config chose (validates alone)
            try:
                m.model_validate(_resolved(sub))
            except Exception:  # noqa: BLE001, S112 - not this variant
                continue
            out.extend(secret_paths(m, sub, (*prefix, key)))
            break
    return out


def _resolved(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _resolved(v) for k, v in d.items()}
    if isinstance(d, str) and d.startswith("${"):
        return "x" * 12
    return d


def connector_secret_fields() -> dict[str, list[str]]:
    out = {}
    for name in registry.names("concord.connectors"):
        cls = registry.connector_class(name)
        out[name] = [".".join(p) for p in secret_paths(cls.Config, {})]
    return out


def test_every_connector_with_credentials_has_secret_fields() -> None:
    found = connector_secret_fields()
    assert set(found) >= set(SYSTEMS) | {"files"}
    for name in ("salesforce", "zoho_crm", "fxiaoke", "sap_odata"):
        assert found[name], name


# ------------------------------------------------------------------------------------------------
# the project
# ------------------------------------------------------------------------------------------------
class Harness:
    def __init__(self, folder: Path, running: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                 wrong: tuple[str, ...]) -> None:
        self.folder, self.secrets, self.env = folder, set(), {}
        systems, mappings = {}, {}
        for name, sb in running.items():
            cfg = json.loads(json.dumps(sb.connector_config))
            cls = registry.connector_class(name)
            mappings[name] = copy_mappings(folder, name, PROFILES[name].entities)
            self.secrets |= {v for v in sb.env.values() if len(v) >= 8}
            for path in secret_paths(cls.Config, cfg):
                parent = cfg
                for k in path[:-1]:
                    parent = parent[k]
                var = f"HARNESS_{name}_{'_'.join(path)}".upper()
                current = parent.get(path[-1])
                if isinstance(current, str) and current.startswith("${") and name not in wrong:
                    continue                                    # the sandbox's real value (scanned for)
                value = f"PLANTED{pysecrets.token_hex(6)}{name[:3]}{path[-1][:4]}"
                parent[path[-1]] = "${" + var + "}"
                self.env[var] = value
                self.secrets.add(value)
            if "user" in cfg or "username" in cfg or isinstance(cfg.get("auth"), dict):
                a = cfg.get("auth") if isinstance(cfg.get("auth"), dict) else cfg
                user = a.get("user") or a.get("username")
                pw = a.get("password")
                if user and isinstance(pw, str):
                    value = self.env.get(pw[2:-1]) or sb.env.get(pw[2:-1])
                    if value:
                        self.secrets.add(base64.b64encode(f"{user}:{value}".encode()).decode())
            systems[name] = {"connector": name, "config": cfg}
            for k, v in sb.env.items():
                monkeypatch.setenv(k, v)
        for k, v in self.env.items():
            monkeypatch.setenv(k, v)
        # multi-line secrets (a private key): each long line is a secret of its own
        self.secrets = {line for s in self.secrets for line in ([s] if "\n" not in s else
                        [x for x in s.splitlines() if len(x) >= 40])}
        monkeypatch.setenv("CONCORD_DASHBOARD_TOKEN", OP_TOKEN)
        monkeypatch.setenv("CONCORD_DASHBOARD_READ_TOKEN", READ_TOKEN)
        self.db = folder / "concord.db"
        doc = build_config(systems, mappings, base=folder, warehouse=f"sqlite:///{self.db}")
        self.config = write_config(folder, doc)
        self.outputs: list[tuple[str, str]] = []

    def cli(self, *args: str) -> Any:
        from concord.hub.cli.app import app

        result = CliRunner().invoke(app, [*args, "-c", str(self.config)], catch_exceptions=True)
        out = result.stdout + (result.stderr if result.stderr_bytes is not None else "")
        self.outputs.append((f"concord {' '.join(args)} (exit {result.exit_code})", out))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            self.outputs.append((f"exception of concord {args[0]}", "".join(
                traceback.format_exception(type(result.exception), result.exception, result.exception.__traceback__))))
        return result

    def leaks(self, where: str, text: str) -> list[str]:
        return [f"{where}: {s[:6]}... in {text[max(0, text.find(s) - 80):text.find(s) + len(s) + 20]!r}"
                for s in self.secrets if s in text]


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, Any]]:
    from concord.hub.sandbox.faults import FaultConfig
    from concord.hub.sandbox.world import World

    world = World(seed=5, size=12)
    out: dict[str, Any] = {}
    try:
        for name in SYSTEMS:
            out[name] = registry.sandbox_starter(name)(world, faults=FaultConfig(rate=0.0, seed=5), port=0)
        yield out
    finally:
        for sb in out.values():
            sb.stop()


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))   # message, arguments and traceback, as a handler writes them


@pytest.fixture
def debug_logs() -> Iterator[_Keep]:
    """Every log record at DEBUG, twice: as a handler writes it (after the redacting filter), and raw,
    as created (before any filter: a handler that a framework such as Prefect adds later has none)."""
    root = logging.getLogger()
    keep, level = _Keep(), root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    for name in ("urllib3", "requests", "zeep", "pyodata", "simple_salesforce", "concord"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    factory = logging.getLogRecordFactory()
    fmt = logging.Formatter()

    def raw(*args: Any, **kw: Any) -> logging.LogRecord:
        record = factory(*args, **kw)
        try:
            text = f"RAW {record.name}: {record.getMessage()}"
        except Exception:  # noqa: BLE001 - a malformed record is not ours to judge here
            text = f"RAW {record.name}: {record.msg!r} {record.args!r}"
        if record.exc_info and record.exc_info[0] is not None:
            text += "\n" + fmt.formatException(record.exc_info)
        keep.texts.append(text)
        return record

    logging.setLogRecordFactory(raw)
    try:
        yield keep
    finally:
        logging.setLogRecordFactory(factory)
        root.removeHandler(keep)
        root.setLevel(level)


def _warehouse_texts(db: Path) -> Iterator[tuple[str, str]]:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            for row in con.execute(f'SELECT * FROM "{t}"'):
                for c, v in zip(cols, row):
                    if isinstance(v, bytes):
                        v = v.decode("utf-8", "replace")
                    if isinstance(v, str):
                        yield f"warehouse {t}.{c}", v
    finally:
        con.close()


def _dashboard_texts(h: Harness) -> Iterator[tuple[str, str]]:
    from fastapi.testclient import TestClient

    from concord.hub.config import load_project
    from concord.hub.dashboard import Tokens, create_app
    from concord.hub.warehouse import Warehouse

    project = load_project(h.config)
    wh = Warehouse.open(f"sqlite:///{h.db}", migrate=False)
    con = sqlite3.connect(h.db)
    runs = [r[0] for r in con.execute("SELECT id FROM run")]
    goldens = [(e, g) for e, g in con.execute("SELECT entity, golden_id FROM golden LIMIT 6")]
    con.close()
    try:
        app = create_app(project, wh, tokens=Tokens(OP_TOKEN, READ_TOKEN), refresh_seconds=0)
        with TestClient(app, base_url="http://127.0.0.1") as c:
            hdrs = {"Authorization": f"Bearer {OP_TOKEN}", "Accept": "text/html"}
            pages = ["/", "/runs", "/records", "/quarantine", "/deadletters", "/conflicts", "/review",
                     *[f"/runs/{r}" for r in runs], *[f"/records/{e}/{g}" for e, g in goldens]]
            seen = 0
            for p in pages:
                r = c.get(p, headers=hdrs)
                seen += r.status_code == 200
                yield f"dashboard {p}", r.text
            assert seen >= 7, "the dashboard pages did not render"
    finally:
        wh.dispose()


def _connector_errors(h: Harness) -> Iterator[tuple[str, str]]:
    """Call each connector directly: the messages, details and causes of what it raises."""
    from concord.hub.config import load_project
    from concord.hub.engine import RunContext

    project = load_project(h.config)
    ctx = RunContext(project, None, __import__("concord.hub.http", fromlist=["HttpToolkit"]).HttpToolkit())
    try:
        for system in project.config.systems:
            for what in ("check", "read"):
                try:
                    conn = ctx.connector(system)
                    if what == "check":
                        conn.check()
                    else:
                        ent = conn.entities()[0].name
                        next(iter(conn.read(ent)), None)
                except BaseException as exc:  # noqa: BLE001 - every exception is looked at
                    parts = [repr(exc), str(exc)]
                    if isinstance(exc, HubError):
                        parts.append(json.dumps(exc.to_dict(), default=str))
                    cur: BaseException | None = exc
                    while cur is not None:
                        parts += [repr(cur), str(cur)]
                        cur = cur.__cause__ or cur.__context__
                    yield f"exception {system}.{what}", "\n".join(parts)
    finally:
        ctx.close()


def _scan(h: Harness, logs: _Keep) -> list[str]:
    from concord.hub.http.redact import redactor

    # tokens the systems issued during the runs (access tokens, session ids) are secrets as well
    h.secrets |= {v for v in redactor._secrets if len(v) >= 16}
    canary = min(h.secrets)
    assert h.leaks("canary", f"x{canary}x"), "the scan would not see a leak"
    leaks: list[str] = []
    sources: list[tuple[str, str]] = [*h.outputs, *[("log", t) for t in logs.texts]]
    sources += list(_connector_errors(h))
    sources += list(_warehouse_texts(h.db))
    sources += list(_dashboard_texts(h))
    sources += [("log (after)", t) for t in logs.texts]
    for where, text in sources:
        leaks += h.leaks(where, text)
    return sorted(set(leaks))


def _run_all(h: Harness) -> dict[str, Any]:
    res = {"check": h.cli("check"), "sync": h.cli("sync", "--json", "-v"), "plan": h.cli("plan", "--json", "-v"),
           "status": h.cli("status", "--json")}
    return res


def test_first_run_some_wrong_secrets(running: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      debug_logs: _Keep) -> None:
    h = Harness(tmp_path, running, monkeypatch, wrong=WRONG_IN_FIRST_RUN)
    assert len(h.secrets) >= 12
    res = _run_all(h)
    summary = json.loads(res["sync"].stdout)
    assert summary["run_id"], res["sync"].stdout
    text = json.dumps(summary)
    for name in WRONG_IN_FIRST_RUN:   # the auth error paths did run
        assert name in text and ("auth" in text or "refused" in text), summary
    assert summary["golden_records"], summary                                 # the right ones synced
    json.loads(res["plan"].stdout), json.loads(res["status"].stdout)
    assert any(t.startswith("DEBUG") for t in debug_logs.texts) and any(t.startswith("RAW") for t in debug_logs.texts)
    leaks = _scan(h, debug_logs)
    assert not leaks, "\n".join(leaks)


def test_second_run_every_secret_wrong(running: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       debug_logs: _Keep) -> None:
    h = Harness(tmp_path, running, monkeypatch, wrong=SYSTEMS)
    res = _run_all(h)
    assert res["check"].exit_code != 0
    summary = json.loads(res["sync"].stdout)
    assert summary["status"] == "failed"
    leaks = _scan(h, debug_logs)
    assert not leaks, "\n".join(leaks)
