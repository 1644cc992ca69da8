"""``serve:`` and ``checkpoints:`` in the models file: servers the suite starts, and sweeps.

A model (or judge) with ``serve: {command, ready_timeout, env}`` is started by the suite
(:mod:`benchgate.serve`). ``command`` is a string (split like a shell would, without a shell)
or a list; its placeholders are ``{port}`` (a free port the suite picks), ``{path}`` (the
checkpoint directory, only with ``checkpoints``) and ``{name}`` (the served model name);
``{{``/``}}`` are literal braces. ``endpoint`` defaults to ``http://127.0.0.1:{port}/v1``.

``checkpoints: GLOB`` (models only, with ``serve``) expands a model ``key`` to one model per
matching directory, ``<key>@<dirname>``, in natural order; a relative GLOB is relative to the
models file's folder.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchgate.errors import ConfigError
from benchgate.redact import register_secret

if TYPE_CHECKING:
    from benchgate.config import ModelSpec

PLACEHOLDERS = ("port", "path", "name")
SERVE_KEYS = ("command", "ready_timeout", "env")
DEFAULT_ENDPOINT = "http://127.0.0.1:{port}/v1"
DEFAULT_READY_TIMEOUT = 600.0
# serve.env values under names like these are credentials: redacted from everything written
_SECRET_NAME = re.compile(r"(?i)key|token|secret|password|passwd|credential|auth")


@dataclass(frozen=True)
class ServeSpec:
    """How to start a model's server: command tokens with placeholders, readiness timeout (s),
    extra environment, and the endpoint template (``{port}`` filled in at start)."""

    command: tuple[str, ...]
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    env: dict[str, str] = field(default_factory=dict, repr=False)
    endpoint: str = DEFAULT_ENDPOINT
    uses: frozenset[str] = frozenset()

    def argv(self, port: int, path: str | None, name: str) -> list[str]:
        """The command with its placeholders filled in."""
        values = {"port": str(port), "path": path or "", "name": name}
        return [token.format(**values) for token in self.command]

    def url(self, port: int) -> str:
        """The endpoint for a server on ``port``."""
        return self.endpoint.format(port=port)


def _fields(text: str, where: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(f"{where}: {text!r}: {exc} (write {{{{ and }}}} for literal braces)"
                          ) from None
    found: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise ConfigError(f"{where}: unknown placeholder {{{name}}} in {text!r} "
                              f"(valid: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
        found.add(name)
    return found


def parse_serve(raw: Any, where: str, endpoint: Any, *, check_url: Callable[[Any, str], str]
                ) -> ServeSpec:
    """Validate a ``serve`` mapping (and the model's ``endpoint``, which may use ``{port}``)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with 'command' (and ready_timeout, env)")
    for key in raw:
        if key not in SERVE_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (valid: {', '.join(SERVE_KEYS)})")
    command = raw.get("command")
    if isinstance(command, str):
        try:
            tokens = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"{where}.command: cannot split {command!r}: {exc}") from None
    elif isinstance(command, list) and all(isinstance(t, str | int | float) and
                                           not isinstance(t, bool) for t in command):
        tokens = [str(t) for t in command]
    else:
        raise ConfigError(f"{where}.command: expected a string or a list of strings")
    if not tokens:
        raise ConfigError(f"{where}.command: empty command")
    used: set[str] = set()
    for token in tokens:
        used |= _fields(token, f"{where}.command")
    timeout = raw.get("ready_timeout", DEFAULT_READY_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigError(f"{where}.ready_timeout: expected seconds > 0, got {timeout!r}")
    env_raw = raw.get("env") or {}
    if not isinstance(env_raw, dict) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in env_raw.values()):
        raise ConfigError(f"{where}.env: expected a mapping of NAME: value")
    env = {str(k): str(v) for k, v in env_raw.items()}
    for name, value in env.items():
        if _SECRET_NAME.search(name):
            register_secret(value)
    url = DEFAULT_ENDPOINT
    if endpoint is not None:
        ep_where = where.rsplit(".", 1)[0] + ".endpoint"
        if not isinstance(endpoint, str) or _fields(endpoint, ep_where) - {"port"}:
            raise ConfigError(f"{ep_where}: with serve, only {{port}} may appear in the endpoint")
        check_url(endpoint.replace("{port}", "8000"), ep_where)
        url = endpoint.rstrip("/")
    return ServeSpec(command=tuple(tokens), ready_timeout=float(timeout), env=env, endpoint=url,
                     uses=frozenset(used))


@dataclass(frozen=True)
class Sweep:
    """A ``checkpoints`` model: its key, GLOB and member model names in natural order."""

    key: str
    pattern: str
    members: tuple[str, ...]


def expand_sweeps(models: dict[str, ModelSpec], raw: dict[Any, Any], path: Path
                  ) -> tuple[dict[str, ModelSpec], dict[str, Sweep]]:
    """Replace every model with ``checkpoints`` by its sweep members, where the key stood.

    A GLOB that matches no directory gives a sweep without members: selecting it is the error.
    """
    out: dict[str, ModelSpec] = {}
    sweeps: dict[str, Sweep] = {}
    for name, spec in models.items():
        settings = raw.get(name)
        where = f"{path}: models.{name}"
        if not isinstance(settings, dict) or "checkpoints" not in settings:
            if spec.serve is not None and "path" in spec.serve.uses:
                raise ConfigError(f"{where}.serve.command: {{path}} is the checkpoint directory: "
                                  "it needs 'checkpoints: GLOB'")
            out[name] = spec
            continue
        pattern = settings["checkpoints"]
        if spec.serve is None:
            raise ConfigError(f"{where}.checkpoints: a sweep needs 'serve' (the suite starts one "
                              "server per checkpoint)")
        if not isinstance(pattern, str) or not pattern.strip():
            raise ConfigError(f"{where}.checkpoints: expected a glob pattern, e.g. "
                              "runs/sft/checkpoint-*")
        if "path" not in spec.serve.uses:
            raise ConfigError(f"{where}.serve.command: a sweep's command must use {{path}} (the "
                              "checkpoint directory), or every checkpoint serves the same weights")
        full = Path(os.path.expanduser(pattern))
        full = full if full.is_absolute() else path.resolve().parent / full
        dirs = [Path(p) for p in glob.glob(str(full)) if Path(p).is_dir()]
        members: list[str] = []
        from natsort import natsorted  # only a checkpoint sweep needs it (~30 ms to import)

        for directory in natsorted(dirs, key=lambda p: p.name):
            member = f"{name}@{directory.name}"
            if member in members:
                raise ConfigError(f"{where}.checkpoints: two directories are named "
                                  f"{directory.name!r}; {pattern!r} must match unique names")
            members.append(member)
            served = spec.served if settings.get("model") is not None else member
            out[member] = replace(spec, name=member, served=served,
                                  checkpoint=str(directory.resolve()))
        sweeps[name] = Sweep(name, pattern, tuple(members))
    return out, sweeps


def sweep_members(sweep: Sweep, path: Path) -> tuple[str, ...]:
    """The sweep's member names; :class:`ConfigError` when its GLOB matched no directory."""
    if not sweep.members:
        raise ConfigError(f"{path}: models.{sweep.key}.checkpoints: {sweep.pattern!r} matches no "
                          f"directory (a relative glob is relative to {path.resolve().parent})")
    return sweep.members
