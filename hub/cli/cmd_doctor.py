"""concord doctor: per system, is it reachable, do the credentials work, may Concord do what the sync
rules ask, and do the mappings fit the system's metadata. A table (or --json); exit 0 / 1 / 2."""
from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import typer

from concord.hub.cli.common import (
    ConfigOpt,
    JsonOpt,
    console,
    err_console,
    guarded,
    print_json,
    setup_logging,
    table,
)

OK, WARN, FAIL, SKIP = "ok", "warning", "failed", "skipped"
RANK = {OK: 0, SKIP: 0, WARN: 1, FAIL: 2}
URL = re.compile(r"https?://[^\s\"']+")


@dataclass
class Result:
    system: str
    check: str
    status: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


def _msg(exc: BaseException) -> str:
    from concord.hub.errors import HubError
    from concord.hub.http.redact import redact

    text = exc.message if isinstance(exc, HubError) else f"{type(exc).__name__}: {exc}"
    return " ".join(redact(str(text)).split())


def _origins(config: Any) -> list[tuple[str, int, str]]:
    """(host, port, url) of every http(s) URL in a system's config block."""
    out: dict[tuple[str, int], str] = {}
    for url in URL.findall(json.dumps(config, default=str)):
        u = urlparse(url)
        if not u.hostname:
            continue
        port = u.port or (443 if u.scheme == "https" else 80)
        out.setdefault((u.hostname, port), f"{u.scheme}://{u.netloc}")
    return [(h, p, url) for (h, p), url in out.items()]


def connectivity(system: str, config: Any, timeout: float = 5.0) -> Result:
    origins = _origins(config)
    if not origins:
        return Result(system, "connectivity", SKIP, "no URL in the config (a local system)")
    bad, good = [], []
    for host, port, url in origins:
        t0 = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=timeout):
                good.append(f"{url} ({(time.perf_counter() - t0) * 1000:.0f} ms)")
        except OSError as exc:
            bad.append(f"{url}: {exc.strerror or exc}")
    if bad:
        return Result(system, "connectivity", FAIL, "; ".join(bad))
    insecure = [u for h, _p, u in origins if u.startswith("http://") and h not in ("127.0.0.1", "localhost", "::1")]
    if insecure:
        return Result(system, "connectivity", WARN, f"reachable, but not over TLS: {', '.join(insecure)}")
    return Result(system, "connectivity", OK, "reachable: " + ", ".join(good))


def diagnose(project: Any, systems: list[str] | None = None) -> list[Result]:
    from concord.hub.cli.checks import WRITES_NEW, expected_external_id
    from concord.hub.engine.context import RunContext
    from concord.hub.errors import HubError
    from concord.hub.http import HttpToolkit

    ctx = RunContext(project, None, HttpToolkit())
    results: list[Result] = []
    try:
        for system, scfg in project.config.systems.items():
            if systems and system not in systems:
                continue
            add = lambda check, status, detail, s=system: results.append(Result(s, check, status, detail))
            try:
                connector = ctx.connector(system)
                add("config", OK, f"connector {scfg.connector} ({scfg.role})")
            except Exception as exc:
                add("config", FAIL, _msg(exc))
                continue
            conn_res = connectivity(system, scfg.config)
            results.append(conn_res)
            if conn_res.status == FAIL:
                for c in ("credentials", "metadata", "permissions", "mappings"):
                    add(c, SKIP, "not reachable")
                continue
            try:
                connector.check()
                add("credentials", OK, "accepted")
            except HubError as exc:
                add("credentials", FAIL if exc.kind in ("auth", "configuration") else WARN, f"{exc.kind}: {_msg(exc)}")
                if exc.kind in ("auth", "configuration"):
                    for c in ("metadata", "permissions", "mappings"):
                        add(c, SKIP, "credentials refused")
                    continue
            except Exception as exc:
                add("credentials", FAIL, _msg(exc))
                continue
            # metadata: every entity this system takes part in
            entities = [(e, ecfg) for e, ecfg in project.config.entities.items() if system in ecfg.sources]
            specs: dict[str, Any] = {}
            meta_bad = []
            for entity, _ecfg in entities:
                try:
                    specs[entity] = ctx.spec(system, project.source_entity(entity, system))
                except Exception as exc:
                    meta_bad.append(f"{entity}: {_msg(exc)}")
            if meta_bad:
                add("metadata", FAIL, "; ".join(meta_bad))
            else:
                add("metadata", OK, ", ".join(f"{s.name} ({len(s.fields or ())} fields)" for s in specs.values())
                    or "no entity mapped")
            # permissions: what the metadata says Concord may do, against what the sync rules ask
            perm_fail, perm_warn, perm_ok = [], [], []
            for entity, ecfg in entities:
                spec = specs.get(entity)
                if spec is None:
                    continue
                caps = set(spec.capabilities)
                if "read" not in caps:
                    perm_fail.append(f"{spec.name}: not readable")
                for rule in ecfg.sync:
                    if rule.target != system:
                        continue
                    need = {"create", "update"} if rule.mode in WRITES_NEW else {"update"}
                    missing = sorted(need - caps - ({"create"} if "upsert" in caps else set()))
                    if missing:
                        perm_fail.append(f"{spec.name}: cannot {'/'.join(missing)} (sync rule {entity} -> {system}, "
                                         f"{rule.mode})")
                    want = expected_external_id(getattr(connector, "config", None), spec.name)
                    if rule.mode in WRITES_NEW and want and not spec.external_id_field:
                        perm_fail.append(f"{spec.name}: external-id field {want} is missing or not marked as one "
                                         f"(create it in {scfg.connector})")
                    elif rule.mode in WRITES_NEW and not want and not spec.external_id_field:
                        perm_warn.append(f"{spec.name}: no external-id field configured, so a create whose answer is "
                                         "lost cannot be found again")
                    else:
                        perm_ok.append(f"{spec.name}: {', '.join(sorted(caps & {'read', 'create', 'update', 'upsert', 'delete'}))}")
            if perm_fail:
                add("permissions", FAIL, "; ".join(perm_fail + perm_warn))
            elif perm_warn:
                add("permissions", WARN, "; ".join(perm_warn))
            else:
                add("permissions", OK, "; ".join(perm_ok) or "read only (no sync rule writes here)")
            # mappings against the metadata
            problems = []
            for entity, _ecfg in entities:
                spec = specs.get(entity)
                mapping = project.mappings.get((entity, system))
                if spec is None or mapping is None:
                    continue
                problems.extend(p.message for p in mapping.check_against(spec))
            if problems:
                add("mappings", FAIL, f"{len(problems)} problem(s): " + "; ".join(" ".join(p.split()) for p in problems[:5])
                    + (" ..." if len(problems) > 5 else ""))
            else:
                add("mappings", OK, f"{sum(1 for e, _ in entities if (e, system) in project.mappings)} mapping(s) fit "
                    "the metadata")
    finally:
        ctx.close()
    return results


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(config: str = ConfigOpt, json_out: bool = JsonOpt,
               system: list[str] = typer.Option(None, "--system", "-s", help="Only these systems.")) -> None:
        """Per system: connectivity, credentials, metadata, permissions and mappings. Exit 0 fine, 1 warnings, 2 failures."""
        from concord.hub.config import load_project

        setup_logging()
        project = guarded(lambda: load_project(config))
        unknown = [s for s in system or () if s not in project.config.systems]
        if unknown:
            err_console.print(f"[bold red]error[/]: unknown system {', '.join(unknown)}; known: "
                              f"{', '.join(project.config.systems)}")
            raise typer.Exit(2)
        results = diagnose(project, system or None)
        worst = max((RANK[r.status] for r in results), default=0)
        overall = {0: OK, 1: WARN, 2: FAIL}[worst]
        if json_out:
            per: dict[str, Any] = {}
            for r in results:
                d = per.setdefault(r.system, {"status": OK, "checks": []})
                d["checks"].append(r.as_dict())
                if RANK[r.status] > RANK[d["status"]]:
                    d["status"] = r.status
            print_json({"status": overall, "systems": per})
        else:
            table(f"concord doctor · {config}", ["system", "check", "status", "detail"],
                  [[r.system, r.check, r.status.upper() if r.status in (FAIL, WARN) else r.status, r.detail]
                   for r in results])
            counts = {s: sum(1 for r in results if r.status == s) for s in (OK, WARN, FAIL, SKIP)}
            console.print(f"{overall}: {counts[OK]} ok, {counts[WARN]} warning(s), {counts[FAIL]} failed, "
                          f"{counts[SKIP]} skipped", markup=False, highlight=False)
        raise typer.Exit(worst)
