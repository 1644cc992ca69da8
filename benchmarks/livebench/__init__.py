"""LiveBench benchmark. ``RELEASE`` is set from ``--livebench-release`` by this folder's conftest;
:func:`release` adds the ``BENCHGATE_LIVEBENCH_RELEASE`` fallback."""

from __future__ import annotations

import os
import re

from benchgate.errors import ConfigError

RELEASE: str | None = None
ENV = "BENCHGATE_LIVEBENCH_RELEASE"


def check_release(value: str) -> str:
    """``value`` when it is ``all`` or a YYYY-MM-DD date; ValueError otherwise."""
    if value != "all" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{value!r} is neither a release date (YYYY-MM-DD) nor 'all'")
    return value


def release() -> str | None:
    """The requested release: the option/ini (via conftest), then the env var; None = latest."""
    value = RELEASE or os.environ.get(ENV, "").strip() or None
    if value is None:
        return None
    try:
        return check_release(value)
    except ValueError as exc:
        raise ConfigError(f"{ENV}: {exc}") from None
