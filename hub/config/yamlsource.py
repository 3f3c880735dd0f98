"""YAML with line numbers: every config error names the file, the line and the key.

``load_yaml(path)`` returns a :class:`Located` document: plain Python data plus a
map from key paths (tuples of keys and list indexes) to 1-based line numbers.
``validation_error(exc, doc)`` turns a pydantic ``ValidationError`` into one
``ConfigError`` per problem, each pointing at the line of the offending key.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from hub.errors import ConfigError

Path = tuple[Any, ...]


@dataclass
class Located:
    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Iterable[Any]) -> int | None:
        """Line of the deepest known prefix of ``path``."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def error(self, message: str, path: Iterable[Any] = ()) -> ConfigError:
        p = tuple(path)
        return ConfigError(message, file=self.file, line=self.line(p), key=_dotted(p) or None)


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a common, silent YAML mistake)."""


def _construct(loader: _Loader, node: yaml.Node, path: Path, lines: dict[Path, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ConfigError("mapping keys must be scalars", file=file, line=knode.start_mark.line + 1)
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", file=file, line=knode.start_mark.line + 1,
                                  key=_dotted(path + (key,)))
            lines[path + (key,)] = knode.start_mark.line + 1
            out[key] = _construct(loader, vnode, path + (key,), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, child, path + (i,), lines, file) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> Located:
    """Parse YAML text; syntax errors become a ConfigError with the line and column."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            lines: dict[Path, int] = {}
            data = _construct(loader, node, (), lines, file) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{col}: {exc.problem or exc.context}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    return Located(data, file, lines)


def load_yaml(path: str | os.PathLike[str]) -> Located:
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ConfigError("file not found", file=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=file) from None
    return parse_yaml(text, file)


def validation_errors(exc: ValidationError, doc: Located, prefix: Path = ()) -> list[ConfigError]:
    """One ConfigError per pydantic error, at the line of the key it concerns."""
    out = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
        elif err["type"] == "missing":
            msg = f"missing required key {loc[-1]!r}"
        elif "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], (dict, list)):
            msg = f"{msg} (got {err['input']!r})"
        out.append(doc.error(msg, loc))
    return out


def first_validation_error(exc: ValidationError, doc: Located, prefix: Path = ()) -> ConfigError:
    errs = validation_errors(exc, doc, prefix)
    if len(errs) == 1:
        return errs[0]
    head = errs[0]
    head.message += f" (and {len(errs) - 1} more: " + "; ".join(e.message for e in errs[1:4]) + ")"
    head.args = (head.message,)
    return head
