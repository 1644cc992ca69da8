"""The plain-data wire of the sandboxed children (part of the in-sandbox script).

Arguments and results cross between the checker and the candidate as plain data only.
Encoding (:func:`encode` / :func:`decode`): JSON whose strings are ``str``, ``null``/
``true``/``false`` are None/bools, JSON arrays are lists, and every other value is a
one-key object: ``{"i": hex}`` int, ``{"f": float.hex}`` float (inf and nan included),
``{"c": [re, im]}`` complex, ``{"b": hex}`` bytes, ``{"t": [...]}`` tuple, ``{"d": [[k, v],
...]}`` dict, ``{"s": [...]}`` set, ``{"fs": [...]}`` frozenset. Only exact builtin types are
encoded (subclasses are not plain data); decoding accepts nothing else. Frames
(:func:`send` / :func:`recv`) are a 4-byte big-endian length and the JSON text, at most
64 MiB.

Runs inside the sandbox as the first part of the script ``sandbox_process.child_source``
joins: stdlib only, nothing imported from benchgate.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_FRAME = 64 * 1024 * 1024


class PlainDataError(TypeError):
    """A value that is not plain data (or a malformed encoding of one)."""


def _passes_as_is(value: object, depth: int) -> bool:
    """Whether ``value`` is its own encoding (None, bool, str); raises when nested too deep."""
    if depth > 200:
        raise PlainDataError("nested too deeply")
    kind = type(value)
    return value is None or kind is bool or kind is str


def encode(value: object, depth: int = 0) -> object:
    """``value`` (exact builtin types only) as JSON-ready data; raises :class:`PlainDataError`."""
    if _passes_as_is(value, depth):
        return value
    kind = type(value)
    if kind is int:
        return {"i": format(value, "x")}  # type: ignore[arg-type]
    if kind is float:
        return {"f": float.hex(value)}  # type: ignore[arg-type]
    if kind is complex:
        return {"c": [float.hex(value.real), float.hex(value.imag)]}  # type: ignore[attr-defined]
    if kind is bytes:
        return {"b": bytes.hex(value)}  # type: ignore[arg-type]
    if kind is list:
        return [encode(v, depth + 1) for v in value]  # type: ignore[attr-defined]
    if kind is tuple:
        return {"t": [encode(v, depth + 1) for v in value]}  # type: ignore[attr-defined]
    if kind is dict:
        pairs: list[tuple[object, object]] = list(dict.items(value))  # type: ignore[arg-type]
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in pairs]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "fs": [encode(v, depth + 1) for v in value]}  # type: ignore[attr-defined]
    raise PlainDataError(f"{kind.__name__} is not plain data")


def _hexint(text: object) -> int:
    if type(text) is not str or not text or len(text) > 1_000_000:
        raise PlainDataError("malformed int")
    return int(text, 16)


def _hexfloat(text: object) -> float:
    if type(text) is not str or len(text) > 64:
        raise PlainDataError("malformed float")
    return float.fromhex(text)


def decode(data: object, depth: int = 0) -> Any:
    """The value :func:`encode` produced ``data`` from; anything else raises PlainDataError."""
    if _passes_as_is(data, depth):
        return data
    kind = type(data)
    if kind is list:
        return [decode(v, depth + 1) for v in data]  # type: ignore[attr-defined]
    if kind is not dict or len(data) != 1:  # type: ignore[arg-type]
        raise PlainDataError(f"malformed value of type {kind.__name__}")
    [(tag, body)] = data.items()  # type: ignore[attr-defined]
    try:
        if tag == "i":
            return _hexint(body)
        if tag == "f":
            return _hexfloat(body)
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
        if type(body) is not list:
            raise PlainDataError("malformed container")
        if tag == "c" and len(body) == 2:
            return complex(_hexfloat(body[0]), _hexfloat(body[1]))
        if tag == "t":
            return tuple(decode(v, depth + 1) for v in body)
        if tag == "s":
            return {decode(v, depth + 1) for v in body}
        if tag == "fs":
            return frozenset(decode(v, depth + 1) for v in body)
        if tag == "d":
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise PlainDataError("malformed dict")
                out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
            return out
    except (ValueError, OverflowError, TypeError) as exc:
        if isinstance(exc, PlainDataError):
            raise
        raise PlainDataError(f"malformed value: {exc}") from None
    raise PlainDataError(f"unknown tag {tag!r}")


def send(fd: int, message: object) -> None:
    """Write one frame (``message`` must already be JSON-ready)."""
    import json
    import os

    body = json.dumps(message, ensure_ascii=True, allow_nan=False).encode("ascii")
    if len(body) > MAX_FRAME:
        raise PlainDataError("message too large")
    view = memoryview(len(body).to_bytes(4, "big") + body)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int) -> bytes:
    import os

    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int) -> Any:
    """Read one frame; raises EOFError when the pipe closed, PlainDataError when malformed."""
    import json

    size = int.from_bytes(_read_exact(fd, 4), "big")
    if size > MAX_FRAME:
        raise PlainDataError("message too large")
    try:
        return json.loads(_read_exact(fd, size).decode("ascii"))
    except (ValueError, RecursionError) as exc:
        raise PlainDataError(f"malformed message: {exc}") from None
