"""Match a player's hits to chart notes, one to one, within a window.

Conventions
-----------
- Times are seconds (float64, sorted). Timing error = played - target, so a positive
  error means late.
- A hit and a note can be matched when ``target >= onset - window_sec`` and
  ``target <= onset + window_sec`` (both ends included, as in ``mir_eval``).
- By default a hit only matches notes of its own drum: its lane, with the open and the
  closed hi-hat one drum (:data:`~cymbalism.model.lanes.JUDGED_AS`); ``lane_blind=True``
  lets any hit match any note (for pads without lanes, or to forgive wrong drums).

The matching rule (causal)
--------------------------
Hits are judged one at a time, in the order they arrive (time order; equal times in
their index order). When a hit arrives it takes the **nearest note that is still
unmatched** among the notes of its drum within the window; on an exact tie in
distance it takes the earlier note. A hit with no unmatched note in reach is an
*extra* hit. A note that no hit has taken is a *miss*.

Drum rolls
----------
A game chart marks a fast roll as a roll lane (:class:`~cymbalism.model.chart.Roll`) over
the notes it writes there; ``roll`` flags those notes. They are matched like any note (a
stroke of the roll within the window hits each), but their timing is not judged (a roll
is played at the drummer's own rate): :attr:`Alignment.timed` leaves them out of every
timing figure. A stroke that matches no note is not an extra hit but part of the roll
(:attr:`Alignment.roll_index`) when a note of its drum under a roll lies within
:data:`ROLL_REACH_SEC` of it (or the window, if wider): a buzz roll, a swell that starts
on one cymbal before the other's first note, a roll held to the end of its lane.

The rule looks only at the chart (known in advance) and at hits that have already
arrived, never at later hits, so the live engine judges each hit the moment it
arrives with :class:`OnlineAligner`, and :func:`align` gives exactly what feeding
all hits one by one to an :class:`OnlineAligner` gives. :func:`align` is vectorised:
it splits the hits of each lane into groups whose windows share notes, resolves
the (usual) groups of one hit with array operations, and runs the same rule hit by
hit only inside the groups where hits compete for notes.

:func:`match_events` is different: it is the symmetric, offline one-to-one matching
of two lists of onsets (two players, or a reference and an estimate) that
maximises the number of pairs, as ``mir_eval.util.match_events`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import NOT_JUDGED, Lane, judged_lanes
from cymbalism.model.session import DEFAULT_WINDOW_SEC
from cymbalism.model.tempo import TempoMap
from cymbalism.model.validate import validate_times

__all__ = [
    "DEFAULT_WINDOW_SEC",
    "MAX_OFFSET_SEC",
    "ROLL_REACH_SEC",
    "Alignment",
    "HeardAs",
    "Judgement",
    "OnlineAligner",
    "SongOffset",
    "align",
    "as_heard",
    "find_offset",
    "grid_targets",
    "heard_ways",
    "match_events",
    "name_heard_drums",
    "name_stroke",
    "named_counts",
]


#: Windows wider than this were probably given in milliseconds.
MAX_WINDOW_SEC = 1.0
#: The furthest a song may start into recordings (a day).
MAX_OFFSET_SEC = 86400.0
#: A stroke this close to a note of its drum under a roll is part of the roll (a roll's
#: notes are 16ths or faster down to 60 BPM, so the strokes between two of them are all
#: this close to one). The live engine lays the song out at least this far ahead, so it
#: knows every roll note that can claim a stroke when the stroke arrives.
ROLL_REACH_SEC = 0.25

_INT = np.int64


def _check_window(window_sec: float) -> float:
    w = float(window_sec)
    if not np.isfinite(w) or w <= 0:
        raise InputError(f"window_sec must be a positive number of seconds, got {window_sec!r}")
    if w > MAX_WINDOW_SEC:
        raise InputError(
            f"window_sec = {w:g} s is wider than {MAX_WINDOW_SEC:g} s "
            "(did you give milliseconds instead of seconds?)"
        )
    return w


def _check_times(values: np.ndarray, name: str) -> np.ndarray:
    try:
        return validate_times(values, name)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _check_hits(hits: object, name: str) -> Hits:
    if not isinstance(hits, Hits):
        raise InputError(f"{name} must be Hits, got {type(hits).__name__}")
    _check_times(hits.onset_sec, f"{name}.onset_sec")
    return hits


def _reach(ref: np.ndarray, onset: np.ndarray | float, w: float) -> tuple[np.ndarray, np.ndarray]:
    """Index ranges ``[lo, hi)`` of the sorted ``ref`` within ``w`` of each onset."""
    lo = np.searchsorted(ref, np.subtract(onset, w), side="left")
    hi = np.searchsorted(ref, np.add(onset, w), side="right")
    return lo, hi


def _groups(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split rows with non-empty ranges into groups whose ranges chain together.

    ``lo`` and ``hi`` are non-decreasing (rows sorted by time), so two rows share a
    column only if every row between them does too. Returns the rows that have a
    range and, for each of them, its group number (0, 1, ...).
    """
    rows = np.flatnonzero(hi > lo)
    if rows.size == 0:
        return rows, rows
    start = np.ones(rows.size, dtype=bool)
    start[1:] = lo[rows[1:]] >= hi[rows[:-1]]
    return rows, np.cumsum(start) - 1


def _nearest(
    x: np.ndarray,
    ref: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    at: np.ndarray,
    ref_key: np.ndarray,
) -> np.ndarray:
    """Index of the nearest ``ref`` in ``[lo, hi)`` for each ``x`` (ties: the earlier one).

    ``at`` is where each ``x`` would be inserted (side left) and ``ref_key`` the sorted
    keys that ``lo``, ``hi`` and ``at`` were found in (``ref`` itself, or lane-and-time
    keys when several lanes share one array).
    """
    left = np.maximum(at - 1, lo)
    # the first of several equal notes (chords in lane-blind mode), as argmin would pick
    left = np.maximum(np.searchsorted(ref_key, ref_key[left], side="left"), lo)
    right = np.minimum(at, hi - 1)
    d_left = np.abs(x - ref[left])
    d_right = np.abs(x - ref[right])
    return np.where(d_right < d_left, right, left)


def _greedy(
    onset: np.ndarray,
    ref: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    at: np.ndarray,
    ref_key: np.ndarray,
) -> np.ndarray:
    """The causal rule: for each onset (in order), its note index or -1.

    ``lo``/``hi`` bound the notes in reach of each onset and ``at`` is its insertion
    point, all found in the sorted ``ref_key`` (see :func:`_nearest`); with several
    lanes in one array the ranges never cross a lane.
    """
    out = np.full(onset.size, -1, dtype=_INT)
    rows, group = _groups(lo, hi)
    if rows.size == 0:
        return out
    size = np.bincount(group)
    alone = size[group] == 1
    solo = rows[alone]
    out[solo] = _nearest(onset[solo], ref, lo[solo], hi[solo], at[solo], ref_key)
    shared = rows[~alone]
    if shared.size:
        # plain Python floats are IEEE doubles too, so distances equal numpy's exactly
        taken = [False] * ref.size
        ref_list = ref.tolist()
        for r, x, a, b in zip(
            shared.tolist(),
            onset[shared].tolist(),
            lo[shared].tolist(),
            hi[shared].tolist(),
            strict=True,
        ):
            best, best_d = -1, np.inf
            for j in range(a, b):
                if not taken[j]:
                    d = abs(x - ref_list[j])
                    if d < best_d:  # strict: an exact tie keeps the earlier note
                        best, best_d = j, d
            if best >= 0:
                out[r] = best
                taken[best] = True
    return out


@dataclass(frozen=True, eq=False)
class Alignment:
    """A player's hits matched to the chart's notes.

    Attributes
    ----------
    targets : Hits
        The chart notes in seconds (``n_targets`` of them).
    hits : Hits
        What the player played (``n_hits``).
    hit_index : np.ndarray [shape=(n_targets,), int64]
        Index into ``hits`` of the hit matched to each note, or -1 for a miss.
    error_sec : np.ndarray [shape=(n_targets,), float64, seconds]
        Played - target for each note (positive = late); NaN for a miss.
    extra_index : np.ndarray [shape=(n_extra,), int64]
        Indices into ``hits`` of the hits that matched no note, increasing (strokes of a
        roll not included).
    window_sec : float
        The matching window used.
    lane_blind : bool
        Whether hits could match notes of any lane.
    roll : np.ndarray [shape=(n_targets,), bool]
        The notes under a drum roll: hit or missed, but never early or late.
    roll_index : np.ndarray [shape=(n_rolled,), int64]
        Indices into ``hits`` of the strokes of a roll that matched no note, increasing:
        neither hits nor extra hits.
    """

    targets: Hits
    hits: Hits
    hit_index: np.ndarray
    error_sec: np.ndarray
    extra_index: np.ndarray
    window_sec: float = DEFAULT_WINDOW_SEC
    lane_blind: bool = False
    roll: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    roll_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=_INT))

    def __post_init__(self) -> None:
        if self.roll.size != self.hit_index.size:
            if self.roll.size:
                raise InputError(
                    f"{self.roll.size} roll flags for {self.hit_index.size} notes: "
                    "give one per note"
                )
            object.__setattr__(self, "roll", np.zeros(self.hit_index.size, dtype=bool))

    @property
    def matched(self) -> np.ndarray:
        """Which notes were hit: bool mask [shape=(n_targets,)]."""
        return self.hit_index >= 0

    @property
    def timed(self) -> np.ndarray:
        """Which notes were hit and are judged for timing (not under a roll): bool mask
        [shape=(n_targets,)]."""
        return (self.hit_index >= 0) & ~self.roll

    @property
    def timed_error_sec(self) -> np.ndarray:
        """:attr:`error_sec` with the notes under a roll NaN: the errors every timing
        figure is made of [shape=(n_targets,), float64, seconds]."""
        return np.where(self.roll, np.nan, self.error_sec) if self.roll.any() else self.error_sec

    @property
    def n_hit(self) -> int:
        """Notes hit."""
        return int(np.count_nonzero(self.hit_index >= 0))

    @property
    def n_miss(self) -> int:
        """Notes missed."""
        return int(self.hit_index.size - self.n_hit)

    @property
    def n_extra(self) -> int:
        """Hits that matched no note."""
        return int(self.extra_index.size)

    @property
    def hit_rate(self) -> float:
        """Share of the notes that were hit (NaN when the chart has no notes)."""
        n = self.hit_index.size
        return self.n_hit / n if n else float("nan")

    @property
    def target_index(self) -> np.ndarray:
        """For each hit, the index of its note, or -1 for an extra hit [shape=(n_hits,), int64]."""
        out = np.full(len(self.hits), -1, dtype=_INT)
        m = self.hit_index >= 0
        out[self.hit_index[m]] = np.flatnonzero(m)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Alignment):
            return NotImplemented
        return (
            self.targets == other.targets
            and self.hits == other.hits
            and np.array_equal(self.hit_index, other.hit_index)
            and np.array_equal(self.error_sec, other.error_sec, equal_nan=True)
            and np.array_equal(self.extra_index, other.extra_index)
            and np.array_equal(self.roll, other.roll)
            and np.array_equal(self.roll_index, other.roll_index)
            and self.window_sec == other.window_sec
            and self.lane_blind == other.lane_blind
        )

    def __repr__(self) -> str:
        return (
            f"Alignment(notes={self.hit_index.size}, hit={self.n_hit}, miss={self.n_miss}, "
            f"extra={self.n_extra})"
        )


def _lane_groups(lane: np.ndarray, lane_blind: bool) -> np.ndarray:
    """The group each hit or note is matched within: its drum, or one for all."""
    return np.zeros(lane.size, dtype=np.int8) if lane_blind else judged_lanes(lane)


def _check_roll(roll: np.ndarray | None, n: int) -> np.ndarray:
    if roll is None:
        return np.zeros(n, dtype=bool)
    flags = np.asarray(roll, dtype=bool)
    if flags.shape != (n,):
        raise InputError(f"roll must flag each of the {n} notes, got shape {flags.shape}")
    return flags


def _in_roll(onset: np.ndarray | float, rolled: np.ndarray, w: float) -> np.ndarray:
    """Whether strokes at ``onset`` are part of a roll whose notes (of the strokes' drum)
    are at the sorted times ``rolled``: one lies within :data:`ROLL_REACH_SEC` of them (or
    ``w``, if wider)."""
    t = np.asarray(onset, dtype=np.float64)
    if rolled.size == 0:
        return np.zeros(t.shape, dtype=bool)
    reach = max(ROLL_REACH_SEC, w)
    lo = np.searchsorted(rolled, t - reach, side="left")
    hi = np.searchsorted(rolled, t + reach, side="right")
    return np.asarray(hi > lo)


def _build(
    targets: Hits,
    hits: Hits,
    hit_index: np.ndarray,
    window_sec: float,
    lane_blind: bool,
    roll: np.ndarray,
    roll_nearby: Hits | None = None,
) -> Alignment:
    matched = hit_index >= 0
    error = np.full(hit_index.size, np.nan)
    error[matched] = hits.onset_sec[hit_index[matched]] - targets.onset_sec[matched]
    used = np.zeros(len(hits), dtype=bool)
    used[hit_index[matched]] = True
    stroke = np.zeros(len(hits), dtype=bool)
    near = Hits.empty() if roll_nearby is None else roll_nearby
    if (roll.any() or len(near)) and not used.all():
        h_group = _lane_groups(hits.lane, lane_blind)
        t_group = _lane_groups(targets.lane, lane_blind)
        n_group = _lane_groups(near.lane, lane_blind)
        for g in np.union1d(t_group[roll], n_group).tolist():
            free = np.flatnonzero(~used & (h_group == g))
            rolled = np.sort(
                np.concatenate(
                    [targets.onset_sec[roll & (t_group == g)], near.onset_sec[n_group == g]]
                )
            )
            stroke[free] = _in_roll(hits.onset_sec[free], rolled, window_sec)
    return Alignment(
        targets=targets,
        hits=hits,
        hit_index=hit_index,
        error_sec=error,
        extra_index=np.flatnonzero(~used & ~stroke).astype(_INT),
        window_sec=window_sec,
        lane_blind=lane_blind,
        roll=roll,
        roll_index=np.flatnonzero(stroke).astype(_INT),
    )


def _align_sorted(
    hits: Hits, targets: Hits, w: float, lane_blind: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The causal rule for every lane at once.

    Hits and notes are ordered by lane, then time (``h_order``, ``t_order``). With
    several lanes, each time is replaced by its rank among all the times involved
    (which keeps every comparison, ties included, exactly as it was) and prefixed by its
    lane, so one sorted search serves all lanes and no range crosses a lane. Returns,
    for each hit in ``h_order``, the index in ``t_order`` of its note, or -1.
    """
    h_lane = _lane_groups(hits.lane, lane_blind).astype(_INT)
    t_lane = _lane_groups(targets.lane, lane_blind).astype(_INT)
    one_group = lane_blind or (h_lane.min() == h_lane.max() == t_lane.min() == t_lane.max())
    if one_group:
        h_order = np.arange(len(hits), dtype=_INT)
        t_order = np.arange(len(targets), dtype=_INT)
    else:
        h_order = np.argsort(h_lane, kind="stable")  # time order kept within a lane
        t_order = np.argsort(t_lane, kind="stable")
    onset = hits.onset_sec[h_order]
    ref = targets.onset_sec[t_order]
    q_lo, q_hi = np.subtract(onset, w), np.add(onset, w)
    if one_group:
        key, k_lo, k_hi, k_at = ref, q_lo, q_hi, onset
    else:
        n_ref, n_h = ref.size, onset.size
        values, rank = np.unique(np.concatenate([ref, q_lo, q_hi, onset]), return_inverse=True)
        lane = np.concatenate([t_lane[t_order], np.tile(h_lane[h_order], 3)])
        keys = lane * (values.size + 1) + rank.reshape(-1)
        key = keys[:n_ref]
        k_lo, k_hi, k_at = keys[n_ref:].reshape(3, n_h)
    lo = np.searchsorted(key, k_lo, side="left")
    hi = np.searchsorted(key, k_hi, side="right")
    at = np.searchsorted(key, k_at, side="left")
    return _greedy(onset, ref, lo, hi, at, key), h_order, t_order


def align(
    hits: Hits,
    targets: Hits,
    *,
    window_sec: float = DEFAULT_WINDOW_SEC,
    lane_blind: bool = False,
    roll: np.ndarray | None = None,
    roll_nearby: Hits | None = None,
) -> Alignment:
    """Match hits to chart notes one to one with the causal rule of this module.

    Parameters
    ----------
    hits : Hits
        What the player played, sorted by time (seconds).
    targets : Hits
        The chart's notes in seconds, sorted by time (``Chart.targets(level)``).
    window_sec : float
        A hit matches a note at most this far away (seconds, both ends included).
    lane_blind : bool
        Let hits match notes of any lane.
    roll : np.ndarray [shape=(n_targets,), bool], optional
        The notes under a drum roll (:meth:`~cymbalism.model.chart.Chart.roll_mask`);
        none by default.
    roll_nearby : Hits, optional
        Notes under a drum roll just outside ``targets`` (the bars either side, when one
        bar is judged alone). They match no hit, but a stroke that matches no note is
        part of their roll when one of its drum lies within reach, as it would be if
        the song were judged whole.

    Returns
    -------
    alignment : Alignment
        Identical to feeding every hit, in order, to an :class:`OnlineAligner`.

    Raises
    ------
    InputError
        If the window is not a positive number of seconds (up to 1 s), or the times
        are not sorted, finite seconds.
    """
    w = _check_window(window_sec)
    hits = _check_hits(hits, "hits")
    targets = _check_hits(targets, "targets")
    target_of_hit = np.full(len(hits), -1, dtype=_INT)
    if len(hits) and len(targets):
        local, h_order, t_order = _align_sorted(hits, targets, w, lane_blind)
        ok = local >= 0
        target_of_hit[h_order[ok]] = t_order[local[ok]]
    hit_index = np.full(len(targets), -1, dtype=_INT)
    ok = target_of_hit >= 0
    hit_index[target_of_hit[ok]] = np.flatnonzero(ok)
    near = None if roll_nearby is None else _check_hits(roll_nearby, "roll_nearby")
    return _build(targets, hits, hit_index, w, lane_blind, _check_roll(roll, len(targets)), near)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one hit that matched a note, given the moment it arrived.

    Attributes
    ----------
    hit_index : int
        The hit's index among the hits pushed so far (0 for the first).
    onset_sec : float
    lane : int
        The lane that was struck.
    target_index : int
        Index of the matched note in the aligner's targets.
    target_sec : float
        When the note was due.
    error_sec : float
        Played - target (positive = late).
    """

    hit_index: int
    onset_sec: float
    lane: int
    target_index: int
    target_sec: float
    error_sec: float


class OnlineAligner:
    """Judge hits one at a time as they arrive, with the same rule as :func:`align`.

    Parameters
    ----------
    targets : Hits
        The chart's notes in seconds, sorted by time.
    window_sec : float
    lane_blind : bool
    roll : np.ndarray [shape=(n_targets,), bool], optional
        The notes under a drum roll (see :func:`align`).

    Examples
    --------
    >>> from cymbalism.model.hits import Hits
    >>> aligner = OnlineAligner(Hits.from_arrays([0.5, 1.0], 1))
    >>> aligner.push(0.51, 1).error_sec  # doctest: +ELLIPSIS
    0.01...
    >>> aligner.push(2.0, 1) is None  # an extra hit
    True
    """

    def __init__(
        self,
        targets: Hits,
        *,
        window_sec: float = DEFAULT_WINDOW_SEC,
        lane_blind: bool = False,
        roll: np.ndarray | None = None,
    ) -> None:
        self.window_sec = _check_window(window_sec)
        self.targets = _check_hits(targets, "targets")
        self.lane_blind = bool(lane_blind)
        self.roll = _check_roll(roll, len(targets))
        self._rolled: dict[int, np.ndarray] = {}
        self._add_rolled(targets, self.roll)
        group = _lane_groups(targets.lane, self.lane_blind)
        self._index = {int(g): np.flatnonzero(group == g) for g in np.unique(group).tolist()}
        self._ref = {g: targets.onset_sec[i] for g, i in self._index.items()}
        self._taken = {g: np.zeros(i.size, dtype=bool) for g, i in self._index.items()}
        self._hit_index = np.full(len(targets), -1, dtype=_INT)
        self._onset: list[float] = []
        self._lane: list[int] = []
        self._velocity: list[int] = []
        self._missed_upto = 0

    def push(self, onset_sec: float, lane: int, *, velocity: int = 100) -> Judgement | None:
        """Judge one hit.

        Parameters
        ----------
        onset_sec : float
            When the hit sounded (seconds, no earlier than the previous hit).
        lane : int
            The :class:`~cymbalism.model.lanes.Lane` struck.
        velocity : int
            1-127, kept for :meth:`finish`.

        Returns
        -------
        judgement : Judgement or None
            The note this hit matched, or None if it is an extra hit.

        Raises
        ------
        InputError
            If the time is not finite seconds, goes back in time, or the lane or
            velocity is out of range.
        """
        t = float(onset_sec)
        if not np.isfinite(t):
            raise InputError(f"onset_sec must be finite seconds, got {onset_sec!r}")
        if self._onset and t < self._onset[-1]:
            raise InputError(
                f"hits must arrive in time order: {t:.6f} s came after {self._onset[-1]:.6f} s"
            )
        if not 0 <= int(lane) < len(Lane):
            raise InputError(f"lane must lie in 0-{len(Lane) - 1}, got {lane!r}")
        if not 1 <= int(velocity) <= 127:
            raise InputError(f"velocity must lie in 1-127, got {velocity!r}")
        hit = len(self._onset)
        self._onset.append(t)
        self._lane.append(int(lane))
        self._velocity.append(int(velocity))
        g = self._group(lane)
        k = self._nearest_free(g, t)
        if k is None:
            return None
        self._taken[g][k] = True
        target = int(self._index[g][k])
        self._hit_index[target] = hit
        target_sec = float(self.targets.onset_sec[target])
        return Judgement(
            hit_index=hit,
            onset_sec=t,
            lane=int(lane),
            target_index=target,
            target_sec=target_sec,
            error_sec=float(np.float64(t) - np.float64(target_sec)),
        )

    def _group(self, lane: int) -> int:
        return 0 if self.lane_blind else int(judged_lanes(int(lane)))

    def _nearest_free(self, g: int, t: float) -> int | None:
        """The position, among the notes of group ``g``, of the unmatched note a hit at
        ``t`` takes (the nearest within the window; the earlier on a tie), or None."""
        ref = self._ref.get(g)
        if ref is None:
            return None
        lo, hi = _reach(ref, t, self.window_sec)
        a, b = int(lo), int(hi)
        if a >= b:
            return None
        dist = np.abs(np.float64(t) - ref[a:b])
        dist[self._taken[g][a:b]] = np.inf
        k = int(np.argmin(dist))
        return a + k if np.isfinite(dist[k]) else None

    def nearest_drum(self, onset_sec: float, lanes: Sequence[int]) -> int | None:
        """Which of ``lanes`` a hit at ``onset_sec`` would play, were it struck on each:
        the one whose unmatched note it would take is nearest (the earlier note on a
        tie), or None if none has such a note. Nothing is judged.

        The live counterpart of :func:`name_heard_drums`: a stroke heard as the hi-hat
        is named the ride when ``nearest_drum(t, [HIHAT_CLOSED, RIDE])`` says so.
        """
        t = float(onset_sec)
        best: tuple[float, int, int] | None = None  # distance, note, lane
        for lane in lanes:
            g = self._group(lane)
            k = self._nearest_free(g, t)
            if k is None:
                continue
            option = (abs(t - float(self._ref[g][k])), int(self._index[g][k]), int(lane))
            best = option if best is None or option[:2] < best[:2] else best
        return None if best is None else best[2]

    def _add_rolled(self, targets: Hits, roll: np.ndarray) -> None:
        if not roll.any():
            return
        group = _lane_groups(targets.lane[roll], self.lane_blind)
        for g in np.unique(group).tolist():
            times = targets.onset_sec[roll][group == g]
            have = self._rolled.get(int(g))
            self._rolled[int(g)] = times if have is None else np.concatenate([have, times])

    def rolled(self, onset_sec: float, lane: int) -> bool:
        """Whether a hit that matched no note is a stroke of a drum roll, not an extra
        hit (see :func:`align`): decided from the notes the aligner has now, which is
        final once the notes are known :data:`ROLL_REACH_SEC` ahead of the hit."""
        g = 0 if self.lane_blind else int(judged_lanes(int(lane)))
        rolled = self._rolled.get(g)
        return rolled is not None and bool(_in_roll(float(onset_sec), rolled, self.window_sec))

    def extend(self, targets: Hits, *, roll: np.ndarray | None = None) -> None:
        """Add notes after the ones the aligner has, while hits are being judged.

        The live engine lays a song out bar by bar a little ahead of the players (the
        tempo follower and the lesson path decide each bar's time and part only then).
        Extending gives exactly the aligner that had every note from the start, as long as
        no hit pushed so far could have reached the new notes: they must come no earlier
        than the last note, and more than ``window_sec`` after the last hit.

        Parameters
        ----------
        targets : Hits
            The new notes in seconds, sorted by time.
        roll : np.ndarray [shape=(len(targets),), bool], optional
            Which of them lie under a drum roll.

        Raises
        ------
        InputError
            If the new notes start before the last note, or within reach of a hit
            already judged.
        """
        new = _check_hits(targets, "targets")
        flags = _check_roll(roll, len(new))
        if len(new) == 0:
            return
        first = float(new.onset_sec[0])
        old = self.targets.onset_sec
        if old.size and first < float(old[-1]):
            raise InputError(
                f"new notes must not come before the last note ({first:.6f} s < "
                f"{float(old[-1]):.6f} s)"
            )
        if self._onset and first <= self._onset[-1] + self.window_sec:
            raise InputError(
                f"a note at {first:.6f} s is within reach of a hit already judged "
                f"({self._onset[-1]:.6f} s); add notes further ahead"
            )
        base = len(self.targets)
        self.roll = np.concatenate([self.roll, flags])
        self._add_rolled(new, flags)
        self.targets = Hits(
            np.concatenate([old, new.onset_sec]),
            np.concatenate([self.targets.lane, new.lane]),
            np.concatenate([self.targets.velocity, new.velocity]),
        )
        group = _lane_groups(new.lane, self.lane_blind)
        for g in np.unique(group).tolist():
            idx = np.flatnonzero(group == g)
            g = int(g)
            if g in self._index:
                self._index[g] = np.concatenate([self._index[g], base + idx])
                self._ref[g] = np.concatenate([self._ref[g], new.onset_sec[idx]])
                self._taken[g] = np.concatenate([self._taken[g], np.zeros(idx.size, bool)])
            else:
                self._index[g] = base + idx
                self._ref[g] = new.onset_sec[idx]
                self._taken[g] = np.zeros(idx.size, dtype=bool)
        self._hit_index = np.concatenate([self._hit_index, np.full(len(new), -1, dtype=_INT)])

    def misses_until(self, now_sec: float) -> np.ndarray:
        """Notes whose window closed unmatched since the last call (a live "miss").

        Parameters
        ----------
        now_sec : float
            The current time; no hit at or after it can reach these notes.

        Returns
        -------
        target_index : np.ndarray [shape=(k,), int64]
            Indices of newly missed notes, in time order. Each note is reported once.
        """
        tgt = self.targets.onset_sec
        stop = int(np.searchsorted(tgt, np.float64(now_sec) - self.window_sec, side="left"))
        if stop <= self._missed_upto:
            return np.empty(0, dtype=_INT)
        span = np.arange(self._missed_upto, stop, dtype=_INT)
        self._missed_upto = stop
        return span[self._hit_index[span] < 0]

    @property
    def n_pushed(self) -> int:
        """Hits judged so far."""
        return len(self._onset)

    def finish(self) -> Alignment:
        """The alignment of every hit pushed so far (equal to :func:`align` on them)."""
        hits = Hits(
            np.asarray(self._onset, dtype=np.float64),
            np.asarray(self._lane, dtype=np.int8),
            np.asarray(self._velocity, dtype=np.int16),
        )
        return _build(
            self.targets,
            hits,
            self._hit_index.copy(),
            self.window_sec,
            self.lane_blind,
            self.roll.copy(),
        )


#: :func:`find_offset`: the differences of hits and notes are counted in bins of this
#: width, each offset scored by the pairs within this tolerance, and this many of the best
#: offsets (at least two windows apart) are then judged with :func:`align`.
_OFFSET_BIN_SEC = 0.002
_OFFSET_TOLERANCE_SEC = 0.020
_OFFSET_CANDIDATES = 12
#: Pairs of hits and notes differenced at once (bounds the memory to about 16 MB).
_PAIR_BLOCK = 2_000_000


@dataclass(frozen=True)
class SongOffset:
    """Where a song's time zero falls in a recording, found from the hits.

    Attributes
    ----------
    offset_sec : float
        Song second 0 is this far into the recording: song time = recording time -
        ``offset_sec``.
    matched : int
        Notes hit with this offset (all players).
    runner_up_sec : float
        The best other offset (often a bar away, in a groove that repeats); NaN if none.
    runner_up_matched : int
        Notes hit with it.
    notes : int
        The notes of all players.
    """

    offset_sec: float
    matched: int
    runner_up_sec: float
    runner_up_matched: int
    notes: int

    @property
    def margin(self) -> float:
        """How many more notes this offset hits than the runner-up, as a share of the
        notes (0 when they tie: the start is uncertain)."""
        return (self.matched - self.runner_up_matched) / max(self.notes, 1)


#: Drums an input cannot name, each with the drums it may name their strokes, the
#: likeliest first (:attr:`~cymbalism.io.audio.templates.KitTemplates.heard_as`).
HeardAs = Mapping[Lane, Sequence[Lane]]


def as_heard(targets: Hits, heard_as: HeardAs) -> Hits:
    """The notes ``targets`` with each drum of ``heard_as`` written as the drum the input
    most likely names it (a ride note as a hi-hat note; see :func:`name_heard_drums`)."""
    if not heard_as:
        return targets
    table = np.arange(len(Lane), dtype=np.int8)
    for drum, heard in heard_as.items():
        table[int(drum)] = int(heard[0])
    return Hits(targets.onset_sec, table[targets.lane], targets.velocity)


def heard_ways(heard_as: HeardAs) -> dict[int, tuple[int, ...]]:
    """For each lane a stroke may be heard as, the drums it may be (itself first):
    ``{HIHAT_CLOSED: (HIHAT_CLOSED, RIDE)}`` for an input that hears the ride so."""
    ways: dict[int, tuple[int, ...]] = {}
    for drum, heard in heard_as.items():
        for h in heard:
            ways[int(h)] = (*ways.get(int(h), (int(h),)), int(drum))
    return ways


def name_stroke(
    aligner: OnlineAligner, onset_sec: float, ways: Sequence[int], counted: Sequence[int]
) -> int:
    """Which of the drums ``ways`` a stroke heard as ``ways[0]`` plays: the one whose note
    the aligner would give it (:meth:`OnlineAligner.nearest_drum`), each drum taken as
    the lane it counts for in the part (``counted``, :data:`~cymbalism.model.lanes.
    NOT_JUDGED` for none); ``ways[0]`` if none has a note in reach. Nothing is judged."""
    judged = [c for c in counted if c != NOT_JUDGED]
    pick = aligner.nearest_drum(onset_sec, judged) if judged else None
    return int(ways[list(counted).index(pick)]) if pick is not None else int(ways[0])


def name_heard_drums(
    hits: Hits,
    targets: Hits,
    heard_as: HeardAs,
    *,
    window_sec: float = DEFAULT_WINDOW_SEC,
    counts_as: np.ndarray | None = None,
) -> Hits:
    """Name each stroke of a drum the input hears as another by the part's note it plays.

    A recording read with a kit that has no ride template names the ride's strokes
    hi-hat (``heard_as`` maps ``Lane.RIDE`` to ``(Lane.HIHAT_CLOSED, ...)``;
    :attr:`~cymbalism.io.audio.templates.KitTemplates.heard_as`). The strokes are taken
    in order, as the live engine takes them: a stroke heard as a drum such drums may be
    heard as is named the drum, among its own and those, whose unmatched note it would
    take by :func:`align`'s rule (the nearest; the earlier on a tie), and is then
    matched so (:meth:`OnlineAligner.nearest_drum`). A stroke near no such note keeps
    the name it was heard by, so a hi-hat struck where the part has a ride note counts
    for the ride, and one struck where it has neither is extra.

    Parameters
    ----------
    hits : Hits
        The strokes as heard, on the song's clock.
    targets : Hits
        The player's part in seconds.
    heard_as : mapping of Lane to sequence of Lane
        Drums the input cannot name, each with the drums it may name their strokes.
    window_sec : float
    counts_as : np.ndarray [shape=(len(Lane),), int], optional
        The lane a stroke of each drum counts for in the part (a level's folding and a
        chart's :meth:`~cymbalism.model.chart.Chart.hit_lanes`: in a chart made for four
        pads the ride counts for the blue pad's tom); each drum itself by default.

    Returns
    -------
    hits : Hits
        ``hits`` with the lanes of the strokes taken for such notes changed.
    """
    hits = _check_hits(hits, "hits")
    table = np.arange(len(Lane)) if counts_as is None else np.asarray(counts_as, dtype=np.int64)
    asked = np.isin(targets.lane, [int(table[int(d)]) for d in heard_as])
    if not asked.any() or not len(hits):
        return hits
    ways = heard_ways(heard_as)
    aligner = OnlineAligner(targets, window_sec=window_sec)
    lane = hits.lane.copy()
    for i, (t, heard) in enumerate(zip(hits.onset_sec.tolist(), lane.tolist(), strict=True)):
        options = ways.get(heard)
        if options is not None:
            lane[i] = name_stroke(aligner, t, options, [int(table[w]) for w in options])
        counted = int(table[lane[i]])
        if counted != NOT_JUDGED:
            aligner.push(t, counted)
    return Hits(hits.onset_sec, lane, hits.velocity)


def named_counts(heard: Hits, named: Hits) -> dict[tuple[Lane, Lane], int]:
    """How many strokes :func:`name_heard_drums` named otherwise than heard:
    ``{(heard as, named): n}``, by the drum named, then as heard."""
    moved = heard.lane != named.lane
    pairs = zip(heard.lane[moved].tolist(), named.lane[moved].tolist(), strict=True)
    counts: dict[tuple[Lane, Lane], int] = {}
    for h, d in pairs:
        counts[Lane(h), Lane(d)] = counts.get((Lane(h), Lane(d)), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0])))


def find_offset(
    hits: Sequence[Hits],
    targets: Sequence[Hits],
    *,
    window_sec: float = DEFAULT_WINDOW_SEC,
    lane_blind: bool = False,
) -> SongOffset:
    """Place recordings on a song: the offset that lets their hits hit the most notes.

    Every hit and every note of the same drum (of any drum with ``lane_blind``) vote
    for the offset that would put them together; the offsets most voted for within
    20 ms are then judged by :func:`align`, each refined by the mean timing error of its
    matched notes (all players together), and the one that hits the most notes wins
    (the smaller offset on a tie). Drums that change from bar to bar (a fill, a crash)
    tell apart offsets a bar apart that a repeating groove fits equally well.

    Parameters
    ----------
    hits : sequence of Hits
        Each player's hits, in seconds of the recording (one clock for all).
    targets : sequence of Hits
        Each player's notes, in song seconds.
    window_sec : float
        The matching window.
    lane_blind : bool
        Let hits match notes of any lane.

    Returns
    -------
    SongOffset

    Raises
    ------
    InputError
        If the players' hits and notes do not pair up, or there are no hits or no notes.

    Examples
    --------
    A beat played into a recording that started 2.5 s before the song:

    >>> notes = Hits.from_arrays(np.arange(16) * 0.5, [0, 2, 1, 2] * 4)
    >>> heard = notes.shifted(2.5)
    >>> round(find_offset([heard], [notes]).offset_sec, 3)
    2.5
    """
    w = _check_window(window_sec)
    if len(hits) != len(targets):
        raise InputError(f"{len(hits)} players' hits for {len(targets)} parts")
    pairs = [
        (_check_hits(h, "hits"), _check_hits(t, "targets"))
        for h, t in zip(hits, targets, strict=True)
    ]
    if not any(len(h) for h, _ in pairs) or not any(len(t) for _, t in pairs):
        raise InputError("nothing to place: the recordings hold no hits, or the parts no notes")
    times = [x for h, t in pairs for x in (h.onset_sec, t.onset_sec) if x.size]
    lo = min(float(x[0]) for x in times) - max(float(x[-1]) for x in times) - w
    n_bins = int(np.ceil(-2 * lo / _OFFSET_BIN_SEC)) + 1
    votes = np.zeros(n_bins)
    for h, t in pairs:
        hg, tg = _lane_groups(h.lane, lane_blind), _lane_groups(t.lane, lane_blind)
        for g in np.intersect1d(hg, tg).tolist():
            onset, ref = h.onset_sec[hg == g], t.onset_sec[tg == g]
            rows = max(1, _PAIR_BLOCK // ref.size)
            for i in range(0, onset.size, rows):
                diff = np.subtract.outer(onset[i : i + rows], ref).ravel()
                votes += np.bincount(
                    np.round((diff - lo) / _OFFSET_BIN_SEC).astype(np.int64), minlength=n_bins
                )
    k = round(_OFFSET_TOLERANCE_SEC / _OFFSET_BIN_SEC)
    score = np.convolve(votes, np.ones(2 * k + 1), mode="same")
    apart = max(1, round(2 * w / _OFFSET_BIN_SEC))
    chosen: list[int] = []
    for i in np.argsort(-score, kind="stable").tolist():
        if score[i] <= 0 or len(chosen) == _OFFSET_CANDIDATES:
            break
        if all(abs(i - j) >= apart for j in chosen):
            chosen.append(i)
    if not chosen:
        chosen = [round(-lo / _OFFSET_BIN_SEC)]  # no drum in common: offset 0

    def matched(offset: float) -> tuple[int, list[Alignment]]:
        found = [
            align(h.shifted(-offset), t, window_sec=w, lane_blind=lane_blind) for h, t in pairs
        ]
        return sum(a.n_hit for a in found), found

    judged = []
    for i in chosen:
        offset = lo + i * _OFFSET_BIN_SEC
        _, found = matched(offset)
        err = np.concatenate([a.error_sec[a.hit_index >= 0] for a in found])
        if err.size:
            offset += float(np.mean(err))
        judged.append((matched(offset)[0], -abs(offset), offset))
    judged.sort(reverse=True)
    best = judged[0]
    second = judged[1] if len(judged) > 1 else (0, 0.0, float("nan"))
    return SongOffset(
        offset_sec=best[2],
        matched=best[0],
        runner_up_sec=second[2],
        runner_up_matched=second[0],
        notes=sum(len(t) for _, t in pairs),
    )


def match_events(
    a_sec: np.ndarray, b_sec: np.ndarray, *, window_sec: float
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of two sorted onset lists within a window.

    Finds the largest possible number of pairs ``(a[i], b[j])`` with
    ``|a[i] - b[j]| <= window_sec`` (each onset in at most one pair), as
    ``mir_eval.util.match_events`` does; among all such largest matchings it returns
    one with the smallest total distance (which never crosses: pairs keep their order).

    Parameters
    ----------
    a_sec, b_sec : np.ndarray [shape=(n,), (m,), float64, seconds, sorted]
    window_sec : float

    Returns
    -------
    idx_a, idx_b : np.ndarray [shape=(k,), int64]
        Matched indices, both increasing; ``a_sec[idx_a[p]]`` pairs with ``b_sec[idx_b[p]]``.

    Raises
    ------
    InputError
        If a list is not sorted, finite seconds or the window is not positive.
    """
    w = _check_window(window_sec)
    a = _check_times(np.asarray(a_sec, dtype=np.float64), "a_sec")
    b = _check_times(np.asarray(b_sec, dtype=np.float64), "b_sec")
    if a.size == 0 or b.size == 0:
        return np.empty(0, _INT), np.empty(0, _INT)
    lo, hi = _reach(b, a, w)
    rows, group = _groups(lo, hi)
    if rows.size == 0:
        return np.empty(0, _INT), np.empty(0, _INT)
    size = np.bincount(group)
    alone = size[group] == 1
    solo = rows[alone]
    pairs_a = [solo]
    at = np.searchsorted(b, a[solo], side="left")
    pairs_b = [_nearest(a[solo], b, lo[solo], hi[solo], at, b)]
    shared = rows[~alone]
    if shared.size:
        bounds = np.flatnonzero(np.diff(group[~alone])) + 1
        for chunk in np.split(shared, bounds):
            ia, ib = _banded_match(a, b, lo, hi, chunk)
            pairs_a.append(ia)
            pairs_b.append(ib)
    idx_a = np.concatenate(pairs_a).astype(_INT)
    idx_b = np.concatenate(pairs_b).astype(_INT)
    order = np.argsort(idx_a, kind="stable")
    return idx_a[order], idx_b[order]


def _banded_match(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Order-preserving matching of the rows of one group: most pairs, then least distance.

    A dynamic programme over the band of reachable columns of each row: the score
    of a cell (row r, column j) is the best (pairs, -distance) using rows up to r
    and columns up to j. Cells right of a row's band equal its last band cell; cells
    left of it equal the row above (ranges only move right).
    """
    zero = (0, 0.0)
    cells: list[tuple[int, int, dict[int, tuple[int, float]], dict[int, int]]] = []

    def value(r: int, j: int) -> tuple[int, float]:
        if r < 0:
            return zero
        first, last, score, _ = cells[r]
        j = min(j, last)
        if j < first:  # left of every column this group uses
            return zero
        return score[j]

    col0 = int(lo[rows[0]])
    for r, row in enumerate(rows.tolist()):
        first, end = int(lo[row]) - 1, int(hi[row])
        score: dict[int, tuple[int, float]] = {}
        move: dict[int, int] = {}  # 0 up, 1 left, 2 diagonal (a pair)
        for j in range(first, end):
            best, how = value(r - 1, j), 0
            if j > first:
                left = score[j - 1]
                if left > best:
                    best, how = left, 1
                if j >= col0:
                    n, neg = value(r - 1, j - 1)
                    diag = (n + 1, neg - abs(float(a[row]) - float(b[j])))
                    if diag > best:
                        best, how = diag, 2
            score[j] = best
            move[j] = how
        cells.append((first, end - 1, score, move))
    out_a: list[int] = []
    out_b: list[int] = []
    r, j = len(cells) - 1, cells[-1][1]
    while r >= 0 and j >= col0:
        first, last, _, move = cells[r]
        j = min(j, last)
        if j < first:
            break
        how = move[j]
        if how == 2:
            out_a.append(int(rows[r]))
            out_b.append(j)
            r, j = r - 1, j - 1
        elif how == 1:
            j -= 1
        else:
            r -= 1
    return np.asarray(out_a[::-1], dtype=_INT), np.asarray(out_b[::-1], dtype=_INT)


#: Grid subdivisions per quarter note for :func:`grid_targets`: straight 16ths and 8th triplets.
DEFAULT_SUBDIVISIONS = (4, 3)


def grid_targets(
    hits: Hits, tempo_map: TempoMap, *, subdivisions: tuple[int, ...] = DEFAULT_SUBDIVISIONS
) -> Hits:
    """The grid line nearest each hit, as targets: judge a performance against its click.

    For a drummer recorded to a click there is no chart, but the tempo map's grid is
    what they aimed at. Each hit's target is the nearest line of the union of the
    grids with ``subdivisions`` lines per quarter note (by default straight 16ths and
    8th-note triplets, so swung and shuffled notes are judged against the triplet they
    aim at, not against the nearest 16th), measured in seconds. One target is made per
    (lane, grid line); two hits of one lane on the same line give one target (the
    second hit is then an extra hit, as a flam's grace note should be).

    Parameters
    ----------
    hits : Hits
    tempo_map : TempoMap
        The click the player heard.
    subdivisions : tuple of int
        Grid lines per quarter note of each grid to consider (4 = 16ths,
        3 = 8th triplets, 6 = 16th triplets, 2 = 8ths).

    Returns
    -------
    targets : Hits
        Sorted by time, then lane, at most one per (lane, grid line); velocities are
        those of the first hit on each.

    Raises
    ------
    InputError
        If a subdivision is not a positive integer or the hits are not valid seconds.
    """
    hits = _check_hits(hits, "hits")
    subs = tuple(int(s) for s in subdivisions)
    if not subs or any(s < 1 or s > 64 for s in subs) or len(subs) != len(subdivisions):
        raise InputError(
            f"subdivisions must be grid lines per quarter note in 1-64, got {subdivisions!r}"
        )
    if len(hits) == 0:
        return Hits.empty()
    qn = tempo_map.sec_to_qn(hits.onset_sec)
    best_sec = np.full(qn.size, np.nan)
    best_dist = np.full(qn.size, np.inf)
    for s in subs:
        line_sec = tempo_map.qn_to_sec(np.round(qn * s) / s)
        dist = np.abs(hits.onset_sec - line_sec)
        better = dist < best_dist
        best_sec[better] = line_sec[better]
        best_dist[better] = dist[better]
    # one target per (lane, line): keep the first hit of each pair, sorted by time then lane
    order = np.lexsort((hits.lane, best_sec))
    t, lane, vel = best_sec[order], hits.lane[order], hits.velocity[order]
    keep = np.ones(t.size, dtype=bool)
    if t.size > 1:
        same = (t[1:] == t[:-1]) & (lane[1:] == lane[:-1])
        keep[1:] = ~same
    return Hits(np.ascontiguousarray(t[keep]), lane[keep], vel[keep])
