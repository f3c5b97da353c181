"""The mixer: sounds placed on one time line, mixed block by block into stereo.

Everything that sounds in a session is a :class:`Placed` sound: a drum sample for a
stroke, a click, a stretch of the song's recording. Each has the frame it starts on
(frame ``f`` sounds at song second ``f / sample_rate``), a channel and a gain and pan.
:meth:`Mixer.render` mixes the frames ``[start, start + frames)`` of everything placed:
it is a pure function of (time line, block), so the sound card's callback and an offline
render are the same code, and tests check the callback offline.

Channels
--------
``music`` (the recording without its drums), ``guide`` (the song's own drum stems;
silent by default, since the players are the drummers), ``click`` (the metronome: the
click and the backing of the part nobody plays), ``own`` (the first player's strokes)
and ``partner`` (everyone else's). Each has a gain (:data:`DEFAULT_GAINS`,
``--mix music=0.8,click=0.3``).

Sounds are added with :meth:`Mixer.add` from any thread (a lock-free deque); the
callback takes them in, keeps them ordered by start in a heap and drops them once they
have ended, so it never waits on the code that schedules.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from cymbalism.errors import InputError

__all__ = ["CHANNELS", "DEFAULT_GAINS", "Mixer", "Placed", "parse_mix"]

#: The mixer's channels.
CHANNELS = ("music", "guide", "click", "own", "partner")
#: Their gains unless told otherwise: the drum stems are muted (the players are the drums).
DEFAULT_GAINS: Mapping[str, float] = {
    "music": 0.8,
    "guide": 0.0,
    "click": 0.5,
    "own": 0.9,
    "partner": 0.9,
}
_MAX_GAIN = 2.0


def parse_mix(text: str | None, base: Mapping[str, float] | None = None) -> dict[str, float]:
    """Channel gains from ``music=0.8,click=0.3`` (the others keep ``base``).

    Raises
    ------
    InputError
        An unknown channel or a gain outside 0-2.
    """
    gains = dict(DEFAULT_GAINS if base is None else base)
    if not text:
        return gains
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in CHANNELS:
            raise InputError(
                f"--mix takes CHANNEL=GAIN pairs (channels: {', '.join(CHANNELS)}), got {item!r}"
            )
        try:
            gain = float(value)
        except ValueError:
            raise InputError(f"--mix {name}: {value!r} is not a number") from None
        if not 0.0 <= gain <= _MAX_GAIN:
            raise InputError(f"--mix {name}={gain:g}: a gain lies in 0-{_MAX_GAIN:g}")
        gains[name] = gain
    return gains


@dataclass(eq=False)
class Placed:
    """One sound on the time line.

    Attributes
    ----------
    start : int
        The frame ``data[0]`` sounds on.
    data : np.ndarray [shape=(n,) mono or (n, 2) stereo, float32]
        Not copied; it must not change while it sounds.
    channel : str
    gain : float
    pan : float
        -1 (left) to 1 (right), for mono data.
    end : int
        The frame it stops at (``start + n`` unless cut short, as a choke does).
    fade_in, fade_out : int
        Frames of raised-cosine fade after ``start`` and before ``end``.
    """

    start: int
    data: np.ndarray
    channel: str
    gain: float = 1.0
    pan: float = 0.0
    end: int = -1
    fade_in: int = 0
    fade_out: int = 0
    _order: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise InputError(f"no mixer channel {self.channel!r}; channels: {CHANNELS}")
        full = self.start + int(self.data.shape[0])
        self.end = full if self.end < 0 else min(self.end, full)

    def cut(self, at: int, fade: int) -> None:
        """Stop at frame ``at`` with a fade of ``fade`` frames (a choke)."""
        if at < self.end:
            self.end = max(self.start, at + fade)
            self.fade_out = min(fade, self.end - self.start)


def _ramp(n: int) -> np.ndarray:
    """A raised-cosine fade-in of ``n`` frames; with its reverse it sums to 1."""
    return (np.sin(np.pi / 2 * (np.arange(n) + 0.5) / n) ** 2).astype(np.float32)


class Mixer:
    """Sounds on a time line, mixed into stereo float32 blocks.

    Parameters
    ----------
    sample_rate : int
    gains : Mapping[str, float], optional
        Channel gains (:data:`DEFAULT_GAINS` for those not given).
    """

    def __init__(self, sample_rate: int, gains: Mapping[str, float] | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.gains = {**DEFAULT_GAINS, **(gains or {})}
        unknown = set(self.gains) - set(CHANNELS)
        if unknown:
            raise InputError(f"no mixer channel {sorted(unknown)}; channels: {CHANNELS}")
        self._incoming: deque[Placed] = deque()
        self._future: list[tuple[int, int, Placed]] = []
        self._active: list[Placed] = []
        self._count = itertools.count()
        self._ramps: dict[int, np.ndarray] = {}
        self.rendered_until: int | None = None

    # ------------------------------------------------------------------ scheduling
    def add(self, sound: Placed) -> Placed:
        """Place a sound (any thread). Returns it, so it can be cut later."""
        self._incoming.append(sound)
        return sound

    def add_all(self, sounds: Iterable[Placed]) -> None:
        """Place many sounds."""
        for s in sounds:
            self.add(s)

    def frame_of(self, song_sec: float) -> int:
        """The frame a song second sounds on."""
        return round(song_sec * self.sample_rate)

    # ------------------------------------------------------------------ mixing
    def _ramp(self, n: int) -> np.ndarray:
        r = self._ramps.get(n)
        if r is None:
            r = self._ramps[n] = _ramp(n)
        return r

    def _take_incoming(self) -> None:
        while self._incoming:
            s = self._incoming.popleft()
            heapq.heappush(self._future, (s.start, next(self._count), s))

    def render(
        self, start: int, frames: int, out: np.ndarray | None = None, *, clip: bool = True
    ) -> np.ndarray:
        """Mix frames ``[start, start + frames)`` of every sound placed.

        Parameters
        ----------
        start : int
            The block's first frame (song second ``start / sample_rate``).
        frames : int
        out : np.ndarray [shape=(frames, 2), float32], optional
            Written in place (a sound card's buffer); a new array otherwise.
        clip : bool
            Clip to -1..1 (False: a stem that is summed with others before it is heard).

        Returns
        -------
        out : np.ndarray [shape=(frames, 2), float32]
        """
        if out is None:
            out = np.zeros((frames, 2), np.float32)
        else:
            out.fill(0.0)
        self._take_incoming()
        stop = start + frames
        while self._future and self._future[0][0] < stop:
            self._active.append(heapq.heappop(self._future)[2])
        keep: list[Placed] = []
        for s in self._active:
            if s.end <= start:
                continue
            if s.end > stop:
                keep.append(s)
            a, b = max(s.start, start), min(s.end, stop)
            if b <= a:
                continue
            gain = s.gain * self.gains.get(s.channel, 0.0)
            if gain == 0.0:
                continue
            chunk = s.data[a - s.start : b - s.start]
            env = None
            if s.fade_in and a < s.start + s.fade_in:
                env = np.ones(b - a, np.float32)
                r = self._ramp(s.fade_in)
                k = min(b, s.start + s.fade_in) - a
                env[:k] = r[a - s.start : a - s.start + k]
            if s.fade_out and b > s.end - s.fade_out:
                env = np.ones(b - a, np.float32) if env is None else env
                r = self._ramp(s.fade_out)[::-1]
                lo = max(a, s.end - s.fade_out)
                env[lo - a :] *= r[lo - (s.end - s.fade_out) : b - (s.end - s.fade_out)]
            dst = out[a - start : b - start]
            if chunk.ndim == 1:
                mono = chunk * gain if env is None else chunk * (env * gain)
                left, right = min(1.0, 1.0 - s.pan), min(1.0, 1.0 + s.pan)
                dst[:, 0] += mono * left
                dst[:, 1] += mono * right
            elif env is None:
                dst += chunk * gain
            else:
                dst += chunk * (env * gain)[:, None]
        self._active = keep
        if clip:
            np.clip(out, -1.0, 1.0, out=out)
        self.rendered_until = stop
        return out

    def render_span(
        self, start: int, stop: int, *, block: int = 8192, clip: bool = True
    ) -> np.ndarray:
        """Mix frames ``[start, stop)`` block by block (an offline render)."""
        out = np.zeros((max(stop - start, 0), 2), np.float32)
        for a in range(start, stop, block):
            b = min(a + block, stop)
            self.render(a, b - a, out[a - start : b - start], clip=clip)
        return out

    @property
    def idle(self) -> bool:
        """Whether nothing is sounding or waiting to sound."""
        return not (self._incoming or self._future or self._active)

    def last_frame(self) -> int:
        """The frame after the last sound placed ends (``0`` with none)."""
        self._take_incoming()
        ends = [s.end for s in self._active] + [s.end for _, _, s in self._future]
        return max(ends, default=0)
