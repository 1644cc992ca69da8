"""Reading the models file's YAML: duplicate keys refused, ``${ENV}`` references expanded.

:func:`read_yaml` loads one YAML document with PyYAML's safe loader, refusing a mapping key
given twice at any level (PyYAML silently keeps the last) and turning unreadable files, bytes
that are not UTF-8 and malformed YAML into a one-line :class:`ConfigError` naming the line.
:func:`expand_env` replaces ``${VAR}`` and ``${VAR:-default}`` in every string of the loaded
value (``$${`` is a literal ``${``), naming the key of a bad or unset reference.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from benchgate.errors import ConfigError, NotUtf8, decode_utf8

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _key_text(node: yaml.Node) -> tuple[str, str] | None:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:merge":
        return node.tag, str(node.value)
    return None


def _check_unique(node: yaml.Node, where: str, path: Path, seen: set[int]) -> None:
    """Refuse a mapping key given twice, at any level (PyYAML silently keeps the last)."""
    if id(node) in seen:  # aliases share nodes (and may be recursive)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            key = _key_text(key_node)
            line = key_node.start_mark.line + 1
            if key is not None:
                if key in first:
                    inside = f"in {where}" if where else "at the top level"
                    raise ConfigError(f"{path}: line {line}: duplicate key {key[1]!r} {inside} "
                                      f"(first on line {first[key]}); give each key once")
                first[key] = line
            label = key[1] if key is not None else "?"
            _check_unique(value_node, f"{where}.{label}" if where else label, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_unique(item, f"{where}[{i}]", path, seen)


def read_yaml(path: Path) -> Any:
    """The document in the models file ``path`` (``{}`` when empty), keys checked unique."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read models file {path}: {exc.strerror or exc}") from None
    try:
        text = decode_utf8(data)
    except NotUtf8 as bad:
        raise ConfigError(f"{path}: {bad}; save the models file as UTF-8") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_unique(node, "", path, set())
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{at} malformed YAML: {problem}") from None
    finally:
        loader.dispose()


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _expand_str(value: str, where: str, path: Path) -> str:
    """``${VAR}`` and ``${VAR:-default}``; ``$${`` is a literal ``${``; anything else that
    starts with ``${`` is refused."""
    out: list[str] = []
    pos = 0
    while (start := value.find("${", pos)) >= 0:
        if start > 0 and value[start - 1] == "$":  # "$${" -> literal "${"
            out.append(value[pos:start - 1] + "${")
            pos = start + 2
            continue
        m = _ENV.match(value, start)
        if m is None or "${" in (m.group(2) or ""):
            end = value.find("}", start)
            snippet = value[start:end + 1 if end >= 0 else len(value)]
            snippet = snippet if len(snippet) <= 40 else snippet[:37] + "..."
            raise ConfigError(f"{path}: {where}: malformed variable reference {snippet!r} "
                              "(use ${VAR} or ${VAR:-default}; $${ for a literal ${)")
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            sub = os.environ[name]
        elif default is not None:
            sub = default
        else:
            raise ConfigError(f"{path}: {where}: environment variable {name} is not set")
        out.append(value[pos:start] + sub)
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


def expand_env(value: Any, where: str, path: Path) -> Any:
    """``value`` with every string's variable references expanded (:func:`_expand_str`);
    ``where`` is the key path of ``value``, for messages."""
    if isinstance(value, str):
        return _expand_str(value, where, path)
    if isinstance(value, dict):
        return {k: expand_env(v, _join(where, k), path) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
    return value
