"""The offset between a browser's clock and the server's, from round trips.

The page sends a ping at ``send_ms`` (its ``performance.now()``); the server answers with
its own time ``server_sec``; the answer arrives at ``recv_ms``. Like NTP, the server's
reading is taken to be from the middle of the round trip, so

    offset_sec = server_sec - (send_ms + recv_ms) / 2 / 1000

and the error of that guess is at most half the round-trip time. The sample with the
shortest round trip among the recent ones is the most trustworthy, so that is the one
used. Round trips keep coming during play, so a drifting clock is followed.

Each sample pins the true offset to within half its round trip, so two honest samples
agree to within half the sum of their round trips (plus what the clocks drift apart in
the meantime). A sample that jumps further from the current estimate is refused: one
forged or garbled round trip cannot move a player's hits. A clock that really jumped
(a laptop woken from sleep) is taken up again once several round trips in a row agree
on its new offset.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from cymbalism.errors import InputError

__all__ = ["ClockSync", "SyncEstimate"]


@dataclass(frozen=True)
class SyncEstimate:
    """The current best guess.

    Attributes
    ----------
    offset_sec : float
        Server time minus browser time (browser ms / 1000 + offset_sec = server seconds).
    rtt_sec : float
        The round-trip time of the sample used; the offset is good to within half of it.
    n_samples : int
        How many samples the window holds.
    """

    offset_sec: float
    rtt_sec: float
    n_samples: int


class ClockSync:
    """Estimate a browser's clock offset from round trips (minimum round-trip sample).

    Parameters
    ----------
    window : int
        How many recent samples to keep; the shortest round trip among them wins.
        A window rather than all samples lets the estimate follow clock drift.
    max_rtt_sec : float
        Samples with a longer round trip are ignored (a stalled network tells nothing).
    max_drift_sec : float
        How far two honest samples may disagree beyond half their round trips.
    rejump_after : int
        After this many refused samples in a row that agree with one another, the
        clock is taken to have jumped and they become the estimate.
    """

    def __init__(
        self,
        *,
        window: int = 32,
        max_rtt_sec: float = 1.0,
        max_drift_sec: float = 0.02,
        rejump_after: int = 8,
    ) -> None:
        if window < 1:
            raise InputError(f"the window must hold at least one sample, got {window}")
        self.max_rtt_sec = float(max_rtt_sec)
        self.max_drift_sec = float(max_drift_sec)
        self.rejump_after = int(rejump_after)
        self._samples: deque[tuple[float, float]] = deque(maxlen=window)  # (rtt, offset)
        self._refused: list[tuple[float, float]] = []
        self.n_refused = 0

    def _agree(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        return abs(a[1] - b[1]) <= (a[0] + b[0]) / 2 + self.max_drift_sec

    def add(self, *, send_ms: float, server_sec: float, recv_ms: float) -> bool:
        """Add one round trip; return whether it was used.

        Parameters
        ----------
        send_ms, recv_ms : float
            Browser clock (milliseconds) when the ping left and when the answer came.
        server_sec : float
            Server clock (seconds) when the server answered.

        Returns
        -------
        used : bool
            False for a stalled round trip, and for one whose offset jumps away from the
            estimate further than the round trips allow (counted in :attr:`n_refused`).
        """
        values = np.array([send_ms, server_sec, recv_ms], dtype=np.float64)
        if not np.isfinite(values).all():
            raise InputError(f"a clock sample must be finite, got {values.tolist()}")
        rtt_sec = (recv_ms - send_ms) / 1000.0
        if rtt_sec < 0:
            raise InputError(
                f"a round trip cannot end before it starts (sent {send_ms} ms, "
                f"received {recv_ms} ms)"
            )
        if rtt_sec > self.max_rtt_sec:
            return False
        sample = (rtt_sec, server_sec - (send_ms + recv_ms) / 2000.0)
        if self._samples and not self._agree(sample, min(self._samples)):
            self.n_refused += 1
            self._refused.append(sample)
            best = min(self._refused)
            if not all(self._agree(x, best) for x in self._refused):
                self._refused = [sample]  # refused samples that disagree: no new clock yet
            elif len(self._refused) >= self.rejump_after:
                self._samples.clear()
                self._samples.extend(self._refused)
                self._refused = []
                return True
            return False
        self._refused = []
        self._samples.append(sample)
        return True

    @property
    def ready(self) -> bool:
        """Whether at least one usable sample has arrived."""
        return bool(self._samples)

    def estimate(self) -> SyncEstimate:
        """The offset from the sample with the shortest round trip in the window."""
        if not self._samples:
            raise InputError("the browser's clock is not synchronised yet (no round trip received)")
        rtt_sec, offset_sec = min(self._samples)
        return SyncEstimate(offset_sec, rtt_sec, len(self._samples))

    def to_server_sec(self, client_ms: float) -> float:
        """A browser clock reading (ms) on the server's clock (seconds)."""
        return client_ms / 1000.0 + self.estimate().offset_sec
