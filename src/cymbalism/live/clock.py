"""One clock for a live session: monotonic nanoseconds, and a fake one for tests.

Every hit is stamped with its arrival on :meth:`Clock.now_ns`'s time line minus its
input's calibrated latency (a MIDI port's arrival is taken by rtmidi as the message
comes in, and placed on this clock: :mod:`cymbalism.live.inputs`). The song's time line
(seconds from the first beat of the song, negative during the count-in) is derived from
these stamps by the engine.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

__all__ = [
    "NS_PER_SEC",
    "Clock",
    "FakeClock",
    "MonotonicClock",
    "ns_to_sec",
    "responsive",
    "sec_to_ns",
]

NS_PER_SEC = 1_000_000_000


def sec_to_ns(sec: float) -> int:
    """Seconds to integer nanoseconds (rounded to the nearest)."""
    return round(sec * NS_PER_SEC)


def ns_to_sec(ns: int) -> float:
    """Integer nanoseconds to seconds."""
    return ns / NS_PER_SEC


@runtime_checkable
class Clock(Protocol):
    """What the engine, the inputs and the metronome need from a clock."""

    #: Whether the clock follows real time (a loop may then block waiting for input).
    realtime: bool

    def now_ns(self) -> int:
        """The current time in nanoseconds on a monotonic time line."""
        ...

    def sleep_until(self, t_ns: int) -> None:
        """Return at (or just after) ``t_ns``."""
        ...


class MonotonicClock:
    """The real clock: :func:`time.perf_counter_ns`, monotonic and sub-microsecond."""

    #: Below this much time left, :meth:`sleep_until` spins instead of sleeping, because
    #: the operating system's sleep overshoots by up to a millisecond.
    SPIN_NS = 1_000_000
    realtime = True

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    def sleep_until(self, t_ns: int) -> None:
        while True:
            left = t_ns - time.perf_counter_ns()
            if left <= 0:
                return
            if left > self.SPIN_NS:
                time.sleep((left - self.SPIN_NS) / NS_PER_SEC)


class FakeClock:
    """A clock that moves only when told to: the same engine code runs under it in tests.

    Parameters
    ----------
    start_ns : int
        The time the clock shows at first.

    Notes
    -----
    :meth:`sleep_until` jumps the clock forward instead of waiting, so a loop written
    for the real clock runs as fast as the machine allows. It is safe to read from
    several threads.
    """

    realtime = False

    def __init__(self, start_ns: int = 0) -> None:
        self._t_ns = int(start_ns)
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        return self._t_ns

    def sleep_until(self, t_ns: int) -> None:
        with self._lock:
            self._t_ns = max(self._t_ns, int(t_ns))

    def advance(self, sec: float) -> int:
        """Move the clock ``sec`` seconds forward; return the new time in nanoseconds."""
        if sec < 0:
            raise ValueError(f"a clock cannot go back ({sec} s)")
        with self._lock:
            self._t_ns += sec_to_ns(sec)
            return self._t_ns

    def set_ns(self, t_ns: int) -> None:
        """Move the clock to ``t_ns`` (never backwards)."""
        if t_ns < self._t_ns:
            raise ValueError(f"a clock cannot go back (from {self._t_ns} to {t_ns} ns)")
        with self._lock:
            self._t_ns = int(t_ns)


@contextmanager
def responsive(*, realtime: bool = True) -> Iterator[None]:
    """Tune the interpreter for a live session, and restore it afterwards.

    - The GIL switch interval drops from 5 ms to 0.5 ms, so the thread that judges a hit
      does not wait behind the recorder's or an input's thread for long.
    - Objects alive at the start are moved out of the garbage collector's sight
      (:func:`gc.freeze`) and young collections are made rarer, so full collections do not
      stall the loop mid-song.
    - With ``realtime`` and where the system allows it (Linux, with the right to), the
      calling thread (and the threads it starts, such as the MIDI ports' readers) gets
      the lowest real-time priority (``SCHED_RR`` 1), so a busy machine does not keep a
      hit waiting, yet it never outranks the audio and MIDI systems' own threads (JACK's
      clients run at 5 and up): a JACK client that misses its cycle loses or repeats
      MIDI events. Elsewhere it runs as before.
      A loop under a fake clock never sleeps, so it does not ask for this.
    """
    interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    sys.setswitchinterval(0.0005)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    policy = None
    if realtime:
        try:
            policy = (os.sched_getscheduler(0), os.sched_getparam(0))
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(1))
        except (AttributeError, OSError):  # not Linux, or not permitted: best effort
            policy = None
    try:
        yield
    finally:
        if policy is not None:
            os.sched_setscheduler(0, policy[0], policy[1])
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        sys.setswitchinterval(interval)
