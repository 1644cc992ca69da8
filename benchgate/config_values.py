"""Checks of the models file's values: numbers, strings, sampling settings, endpoint URLs.

Each check returns the value it was given, or raises a one-line :class:`ConfigError` saying
where the value is, what was expected and (shortened) what was found. :data:`SAMPLING_CHECKS`
and :data:`SCALAR_CHECKS` map each sampling setting and each scalar model setting to its
check; :func:`check_url` refuses anything that is not a well-formed http(s) URL, naming the
reason (never ``ValueError``); :func:`check_keys` refuses a key that is not one of the valid
ones.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from benchgate.errors import ConfigError

_EXAMPLE_URL = "e.g. http://127.0.0.1:8000/v1"


def show_value(value: Any) -> str:
    """``repr(value)`` for a message, a mapping or a list named as such when long."""
    text = repr(value)
    if len(text) <= 60:
        return text
    return "a mapping" if isinstance(value, dict) else "a list" if isinstance(value, list) \
        else text[:57] + "..."


def expect_int(value: Any, where: str, minimum: int | None) -> int:
    """An integer (not a bool), at least ``minimum`` unless that is ``None``."""
    what = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, int) or \
            (minimum is not None and value < minimum):
        raise ConfigError(f"{where}: expected {what}, got {show_value(value)}")
    return value


def expect_number(value: Any, where: str, low: float | None = None, high: float | None = None,
                  *, positive: bool = False) -> float:
    """A finite number (not a bool) in [``low``, ``high``], or > 0 when ``positive``; as a float."""
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
        raise ConfigError(f"{where}: expected {what}, got {show_value(value)}")
    return float(value)


def expect_string(value: Any, where: str) -> str:
    """A string."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {show_value(value)}")
    return value


def expect_stop(value: Any, where: str) -> Any:
    """``stop``: a string or a non-empty list of strings."""
    if isinstance(value, str) or (isinstance(value, list) and value
                                  and all(isinstance(v, str) for v in value)):
        return value
    raise ConfigError(f"{where}: expected a string or a list of strings, got {show_value(value)}")


def expect_mapping(value: Any, where: str) -> dict[str, Any]:
    """A mapping."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {show_value(value)}")
    return value


SAMPLING_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "temperature": lambda v, w: expect_number(v, w, 0, 2),
    "top_p": lambda v, w: expect_number(v, w, 0, 1),
    "max_tokens": lambda v, w: expect_int(v, w, 1),
    "max_completion_tokens": lambda v, w: expect_int(v, w, 1),
    "seed": lambda v, w: expect_int(v, w, None),
    "stop": expect_stop,
    "presence_penalty": lambda v, w: expect_number(v, w, -2, 2),
    "frequency_penalty": lambda v, w: expect_number(v, w, -2, 2),
    "reasoning_effort": expect_string,
    "top_k": lambda v, w: expect_int(v, w, -1),
    "min_p": lambda v, w: expect_number(v, w, 0, 1),
    "repeat_penalty": lambda v, w: expect_number(v, w, 0),
    "grammar": expect_string,
    "response_format": expect_mapping,
    "chat_template_kwargs": expect_mapping,
}
SCALAR_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "concurrency": lambda v, w: expect_int(v, w, 1),
    "max_retries": lambda v, w: expect_int(v, w, 0),
    "request_timeout": lambda v, w: expect_number(v, w, positive=True),
    "max_response_bytes": lambda v, w: expect_int(v, w, 1),
    "rate_limit": lambda v, w: expect_number(v, w, positive=True),
    "system": lambda v, w: expect_string(v, w) or None,
}


def check_url(url: Any, where: str) -> str:
    """Return ``url`` without a trailing slash, or raise :class:`ConfigError` naming ``where``
    (never ``ValueError``: bad IPv6 hosts and ports are one line too)."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: {show_value(url)} is not an http(s) URL ({_EXAMPLE_URL})")

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


def check_keys(keys: Any, valid: tuple[str, ...], where: str) -> None:
    """Refuse the first of ``keys`` that is not in ``valid``, naming the valid ones."""
    for key in keys:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key {key!r} (valid: {', '.join(valid)})")
