"""How much one client may ask of the studio: token buckets, kept per client address,
and a growing wait after wrong room codes.

A client is its address, not its address and port: a new connection gets no fresh
allowance. An IPv6 client is its /64 network, since one device usually holds a whole
/64 and can pick any address in it.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Generic, TypeVar

from cymbalism.errors import InputError

__all__ = ["AddressBuckets", "JoinThrottle", "TokenBucket", "client_key"]

T = TypeVar("T")


def client_key(host: str | None) -> str:
    """The client a limit is kept for: an IPv4 address, or the /64 network of an IPv6 one.

    Parameters
    ----------
    host : str or None
        The peer's address as the server saw it (``request.client.host``).
    """
    if not host:
        return "?"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host  # a test client or a Unix socket: one client per name
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


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


class _PerClient(Generic[T]):
    """A bounded map client -> state; the least recently seen client is forgotten first."""

    def __init__(self, make: Callable[[], T], max_clients: int) -> None:
        self._make = make
        self._max = max_clients
        self._items: OrderedDict[str, T] = OrderedDict()

    def get(self, client: str) -> T:
        item = self._items.get(client)
        if item is None:
            item = self._items[client] = self._make()
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(client)
        return item


class AddressBuckets:
    """A :class:`TokenBucket` per client (see :func:`client_key`).

    Parameters
    ----------
    rate_per_sec, burst : float
        Each client's bucket.
    max_clients : int
        How many clients are remembered (the least recently seen is forgotten first).
    clock : callable returning seconds, optional
    """

    def __init__(
        self,
        *,
        rate_per_sec: float,
        burst: float,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_sec = float(rate_per_sec)
        self.burst = float(burst)
        self._buckets = _PerClient(
            lambda: TokenBucket(rate_per_sec=rate_per_sec, burst=burst, clock=clock), max_clients
        )

    def allow(self, client: str, cost: float = 1.0) -> bool:
        """Whether ``client`` may send one more message now (and take its token)."""
        return self._buckets.get(client).allow(cost)


class JoinThrottle:
    """A growing wait for a client that keeps trying wrong room codes (or report keys).

    The first ``free`` wrong tries in ``window_sec`` cost nothing; each one after makes the
    client wait twice as long as the one before (``base_sec``, ``2 * base_sec``, ...),
    up to ``max_sec``, before it may try again. While it waits, a try is refused without
    being looked at.

    Parameters
    ----------
    free : int
    base_sec, max_sec : float
    window_sec : float
        Wrong tries older than this are forgotten.
    max_clients : int
    clock : callable returning seconds, optional
    """

    def __init__(
        self,
        *,
        free: int = 5,
        base_sec: float = 1.0,
        max_sec: float = 300.0,
        window_sec: float = 3600.0,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if free < 0 or not 0 < base_sec <= max_sec:
            raise InputError(
                f"a join throttle needs free >= 0 and 0 < base_sec <= max_sec, got "
                f"{free}, {base_sec}, {max_sec}"
            )
        self.free = int(free)
        self.base_sec = float(base_sec)
        self.max_sec = float(max_sec)
        self.window_sec = float(window_sec)
        self._clock = clock
        # failures are bounded: past free + log2(max/base) + 1 the wait is at its cap anyway
        keep = self.free + 64
        self._failures = _PerClient(lambda: deque[float](maxlen=keep), max_clients)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client)
        cutoff = self._clock() - self.window_sec
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def backoff_sec(self, n_failures: int) -> float:
        """How long a client waits after its ``n_failures``-th wrong try."""
        if n_failures <= self.free:
            return 0.0
        return min(self.max_sec, self.base_sec * 2.0 ** min(n_failures - self.free - 1, 64))

    def wait_sec(self, client: str) -> float:
        """How long ``client`` must still wait before its next try (0: it may try now)."""
        failures = self._recent(client)
        if not failures:
            return 0.0
        return max(0.0, failures[-1] + self.backoff_sec(len(failures)) - self._clock())

    def failed(self, client: str) -> None:
        """Note a wrong try by ``client``."""
        self._recent(client).append(self._clock())
