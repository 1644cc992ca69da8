"""Process-wide redaction of credentials from anything benchgate writes or prints.

Two layers:

- **registered secrets**: every configured ``api_key`` is passed to :func:`register_secret`;
  each occurrence is replaced by ``***`` (secrets of 8 characters or more wherever they occur,
  shorter ones only as a whole token, so a key such as ``test`` does not eat every "test").
- **credential shapes**, for keys nobody registered (a proxy echoing another header, a key
  in a URL): ``Bearer <token>``, ``Authorization: ...`` (also ``Proxy-Authorization``,
  ``X-Api-Key``, ``Api-Key``) as header lines or JSON/dict fields, OpenAI-style ``sk-...``
  keys, and ``api_key=...``-style query or JSON fields (``api_key``, ``apikey``,
  ``access_token``, ``auth_token``, ``client_secret``, ``secret_key``, ``password``).

The shapes are deliberately narrow so ordinary model answers pass through unchanged: a bearer
token must be 8+ token characters with a digit ("the bearer of bad news" stays), ``sk-`` needs
16+ key characters after it, and bare words such as "token" or "secret" are never touched.

:func:`redact` works on text, :func:`redact_obj` on JSON-like data (dicts, lists, tuples;
keys and values). Both are cheap when nothing matches.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"
_MIN_SUBSTRING = 8  # shorter secrets are replaced only as whole tokens

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None

_TOKEN = r"[A-Za-z0-9._~+/=-]"
_HEADER_NAMES = r"(?:proxy-)?authorization|x-api-key|api-key"
_FIELD_NAMES = (r"api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|"
                r"client[_-]?secret|secret[_-]?key|password")

# a credential-looking token: 8+ token characters with a digit, or 16+ of them
_CRED = rf"(?={_TOKEN}*\d|{_TOKEN}{{16}}){_TOKEN}{{8,}}"

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # "Authorization": "Bearer x", 'api_key': 'x', password = "x" (JSON, reprs, code)
    (re.compile(rf"""(?i)(["']?)\b({_HEADER_NAMES}|{_FIELD_NAMES})\1(\s*[:=]\s*)(["'])"""
                r"""(?:\\.|(?!\4)[^\\\n])+\4"""),
     rf"\1\2\1\3\4{MASK}\4"),
    # Authorization: Bearer x (a header line; "Authorization: the act of ..." stays)
    (re.compile(rf"(?i)\b({_HEADER_NAMES})(\s*:\s*)(?:(?:bearer|basic|token|digest)[ \t]+"
                rf"{_TOKEN}{{4,}}|(?:[A-Za-z][A-Za-z-]*[ \t]+)?{_CRED})"),
     rf"\1\2{MASK}"),
    # ?api_key=x&... / api_key: x / "password": 1234 (unquoted values, not code such as
    # api_key = os.environ["K"])
    (re.compile(rf"(?i)\b({_FIELD_NAMES})([\"']?\s*[:=]\s*)(?![\"'\s])"
                r"(?>[^\s&,;'\"<>(){}\[\]]{4,})(?![\[(])"),
     rf"\1\2{MASK}"),
    # Bearer <token> anywhere else
    (re.compile(rf"(?i)\b(bearer)(\s+){_CRED}"), rf"\1\2{MASK}"),
    # OpenAI / Anthropic-style keys: sk-..., sk-proj-..., sk-ant-...
    (re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}"), MASK),
)

# every spelling of _FIELD_NAMES (``a[_-]?b`` is ab, a_b, a-b): "prompt_tokens" or "keys" in
# ordinary text trigger nothing
_FIELD_TRIGGERS = (*(a + sep + b for a, b in (("api", "key"), ("access", "token"),
                                             ("auth", "token"), ("refresh", "token"),
                                             ("client", "secret"), ("secret", "key"))
                     for sep in ("", "_", "-")), "password")
# per shape: lower-case substrings without which it cannot match
_TRIGGERS: tuple[tuple[str, ...], ...] = (
    ("authorization", *_FIELD_TRIGGERS), ("authorization", "api-key"), _FIELD_TRIGGERS,
    ("bearer",), ("sk-",))
# every trigger once: most strings contain none, which rules out every shape at once
_ALL_TRIGGERS = tuple(sorted({t for ts in _TRIGGERS for t in ts}))
# fewer, shorter substrings, one of which is in every trigger: the first test of every scan
# (8 substring searches instead of 22; "token" and "key" are left out, as every record holds
# "prompt_tokens" and much text says "key")
_COARSE = ("access", "api", "auth", "bearer", "password", "refresh", "secret", "sk-")


def _may_match(low: str) -> bool:
    """Whether lower-cased text holds any trigger (and so may hold a credential shape)."""
    return any(c in low for c in _COARSE) and any(t in low for t in _ALL_TRIGGERS)


def register_secret(value: str | None) -> None:
    """Redact ``value`` from now on (every configured ``api_key``); empty values are ignored."""
    global _secret_re
    if not value or not value.strip():
        return
    value = value.strip()
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        parts = []
        for secret in sorted(_secrets, key=len, reverse=True):
            escaped = re.escape(secret)
            parts.append(escaped if len(secret) >= _MIN_SUBSTRING
                         else rf"(?<![A-Za-z0-9_-]){escaped}(?![A-Za-z0-9_-])")
        _secret_re = re.compile("|".join(parts))


def clear_secrets() -> None:
    """Forget every registered secret (for tests)."""
    global _secret_re
    with _lock:
        _secrets.clear()
        _secret_re = None


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-shaped substrings replaced by ``***``."""
    if not text:
        return text
    secret_re = _secret_re
    if secret_re is not None:
        text = secret_re.sub(MASK, text)
    low = text.lower()
    if not _may_match(low):  # substring tests are 10x cheaper than a regex
        return text
    for (pattern, replacement), triggers in zip(_SHAPES, _TRIGGERS, strict=True):
        if any(t in low for t in triggers):
            text = pattern.sub(replacement, text)
    return text


def redact_obj(value: Any) -> Any:
    """Apply :func:`redact` to every string in JSON-like data (dict keys too); other values
    unchanged. Containers with nothing to redact may come back as they are, not copied."""
    if isinstance(value, (dict, list)) and _nothing_to_redact(value):
        return value
    return _redact_tree(value)


def _nothing_to_redact(value: Any) -> bool:
    """One scan of all the strings, joined, instead of one per string (records hold ~60)."""
    strings: list[str] = []
    _strings(value, strings)
    blob = "\n".join(strings)  # no trigger or secret spans a newline it does not hold
    secret_re = _secret_re
    return not _may_match(blob.lower()) and (secret_re is None or secret_re.search(blob) is None)


def _strings(value: Any, out: list[str]) -> None:
    """Every string :func:`_redact_tree` would redact in ``value`` (dict keys too)."""
    # string leaves are appended inline, not by a call each: a record has ~35 of them
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                out.append(k)
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (dict, list, tuple)):
                _strings(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (dict, list, tuple)):
                _strings(v, out)


def _redact_tree(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {(redact(k) if isinstance(k, str) else k): _redact_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_tree(v) for v in value)
    return value
