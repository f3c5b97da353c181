"""What the session's speakers played, for the microphones that hear them.

:class:`PlayedSound` keeps the last seconds of the sound output's mix, by the session
clock (:class:`~cymbalism.live.metronome.AudioOutput` writes every block it plays).
:class:`SpeakerListener` is a microphone's side: it keeps the microphone's last seconds,
measures the way from the speakers to it (:class:`~cymbalism.io.audio.speakers.SpeakerPath`)
every few seconds on a thread of its own, and takes what the speakers played, through that
way, out of each block before the detector reads it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from cymbalism.io.audio.speakers import (
    EchoStream,
    SpeakerGate,
    SpeakerMemory,
    SpeakerPath,
    played_span,
)
from cymbalism.model.hits import Hits

__all__ = [
    "CATCH_UP_CHUNKS",
    "HOLD_SEC",
    "KEEP_SEC",
    "LISTEN_SEC",
    "MEASURE_EVERY_SEC",
    "WAIT_SEC",
    "PlayedSound",
    "SpeakerListener",
]

#: How much of what was played is kept.
KEEP_SEC = 12.0
#: A speaker path is measured on the microphone's last this many seconds.
LISTEN_SEC = 6.0
#: And measured again this often (seconds of the microphone's sound).
MEASURE_EVERY_SEC = 2.0
#: A microphone's sample waits at most this long for what the speakers played over it
#: to be handed over by the output (whose callback can come after the microphone's):
#: then it is cleaned with what is known.
WAIT_SEC = 0.02
#: Until the way is first measured, the microphone's samples are held back at most this
#: long (the first measurement comes after :data:`MEASURE_EVERY_SEC`), and then cleaned
#: with it: the count-in's clicks come out too. Past it, or if the first measurement
#: does not hear the speakers, they are given back as heard.
HOLD_SEC = 3.0
#: A block gives back at most this many chunks (the first block's size) more than it
#: brought: samples held back catch up without holding up the microphone's callback
#: (cleaning and reading a chunk takes about a fifth of its time).
CATCH_UP_CHUNKS = 2


class PlayedSound:
    """The last :data:`KEEP_SEC` of what the speakers played, mono, by clock frame.

    Parameters
    ----------
    sample_rate : int
        The output's rate: frame ``f`` sounded at clock second ``f / sample_rate``.

    Notes
    -----
    The output's callback writes (:meth:`played`); microphones' callbacks and their
    listeners read (:meth:`between`). Both hold a lock for a copy's time only.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self._ring = np.zeros(round(KEEP_SEC * self.sample_rate), np.float32)
        self._until: int | None = None  # the frame after the last one written
        self._lock = threading.Lock()

    def played(self, frame: int, frames: np.ndarray) -> None:
        """The output played ``frames`` (n, channels), the mixer's frames from ``frame``.

        Only the first block's ``frame`` places the sound on the clock; the rest follow
        it sample by sample. The mixer's frame count jumps when the output takes up a
        lasting difference from the clock (:class:`~cymbalism.live.metronome.AudioOutput`),
        but the sound device plays on sample by sample, and so the microphone hears it.
        """
        x = np.asarray(frames, dtype=np.float32)
        mono = x.mean(axis=1) if x.ndim == 2 else x
        size = self._ring.size
        with self._lock:
            start = frame if self._until is None else self._until
            keep = mono[-size:]
            first = start + mono.size - keep.size
            self._ring[(first + np.arange(keep.size)) % size] = keep
            self._until = start + mono.size

    def known_until_sec(self) -> float | None:
        """The clock second up to which what was played is known (None before anything)."""
        until = self._until
        return None if until is None else until / self.sample_rate

    def between(self, start_sec: float, n: int, sample_rate: int) -> np.ndarray:
        """What was played at clock seconds ``start_sec + k / sample_rate`` (k < n), at
        ``sample_rate``: silence where nothing is known (not yet played, or forgotten)."""
        out = np.zeros(max(n, 0), np.float32)
        if self._until is None or n <= 0:
            return out
        rate, size = self.sample_rate, self._ring.size
        if sample_rate == rate:
            idx = round(start_sec * rate) + np.arange(n)
        else:  # the neighbours of each fractional frame, read linearly between
            pos = (start_sec + np.arange(n) / sample_rate) * rate
            idx = np.arange(int(np.floor(pos[0])), int(np.floor(pos[-1])) + 2)
        with self._lock:
            known = (idx >= self._until - size) & (idx < self._until)
            got = np.zeros(idx.size, np.float32)
            got[known] = self._ring[idx[known] % size]
        if sample_rate == rate:
            return got
        return np.interp(pos, idx, got).astype(np.float32)


class SpeakerListener:
    """A microphone's ear for the speakers: takes what they played out of its blocks.

    Parameters
    ----------
    played : PlayedSound
    sample_rate : int
        The microphone's rate.
    on_found : callable, optional
        Called with the :class:`SpeakerPath` once the way is first found (from the
        listener's thread): to tell the player.
    memory : SpeakerMemory, optional
        Where the last session with this microphone left the way
        (:meth:`SpeakerPath.memory`): the first measurement starts from it, rather than
        from nothing, if it takes something out.

    Notes
    -----
    Until the way from the speakers is first measured (:data:`MEASURE_EVERY_SEC` after
    the microphone opened), its samples are held back, at most :data:`HOLD_SEC`, and then
    cleaned with that way, a few chunks a block until they have caught up: the count-in's
    clicks come out as well as the song. (Their hits reach the session that much later,
    stamped when they sounded.) If the first measurement does not hear the speakers,
    they are given back as heard, as are blocks from then on until the way is found.
    Once it is, a sample is cleaned once what the speakers played over it has been
    handed over, which can come a few milliseconds after the microphone heard it (the
    two devices' callbacks run apart); it waits for that at most :data:`WAIT_SEC`. So
    :meth:`cleaned` may give back fewer samples than it was given, and the rest later,
    in order, every sample once; :meth:`flush` gives the last of them when the
    microphone stops.
    """

    def __init__(
        self,
        played: PlayedSound,
        sample_rate: int,
        on_found: Callable[[SpeakerPath], None] | None = None,
        memory: SpeakerMemory | None = None,
    ) -> None:
        self.played = played
        self._on_found = on_found
        self.sample_rate = int(sample_rate)
        self.path = SpeakerPath(self.sample_rate, memory)
        self.gate = SpeakerGate(self.sample_rate)
        self._echo = EchoStream()
        self._n = 0  # samples of the stream so far
        self._mic = np.zeros(round(LISTEN_SEC * self.sample_rate), np.float32)  # a ring
        self._kept = 0  # samples kept in _mic so far (up to its size)
        self._mic_end_sec = 0.0  # clock second after the last kept sample
        self._since = 0  # samples since the last measurement was started
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None
        self._origin_sec: float | None = None  # the clock second of the stream's sample 0
        self._chunk = 0  # samples cleaned at a time: the first block's size
        self._waiting: list[np.ndarray] = []  # samples heard, not yet given back
        self._n_out = 0  # samples given back so far
        self._holding = True  # until the way is first measured, or cannot be
        self._newest = 0  # samples in the last block

    def cleaned(self, block: np.ndarray, start_sec: float) -> np.ndarray:
        """The microphone's samples up to ``block`` (its first sample at clock
        ``start_sec``) without what the speakers put into them: those whose sound played
        is known (or that waited :data:`WAIT_SEC`), following those given back before.

        ``block`` is copied: samples may wait here past the callback whose buffer they
        came in, and a sound device's buffer is its own again once its callback returns.
        """
        x = np.array(block, dtype=np.float32)
        if self._origin_sec is None:
            self._origin_sec = start_sec - self._n / self.sample_rate
            self._chunk = max(x.size, 1)
        self._n += x.size
        self._newest = x.size
        self._keep(x, start_sec)
        self._waiting.append(x)
        return self._give_back(flush=False)

    def flush(self) -> np.ndarray:
        """The samples still waiting, cleaned with what is known (the microphone stopped)."""
        return self._give_back(flush=True)

    def _give_back(self, flush: bool) -> np.ndarray:
        now = self.path.now
        if now is None and self._holding and not flush:
            if self._n - self._n_out < HOLD_SEC * self.sample_rate:  # samples waiting
                return np.zeros(0, np.float32)  # held back until the way is measured
            self._holding = False
        x = np.concatenate(self._waiting) if self._waiting else np.zeros(0, np.float32)
        self._waiting = []
        if not x.size:
            return x
        if now is None or self._origin_sec is None:
            self._n_out += x.size
            return x
        sr, n = self.sample_rate, self._chunk
        known = self.played.known_until_sec()
        out: list[np.ndarray] = []
        done = 0
        most = -(-self._newest // n) + CATCH_UP_CHUNKS  # what a block brings, and more
        while done < x.size:
            size = min(n, x.size - done)
            if not flush and (size < n or len(out) >= most):
                break
            start_sec = self._origin_sec + self._n_out / sr
            overdue = x.size - done - size >= WAIT_SEC * sr
            late = known is not None and start_sec + (size - now.lag) / sr > known + 0.5 / sr
            if late and not (overdue or flush):
                break
            echo = self._echo.block(
                now,
                round(start_sec * sr) - now.lag,
                size,
                lambda first, count: self.played.between(first / sr, count, sr),
            )
            left = x[done : done + size] - echo
            self.gate.add(self._n_out, left, echo)
            out.append(left)
            done += size
            self._n_out += size
        if done < x.size:
            self._waiting = [x[done:]]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def keeps(self, hits: Hits) -> Hits:
        """The hits found in the cleaned blocks (seconds from the stream's first sample)
        that are the player's, not the speakers' remains (:class:`SpeakerGate`)."""
        if not len(hits):
            return hits
        at = np.round(hits.onset_sec * self.sample_rate).astype(np.int64)
        onsets, which = np.unique(at, return_inverse=True)  # drums struck together: once
        theirs = np.array([self.gate.speakers_only(int(k)) for k in onsets])
        return hits.select(~theirs[which])

    def _keep(self, x: np.ndarray, start_sec: float) -> None:
        n, size = x.size, self._mic.size
        # the ring's sample k is the stream's sample k + a multiple of its size
        self._mic[(self._n - n + np.arange(n))[-size:] % size] = x[-size:]
        self._kept = min(size, self._kept + n)
        self._mic_end_sec = start_sec + n / self.sample_rate
        self._since += n
        due = self._since >= MEASURE_EVERY_SEC * self.sample_rate
        if due and not self._busy.locked():
            new_sec, self._since = self._since / self.sample_rate, 0
            mic = np.roll(self._mic, -(self._n % size))[size - self._kept :]
            start = self._mic_end_sec - mic.size / self.sample_rate
            self._thread = threading.Thread(
                target=self._measure, args=(mic, start, new_sec), name="speaker path", daemon=True
            )
            self._thread.start()

    def _measure(self, mic: np.ndarray, start_sec: float, new_sec: float) -> None:
        with self._busy:
            before, m = played_span(mic.size, self.sample_rate)
            played = self.played.between(start_sec - before, m, self.sample_rate)
            first = self.path.now is None
            found = self.path.measure(mic, played, new_sec)
            if found and first and self._on_found:
                self._on_found(self.path)
            if not found and first:
                self._holding = False  # the speakers not heard: hold nothing back

    def join(self, timeout: float = 5.0) -> None:
        """Wait for a measurement under way (tests, and stopping)."""
        if self._thread is not None:
            self._thread.join(timeout)
