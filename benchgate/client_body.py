"""Reply bodies under a size cap: reading them, quoting them, recovering a cut one's message.

:func:`read_capped` reads a body incrementally and keeps at most ``cap`` bytes of it (a longer
one is cut there and its connection closed); :func:`snippet` is the redacted start of a body
quoted in an error message. A chat-completion body cut at the cap is not JSON any more:
:func:`recover_fields` and :func:`recover_content` find the first choice's ``content``,
reasoning and ``finish_reason`` in the prefix, decoding JSON escapes leniently up to the cut.
"""

from __future__ import annotations

import codecs
import json
import re

import aiohttp

from benchgate.redact import redact

ERROR_BODY_BYTES = 64 * 1024  # what is read of an error status's body
_CHUNK = 64 * 1024
_KEY = re.compile(rb'"(content|reasoning_content|reasoning|finish_reason)"\s*:\s*')
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*')
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")
_DECODE_CHUNK = 256 * 1024


async def read_capped(resp: aiohttp.ClientResponse, cap: int) -> tuple[bytearray | bytes, bool]:
    """The body, and whether it is complete; at most ``cap`` bytes are kept (read in 64 KiB
    chunks, so never more than ``cap`` + 64 KiB in memory). A body cut short closes the
    connection instead of reading the rest."""
    length = resp.content_length
    if length is not None and length <= cap and "Content-Encoding" not in resp.headers:
        return await resp.read(), True  # the common case, in one piece
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(_CHUNK):
        buf += chunk
        if len(buf) > cap:
            del buf[cap:]
            resp.close()
            return buf, False
    return buf, True


def snippet(body: bytes | bytearray) -> str:
    # redact the whole (capped) body before cutting it, so no secret is cut in half
    text = redact(bytes(body[:ERROR_BODY_BYTES]).decode("utf-8", "replace"))
    return text[:160].replace("\n", " ")


def _string_end(buf: bytearray | bytes, start: int) -> int:
    """Index of the closing quote of the JSON string body starting at ``buf[start]``, or
    ``len(buf)`` when the string is cut off."""
    match = _STRING_BODY.match(buf, start)
    end = match.end() if match else start
    return end if end < len(buf) and buf[end] == ord('"') else len(buf)


def _json_string(buf: bytearray | bytes, start: int, end: int, closed: bool) -> list[str]:
    """Decode the JSON string body ``buf[start:end]`` in pieces, leniently: when it is cut off
    (not ``closed``), a partial escape or UTF-8 sequence at the cut is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    view = memoryview(buf)
    pieces: list[str] = []
    pending = ""
    try:
        for pos in range(start, end, _DECODE_CHUNK):
            text = pending + decoder.decode(view[pos:min(end, pos + _DECODE_CHUNK)])
            cut = _complete_prefix(text)
            pending = text[cut:]
            pieces.append(_unescape(text[:cut]))
    finally:
        view.release()
    if closed and pending:
        pieces.append(_unescape(pending))
    return pieces


def _complete_prefix(text: str) -> int:
    """Length of the prefix of JSON string body ``text`` that ends on an escape boundary
    (not inside ``\\uXXXX`` nor between the halves of a surrogate pair)."""
    end = len(text)
    while True:
        i = text.rfind("\\", max(0, end - 12), end)
        if i < 0:
            return end
        run = 1
        while i - run >= 0 and text[i - run] == "\\":
            run += 1
        if run % 2 == 0:  # the last backslash is the second half of an escaped backslash
            return end
        if i == end - 1 or (text[i + 1] == "u" and end - i < 6) or (
                end - i == 6 and _HIGH_SURROGATE.match(text, i, end)):
            end = i  # an escape cut short, or half a surrogate pair: keep it for later
            continue
        return end


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    try:
        value = json.loads(f'"{body}"', strict=False)
    except ValueError:
        return body
    return value if isinstance(value, str) else body


def recover_fields(prefix: bytes | bytearray) -> dict[str, list[str] | None] | None:
    """The first choice's string fields in a body prefix, as decoded pieces (see
    :func:`recover_content`); ``None`` when there is no ``choices`` key."""
    at = prefix.find(b'"choices"')
    if at < 0:
        return None
    found: dict[str, list[str] | None] = {}
    pos = at
    while True:
        match = _KEY.search(prefix, pos)
        if match is None:
            break
        key = match.group(1).decode()
        key = "reasoning_content" if key == "reasoning" else key
        pos = match.end()
        if pos < len(prefix) and prefix[pos] == ord('"'):
            end = _string_end(prefix, pos + 1)
            closed = end < len(prefix)
            if key not in found and (closed or key != "finish_reason"):
                found[key] = _json_string(prefix, pos + 1, end, closed)
            if not closed:
                break
            pos = end + 1
        elif key not in found and prefix.startswith(b"null", pos):
            found[key] = None
    return found


def recover_content(prefix: bytes | bytearray) -> tuple[str | None, str | None, str | None]:
    """Best-effort ``(content, reasoning, finish_reason)`` of the first choice from the first
    bytes of a chat-completion body (cut at any point); ``None`` for what is not there.
    Content cut off mid-string is returned up to the cut, JSON escapes decoded."""
    found = recover_fields(prefix) or {}
    content, reasoning, finish = (found.get(k) for k in (
        "content", "reasoning_content", "finish_reason"))
    return tuple(None if v is None else "".join(v)  # type: ignore[return-value]
                 for v in (content, reasoning, finish))
