"""The models file (README "models.yaml"): parsing, env expansion and validation.

Every problem is reported as a :class:`ConfigError` naming the file, the key (or line) and the
valid choices; the plugin turns it into ``pytest.UsageError`` (exit status 4).

``defaults`` are applied here, at parse time: every :class:`ModelSpec` already carries the
values a caller should use (a model's own value wins; ``sampling`` merges key by key, the
model's keys winning; ``null`` in a model's settings unsets a default). Reading the YAML
(duplicate keys, ``${ENV}``) is :mod:`benchgate.config_yaml`; the checks of single values
(numbers, sampling settings, URLs) are :mod:`benchgate.config_values`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.config_values import SAMPLING_CHECKS, SCALAR_CHECKS, check_keys, expect_number, show_value
from benchgate.config_values import check_url as check_url  # re-exported
from benchgate.errors import ConfigError
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


def _sampling(raw: Any, where: str) -> dict[str, Any]:
    """Validated sampling settings, values as given; ``null`` values are kept (they unset a
    default)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of {', '.join(SAMPLING_KEYS)}")
    check_keys(raw, SAMPLING_KEYS, where)
    for key, value in raw.items():
        if value is not None:
            SAMPLING_CHECKS[key](value, f"{where}.{key}")
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
        out[str(key).strip()] = expect_number(value, f"{where}.{key}")
    return out


def _defaults(raw: Any, path: Path, judges: dict[str, Any]) -> dict[str, Any]:
    where = f"{path}: defaults"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping (valid keys: {', '.join(DEFAULT_KEYS)})")
    check_keys(raw, DEFAULT_KEYS, where)
    out: dict[str, Any] = {}
    valid = ", ".join([SIM, *judges])

    def judge_name(value: Any, at: str) -> str:
        if not isinstance(value, str) or (value not in judges and value not in SIM_JUDGES):
            raise ConfigError(f"{at}: unknown judge {show_value(value)} (valid: {valid})")
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
            out[key] = SCALAR_CHECKS[key](raw[key], f"{where}.{key}")
    if raw.get("sampling") is not None:
        out["sampling"] = {k: v for k, v in _sampling(raw["sampling"], f"{where}.sampling").items()
                           if v is not None}
    return out


def _served(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where}: expected the served model name (a string), got {show_value(value)}")
    return str(value)


def _spec(name: str, raw: Any, where: str, *, judge: bool, defaults: dict[str, Any]) -> ModelSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with 'endpoint' or 'endpoints'")
    if not judge:
        for key in JUDGE_ONLY_KEYS:
            if key in raw:
                raise ConfigError(f"{where}.{key}: only judges take a {key}")
    check_keys(raw, JUDGE_KEYS if judge else MODEL_KEYS, where)
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
        raise ConfigError(f"{where}.revision: expected a string or a number, got {show_value(revision)}")
    fmt = raw.get("format")
    if fmt is not None and fmt not in JUDGE_FORMATS:
        raise ConfigError(f"{where}.format: {fmt!r} is not a judge format "
                          f"(valid: {', '.join(JUDGE_FORMATS)})")
    values: dict[str, Any] = {}
    inherited = MODEL_DEFAULTS if not judge else CLIENT_DEFAULTS
    for key in SCALAR_CHECKS:
        if key in raw:  # the model's own value wins, even null (= unset the default)
            values[key] = None if raw[key] is None else SCALAR_CHECKS[key](raw[key], f"{where}.{key}")
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
    from benchgate.config_yaml import expand_env, read_yaml  # PyYAML only when there is a file

    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with keys {', '.join(TOP_KEYS)}")
    check_keys(raw, TOP_KEYS, str(path))
    raw = expand_env(raw, "", path)
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
