"""A token bucket: how many messages a connection may send, and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable

from cymbalism.errors import InputError

__all__ = ["TokenBucket"]


class TokenBucket:
    """Allow ``rate_per_sec`` messages a second on average, with bursts up to ``burst``.

    Parameters
    ----------
    rate_per_sec : float
        Tokens added per second.
    burst : float
        Capacity of the bucket; it starts full.
    clock : callable returning seconds, optional
        A monotonic clock (``time.monotonic`` by default; a fake one in tests).
    """

    def __init__(
        self,
        *,
        rate_per_sec: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (rate_per_sec > 0 and burst >= 1):
            raise InputError(
                f"a token bucket needs rate_per_sec > 0 and burst >= 1, "
                f"got {rate_per_sec} and {burst}"
            )
        self.rate_per_sec = float(rate_per_sec)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last_sec = clock()

    def allow(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are enough; return whether the message may pass."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last_sec) * self.rate_per_sec)
        self._last_sec = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False
