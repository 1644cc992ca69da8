"""The models file (SPEC §4): parsing, env expansion and validation.

Every problem is reported as a :class:`ConfigError` naming the file, the key (or line) and the
valid choices; the plugin turns it into ``pytest.UsageError`` (exit status 4).

``defaults`` are applied here, at parse time: every :class:`ModelSpec` already carries the
values a caller should use (a model's own value wins; ``sampling`` merges key by key, the
model's keys winning; ``null`` in a model's settings unsets a default).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from benchgate.errors import ConfigError, NotUtf8, decode_utf8
from benchgate.serve_config import ServeSpec, Sweep, expand_sweeps, parse_serve
from benchgate.simjudge import SIM_JUDGES

MODEL_KEYS = ("endpoint", "endpoints", "model", "api_key", "revision", "concurrency",
              "sampling", "thresholds", "system", "request_timeout", "max_retries",
              "max_response_bytes", "serve", "checkpoints")
JUDGE_ONLY_KEYS = ("format", "rate_limit")
JUDGE_KEYS = (*MODEL_KEYS, *JUDGE_ONLY_KEYS)
JUDGE_FORMATS = ("fastchat", "prometheus", "pairwise")
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "seed", "stop", "presence_penalty",
                 "frequency_penalty", "max_completion_tokens", "reasoning_effort",
                 # server-specific extensions (llama.cpp, vLLM), sent as given
                 "top_k", "min_p", "repeat_penalty", "grammar", "response_format",
                 "chat_template_kwargs")
TOP_KEYS = ("models", "judges", "defaults")
DEFAULT_KEYS = ("judge", "judges", "concurrency", "sampling", "system", "max_retries",
                "request_timeout", "max_response_bytes")
# defaults that are client behaviour apply to judges too; sampling and system only to models
CLIENT_DEFAULTS = ("concurrency", "max_retries", "request_timeout", "max_response_bytes")
MODEL_DEFAULTS = (*CLIENT_DEFAULTS, "system")
SIM = "sim"
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_EXAMPLE_URL = "e.g. http://127.0.0.1:8000/v1"


@dataclass(frozen=True)
class ModelSpec:
    """One model (or judge) reachable through OpenAI-compatible endpoints.

    ``None`` means "not set in the models file" (the command line or the built-in default
    applies). ``system`` is a system prompt sent as the first message; ``max_response_bytes``
    caps a response's size; ``rate_limit`` (judges) is requests per second.
    """

    name: str
    endpoints: tuple[str, ...]
    served: str | None = None
    api_key: str | None = field(default=None, repr=False)
    revision: str | None = None
    concurrency: int | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    format: str | None = None
    system: str | None = None
    max_retries: int | None = None
    request_timeout: float | None = None
    max_response_bytes: int | None = None
    rate_limit: float | None = None
    source: str = "models file"
    serve: ServeSpec | None = None  # the suite starts this model's server (serve_config.py)
    checkpoint: str | None = None  # a sweep member's checkpoint directory

    def public(self) -> dict[str, Any]:
        """What may be written to reports: never the API key."""
        out = {"name": self.name, "served_model": self.served, "revision": self.revision,
               "endpoints": list(self.endpoints), "system": self.system}
        return out if self.checkpoint is None else {**out, "checkpoint": self.checkpoint}


@dataclass(frozen=True)
class ModelsFile:
    """A parsed models file (``defaults`` already applied to every spec)."""

    path: Path
    models: dict[str, ModelSpec]
    judges: dict[str, ModelSpec]
    defaults: dict[str, Any]
    sweeps: dict[str, Sweep] = field(default_factory=dict)  # checkpoints keys -> members

    @property
    def default_judges(self) -> list[str]:
        """``defaults.judges``, or ``[defaults.judge]``, or ``[]``."""
        if self.defaults.get("judges"):
            return list(self.defaults["judges"])
        judge = self.defaults.get("judge")
        return [] if judge is None else [judge]


# -- reading ------------------------------------------------------------------------------------
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


def _read_yaml(path: Path) -> Any:
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


def _expand(value: Any, where: str, path: Path) -> Any:
    if isinstance(value, str):
        return _expand_str(value, where, path)
    if isinstance(value, dict):
        return {k: _expand(v, _join(where, k), path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
    return value


# -- values -------------------------------------------------------------------------------------
def _show(value: Any) -> str:
    text = repr(value)
    if len(text) <= 60:
        return text
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) \
        else text[:57] + "..."


def _int(value: Any, where: str, minimum: int | None) -> int:
    what = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, int) or \
            (minimum is not None and value < minimum):
        raise ConfigError(f"{where}: expected {what}, got {_show(value)}")
    return value


def _number(value: Any, where: str, low: float | None = None, high: float | None = None, *,
            positive: bool = False) -> float:
    if positive:
        what = "a number > 0"
    elif low is not None and high is not None:
        what = f"a number in [{low:g}, {high:g}]"
    elif low is not None:
        what = f"a number >= {low:g}"
    else:
        what = "a number"
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and ((positive and value <= 0) or (low is not None and value < low)
               or (high is not None and value > high)):
        ok = False
    if not ok:
        raise ConfigError(f"{where}: expected {what}, got {_show(value)}")
    return float(value)


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {_show(value)}")
    return value


def _stop(value: Any, where: str) -> Any:
    if isinstance(value, str) or (isinstance(value, list) and value
                                  and all(isinstance(v, str) for v in value)):
        return value
    raise ConfigError(f"{where}: expected a string or a list of strings, got {_show(value)}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {_show(value)}")
    return value


_SAMPLING: dict[str, Callable[[Any, str], Any]] = {
    "temperature": lambda v, w: _number(v, w, 0, 2),
    "top_p": lambda v, w: _number(v, w, 0, 1),
    "max_tokens": lambda v, w: _int(v, w, 1),
    "max_completion_tokens": lambda v, w: _int(v, w, 1),
    "seed": lambda v, w: _int(v, w, None),
    "stop": _stop,
    "presence_penalty": lambda v, w: _number(v, w, -2, 2),
    "frequency_penalty": lambda v, w: _number(v, w, -2, 2),
    "reasoning_effort": _string,
    "top_k": lambda v, w: _int(v, w, -1),
    "min_p": lambda v, w: _number(v, w, 0, 1),
    "repeat_penalty": lambda v, w: _number(v, w, 0),
    "grammar": _string,
    "response_format": _mapping,
    "chat_template_kwargs": _mapping,
}
_SCALARS: dict[str, Callable[[Any, str], Any]] = {
    "concurrency": lambda v, w: _int(v, w, 1),
    "max_retries": lambda v, w: _int(v, w, 0),
    "request_timeout": lambda v, w: _number(v, w, positive=True),
    "max_response_bytes": lambda v, w: _int(v, w, 1),
    "rate_limit": lambda v, w: _number(v, w, positive=True),
    "system": lambda v, w: _string(v, w) or None,
}


def check_url(url: Any, where: str) -> str:
    """Return ``url`` without a trailing slash, or raise :class:`ConfigError` naming ``where``
    (never ``ValueError``: bad IPv6 hosts and ports are one line too)."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: {_show(url)} is not an http(s) URL ({_EXAMPLE_URL})")

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"{where}: {url!r} is not a valid URL: {reason} ({_EXAMPLE_URL})")

    if any(c.isspace() or ord(c) < 32 for c in url):
        raise bad("it contains whitespace")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL ({_EXAMPLE_URL})")
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    hostport = netloc.rpartition("@")[2]
    if not hostport:
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL ({_EXAMPLE_URL})")
    if hostport.startswith("["):
        m = re.fullmatch(r"\[([^\[\]]*)\](?::(.*))?", hostport)
        if m is None:
            raise bad("unclosed '[' in the host" if "]" not in hostport
                      else "malformed IPv6 host, e.g. http://[::1]:8000/v1")
        try:
            ipaddress.IPv6Address(m.group(1))
        except ValueError:
            raise bad(f"{m.group(1)!r} is not an IPv6 address") from None
        port = m.group(2)
    else:
        host, _, port_text = hostport.partition(":")
        port = port_text if ":" in hostport else None
        if "[" in host or "]" in host:
            raise bad("malformed host (brackets)")
        if port is not None and ":" in port:
            raise bad("IPv6 addresses go in brackets, e.g. http://[::1]:8000/v1")
        if not host:
            raise bad("no host")
    if port:  # "host:" (empty port) is allowed by RFC 3986
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise bad(f"port {port!r} is not a number 1-65535")
    try:  # the standard library's own checks, as a backstop
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise bad(str(exc)) from None
    if not parsed.netloc:
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL ({_EXAMPLE_URL})")
    return url.rstrip("/")


def _unknown(keys: Any, valid: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key {key!r} (valid: {', '.join(valid)})")


def _sampling(raw: Any, where: str) -> dict[str, Any]:
    """Validated sampling settings, values as given; ``null`` values are kept (they unset a
    default)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of {', '.join(SAMPLING_KEYS)}")
    _unknown(raw, SAMPLING_KEYS, where)
    for key, value in raw.items():
        if value is not None:
            _SAMPLING[key](value, f"{where}.{key}")
    return dict(raw)  # as written: 0 stays 0 (the request body and cache identity use it)


def _thresholds(raw: Any, where: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of benchmark.metric: min")
    out: dict[str, float] = {}
    for key, value in raw.items():
        bench, dot, metric = str(key).strip().partition(".")
        if not dot or not bench or not metric:
            raise ConfigError(f"{where}: {f'{key}={value}'!r} is not of the form "
                              "<benchmark>.<metric>=<min> (e.g. gsm8k.accuracy=0.6)")
        out[str(key).strip()] = _number(value, f"{where}.{key}")
    return out


def _defaults(raw: Any, path: Path, judges: dict[str, Any]) -> dict[str, Any]:
    where = f"{path}: defaults"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping (valid keys: {', '.join(DEFAULT_KEYS)})")
    _unknown(raw, DEFAULT_KEYS, where)
    out: dict[str, Any] = {}
    valid = ", ".join([SIM, *judges])

    def judge_name(value: Any, at: str) -> str:
        if not isinstance(value, str) or (value not in judges and value not in SIM_JUDGES):
            raise ConfigError(f"{at}: unknown judge {_show(value)} (valid: {valid})")
        return value

    if raw.get("judge") is not None and raw.get("judges") is not None:
        raise ConfigError(f"{where}: give one of 'judge' or 'judges', not both")
    if raw.get("judge") is not None:
        out["judge"] = judge_name(raw["judge"], f"{where}.judge")
    if raw.get("judges") is not None:
        names = raw["judges"]
        if not isinstance(names, list) or not names:
            raise ConfigError(f"{where}.judges: expected a non-empty list of judge names "
                              f"(valid: {valid})")
        out["judges"] = [judge_name(n, f"{where}.judges[{i}]") for i, n in enumerate(names)]
    for key in MODEL_DEFAULTS:
        if raw.get(key) is not None:
            out[key] = _SCALARS[key](raw[key], f"{where}.{key}")
    if raw.get("sampling") is not None:
        out["sampling"] = {k: v for k, v in _sampling(raw["sampling"], f"{where}.sampling").items()
                           if v is not None}
    return out


def _served(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where}: expected the served model name (a string), got {_show(value)}")
    return str(value)


def _spec(name: str, raw: Any, where: str, *, judge: bool, defaults: dict[str, Any]) -> ModelSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with 'endpoint' or 'endpoints'")
    if not judge:
        for key in JUDGE_ONLY_KEYS:
            if key in raw:
                raise ConfigError(f"{where}.{key}: only judges take a {key}")
    _unknown(raw, JUDGE_KEYS if judge else MODEL_KEYS, where)
    if judge and "checkpoints" in raw:
        raise ConfigError(f"{where}.checkpoints: only models take checkpoints")
    serve = None
    if "serve" in raw:  # endpoint optional (default http://127.0.0.1:{port}/v1), set at start
        if "endpoints" in raw:
            raise ConfigError(f"{where}: a served model has one 'endpoint' (or none), not "
                              "'endpoints'")
        serve = parse_serve(raw["serve"], f"{where}.serve", raw.get("endpoint"),
                            check_url=check_url)
    elif ("endpoint" in raw) == ("endpoints" in raw):
        raise ConfigError(f"{where}: give exactly one of 'endpoint' or 'endpoints' (or 'serve')")
    endpoints: tuple[str, ...]
    if serve is not None:
        endpoints = ()
    elif "endpoint" in raw:
        endpoints = (check_url(raw["endpoint"], f"{where}.endpoint"),)
    else:
        urls = raw["endpoints"]
        if not isinstance(urls, list) or not urls:
            raise ConfigError(f"{where}.endpoints: expected a non-empty list of URLs")
        endpoints = tuple(check_url(u, f"{where}.endpoints[{i}]") for i, u in enumerate(urls))
    served = name if raw.get("model") is None else _served(raw["model"], f"{where}.model")
    api_key = raw.get("api_key")
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigError(f"{where}.api_key: expected a string (quote it, or use ${{VAR}})")
    revision = raw.get("revision")
    if revision is not None and (isinstance(revision, bool)
                                 or not isinstance(revision, str | int | float)):
        raise ConfigError(f"{where}.revision: expected a string or a number, got {_show(revision)}")
    fmt = raw.get("format")
    if fmt is not None and fmt not in JUDGE_FORMATS:
        raise ConfigError(f"{where}.format: {fmt!r} is not a judge format "
                          f"(valid: {', '.join(JUDGE_FORMATS)})")
    values: dict[str, Any] = {}
    inherited = MODEL_DEFAULTS if not judge else CLIENT_DEFAULTS
    for key in _SCALARS:
        if key in raw:  # the model's own value wins, even null (= unset the default)
            values[key] = None if raw[key] is None else _SCALARS[key](raw[key], f"{where}.{key}")
        elif key in inherited:
            values[key] = defaults.get(key)
    own = _sampling(raw.get("sampling"), f"{where}.sampling")
    merged = {**(defaults.get("sampling", {}) if not judge else {}), **own}
    sampling = {k: v for k, v in merged.items() if v is not None}
    return ModelSpec(name=name, endpoints=endpoints, served=served,
                     api_key=api_key or None,
                     revision=None if revision is None else str(revision),
                     sampling=sampling, thresholds=_thresholds(raw.get("thresholds"),
                                                               f"{where}.thresholds"),
                     format=fmt, serve=serve, **values)


def load_models_file(path: Path) -> ModelsFile:
    """Parse and validate ``path``; raise :class:`ConfigError` with a one-line message."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with keys {', '.join(TOP_KEYS)}")
    _unknown(raw, TOP_KEYS, str(path))
    raw = _expand(raw, "", path)
    sections: dict[str, dict[Any, Any]] = {}
    for section in ("models", "judges"):
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: {section}: expected a mapping of name -> settings")
        for name in entries:
            if str(name) == SIM:
                raise ConfigError(f"{path}: {section}.{name}: the name 'sim' is reserved for the "
                                  "built-in simulator; choose another")
        sections[section] = entries
    defaults = _defaults(raw.get("defaults"), path, {str(n): None for n in sections["judges"]})
    out: dict[str, dict[str, ModelSpec]] = {
        section: {str(n): _spec(str(n), v, f"{path}: {section}.{n}", judge=section == "judges",
                                defaults=defaults)
                  for n, v in entries.items()}
        for section, entries in sections.items()}
    models, sweeps = expand_sweeps(out["models"], sections["models"], path)
    return ModelsFile(path=path, models=models, judges=out["judges"], defaults=defaults,
                      sweeps=sweeps)


def parse_threshold(text: str, where: str = "--threshold") -> tuple[str, float]:
    """Parse ``benchmark.metric=MIN``."""
    key, sep, value = text.partition("=")
    bench, dot, metric = key.strip().partition(".")
    try:
        minimum = float(value)
    except ValueError:
        minimum = float("nan")
    if not sep or not dot or not bench or not metric or not math.isfinite(minimum):
        raise ConfigError(f"{where}: {text!r} is not of the form <benchmark>.<metric>=<min> "
                          "(e.g. gsm8k.accuracy=0.6)")
    return key.strip(), minimum


def pick(kind: str, name: str, table: dict[str, ModelSpec], path: Path) -> ModelSpec:
    """Look ``name`` up in a models-file section, naming the valid choices when absent."""
    if name in table:
        return table[name]
    choices = ", ".join(["sim", *sorted(table)])
    raise ConfigError(f"unknown {kind} {name!r} in {path} (valid: {choices})")
