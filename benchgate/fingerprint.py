"""What the server serves, as a digest: part of every cached response's identity.

A name, a served id and a revision say what the user *meant*; the fingerprint says what the
endpoint *is*. It digests the ``/v1/models`` card of the served id without its volatile fields
(``created``, ``permission``, ``object``), so vLLM's ``root`` and ``max_model_len`` and the
llama.cpp server's ``meta`` (file size, parameter and vocabulary counts) count, plus, where the
server has it (llama.cpp), ``/props``: the model path, a digest of the chat template and the
build. The simulator's fingerprint carries its accuracy and noise settings. Serving another
GGUF or checkpoint under the same name therefore changes the fingerprint, and no old answer is
replayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import aiohttp

VOLATILE = frozenset({"created", "permission", "object"})
PROPS = ("model_path", "build_info", "n_ctx")


def digest(data: Any) -> str:
    """A short SHA-256 of canonical JSON."""
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def card_of(models: Any, served: str | None) -> dict[str, Any]:
    """The served id's ``/v1/models`` entry without its volatile fields."""
    entries = models.get("data", []) if isinstance(models, dict) else []
    entry = next((m for m in entries if isinstance(m, dict) and m.get("id") == served), None)
    if entry is None and entries and isinstance(entries[0], dict):
        entry = entries[0]
    if entry is None:
        return {}
    return {k: v for k, v in sorted(entry.items()) if k not in VOLATILE}


def props_of(props: Any) -> dict[str, Any]:
    """The identifying part of llama.cpp's ``/props``."""
    if not isinstance(props, dict):
        return {}
    out: dict[str, Any] = {k: props[k] for k in PROPS if k in props}
    settings = props.get("default_generation_settings")
    if "n_ctx" not in out and isinstance(settings, dict) and "n_ctx" in settings:
        out["n_ctx"] = settings["n_ctx"]
    template = props.get("chat_template")
    if isinstance(template, str):
        out["chat_template_sha256"] = hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]
    return out


def make(card: dict[str, Any], props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The report's fingerprint entry: its parts and their digest (``extra``: e.g. the
    ``checkpoint`` directory a suite-started server was given)."""
    parts = {"card": card, "props": props, **extra}
    return {"digest": digest(parts), **parts}


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    try:
        async with session.get(url) as resp:
            if resp.status != 200:
                return None
            return json.loads(await resp.read())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def fetch(endpoint: str, served: str | None, api_key: str | None) -> dict[str, Any]:
    """The fingerprint of ``endpoint`` (a ``.../v1`` base URL) for the ``served`` id."""
    headers = {"Authorization": f"Bearer {api_key or 'EMPTY'}"}
    timeout = aiohttp.ClientTimeout(total=20)
    root = endpoint[:-3] if endpoint.endswith("/v1") else endpoint
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        models, props = await asyncio.gather(_get(session, f"{endpoint}/models"),
                                             _get(session, f"{root}/props"))
    return make(card_of(models, served), props_of(props))
