"""Every figure a session's report shows, computed once by the analysis module.

:func:`analyse_session` gives each player the part they were playing (which changes when
the beginner is promoted or demoted) and hands the hits to
:func:`cymbalism.analysis.summary.analyze_players`, the same analysis as ``cymbalism
analyze``; it adds the curves over time (:func:`~cymbalism.analysis.timing.windowed_timing`,
:func:`~cymbalism.analysis.sync.windowed_sync`) and the tempo
(:mod:`cymbalism.analysis.tempo`). The HTML report, the plots, the
terminal summary, the share card, the exports and the history all read this one
:class:`SessionAnalysis`, so they can never disagree with each other or with the live view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from cymbalism.analysis.align import Alignment, HeardAs
from cymbalism.analysis.coupling import (
    CouplingFit,
    fit_phase_correction,
    onset_table_from_alignments,
)
from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.analysis.sync import Asynchrony, SyncStats, WindowedSync, windowed_sync
from cymbalism.analysis.tempo import TempoCurve, estimate_tempo, tempo_curve
from cymbalism.analysis.timing import TimingStats, WindowedTiming, kept_tempo, windowed_timing
from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import BarLayout, Session, within_spans
from cymbalism.store.store import DuetSummary, LevelStep, PlayerSummary, StoredSession

__all__ = [
    "PartFit",
    "PlayerAnalysis",
    "SessionAnalysis",
    "analyse_session",
    "analyse_stored",
    "fitting_part",
    "judge_session",
    "level_at",
    "part_fit",
    "parts_swapped",
    "played_hits",
    "played_steps",
    "player_targets",
]

#: Windows for the curves over time: about four bars at 120 BPM, every second (or
#: further apart in long sessions, to keep about :data:`CURVE_POINTS` per curve).
CURVE_WINDOW_SEC = 8.0
CURVE_HOP_SEC = 1.0
#: Windows for the tempo curves (a few bars each), every 2 s or further apart.
TEMPO_WINDOW_SEC = 12.0
TEMPO_HOP_SEC = 2.0
#: How much better (in the sum of the two players' F-measures, each 0-1) two players'
#: hits must fit each other's parts before cymbalism says the parts may be swapped.
SWAP_MARGIN = 0.2
#: The name of the click among the sources of the coupling fit.
CLICK = "click"
#: About how many points a curve over time gets; a curve is drawn, not read point by point.
CURVE_POINTS = 300
TEMPO_POINTS = 150
#: Fewest hits for a tempo estimate.
MIN_TEMPO_HITS = 8


def level_at(start: Level, steps: Sequence[LevelStep], time_sec: np.ndarray) -> np.ndarray:
    """The level being played at each time, given the start level and the changes.

    Returns
    -------
    level : np.ndarray [shape=time_sec.shape, int64]
    """
    times = np.asarray([s.at_sec for s in steps], dtype=np.float64)
    levels = np.asarray([int(start)] + [int(s.to_level) for s in steps], dtype=np.int64)
    return levels[np.searchsorted(times, np.asarray(time_sec, dtype=np.float64), side="right")]


def played_hits(
    hits: Hits,
    start: Level,
    steps: Sequence[LevelStep] = (),
    *,
    chart: Chart | None = None,
) -> Hits:
    """The hits as the part being played at each moment hears them.

    An easier part plays several drums as one (every tom as the floor tom at Easy), so a
    hit on any of them counts, as the live engine and the lesson path judge it; the
    store keeps the hits as played, and this folds them again for the report
    (:func:`~cymbalism.coaching.simplify.fold_hits`), by the ``chart``'s
    :meth:`~cymbalism.model.chart.Chart.hit_lanes` at each level when given (a chart
    made for four pads; a hi-hat pedal the part does not write, left out).
    """
    from cymbalism.coaching.simplify import fold_hits

    return fold_hits(hits, level_at(start, steps, hits.onset_sec), chart=chart)


def player_targets(
    chart: Chart,
    start: Level,
    steps: Sequence[LevelStep] = (),
    layout: Sequence[BarLayout] = (),
) -> Hits:
    """The notes a player was asked to play: the part at their level at each moment.

    A level change at ``at_sec`` means the notes from ``at_sec`` on come from the new
    part. With a ``layout`` (the bars as the live engine played them: a click that
    followed the duo, a practice tempo, a loop) the notes are laid out bar by bar as the
    engine did, each bar from the part at the player's level when it began; without,
    the chart's own timeline.
    """
    return _player_notes(chart, start, steps, layout)[0]


def _player_notes(
    chart: Chart, start: Level, steps: Sequence[LevelStep], layout: Sequence[BarLayout]
) -> tuple[Hits, np.ndarray]:
    """:func:`player_targets`, and which of them lie under a drum roll
    (:meth:`~cymbalism.model.chart.Chart.roll_mask`), in the same order."""
    steps = sorted(steps, key=lambda s: s.at_sec)
    pieces: list[tuple[Hits, np.ndarray]] = []
    if layout:

        def level_at(sec: float) -> Level:
            done = [s.to_level for s in steps if s.at_sec <= sec + 1e-6]
            return done[-1] if done else start

        tm = chart.tempo_map
        for bar in layout:
            level = level_at(bar.start_sec(tm))
            part = chart.part(level)
            at = part.span(bar.start_qn, bar.end_qn)
            pieces.append((bar.place(part, tm), chart.roll_mask(level)[at]))
    else:
        bounds = [-np.inf] + [s.at_sec for s in steps] + [np.inf]
        levels = [start] + [s.to_level for s in steps]
        for level, lo, hi in zip(levels, bounds[:-1], bounds[1:], strict=True):
            notes = chart.targets(level)
            keep = (notes.onset_sec >= lo) & (notes.onset_sec < hi)
            pieces.append((notes.select(keep), chart.roll_mask(level)[keep]))
    if len(pieces) == 1:
        return pieces[0]
    return Hits.concat([h for h, _ in pieces]), np.concatenate([r for _, r in pieces])


@dataclass(frozen=True)
class PartFit:
    """How a player's hits fit one part of a chart.

    Attributes
    ----------
    level : Level
    n_notes : int
        The part's notes.
    n_hits : int
        The hits judged against it (:func:`played_hits`).
    n_hit : int
        The notes hit.
    """

    level: Level
    n_notes: int
    n_hits: int
    n_hit: int

    @property
    def f_measure(self) -> float:
        """Notes hit, against notes and hits: 1.0 when every note is hit by exactly one
        hit, lower for every miss and every extra hit."""
        n = self.n_notes + self.n_hits
        return 2.0 * self.n_hit / n if n else 0.0

    @property
    def hit_rate(self) -> float:
        """The share of the part's notes hit (0 for a part with none)."""
        return self.n_hit / self.n_notes if self.n_notes else 0.0


def part_fit(
    chart: Chart,
    hits: Hits,
    level: Level,
    *,
    window_sec: float,
    lane_blind: bool = False,
    heard_as: HeardAs | None = None,
) -> PartFit:
    """How ``hits`` (on song time) fit the ``chart``'s part at ``level``, judged as
    ``analyze`` judges them: strokes of a drum the input cannot name (``heard_as``, a
    ride heard as the hi-hat) first named by the part's notes
    (:func:`~cymbalism.coaching.simplify.name_by_part`)."""
    from cymbalism.analysis.align import align
    from cymbalism.coaching.simplify import name_by_part

    targets = chart.targets(level)
    if heard_as and not lane_blind:
        hits = name_by_part(hits, chart, level, heard_as, window_sec=window_sec)
    played = played_hits(hits, level, chart=chart)
    al = align(
        played, targets, window_sec=window_sec, lane_blind=lane_blind, roll=chart.roll_mask(level)
    )
    return PartFit(level, len(targets), len(played), al.n_hit)


def fitting_part(
    chart: Chart,
    hits: Hits,
    *,
    window_sec: float,
    lane_blind: bool = False,
    heard_as: HeardAs | None = None,
) -> tuple[PartFit, dict[Level, PartFit]]:
    """The part of the ``chart`` a player's hits fit best, and how they fit every part.

    For a file that does not say which part was played (a beginner's take on the Easy
    part, judged against the full part, would read as half its notes missed). The best
    fit has the highest F-measure (:attr:`PartFit.f_measure`), which counts every miss
    and every extra hit; of parts that fit equally, the harder. Expert+ (a chart's double
    kicks) is taken only when it fits better than every other part: for a player who
    plays the double kicks.
    """
    fits = {
        lv: part_fit(
            chart, hits, lv, window_sec=window_sec, lane_blind=lane_blind, heard_as=heard_as
        )
        for lv in chart.part_levels
    }
    chosen = max(chart.levels, key=lambda lv: (fits[lv].f_measure, lv))
    plus = fits.get(Level.EXPERT_PLUS)
    if plus is not None and plus.f_measure > fits[chosen].f_measure:
        chosen = Level.EXPERT_PLUS
    return fits[chosen], fits


def parts_swapped(
    chart: Chart,
    hits: Sequence[Hits],
    levels: Sequence[Level],
    *,
    window_sec: float,
    lane_blind: bool = False,
) -> bool:
    """Whether two players' hits fit each other's parts much better than their own.

    Two files given in the other order than their levels (``ben.mid ana.mid --levels
    expert,beginner``) judge the beginner against the expert part and the expert against
    the beginner's: many misses for one, many extra hits for the other. Each player's
    fit is the F-measure of their hits against a part (:func:`part_fit`); the parts are
    swapped when the sum of the two is :data:`SWAP_MARGIN` higher that way round. Always
    False unless there are two players on different parts.
    """
    if len(hits) != 2 or len(levels) != 2 or levels[0] == levels[1]:
        return False

    def fit(h: Hits, level: Level) -> float:
        return part_fit(chart, h, level, window_sec=window_sec, lane_blind=lane_blind).f_measure

    as_given = fit(hits[0], levels[0]) + fit(hits[1], levels[1])
    swapped = fit(hits[0], levels[1]) + fit(hits[1], levels[0])
    return swapped > as_given + SWAP_MARGIN


@dataclass(frozen=True, eq=False)
class PlayerAnalysis:
    """One player's figures.

    Attributes
    ----------
    name : str
    start_level, level_reached : Level
        The level of the part at the start, and the highest level played.
    level_changes : tuple of LevelStep
    alignment : Alignment
        Hits matched to the part they were playing.
    stats : TimingStats
        Hit rate, mean signed error (accuracy), SD (precision), mean absolute error.
    by_lane : dict of Lane to TimingStats
    windowed : WindowedTiming
        The same figures in sliding windows (the rolling mean and spread).
    tempo_bpm : float or None
        The tempo the player kept against their part (:func:`kept_tempo`; in free play
        against the click, their tempo from the hits alone); None with too few hits.
    tempo : TempoCurve or None
        The same over the song, in windows of a few bars.
    present : tuple of (float, float)
        When the player was there (song seconds).
    unjudged : Hits
        The hits no note of the part can ask for (a hi-hat pedal where the part has no
        pedal note, :meth:`~cymbalism.model.chart.Chart.hit_lanes`), while the player
        was judged: kept as played, neither hit nor extra.
    """

    name: str
    start_level: Level
    level_reached: Level
    level_changes: tuple[LevelStep, ...]
    alignment: Alignment
    stats: TimingStats
    by_lane: Mapping[Lane, TimingStats]
    windowed: WindowedTiming
    tempo_bpm: float | None = None
    tempo: TempoCurve | None = None
    present: tuple[tuple[float, float], ...] = ((-np.inf, np.inf),)
    unjudged: Hits = field(default_factory=Hits.empty)

    @property
    def left_sec(self) -> float | None:
        """When the player left for good (song seconds), or None if they stayed."""
        end = self.present[-1][1] if self.present else -np.inf
        return None if end == np.inf else float(end)

    @property
    def drift_bpm_per_min(self) -> float | None:
        """How fast the player's tempo changed (BPM per minute; + = sped up)."""
        return None if self.tempo is None else self.tempo.drift_bpm_per_min

    @property
    def hits(self) -> Hits:
        """What the player played."""
        return self.alignment.hits

    @property
    def summary(self) -> PlayerSummary:
        """The figures the store caches for lists and history."""
        return PlayerSummary.of(
            self.stats, n_hits=len(self.alignment.hits), level_reached=self.level_reached
        )


@dataclass(frozen=True, eq=False)
class SessionAnalysis:
    """Every figure of one session (see :func:`analyse_session`).

    ``asynchrony``, ``sync``, ``windowed_sync`` and ``came_together_sec`` are about the
    first two players (A - B, A being the first seat); they are None for a solo session.
    """

    title: str
    artist: str
    started_at: datetime
    duration_sec: float
    window_sec: float
    players: tuple[PlayerAnalysis, ...]
    asynchrony: Asynchrony | None
    sync: SyncStats | None
    windowed_sync: WindowedSync | None
    came_together_sec: float | None
    chart_tempo: tuple[np.ndarray, np.ndarray] | None = None
    coupling: CouplingFit | None = None
    judged_against: str = "chart"
    session_id: int | None = None

    @property
    def coupling_problems(self) -> list[str]:
        """Why the first two players' gains toward each other cannot be read (empty when
        they can, or when there is no fit)."""
        if self.coupling is None or len(self.players) < 2:
            return []
        return self.coupling.problems(self.players[0].name, self.players[1].name)

    @property
    def leader(self) -> str | None:
        """Who led: of the first two players, the one who adapted less to the other; None
        when unknown or when the fit cannot be read (:attr:`coupling_problems`)."""
        if self.coupling is None or len(self.players) < 2 or self.coupling_problems:
            return None
        return self.coupling.leader(self.players[0].name, self.players[1].name)

    def player(self, name: str) -> PlayerAnalysis:
        """The figures of player ``name``."""
        for p in self.players:
            if p.name == name:
                return p
        raise InputError(f"no player {name!r}; players: {[p.name for p in self.players]}")

    @property
    def duet(self) -> DuetSummary | None:
        """The duet's figures the store caches."""
        if self.sync is None:
            return None
        return DuetSummary.of(self.sync, came_together_sec=self.came_together_sec)


def played_steps(
    session: Session, level_changes: Mapping[str, Sequence[LevelStep]] | None = None
) -> dict[str, tuple[LevelStep, ...]]:
    """Each player's level changes in time order, without those for bars the session never
    reached (a part laid out just before it stopped was never played)."""
    stop = np.inf if session.until_sec is None else session.until_sec
    changes = level_changes or {}
    return {
        p.name: tuple(
            sorted((s for s in changes.get(p.name, ()) if s.at_sec < stop), key=lambda s: s.at_sec)
        )
        for p in session.players
    }


def judge_session(
    session: Session, *, level_changes: Mapping[str, Sequence[LevelStep]] | None = None
) -> AnalysisReport:
    """Every player of a session judged as the live engine judged them.

    Against the notes as they were laid out (the practice tempo, a loop, a click that
    followed the duo, each player's level at each bar), the hits folded as the part of
    the moment hears them, each player only while there and before the session stopped:
    :func:`~cymbalism.analysis.summary.analyze_players` on exactly what the engine
    judged. The report, ``coupling`` and ``corpus analyze`` of a stored session all start
    here. A free-play session (its chart marked ``judged_against = "grid"``) is judged
    against each player's click grid.
    """
    chart = session.chart
    if session.settings.tempo_scale != 1.0:  # played slower or faster than written
        chart = chart.scaled(session.settings.tempo_scale)
    steps_of = played_steps(session, level_changes)
    on_grid = chart.metadata.get("judged_against") == "grid"
    parts = [
        _player_notes(chart, p.level, steps_of[p.name], session.layout)
        for p in (() if on_grid else session.players)
    ]
    return analyze_players(
        [
            p.hits if on_grid else played_hits(p.hits, p.level, steps_of[p.name], chart=chart)
            for p in session.players
        ],
        tempo_map=chart.tempo_map,
        targets=None if on_grid else [notes for notes, _ in parts],
        rolls=None if on_grid else [roll for _, roll in parts],
        names=[p.name for p in session.players],
        window_sec=session.settings.window_sec,
        title=chart.title,
        spans=[session.judged_spans(p.name) for p in session.players],
    )


def analyse_session(
    session: Session,
    *,
    level_changes: Mapping[str, Sequence[LevelStep]] | None = None,
    session_id: int | None = None,
) -> SessionAnalysis:
    """Align every player and compute the timing, sync and tempo figures of a session.

    Parameters
    ----------
    session : Session
        The chart as written, the players (with their start levels and hits) and the
        settings: ``window_sec`` is the matching window, and the hits are judged
        against the chart at ``tempo_scale`` times its tempo.
    level_changes : dict of player name to LevelStep, optional
        When each player's part changed level.
    session_id : int, optional
        The session's id in the store, shown in the report.

    Returns
    -------
    analysis : SessionAnalysis
    """
    from cymbalism.coaching.simplify import unjudged_hits

    level_changes = level_changes or {}
    chart = session.chart
    if session.settings.tempo_scale != 1.0:  # played slower or faster than written
        chart = chart.scaled(session.settings.tempo_scale)
    window_sec = session.settings.window_sec
    tm = chart.tempo_map
    change_sec = np.asarray(tm.qn_to_sec(np.asarray(tm.change_qn)), dtype=np.float64)
    chart_tempo = (
        np.append(change_sec, chart.end_sec),
        np.append(np.asarray(tm.bpm, dtype=np.float64), tm.bpm[-1]),
    )
    song_bpm = float(tm.bpm_at(0.0))
    length_sec = session.length_sec
    hop_sec = max(CURVE_HOP_SEC, length_sec / CURVE_POINTS)
    tempo_hop_sec = max(TEMPO_HOP_SEC, length_sec / TEMPO_POINTS)
    steps_of = played_steps(session, level_changes)
    on_grid = chart.metadata.get("judged_against") == "grid"
    core = judge_session(session, level_changes=level_changes)
    players = []
    for p, report in zip(session.players, core.players, strict=True):
        steps = steps_of[p.name]
        free = Hits.empty()  # free play judges every hit against the click
        if not on_grid:
            free = unjudged_hits(p.hits, level_at(p.level, steps, p.hits.onset_sec), chart=chart)
            free = free.select(within_spans(free.onset_sec, session.judged_spans(p.name)))
        reached = max([p.level, *(s.to_level for s in steps)])
        if on_grid:  # free play: the tempo the hits themselves show
            bpm, curve = _tempo(p.hits, reference_bpm=song_bpm, hop_sec=tempo_hop_sec)
        else:  # the tempo kept against the part, from the notes hit
            kept, curve = kept_tempo(
                report.alignment, tm, window_sec=TEMPO_WINDOW_SEC, hop_sec=tempo_hop_sec
            )
            bpm = kept if np.isfinite(kept) else None
        players.append(
            PlayerAnalysis(
                name=p.name,
                start_level=p.level,
                level_reached=Level(reached),
                level_changes=steps,
                alignment=report.alignment,
                stats=report.stats,
                by_lane=report.by_lane,
                windowed=windowed_timing(
                    report.alignment, window_sec=CURVE_WINDOW_SEC, hop_sec=hop_sec
                ),
                tempo_bpm=bpm,
                tempo=curve,
                present=p.present,
                unjudged=free,
            )
        )
    asy = sync = wsync = None
    together = None
    pair = core.sync  # the first two players, A - B
    if pair is not None:
        asy, sync, together = pair.asynchrony, pair.stats, pair.came_together_sec
        if len(asy):
            wsync = windowed_sync(asy, window_sec=CURVE_WINDOW_SEC, hop_sec=hop_sec)
    coupling = _coupling(players) if pair is not None and not on_grid else None
    return SessionAnalysis(
        title=chart.title,
        artist=chart.artist,
        started_at=session.started_at,
        duration_sec=length_sec,
        window_sec=window_sec,
        players=tuple(players),
        asynchrony=asy,
        sync=sync,
        windowed_sync=wsync,
        came_together_sec=together,
        chart_tempo=chart_tempo,
        coupling=coupling,
        judged_against=core.judged_against,
        session_id=session_id,
    )


def _tempo(
    hits: Hits, *, reference_bpm: float, hop_sec: float
) -> tuple[float | None, TempoCurve | None]:
    """The player's tempo and tempo curve (None with too few hits to tell)."""
    if len(hits) < MIN_TEMPO_HITS:
        return None, None
    weight = hits.velocity.astype(np.float64)
    try:
        bpm = estimate_tempo(hits.onset_sec, weight=weight, lane=hits.lane)
    except InputError:  # hits too close together for a beat to return
        return None, None
    curve = tempo_curve(
        hits.onset_sec,
        weight=weight,
        window_sec=TEMPO_WINDOW_SEC,
        hop_sec=hop_sec,
        reference_bpm=reference_bpm,
    )
    return bpm, curve


def _coupling(players: Sequence[PlayerAnalysis]) -> CouplingFit | None:
    """Phase-correction gains of the first two players toward each other and the click."""
    a, b = players[0], players[1]
    if CLICK in (a.name, b.name):
        return None
    table = onset_table_from_alignments({a.name: a.alignment, b.name: b.alignment})
    try:
        return fit_phase_correction(table.with_reference_as(CLICK), players=[a.name, b.name])
    except InputError:  # too few shared notes to fit
        return None


def analyse_stored(stored: StoredSession) -> SessionAnalysis:
    """:func:`analyse_session` of a session read from the store."""
    return analyse_session(stored.session, level_changes=stored.level_changes, session_id=stored.id)
