"""Exception types that separate infrastructure trouble from model failures."""

from __future__ import annotations


class BenchgateError(Exception):
    """Base class for benchgate's own errors."""


class ConfigError(BenchgateError):
    """Bad options, models file or data location; shown as a one-line usage error."""


class DataError(ConfigError):
    """Dataset missing or malformed."""


class InfraError(BenchgateError):
    """Endpoint or judge failure after retries: the item is an error, never a model failure."""


class EndpointDown(InfraError):
    """Every endpoint of a pool failed several consecutive requests at the connection level:
    the pool refuses further calls at once instead of retrying into a dead server.

    ``endpoints`` are the base URLs, ``failures`` the consecutive connection failures seen
    (all endpoints together)."""

    def __init__(self, endpoints: tuple[str, ...] | list[str], failures: int,
                 detail: str = "") -> None:
        self.endpoints = tuple(endpoints)
        self.failures = failures
        self.detail = detail
        noun = "endpoint" if len(self.endpoints) == 1 else "endpoints"
        message = (f"{noun} {', '.join(self.endpoints)} down after {failures} connection "
                   f"failure{'s' if failures != 1 else ''}")
        super().__init__(f"{message} ({detail})" if detail else message)

    def __reduce__(self) -> tuple[type[EndpointDown], tuple[tuple[str, ...], int, str]]:
        return (type(self), (self.endpoints, self.failures, self.detail))


class NotUtf8(ValueError):
    """Bytes that are not UTF-8: ``line`` (1-based) and value of the first bad ``byte``."""

    def __init__(self, line: int, byte: int) -> None:
        super().__init__(f"line {line}: not UTF-8 text (byte 0x{byte:02x})")
        self.line = line
        self.byte = byte


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8 text, a leading BOM dropped; :class:`NotUtf8` names where it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotUtf8(data[:exc.start].count(b"\n") + 1, data[exc.start]) from None
