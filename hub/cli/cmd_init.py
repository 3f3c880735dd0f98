"""concord init: the files starter, or a project for real systems (``--erp X --crm Y [--sandbox]``);
concord add system: one more system in an existing project."""
from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import typer

from concord.hub.cli.common import JsonOpt, console, err_console, guarded, print_json

add_app = typer.Typer(help="Add to an existing project.", no_args_is_help=True)

#: files of hub/starter that are not part of the files starter
NOT_COPIED = {"vendors.yaml"}


def _copy_starter(folder: str, force: bool) -> None:
    src = resources.files("concord.hub.starter")
    written, skipped = [], []
    os.makedirs(folder, exist_ok=True)

    def copy(node: Any, rel: str) -> None:
        for child in node.iterdir():
            name = child.name
            if name.startswith("__") or name.endswith((".pyc", ".py")) or (not rel and name in NOT_COPIED):
                continue
            target_rel = os.path.join(rel, name)
            target = os.path.join(folder, target_rel)
            if child.is_dir():
                os.makedirs(target, exist_ok=True)
                copy(child, target_rel)
                continue
            if os.path.exists(target) and not force:
                skipped.append(target_rel)
                continue
            with child.open("rb") as fin, open(target, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            written.append(target_rel)

    copy(src, "")
    for w in sorted(written):
        console.print(f"  wrote {w}")
    for s in sorted(skipped):
        err_console.print(f"  kept existing {s} (use --force to overwrite)")
    console.print("next: concord check && concord plan && concord sync")


def _print_todo(items: list[dict[str, Any]]) -> None:
    for it in items:
        console.print(f"[bold]{it['system']}[/] ({it['connector']}, {it['role']}):", highlight=False)
        for step in it["steps"]:
            console.print(f"  - {step}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(add_app, name="add")

    @app.command()
    def init(folder: str = typer.Argument(".", help="Where to write the project."),
             erp: str = typer.Option(None, "--erp", help="The ERP's connector (sap_odata, oracle_fusion, soap_erp)."),
             crm: str = typer.Option(None, "--crm", help="The CRM's connector (salesforce, zoho_crm, fxiaoke)."),
             sandbox: bool = typer.Option(False, "--sandbox", help="Wire the systems to local sandboxes "
                                          "(`concord sandbox up --project FOLDER` starts them)."),
             entity: list[str] = typer.Option(None, "--entity", "-e", help="Entities to sync (default: those "
                                              "both connectors are proven with, e.g. account)."),
             scenario: list[str] = typer.Option(None, "--scenario", "-s", help="A scenario pack (customer-master, "
                                                "catalogue, order-to-cash); repeat to combine. customer-master "
                                                "is implied by the others. See docs/scenarios.md."),
             force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
             json_out: bool = JsonOpt) -> None:
        """Write a project: the files starter, or with --erp/--crm one for real systems (or their sandboxes)."""
        if not erp and not crm:
            if sandbox or entity or scenario:
                err_console.print("[bold red]error[/]: --sandbox, --entity and --scenario need --erp and --crm")
                raise typer.Exit(2)
            _copy_starter(folder, force)
            return
        if not (erp and crm):
            err_console.print("[bold red]error[/]: give both --erp and --crm (or neither, for the files starter)")
            raise typer.Exit(2)
        from concord.hub.cli import scaffold

        root = Path(folder)
        cfg = root / "concord.yaml"
        if cfg.exists() and not force:
            err_console.print(f"[bold red]error[/]: {cfg} exists; use --force to overwrite it")
            raise typer.Exit(2)
        root.mkdir(parents=True, exist_ok=True)
        names = (erp, crm) if erp != crm else (f"{erp}_erp", f"{crm}_crm")
        if scenario:
            if entity:
                err_console.print("[bold red]error[/]: --scenario and --entity do not combine (a scenario names its "
                                  "entities)")
                raise typer.Exit(2)
            _init_scenario(root, folder, scenario, erp, crm, names, sandbox, json_out)
            return
        systems = [guarded(lambda: scaffold.plan_system(names[0], erp, role="erp", sandbox=sandbox, entities=entity)),
                   guarded(lambda: scaffold.plan_system(names[1], crm, role="crm", sandbox=sandbox, entities=entity))]
        doc, mappings = guarded(lambda: scaffold.build_project(systems, root))
        args = f" --erp {erp} --crm {crm}" + (" --sandbox" if sandbox else "")
        path = scaffold.write_config(root, doc, args)
        items = scaffold.todo(systems, mappings, root, doc)
        (root / "TODO.md").write_text(scaffold.render_todo(items, sandbox=sandbox, folder=folder), encoding="utf-8")
        _write_gitignore(root)
        if json_out:
            print_json({"config": str(path), "mappings": mappings, "entities": list(doc["entities"]),
                        "todo": items, "sandbox": sandbox})
            return
        console.print(f"wrote {path} ({', '.join(f'{s.name}: {s.connector}' for s in systems)}; "
                      f"entities: {', '.join(doc['entities'])})", markup=False, highlight=False)
        for s, ms in mappings.items():
            for e, rel in ms.items():
                console.print(f"  wrote {rel}", markup=False, highlight=False)
        _print_next(root, items, folder, sandbox)


def _init_scenario(root: Path, folder: str, scenario: list[str], erp: str, crm: str, names: tuple[str, str],
                   sandbox: bool, json_out: bool) -> None:
    import datetime as dt

    from concord.hub.cli import scaffold, scenario_packs

    guarded(lambda: [scenario_packs.load_pack(n) for n in scenario])          # an unknown pack: the known ones
    systems = [guarded(lambda: scaffold.plan_system(names[0], erp, role="erp", sandbox=sandbox, entities=["account"])),
               guarded(lambda: scaffold.plan_system(names[1], crm, role="crm", sandbox=sandbox, entities=["account"]))]
    golive = dt.date.today().isoformat()
    proj = guarded(lambda: scenario_packs.build_scenario_project(scenario, systems, root, golive=golive))
    for s in systems:
        s.entities = list(proj.mappings.get(s.name, {}))
    args = (" " + " ".join(f"--scenario {n}" for n in scenario) + f" --erp {erp} --crm {crm}"
            + (" --sandbox" if sandbox else ""))
    path = scaffold.write_config(root, proj.doc, args)
    items = scaffold.todo(systems, proj.mappings, root, proj.doc)
    todo_text = scaffold.render_todo(items, sandbox=sandbox, folder=folder)
    todo_text += "\n" + scenario_packs.render_missing(proj.missing) if proj.missing else ""
    (root / "TODO.md").write_text(todo_text, encoding="utf-8")
    docs = root / "scenarios"
    docs.mkdir(exist_ok=True)
    for n in proj.scenarios:
        (docs / f"{n}.md").write_text(resources.files("concord.hub.packs").joinpath(n, "README.md").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    _write_gitignore(root)
    if json_out:
        print_json({"config": str(path), "scenarios": proj.scenarios, "mappings": proj.mappings,
                    "entities": list(proj.doc["entities"]), "derivations": [d["name"] for d in proj.doc.get("derivations", ())],
                    "rollups": [r["name"] for r in proj.doc.get("rollups", ())], "missing": proj.missing,
                    "left_out": proj.left_out, "golive": golive, "todo": items, "sandbox": sandbox})
        return
    console.print(f"wrote {path} (scenarios: {', '.join(proj.scenarios)}; {', '.join(f'{s.name}: {s.connector}' for s in systems)}; "
                  f"entities: {', '.join(proj.doc['entities'])})", markup=False, highlight=False)
    for d in proj.doc.get("derivations", ()):
        console.print(f"  derivation {d['name']}: {d['from']} -> {d['to']} (go-live {golive})", markup=False,
                      highlight=False)
    for r in proj.doc.get("rollups", ()):
        console.print(f"  roll-up {r['name']}: {r['from']} -> {r['to']}", markup=False, highlight=False)
    for ms in proj.mappings.values():
        for rel in ms.values():
            console.print(f"  wrote {rel}", markup=False, highlight=False)
    console.print("  wrote scenarios/*.md (what each pack does and who owns which field)", markup=False,
                  highlight=False)
    if proj.missing:
        console.print(f"missing for {erp} + {crm} (left out; also in TODO.md):", markup=False, highlight=False)
        for m in proj.missing:
            console.print(f"  missing: {m}", markup=False, highlight=False)
    _print_next(root, items, folder, sandbox)


def _print_next(root: Path, items: Any, folder: str, sandbox: bool) -> None:
    """The TODO list written, then the commands to run next."""
    console.print(f"wrote {root / 'TODO.md'}:", markup=False, highlight=False)
    _print_todo(items)
    if sandbox:
        cd = f"cd {folder} && " if folder not in (".", "") else ""
        console.print(f"next: {cd}concord sandbox up --project . &   then: . ./sandbox.env && concord check && "
                      "concord sync", markup=False, highlight=False)
    else:
        console.print("next: set the variables above, then concord doctor && concord check && concord sync",
                      markup=False, highlight=False)


@add_app.command("system")
def add_system(name: str = typer.Argument(..., help="The new system's name in concord.yaml."),
               connector: str = typer.Option(..., "--connector", help="Its connector."),
               role: str = typer.Option(None, "--role", help="erp, crm or other (default: the connector's)."),
               sandbox: bool = typer.Option(False, "--sandbox", help="Wire it to a local sandbox."),
               entity: list[str] = typer.Option(None, "--entity", "-e"),
               config: str = typer.Option("concord.yaml", "--config", "-c", envvar="CONCORD_CONFIG"),
               json_out: bool = JsonOpt) -> None:
    """Add a system to concord.yaml: its config block (credentials as ${ENV}), mappings, sources and sync rules."""
    import yaml

    from concord.hub.cli import scaffold
    from concord.hub.demo.profiles import MATCH_RULES, SYNC_FIELDS
    from concord.hub.demo.project import profile_for

    path = Path(config)
    if not path.is_file():
        err_console.print(f"[bold red]error[/]: {path} not found; run `concord init` first")
        raise typer.Exit(2)
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if name in (doc.get("systems") or {}):
        err_console.print(f"[bold red]error[/]: system {name!r} already exists in {path}")
        raise typer.Exit(2)
    if role is not None and role not in ("erp", "crm", "other"):
        err_console.print("[bold red]error[/]: --role must be erp, crm or other")
        raise typer.Exit(2)
    plan = guarded(lambda: scaffold.plan_system(name, connector, role=role, sandbox=sandbox, entities=entity))
    root = path.parent
    doc.setdefault("systems", {})[name] = {"connector": connector, "role": plan.role, "config": plan.config}
    mappings: dict[str, str] = {}
    skipped: list[str] = []
    from concord.hub.demo.project import mappings_dir

    for e in plan.entities:
        ecfg = (doc.get("entities") or {}).get(e)
        if ecfg is None:
            skipped.append(e)
            continue
        rel = Path("mappings") / name / f"{e}.yaml"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes((mappings_dir() / connector / f"{e}.yaml").read_bytes())
        mappings[e] = rel.as_posix()
        ecfg.setdefault("sources", {})[name] = {"mapping": rel.as_posix()}
        ecfg.setdefault("match", MATCH_RULES.get(e, []))
        mode = profile_for(connector).sync.get(e)
        if mode:
            rule: dict[str, Any] = {"target": name, "mode": mode}
            fields = SYNC_FIELDS.get((plan.role, e))
            if fields:
                rule["fields"] = list(fields)
            ecfg.setdefault("sync", []).append(rule)
    backup = path.with_suffix(".yaml.bak")
    shutil.copyfile(path, backup)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    path.write_text(f"# Concord project (system {name} added by `concord add system`; the previous file is "
                    f"{backup.name})\n" + text, encoding="utf-8")
    items = scaffold.todo([plan], {name: mappings}, root, doc)
    todo_path = root / "TODO.md"
    with open(todo_path, "a", encoding="utf-8") as fh:
        fh.write("\n" + scaffold.render_todo(items, sandbox=sandbox, folder=".").split("\n", 2)[2])
    if json_out:
        print_json({"config": str(path), "system": name, "mappings": mappings, "skipped_entities": skipped,
                    "todo": items})
        return
    console.print(f"added {name} ({connector}, {plan.role}) to {path}; mappings: "
                  f"{', '.join(mappings.values()) or 'none'}", markup=False, highlight=False)
    if skipped:
        console.print(f"not added (no such entity in the project yet): {', '.join(skipped)}", markup=False)
    _print_todo(items)


GITIGNORE = "sandbox.env\n*.env\nconcord.db*\n.concord_index/\n"   # secrets, the warehouse, file drops' indexes


def _write_gitignore(root: Path) -> None:
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(GITIGNORE, encoding="utf-8")
