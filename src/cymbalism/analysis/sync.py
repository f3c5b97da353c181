"""Between two players: asynchrony at shared chart positions, over time, and when they met.

Conventions
-----------
- Asynchrony = A - B in seconds: positive means A played after B.
- With a chart (onsetsync's definition): at every chart position (a time in the
  chart) where both players hit at least one note, the asynchrony is A's onset
  minus B's onset. Where a player hit several lanes at one position (kick and
  hi-hat together, say), that player's onset there is the **mean** of those hits'
  onsets, so each position counts once and a chord does not weigh more than a
  single note. Positions are the same chart time to the microsecond. The two
  players may play different parts (levels) of one chart; only positions that
  both parts have, and both players hit, count.
- Without a chart the two players' hits are matched one to one within a window,
  as ``mir_eval.util.match_events`` does (the largest number of pairs; among those
  the smallest total distance), per lane by default.
- Summary figures use :func:`cymbalism.analysis.windows.moments` (sample SD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cymbalism.analysis.align import (
    DEFAULT_WINDOW_SEC,
    Alignment,
    _check_hits,
    _lane_groups,
    match_events,
)
from cymbalism.analysis.windows import moments, windowed_moments
from cymbalism.errors import InputError
from cymbalism.model.hits import Hits

__all__ = [
    "TOGETHER_GAP_SEC",
    "TOGETHER_MIN_COUNT",
    "TOGETHER_SD_SEC",
    "Asynchrony",
    "SyncStats",
    "WindowedSync",
    "asynchrony",
    "asynchrony_unaligned",
    "came_together",
    "sync_stats",
    "together_from_start",
    "windowed_sync",
]

#: Default window for the spread of asynchrony over time: about four bars at 120 BPM.
DEFAULT_SYNC_WINDOW_SEC = 8.0
#: Default step between windows.
DEFAULT_SYNC_HOP_SEC = 1.0
#: The largest spread (SD) of the asynchrony over a window at which a duet counts as
#: together (:func:`came_together`); reports, plots and the terminal say it with this value.
TOGETHER_SD_SEC = 0.030
#: The largest mean gap (either way) over a window at which a duet counts as together:
#: two players a steady 40 ms apart sound as a flam, not as one.
TOGETHER_GAP_SEC = 0.030
#: The fewest asynchronies in a window for its spread to count (:func:`came_together`).
TOGETHER_MIN_COUNT = 4


@dataclass(frozen=True, eq=False)
class Asynchrony:
    """The asynchrony A - B at each shared position.

    Attributes
    ----------
    time_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
        The chart time of each position (without a chart: the midpoint of the pair).
    asynchrony_sec : np.ndarray [shape=(n,), float64, seconds]
        A - B (positive: A later than B).
    """

    time_sec: np.ndarray
    asynchrony_sec: np.ndarray

    def __len__(self) -> int:
        return int(self.time_sec.size)

    def __repr__(self) -> str:
        return f"Asynchrony(n={len(self)})"


def _positions(alignment: Alignment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chart position hit by the player: key (µs), chart time and mean onset (the
    notes under a drum roll left out: a roll is played at each drummer's own rate)."""
    m = alignment.timed
    target_sec = alignment.targets.onset_sec[m]
    onset = alignment.hits.onset_sec[alignment.hit_index[m]]
    key = np.round(target_sec * 1e6).astype(np.int64)
    keys, first, inverse, count = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    mean_onset = np.bincount(inverse, weights=onset, minlength=keys.size) / count
    single = count == 1  # keep single onsets bit-exact
    mean_onset[single] = onset[first[single]]
    return keys, target_sec[first], mean_onset


def asynchrony(align_a: Alignment, align_b: Alignment) -> Asynchrony:
    """Asynchrony A - B at each chart position where both players hit a note.

    Parameters
    ----------
    align_a, align_b : Alignment
        Each player aligned to (a part of) the same chart.

    Returns
    -------
    asy : Asynchrony
        ``asynchrony(b, a)`` is exactly ``-asynchrony(a, b)``.
    """
    for name, al in (("align_a", align_a), ("align_b", align_b)):
        if not isinstance(al, Alignment):
            raise InputError(f"{name} must be an Alignment, got {type(al).__name__}")
    keys_a, time_a, onset_a = _positions(align_a)
    keys_b, time_b, onset_b = _positions(align_b)
    _, ia, ib = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    return Asynchrony(
        time_sec=np.minimum(time_a[ia], time_b[ib]),
        asynchrony_sec=onset_a[ia] - onset_b[ib],
    )


def asynchrony_unaligned(
    hits_a: Hits,
    hits_b: Hits,
    *,
    window_sec: float = DEFAULT_WINDOW_SEC,
    lane_blind: bool = False,
) -> Asynchrony:
    """Asynchrony A - B with no chart: hits matched one to one within a window.

    Parameters
    ----------
    hits_a, hits_b : Hits
    window_sec : float
        Largest |A - B| of a pair, seconds.
    lane_blind : bool
        Match hits of any lanes (as for onsets without lanes); by default a kick
        only pairs with a kick, and a hi-hat with a hi-hat, open or closed (one drum,
        as in :func:`~cymbalism.analysis.align.align`).

    Returns
    -------
    asy : Asynchrony
        One entry per pair, at the pair's midpoint time, sorted by time (pairs at the
        same time by lane).
    """
    hits_a = _check_hits(hits_a, "hits_a")
    hits_b = _check_hits(hits_b, "hits_b")
    ga = _lane_groups(hits_a.lane, lane_blind)
    gb = _lane_groups(hits_b.lane, lane_blind)
    times, asys, lanes = [], [], []
    for g in np.intersect1d(ga, gb).tolist():
        a = hits_a.onset_sec[ga == g]
        b = hits_b.onset_sec[gb == g]
        ia, ib = match_events(a, b, window_sec=window_sec)
        times.append((a[ia] + b[ib]) / 2)
        asys.append(a[ia] - b[ib])
        lanes.append(np.full(ia.size, g))
    if not times:
        return Asynchrony(np.empty(0), np.empty(0))
    t, x, lane = np.concatenate(times), np.concatenate(asys), np.concatenate(lanes)
    order = np.lexsort((lane, t))
    return Asynchrony(t[order], x[order])


@dataclass(frozen=True)
class SyncStats:
    """Summary of the asynchrony: count, mean signed, sample SD, mean absolute (seconds)."""

    n: int
    mean_sec: float
    sd_sec: float
    mean_abs_sec: float


def sync_stats(asy: Asynchrony) -> SyncStats:
    """Count, mean, SD ("pairwise asynchronization" in onsetsync) and mean absolute."""
    m = moments(asy.asynchrony_sec)
    return SyncStats(m.n, m.mean, m.sd, m.mean_abs)


@dataclass(frozen=True, eq=False)
class WindowedSync:
    """Asynchrony figures in windows sliding over the song.

    Attributes
    ----------
    time_sec : np.ndarray [shape=(k,), float64, seconds]
        Window centres (see :mod:`cymbalism.analysis.windows`).
    n : np.ndarray [shape=(k,), int64]
    mean_sec, sd_sec, mean_abs_sec : np.ndarray [shape=(k,), float64, seconds]
    """

    time_sec: np.ndarray
    n: np.ndarray
    mean_sec: np.ndarray
    sd_sec: np.ndarray
    mean_abs_sec: np.ndarray


def windowed_sync(
    asy: Asynchrony,
    *,
    window_sec: float = DEFAULT_SYNC_WINDOW_SEC,
    hop_sec: float = DEFAULT_SYNC_HOP_SEC,
) -> WindowedSync:
    """Asynchrony figures in windows of ``window_sec`` every ``hop_sec``."""
    w = windowed_moments(asy.time_sec, asy.asynchrony_sec, window_sec=window_sec, hop_sec=hop_sec)
    return WindowedSync(w.time_sec, w.n, w.mean, w.sd, w.mean_abs)


def came_together(
    asy: Asynchrony,
    *,
    threshold_sec: float = TOGETHER_SD_SEC,
    window_sec: float = DEFAULT_SYNC_WINDOW_SEC,
    hop_sec: float = DEFAULT_SYNC_HOP_SEC,
    min_count: int = TOGETHER_MIN_COUNT,
    gap_sec: float = TOGETHER_GAP_SEC,
) -> float | None:
    """When the duet came together: from then on, their gap stayed small and steady to
    the end.

    Definition: compute :func:`windowed_sync` (windows of ``window_sec`` centred every
    ``hop_sec`` from the first shared position to the last). A window *counts* if it
    holds at least ``min_count`` asynchronies; it is *together* if its SD is below
    ``threshold_sec`` and its mean lies within ``gap_sec`` of zero (a steady gap of 40 ms
    is steady, but not together). The answer is the centre time of the first counting window
    from which every later counting window is together, i.e. the start of the final
    unbroken run of together windows that reaches the end of the song. If the last
    counting window is not together (they never settled), or no window counts, the
    answer is None. A duet together from the start gets the first position's time.

    Parameters
    ----------
    asy : Asynchrony
    threshold_sec : float
        Largest windowed SD of the asynchrony that counts as together
        (:data:`TOGETHER_SD_SEC`).
    window_sec, hop_sec : float
        Window length and step, seconds.
    min_count : int
        Fewest asynchronies for a window to count (at least 2, for an SD).
    gap_sec : float
        Largest windowed mean asynchrony, either way, that counts as together
        (:data:`TOGETHER_GAP_SEC`).

    Returns
    -------
    time_sec : float or None
        Seconds on the session's clock (chart time with a chart).
    """
    thr, gap = _seconds(threshold_sec, "threshold_sec"), _seconds(gap_sec, "gap_sec")
    if int(min_count) < 2:
        raise InputError(f"min_count must be at least 2 to have an SD, got {min_count!r}")
    w = windowed_sync(asy, window_sec=window_sec, hop_sec=hop_sec)
    counts = w.n >= int(min_count)
    if not counts.any():
        return None
    idx = np.flatnonzero(counts)
    together = (w.sd_sec[idx] < thr) & (np.abs(w.mean_sec[idx]) < gap)
    if not together[-1]:
        return None
    apart = np.flatnonzero(~together)
    first = idx[apart[-1] + 1] if apart.size else idx[0]
    return float(w.time_sec[first])


def _seconds(value: float, name: str) -> float:
    """A positive limit in seconds, under a second."""
    x = float(value)
    if not np.isfinite(x) or x <= 0:
        raise InputError(f"{name} must be a positive number of seconds, got {value!r}")
    if x > 1.0:
        raise InputError(f"{name} = {x:g} s is over a second (did you give milliseconds?)")
    return x


def together_from_start(asy: Asynchrony, came_together_sec: float | None) -> bool:
    """Whether a duet came together (:func:`came_together`) at its first shared note:
    together from the start, however late in the song the drums come in.

    Parameters
    ----------
    asy : Asynchrony
    came_together_sec : float or None
        When they came together, or None.

    Returns
    -------
    from_start : bool
    """
    return (
        came_together_sec is not None
        and len(asy) > 0
        and came_together_sec <= float(asy.time_sec[0]) + 1e-9
    )
