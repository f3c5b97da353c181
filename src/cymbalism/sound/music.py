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

from cymbalism.errors import DeviceError
from cymbalism.model.session import BarLayout
from cymbalism.model.tempo import TempoMap
from cymbalism.sound.audio import SongAudio
from cymbalism.sound.mixer import Mixer, Placed
from cymbalism.sound.stretch import MARGIN_SEC, PIECE_SEC, Stretcher, StretchProcess

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
    pieces: list[Placed]  # what was placed for the last bar (and the guess after it)
    delta: int | None  # recording frame - song frame, for a bar played as recorded
    bar: BarMap
    end: int  # the song frame its bar ends on
    covered: int  # the frame the music placed along its line reaches (before the fade)


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
        Place bars in a worker thread, stretching them in a worker process (live: the
        engine's loop and the sound card's callback never wait); otherwise each call
        places its bar before it returns (offline).
    frame_offset : int
        The mixer frame of song second 0 (a sound card's mixer counts clock time).
    ahead_sec : float
        Also place this much music past each bar, along its line (live): if the next bar
        comes late or is stretched late, the music plays on instead of stopping, and
        gives way to the next bar where it can still join (crossfaded).
    stretcher : Stretcher or StretchProcess, optional
        What stretches the recording (live: a :class:`StretchProcess` started ahead, so
        that the first bar does not wait for it; by default one is made when needed).
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
        ahead_sec: float = 0.0,
        stretcher: Stretcher | StretchProcess | None = None,
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
        self.ahead = max(0, round(ahead_sec * self.sr))
        #: Bars whose music joined after their bar line (placed after the sound card had
        #: passed it); also pieces that started late.
        self.late = 0
        self.sources = [_Source(audio.music, "music")]
        if guide and audio.drums is not None:
            self.sources.append(_Source(audio.drums, "guide"))
        self._stretcher = stretcher
        self._own_process = stretcher is None and background
        if self._own_process:
            self._stretcher = StretchProcess(self.sr, 2)
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
        """Stop the worker thread and process (live), after the bars given so far."""
        if self._thread is not None and self._jobs is not None:
            self._jobs.put(None)
            self._thread.join(timeout)
        if self._own_process and isinstance(self._stretcher, StretchProcess):
            self._stretcher.close()

    def _work(self) -> None:
        assert self._jobs is not None
        try:
            while True:
                m = self._jobs.get()
                if m is None:
                    if not self.finished:
                        self._place_tail()
                    return
                self._place_bar(m)
        except (OSError, ValueError, DeviceError):  # stopped while a bar was stretched
            return

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
        until = f1 + half + self.ahead  # with the guess at what follows (live)
        if last is not None and self._continues(last, m, f0):
            # The recording carries on along the same line: no join at all.
            if last.delta is not None:
                last.pieces[-1].end = min(until, src.frames.shape[0] - last.delta)
                last.pieces[-1].fade_out = self.fade
                last.covered = last.pieces[-1].end - half
            elif last.covered < until - half:
                more = self._place_stretched(src, m, last.covered - half, until, fade_in=True)
                last.pieces += more
                last.covered = max(last.covered, *(p.end - half for p in more))
            last.bar, last.end = m, f1
            return
        join = f0
        if self.mixer.rendered_until is not None:  # live: a bar that came late joins later
            join = max(join, self.mixer.rendered_until + self.fade)
            self.late += join > f0
        if last is not None:
            for piece in last.pieces:  # what was placed beyond the join gives way
                piece.cut(join - half, self.fade)
        first = self._first_frame(m) if last is None else join - half
        if abs(m.speed - 1.0) < _UNITY:
            delta = round((m.rec0 - m.song0) * self.sr) - self.frame_offset
            start = max(first, -delta)  # not before the recording starts
            end = min(until, src.frames.shape[0] - delta)
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
            src.last = _Last([placed], delta, m, f1, end - half)
            return
        pieces = self._place_stretched(src, m, first, until, fade_in=last is not None)
        covered = max((p.end - half for p in pieces), default=first)
        src.last = _Last(pieces, None, m, f1, covered) if pieces else None

    def _continues(self, last: _Last, m: BarMap, f0: int) -> bool:
        """Whether bar ``m`` carries on the recording along the line of the last bar."""
        if last.end != f0 or abs(m.speed - last.bar.speed) > _UNITY:
            return False
        if last.delta is not None:
            return last.delta == round((m.rec0 - m.song0) * self.sr) - self.frame_offset
        return abs(m.rec0 - last.bar.rec1) * self.sr < 0.5

    def _first_frame(self, m: BarMap) -> int:
        """Where the first bar's music starts: the recording's start, or ``start_sec``."""
        sec = max(m.rec_to_song(0.0), self.start_sec)
        return min(self._frame(m.song0), self._frame(sec))

    def _place_stretched(
        self, src: _Source, m: BarMap, first: int, last: int, *, fade_in: bool
    ) -> list[Placed]:
        """Stretch the recording for song frames ``[first, last)`` along ``m``, in pieces."""
        n_rec = src.frames.shape[0]
        piece = max(self.fade * 4, round(PIECE_SEC * self.sr))
        margin = round(MARGIN_SEC * self.sr)
        pieces: list[Placed] = []
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
            start = max(a - (self.fade // 2 if pieces else 0), o)
            stop = min(b + self.fade // 2, o + y.shape[0])
            if stop <= start:
                a = b
                continue
            piece_fade_in = fade_in if not pieces else True
            placed = Placed(
                start,
                y[start - o :],
                src.channel,
                end=stop,
                fade_in=self.fade if piece_fade_in else 0,
                fade_out=self.fade,
            )
            if self.mixer.rendered_until is not None and start < self.mixer.rendered_until:
                self.late += 1
            self.mixer.add(placed)
            pieces.append(placed)
            a = b
        return pieces

    def _place_tail(self) -> None:
        self.finished = True
        for src in self.sources:
            last = src.last
            if last is None:
                continue
            if last.delta is not None:
                last.pieces[-1].end = src.frames.shape[0] - last.delta
                last.pieces[-1].fade_out = 0
                continue
            rec_end = src.frames.shape[0] / self.sr
            tail_end = self._frame(last.bar.rec_to_song(rec_end))
            if tail_end > last.covered:
                half = self.fade // 2
                self._place_stretched(src, last.bar, last.covered - half, tail_end, fade_in=True)
