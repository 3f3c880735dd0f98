"""Write the demo project: concord.yaml for the running sandboxes, plus copies of the shipped mappings.

Secrets stay out of the file: each sandbox's ``connector_config`` already holds them as ``${ENV}``
references, and their values go into the process environment (``export_env``), never to disk.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from concord.hub.demo.profiles import CRM, CRM_OWNED, ERP, ERP_OWNED, MATCH_RULES, PROFILES, SYNC_FIELDS, Profile
from concord.hub.errors import ConfigError

#: the entities of the customer master (scenario 1) in the demo; its business flows: ``flows.add_flows``
CUSTOMER_MASTER = ("account", "contact")
#: the shipped mappings: package data of ``concord.mappings`` (the repository's ``mappings/`` folder)
SHIPPED_MAPPINGS = Path(str(resources.files("concord.mappings")))


def mappings_dir() -> Path:
    env = os.environ.get("CONCORD_MAPPINGS_DIR")
    return Path(env) if env else SHIPPED_MAPPINGS


def profile_for(connector: str) -> Profile:
    """The connector's demo profile; an unknown connector joins as a CRM with every mapping it ships."""
    if connector in PROFILES:
        return PROFILES[connector]
    folder = mappings_dir() / connector
    ents = tuple(sorted(p.stem for p in folder.glob("*.yaml") if p.stem in ("account", "contact")))
    return Profile(CRM, ents, {e: "upsert" for e in ents})


def copy_mappings(folder: Path, connector: str, entities: Sequence[str]) -> dict[str, str]:
    """Copy mappings/<connector>/<entity>.yaml into the demo folder; returns entity -> relative path."""
    out: dict[str, str] = {}
    for entity in entities:
        src = mappings_dir() / connector / f"{entity}.yaml"
        if not src.is_file():
            raise ConfigError(f"{connector}: no shipped mapping {src}")
        rel = Path("mappings") / connector / f"{entity}.yaml"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / rel)
        out[entity] = rel.as_posix()
    return out


def build_config(systems: Mapping[str, dict[str, Any]], mappings: Mapping[str, Mapping[str, str]], *,
                 warehouse: str = "sqlite:///concord.db", base: Path | None = None,
                 only: Sequence[str] | None = None) -> dict[str, Any]:
    """The concord.yaml document for ``systems`` (name -> {connector, config}) and their mappings (``only``: just
    these entities; the demo's business flows are added by ``flows.add_flows``).

    ERPs rank first (they own credit limit and payment terms), CRMs rank first for the fields they
    own (phone, owner); otherwise the latest change wins.
    """
    roles = {name: profile_for(s["connector"]).role for name, s in systems.items()}
    entities: dict[str, Any] = {}
    all_entities = sorted({e for m in mappings.values() for e in m if only is None or e in only},
                          key=lambda e: ("account", "product", "contact").index(e) if e in ("account", "product", "contact") else 9)
    for entity in all_entities:
        srcs = [n for n in systems if entity in mappings.get(n, {})]
        if len(srcs) < 2:
            continue  # nothing to link with
        erps = [n for n in srcs if roles[n] == ERP]
        crms = [n for n in srcs if roles[n] != ERP]
        fields: dict[str, Any] = {}
        for f in ERP_OWNED.get(entity, ()):
            if erps:
                fields[f] = {"strategy": "priority", "priority": erps + crms}
        for f in CRM_OWNED.get(entity, ()):
            if crms:
                ranked = crms + erps
                if f in ("phone", "mobile"):  # systems that store E.164 first, or formats ping-pong
                    ranked = sorted(ranked, key=lambda n: not _normalises_phone(mappings[n][entity], f, base))
                fields[f] = {"strategy": "latest", "priority": ranked}
        sync = []
        for n in srcs:
            mode = profile_for(systems[n]["connector"]).sync.get(entity)
            if mode:
                rule: dict[str, Any] = {"target": n, "mode": mode}
                fields_out = SYNC_FIELDS.get((roles[n], entity))
                if fields_out:
                    rule["fields"] = list(fields_out)
                sync.append(rule)
        entities[entity] = {
            "sources": {n: {"mapping": mappings[n][entity]} for n in srcs},
            "match": MATCH_RULES.get(entity, []),
            "survivorship": {"strategy": "latest", "priority": erps + crms, "fields": fields},
            "sync": sync,
        }
    return {
        "version": 1,
        "warehouse": warehouse,
        "systems": {n: {"connector": s["connector"], "role": roles[n] if roles[n] in (ERP, CRM) else "other",
                        "config": s["config"]} for n, s in systems.items()},
        "entities": entities,
    }


def _normalises_phone(rel: str, field_name: str, base: Path | None) -> bool:
    """Does this mapping read ``field_name`` through the ``phone`` transform (E.164)?"""
    path = (base / rel) if base else Path(rel)
    try:
        rule = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("fields", {}).get(field_name)
    except OSError:
        return False
    t = rule.get("transform") if isinstance(rule, dict) else None
    names = t if isinstance(t, list) else [t]
    return any(n == "phone" or (isinstance(n, dict) and "phone" in n) for n in names)


HEADER = """\
# The Concord demo project, written by `concord demo` for sandboxes running on loopback.
# Secrets are ${ENV} references; `concord demo` exported their values into its own process only.
# Next: concord dashboard -c {folder}/concord.yaml
"""


def write_config(folder: Path, doc: Mapping[str, Any]) -> Path:
    path = folder / "concord.yaml"
    text = yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=120)
    path.write_text(HEADER.replace("{folder}", str(folder)) + text, encoding="utf-8")
    return path


def export_env(values: Mapping[str, str]) -> None:
    """Put the sandboxes' secret values into this process's environment (never into a file)."""
    for k, v in values.items():
        os.environ[k] = v


def write_env_file(folder: Path, values: Mapping[str, str]) -> Path:
    """``sandbox.env`` (mode 0600): the sandbox-only credentials, for commands run after the demo.

    These are throwaway values of loopback sandboxes, never real credentials; concord.yaml keeps
    only the ``${ENV}`` references. ``. demo/sandbox.env`` exports them into a shell.
    """
    import shlex

    path = folder / "sandbox.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# Credentials of the demo's loopback sandboxes (sandbox-only values). Use: . sandbox.env\n")
        for k, v in sorted(values.items()):
            fh.write(f"export {k}={shlex.quote(v)}\n")
    return path
