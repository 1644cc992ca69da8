"""``--responses FILE``: existing model outputs to grade instead of calling a model (README "Options").

One JSON object a line: ``{"id": ..., "response": "..."}``, or ``{"id": ...,
"responses": ["...", ...]}`` for multi-turn items (one string per turn). Other keys are
ignored. Every problem is one :class:`ConfigError` line naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchgate.errors import ConfigError, NotUtf8, decode_utf8

SHAPE = "expected a JSON object with 'id' and 'response' (or 'responses': a list of strings)"


def _what(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def load_responses(path: Path) -> dict[str, list[str]]:
    """Read a ``--responses`` JSONL file into ``{item id: [response, ...]}``.

    Raises :class:`ConfigError` (one line naming the file and line) for an unreadable,
    non-UTF-8 or empty file, a malformed line, an id that is not a string or integer, a
    duplicate id (naming both lines), and a ``null`` or non-string response.
    """
    where = f"--responses {path}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: {exc.strerror or exc}") from None
    try:
        text = decode_utf8(data)
    except NotUtf8 as bad:
        raise ConfigError(f"{where}:{bad.line}: not UTF-8 text (byte 0x{bad.byte:02x}); "
                          "write the file as UTF-8") from None
    out: dict[str, list[str]] = {}
    first: dict[str, int] = {}
    # "\n" only: str.splitlines() also breaks on U+2028, U+0085 etc. inside JSON strings
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        at = f"{where}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{at}: malformed JSON ({exc.msg} at column {exc.colno}); "
                              f"{SHAPE}") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{at}: got {_what(row)}; {SHAPE}")
        if "id" not in row:
            raise ConfigError(f"{at}: no 'id'; {SHAPE}")
        ident = row["id"]
        if isinstance(ident, bool) or not isinstance(ident, str | int):
            raise ConfigError(f"{at}: 'id' is {_what(ident)}, expected a string or an integer")
        key = str(ident)
        if ("response" in row) == ("responses" in row):
            raise ConfigError(f"{at}: id {key!r}: give exactly one of 'response' or 'responses'")
        if "response" in row:
            texts = [row["response"]]
            if not isinstance(row["response"], str):
                raise ConfigError(f"{at}: id {key!r}: 'response' is {_what(row['response'])}, "
                                  "expected a string")
        else:
            texts = row["responses"]
            if not isinstance(texts, list) or not texts:
                raise ConfigError(f"{at}: id {key!r}: 'responses' is {_what(texts)}, expected a "
                                  "non-empty list of strings")
            for i, value in enumerate(texts):
                if not isinstance(value, str):
                    raise ConfigError(f"{at}: id {key!r}: 'responses'[{i}] is {_what(value)}, "
                                      "expected a string")
        if key in first:
            raise ConfigError(f"{at}: duplicate id {key!r} (first on line {first[key]})")
        first[key] = n
        out[key] = list(texts)
    if not out:
        raise ConfigError(f"{where}: no responses in the file; {SHAPE}")
    return out


def unknown_ids(responses: Mapping[str, Any], dataset_ids: Iterable[object]) -> list[str]:
    """Ids in ``responses`` that are not among ``dataset_ids`` (compared as strings), in file
    order: outputs that will never be graded (a wrong file, or a different dataset version)."""
    known = {str(i) for i in dataset_ids}
    return [key for key in responses if key not in known]
