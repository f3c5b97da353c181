"""The live duet engine: judge every hit as it arrives, meter the gap, follow the duo.

One :class:`Engine` runs a session: a chart, two (or more) players, the settings. Hits go
in with :meth:`Engine.push_hit` (stamped on the session clock, latency removed), time goes
on with :meth:`Engine.tick`, a view reads :meth:`Engine.snapshot`, and
:meth:`Engine.finish` gives the result, whose figures come from the same analysis
functions offline analysis uses. The terminal front end and the web studio both drive it.

What the engine needs of the parts around it is declared as protocols: a
:class:`Recorder` (the store's session writer) gets every hit, level change, bar and
alignment; a :class:`Lesson` (:class:`cymbalism.coaching.lesson.LessonPath`) chooses each
lesson player's level and tempo bar by bar.

Conventions
-----------
- Song time is seconds from the first beat of the song (negative during the count-in).
  Song second 0 falls ``count_in`` after ``start_ns`` on the session clock.
- The song is laid out bar by bar, a little ahead of time (``lookahead_sec``): each bar
  gets its time (tempo scale, loop, the tempo follower's correction) and each player the
  notes of the level they play in that bar (the lesson path may change it at the bar
  line). Once laid out a bar never changes, so every hit is judged once, for good.
- Judging is :class:`cymbalism.analysis.align.OnlineAligner`: a hit's judgement is final
  when it arrives, and feeding the same hits to offline ``align`` against the same
  targets gives the same alignment, exactly.
- Time enters the engine in a named unit: ``t_ns=`` (nanoseconds on the session clock,
  as inputs stamp hits) or ``song_sec=`` (song seconds), keyword-only, never both.
- Timing error = played - target (positive = late); asynchrony = first player - second.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cymbalism.analysis.align import (
    ROLL_REACH_SEC,
    Alignment,
    OnlineAligner,
    heard_ways,
    name_stroke,
)
from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.analysis.sync import SyncStats
from cymbalism.analysis.timing import TimingStats
from cymbalism.errors import InputError
from cymbalism.live.clock import NS_PER_SEC, Clock, MonotonicClock
from cymbalism.live.metronome import ACCENT, CLICK, Output, SilentOutput, Sound
from cymbalism.live.tempo_follow import TempoFollower
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import NOT_JUDGED, Lane
from cymbalism.model.session import DEFAULT_GRACE_SEC, BarLayout, Player, Session, Settings

if TYPE_CHECKING:
    from cymbalism.coaching.lesson import LevelChange

__all__ = [
    "LEVEL_TOLERANCE_SEC",
    "Engine",
    "Feedback",
    "Lesson",
    "LiveOptions",
    "LiveResult",
    "PlayedBar",
    "Recorder",
    "Verdict",
]

#: What the players are told when the store starts refusing the session's commits (the
#: rows wait in the writer), and when it takes them again.
STORE_BUSY_TEXT = "the database is busy: the hits wait here and are saved once it is free"
STORE_FREE_TEXT = "the database is free again: every hit is saved"

#: How far from the note a hit may be and still count as on time, per level. Hits further
#: off (but inside the matching window) are early or late.
LEVEL_TOLERANCE_SEC: Mapping[Level, float] = {
    Level.BEGINNER: 0.045,
    Level.EASY: 0.035,
    Level.MEDIUM: 0.028,
    Level.HARD: 0.022,
    Level.EXPERT: 0.018,
    Level.EXPERT_PLUS: 0.018,
}


class Verdict(StrEnum):
    """What became of a note or a hit."""

    ON_TIME = "on time"
    EARLY = "early"
    LATE = "late"
    MISS = "miss"
    EXTRA = "extra"
    #: A hit no note of the part can ask for (the hi-hat pedal on a game chart): it
    #: sounds and is kept, and is neither hit nor extra (:data:`~cymbalism.model.lanes.NOT_JUDGED`).
    NOT_JUDGED = "not judged"
    #: A stroke of a drum roll: a note under the roll hit (never early or late), or a
    #: stroke between its notes, which is no extra hit (:mod:`cymbalism.analysis.align`).
    ROLL = "roll"


@dataclass(frozen=True, slots=True)
class Feedback:
    """One judgement for the player to see.

    Attributes
    ----------
    player : str
    verdict : Verdict
    lane : int
    onset_sec : float
        When the hit sounded (song seconds); NaN for a miss.
    target_sec : float
        The note's time (song seconds); NaN for an extra hit.
    error_sec : float
        ``onset_sec - target_sec`` (positive = late); NaN for misses and extras.
    bar : int
        The bar of the song, counted from 1 as people do.
    target_lane : int
        The lane of the note the hit counted for, or that was missed: a closed hi-hat
        counts for an open one, and a simplified part folds some lanes into others.
        :data:`~cymbalism.model.lanes.NOT_JUDGED` when no note is concerned (an extra
        hit, a hit no note asks for, a roll's stroke between its notes).
    """

    player: str
    verdict: Verdict
    lane: int
    onset_sec: float
    target_sec: float
    error_sec: float
    bar: int
    target_lane: int = NOT_JUDGED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (milliseconds for people, ``None`` for NaN)."""

        def ms(x: float) -> float | None:
            return None if math.isnan(x) else round(x * 1000.0, 1)

        return {
            "player": self.player,
            "verdict": self.verdict.value,
            "lane": Lane(self.lane).short,
            "onset_sec": None if math.isnan(self.onset_sec) else self.onset_sec,
            "error_ms": ms(self.error_sec),
            "bar": self.bar,
        }


class Recorder(Protocol):
    """Durable storage that receives a session as it is played.

    The store's :class:`~cymbalism.store.writer.SessionWriter` is one. The engine calls
    :meth:`add_hits` for every hit as it arrives, :meth:`level_change` when a lesson path
    moves a player, :meth:`add_bar` for every bar as it is laid out, and
    :meth:`add_alignment` once per player when the session finishes.
    """

    def add_hits(self, player: str, onset_sec: float, lane: int, velocity: int = 100) -> None:
        """Keep one hit of ``player`` (song seconds, a lane, a velocity 1-127)."""
        ...

    def level_change(
        self, player: str, at_sec: float, level: Level | str | int, *, reason: str = ""
    ) -> None:
        """Keep that ``player`` plays the part at ``level`` from ``at_sec`` on."""
        ...

    def add_bar(self, bar: BarLayout) -> None:
        """Keep where the next bar of the song was played."""
        ...

    def add_alignment(self, player: str, alignment: Alignment) -> None:
        """Keep every judgement of ``player``'s notes and hits."""
        ...

    def presence(self, player: str, at_sec: float, *, present: bool) -> None:
        """Keep that ``player`` left (``present=False``) or came back at ``at_sec``."""
        ...

    def stopped(self, until_sec: float | None) -> None:
        """Keep where the session was stopped (None: played to the end)."""
        ...


class Lesson(Protocol):
    """A lesson path: chooses a player's level and tempo bar by bar, from how bars went.

    :class:`cymbalism.coaching.lesson.LessonPath` is one. The engine reads :attr:`level`
    and :attr:`tempo_scale` as it lays out each bar, and calls :meth:`on_bar_end` as each
    bar closes; a change takes effect from the next bar line still ahead.
    """

    @property
    def level(self) -> Level:
        """The level the player plays now."""
        ...

    @property
    def tempo_scale(self) -> float:
        """The practice tempo now, as a fraction of the song's."""
        ...

    def on_bar_end(self, bar: int, alignment: Alignment) -> LevelChange | None:
        """Judge one bar (``bar`` of the chart, from 0) and say what changes, if anything."""
        ...


@dataclass(frozen=True)
class LiveOptions:
    """How the engine lays out and judges the song, beyond :class:`Settings`.

    Attributes
    ----------
    loop_bars : (first, last), optional
        Bars to loop, counted from 1, inclusive.
    loop_repeats : int
        How many times the loop is played.
    lesson_players : tuple of str
        Players whose level follows the lesson path (changed at bar lines).
    tolerance_sec : Mapping[Level, float]
        How close to the note counts as on time, per level.
    lookahead_sec : float
        How far ahead bars are laid out (and clicks scheduled). Must exceed the matching
        window.
    grace_sec : float
        How long after a note's window closed it is called a miss (hits arrive stamped
        a little in the past).
    sync_window_sec : float
        The span of the rolling sync meter.
    backing : bool
        Play the notes of the full part that no player is playing.
    ramp_step : float
        How much faster each time through the loop is, as a share of the song's tempo
        (0.05 = 5 points), starting from the session's tempo scale; 0 keeps it.
    ramp_to : float
        The tempo scale the ramp stops at.
    heard_as : Mapping[str, Mapping[Lane, tuple[Lane, ...]]]
        Per player, the drums their input cannot name, each with the drums it may name
        them (a microphone's kit: :attr:`~cymbalism.io.audio.templates.KitTemplates.
        heard_as`). Such a stroke is named, as it arrives, by the note it plays
        (:meth:`~cymbalism.analysis.align.OnlineAligner.nearest_drum`), and is judged and
        kept so: a ride heard as the hi-hat counts for the ride note it falls on.
    """

    loop_bars: tuple[int, int] | None = None
    loop_repeats: int = 4
    lesson_players: tuple[str, ...] = ()
    tolerance_sec: Mapping[Level, float] = field(default_factory=lambda: LEVEL_TOLERANCE_SEC)
    lookahead_sec: float = 0.25
    grace_sec: float = DEFAULT_GRACE_SEC
    sync_window_sec: float = 8.0
    backing: bool = False
    ramp_step: float = 0.0
    ramp_to: float = 1.0
    heard_as: Mapping[str, Mapping[Lane, tuple[Lane, ...]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.ramp_step <= 0.5:
            raise InputError(f"a tempo ramp of {self.ramp_step:g} per loop is outside 0-0.5")
        if not 0.1 <= self.ramp_to <= 2.0:
            raise InputError(f"a ramp up to a tempo scale of {self.ramp_to:g} is outside 0.1-2")


@dataclass(frozen=True, slots=True)
class PlayedBar:
    """One bar as laid out in the session: which chart bar, and when.

    The mapping from chart position to song seconds within the bar is
    ``base_sec(qn) * stretch + shift_sec``, where ``base_sec`` is the chart's tempo map at
    the session's tempo scale. A bar played as written has ``stretch == 1`` and
    ``shift_sec == 0`` and its notes fall exactly where the chart puts them.
    """

    index: int
    chart_bar: int
    start_qn: float
    end_qn: float
    stretch: float
    shift_sec: float
    start_sec: float
    end_sec: float
    levels: tuple[tuple[str, Level], ...]

    @property
    def layout(self) -> BarLayout:
        """Where the bar was played, as a session keeps it."""
        return BarLayout(self.start_qn, self.end_qn, self.stretch, self.shift_sec)


@dataclass
class _PlayerState:
    player: Player
    level: Level
    aligner: OnlineAligner
    target_bar: list[int] = field(default_factory=list)
    hit_of_target: list[int] = field(default_factory=list)
    extras: list[int] = field(default_factory=list)
    bar_ranges: list[tuple[int, int]] = field(default_factory=list)
    bar_tempo: list[float] = field(default_factory=list)
    fold: np.ndarray = field(default_factory=lambda: np.arange(len(Lane), dtype=np.int8))
    reported_miss: set[int] = field(default_factory=set)
    onset: list[float] = field(default_factory=list)
    lane: list[int] = field(default_factory=list)
    velocity: list[int] = field(default_factory=list)
    recent: deque[Feedback] = field(default_factory=lambda: deque(maxlen=64))
    last_by_lane: dict[int, Feedback] = field(default_factory=dict)
    levels: list[tuple[float, Level]] = field(default_factory=list)
    n_hit: int = 0
    #: Notes hit that are judged for timing (not under a drum roll).
    n_timed: int = 0
    n_miss: int = 0
    n_extra: int = 0
    err_sum: float = 0.0
    abs_sum: float = 0.0
    err_since_decision: list[float] = field(default_factory=list)
    present: list[list[float]] = field(default_factory=lambda: [[-math.inf, math.inf]])

    @property
    def here(self) -> bool:
        """Whether the player is present now (has not left, or came back)."""
        return self.present[-1][1] == math.inf

    def spans(self) -> tuple[tuple[float, float], ...]:
        return tuple((a, b) for a, b in self.present)

    def present_at(self, sec: float) -> bool:
        """Whether the player was there at ``sec``."""
        return any(a <= sec < b for a, b in self.present)

    def present_over(self, start_sec: float, end_sec: float) -> bool:
        """Whether the player was there for the whole of ``[start_sec, end_sec)``."""
        return any(a <= start_sec and end_sec <= b for a, b in self.present)


@dataclass
class LiveResult:
    """What a session came to: the figures of offline analysis for the same hits.

    Attributes
    ----------
    session : Session
        The song, the players (with every hit they played, as played) and the settings.
    alignments : dict of str -> Alignment
        Each player's notes (the part as laid out: the levels they played, at the tempo
        they played) matched to their hits live, hit by hit.
    report : AnalysisReport
        :func:`cymbalism.analysis.summary.analyze_players` on the same hits and notes,
        what ``cymbalism analyze`` prints; its alignments equal ``alignments``.
    levels : dict of str -> list of (song second, Level)
        Each player's level from the start, and every change.
    bars : list of PlayedBar
    messages : list of str
        What the engine said during the session (ports lost and found, no sound, levels).
    """

    session: Session
    alignments: dict[str, Alignment]
    report: AnalysisReport
    levels: dict[str, list[tuple[float, Level]]]
    bars: list[PlayedBar]
    messages: list[str]

    def targets(self, player: str) -> Hits:
        """The notes ``player`` was judged against (song seconds)."""
        return self.alignments[player].targets

    @property
    def timing(self) -> dict[str, TimingStats]:
        """Each player's figures."""
        return {p.name: p.stats for p in self.report.players}

    @property
    def timing_by_lane(self) -> dict[str, dict[Lane, TimingStats]]:
        """Each player's figures per lane."""
        return {p.name: p.by_lane for p in self.report.players}

    @property
    def sync(self) -> SyncStats | None:
        """The asynchrony figures of the first two players (None for a solo)."""
        return None if self.report.sync is None else self.report.sync.stats

    @property
    def came_together_sec(self) -> float | None:
        """When the first two players came together (song seconds), or None."""
        return None if self.report.sync is None else self.report.sync.came_together_sec


def _clock(song_sec: float) -> str:
    """``0:09`` for people."""
    sec = max(0, math.floor(song_sec))
    return f"{sec // 60}:{sec % 60:02d}"


def _lane(lane: int | Lane) -> int:
    lane = int(lane)
    if not 0 <= lane < len(Lane):
        raise InputError(f"lane {lane} does not exist; lanes are 0-{len(Lane) - 1}")
    return lane


class Engine:
    """Judges a duet live. See the module docstring for the conventions.

    Parameters
    ----------
    chart : Chart
        The song. Every level a player may play must have a part (derive the easier
        ones with :func:`cymbalism.coaching.simplify.simplify_chart`).
    players : sequence of Player
        Who plays, each with the level they start on. The first two are A and B of the
        sync meter.
    settings : Settings
        Matching window, tempo scale, follow, count-in.
    clock : Clock, optional
        The session clock (the real one by default).
    recorder : Recorder, optional
        Gets every hit as it arrives, and every level change.
    output : Output, optional
        Where the click and backing go (silent by default).
    options : LiveOptions, optional
    lesson : callable, optional
        ``lesson(player) -> Lesson`` for each lesson player; by default a
        :class:`cymbalism.coaching.lesson.LessonPath` starting at the player's level.
    start_ns : int, optional
        When the count-in starts on the clock (now by default).

    Attributes
    ----------
    zero_ns : int
        When song second 0 falls on the clock (``count_in_sec`` after ``start_ns``).
    count_in_sec : float
        The length of the count-in.
    bars : list of PlayedBar
        The bars laid out so far, in the order they are played (read only).
    messages : list of str
        What the engine said so far (read only; add with :meth:`say`).
    """

    def __init__(
        self,
        chart: Chart,
        players: Sequence[Player],
        settings: Settings | None = None,
        clock: Clock | None = None,
        recorder: Recorder | None = None,
        *,
        output: Output | None = None,
        options: LiveOptions | None = None,
        lesson: Callable[[Player], Lesson] | None = None,
        start_ns: int | None = None,
    ) -> None:
        from cymbalism.coaching.simplify import simplify_chart

        self.chart = chart = simplify_chart(chart)  # every level, derived where missing
        self._fold_tables: dict[Level, np.ndarray] = {}
        self.settings = settings or Settings()
        self.options = options or LiveOptions()
        self.clock = clock or MonotonicClock()
        self.recorder = recorder
        self.output: Output = output if output is not None else SilentOutput()
        if len(players) < 1:
            raise InputError("a session needs at least one player")
        names = [p.name for p in players]
        if len(set(names)) != len(names):
            raise InputError(f"player names must differ, got {names}")
        if self.options.lookahead_sec <= self.settings.window_sec:
            raise InputError(
                f"the lookahead ({self.options.lookahead_sec} s) must exceed the matching "
                f"window ({self.settings.window_sec} s)"
            )
        if self.options.lookahead_sec < ROLL_REACH_SEC:
            raise InputError(
                f"the lookahead ({self.options.lookahead_sec} s) must be at least "
                f"{ROLL_REACH_SEC} s, so a roll's next note is known when a stroke arrives"
            )
        self.base_map = chart.tempo_map.scaled(self.settings.tempo_scale)
        self._bar_plan = self._plan_bars()
        self.messages: list[str] = []
        self._store_busy = False
        if not self.output.audible:
            self.messages.append(self.output.description)
        unknown = set(self.options.lesson_players) - set(names)
        if unknown:
            raise InputError(f"lesson for unknown players {sorted(unknown)}; players: {names}")
        unknown = set(self.options.heard_as) - set(names)
        if unknown:
            raise InputError(f"heard_as for unknown players {sorted(unknown)}; players: {names}")
        self._heard = {n: heard_ways(t) for n, t in self.options.heard_as.items()}
        self._paths: dict[str, Lesson] = {}
        self._path_start: dict[str, float] = {}
        self.players: dict[str, _PlayerState] = {}
        for p in players:
            chart.part(p.level)  # a clear error now if the part is missing
            self.players[p.name] = _PlayerState(
                player=p,
                level=p.level,
                aligner=OnlineAligner(
                    Hits.empty(), window_sec=self.settings.window_sec, lane_blind=False
                ),
                levels=[(0.0, p.level)],
                fold=self._fold_table(p.level),
            )
            if p.name in self.options.lesson_players:
                path = self._make_path(p, lesson)
                self._paths[p.name] = path
                self._path_start[p.name] = float(path.tempo_scale)
                self.players[p.name].level = Level(path.level)
        self._names = names
        self.follower = TempoFollower(max_deviation=0.08) if self.settings.follow else None
        first = self._bar_plan[0] if self._bar_plan else 0
        self._count_in_beats, bar_len_sec = self.base_map.count_in(
            float(self.base_map.bar_to_qn(first))
        )
        self.count_in_sec = self.settings.count_in_bars * bar_len_sec
        self.start_ns = self.clock.now_ns() if start_ns is None else int(start_ns)
        self.zero_ns = self.start_ns + round(self.count_in_sec * NS_PER_SEC)
        self.bars: list[PlayedBar] = []
        self._next_plan = 0
        self._stretch = 1.0
        self._follow_stretch = 1.0
        self._shift = -float(self.base_map.qn_to_sec(self.base_map.bar_to_qn(first))) or 0.0
        self._closed_bars = 0
        self._asy: deque[tuple[float, float]] = deque()
        self._pair_names = tuple(names[:2]) if len(names) >= 2 else ()
        self._positions: dict[int, list[Any]] = {}
        self._position_keys: deque[int] = deque()
        self._finished: LiveResult | None = None
        self._count_in()
        self._lay_out_until(-self.count_in_sec)

    # ------------------------------------------------------------------ set-up
    def _make_path(self, player: Player, lesson: Callable[[Player], Lesson] | None) -> Lesson:
        if lesson is not None:
            return lesson(player)
        from cymbalism.coaching.lesson import LessonPath

        return LessonPath(
            self.chart,
            start_level=player.level,
            tempo_scale=min(1.0, self.settings.tempo_scale),
        )

    def _plan_bars(self) -> list[int]:
        n = self.chart.n_bars
        loop = self.options.loop_bars
        if loop is None:
            return list(range(n))
        a, b = loop
        if not 1 <= a <= b <= n:
            raise InputError(f"a loop of bars {a}-{b} does not fit the song's {n} bars")
        if self.options.loop_repeats < 1:
            raise InputError("a loop is played at least once")
        return list(range(a - 1, b)) * self.options.loop_repeats

    def _count_in(self) -> None:
        if not self._bar_plan or self.settings.count_in_bars <= 0:
            return
        sounds = []
        for k in range(self.settings.count_in_bars):
            base = -self.count_in_sec + k * self.count_in_sec / self.settings.count_in_bars
            for j, r in enumerate(self._count_in_beats):
                sounds.append(Sound(self.sec_to_ns(base + float(r)), ACCENT if j == 0 else CLICK))
        self.output.schedule(sounds)

    # ------------------------------------------------------------------ time
    def song_sec(self, t_ns: int) -> float:
        """Song seconds of a clock time."""
        return (t_ns - self.zero_ns) / NS_PER_SEC

    def sec_to_ns(self, song_sec: float) -> int:
        """The clock time of a song second."""
        return self.zero_ns + round(song_sec * NS_PER_SEC)

    def _time_sec(
        self, what: str, t_ns: int | None, song_sec: float | None, *, required: bool = False
    ) -> float:
        """The song second of a time given as ``t_ns=`` or ``song_sec=`` (now if neither
        is given and none is ``required``)."""
        if t_ns is not None and song_sec is not None:
            raise TypeError(
                f"{what}() takes the time once: t_ns= (clock nanoseconds) or song_sec= "
                f"(song seconds), not both (got t_ns={t_ns!r}, song_sec={song_sec!r})"
            )
        if t_ns is not None:
            if isinstance(t_ns, bool) or not isinstance(t_ns, int | np.integer):
                raise TypeError(
                    f"{what}(): t_ns is integer nanoseconds on the session clock, got "
                    f"{t_ns!r} (did you mean song_sec={t_ns!r}?)"
                )
            return self.song_sec(int(t_ns))
        if song_sec is not None:
            return float(song_sec)
        if required:
            raise TypeError(
                f"{what}() needs the time: t_ns= (clock nanoseconds) or song_sec= (song seconds)"
            )
        return self.song_sec(self.clock.now_ns())

    @property
    def planned_bars(self) -> list[int]:
        """The chart bars (from 0) the session plays, in order (a loop repeats some)."""
        return list(self._bar_plan)

    @property
    def end_sec(self) -> float:
        """When the last bar ends (song seconds), as far as it is laid out; ``inf`` before."""
        if self._next_plan < len(self._bar_plan) or not self.bars:
            return math.inf
        return self.bars[-1].end_sec

    @property
    def done(self) -> bool:
        """Whether the song is over (every bar played and every note's window passed)."""
        return self._finished is not None

    # ------------------------------------------------------------------ layout
    def _lay_out_until(self, song_sec: float) -> None:
        horizon = song_sec + self.options.lookahead_sec
        while self._next_plan < len(self._bar_plan):
            start = self.bars[-1].end_sec if self.bars else self._bar_start_sec()
            if start > horizon:
                return
            self._lay_out_bar(start)

    def _bar_start_sec(self) -> float:
        first = self._bar_plan[0]
        return float(self.base_map.qn_to_sec(self.base_map.bar_to_qn(first))) * self._stretch + (
            self._shift
        )

    def _practice_factor(self) -> float:
        """How much slower than the session's tempo the lesson path wants the song now."""
        if not self._paths:
            return 1.0
        return max(self._path_start[n] / float(p.tempo_scale) for n, p in self._paths.items())

    def tempo_scale_of(self, index: int) -> float:
        """The practice tempo the ramp gives the ``index``-th bar played (before any
        lesson path or tempo following): the session's tempo scale plus ``ramp_step``
        for every time through the loop before it, up to ``ramp_to``."""
        base = self.settings.tempo_scale
        loop = self.options.loop_bars
        if not self.options.ramp_step or loop is None:
            return base
        passes = index // (loop[1] - loop[0] + 1)
        return max(base, min(self.options.ramp_to, base + passes * self.options.ramp_step))

    def _lay_out_bar(self, start_sec: float) -> None:
        i = self._next_plan
        cb = self._bar_plan[i]
        q0 = float(self.base_map.bar_to_qn(cb))
        q1 = min(float(self.base_map.bar_to_qn(cb + 1)), max(self.chart.end_qn, q0))
        phase = 0.0
        if self.follower is not None and i > 0:
            errs = [e for st in self.players.values() for e in st.err_since_decision]
            for st in self.players.values():
                st.err_since_decision.clear()
            nominal = float(self.base_map.qn_to_sec(q1) - self.base_map.qn_to_sec(q0))
            self._follow_stretch, phase = self.follower.update(errs, bar_sec=nominal)
        ramp = self.settings.tempo_scale / self.tempo_scale_of(i)
        stretch = self._follow_stretch * self._practice_factor() * ramp
        jump = i > 0 and self._bar_plan[i - 1] + 1 != cb  # a loop: keep time continuous
        if jump or phase != 0.0 or stretch != self._stretch:
            # The bar starts where the last one ended (plus any phase correction), and
            # its notes are spaced by the new stretch from there.
            self._shift = start_sec + phase - float(self.base_map.qn_to_sec(q0)) * stretch
            self._stretch = stretch
        stretch, shift = self._stretch, self._shift
        levels = []
        for name, st in self.players.items():
            if name in self._paths:
                self._follow_path(name, st, start_sec + phase, cb)
            levels.append((name, st.level))
        bar = PlayedBar(
            index=i,
            chart_bar=cb,
            start_qn=q0,
            end_qn=q1,
            stretch=stretch,
            shift_sec=shift,
            start_sec=float(self.base_map.qn_to_sec(q0)) * stretch + shift,
            end_sec=float(self.base_map.qn_to_sec(q1)) * stretch + shift,
            levels=tuple(levels),
        )
        self.bars.append(bar)
        self._next_plan += 1
        sounds: list[Sound] = []
        layout = bar.layout
        if self.recorder is not None:
            self.recorder.add_bar(layout)
        last = self._next_plan == len(self._bar_plan)
        self.output.add_bar(layout, zero_ns=self.zero_ns, last=last)
        for name, st in self.players.items():
            part = self.chart.part(st.level)
            roll = self.chart.roll_mask(st.level)[part.span(layout.start_qn, layout.end_qn)]
            self._extend_targets(st, layout.place(part, self.base_map), roll, i)
            path = self._paths.get(name)
            st.bar_tempo.append(float(path.tempo_scale) if path is not None else 1.0)
        beats = self.base_map.beat_grid_qn(q1, q0)
        for j, q in enumerate(beats):
            t = float(self.base_map.qn_to_sec(q)) * stretch + shift
            sounds.append(Sound(self.sec_to_ns(t), ACCENT if j == 0 else CLICK))
        if self.options.backing:
            sounds.extend(self._backing(q0, q1, stretch, shift))
        self.output.schedule(sounds)

    def _backing(self, q0: float, q1: float, stretch: float, shift: float) -> list[Sound]:
        full = self.chart.part(self.chart.top_level).between(q0, q1)
        played: set[tuple[float, int]] = set()
        for st in self.players.values():
            p = self.chart.part(st.level).between(q0, q1)
            played.update(zip(np.round(p.qn, 6).tolist(), p.lane.tolist(), strict=True))
        sec = self.base_map.qn_to_sec(full.qn) * stretch + shift
        return [
            Sound(self.sec_to_ns(float(t)), "drum", int(ln), int(v))
            for q, t, ln, v in zip(
                np.round(full.qn, 6).tolist(), sec, full.lane, full.velocity, strict=True
            )
            if (q, int(ln)) not in played
        ]

    def _extend_targets(self, st: _PlayerState, notes: Hits, roll: np.ndarray, bar: int) -> None:
        a = len(st.hit_of_target)
        st.bar_ranges.append((a, a + len(notes)))
        if not len(notes):
            return
        st.aligner.extend(notes, roll=roll)
        st.target_bar.extend([self._bar_plan[bar] + 1] * len(notes))
        st.hit_of_target.extend([-1] * len(notes))

    def _follow_path(self, name: str, st: _PlayerState, at_sec: float, chart_bar: int) -> None:
        """Take the lesson path's level for the bar about to be laid out."""
        new = Level(self._paths[name].level)
        if new != st.level:
            st.level = new
            st.levels.append((at_sec, new))
            self._say(f"{name} now plays the {new.label} part (from bar {chart_bar + 1})")
            if self.recorder is not None:
                self.recorder.level_change(name, at_sec, new, reason="lesson path")
        st.fold = self._fold_table(st.level)

    def _bar_alignment(self, st: _PlayerState, i: int) -> Alignment:
        """One laid-out bar of a player, judged as :func:`~cymbalism.coaching.lesson.bar_alignment`
        judges it (the offline replay does the same)."""
        from cymbalism.coaching.lesson import bar_alignment

        bar = self.bars[i]
        a, b = st.bar_ranges[i]
        tgt = st.aligner.targets
        w = self.settings.window_sec
        lo = bisect_left(st.onset, bar.start_sec - w)
        hi = bisect_left(st.onset, bar.end_sec - w)
        hits = Hits(
            np.asarray(st.onset[lo:hi], dtype=np.float64),
            np.asarray(st.lane[lo:hi], dtype=np.int8),
            np.asarray(st.velocity[lo:hi], dtype=np.int16),
        )
        targets = Hits(tgt.onset_sec[a:b], tgt.lane[a:b], tgt.velocity[a:b])
        level = dict(bar.levels)[st.player.name]
        roll = st.aligner.roll
        sides = [st.bar_ranges[j] for j in (i - 1, i + 1) if 0 <= j < len(st.bar_ranges)]
        near = [np.arange(c, d)[roll[c:d]] for c, d in sides]  # the rolls either side
        return bar_alignment(
            hits,
            targets,
            bar.start_sec,
            bar.end_sec,
            window_sec=w,
            level=level,
            chart=self.chart,
            roll=roll[a:b],
            roll_nearby=tgt.select(np.concatenate(near)) if near else None,
        )

    def _close_bars(self, now_sec: float) -> None:
        """Tell the lesson paths how each bar went, once its last note's window has closed."""
        wait = self.settings.window_sec + self.options.grace_sec
        while self._closed_bars < len(self.bars) and (
            self.bars[self._closed_bars].end_sec + wait <= now_sec
        ):
            i = self._closed_bars
            self._closed_bars += 1
            for name, path in self._paths.items():
                st = self.players[name]
                level = dict(self.bars[i].levels)[name]
                # A bar laid out before the path's last move was played at the old level
                # or tempo; the path starts counting afresh, so it is not reported.
                if level != Level(path.level) or st.bar_tempo[i] != float(path.tempo_scale):
                    continue
                bar = self.bars[i]
                if not st.present_over(bar.start_sec, bar.end_sec):
                    continue  # a bar the player was not there for says nothing of them
                change = path.on_bar_end(bar.chart_bar, self._bar_alignment(st, i))
                if change is not None:
                    self._say(f"{name}: {change}")

    # ------------------------------------------------------------------ hits
    def push_hit(
        self,
        player: str,
        lane: int | Lane,
        velocity: int = 100,
        *,
        t_ns: int | None = None,
        song_sec: float | None = None,
    ) -> Feedback:
        """Judge one hit the moment it arrives, and record it.

        Give the hit's time exactly once, in the unit its name says.

        Parameters
        ----------
        player : str
        lane : int or Lane
        velocity : int
            1-127.
        t_ns : int, keyword-only
            When the hit sounded on the session clock, in nanoseconds (latency already
            removed, as inputs stamp it).
        song_sec : float, keyword-only
            When the hit sounded, in song seconds.

        Returns
        -------
        feedback : Feedback
            On time, early or late (with the error), extra, or not judged (a hi-hat
            pedal where the part has no pedal note: kept with the player's hits, but
            no note asks for it).

        Raises
        ------
        TypeError
            If neither or both of ``t_ns`` and ``song_sec`` are given, or ``t_ns`` is
            not an integer.
        InputError
            For an unknown player, lane or velocity.
        """
        onset_sec = self._time_sec("push_hit", t_ns, song_sec, required=True)
        st = self._player(player)
        lane = _lane(lane)
        if not 1 <= velocity <= 127:
            raise InputError(f"velocity must lie in 1-127, got {velocity}")
        if st.onset and onset_sec < st.onset[-1]:
            onset_sec = st.onset[-1]  # two inputs' stamps can cross by microseconds
        ways = self._heard.get(player, {}).get(int(lane))
        if ways is not None:  # a drum the input cannot name: the note it plays names it
            self._lay_out_until(onset_sec)
            counted = [self._fold_at(st, onset_sec, w) for w in ways]
            lane = name_stroke(st.aligner, onset_sec, ways, counted)
        if self.recorder is not None:
            self.recorder.add_hits(player, onset_sec, lane, velocity)
        st.onset.append(onset_sec)
        st.lane.append(lane)
        st.velocity.append(int(velocity))
        self._lay_out_until(onset_sec)
        judged_as = self._fold_at(st, onset_sec, lane)
        if judged_as == NOT_JUDGED:
            return Feedback(
                player,
                Verdict.NOT_JUDGED,
                lane,
                onset_sec,
                math.nan,
                math.nan,
                self._bar_at(onset_sec),
            )
        j = st.aligner.push(onset_sec, judged_as, velocity=int(velocity))
        if j is None and st.aligner.rolled(onset_sec, judged_as):
            fb = Feedback(
                player, Verdict.ROLL, lane, onset_sec, math.nan, math.nan, self._bar_at(onset_sec)
            )
        elif j is None:
            st.extras.append(len(st.onset) - 1)
            st.n_extra += 1
            fb = Feedback(
                player, Verdict.EXTRA, lane, onset_sec, math.nan, math.nan, self._bar_at(onset_sec)
            )
        else:
            k = j.target_index
            err = j.error_sec
            st.hit_of_target[k] = j.hit_index
            if k in st.reported_miss:  # a hit stamped earlier than it arrived
                st.reported_miss.discard(k)
                st.n_miss -= 1
            st.n_hit += 1
            note_lane = int(st.aligner.targets.lane[k])
            if st.aligner.roll[k]:  # a roll is played at the drummer's own rate
                fb = Feedback(
                    player,
                    Verdict.ROLL,
                    lane,
                    onset_sec,
                    j.target_sec,
                    math.nan,
                    st.target_bar[k],
                    note_lane,
                )
            else:
                st.n_timed += 1
                st.err_sum += err
                st.abs_sum += abs(err)
                st.err_since_decision.append(err)
                tol = self.options.tolerance_sec[st.level]
                verdict = (
                    Verdict.ON_TIME
                    if abs(err) <= tol
                    else (Verdict.LATE if err > 0 else Verdict.EARLY)
                )
                fb = Feedback(
                    player, verdict, lane, onset_sec, j.target_sec, err, st.target_bar[k], note_lane
                )
                self._pair(player, j.target_sec, onset_sec)
        st.recent.append(fb)
        st.last_by_lane[lane] = fb
        return fb

    def _fold_table(self, level: Level) -> np.ndarray:
        """The lane a hit on each lane counts for in this chart's part at ``level`` (made
        once per level: a hit just after a level change looks it up)."""
        from cymbalism.coaching.simplify import fold_table

        table = self._fold_tables.get(level)
        if table is None:
            table = fold_table(level, chart=self.chart)
            self._fold_tables[level] = table
        return table

    def _fold_at(self, st: _PlayerState, onset_sec: float, lane: int) -> int:
        """The lane a hit counts for in the part the player was on when it sounded."""
        if len(st.levels) == 1 or onset_sec >= st.levels[-1][0]:
            return int(st.fold[lane])
        level = st.levels[0][1]
        for at, lv in st.levels:
            if at > onset_sec:
                break
            level = lv
        return int(self._fold_table(level)[lane])

    def _bar_at(self, song_sec: float) -> int:
        for bar in reversed(self.bars):
            if bar.start_sec <= song_sec:
                return bar.chart_bar + 1
        return 0

    def _pair(self, player: str, target_sec: float, onset_sec: float) -> None:
        """Note a matched hit of the first two players for the sync meter."""
        if player not in self._pair_names:
            return
        key = round(target_sec * 1e6)
        slot = self._positions.get(key)
        if slot is None:
            slot = self._positions[key] = [target_sec, 0.0, 0, 0.0, 0]
            self._position_keys.append(key)
        if player == self._pair_names[0]:
            slot[1] += onset_sec
            slot[2] += 1
        else:
            slot[3] += onset_sec
            slot[4] += 1

    # ------------------------------------------------------------------ time passes
    def tick(self, *, t_ns: int | None = None, song_sec: float | None = None) -> list[Feedback]:
        """Let time pass: lay out bars ahead, report notes whose window has closed.

        Parameters
        ----------
        t_ns : int, keyword-only, optional
            Now on the session clock, in nanoseconds.
        song_sec : float, keyword-only, optional
            Now in song seconds. Give at most one of the two; the clock's now by default.

        Returns
        -------
        misses : list of Feedback
            Notes nobody played, whose window closed since the last tick.
        """
        now_sec = self._time_sec("tick", t_ns, song_sec)
        self._lay_out_until(now_sec)
        self._watch_recorder()
        out: list[Feedback] = []
        # A hit may be stamped a little before it is pushed (its latency is removed), so
        # a note is called missed only a moment after its window closed.
        limit = now_sec - self.options.grace_sec
        for name, st in self.players.items():
            for k in st.aligner.misses_until(limit).tolist():
                tgt = st.aligner.targets
                if not st.present_at(float(tgt.onset_sec[k])):
                    continue  # the player was not there: not a miss
                st.n_miss += 1
                st.reported_miss.add(k)
                fb = Feedback(
                    name,
                    Verdict.MISS,
                    int(tgt.lane[k]),
                    math.nan,
                    float(tgt.onset_sec[k]),
                    math.nan,
                    st.target_bar[k],
                    int(tgt.lane[k]),
                )
                st.recent.append(fb)
                st.last_by_lane[fb.lane] = fb
                out.append(fb)
        # Positions whose window closed are final: they join the sync meter.
        closed = limit - self.settings.window_sec
        keys = self._position_keys
        while keys and self._positions[keys[0]][0] < closed:
            t, sa, na, sb, nb = self._positions.pop(keys.popleft())
            if na and nb:
                self._asy.append((t, sa / na - sb / nb))
        horizon = now_sec - self.options.sync_window_sec
        while self._asy and self._asy[0][0] < horizon:
            self._asy.popleft()
        self._close_bars(now_sec)
        return out

    def player_left(
        self, player: str, *, t_ns: int | None = None, song_sec: float | None = None
    ) -> None:
        """Mark that ``player`` left (their connection dropped and was not taken up again,
        their input disappeared). From then on their notes are neither missed nor
        judged, nor synchronised with the partner's; the store keeps when they left and
        the report says so. Leaving twice is leaving once.

        ``t_ns`` (clock nanoseconds) or ``song_sec`` says when; the clock's now by default.
        """
        at = self._time_sec("player_left", t_ns, song_sec)
        st = self._player(player)
        if not st.here:
            return
        at = max(at, st.present[-1][0])
        if at == st.present[-1][0]:
            st.present.pop()  # left the moment they came: that stretch never was
        else:
            st.present[-1][1] = at
        self._say(f"{player} left at {_clock(at)}")
        if self.recorder is not None:
            self.recorder.presence(player, at, present=False)

    def player_rejoined(
        self, player: str, *, t_ns: int | None = None, song_sec: float | None = None
    ) -> None:
        """Mark that ``player`` is back (after :meth:`player_left`); judged again from now."""
        at = self._time_sec("player_rejoined", t_ns, song_sec)
        st = self._player(player)
        if st.here:
            return
        if st.present:
            at = max(at, st.present[-1][1])
        st.present.append([at, math.inf])
        self._say(f"{player} is back at {_clock(at)}")
        if self.recorder is not None:
            self.recorder.presence(player, at, present=True)

    def is_present(self, player: str) -> bool:
        """Whether ``player`` is there now."""
        return self._player(player).here

    def say(self, text: str) -> None:
        """Add a message for the players (a port lost, the click silent)."""
        self._say(text)

    def _say(self, text: str) -> None:
        self.messages.append(text)

    def _watch_recorder(self) -> None:
        """Say when the store starts refusing the session's commits, and when it takes
        them again (a :class:`~cymbalism.store.writer.SessionWriter`'s ``trouble``)."""
        busy = getattr(self.recorder, "trouble", None) is not None
        if busy != self._store_busy:
            self._store_busy = busy
            self._say(STORE_BUSY_TEXT if busy else STORE_FREE_TEXT)

    @property
    def store_busy(self) -> bool:
        """Whether the store refused the session's last commit (its rows wait); as of the
        last :meth:`tick`."""
        return self._store_busy

    # ------------------------------------------------------------------ views
    def sync_meter(self) -> dict[str, float | int | None]:
        """The rolling asynchrony between the first two players (last ``sync_window_sec``).

        Returns
        -------
        dict with ``n``, ``mean_ms`` (positive: the first player is behind), ``sd_ms``
        and ``mean_abs_ms`` (``None`` without data).
        """
        if not self._asy:
            return {"n": 0, "mean_ms": None, "sd_ms": None, "mean_abs_ms": None}
        a = np.fromiter((x for _, x in self._asy), dtype=np.float64)
        return {
            "n": int(a.size),
            "mean_ms": float(a.mean() * 1000),
            "sd_ms": float(a.std(ddof=1) * 1000) if a.size > 1 else 0.0,
            "mean_abs_ms": float(np.abs(a).mean() * 1000),
        }

    def laid_out(self, player: str) -> Hits:
        """The notes laid out for ``player`` so far, in song seconds (grows as bars are).

        Raises
        ------
        InputError
            If nobody of that name plays.
        """
        return self._player(player).aligner.targets

    def laid_out_rolls(self, player: str) -> np.ndarray:
        """Which of :meth:`laid_out`'s notes lie under a drum roll (bool, same order)."""
        return self._player(player).aligner.roll

    def target_lane(self, player: str, lane: int | Lane) -> int:
        """The lane of the note a hit on ``lane`` counts for in the part ``player`` plays
        now (a simplified part folds some lanes into others: a tom into the snare, say);
        :data:`~cymbalism.model.lanes.NOT_JUDGED` for a hit no note asks for.

        Raises
        ------
        InputError
            If nobody of that name plays, or the lane does not exist.
        """
        return int(self._player(player).fold[_lane(lane)])

    @property
    def closed_bars(self) -> int:
        """How many of :attr:`bars` are over: every note's window has closed."""
        return self._closed_bars

    def tips(self, player: str, *, bars: range | None = None, max_tips: int = 3) -> list[str]:
        """Advice in words on how ``player`` played, by the lesson path's rules
        (:func:`cymbalism.coaching.lesson.tips`).

        Parameters
        ----------
        player : str
        bars : range, optional
            Indices into :attr:`bars` (a pass through a loop, say); every closed bar by
            default. Bars not closed yet are left out.
        max_tips : int
        """
        from cymbalism.coaching.lesson import bar_result, tips

        st = self._player(player)
        span = range(self._closed_bars) if bars is None else bars
        results = []
        for i in span:
            if not 0 <= i < self._closed_bars:
                continue
            b = self.bars[i]
            level = dict(b.levels)[player]
            notes = self.chart.part(level).between(b.start_qn, b.end_qn)
            align = self._bar_alignment(st, i)
            tempo = st.bar_tempo[i]
            results.append(bar_result(b.chart_bar, level, tempo, notes.qn, notes.lane, align))
        return tips(results, self.chart.tempo_map, last_bars=len(results), max_tips=max_tips)

    def _player(self, player: str) -> _PlayerState:
        st = self.players.get(player)
        if st is None:
            raise InputError(f"no player {player!r}; players: {self._names}")
        return st

    def snapshot(self, *, t_ns: int | None = None, song_sec: float | None = None) -> dict[str, Any]:
        """The state for a view (terminal or browser), JSON-friendly.

        ``t_ns`` (clock nanoseconds) or ``song_sec`` (song seconds) says when, as for
        :meth:`tick`; the clock's now by default.
        """
        now_sec = self._time_sec("snapshot", t_ns, song_sec)
        bar = None
        for b in reversed(self.bars):
            if b.start_sec <= now_sec:
                bar = b
                break
        first = self._bar_plan[0] if self._bar_plan else 0
        if bar is not None:
            qn = float(self.base_map.sec_to_qn((now_sec - bar.shift_sec) / bar.stretch))
            _, beats = self.base_map.qn_to_bar_beat(np.float64(qn))
            beat = float(beats)
            bar_no = bar.chart_bar + 1
            section = self.chart.section_at(qn)
            bpm = float(self.base_map.bpm_at(np.float64(qn))) / bar.stretch
            in_bar_qn = qn - bar.start_qn
            index = bar.index
        else:
            per_bar = len(self._count_in_beats)
            beat = (now_sec + self.count_in_sec) / max(self.count_in_sec, 1e-9) * per_bar
            bar_no, section = 0, "count-in"
            bpm = float(self.base_map.bpm_at(np.float64(0.0)))
            in_bar_qn, index = -1.0, 0
        shown = self._bar_plan[index : index + 3]
        beats_per_bar = int(
            self.base_map.beats_per_bar(self.base_map.bar_to_qn(shown[0] if shown else first))
        )
        players = []
        for name, st in self.players.items():
            n_notes = st.n_hit + st.n_miss
            players.append(
                {
                    "name": name,
                    "level": st.level.label,
                    "hits": st.n_hit,
                    "misses": st.n_miss,
                    "extras": st.n_extra,
                    "hit_rate": st.n_hit / n_notes if n_notes else None,
                    "mean_error_ms": st.err_sum / st.n_timed * 1000 if st.n_timed else None,
                    "mean_abs_error_ms": st.abs_sum / st.n_timed * 1000 if st.n_timed else None,
                    "lanes": {
                        Lane(ln).short: fb.to_dict() for ln, fb in sorted(st.last_by_lane.items())
                    },
                    "recent": [fb.to_dict() for fb in list(st.recent)[-16:]],
                    "upcoming": self._upcoming(st.level, shown),
                }
            )
        return {
            "song": self.chart.title,
            "song_sec": now_sec,
            "bar": bar_no,
            "n_bars": self.chart.n_bars,
            "beat": float(beat) + 1.0,
            "beats_per_bar": beats_per_bar,
            "bar_qn": in_bar_qn,
            "section": section,
            "bpm": bpm,
            "follow": self.follower is not None,
            "players": players,
            "sync": self.sync_meter(),
            "messages": self.messages[-5:],
            "done": self.done,
        }

    def _upcoming(self, level: Level, chart_bars: Sequence[int]) -> list[dict[str, Any]]:
        """The notes of ``chart_bars`` at ``level``, for a view to show what is coming:
        per bar its number, its length and its notes as (quarter notes from the bar line,
        lane, velocity, 1 under a drum roll else 0)."""
        out = []
        part = self.chart.part(level)
        rolled = self.chart.roll_mask(level)
        for cb in chart_bars:
            q0 = float(self.base_map.bar_to_qn(cb))
            q1 = min(float(self.base_map.bar_to_qn(cb + 1)), max(self.chart.end_qn, q0))
            at = part.span(q0, q1)
            notes = part.select(at)
            out.append(
                {
                    "bar": cb + 1,
                    "length_qn": q1 - q0,
                    "notes": [
                        [round(float(q) - q0, 6), int(ln), int(v), int(r)]
                        for q, ln, v, r in zip(
                            notes.qn, notes.lane, notes.velocity, rolled[at], strict=True
                        )
                    ],
                }
            )
        return out

    # ------------------------------------------------------------------ the end
    def finish(self, *, until_sec: float | None = None) -> LiveResult:
        """Close the session and compute its figures as offline analysis does.

        Parameters
        ----------
        until_sec : float, optional
            The song second the session was stopped at (Ctrl-C, a time limit). Notes
            and hits from then on are left out, rather than counting the rest of the
            song as missed. By default the whole song: every note nobody played is a miss.
        """
        if self._finished is not None:
            return self._finished
        self.tick(song_sec=math.inf if until_sec is None else until_sec)
        players = tuple(
            Player(
                name=n,
                level=st.player.level,
                input=st.player.input,
                offset_sec=st.player.offset_sec,
                hits=Hits(
                    np.asarray(st.onset, dtype=np.float64),
                    np.asarray(st.lane, dtype=np.int8),
                    np.asarray(st.velocity, dtype=np.int16),
                ),
                present=st.spans(),
            )
            for n, st in self.players.items()
        )
        session = Session(
            chart=self.chart,
            players=players,
            settings=self.settings,
            layout=tuple(b.layout for b in self.bars),
            until_sec=until_sec,
        )
        live = {name: st.aligner.finish() for name, st in self.players.items()}
        # The figures of the session as stored: each player judged while present and
        # before the stop, by the same analysis the report runs on the stored session.
        report = analyze_players(
            [a.hits for a in live.values()],
            tempo_map=self.base_map,
            targets=[a.targets for a in live.values()],
            rolls=[a.roll for a in live.values()],
            names=list(live),
            window_sec=self.settings.window_sec,
            title=self.chart.title,
            spans=[session.judged_spans(n) for n in live],
        )
        alignments = {p.name: p.alignment for p in report.players}
        if self.recorder is not None:
            for n, a in alignments.items():
                self.recorder.add_alignment(n, a)
            self.recorder.stopped(until_sec)
        stop = math.inf if until_sec is None else until_sec
        self._finished = LiveResult(
            session=session,
            alignments=alignments,
            report=report,
            # a part laid out for bars the session never reached was never played
            levels={
                n: st.levels[:1] + [(t, lv) for t, lv in st.levels[1:] if t < stop]
                for n, st in self.players.items()
            },
            bars=list(self.bars),
            messages=list(self.messages),
        )
        return self._finished
