"""The client's retry policy: what is retried, ``Retry-After``, and the backoff between attempts.

:class:`Retryable` is a failed attempt worth another (408/409/429, 5xx, timeouts, dropped
connections, a 200 that is not a completion); it records whether the failure was at the
connection level, which the pool's fail-fast counts. :func:`retry_after` reads the server's
``retry-after-ms``/``Retry-After`` header, and :func:`backoff_delay` is the exponential, jittered
wait that the header's value only ever raises.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

RETRY_STATUS = frozenset({408, 409, 429})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


class Retryable(Exception):
    """One attempt failed in a way another attempt may not."""

    def __init__(self, message: str, retry_after: float | None = None,
                 connection: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.connection = connection  # failed at the connection level (no HTTP response)
        self.refused = refused  # a new connection could not be made


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms`` first), within [0, 60]; ``None``
    when it asks for nothing readable."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return min(max(float(value) * scale, 0.0), 60.0)
        except ValueError:
            continue
    return None


def backoff_delay(first_s: float, attempt: int, retry_after_s: float | None) -> float:
    """The wait after failed attempt ``attempt`` (0-based): ``first_s`` doubling up to
    :data:`BACKOFF_CAP_S`, jittered to between half and all of it, and never under
    ``retry_after_s``."""
    # Retry-After is a floor, not the plan: a server asking for 50 ms while overloaded
    # would otherwise use up every retry in a third of a second
    backoff = min(BACKOFF_CAP_S, first_s * 2**attempt) * random.uniform(0.5, 1.0)
    return max(retry_after_s or 0.0, backoff)
