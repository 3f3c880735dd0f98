"""``concord match train``: learn probabilistic rules from the project's own data and write the result
into ``concord.yaml`` (each rule's ``model:``), where a person reviews it like any other config change.

Data comes from export files (``--left``/``--right``) or from the warehouse: the last mapped canonical
record of every staged source record of the entity, across systems.
"""
from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from concord.hub.config.model import FSModel, MatchRule
from concord.hub.errors import ConfigError
from concord.hub.matching.em import Training, estimate
from concord.hub.warehouse import Warehouse
from concord.hub.warehouse.stores import staged


def warehouse_records(wh: Warehouse, entity: str, limit: int = 500_000) -> list[dict[str, Any]]:
    with wh.tx() as conn:
        out = staged.mapped_canonical(conn, entity, limit)
    if len(out) < 2:
        raise ConfigError(f"the warehouse holds {len(out)} mapped {entity} record(s); sync first, or train on "
                          f"exports with --left/--right")
    return out


def train_rules(rules: Sequence[MatchRule], left: Sequence[Mapping[str, Any]],
                right: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Training]:
    out = {}
    for rule in rules:
        try:
            out[rule.key_name] = estimate(rule, left, right)
        except ValueError as exc:
            raise ConfigError(f"rule {rule.key_name!r}: {exc}") from None
    return out


def model_data(model: FSModel) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    for f in [*data["fields"].values(), *data.get("groups", {}).values()]:
        f["m"] = [round(x, 6) for x in f["m"]]
        f["u"] = [round(x, 6) for x in f["u"]]
    return data


def write_models(config: str, entity: str, results: Mapping[str, Training], out: str | os.PathLike[str] | None) -> str:
    """Write the learned models into concord.yaml (comments and layout kept), or into ``out``."""
    if out is not None:
        import yaml

        doc = {entity: {name: model_data(t.model) for name, t in results.items()}}
        with open(out, "w", encoding="utf-8") as fh:
            yaml.safe_dump(doc, fh, sort_keys=False, allow_unicode=True, width=120)
        return str(out)
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    ry = YAML()
    ry.preserve_quotes = True
    ry.width = 4096
    with open(config, encoding="utf-8") as fh:
        doc = ry.load(fh)
    rules = doc["entities"][entity]["match"]
    found = set()
    for item in rules:
        name = item.get("name") or "+".join(item.get("fields") or [])
        if name not in results:
            continue
        data = model_data(results[name].model)
        node = CommentedMap()
        node["prior"] = data["prior"]
        fields = CommentedMap()
        for f, p in data["fields"].items():
            fp = CommentedMap()
            for k in ("levels", "m", "u"):
                seq = CommentedSeq(p[k])
                seq.fa.set_flow_style()
                fp[k] = seq
            fields[f] = fp
        node["fields"] = fields
        if data["tf"]:
            tf = CommentedMap()
            for f, t in data["tf"].items():
                tm = CommentedMap([("base", t["base"]), ("other", t["other"])])
                vals = CommentedMap(t["values"])
                vals.fa.set_flow_style()
                tm["values"] = vals
                tf[f] = tm
            node["tf"] = tf
        trained = CommentedMap(data["trained"])
        trained.fa.set_flow_style()
        node["trained"] = trained
        if getattr(item, "fa", None) is not None and item.fa.flow_style():
            item.fa.set_block_style()
        item["model"] = node
        found.add(name)
    missing = set(results) - found
    if missing:
        raise ConfigError(f"{config}: rule(s) {', '.join(sorted(missing))} not found under entities.{entity}.match")
    buf = io.StringIO()
    ry.dump(doc, buf)
    tmp = f"{config}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, config)
    return str(config)
