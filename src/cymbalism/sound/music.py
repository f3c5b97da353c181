"""The song's recording along the engine's bar layout: practice tempo, loops, following.

The live engine lays the song out bar by bar (:class:`cymbalism.model.session.BarLayout`):
the notes of chart positions ``[start_qn, end_qn)`` sound at
``base_sec(qn) * stretch + shift_sec``, where ``base_sec`` is the chart's tempo map at the
session's tempo scale. The recording holds chart second ``c`` at ``c + offset_sec``
(:class:`~cymbalism.sound.audio.SongAudio`). So within a bar the recording runs at the
constant speed ``tempo_scale / stretch`` (:class:`BarMap`), whatever tempo changes the
bar has, and :class:`MusicTrack` places it there:

- a bar at speed 1 that continues the bar before it is the recording itself, sample for
  sample (a view of it: no copy, no processing);
- any other bar (a practice tempo, a bar the click followed the duo through) is
  stretched by Signalsmith Stretch with :data:`~cymbalism.sound.stretch.MARGIN_SEC` of
  context on each side, and joined to its neighbours by a :data:`FADE_SEC` crossfade;
- a loop's jump back is such a join: the end of bar B crossfades into the start of bar A
  at the bar line.

Before the first bar the first bar's speed carries on back to the recording's start (or
to ``start_sec``), and after the last one (:meth:`MusicTrack.finish`) the last bar's
speed carries on to the recording's end, so a recording longer or shorter than the chart
plays as it is.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cymbalism.model.session import BarLayout
from cymbalism.model.tempo import TempoMap
from cymbalism.sound.audio import SongAudio
from cymbalism.sound.mixer import Mixer, Placed
from cymbalism.sound.stretch import MARGIN_SEC, PIECE_SEC, Stretcher

__all__ = ["FADE_SEC", "BarMap", "MusicTrack", "bar_maps"]

#: The crossfade at a join between two differently placed stretches of the recording.
FADE_SEC = 0.010
_UNITY = 1e-9


@dataclass(frozen=True)
class BarMap:
    """Recording seconds ``[rec0, rec1)`` sound at song seconds ``[song0, song1)``."""

    rec0: float
    rec1: float
    song0: float
    song1: float

    @property
    def speed(self) -> float:
        """Recording seconds per song second (0.7 at a 70% practice tempo)."""
        span = self.song1 - self.song0
        return (self.rec1 - self.rec0) / span if span > 0 else 1.0

    def rec_to_song(self, rec_sec: float) -> float:
        """The song second a recording second sounds at, on this bar's line."""
        return self.song0 + (rec_sec - self.rec0) / self.speed


def bar_maps(
    layouts: Iterable[BarLayout], chart_map: TempoMap, *, tempo_scale: float, offset_sec: float
) -> list[BarMap]:
    """Each laid-out bar as a stretch of the recording on song time."""
    base = chart_map.scaled(tempo_scale)
    out = []
    for b in layouts:
        q = np.array([b.start_qn, b.end_qn])
        rec = chart_map.qn_to_sec(q) + offset_sec
        song = base.qn_to_sec(q) * b.stretch + b.shift_sec
        out.append(BarMap(float(rec[0]), float(rec[1]), float(song[0]), float(song[1])))
    return out


@dataclass
class _Last:
    placed: Placed
    delta: int | None  # recording frame - song frame, for a bar played as recorded
    bar: BarMap
    end: int  # the song frame its bar ends on


class _Source:
    """One of the recording's parts (the music, the drum stems) on one mixer channel."""

    def __init__(self, frames: np.ndarray, channel: str) -> None:
        self.frames = frames
        self.channel = channel
        self.last: _Last | None = None


class MusicTrack:
    """Places a song's recording on a mixer's time line as bars are laid out.

    Parameters
    ----------
    audio : SongAudio
        At the mixer's sample rate.
    mixer : Mixer
    chart_map : TempoMap
        The chart's own tempo map (at 100%).
    tempo_scale : float
        The session's tempo scale (``Settings.tempo_scale``).
    guide : bool
        Also place the drum stems (on the ``guide`` channel).
    start_sec : float
        The earliest song second anyone hears (the count-in's start): the recording
        before it is not placed.
    background : bool
        Stretch in a worker thread (live: the engine's loop never waits); otherwise
        each call places its bar before it returns (offline).
    frame_offset : int
        The mixer frame of song second 0 (a sound card's mixer counts clock time).
    """

    def __init__(
        self,
        audio: SongAudio,
        mixer: Mixer,
        *,
        chart_map: TempoMap,
        tempo_scale: float = 1.0,
        guide: bool = False,
        start_sec: float = -math.inf,
        background: bool = False,
        frame_offset: int = 0,
    ) -> None:
        if audio.sample_rate != mixer.sample_rate:
            raise ValueError("the song audio and the mixer must share a sample rate")
        self.audio = audio
        self.mixer = mixer
        self.sr = mixer.sample_rate
        self.chart_map = chart_map
        self.tempo_scale = float(tempo_scale)
        self.start_sec = start_sec
        self.frame_offset = int(frame_offset)
        self.fade = max(2, round(FADE_SEC * self.sr))
        self.sources = [_Source(audio.music, "music")]
        if guide and audio.drums is not None:
            self.sources.append(_Source(audio.drums, "guide"))
        self._stretcher: Stretcher | None = None
        self._jobs: queue.SimpleQueue[BarMap | None] | None = None
        self._thread: threading.Thread | None = None
        self.finished = False
        if background:
            self._jobs = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._work, name="music stretch", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ the bars
    def add_bar(self, layout: BarLayout) -> None:
        """Place the recording for one more bar, in the order bars are played."""
        (m,) = bar_maps(
            [layout],
            self.chart_map,
            tempo_scale=self.tempo_scale,
            offset_sec=self.audio.offset_sec,
        )
        if self._jobs is not None:
            self._jobs.put(m)
        else:
            self._place_bar(m)

    def add_bars(self, layouts: Sequence[BarLayout]) -> None:
        """Place many bars, then the recording after the last (offline)."""
        for b in layouts:
            self.add_bar(b)

    def finish(self) -> None:
        """The last bar is placed: let the recording run on to its end at its speed."""
        if self._jobs is not None:
            self._jobs.put(None)
        else:
            self._place_tail()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker thread (live), after the bars given so far are placed."""
        if self._thread is not None and self._jobs is not None:
            self._jobs.put(None)
            self._thread.join(timeout)

    def _work(self) -> None:
        assert self._jobs is not None
        while True:
            m = self._jobs.get()
            if m is None:
                if not self.finished:
                    self._place_tail()
                return
            self._place_bar(m)

    # ------------------------------------------------------------------ placing
    def _stretch(self, x: np.ndarray, speed: float) -> np.ndarray:
        if self._stretcher is None:
            self._stretcher = Stretcher(self.sr, 2)
        return self._stretcher.stretch(x, speed)

    def _frame(self, sec: float) -> int:
        """The mixer frame of a song second."""
        return round(sec * self.sr) + self.frame_offset

    def _sec(self, frame: int) -> float:
        """The song second of a mixer frame."""
        return (frame - self.frame_offset) / self.sr

    def _place_bar(self, m: BarMap) -> None:
        for src in self.sources:
            self._place(src, m)

    def _place(self, src: _Source, m: BarMap) -> None:
        f0, f1 = self._frame(m.song0), self._frame(m.song1)
        if f1 <= f0:
            return
        last, half = src.last, self.fade // 2
        if abs(m.speed - 1.0) < _UNITY:
            delta = round((m.rec0 - m.song0) * self.sr) - self.frame_offset
            if last is not None and last.delta == delta and last.end == f0:
                # The recording carries on as recorded: no join at all.
                last.placed.end = min(f1 + half, src.frames.shape[0] - delta)
                last.placed.fade_out = self.fade
                src.last = _Last(last.placed, delta, m, f1)
                return
            start = f0 - half if last is not None else self._first_frame(m)
            start = max(start, -delta)  # not before the recording starts
            end = min(f1 + half, src.frames.shape[0] - delta)
            if end <= start:
                src.last = None
                return
            placed = Placed(
                start,
                src.frames[start + delta :],
                src.channel,
                end=end,
                fade_in=self.fade if last is not None else 0,
                fade_out=self.fade,
            )
            self.mixer.add(placed)
            src.last = _Last(placed, delta, m, f1)
            return
        first = self._first_frame(m) if last is None else f0 - half
        self._place_stretched(src, m, first, f1 + half, fade_in=last is not None)

    def _first_frame(self, m: BarMap) -> int:
        """Where the first bar's music starts: the recording's start, or ``start_sec``."""
        sec = max(m.rec_to_song(0.0), self.start_sec)
        return min(self._frame(m.song0), self._frame(sec))

    def _place_stretched(
        self, src: _Source, m: BarMap, first: int, last: int, *, fade_in: bool
    ) -> None:
        """Stretch the recording for song frames ``[first, last)`` along ``m``, in pieces."""
        n_rec = src.frames.shape[0]
        piece = max(self.fade * 4, round(PIECE_SEC * self.sr))
        margin = round(MARGIN_SEC * self.sr)
        placed: Placed | None = None
        a = first
        while a < last:
            b = min(a + piece, last)
            # the recording for song frames [a, b), with context on both sides
            r0 = m.rec0 + (self._sec(a) - m.song0) * m.speed
            r1 = m.rec0 + (self._sec(b) - m.song0) * m.speed
            ia = max(0, math.floor(r0 * self.sr) - margin)
            ib = min(n_rec, math.ceil(r1 * self.sr) + margin)
            if ib - ia <= margin or r1 * self.sr <= 0:
                a = b
                continue
            y = self._stretch(src.frames[ia:ib], m.speed)
            o = self._frame(m.rec_to_song(ia / self.sr))  # where y[0] sounds
            start = max(a - (self.fade // 2 if placed is not None else 0), o)
            stop = min(b + self.fade // 2, o + y.shape[0])
            if stop <= start:
                a = b
                continue
            piece_fade_in = fade_in if placed is None else True
            placed = Placed(
                start,
                y[start - o :],
                src.channel,
                end=stop,
                fade_in=self.fade if piece_fade_in else 0,
                fade_out=self.fade,
            )
            self.mixer.add(placed)
            a = b
        src.last = None if placed is None else _Last(placed, None, m, self._frame(m.song1))

    def _place_tail(self) -> None:
        self.finished = True
        for src in self.sources:
            last = src.last
            if last is None:
                continue
            if last.delta is not None:
                last.placed.end = src.frames.shape[0] - last.delta
                last.placed.fade_out = 0
                continue
            rec_end = src.frames.shape[0] / self.sr
            tail_end = self._frame(last.bar.rec_to_song(rec_end))
            if tail_end > last.end:
                self._place_stretched(
                    src, last.bar, last.end - self.fade // 2, tail_end, fade_in=True
                )
