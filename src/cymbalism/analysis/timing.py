"""One player's accuracy against the chart: hit rate, extra hits and timing error.

Conventions
-----------
- Timing error = played - target in seconds; positive = late.
- "Accuracy" is the mean signed error (are you early or late on average?),
  "precision" its sample SD (how steady are you?), and the mean absolute error
  combines both. Misses do not enter the error figures; they lower the hit rate.
- Extra hits are hits that matched no note; per lane they count in the lane struck,
  per bar or window in the bar or window where they sounded.
- The tempo a player kept (:func:`kept_tempo`) is read from the notes they hit, against
  where those notes lie in the song; :mod:`cymbalism.analysis.tempo` reads tempo from
  the hits alone, for playing without a part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cymbalism.analysis.align import Alignment
from cymbalism.analysis.tempo import TempoCurve
from cymbalism.analysis.windows import (
    grouped_moments,
    moments,
    window_centres,
    windowed_moments,
)
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

__all__ = [
    "KEPT_TEMPO_MIN_NOTES",
    "KEPT_TEMPO_MIN_SPAN_QN",
    "TimingStats",
    "WindowedTiming",
    "kept_tempo",
    "timing_by_bar",
    "timing_by_lane",
    "timing_stats",
    "windowed_timing",
]


@dataclass(frozen=True)
class TimingStats:
    """A player's figures over some notes.

    Attributes
    ----------
    n_notes, n_hit, n_miss, n_extra : int
    hit_rate : float
        ``n_hit / n_notes`` (NaN with no notes).
    mean_error_sec : float
        Mean signed error, seconds (positive = late); NaN with no hits.
    sd_error_sec : float
        Sample SD of the error, seconds; NaN below two hits.
    mean_abs_error_sec : float
        Mean absolute error, seconds.
    """

    n_notes: int
    n_hit: int
    n_miss: int
    n_extra: int
    hit_rate: float
    mean_error_sec: float
    sd_error_sec: float
    mean_abs_error_sec: float


def _stats(alignment: Alignment, notes: slice | np.ndarray, n_extra: int) -> TimingStats:
    """The figures over ``alignment``'s ``notes``: hits counted from the matches, timing
    from the notes judged for it (a roll's are not, :attr:`Alignment.timed_error_sec`)."""
    m = moments(alignment.timed_error_sec[notes])
    hit = alignment.hit_index[notes] >= 0
    n_notes, n_hit = int(hit.size), int(np.count_nonzero(hit))
    return TimingStats(
        n_notes=n_notes,
        n_hit=n_hit,
        n_miss=n_notes - n_hit,
        n_extra=int(n_extra),
        hit_rate=n_hit / n_notes if n_notes else float("nan"),
        mean_error_sec=m.mean,
        sd_error_sec=m.sd,
        mean_abs_error_sec=m.mean_abs,
    )


def timing_stats(
    alignment: Alignment, *, start_sec: float | None = None, end_sec: float | None = None
) -> TimingStats:
    """The player's figures over the whole song, or over a span of it.

    Parameters
    ----------
    alignment : Alignment
    start_sec, end_sec : float, optional
        Only the notes due, and the extra hits played, in ``start_sec <= t < end_sec``.

    Returns
    -------
    stats : TimingStats
    """
    if start_sec is None and end_sec is None:
        return _stats(alignment, slice(None), alignment.n_extra)
    lo = -np.inf if start_sec is None else float(start_sec)
    hi = np.inf if end_sec is None else float(end_sec)
    a, b = np.searchsorted(alignment.targets.onset_sec, [lo, hi], side="left")
    extra_sec = alignment.hits.onset_sec[alignment.extra_index]
    c, d = np.searchsorted(extra_sec, [lo, hi], side="left")
    return _stats(alignment, slice(a, b), int(d - c))


def timing_by_lane(alignment: Alignment) -> dict[Lane, TimingStats]:
    """The player's figures per lane, for every lane with a note or an extra hit.

    Returns
    -------
    by_lane : dict[Lane, TimingStats]
        In lane order. A note counts in its own lane (the lane of the chart).
    """
    k = len(Lane)
    note_lane = alignment.targets.lane.astype(np.intp)
    notes = np.bincount(note_lane, minlength=k)
    extras = np.bincount(alignment.hits.lane[alignment.extra_index].astype(np.intp), minlength=k)
    _, mean, sd, mean_abs = grouped_moments(alignment.timed_error_sec, note_lane, k)
    n_hit = np.bincount(note_lane[alignment.matched], minlength=k)
    return {
        Lane(lane): TimingStats(
            n_notes=int(notes[lane]),
            n_hit=int(n_hit[lane]),
            n_miss=int(notes[lane] - n_hit[lane]),
            n_extra=int(extras[lane]),
            hit_rate=float(n_hit[lane] / notes[lane]) if notes[lane] else float("nan"),
            mean_error_sec=float(mean[lane]),
            sd_error_sec=float(sd[lane]),
            mean_abs_error_sec=float(mean_abs[lane]),
        )
        for lane in np.flatnonzero((notes > 0) | (extras > 0)).tolist()
    }


def timing_by_bar(alignment: Alignment, tempo_map: TempoMap) -> dict[int, TimingStats]:
    """The player's figures per bar (bars counted from 0 by the tempo map).

    Parameters
    ----------
    alignment : Alignment
    tempo_map : TempoMap
        The chart's tempo map, which places notes and extra hits in bars.

    Returns
    -------
    by_bar : dict[int, TimingStats]
        For every bar with a note or an extra hit, in bar order.
    """
    note_bar, _ = tempo_map.qn_to_bar_beat(tempo_map.sec_to_qn(alignment.targets.onset_sec))
    extra_sec = alignment.hits.onset_sec[alignment.extra_index]
    extra_bar, _ = tempo_map.qn_to_bar_beat(tempo_map.sec_to_qn(extra_sec))
    bars = np.union1d(note_bar, extra_bar)
    # notes are sorted by time, so each bar's notes form one slice
    lo = np.searchsorted(note_bar, bars, side="left")
    hi = np.searchsorted(note_bar, bars, side="right")
    n_extra = np.searchsorted(extra_bar, bars, side="right") - np.searchsorted(
        extra_bar, bars, side="left"
    )
    return {
        int(bar): _stats(alignment, slice(a, b), int(e))
        for bar, a, b, e in zip(
            bars.tolist(), lo.tolist(), hi.tolist(), n_extra.tolist(), strict=True
        )
    }


@dataclass(frozen=True, eq=False)
class WindowedTiming:
    """The player's figures in windows sliding over the song.

    Attributes
    ----------
    time_sec : np.ndarray [shape=(k,), float64, seconds]
        Window centres (see :mod:`cymbalism.analysis.windows`).
    n_notes, n_hit, n_extra : np.ndarray [shape=(k,), int64]
    hit_rate, mean_error_sec, sd_error_sec, mean_abs_error_sec : np.ndarray [shape=(k,), float64]
        NaN where undefined (no notes, no hits, fewer than two hits).
    """

    time_sec: np.ndarray
    n_notes: np.ndarray
    n_hit: np.ndarray
    n_extra: np.ndarray
    hit_rate: np.ndarray
    mean_error_sec: np.ndarray
    sd_error_sec: np.ndarray
    mean_abs_error_sec: np.ndarray


def windowed_timing(
    alignment: Alignment, *, window_sec: float = 8.0, hop_sec: float = 1.0
) -> WindowedTiming:
    """The player's figures in windows of ``window_sec`` every ``hop_sec`` over the notes.

    Parameters
    ----------
    alignment : Alignment
    window_sec : float
        Window length in seconds (8 s is about four bars at 120 BPM).
    hop_sec : float
        Step between window centres in seconds.

    Returns
    -------
    windows : WindowedTiming
    """
    t = alignment.targets.onset_sec
    w = windowed_moments(t, alignment.timed_error_sec, window_sec=window_sec, hop_sec=hop_sec)
    n_notes = w.hi - w.lo
    hits_before = np.concatenate([[0], np.cumsum(alignment.matched)])
    n_hit = hits_before[w.hi] - hits_before[w.lo]
    extra_sec = alignment.hits.onset_sec[alignment.extra_index]
    n_extra = np.searchsorted(
        extra_sec, w.time_sec + window_sec / 2, side="left"
    ) - np.searchsorted(extra_sec, w.time_sec - window_sec / 2, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n_notes > 0, n_hit / np.maximum(n_notes, 1), np.nan)
    return WindowedTiming(
        time_sec=w.time_sec,
        n_notes=n_notes,
        n_hit=n_hit.astype(np.int64),
        n_extra=n_extra.astype(np.int64),
        hit_rate=rate,
        mean_error_sec=w.mean,
        sd_error_sec=w.sd,
        mean_abs_error_sec=w.mean_abs,
    )


#: Fewest hit notes, and the shortest stretch of the song they must span (quarter notes),
#: from which :func:`kept_tempo` reads a tempo.
KEPT_TEMPO_MIN_NOTES = 4
KEPT_TEMPO_MIN_SPAN_QN = 4.0


def kept_tempo(
    alignment: Alignment,
    tempo_map: TempoMap,
    *,
    window_sec: float = 12.0,
    hop_sec: float = 2.0,
) -> tuple[float, TempoCurve]:
    """The tempo a player kept against their part: over the session, and over time.

    Each hit note's hit time is fitted, by least squares, as a straight line of the
    note's place in the song in quarter notes: the slope is the time the player took per
    quarter note, so ``60 / slope`` is the tempo they kept. Unlike tempo from the hits
    alone (:func:`cymbalism.analysis.tempo.tempo_curve`), this needs no regular pulse in
    the playing, so a beginner's sparse part (a kick on one, a snare on three) gives as
    sure a tempo as a busy groove, and it is never mistaken for double or half time.

    Parameters
    ----------
    alignment : Alignment
        The player's hits against their part (song seconds).
    tempo_map : TempoMap
        The song's tempo as the part was laid out (the notes' seconds -> quarter notes).
    window_sec, hop_sec : float
        Length of the windows over the song and the step between their centres.

    Returns
    -------
    bpm : float
        The tempo kept over the whole session; NaN with too few hit notes.
    curve : TempoCurve
        The tempo kept in each window (centred on the song's seconds); NaN where the
        window holds fewer than :data:`KEPT_TEMPO_MIN_NOTES` hit notes, or notes that
        span less than :data:`KEPT_TEMPO_MIN_SPAN_QN` quarter notes. Its ``song_bpm`` is
        the song's tempo over the same notes, so its drift is the player's against the
        song (a song's own tempo changes are not a drift).
    """
    ok = alignment.timed  # a roll is played at the drummer's own rate
    note_sec = alignment.targets.onset_sec[ok]
    qn = np.asarray(tempo_map.sec_to_qn(note_sec), dtype=np.float64)
    hit_sec = alignment.hits.onset_sec[alignment.hit_index[ok]]
    order = np.argsort(note_sec, kind="stable")
    note_sec, qn, hit_sec = note_sec[order], qn[order], hit_sec[order]
    centres = window_centres(note_sec, hop_sec=hop_sec)
    lo = np.searchsorted(note_sec, centres - window_sec / 2, side="left")
    hi = np.searchsorted(note_sec, centres + window_sec / 2, side="left")
    bpm = _kept_bpm(qn, hit_sec, np.append(lo, 0), np.append(hi, qn.size))
    song_bpm = _kept_bpm(qn, note_sec, lo, hi)  # the song's own, over the same notes
    curve = TempoCurve(time_sec=centres, bpm=bpm[:-1], window_sec=window_sec, song_bpm=song_bpm)
    return float(bpm[-1]), curve


def _kept_bpm(qn: np.ndarray, sec: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``60 / slope`` of ``sec`` against ``qn`` (both sorted) over each range ``[lo, hi)``."""
    bpm = np.full(lo.size, np.nan)
    for i, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        if b - a < KEPT_TEMPO_MIN_NOTES or qn[b - 1] - qn[a] < KEPT_TEMPO_MIN_SPAN_QN:
            continue
        q = qn[a:b] - qn[a]
        slope = float(np.polyfit(q, sec[a:b] - sec[a], 1)[0])
        if slope > 0:
            bpm[i] = 60.0 / slope
    return bpm
