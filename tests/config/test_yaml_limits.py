"""Hostile YAML (alias bombs, recursive aliases, deep nesting, huge files) is refused quickly with a
ConfigError naming file:line, never a MemoryError, a RecursionError or a minute of CPU."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from concord.hub.config import load_project
from concord.hub.config.yamlsource import MAX_BYTES, load_yaml, parse_yaml
from concord.hub.errors import ConfigError
from concord.hub.mapping import load_mapping


def _bomb(levels: int = 9, width: int = 9) -> str:
    out = "lol0: &l0 [" + ", ".join(["lol"] * width) + "]\n"
    for i in range(1, levels):
        out += f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]\n"
    return out


def _refused(text: str, match: str) -> ConfigError:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=match) as exc:
        parse_yaml(text, "bad.yaml")
    assert time.perf_counter() - start < 2.0
    assert exc.value.file == "bad.yaml" and exc.value.line, exc.value
    return exc.value


def test_alias_bomb_is_refused_quickly() -> None:
    err = _refused(_bomb(), "aliases expand to more than")
    assert str(err).startswith("bad.yaml:")


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n",
                                  "a: &a\n  b:\n    - c: *a\n"])
def test_recursive_alias_is_refused(text: str) -> None:
    _refused(text, "recursive alias")


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n"])
def test_deep_nesting_is_refused(text: str) -> None:
    _refused(text, "nested deeper than 64")


def test_depth_counts_after_alias_expansion() -> None:
    text = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 40 + "*a" + "]" * 40 + "\n"
    _refused(text, "once aliases are expanded")


def test_too_many_aliases() -> None:
    _refused("a: &a 1\nb: [" + ", ".join(["*a"] * 1500) + "]\n", "more than 1000 aliases")


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: '" + b"x" * (MAX_BYTES + 10) + b"'\n")
    with pytest.raises(ConfigError, match="larger than") as exc:
        load_yaml(big)
    assert exc.value.file == str(big)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_bytes(b"a: 1\nb: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8") as exc:
        load_yaml(f)
    assert exc.value.line == 2


@pytest.mark.parametrize("text,key", [("x:\n  d: 2026-13-45\n", "x.d"), ("n: !!int abc\n", "n"),
                                      ("f: !!float nope\n", "f"), ("t: !!timestamp x\n", "t")])
def test_value_its_tag_cannot_hold(text: str, key: str) -> None:
    err = _refused(text, "not a valid")
    assert err.key == key


def test_secret_in_a_bad_tagged_value_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_yaml("password: !!int hunter2-secret\n", "c.yaml")
    assert "hunter2" not in str(exc.value)


def test_ordinary_anchors_and_merge_keys_still_work() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 1}\nchild:\n  <<: *b\n  x: 2\nlist: [*b, *b]\n", "ok.yaml")
    assert doc.data["child"] == {"x": 2, "y": 1}
    assert doc.data["list"] == [{"x": 1, "y": 1}] * 2
    assert doc.line(("child", "x")) == 4
    with pytest.raises(ConfigError, match="duplicate key 'x'"):
        parse_yaml("child:\n  x: 1\n  x: 2\n", "dup.yaml")


def test_bomb_in_a_mapping_file_and_in_concord_yaml(starter: Path) -> None:
    m = starter / "mappings/erp/account.yaml"
    m.write_text(m.read_text() + "\n" + _bomb())
    with pytest.raises(ConfigError, match=r"account\.yaml:\d+: aliases expand"):
        load_mapping(m)
    cfg = starter / "concord.yaml"
    cfg.write_text(cfg.read_text() + "\nx-bomb: &x [*x]\n")
    with pytest.raises(ConfigError, match=r"concord\.yaml:\d+: an alias refers"):
        load_project(cfg)
