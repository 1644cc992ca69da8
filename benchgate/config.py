"""The models file (SPEC §4): parsing, env expansion and validation.

Every problem is reported as a :class:`ConfigError` naming the file, the key and the valid
choices; the plugin turns it into ``pytest.UsageError`` (exit status 4).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from benchgate.errors import ConfigError

MODEL_KEYS = ("endpoint", "endpoints", "model", "api_key", "revision", "concurrency",
              "sampling", "thresholds", "format", "request_timeout", "max_retries")
JUDGE_FORMATS = ("fastchat", "prometheus", "pairwise")
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "seed", "stop", "presence_penalty",
                 "frequency_penalty", "max_completion_tokens", "reasoning_effort",
                 # server-specific extensions (llama.cpp, vLLM), sent as given
                 "top_k", "min_p", "repeat_penalty", "grammar", "response_format",
                 "chat_template_kwargs")
TOP_KEYS = ("models", "judges", "defaults")
DEFAULT_KEYS = ("judge", "concurrency", "sampling")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class ModelSpec:
    """One model (or judge) reachable through OpenAI-compatible endpoints."""

    name: str
    endpoints: tuple[str, ...]
    served: str | None = None
    api_key: str | None = field(default=None, repr=False)
    revision: str | None = None
    concurrency: int | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    format: str | None = None
    source: str = "models file"

    def public(self) -> dict[str, Any]:
        """What may be written to reports: never the API key."""
        return {"name": self.name, "served_model": self.served, "revision": self.revision,
                "endpoints": list(self.endpoints)}


@dataclass(frozen=True)
class ModelsFile:
    """A parsed models file."""

    path: Path
    models: dict[str, ModelSpec]
    judges: dict[str, ModelSpec]
    defaults: dict[str, Any]


def _expand(value: Any, where: str, path: Path) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(f"{path}: {where}: environment variable {name} is not set")
        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]", path) for i, v in enumerate(value)]
    return value


def check_url(url: Any, where: str) -> str:
    """Return ``url`` without a trailing slash, or raise naming ``where``."""
    parsed = urlparse(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{where}: {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)")
    return str(url).rstrip("/")


def _unknown(keys: Any, valid: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key {key!r} (valid: {', '.join(valid)})")


def _spec(name: str, raw: Any, where: str, *, judge: bool) -> ModelSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with 'endpoint' or 'endpoints'")
    _unknown(raw, MODEL_KEYS, where)
    if ("endpoint" in raw) == ("endpoints" in raw):
        raise ConfigError(f"{where}: give exactly one of 'endpoint' or 'endpoints'")
    urls = [raw["endpoint"]] if "endpoint" in raw else raw["endpoints"]
    if not isinstance(urls, list) or not urls:
        raise ConfigError(f"{where}.endpoints: expected a non-empty list of URLs")
    endpoints = tuple(check_url(u, f"{where}.endpoint") for u in urls)
    conc = raw.get("concurrency")
    if conc is not None and (not isinstance(conc, int) or isinstance(conc, bool) or conc < 1):
        raise ConfigError(f"{where}.concurrency: expected a positive integer, got {conc!r}")
    sampling = raw.get("sampling") or {}
    if not isinstance(sampling, dict):
        raise ConfigError(f"{where}.sampling: expected a mapping")
    _unknown(sampling, SAMPLING_KEYS, f"{where}.sampling")
    thresholds = raw.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{where}.thresholds: expected a mapping of benchmark.metric: min")
    for key, value in thresholds.items():
        parse_threshold(f"{key}={value}", f"{where}.thresholds")
    fmt = raw.get("format")
    if fmt is not None and fmt not in JUDGE_FORMATS:
        raise ConfigError(f"{where}.format: {fmt!r} is not a judge format "
                          f"(valid: {', '.join(JUDGE_FORMATS)})")
    if fmt is not None and not judge:
        raise ConfigError(f"{where}.format: only judges take a format")
    api_key = raw.get("api_key")
    return ModelSpec(name=name, endpoints=endpoints, served=str(raw.get("model", name)),
                     api_key=str(api_key) if api_key else None,
                     revision=None if raw.get("revision") is None else str(raw["revision"]),
                     concurrency=conc, sampling=dict(sampling),
                     thresholds={k: float(v) for k, v in thresholds.items()}, format=fmt)


def load_models_file(path: Path) -> ModelsFile:
    """Parse and validate ``path``; raise :class:`ConfigError` with a one-line message."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read models file {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{at} malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with keys {', '.join(TOP_KEYS)}")
    _unknown(raw, TOP_KEYS, str(path))
    raw = _expand(raw, "", path)
    out: dict[str, dict[str, ModelSpec]] = {}
    for section in ("models", "judges"):
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: {section}: expected a mapping of name -> settings")
        out[section] = {str(n): _spec(str(n), v, f"{path}: {section}.{n}", judge=section == "judges")
                        for n, v in entries.items()}
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: defaults: expected a mapping")
    _unknown(defaults, DEFAULT_KEYS, f"{path}: defaults")
    judge = defaults.get("judge")
    if judge is not None and judge not in out["judges"] and judge != "sim":
        raise ConfigError(f"{path}: defaults.judge: unknown judge {judge!r} "
                          f"(valid: {', '.join(['sim', *out['judges']])})")
    return ModelsFile(path=path, models=out["models"], judges=out["judges"], defaults=defaults)


def parse_threshold(text: str, where: str = "--threshold") -> tuple[str, float]:
    """Parse ``benchmark.metric=MIN``."""
    key, sep, value = text.partition("=")
    bench, dot, metric = key.strip().partition(".")
    try:
        minimum = float(value)
    except ValueError:
        minimum = float("nan")
    if not sep or not dot or not bench or not metric or minimum != minimum:
        raise ConfigError(f"{where}: {text!r} is not of the form <benchmark>.<metric>=<min> "
                          "(e.g. gsm8k.accuracy=0.6)")
    return key.strip(), minimum


def pick(kind: str, name: str, table: dict[str, ModelSpec], path: Path) -> ModelSpec:
    """Look ``name`` up in a models-file section, naming the valid choices when absent."""
    if name in table:
        return table[name]
    choices = ", ".join(["sim", *sorted(table)])
    raise ConfigError(f"unknown {kind} {name!r} in {path} (valid: {choices})")
