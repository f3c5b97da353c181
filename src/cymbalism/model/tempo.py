"""TempoMap: tempo changes and time signatures; the only way between quarter notes and seconds.

Conventions
-----------
- Musical position is in quarter notes (``qn``) from the start of the song, float64.
- BPM always means quarter notes per minute, whatever the time signature.
- Any positive, finite tempo is a tempo: chart files use tempos far below 1 BPM (0.8 BPM
  to hold the music still for a moment) and far above 1000, and the games play them.
- Bars and beats are counted from 0. A beat is the time signature's denominator note
  (a quarter in 4/4, an eighth in 6/8).
- A time signature change starts a new bar where it stands, as Clone Hero and Rock Band
  do. When it falls inside a bar of the signature before it, that bar ends early: it is
  a short bar, counted as one bar, and the bars after it are numbered on from there.
- Before the first change and after the last one the map extends its first and last
  tempo and time signature, so count-ins before ``qn = 0`` have times below zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cymbalism.errors import InputError

__all__ = ["MAX_BPM", "MIN_BPM", "TempoMap"]

#: The range of tempos a person plays or taps. Not a limit of :class:`TempoMap` (a chart
#: may hold any positive tempo): it bounds tempo estimates and clicks that people set.
MIN_BPM = 1.0
MAX_BPM = 1000.0
#: A time signature this close to a bar line (in bars) is on it: rounding in files.
_ON_BAR_LINE = 1e-6


def _check_bpm(bpm: np.ndarray, qn: np.ndarray) -> None:
    bad = ~np.isfinite(bpm) | (bpm <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"a tempo of {bpm[i]:g} BPM at quarter note {qn[i]:g} is not usable: "
            "a tempo must be a positive, finite number of beats per minute"
        )


class TempoMap:
    """Tempo changes and time signatures of a song.

    Parameters
    ----------
    tempos : sequence of (qn, bpm)
        Tempo changes. The first must be at ``qn = 0``; positions strictly increase.
    time_signatures : sequence of (qn, numerator, denominator), optional
        Time signature changes; the first at ``qn = 0``. Each starts a bar; one inside a
        bar of the signature before it ends that bar early. Defaults to 4/4 from the start.

    Examples
    --------
    >>> tm = TempoMap([(0.0, 120.0), (8.0, 60.0)])
    >>> float(tm.qn_to_sec(10.0))
    6.0
    """

    __slots__ = (
        "_bar_qn",
        "_bars_before",
        "bpm",
        "change_qn",
        "change_sec",
        "ts_den",
        "ts_num",
        "ts_qn",
    )

    def __init__(
        self,
        tempos: Sequence[tuple[float, float]],
        time_signatures: Sequence[tuple[float, int, int]] | None = None,
    ) -> None:
        if len(tempos) == 0:
            raise InputError("a tempo map needs at least one tempo")
        t = np.asarray(tempos, dtype=np.float64).reshape(-1, 2)
        change_qn, bpm = t[:, 0].copy(), t[:, 1].copy()
        if not np.isfinite(change_qn).all():
            raise InputError("tempo change positions must be finite quarter-note positions")
        if change_qn[0] != 0.0:
            raise InputError(f"the first tempo must be at quarter note 0, not {change_qn[0]:g}")
        if (np.diff(change_qn) <= 0).any():
            raise InputError("tempo changes must be at strictly increasing positions")
        _check_bpm(bpm, change_qn)
        if time_signatures is None or len(time_signatures) == 0:
            time_signatures = [(0.0, 4, 4)]
        ts = np.asarray(time_signatures, dtype=np.float64).reshape(-1, 3)
        ts_qn, num, den = ts[:, 0].copy(), ts[:, 1].astype(np.int64), ts[:, 2].astype(np.int64)
        if ts_qn[0] != 0.0:
            raise InputError(
                f"the first time signature must be at quarter note 0, not {ts_qn[0]:g}"
            )
        if (np.diff(ts_qn) <= 0).any():
            raise InputError("time signature changes must be at strictly increasing positions")
        if (num < 1).any() or (den < 1).any() or ((den & (den - 1)) != 0).any():
            raise InputError(
                "a time signature needs a positive numerator and a power-of-two denominator"
            )
        self.change_qn = change_qn
        self.bpm = bpm
        sec_per_qn = 60.0 / bpm
        self.change_sec = np.concatenate([[0.0], np.cumsum(np.diff(change_qn) * sec_per_qn[:-1])])
        self.ts_qn = ts_qn
        self.ts_num = num
        self.ts_den = den
        self._bar_qn = num * 4.0 / den
        # Whole bars per segment, a short last bar counted as one (a change mid-bar).
        seg_bars = np.diff(ts_qn) / self._bar_qn[:-1]
        whole = np.floor(seg_bars + _ON_BAR_LINE)
        seg_count = whole + (seg_bars - whole > _ON_BAR_LINE)
        self._bars_before = np.concatenate([[0], np.cumsum(seg_count)]).astype(np.int64)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def constant(cls, bpm: float, numerator: int = 4, denominator: int = 4) -> TempoMap:
        """One tempo and one time signature for the whole song."""
        return cls([(0.0, float(bpm))], [(0.0, numerator, denominator)])

    def scaled(self, factor: float) -> TempoMap:
        """The same song played ``factor`` times as fast (0.7 for a 70% practice tempo)."""
        if not np.isfinite(factor) or factor <= 0:
            raise InputError(f"a tempo scale must be positive, got {factor}")
        return TempoMap(
            list(zip(self.change_qn, self.bpm * factor, strict=True)), self.time_signatures
        )

    # ------------------------------------------------------------------ views
    @property
    def tempos(self) -> list[tuple[float, float]]:
        """Tempo changes as ``(qn, bpm)`` pairs."""
        return [(float(q), float(b)) for q, b in zip(self.change_qn, self.bpm, strict=True)]

    @property
    def time_signatures(self) -> list[tuple[float, int, int]]:
        """Time signature changes as ``(qn, numerator, denominator)``."""
        return [
            (float(q), int(n), int(d))
            for q, n, d in zip(self.ts_qn, self.ts_num, self.ts_den, strict=True)
        ]

    @property
    def is_constant(self) -> bool:
        """Whether the song has a single tempo."""
        return self.bpm.size == 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TempoMap):
            return NotImplemented
        return (
            np.allclose(self.change_qn, other.change_qn)
            and self.change_qn.shape == other.change_qn.shape
            and np.allclose(self.bpm, other.bpm)
            and self.time_signatures == other.time_signatures
        )

    def __repr__(self) -> str:
        ts = ", ".join(f"{n}/{d}@{q:g}" for q, n, d in self.time_signatures)
        tempi = ", ".join(f"{b:g}@{q:g}" for q, b in self.tempos[:4])
        more = ", ..." if len(self.tempos) > 4 else ""
        return f"TempoMap(bpm=[{tempi}{more}], ts=[{ts}])"

    # ------------------------------------------------------------------ conversions
    def qn_to_sec(self, qn: np.ndarray | float) -> np.ndarray:
        """Quarter-note positions to seconds (vectorised).

        Parameters
        ----------
        qn : np.ndarray [shape=(n,), float64, quarter notes] or float

        Returns
        -------
        sec : np.ndarray [shape=(n,), float64, seconds]
        """
        q = np.asarray(qn, dtype=np.float64)
        i = np.clip(np.searchsorted(self.change_qn, q, side="right") - 1, 0, None)
        return self.change_sec[i] + (q - self.change_qn[i]) * (60.0 / self.bpm[i])

    def sec_to_qn(self, sec: np.ndarray | float) -> np.ndarray:
        """Seconds to quarter-note positions (vectorised); the inverse of :meth:`qn_to_sec`."""
        s = np.asarray(sec, dtype=np.float64)
        i = np.clip(np.searchsorted(self.change_sec, s, side="right") - 1, 0, None)
        return self.change_qn[i] + (s - self.change_sec[i]) * (self.bpm[i] / 60.0)

    def bpm_at(self, qn: np.ndarray | float) -> np.ndarray:
        """The tempo in force at each position."""
        q = np.asarray(qn, dtype=np.float64)
        i = np.clip(np.searchsorted(self.change_qn, q, side="right") - 1, 0, None)
        return self.bpm[i]

    def _ts_index(self, qn: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.ts_qn, qn, side="right") - 1, 0, None)

    def qn_to_bar_beat(self, qn: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Bar number and beat within the bar of each position, both counted from 0.

        Returns
        -------
        bar : np.ndarray [shape=(n,), int64]
            Negative before the song starts (a count-in).
        beat : np.ndarray [shape=(n,), float64]
            Beats from the bar line, in units of the denominator note.
        """
        q = np.asarray(qn, dtype=np.float64)
        j = self._ts_index(q)
        rel = q - self.ts_qn[j]
        bar_len = self._bar_qn[j]
        # A small tolerance keeps a note written on a bar line from landing in the bar before.
        n_bars = np.floor(rel / bar_len + 1e-9)
        beat = (rel - n_bars * bar_len) / (4.0 / self.ts_den[j])
        return (self._bars_before[j] + n_bars).astype(np.int64), np.maximum(beat, 0.0)

    def bar_to_qn(self, bar: np.ndarray | int) -> np.ndarray:
        """The position of the start of each bar (bar 0 starts at quarter note 0)."""
        b = np.asarray(bar, dtype=np.int64)
        j = np.clip(np.searchsorted(self._bars_before, b, side="right") - 1, 0, None)
        return self.ts_qn[j] + (b - self._bars_before[j]) * self._bar_qn[j]

    def bar_length_qn(self, bar: np.ndarray | int) -> np.ndarray:
        """The length of each bar in quarter notes (shorter for a bar that a time
        signature change cuts off)."""
        b = np.asarray(bar, dtype=np.int64)
        j = np.clip(np.searchsorted(self._bars_before, b, side="right") - 1, 0, None)
        start = self.ts_qn[j] + (b - self._bars_before[j]) * self._bar_qn[j]
        next_ts = np.append(self.ts_qn[1:], np.inf)[j]
        return np.minimum(self._bar_qn[j], next_ts - start)

    def beat_length_qn(self, qn: np.ndarray | float) -> np.ndarray:
        """The length of one beat (the denominator note) at each position, in quarter notes."""
        return 4.0 / self.ts_den[self._ts_index(np.asarray(qn, dtype=np.float64))]

    def beats_per_bar(self, qn: np.ndarray | float) -> np.ndarray:
        """The time signature's numerator at each position."""
        return self.ts_num[self._ts_index(np.asarray(qn, dtype=np.float64))]

    def count_in(self, qn: float) -> tuple[np.ndarray, float]:
        """One bar of count-in before the bar that starts at ``qn``.

        A whole bar of the time signature there, at the tempo there, even when that bar
        is cut short (a pickup beat before a time signature change): a drummer counts in
        "1, 2, 3, 4", not "1".

        Returns
        -------
        beat_sec : np.ndarray [shape=(numerator,), float64, seconds]
            Each click from the count-in bar's start; the first is its downbeat.
        bar_sec : float
            The count-in bar's length.
        """
        i = int(self._ts_index(np.asarray(qn, dtype=np.float64)))
        sec_per_qn = 60.0 / float(self.bpm_at(np.float64(qn)))
        beat_sec = 4.0 / float(self.ts_den[i]) * sec_per_qn
        return np.arange(int(self.ts_num[i])) * beat_sec, float(self._bar_qn[i]) * sec_per_qn

    def bar_lines_qn(self, end_qn: float, start_qn: float = 0.0) -> np.ndarray:
        """Every bar line from ``start_qn`` up to (not including) ``end_qn``."""
        first, _ = self.qn_to_bar_beat(np.float64(start_qn))
        last, beat = self.qn_to_bar_beat(np.float64(end_qn))
        stop = int(last) + (1 if float(beat) > 1e-9 else 0)
        bars = self.bar_to_qn(np.arange(int(first), stop))
        return bars[(bars >= start_qn - 1e-9) & (bars < end_qn - 1e-9)]

    def beat_grid_qn(self, end_qn: float, start_qn: float = 0.0) -> np.ndarray:
        """Every beat position from ``start_qn`` up to ``end_qn`` (a click track).

        Beats restart at every bar line; a short bar has the beats that fit in it.
        """
        first_bar, _ = self.qn_to_bar_beat(np.float64(start_qn))
        bars = self.bar_lines_qn(end_qn + self._bar_qn.max(), float(self.bar_to_qn(first_bar)))
        if bars.size == 0:
            return bars
        numbers, _ = self.qn_to_bar_beat(bars)
        lengths = self.bar_length_qn(numbers)
        beat = self.beat_length_qn(bars)
        counts = np.ceil(lengths / beat - 1e-9).astype(np.int64)
        beats = [b + np.arange(int(n)) * d for b, n, d in zip(bars, counts, beat, strict=True)]
        grid = np.concatenate(beats)
        return grid[(grid >= start_qn - 1e-9) & (grid < end_qn - 1e-9)]
