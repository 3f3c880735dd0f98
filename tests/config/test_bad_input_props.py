"""Property tests: whatever an integrator (or an attacker) writes into concord.yaml or a mapping, loading
either succeeds or raises ConfigError (never another exception), and ``concord check`` never prints a
traceback: it exits 0 for a config the loader accepts and 2 for one it refuses.

The inputs start from the real starter project (``concord init``) and mutate it: keys removed or renamed,
values replaced by other types, nulls, huge strings or deep nesting, lines cut or doubled, bytes that are
not UTF-8 spliced in, anchors and aliases, and random YAML documents.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from concord.hub.cli.app import app
from concord.hub.config import load_project
from concord.hub.errors import ConfigError
from concord.hub.mapping import load_mapping
from tests.conftest import run_cli

# CONCORD_PROPS_EXAMPLES raises the count for a longer hunt (the suite keeps each test to a few seconds)
EXAMPLES = int(os.environ.get("CONCORD_PROPS_EXAMPLES", "100"))
PROPS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])
MAPPINGS = ["mappings/crm/account.yaml", "mappings/erp/account.yaml", "mappings/crm/contact.yaml",
            "mappings/erp/contact.yaml"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("props") / "project"
    run_cli("init", str(folder))
    return folder


@pytest.fixture
def workdir(template: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the starter project for each test (examples within a test rewrite one file)."""
    folder = tmp_path / "p"
    shutil.copytree(template, folder)
    yield folder


# ---- strategies ------------------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["", "~", "${NOPE}", "${HOME}", "all", "upsert", "erp",
                                                           "crm", "account", "2026-13-45", "0x1F", "1e400", "-.inf"]))
values = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(st.text(max_size=10), kids, max_size=4)),
                      max_leaves=12)
huge = st.builds(lambda n, c: c * n, st.integers(10_000, 300_000), st.sampled_from(["x", "é", "[", "\\", " "]))


def deep(depth: int) -> Any:
    out: Any = "bottom"
    for i in range(depth):
        out = [out] if i % 2 else {"k": out}
    return out


def _paths(data: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, path + (i,))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for p in path[:-1]:
        data = data[p]
    return data


@st.composite
def tree_mutation(draw: st.DrawFn, doc: Any) -> Any:
    """Change the parsed document at one or more random places, then hand back the new tree."""
    data = yaml.safe_load(yaml.safe_dump(doc))     # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(data, path), path[-1]
        kind = draw(st.sampled_from(["delete", "null", "value", "huge", "deep", "rename", "extra", "wrap"]))
        if kind == "delete":
            del parent[last]
        elif kind == "null":
            parent[last] = None
        elif kind == "value":
            parent[last] = draw(values)
        elif kind == "huge":
            parent[last] = draw(huge)
        elif kind == "deep":
            parent[last] = deep(draw(st.integers(10, 200)))
        elif kind == "rename" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=12), st.integers(), st.booleans()))] = parent.pop(last)
        elif kind == "extra" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(values)
        elif kind == "wrap":
            parent[last] = [parent[last]] if draw(st.booleans()) else {"x": parent[last]}
    return data


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> bytes:
    """Damage the YAML text itself: cut, double or swap lines, splice characters or non-UTF-8 bytes in."""
    raw = text.encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        lines = raw.split(b"\n")
        kind = draw(st.sampled_from(["cut", "double", "swap", "splice", "bytes", "indent", "alias"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if kind == "cut":
            del lines[i]
        elif kind == "double":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, max(0, len(lines) - 1)))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            lines[i] = b" " * draw(st.integers(1, 7)) + lines[i]
        elif kind == "alias":
            lines.insert(i, draw(st.sampled_from([b"x-a: &a [*a]", b"x-b: *nothere", b"x-c: &c {<<: *c}",
                                                  b"<<: {version: 2}", b"x-d: !!python/object:os.system ls",
                                                  b"x-e: !!int abc", b"x-f: !!binary '@@@'", b"%YAML 9.9", b"---",
                                                  b"x-g: &g [1, 2]\nx-h: [*g, *g, *g]"])))
        raw = b"\n".join(lines)
        if kind == "splice":
            pos = draw(st.integers(0, len(raw)))
            raw = raw[:pos] + draw(st.text(max_size=8)).encode("utf-8", "surrogatepass") + raw[pos:]
        elif kind == "bytes":
            pos = draw(st.integers(0, len(raw)))
            raw = raw[:pos] + draw(st.binary(min_size=1, max_size=6)) + raw[pos:]
    return raw


def random_yaml() -> st.SearchStrategy[bytes]:
    docs = values.map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode("utf-8"))
    junk = st.text(alphabet=st.sampled_from(list("{}[]:,-?*&!|>'\"#%@` \n\tabc01.~$") + ["\u00e9", "\ufeff", "\x00"]),
                   max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
    return st.one_of(docs, junk, st.binary(max_size=200))


# ---- helpers -------------------------------------------------------------------------------------------

def _load_project(folder: Path) -> str:
    """'ok' or 'config-error'; anything else is a failure of the property."""
    try:
        load_project(folder / "concord.yaml", environ={"HOME": "/home/x"})
    except ConfigError as exc:
        assert str(exc)
        event("concord.yaml refused")
        return "config-error"
    event("concord.yaml loaded")
    return "ok"


def _load_mapping(path: Path) -> str:
    try:
        load_mapping(path)
    except ConfigError as exc:
        assert str(exc)
        event("mapping refused")
        return "config-error"
    event("mapping loaded")
    return "ok"


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000).encode("utf-8")


# ---- properties: the loader ----------------------------------------------------------------------------

@PROPS
@given(data=st.data())
def test_concord_yaml_tree_mutations_load_or_config_error(workdir: Path, template: Path, data: st.DataObject) -> None:
    cfg = workdir / "concord.yaml"
    original = yaml.safe_load((template / "concord.yaml").read_text(encoding="utf-8"))
    cfg.write_bytes(_dump(data.draw(tree_mutation(original))))
    _load_project(workdir)


@PROPS
@given(data=st.data())
def test_concord_yaml_text_mutations_load_or_config_error(workdir: Path, template: Path, data: st.DataObject) -> None:
    (workdir / "concord.yaml").write_bytes(data.draw(text_mutation((template / "concord.yaml").read_text("utf-8"))))
    _load_project(workdir)


@PROPS
@given(data=st.data(), which=st.sampled_from(MAPPINGS))
def test_mapping_tree_mutations_load_or_config_error(workdir: Path, template: Path, data: st.DataObject,
                                                     which: str) -> None:
    original = yaml.safe_load((template / which).read_text(encoding="utf-8"))
    (workdir / which).write_bytes(_dump(data.draw(tree_mutation(original))))
    _load_mapping(workdir / which)


@PROPS
@given(data=st.data(), which=st.sampled_from(MAPPINGS))
def test_mapping_text_mutations_load_or_config_error(workdir: Path, template: Path, data: st.DataObject,
                                                     which: str) -> None:
    (workdir / which).write_bytes(data.draw(text_mutation((template / which).read_text("utf-8"))))
    _load_mapping(workdir / which)


@PROPS
@given(raw=random_yaml(), target=st.sampled_from(["concord.yaml"] + MAPPINGS))
def test_random_yaml_anywhere_load_or_config_error(workdir: Path, template: Path, raw: bytes, target: str) -> None:
    (workdir / target).write_bytes(raw)
    try:
        _load_project(workdir) if target == "concord.yaml" else _load_mapping(workdir / target)
    finally:
        shutil.copy(template / target, workdir / target)


# ---- properties: the CLI -------------------------------------------------------------------------------

def _check(folder: Path) -> Any:
    old = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, ["check", "--offline"], env={"HOME": "/home/x", "CONCORD_CONFIG": None})
    finally:
        os.chdir(old)


@settings(PROPS, max_examples=max(1, EXAMPLES * 3 // 5))
@given(data=st.data(), target=st.sampled_from(["concord.yaml", "concord.yaml"] + MAPPINGS))
def test_concord_check_exits_0_or_2_without_traceback(workdir: Path, template: Path, data: st.DataObject,
                                                      target: str) -> None:
    original = (template / target).read_text("utf-8")
    how = data.draw(st.sampled_from(["tree", "text", "random"]))
    if how == "tree":
        raw = _dump(data.draw(tree_mutation(yaml.safe_load(original))))
    elif how == "text":
        raw = data.draw(text_mutation(original))
    else:
        raw = data.draw(random_yaml())
    (workdir / target).write_bytes(raw)
    try:
        expected = _load_project(workdir)
        res = _check(workdir)
        out = res.output
        assert res.exception is None or isinstance(res.exception, SystemExit), (res.exception, out)
        assert "Traceback" not in out, out
        assert res.exit_code == (0 if expected == "ok" else 2), (res.exit_code, expected, out)
        if expected != "ok":
            assert "error" in out
    finally:
        shutil.copy(template / target, workdir / target)


# ---- the real process, for the classic attacks -----------------------------------------------------------

def _bomb() -> str:
    out = "a: &l0 [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 10):
        out += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    return out


@pytest.mark.parametrize("payload", [_bomb().encode(), b"a: &a [*a]\n", b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n",
                                     b"version: 1\nsystems: \xff\xfe\n", b"\x00\x01\x02", b"a: b: c: d\n"])
def test_check_subprocess_refuses_attacks_in_one_line(workdir: Path, payload: bytes) -> None:
    (workdir / "concord.yaml").write_bytes(payload)
    proc = run_cli("check", "--offline", cwd=workdir, check=False, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "concord.yaml" in proc.stderr and proc.stderr.count("error") >= 1
