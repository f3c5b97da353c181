"""What the speakers play, heard by a live microphone, and taken out of it.

A drummer on a microphone plays with the song, the click and the partner's strokes
coming out of the room's speakers, and the microphone hears them too: the click reads as
hi-hat strokes, the partner's kick as this player's kick. Unlike a recording of a song
played aloud (:mod:`cymbalism.io.audio.bleed`, which knows the music only up to the
room's colour), a live session knows exactly what it played, sample for sample, and
when. Only the way from the speakers to the microphone is unknown, and that is
measured while the players play: this is acoustic echo cancellation.

1. **When** (:func:`speaker_lag`): the sound played is lined up with the microphone's by
   generalised cross-correlation with phase transform, within :data:`MAX_LAG_SEC` (the
   output's and input's buffers, and the air between speakers and microphone).
2. **The way** (:class:`SpeakerPath`): the room's impulse response from the speakers to
   the microphone, :data:`RESPONSE_SEC` long, is the inverse transform of the transfer
   function ``S_mp / S_pp`` (the H1 estimate: the cross-spectrum of the microphone with
   the sound played, over the sound played's own spectrum), averaged over the last
   :data:`MEMORY_SEC`. The player's drums have nothing in common with what the speakers
   played, waveform for waveform, so they scatter this estimate but do not bias it, even
   when the drummer plays on every click.
   Where the drums drown the speakers, each frequency keeps only the share of the
   estimate that can be trusted (a Wiener gain on the coherence).
3. **Taken out:** the sound played, through that response, is what the microphone heard
   of the speakers (:class:`Echo`, block by block :class:`EchoStream`); it is subtracted
   from the microphone's samples before the detector sees them. Subtracting the
   waveform, not a share of each frequency band's power, leaves a stroke played together
   with the partner's as it was.
4. **The remains** (:class:`SpeakerGate`): where the drums drowned the speakers, some of
   them is left, and in a rest it reads as hits; a hit is dropped when in every band the
   sound left rose less over its onset than the speakers' did.
5. **Remembered** (:class:`SpeakerMemory`): the averages a session ends with start the
   next one, so that its first seconds need not wait for the estimate to settle; a
   remembered way that does not take anything out of what the microphone first hears
   (the speakers or the microphone moved) is forgotten.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError, require
from cymbalism.io.audio.align import MAX_ROOM_DELAY_SEC
from cymbalism.io.audio.bleed import MUSIC_RANGE_DB

__all__ = [
    "MAX_LAG_SEC",
    "MAX_LEAD_SEC",
    "MEMORY_SEC",
    "MIN_CLARITY",
    "RESPONSE_SEC",
    "Echo",
    "EchoStream",
    "SpeakerGate",
    "SpeakerMemory",
    "SpeakerPath",
    "played_span",
    "speaker_lag",
]

#: The longest way from what is played to what the microphone hears: the output's and
#: the input's buffers (a sound server's can reach 100 ms) and the air.
MAX_LAG_SEC = 0.25
#: The microphone's samples are stamped when they arrive, so it can seem to hear a
#: sound up to its input buffer's length before the output's clock says it sounded.
MAX_LEAD_SEC = 0.05
#: The response starts this long before the lag: a speaker's, and the estimate's own,
#: ringing before the direct sound (the sound played has nothing near the Nyquist
#: frequency, and the response there is a band-limited impulse, ringing both ways).
PRE_RING_SEC = 0.005
#: The cross-correlation's peak must stand this many times above the largest of the
#: others (beyond a room's reflections from it) for the lag to be trusted.
MIN_CLARITY = 2.0
#: The room's response is followed this long after the direct sound (its reverberation
#: has fallen 24 dB by then in a room whose RT60 is 0.5 s).
RESPONSE_SEC = 0.2
#: The path is averaged over about this much of the microphone's sound.
MEMORY_SEC = 30.0
#: A lag that moves further than this (the sound device restarted) starts the path anew.
JUMP_SEC = 0.002
#: The echo's newest blocks of the sound played are read again over this span (and
#: as far again as the microphone seems to hear ahead of the output's clock).
REREAD_SEC = 0.01
#: At least this much sound lines a path up.
SHORTEST_SEC = 1.0
#: A remembered way is moved by up to this many samples to line it up on this session's
#: lag (which can fall a sample or two off the last session's from the same delay).
RECALL_SHIFT_SAMPLES = 3.0


def played_span(n: int, sample_rate: int) -> tuple[float, int]:
    """What of the sound played :func:`speaker_lag` and :meth:`SpeakerPath.measure` need
    beside ``n`` samples heard: from how many seconds before them, and how many samples."""
    pre, post = round(MAX_LAG_SEC * sample_rate), round(MAX_LEAD_SEC * sample_rate)
    return pre / sample_rate, n + pre + post + round(PRE_RING_SEC * sample_rate)


def speaker_lag(
    heard: np.ndarray, played: np.ndarray, sample_rate: int
) -> tuple[int, float] | None:
    """How many samples after its place on the clock the microphone hears what is played.

    Parameters
    ----------
    heard : np.ndarray [shape=(n,), float]
        What the microphone recorded.
    played : np.ndarray [shape=(m,), float]
        What the speakers were given, on the same clock, from :data:`MAX_LAG_SEC` before
        ``heard`` to :data:`MAX_LEAD_SEC` after it (:func:`played_span`), so that every
        lag between can be tried.
    sample_rate : int

    Returns
    -------
    (lag, clarity) or None
        The lag in samples (from ``-MAX_LEAD_SEC`` to ``MAX_LAG_SEC``) and how far the
        cross-correlation's peak stands above the others; None when nothing was played,
        or it is not heard (headphones, or the speakers off).
    """
    x = np.asarray(heard, dtype=np.float64)
    pre, post = round(MAX_LAG_SEC * sample_rate), round(MAX_LEAD_SEC * sample_rate)
    m = x.size + pre + post
    p = np.asarray(played, dtype=np.float64)[:m]
    if x.size < SHORTEST_SEC * sample_rate or p.size < m:
        return None
    if not np.any(p) or not np.any(x):
        return None
    n = 1 << math.ceil(math.log2(p.size + x.size))
    # GCC-PHAT over the whole window, untapered: align's _gcc_phat tapers its segment,
    # which here put one take's lag a sample off (evaluation/speakers.py)
    cross = np.fft.rfft(p, n) * np.conj(np.fft.rfft(x, n))
    cross /= np.abs(cross) + 1e-12 * np.abs(cross).max()
    # r[post + lag]: the microphone at t, played at t - lag
    # (its magnitude: a speaker or a microphone wired the other way round turns the peak
    # upside down, and the response takes the sign)
    r = np.abs(np.fft.irfft(cross, n)[: pre + post + 1][::-1])
    k = int(np.argmax(r))
    # a room's reflections follow the direct sound within MAX_ROOM_DELAY_SEC: the peak
    # must stand out of everything further away (a repeating part, a wrong lag)
    away = np.abs(np.arange(r.size) - k) > MAX_ROOM_DELAY_SEC * sample_rate
    others = float(r[away].max()) if away.any() else 0.0
    clarity = float(r[k] / others) if others > 0 else math.inf
    if not r[k] > 0 or clarity < MIN_CLARITY:
        return None
    return k - post, clarity


@dataclass(frozen=True)
class Echo:
    """The way from the speakers to a microphone, as measured at one time.

    Attributes
    ----------
    lag : int
        The response's first sample is this many samples after a sound's place on the
        clock (:data:`PRE_RING_SEC` before the microphone hears it).
    response : np.ndarray [shape=(span,), float32]
        The room's impulse response from there on.
    sample_rate : int
    """

    lag: int
    response: np.ndarray
    sample_rate: int

    @property
    def lag_sec(self) -> float:
        """:attr:`lag` in seconds."""
        return self.lag / self.sample_rate

    @property
    def span(self) -> int:
        """Samples of the sound played that one sample heard depends on."""
        return int(self.response.size)

    def echo(self, played: np.ndarray) -> np.ndarray:
        """What the microphone heard of ``played`` over its last ``n`` samples, all at once
        (:class:`EchoStream` gives the same block by block).

        Parameters
        ----------
        played : np.ndarray [shape=(span - 1 + n,), float]
            The sound played, read :attr:`lag_sec` earlier than the microphone's
            samples, with the :attr:`span` ``- 1`` samples before them.

        Returns
        -------
        np.ndarray [shape=(n,), float32]
        """
        signal = require("scipy.signal", "audio")
        x = np.asarray(played, dtype=np.float32)
        if x.size < self.span:
            return np.zeros(0, np.float32)
        return np.asarray(signal.oaconvolve(x, self.response, mode="valid"), np.float32)


class EchoStream:
    """What the microphone hears of the speakers, block by block, as the blocks come.

    Uniformly partitioned overlap-save convolution: the response is cut into pieces of
    one block, each block of the sound played is transformed once, and a block of echo
    costs one transform each way and a sum of products, however long the response is.
    A new :class:`Echo`, a block of another size, or sound played that does not follow
    the last block on starts it again from the sound played before.
    """

    def __init__(self) -> None:
        self._echo: Echo | None = None
        self._n = 0
        self._next: int | None = None  # the sound played's sample the next block starts at
        self._parts: np.ndarray | None = None  # (pieces, n + 1): the response's spectra
        self._lines: np.ndarray | None = None  # (pieces, n + 1): the sound played's, newest first

    def block(
        self, echo: Echo, at: int, n: int, read: Callable[[int, int], np.ndarray]
    ) -> np.ndarray:
        """The echo over the next ``n`` samples heard.

        Parameters
        ----------
        echo : Echo
        at : int
            The sample of the sound played (counted at the microphone's rate) the echo's
            first sample comes from: the block's first sample less :attr:`Echo.lag`.
        n : int
        read : callable
            ``read(first, count)``: ``count`` samples of the sound played from sample
            ``first`` on.

        Returns
        -------
        np.ndarray [shape=(n,), float32]
            Equal to ``echo.echo(read(at - echo.span + 1, echo.span - 1 + n))``.
        """
        fft = require("scipy.fft", "audio")
        if echo is not self._echo or n != self._n or at != self._next:
            pieces = -(-echo.span // n)
            h = np.zeros(pieces * n, np.float32)
            h[: echo.span] = echo.response
            self._parts = fft.rfft(h.reshape(pieces, n), 2 * n, axis=1)
            past = np.asarray(read(at - pieces * n, pieces * n), np.float32).reshape(pieces, n)
            self._lines = np.zeros_like(self._parts)
            if pieces > 1:  # the blocks before this one, newest first
                pairs = np.concatenate([past[:-1], past[1:]], axis=1)
                self._lines[: pieces - 1] = fft.rfft(pairs, axis=1)[::-1]
            self._echo, self._n = echo, n
        assert self._lines is not None and self._parts is not None
        self._lines[1:] = self._lines[:-1]
        # the newest blocks are read again each time: the sound played may not all have
        # been handed over yet when the microphone's block comes (the output's clock
        # and the microphone's are each a few milliseconds off), and what comes late
        # must not stay silence
        ahead = max(0, -echo.lag) + round(REREAD_SEC * echo.sample_rate)  # may come late
        again = min(self._lines.shape[0], 1 + -(-ahead // n))
        fresh = np.asarray(read(at - again * n, (again + 1) * n), np.float32).reshape(-1, n)
        pairs = np.concatenate([fresh[:-1], fresh[1:]], axis=1)
        self._lines[:again] = fft.rfft(pairs, axis=1)[::-1]
        self._next = at + n
        y = fft.irfft((self._lines * self._parts).sum(axis=0), 2 * n)
        return np.asarray(y[n:], np.float32)


@dataclass(frozen=True, eq=False)
class SpeakerMemory:
    """The way from the speakers to a microphone as a session left it: the averaged
    spectra behind :class:`SpeakerPath`'s estimate, to start the next session from.

    The spectra are taken with the sound played lined up on the lag, so they hold the
    room and not the lag: the next session finds its own lag, which may differ by the
    first block's place on the clock.

    Attributes
    ----------
    sample_rate : int
    seconds : float
        How much sound the averages hold (at most :data:`MEMORY_SEC`).
    s_pp, s_mp, s_mm : np.ndarray [shape=(n_fft // 2 + 1,)]
        The sound played's power spectrum, its cross-spectrum with the microphone's
        (complex), and the microphone's.
    """

    sample_rate: int
    seconds: float
    s_pp: np.ndarray
    s_mp: np.ndarray
    s_mm: np.ndarray

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to ``path`` (an ``.npz`` file), whole or not at all."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                sample_rate=np.int64(self.sample_rate),
                seconds=np.float64(self.seconds),
                s_pp=self.s_pp.astype(np.float32),
                s_mp=self.s_mp.astype(np.complex64),
                s_mm=self.s_mm.astype(np.float32),
            )
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpeakerMemory:
        """Read what :meth:`save` wrote.

        Raises
        ------
        InputError
            If the file is not one (cut short, or something else).
        """
        try:
            with np.load(path, allow_pickle=False) as f:
                mem = cls(
                    int(f["sample_rate"]),
                    float(f["seconds"]),
                    np.asarray(f["s_pp"], np.float64),
                    np.asarray(f["s_mp"], np.complex128),
                    np.asarray(f["s_mm"], np.float64),
                )
        except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: not a remembered way from the speakers ({exc})") from exc
        n = mem.s_pp.size
        sizes_ok = n > 1 and mem.s_mp.shape == mem.s_mm.shape == mem.s_pp.shape == (n,)
        values_ok = (
            sizes_ok
            and 1000 <= mem.sample_rate <= 384_000
            and 0 < mem.seconds <= MEMORY_SEC
            and all(np.isfinite(a).all() for a in (mem.s_pp, mem.s_mp, mem.s_mm))
            and (mem.s_pp >= 0).all()
            and (mem.s_mm >= 0).all()
        )
        if not values_ok:
            raise InputError(f"{path}: not a remembered way from the speakers (bad values)")
        return mem


def _trusted_transfer(
    s_pp: np.ndarray, s_mp: np.ndarray, s_mm: np.ndarray, segments: float
) -> np.ndarray:
    """The H1 transfer function ``S_mp / S_pp``, each frequency scaled by the share of it
    that can be trusted over ``segments`` averaged segments; 0 where nothing was
    played."""
    # frequencies where nothing was played have nothing to take out
    held = s_pp >= s_pp.max() * 10 ** (MUSIC_RANGE_DB / 10)
    pp = np.where(held, s_pp, 1.0)
    transfer = np.where(held, s_mp / pp, 0.0)
    # Where the drums drown the speakers (low coherence), the estimate scatters: take
    # out only as much as it can be trusted, the Wiener gain |H|^2 / (|H|^2 + its
    # variance) = N c / (N c + 1 - c) over N segments, with the coherence c freed of
    # the bias that N segments give it (about 1 / N when nothing is shared)
    raw = np.abs(s_mp) ** 2 / (pp * np.maximum(s_mm, 1e-30))
    coherence = np.clip((segments * raw - 1.0) / max(segments - 1.0, 1.0), 0.0, 1.0)
    trust = segments * coherence / (segments * coherence + 1.0 - coherence + 1e-12)
    return np.asarray(transfer * trust)


def _left_power(
    transfer: np.ndarray, s_pp: np.ndarray, s_mp: np.ndarray, s_mm: np.ndarray
) -> np.ndarray:
    """What the microphone's sound keeps of its power once each ``transfer`` (a row)
    applied to the sound played is taken out of it, from their spectra: ``|M - H P|^2``
    summed over the frequencies."""
    left = s_mm - 2.0 * np.real(np.conj(transfer) * s_mp) + np.abs(transfer) ** 2 * s_pp
    return np.asarray(left.sum(axis=-1))


class SpeakerPath:
    """The way from the speakers to one microphone, measured as the session goes on.

    Parameters
    ----------
    sample_rate : int
        The microphone's rate (the sound played is read at it too).
    memory : SpeakerMemory, optional
        Where the last session left the way (:meth:`memory`). Its averages start this
        one's at the first measurement, if they take something out of what the
        microphone heard then; else, or at another rate, it is forgotten.

    Notes
    -----
    :meth:`measure` runs on a thread of its own, the audio callback reads :attr:`now`:
    each measurement replaces the lag and the response together, in one assignment.
    """

    def __init__(self, sample_rate: int, memory: SpeakerMemory | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.n_fft = 1 << math.ceil(math.log2(2 * RESPONSE_SEC * self.sample_rate))
        fits = (
            memory is not None
            and memory.sample_rate == self.sample_rate
            and memory.s_pp.size == self.n_fft // 2 + 1
        )
        self._memory = memory if fits else None
        #: Whether the way started from where the last session left it.
        self.remembered = False
        #: The way as last measured (None until it is).
        self.now: Echo | None = None
        self._lag: int | None = None
        self._s_pp: np.ndarray | None = None
        self._s_mp: np.ndarray | None = None
        self._s_mm: np.ndarray | None = None
        self._seconds = 0.0
        #: The speakers' sound against everything the microphone heard (power, dB).
        self.level_db = -math.inf
        #: How far the last lag's cross-correlation peak stood above the others.
        self.clarity = 0.0

    @property
    def lag_sec(self) -> float:
        """The microphone hears a sound this long after its place on the clock."""
        return math.nan if self._lag is None else self._lag / self.sample_rate

    def measure(self, heard: np.ndarray, played: np.ndarray, new_sec: float) -> bool:
        """Measure the way again on the microphone's last sound.

        Parameters
        ----------
        heard : np.ndarray [shape=(n,), float]
        played : np.ndarray [shape=(m,), float]
            As :func:`speaker_lag` takes them (:func:`played_span`).
        new_sec : float
            How much of ``heard`` the last measurement did not hear (it weighs that much
            in the average over :data:`MEMORY_SEC`).

        Returns
        -------
        bool
            Whether the speakers were heard (and the way was measured).
        """
        signal = require("scipy.signal", "audio")
        found = speaker_lag(heard, played, self.sample_rate)
        if found is None:
            return False
        lag, self.clarity = found
        if self._lag is not None and abs(lag - self._lag) > JUMP_SEC * self.sample_rate:
            self._s_pp = self._s_mp = self._s_mm = None  # a new way: forget the old
            self._seconds = 0.0
        elif self._lag is not None:
            # the same way: a delay between two samples can be found on either; the
            # averages stay lined up on the lag they started from
            lag = self._lag
        x = np.asarray(heard, dtype=np.float64)
        pre = round(MAX_LAG_SEC * self.sample_rate)
        first = lag - round(PRE_RING_SEC * self.sample_rate)  # the response's first sample
        lined = np.asarray(played, dtype=np.float64)[pre - first : pre - first + x.size]
        nper = self.n_fft
        if x.size < nper or lined.size < x.size:
            return False
        opts = {"nperseg": nper, "noverlap": nper // 2, "window": "hann"}
        p_seg = signal.stft(lined, boundary=None, padded=False, **opts)[2]  # bins x segments
        m_seg = signal.stft(x, boundary=None, padded=False, **opts)[2]
        s_pp = (np.abs(p_seg) ** 2).mean(axis=1)
        if not float(s_pp.max()) > 0.0:
            return False  # nothing played over the sound lined up
        s_mp = (m_seg * np.conj(p_seg)).mean(axis=1)
        s_mm = (np.abs(m_seg) ** 2).mean(axis=1)
        if self._memory is not None:
            self._recall(self._memory, s_pp, s_mp, s_mm)
            self._memory = None
        self._seconds += float(new_sec)
        w = min(1.0, max(float(new_sec) / MEMORY_SEC, float(new_sec) / max(self._seconds, 1e-9)))
        if self._s_pp is None or self._s_mp is None or self._s_mm is None:
            self._s_pp, self._s_mp, self._s_mm = s_pp, s_mp, s_mm
        else:
            self._s_pp = (1 - w) * self._s_pp + w * s_pp
            self._s_mp = (1 - w) * self._s_mp + w * s_mp
            self._s_mm = (1 - w) * self._s_mm + w * s_mm
        segments = self._segments(self._seconds)
        transfer = _trusted_transfer(self._s_pp, self._s_mp, self._s_mm, segments)
        response = np.fft.irfft(transfer, nper)[: round(RESPONSE_SEC * self.sample_rate)]
        power = float((np.abs(transfer) ** 2 * self._s_pp).sum())
        self.level_db = 10 * math.log10(max(power, 1e-30) / max(float(self._s_mm.sum()), 1e-30))
        self._lag = lag
        self.now = Echo(first, response.astype(np.float32), self.sample_rate)
        return True

    def _segments(self, seconds: float) -> float:
        """How many half-overlapping segments averages over ``seconds`` of sound hold."""
        return max(1.0, min(seconds, MEMORY_SEC) * self.sample_rate / (self.n_fft // 2))

    def _recall(
        self, mem: SpeakerMemory, s_pp: np.ndarray, s_mp: np.ndarray, s_mm: np.ndarray
    ) -> None:
        """Start from ``mem`` if its way takes some of the sound just heard (these spectra)
        out; a way that adds to it belongs to another room.

        The memory was lined up on the last session's lag, a whole number of samples; this
        session's may fall a sample or two further from the same delay (where its first
        block fell on the clock). The memory is moved by the fraction of a sample, within
        :data:`RECALL_SHIFT_SAMPLES`, that takes out the most."""
        seconds = min(mem.seconds, MEMORY_SEC)
        transfer = _trusted_transfer(mem.s_pp, mem.s_mp, mem.s_mm, self._segments(seconds))
        omega = np.pi * np.arange(transfer.size) / (transfer.size - 1)  # radians per sample
        shifts = np.arange(-RECALL_SHIFT_SAMPLES, RECALL_SHIFT_SAMPLES + 1e-9, 0.125)
        moved = transfer[None, :] * np.exp(-1j * shifts[:, None] * omega[None, :])
        left = _left_power(moved, s_pp, s_mp, s_mm)
        best = int(np.argmin(left))
        if not float(left[best]) < float(s_mm.sum()):
            return
        turn = np.exp(-1j * shifts[best] * omega)
        self._s_pp, self._s_mp, self._s_mm = mem.s_pp, mem.s_mp * turn, mem.s_mm
        self._seconds = seconds
        self.remembered = True

    def memory(self) -> SpeakerMemory | None:
        """Where the way stands now, for the next session (None until it is measured)."""
        if self.now is None or self._s_pp is None or self._s_mp is None or self._s_mm is None:
            return None
        seconds = min(self._seconds, MEMORY_SEC)
        return SpeakerMemory(self.sample_rate, seconds, self._s_pp, self._s_mp, self._s_mm)

    def describe(self) -> str:
        """One line for people."""
        if self.now is None:
            return "does not hear the speakers"
        ms = 1000 * self.lag_sec
        when = (
            f"{ms:.0f} ms after the output's clock"
            if ms >= 0
            else f"{-ms:.0f} ms before the output's clock"
        )
        since = ", starting from the last session's way" if self.remembered else ""
        return (
            f"hears the speakers {when}, at {self.level_db:.0f} dB of all it hears; their "
            f"sound is taken out{since}"
        )


#: The gate keeps this much of the sound ...
_GATE_KEEP_SEC = 2.0
#: ... and measures each band's energy over chunks this long, after letting its filter
#: settle this long first.
_CHUNK_SEC, _SETTLE_SEC = 0.001, 0.03
#: A hit's rise is measured from the least energy over this span before its onset (less
#: the last few milliseconds, which the onset's own frame may already hold) ...
_BASE_SEC, _GAP_SEC = 0.025, 0.005
#: ... to the most over this span after it (as much of it as has been heard).
_RISE_SEC = 0.03


class SpeakerGate:
    """Tells the speakers' remains from the player's strokes, hit by hit.

    What is left of the speakers' sound after taking it out is a fraction of it: where
    the drums drown the way from the speakers (a kick's lows under the player's own
    kick), a large one. In a rest the detector finds those remains. A hit is the
    speakers' when, in each of three bands (below 250 Hz, 250 Hz-3 kHz, above; the
    detector's attack bands), the sound left rose less over its onset than the
    speakers' sound did: a stroke of the player's own rises above what the speakers put
    there in its own band, even when they play together.

    Parameters
    ----------
    sample_rate : int

    Notes
    -----
    The audio callback only keeps the samples (:meth:`add`); the bands are worked out
    for the few milliseconds around each hit, when it is checked.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        n = round(_GATE_KEEP_SEC * self.sample_rate)
        self._kept = np.zeros((2, n), np.float32)  # the sound left, the speakers' sound
        self._until: int | None = None  # the stream's sample after the last kept

    def add(self, at: int, left: np.ndarray, heard: np.ndarray) -> None:
        """The sound left after taking the speakers out, and the speakers' sound taken out,
        from sample ``at`` of the stream on."""
        size = self._kept.shape[1]
        x = np.stack([np.asarray(left, np.float32), np.asarray(heard, np.float32)])[:, -size:]
        first = int(at) + len(left) - x.shape[1]
        self._kept[:, (first + np.arange(x.shape[1])) % size] = x
        self._until = first + x.shape[1]

    def speakers_only(self, onset_sample: int) -> bool:
        """Whether a hit at ``onset_sample`` of the stream is the speakers' remains."""
        from cymbalism.io.audio.detector import _attack_bands

        if self._until is None:
            return False
        signal = require("scipy.signal", "audio")
        sr, size = self.sample_rate, self._kept.shape[1]
        chunk = max(1, round(_CHUNK_SEC * sr))
        base = round(_BASE_SEC * sr) // chunk * chunk
        lo = int(onset_sample) - base - round(_SETTLE_SEC * sr)
        hi = min(int(onset_sample) + round(_RISE_SEC * sr), self._until)
        if lo < self._until - size or hi - int(onset_sample) < chunk:
            return False  # not kept (before the gate started, or forgotten)
        x = self._kept[:, np.arange(lo, hi) % size].astype(np.float64)
        skip = round(_SETTLE_SEC * sr)
        gap = round(_GAP_SEC * sr) // chunk
        rises = []
        for sos in _attack_bands(sr):
            y = signal.sosfilt(sos, x, axis=1)[:, skip:]
            n = y.shape[1] // chunk
            energy = (y[:, : n * chunk] ** 2).reshape(2, n, chunk).sum(axis=2)
            k = base // chunk  # the onset's chunk
            rises.append(energy[:, k - gap :].max(axis=1) - energy[:, : k - gap].min(axis=1))
        left, heard = np.array(rises).T
        return bool(np.any(heard > 0) and np.all(left < heard))
