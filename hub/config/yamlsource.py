"""YAML with line numbers: every config error names the file, the line and the key.

``load_yaml(path)`` returns a :class:`Located` document: plain Python data plus a
map from key paths (tuples of keys and list indexes) to 1-based line numbers.
``validation_error(exc, doc)`` turns a pydantic ``ValidationError`` into one
``ConfigError`` per problem, each pointing at the line of the offending key.

Hostile or broken input never gets past a ``ConfigError``, and is refused quickly: a file
larger than :data:`MAX_BYTES`, nesting deeper than :data:`MAX_DEPTH` (counted after aliases
are expanded), an alias that refers to itself, more than :data:`MAX_ALIASES` aliases, or
aliases that would expand to more than :data:`MAX_NODES` values (a "billion laughs" bomb).
The expanded size is computed on the composed node graph before anything is built.
"""
from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from concord.hub.errors import ConfigError

Path = tuple[Any, ...]

MAX_BYTES = 4 * 1024 * 1024      # a concord.yaml or a mapping is a few KiB; 4 MiB is far beyond any real one
MAX_DEPTH = 64                   # nesting levels (mappings and lists), after alias expansion
MAX_ALIASES = 1000               # `*name` references in one document
MAX_NODES = 100_000              # values in the document once every alias is expanded (a big mapping has a few thousand)


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


try:  # libyaml's parser, when PyYAML was built with it: ~10x faster events; composing stays in Python (below)
    from yaml._yaml import CParser as _EventSource
except ImportError:  # pragma: no cover - PyYAML without libyaml
    _EventSource = None


if _EventSource is not None:
    class _Base(_EventSource, Composer, SafeConstructor, Resolver):  # type: ignore[misc,valid-type]
        """libyaml parses; Python's Composer builds the nodes, so the limits below apply to every node."""

        def __init__(self, stream: str) -> None:
            _EventSource.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

        get_single_node = Composer.get_single_node
        compose_document = Composer.compose_document
        check_node = Composer.check_node
        get_node = Composer.get_node
else:  # pragma: no cover
    _Base = yaml.SafeLoader  # type: ignore[misc,assignment]


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """A safe loader that refuses duplicate keys (a common, silent YAML mistake) and hostile documents."""

    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self._file = file
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        # The composer recurses once per nesting level: stop before Python's recursion limit does.
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise ConfigError(f"more than {MAX_ALIASES} aliases (*name); refused (an alias bomb?)",
                                  file=self._file, line=event.start_mark.line + 1)
            return Composer.compose_node(self, parent, index)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ConfigError(f"more than {MAX_NODES} values in one document; refused", file=self._file,
                              line=event.start_mark.line + 1)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise ConfigError(f"nested deeper than {MAX_DEPTH} levels; refused", file=self._file,
                                      line=event.start_mark.line + 1)
                return Composer.compose_node(self, parent, index)
            finally:
                self._depth -= 1
        return Composer.compose_node(self, parent, index)


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse recursive aliases, and documents whose aliases expand too far, before building anything.

    Aliases make the composed document a graph that shares nodes; this walks it once, memoising
    each node's expanded size and depth (saturated at the limits), and finds cycles.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    # iterative post-order walk: no recursion, whatever the shape
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = min(MAX_NODES + 1, 1 + sum(size[id(k)] for k in kids))
            depth[key] = min(MAX_DEPTH + 1, 1 + max((depth[id(k)] for k in kids), default=0)) \
                if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) else 0
            if size[key] > MAX_NODES:
                raise ConfigError(f"aliases expand to more than {MAX_NODES} values; refused (an alias bomb?)",
                                  file=file, line=node.start_mark.line + 1)
            if depth[key] > MAX_DEPTH:
                raise ConfigError(f"nested deeper than {MAX_DEPTH} levels once aliases are expanded; refused",
                                  file=file, line=node.start_mark.line + 1)
            continue
        if key in size:
            continue
        if key in on_path:
            raise ConfigError("an alias refers to the node that contains it (a recursive alias); refused",
                              file=file, line=node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise ConfigError("an alias refers to the node that contains it (a recursive alias); refused",
                                  file=file, line=kid.start_mark.line + 1)
            if id(kid) not in size:
                stack.append((kid, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _construct(loader: _Loader, node: yaml.Node, path: Path, lines: dict[Path, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)
        merged = len(node.value) - own      # `<<: *base` entries come first; the mapping's own keys override them
        out: dict[Any, Any] = {}
        from_merge: set[Any] = set()
        for i, (knode, vnode) in enumerate(node.value):
            key = _scalar(loader, knode, file, path)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ConfigError("mapping keys must be scalars", file=file, line=knode.start_mark.line + 1)
            if i < merged:
                from_merge.add(key)
            elif key in out and key not in from_merge:
                raise ConfigError(f"duplicate key {key!r}", file=file, line=knode.start_mark.line + 1,
                                  key=_dotted(path + (key,)))
            else:
                from_merge.discard(key)
            lines[path + (key,)] = knode.start_mark.line + 1
            out[key] = _construct(loader, vnode, path + (key,), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, child, path + (i,), lines, file) for i, child in enumerate(node.value)]
    return _scalar(loader, node, file, path)


def _scalar(loader: _Loader, node: yaml.Node, file: str, path: Path) -> Any:
    """Build a scalar (or a key); a value its tag cannot hold (``!!int abc``, ``2026-13-45``) is a ConfigError."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, AttributeError, OverflowError):
        # the value itself is not repeated: it may be a secret written in the wrong place
        tag = node.tag.rsplit(":", 1)[-1]
        raise ConfigError(f"not a valid {tag} value (quote it if it is meant as text)", file=file,
                          line=node.start_mark.line + 1, key=_dotted(path) or None) from None


def parse_yaml(text: str, file: str) -> Located:
    """Parse YAML text; syntax errors become a ConfigError with the line and column."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB; refused", file=file)
    try:
        loader = _Loader(text, file)
        try:
            node = loader.get_single_node()
            lines: dict[Path, int] = {}
            if node is not None:
                _check_expansion(node, file)
            data = _construct(loader, node, (), lines, file) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context
        if problem and "maximum nesting depth" in problem:     # libyaml's own cap (1000) came first
            raise ConfigError(f"nested deeper than {MAX_DEPTH} levels; refused", file=file, line=line) from None
        raise ConfigError(f"invalid YAML{col}: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    return Located(data, file, lines)


def load_yaml(path: str | os.PathLike[str]) -> Located:
    file = os.fspath(path)
    try:
        with open(file, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ConfigError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB; refused", file=file)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=file) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text: {exc.reason} at byte {exc.start}", file=file, line=line) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or type(exc).__name__}", file=file) from None
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


@functools.lru_cache(maxsize=256)
def _packaged(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_packaged(text: str) -> Any:
    """YAML that ships inside the package (scenario packs, vendor starters, shipped mappings): trusted, parsed by
    libyaml once per distinct text, a fresh copy for each caller. Users' files go through :func:`load_yaml`."""
    return copy.deepcopy(_packaged(text))
