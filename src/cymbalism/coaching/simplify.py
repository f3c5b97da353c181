"""Easier parts from a full drum part, reduced the way human charters reduce.

Each level is made from the next harder one, one step at a time (Expert -> Hard ->
Medium -> Easy -> Beginner), so every easier part is a *folded subset* of the harder
part: each of its notes sits at the position of a harder note whose lane folds onto its
lane (:func:`fold_lanes`), and no note is ever added.

The rules, by level
-------------------
Positions are ranked by metric level (:func:`metric_level`): 0 the bar's downbeat,
1 a strong beat (beat 3 of 4/4, the second dotted quarter of 6/8), 2 the other beats,
3 the 8ths and 8th-note triplets, 4 the 16ths and 16th-note sextuplets, 5 anything finer
(32nds, flam grace notes).

========  ==========================================================================
Hard      no ghost notes (velocity <= ``GHOST_MAX_VELOCITY``), nothing finer than a
          16th (flams and 32nds go), hi-hat and ride thinned from 16ths to 8ths.
Medium    hi-hat and ride on the beats only; kick, snare and toms on 8ths at most;
          open hi-hat folds into the hi-hat, the mid tom into the high tom; no hi-hat
          pedal; crashes only on bar downbeats and section starts.
Easy      everything on the beats; the ride folds into the hi-hat, all toms into the
          floor tom; crashes only at section starts; at most three limbs at once.
Beginner  kicks only on the downbeat and strong beat, snares only on the other beats
          (the backbeat); at most two limbs at once.
========  ==========================================================================

Downbeat kicks and backbeat snares are never dropped by a rule, only by the Beginner
limb limit when something more important shares the moment. If a step's rules remove
nothing (a part that is already simple), the least important kind of note off the bar
lines goes (all of it: the kicks on beats 2 and 4, say), so difficulty falls at every
step whenever it can.

Difficulty (:func:`part_difficulty`) is notes per second plus off-beat load per second
plus extra limbs per second; every term is a sum over notes or onsets, so removing or
merging notes can only lower it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from cymbalism.analysis.align import HeardAs, name_heard_drums
from cymbalism.errors import InputError
from cymbalism.model.chart import GHOST_MAX_VELOCITY, Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import NOT_JUDGED, Lane
from cymbalism.model.tempo import TempoMap

__all__ = [
    "LIMB_LIMIT",
    "Difficulty",
    "chart_difficulty",
    "fold_hits",
    "fold_lanes",
    "fold_table",
    "metric_level",
    "name_by_part",
    "part_difficulty",
    "simplify_chart",
    "simplify_part",
    "simplify_step",
    "unjudged_hits",
]

#: The most limbs a level asks for at one moment.
LIMB_LIMIT: Mapping[Level, int] = {
    Level.BEGINNER: 2,
    Level.EASY: 3,
    Level.MEDIUM: 4,
    Level.HARD: 4,
    Level.EXPERT: 4,
    Level.EXPERT_PLUS: 4,
}

#: Lane folds per level, from any harder lane. They compose: folding for Medium and
#: then for Easy gives the same lane as folding for Easy directly.
_FOLDS: Mapping[Level, Mapping[Lane, Lane]] = {
    Level.EXPERT_PLUS: {},
    Level.EXPERT: {},
    Level.HARD: {},
    Level.MEDIUM: {Lane.HIHAT_OPEN: Lane.HIHAT_CLOSED, Lane.TOM_MID: Lane.TOM_HIGH},
    Level.EASY: {
        Lane.HIHAT_OPEN: Lane.HIHAT_CLOSED,
        Lane.RIDE: Lane.HIHAT_CLOSED,
        Lane.TOM_HIGH: Lane.TOM_FLOOR,
        Lane.TOM_MID: Lane.TOM_FLOOR,
    },
}
_FOLD_TABLE = {
    lv: np.array([int(_FOLDS.get(lv, _FOLDS[Level.EASY]).get(x, x)) for x in Lane], np.int8)
    for lv in Level
}

_TIME = np.array([Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.RIDE], np.int8)
_LIMB = np.array([int(x.limb) for x in Lane], np.int8)
_EPS = 1e-6


def fold_lanes(
    lane: np.ndarray, level: Level | str | int, *, hit_lanes: np.ndarray | None = None
) -> np.ndarray:
    """The lanes a part at ``level`` uses for notes of harder parts.

    Parameters
    ----------
    lane : np.ndarray [shape=(n,), int]
    level : Level
    hit_lanes : np.ndarray [shape=(len(Lane),), int], optional
        For hits: a chart's :meth:`~cymbalism.model.chart.Chart.hit_lanes`, applied
        first (in a chart made for four pads, a hit on a pad's other drum counts as the
        drum the chart names; a hit no note can ask for is
        :data:`~cymbalism.model.lanes.NOT_JUDGED`, and stays so).

    Returns
    -------
    folded : np.ndarray [shape=(n,), int8]
        Expert+, Expert and Hard keep every lane; Medium plays the open hi-hat as the hi-hat
        and the mid tom as the high tom; Easy and Beginner also play the ride as the
        hi-hat and every tom as the floor tom.
    """
    x = np.asarray(lane, dtype=np.int64)
    if hit_lanes is not None:
        x = np.asarray(hit_lanes, dtype=np.int64)[x]
    folded = _FOLD_TABLE[Level.parse(level)][np.maximum(x, 0)]
    return np.where(x == NOT_JUDGED, np.int8(NOT_JUDGED), folded).astype(np.int8)


def fold_table(level: Level | str | int, *, chart: Chart | None = None) -> np.ndarray:
    """The lane a hit on each lane counts for at ``level`` (:func:`fold_lanes` of every
    lane, after the ``chart``'s :meth:`~cymbalism.model.chart.Chart.hit_lanes`).

    Returns
    -------
    table : np.ndarray [shape=(len(Lane),), int8]
    """
    table = None if chart is None else chart.hit_lanes(level)
    return fold_lanes(np.arange(len(Lane)), level, hit_lanes=table)


def name_by_part(
    hits: Hits,
    chart: Chart,
    level: Level | str | int,
    heard_as: HeardAs,
    *,
    window_sec: float,
) -> Hits:
    """``hits`` with each stroke of a drum the input cannot name (a ride heard as the
    hi-hat) named by the note of the part at ``level`` it plays
    (:func:`~cymbalism.analysis.align.name_heard_drums`), each drum taken as the level
    counts it (:func:`fold_table`)."""
    return name_heard_drums(
        hits,
        chart.targets(level),
        heard_as,
        window_sec=window_sec,
        counts_as=fold_table(level, chart=chart),
    )


def fold_hits(
    hits: Hits,
    level: Level | str | int | np.ndarray,
    *,
    chart: Chart | None = None,
) -> Hits:
    """A player's hits as the part at ``level`` judges them: lanes folded
    (:func:`fold_lanes`), and the hits no note can ask for left out.

    Parameters
    ----------
    hits : Hits
    level : Level or np.ndarray [shape=(len(hits),), int]
        The level played, or the level each hit was played at.
    chart : Chart, optional
        The chart played: its :meth:`~cymbalism.model.chart.Chart.hit_lanes` at each
        level (a chart made for four pads; a hi-hat pedal the part does not write).

    Returns
    -------
    judged : Hits
        The hits to align with the part's notes, in their order.
    """
    lane = _judged_lanes(hits, level, chart)
    keep = lane != NOT_JUDGED
    return Hits(hits.onset_sec[keep], lane[keep], hits.velocity[keep])


def unjudged_hits(
    hits: Hits, level: Level | str | int | np.ndarray, *, chart: Chart | None = None
) -> Hits:
    """The hits :func:`fold_hits` leaves out, as played (a hi-hat pedal the part does not
    write)."""
    return hits.select(_judged_lanes(hits, level, chart) == NOT_JUDGED)


def _judged_lanes(
    hits: Hits, level: Level | str | int | np.ndarray, chart: Chart | None
) -> np.ndarray:
    """Each hit's lane as its level judges it (:data:`NOT_JUDGED` where it is not)."""
    if not isinstance(level, np.ndarray):
        table = None if chart is None else chart.hit_lanes(level)
        return fold_lanes(hits.lane, level, hit_lanes=table)
    lane = np.empty(len(hits), dtype=np.int8)
    for lv in np.unique(level).tolist():
        at = level == lv
        table = None if chart is None else chart.hit_lanes(lv)
        lane[at] = fold_lanes(hits.lane[at], lv, hit_lanes=table)
    return lane


def metric_level(qn: np.ndarray, tempo_map: TempoMap) -> np.ndarray:
    """How strong each position is in its bar (0 strongest).

    Parameters
    ----------
    qn : np.ndarray [shape=(n,), float64, quarter notes]
    tempo_map : TempoMap

    Returns
    -------
    level : np.ndarray [shape=(n,), int8]
        0 bar downbeat, 1 strong beat, 2 other beat, 3 8th or 8th-note triplet,
        4 16th or sextuplet, 5 finer. Beats are the time signature's denominator notes.
    """
    q = np.asarray(qn, dtype=np.float64)
    _, beat = tempo_map.qn_to_bar_beat(q)
    num = tempo_map.beats_per_bar(q)
    whole = np.round(beat)
    on_beat = np.abs(beat - whole) < _EPS
    frac = beat - np.floor(beat + _EPS)
    out = np.full(q.shape, 5, dtype=np.int8)

    def near(x: float) -> np.ndarray:
        return np.abs(frac - x) < _EPS

    out[near(1 / 6) | near(5 / 6) | near(0.25) | near(0.75)] = 4
    out[near(1 / 3) | near(2 / 3) | near(0.5)] = 3
    wi = whole.astype(np.int64)
    compound = (num % 3 == 0) & (num > 3)
    strong = np.where(compound, wi % 3 == 0, (num % 2 == 0) & (num >= 4) & (wi == num // 2))
    out[on_beat] = np.where(wi[on_beat] % num[on_beat] == 0, 0, np.where(strong[on_beat], 1, 2))
    return out


def _importance(part: Part, level: np.ndarray, section_start: np.ndarray) -> np.ndarray:
    """How much each note matters to the groove (higher is kept longer)."""
    lane = part.lane
    imp = np.full(len(part), 3.0)
    imp[np.isin(lane, _TIME)] = 5.0
    imp[lane == Lane.HIHAT_PEDAL] = 1.0
    imp[(lane == Lane.KICK) | (lane == Lane.SNARE)] = 4.0
    imp[(lane == Lane.KICK) & (level <= 1)] = 10.0
    imp[(lane == Lane.SNARE) & ((level == 1) | (level == 2))] = 9.0
    imp[(lane == Lane.CRASH) & section_start] = 8.0
    return imp - 0.5 * level


def _limit_limbs(part: Part, importance: np.ndarray, max_limbs: int) -> np.ndarray:
    """A mask keeping, at each moment, the most important notes within ``max_limbs``."""
    keep = np.ones(len(part), dtype=bool)
    if len(part) == 0:
        return keep
    onset = np.concatenate([[0], np.cumsum(np.diff(part.qn) > _EPS)])
    limbs = _LIMB[part.lane.astype(np.int64)]
    for k in np.unique(onset):
        idx = np.flatnonzero(onset == k)
        if np.unique(limbs[idx]).size <= max_limbs:
            continue
        used: set[int] = set()
        for i in idx[np.argsort(-importance[idx], kind="stable")]:
            if int(limbs[i]) in used or len(used) < max_limbs:
                used.add(int(limbs[i]))
            else:
                keep[i] = False
    return keep


def _section_starts(qn: np.ndarray, sections_qn: Iterable[float]) -> np.ndarray:
    starts = np.asarray(list(sections_qn), dtype=np.float64)
    if starts.size == 0:
        return np.zeros(qn.shape, dtype=bool)
    return np.min(np.abs(qn[:, None] - starts[None, :]), axis=1) < _EPS


def simplify_step(
    part: Part,
    tempo_map: TempoMap,
    level: Level | str | int,
    *,
    sections_qn: Iterable[float] = (),
) -> Part:
    """Make the part of ``level`` from the part of the level above it.

    Parameters
    ----------
    part : Part
        The part one level harder than ``level``.
    tempo_map : TempoMap
        The song's tempo map (for bars and beats).
    level : Level
        Hard, Medium, Easy or Beginner.
    sections_qn : iterable of float
        Where sections start; crashes there are kept.

    Returns
    -------
    easier : Part
        A folded subset of ``part``: fewer notes whenever ``part`` has a note off the bar
        lines.
    """
    lv = Level.parse(level)
    if lv >= Level.EXPERT:
        raise InputError(f"{lv.label} is the full part; simplify to Hard, Medium, Easy or Beginner")
    if len(part) == 0:
        return part
    lane = part.lane
    ml = metric_level(part.qn, tempo_map)
    starts = _section_starts(part.qn, sections_qn)
    is_time = np.isin(lane, _TIME)
    kick, snare, crash = lane == Lane.KICK, lane == Lane.SNARE, lane == Lane.CRASH
    if lv == Level.HARD:
        keep = (part.velocity > GHOST_MAX_VELOCITY) & (ml <= 4)
        keep &= ~is_time | (ml <= 3)
    elif lv == Level.MEDIUM:
        keep = ml <= 3
        keep &= ~is_time | (ml <= 2)
        keep &= lane != Lane.HIHAT_PEDAL
        keep &= ~crash | (ml == 0) | starts
    elif lv == Level.EASY:
        keep = ml <= 2
        keep &= ~crash | starts
    else:
        keep = ml <= 2
        keep &= ~kick | (ml <= 1)
        keep &= ~snare | (ml >= 1)
        keep &= ~crash | starts
        keep &= lane != Lane.HIHAT_PEDAL
    # downbeat kicks and backbeat snares stay at every level
    loud = part.velocity > GHOST_MAX_VELOCITY
    keep |= (kick & (ml <= 1)) | (snare & loud & ((ml == 1) | (ml == 2)))
    if lv == Level.BEGINNER:
        keep &= ~snare | (ml >= 1)
    importance = _importance(part, ml, starts)
    if LIMB_LIMIT[lv] < 4:
        kept = part.select(keep)
        keep_idx = np.flatnonzero(keep)
        mask = _limit_limbs(kept, importance[keep_idx], LIMB_LIMIT[lv])
        keep = np.zeros(len(part), dtype=bool)
        keep[keep_idx[mask]] = True
    out = _fold(part.select(keep), lv)
    if len(out) >= len(part):
        # Nothing went: drop the least important kind of note off the bar lines (every
        # note of that lane and metric level, such as the kicks on beats 2 and 4), if any.
        candidates = np.flatnonzero(keep & (ml > 0))
        if candidates.size:
            least = importance[candidates].min()
            drop = candidates[np.abs(importance[candidates] - least) < 1e-9]
            if drop.size == np.count_nonzero(keep):
                drop = drop[:1]
            keep[drop] = False
            out = _fold(part.select(keep), lv)
    return out


def _fold(part: Part, level: Level) -> Part:
    """Fold lanes for ``level``, merging notes that land on the same lane and moment
    (the merged note keeps the loudest velocity)."""
    if len(part) == 0:
        return part
    lanes = fold_lanes(part.lane, level)
    order = np.lexsort((-part.velocity.astype(np.int64), lanes, part.qn))
    return Part.from_arrays(part.qn[order], lanes[order], part.velocity[order])


def simplify_part(
    part: Part,
    tempo_map: TempoMap,
    level: Level | str | int,
    *,
    from_level: Level | str | int = Level.EXPERT,
    sections_qn: Iterable[float] = (),
) -> Part:
    """Simplify ``part`` (at ``from_level``) down to ``level``, one level at a time."""
    lv, top = Level.parse(level), Level.parse(from_level)
    if top is Level.EXPERT_PLUS:
        raise InputError("easier parts are made from the Expert part, not from Expert+")
    if lv > top:
        raise InputError(f"cannot make a {lv.label} part from an easier {top.label} part")
    starts = list(sections_qn)
    for step in range(top - 1, lv - 1, -1):
        part = simplify_step(part, tempo_map, Level(step), sections_qn=starts)
    return part


def simplify_chart(chart: Chart, *, replace: bool = False, as_written: bool = False) -> Chart:
    """A chart with every level: missing ones derived from the nearest harder part.

    Parameters
    ----------
    chart : Chart
    replace : bool
        Derive every level below the hardest part, replacing authored easier parts.
    as_written : bool
        Keep authored easier parts on the lanes the file gives them (to write the chart
        out again) rather than on the lanes their level plays them on.

    Returns
    -------
    chart : Chart
        The same chart with Beginner to the top level present. An authored easier part
        keeps its notes, on the lanes its level plays them on (:func:`fold_lanes`: a
        game chart's Easy part plays its toms on the floor tom), as a derived one does;
        so a hit judged at that level (folded the same way) meets its notes.
    """
    top = chart.top_level
    parts = {lv: p if lv >= top or as_written else _fold(p, lv) for lv, p in chart.parts.items()}
    if replace:
        parts = {top: parts[top]}
    starts = [q for q, _ in chart.sections]
    for step in range(top - 1, -1, -1):
        lv = Level(step)
        if lv not in parts:
            harder = min(x for x in parts if x > lv)
            parts[lv] = simplify_part(
                parts[harder], chart.tempo_map, lv, from_level=harder, sections_qn=starts
            )
    return chart.with_parts(parts)


@dataclass(frozen=True)
class Difficulty:
    """How hard a part is to play.

    Attributes
    ----------
    notes_per_sec : float
    syncopation_per_sec : float
        Off-beat load: each note off the beats weighs 1 (8ths and triplets), 2 (16ths)
        or 3 (finer), per second.
    extra_limbs_per_sec : float
        For each moment with notes, the limbs beyond the first, per second.
    max_limbs : int
        The most limbs needed at one moment.
    score : float
        The sum of the three rates; it falls whenever a note is removed or merged.
    """

    notes_per_sec: float
    syncopation_per_sec: float
    extra_limbs_per_sec: float
    max_limbs: int

    @property
    def score(self) -> float:
        return self.notes_per_sec + self.syncopation_per_sec + self.extra_limbs_per_sec


def part_difficulty(part: Part, tempo_map: TempoMap, *, end_qn: float) -> Difficulty:
    """Measure a part over a song from quarter note 0 to ``end_qn``.

    Parameters
    ----------
    part : Part
    tempo_map : TempoMap
    end_qn : float
        The song's end; every level of a song is measured over the same span.
    """
    duration_sec = float(tempo_map.qn_to_sec(end_qn) - tempo_map.qn_to_sec(0.0))
    if duration_sec <= 0:
        raise InputError(f"end_qn must lie after the song's start, got {end_qn}")
    if len(part) == 0:
        return Difficulty(0.0, 0.0, 0.0, 0)
    ml = metric_level(part.qn, tempo_map)
    sync = np.clip(ml.astype(np.int64) - 2, 0, None).sum()
    onset = np.concatenate([[0], np.cumsum(np.diff(part.qn) > _EPS)])
    limbs = _LIMB[part.lane.astype(np.int64)]
    pairs = np.unique(onset.astype(np.int64) * 8 + limbs)
    per_onset = np.bincount(pairs // 8)
    return Difficulty(
        notes_per_sec=len(part) / duration_sec,
        syncopation_per_sec=float(sync) / duration_sec,
        extra_limbs_per_sec=float((per_onset - 1).clip(0).sum()) / duration_sec,
        max_limbs=int(per_onset.max()),
    )


def chart_difficulty(chart: Chart) -> dict[Level, Difficulty]:
    """The difficulty of every part of a chart, easiest first (Expert+ last)."""
    return {
        lv: part_difficulty(chart.part(lv), chart.tempo_map, end_qn=chart.end_qn)
        for lv in chart.part_levels
    }
