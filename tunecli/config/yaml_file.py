"""Reading a search-space file safely (size, encoding, YAML syntax, alias bombs and nesting), and the
command line's overrides of its settings.

Never executes tags; refuses at once what would expand out of proportion to the file's size.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tunecli.errors import SpaceError, TuneCliError, one_line, shorten

MAX_BYTES = 1_000_000
#: Values (scalars, lists, mappings) a file may expand to once aliases are followed: a base plus so many per byte.
MAX_NODES_BASE = 10_000
MAX_NODES_PER_BYTE = 4
#: Nesting levels of lists and mappings (a search-space file needs about 7).
MAX_DEPTH = 32


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely (never executes tags); errors name the file and line.

    Refused at once: files over ``MAX_BYTES``, binary and non-UTF-8 files, nesting deeper than
    ``MAX_DEPTH`` and aliases (``*name``) that expand the file out of proportion to its size.
    """
    path = Path(path)
    if not path.is_file():
        raise SpaceError("file not found" if not path.exists() else "not a file", source=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpaceError(f"cannot read: {exc.strerror}", source=str(path)) from None
    if len(data) > MAX_BYTES:
        raise SpaceError(f"file is {len(data)} bytes; a search-space file is at most {MAX_BYTES}", source=str(path))
    if b"\x00" in data:
        raise SpaceError("this is a binary file, not YAML", source=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpaceError(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8", source=str(path)) from None
    loaded = _parse_yaml(text, str(path), max_nodes=MAX_NODES_BASE + MAX_NODES_PER_BYTE * len(data))
    if loaded is None:
        raise SpaceError("the file is empty; see search_spaces/quickstart.yaml for an example", source=str(path))
    if not isinstance(loaded, dict):
        raise SpaceError(f"the top level must be a mapping of settings, got {type(loaded).__name__}", source=str(path))
    return loaded


def _parse_yaml(text: str, source: str, *, max_nodes: int) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_shape(node, source, max_nodes=max_nodes)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise SpaceError(f"invalid YAML: {_yaml_problem(exc)}", source=source, field=_yaml_line(exc)) from None
    except yaml.reader.ReaderError as exc:
        character = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise SpaceError(f"invalid YAML: unacceptable character #x{character:04x} at character {exc.position + 1} "
                         f"({exc.reason})", source=source) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        detail = getattr(exc, "reason", None) or (str(exc) if isinstance(exc, ValueError) else type(exc).__name__)
        raise SpaceError(f"invalid YAML: {shorten(one_line(detail), 120)}", source=source) from None
    finally:
        loader.dispose()


def _yaml_line(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"line {mark.line + 1}" if mark else "YAML"


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    detail = shorten(one_line(exc.problem or exc.context or "syntax error"), 120)
    if "nesting depth" in detail:  # libyaml's own limit
        detail = f"nested more than {MAX_DEPTH} levels deep; a search-space file needs fewer than 10"
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in detail:
        detail = f"{detail} (Python tags are never loaded; use plain YAML values)"
    return detail


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's where installed) whose value errors name the line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # int("9" * 5000), a 13th month, ...
            reason = str(exc).split(": value has")[0]  # Python's long text on int("9" * 5000) ends with advice
            raise yaml.constructor.ConstructorError(None, None, f"cannot read this value: {reason}", node.start_mark) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_shape(root: yaml.Node, source: str, *, max_nodes: int) -> None:
    """Refuse, before anything is built, alias bombs, recursive aliases and deep nesting.

    Each distinct node is visited once (aliases share nodes), so this costs the size of the file, not
    the size of what the aliases expand to.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            _check_limits(node, size[key], depth[key], source, max_nodes)
        elif key in entered and key not in size:
            raise SpaceError("an alias refers to a collection that contains it (a recursive value)", source=source,
                             field=f"line {node.start_mark.line + 1}")
        elif key not in size:
            entered.add(key)
            stack.append((node, True))
            stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def _check_limits(node: yaml.Node, size: int, depth: int, source: str, max_nodes: int) -> None:
    where = f"line {node.start_mark.line + 1}"
    if size > max_nodes:
        raise SpaceError(f"aliases (*name) expand this file to over {max_nodes:,} values, out of proportion to its "
                         "size; write the values out or use fewer aliases", source=source, field=where)
    if depth > MAX_DEPTH:
        raise SpaceError(f"nested more than {MAX_DEPTH} levels deep; a search-space file needs fewer than 10",
                         source=source, field=where)


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set dotted keys (``search.trials``) in a copy of ``raw``; ``None`` values are skipped.

    A key ending in ``+`` (``data.drop+``) extends the list the file gives instead of replacing it.
    """
    out = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = out
        *parents, leaf = dotted.removesuffix("+").split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if dotted.endswith("+") and isinstance(node.get(leaf), list):
            node[leaf] = [*node[leaf], *(v for v in value if v not in node[leaf])]
        else:
            node[leaf] = value
    return out


def blame_option(exc: TuneCliError, overrides: Mapping[str, Any], options: Mapping[str, str]) -> TuneCliError:
    """``exc`` about a setting the command line gave, told as the option's error (``--trials: ...``), else ``exc``.

    Args:
        exc: the error, whose field is its ``field`` or the start of its message (``search.trials: ...``).
        overrides: the dotted settings the command line gave (None: not given).
        options: the option of each dotted setting (``{"search.trials": "--trials"}``).
    """
    where, _, rest = (exc.field, "", exc.message) if exc.field else exc.message.partition(": ")
    for dotted, value in overrides.items():
        key = dotted.removesuffix("+")
        if value is not None and key in options and (where == key or where.startswith(f"{key}.")):
            return type(exc)(rest or exc.message, source=options[key])
    return exc
