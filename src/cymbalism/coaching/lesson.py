"""The beginner's path: a part that grows, a level at a time, as the player succeeds.

A :class:`LessonPath` is told, at the end of every bar, how the player did on that
bar's notes (an :class:`~cymbalism.analysis.align.Alignment` from the shared judging
code). From that alone it decides, at bar boundaries only:

- **up**: when the last ``window_bars`` bars with notes at the current level and tempo
  were good together (by default at least 85% of the notes hit and a mean absolute
  error under 40 ms), first the practice tempo ramps toward 100% (``tempo_step`` per
  good window), then, at full tempo, the level goes up;
- **down**: after ``fail_bars`` bars in a row that failed (under 60% of the notes hit,
  or a mean absolute error over 70 ms), or when the last ``stuck_bars`` bars at one
  level hit under 75% of the notes, the level goes down; at Beginner the tempo slows
  instead, down to ``min_tempo_scale``;
- after every change the count starts again.

The same object runs live (the engine calls :meth:`LessonPath.on_bar_end` as each bar
closes and asks :meth:`LessonPath.targets_for_bar` what to judge next) and offline
(:func:`replay_lesson` feeds a recorded performance through it, bar by bar), so a
replay reproduces what the player saw. :meth:`LessonPath.tips` turns the recent bars
into advice per lane in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cymbalism.analysis.align import DEFAULT_WINDOW_SEC, Alignment, align
from cymbalism.analysis.timing import TimingStats, timing_stats
from cymbalism.analysis.windows import moments
from cymbalism.coaching.simplify import fold_hits, simplify_chart
from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import DEFAULT_GRACE_SEC, BarLayout, Session
from cymbalism.model.tempo import TempoMap
from cymbalism.report.format import listed

__all__ = [
    "BarResult",
    "LessonPath",
    "LessonReport",
    "LessonSettings",
    "LevelChange",
    "bar_result",
    "beat_name",
    "placement_level",
    "replay_lesson",
    "replay_session",
    "tips",
]

#: A drum whose notes a player missed this share of or more is left out as a whole: the
#: tip says so, not which beats.
LEAVE_OUT_SHARE = 0.9


@dataclass(frozen=True)
class LessonSettings:
    """When the path moves.

    Attributes
    ----------
    window_bars : int
        How many recent bars (with notes) must be good together to go up.
    promote_hit_rate : float
        Share of notes hit over those bars to go up (0.85).
    promote_mae_sec : float
        Mean absolute timing error over those bars below which they are good (40 ms).
    fail_hit_rate : float
        A bar below this hit rate failed (0.6).
    fail_mae_sec : float
        A bar with a mean absolute error above this failed (70 ms).
    fail_bars : int
        Failed bars in a row that send the player down.
    stuck_bars, stuck_hit_rate
        A player who has hit less than ``stuck_hit_rate`` of the notes over the last
        ``stuck_bars`` bars at one level and tempo (without failing outright) goes down too.
    tempo_step : float
        How much a good window at reduced tempo raises the tempo scale (0.1 = 10%).
    min_tempo_scale : float
        The slowest practice tempo the path goes down to.
    window_sec : float
        The judging window, for :func:`replay_lesson`.
    """

    window_bars: int = 4
    promote_hit_rate: float = 0.85
    promote_mae_sec: float = 0.040
    fail_hit_rate: float = 0.60
    fail_mae_sec: float = 0.070
    fail_bars: int = 4
    stuck_bars: int = 16
    stuck_hit_rate: float = 0.75
    tempo_step: float = 0.10
    min_tempo_scale: float = 0.5
    window_sec: float = DEFAULT_WINDOW_SEC

    def __post_init__(self) -> None:
        if min(self.window_bars, self.fail_bars, self.stuck_bars) < 1:
            raise InputError("window_bars, fail_bars and stuck_bars must be at least 1")
        for name in ("promote_hit_rate", "fail_hit_rate", "stuck_hit_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} is a share of notes in [0, 1], got {getattr(self, name)}")
        for name in ("promote_mae_sec", "fail_mae_sec"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise InputError(f"{name} = {v} must be seconds in (0, 1) (milliseconds given?)")
        if not 0 < self.min_tempo_scale <= 1 or not 0 < self.tempo_step <= 1:
            raise InputError("min_tempo_scale and tempo_step must lie in (0, 1]")


@dataclass(frozen=True, eq=False)
class BarResult:
    """How one bar went.

    Attributes
    ----------
    bar : int
        The bar of the chart (from 0).
    level : Level
    tempo_scale : float
    stats : TimingStats
        From :func:`cymbalism.analysis.timing.timing_stats` on the bar's alignment.
    note_qn, note_lane : np.ndarray [shape=(n,)]
        The bar's notes (quarter notes, lanes).
    hit : np.ndarray [shape=(n,), bool]
        Which notes were hit.
    error_sec : np.ndarray [shape=(n,), float64, seconds]
        Played - target for each note judged for timing; NaN for a miss and for a note
        under a drum roll (hit or missed, never early or late).
    extra_lane : np.ndarray [shape=(k,), int8]
        The lanes of the hits that matched no note.
    good, failed : bool
    """

    bar: int
    level: Level
    tempo_scale: float
    stats: TimingStats
    note_qn: np.ndarray
    note_lane: np.ndarray
    hit: np.ndarray
    error_sec: np.ndarray
    extra_lane: np.ndarray
    good: bool
    failed: bool


def bar_result(
    bar: int,
    level: Level,
    tempo_scale: float,
    note_qn: np.ndarray,
    note_lane: np.ndarray,
    alignment: Alignment,
    settings: LessonSettings | None = None,
) -> BarResult:
    """How one bar went: its notes (quarter notes, lanes) judged by ``alignment``
    (same notes, same order), good or failed by ``settings``."""
    s = settings or LessonSettings()
    stats = timing_stats(alignment)
    has_notes = note_qn.size > 0
    failed = has_notes and (
        stats.hit_rate < s.fail_hit_rate
        or (stats.n_hit > 0 and stats.mean_abs_error_sec > s.fail_mae_sec)
    )
    return BarResult(
        bar=int(bar),
        level=level,
        tempo_scale=tempo_scale,
        stats=stats,
        note_qn=note_qn,
        note_lane=note_lane,
        hit=alignment.matched,
        error_sec=np.array(alignment.timed_error_sec),
        extra_lane=alignment.hits.lane[alignment.extra_index].copy(),
        good=bool(
            has_notes
            and stats.hit_rate >= s.promote_hit_rate
            and stats.mean_abs_error_sec < s.promote_mae_sec
        ),
        failed=bool(failed),
    )


@dataclass(frozen=True)
class LevelChange:
    """A move on the path, taking effect from the bar after ``bar``.

    ``level`` and ``tempo_scale`` are the new ones; one of them differs from the old.
    """

    bar: int
    previous_level: Level
    level: Level
    previous_tempo_scale: float
    tempo_scale: float
    reason: str

    @property
    def kind(self) -> str:
        """``"up"``, ``"down"``, ``"faster"`` or ``"slower"``."""
        if self.level > self.previous_level:
            return "up"
        if self.level < self.previous_level:
            return "down"
        return "faster" if self.tempo_scale > self.previous_tempo_scale else "slower"

    def __str__(self) -> str:
        what = {
            "up": f"up to {self.level.label}",
            "down": f"down to {self.level.label}",
            "faster": f"tempo up to {self.tempo_scale:.0%}",
            "slower": f"tempo down to {self.tempo_scale:.0%}",
        }[self.kind]
        return f"after bar {self.bar + 1}: {what} ({self.reason})"


def beat_name(beat: float, *, beats_per_bar: int) -> str:
    """A position in the bar as a drummer counts it: ``"beat 3"``, ``"the 'and' of 2"``.

    Parameters
    ----------
    beat : float
        Beats from the bar line (0 = beat 1), in the time signature's beats.
    beats_per_bar : int
    """
    whole = int(np.floor(beat + 1e-6))
    frac = beat - whole
    n = whole % max(beats_per_bar, 1) + 1
    if abs(frac) < 1e-6:
        return f"beat {n}"
    for value, word in ((0.5, "and"), (0.25, "e"), (0.75, "a")):
        if abs(frac - value) < 1e-6:
            return f"the '{word}' of {n}"
    if abs(frac - 1 / 3) < 1e-6 or abs(frac - 2 / 3) < 1e-6:
        return f"the triplet after {n}"
    return f"just after beat {n}"


def _join_positions(labels: list[str]) -> str:
    """``["beat 2", "beat 4"]`` -> ``"beats 2 and 4"``; ``'and'`` counts likewise."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        head, _, n = label.rpartition(" ")
        groups.setdefault(head, []).append(n)
    parts = []
    for head, ns in groups.items():
        if head == "beat":
            parts.append(("beats " if len(ns) > 1 else "beat ") + listed(ns))
        else:
            parts.append(f"{head} {listed(ns)}")
    return listed(parts)


class LessonPath:
    """A beginner's path through one song; see the module's rules.

    Parameters
    ----------
    chart : Chart
        The song. Missing levels are derived (:func:`~cymbalism.coaching.simplify.simplify_chart`).
    start_level : Level, str or int
        Where to start (Beginner, or what :func:`placement_level` found). Expert+ (a
        stored session's drummer with a double pedal, replayed) needs the chart's
        Expert+ part, and is then the top: the path climbs back to it after a move down.
    tempo_scale : float
        The starting practice tempo (0.7 = 70%); good windows ramp it to 1.0 before
        the level goes up.
    loop : (int, int), optional
        Practise bars ``a`` to ``b - 1`` over and over (bars from 0): see :meth:`next_bar`.
    settings : LessonSettings
    top_level : Level, optional
        The highest level to climb to (the chart's full part by default; never Expert+
        for a path that starts below it).
    """

    def __init__(
        self,
        chart: Chart,
        *,
        start_level: Level | str | int = Level.BEGINNER,
        tempo_scale: float = 1.0,
        loop: tuple[int, int] | None = None,
        settings: LessonSettings | None = None,
        top_level: Level | str | int | None = None,
    ) -> None:
        self.chart = simplify_chart(chart)
        self.settings = settings or LessonSettings()
        start = Level.parse(start_level)
        if top_level is not None:
            self.top_level = Level.parse(top_level)
        elif start is Level.EXPERT_PLUS and self.chart.top_level is Level.EXPERT:
            self.chart.part(start)  # a clear error for a chart without double kicks
            self.top_level = start
        else:
            self.top_level = self.chart.top_level
        self.level = min(start, self.top_level)
        if not self.settings.min_tempo_scale <= tempo_scale <= 1.0:
            raise InputError(
                "a lesson's practice tempo must lie in "
                f"{100 * self.settings.min_tempo_scale:g}-100% of the song's, got "
                f"{100 * tempo_scale:g}%"
            )
        self.tempo_scale = float(tempo_scale)
        n_bars = self.chart.n_bars
        if loop is not None:
            a, b = int(loop[0]), int(loop[1])
            if not 0 <= a < b <= n_bars:
                raise InputError(f"a loop must be bars a < b within 0-{n_bars}, got {loop}")
            loop = (a, b)
        self.loop = loop
        self.history: list[BarResult] = []
        self.changes: list[LevelChange] = []
        self._streak: list[BarResult] = []

    # ------------------------------------------------------------------ what to play
    def bar_span_qn(self, bar: int) -> tuple[float, float]:
        """Where a bar starts and ends, in quarter notes."""
        tm = self.chart.tempo_map
        start = float(tm.bar_to_qn(bar))
        return start, start + float(tm.bar_length_qn(bar))

    def notes_for_bar(self, bar: int, level: Level | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The bar's notes at ``level`` (the current one by default): (qn, lane)."""
        part = self.chart.part(self.level if level is None else level)
        sub = part.between(*self.bar_span_qn(bar))
        return sub.qn, sub.lane

    def targets_for_bar(
        self, bar: int, *, start_sec: float | None = None, level: Level | None = None
    ) -> Hits:
        """The notes of ``bar`` at the current level and tempo, as targets in seconds.

        Parameters
        ----------
        bar : int
        start_sec : float, optional
            When the bar starts on the session's clock (a loop plays a bar many times);
            by default its time in the song at the current tempo.
        level : Level, optional
            Another level's notes (the partner's full part, say); the current one by default.
        """
        tm = self.chart.tempo_map.scaled(self.tempo_scale)
        start_qn, _ = self.bar_span_qn(bar)
        part = self.chart.part(self.level if level is None else level)
        part = part.between(*self.bar_span_qn(bar))
        sec = tm.qn_to_sec(part.qn)
        if start_sec is not None:
            sec = sec - float(tm.qn_to_sec(start_qn)) + float(start_sec)
        return Hits(sec, part.lane.copy(), part.velocity.copy())

    def fold(self, hits: Hits) -> Hits:
        """The player's hits with their lanes folded as the current level folds them.

        An easier part plays several drums as one (every tom as the floor tom at Easy):
        a hit on any of them counts. Judge ``fold(hits)`` against
        :meth:`targets_for_bar`.
        """
        return fold_hits(hits, self.level, chart=self.chart)

    def next_bar(self, bar: int) -> int | None:
        """The bar to play after ``bar``: the loop's start after its end; None after the song."""
        if self.loop is not None and bar + 1 >= self.loop[1]:
            return self.loop[0]
        return bar + 1 if bar + 1 < self.chart.n_bars else None

    # ------------------------------------------------------------------ judging
    def on_bar_end(self, bar: int, alignment: Alignment) -> LevelChange | None:
        """Record how ``bar`` went and move on the path if it is time.

        Parameters
        ----------
        bar : int
            The bar just finished.
        alignment : Alignment
            The player's hits in that bar, folded by :meth:`fold`, matched to
            :meth:`targets_for_bar` (same notes in the same order), from
            :func:`~cymbalism.analysis.align.align` or an
            :class:`~cymbalism.analysis.align.OnlineAligner`.

        Returns
        -------
        change : LevelChange or None
            The new level or tempo, which applies from the next bar laid out (live
            and in :func:`replay_lesson`: the bar after next).
        """
        qn, lane = self.notes_for_bar(bar)
        if len(alignment.targets) != qn.size or not np.array_equal(alignment.targets.lane, lane):
            raise InputError(
                f"bar {bar + 1}: the alignment has {len(alignment.targets)} notes but the "
                f"{self.level.label} part has {qn.size} there; judge the notes of "
                "targets_for_bar(bar) at the current level"
            )
        result = bar_result(bar, self.level, self.tempo_scale, qn, lane, alignment, self.settings)
        self.history.append(result)
        if not qn.size:
            return None
        self._streak.append(result)
        return self._decide(int(bar))

    def _decide(self, bar: int) -> LevelChange | None:
        s = self.settings
        recent = self._streak[-s.window_bars :]
        if len(recent) == s.window_bars:
            errors = np.concatenate([r.error_sec for r in recent])
            m = moments(errors)
            hit_rate = float(np.concatenate([r.hit for r in recent]).mean())
            if hit_rate >= s.promote_hit_rate and m.mean_abs < s.promote_mae_sec:
                why = (
                    f"{hit_rate:.0%} of the notes, {m.mean_abs * 1000:.0f} ms off on average "
                    f"over {s.window_bars} bars"
                )
                if self.tempo_scale < 1.0 - 1e-9:
                    return self._change(
                        bar, self.level, min(1.0, self.tempo_scale + s.tempo_step), why
                    )
                if self.level < self.top_level:
                    return self._change(bar, Level(self.level + 1), self.tempo_scale, why)
        tail = self._streak[-s.fail_bars :]
        why = ""
        if len(tail) == s.fail_bars and all(r.failed for r in tail):
            rate = float(np.mean([r.stats.hit_rate for r in tail]))
            why = f"{s.fail_bars} hard bars in a row ({rate:.0%} of the notes)"
        elif len(self._streak) >= s.stuck_bars:
            stuck = self._streak[-s.stuck_bars :]
            n_hit = sum(r.stats.n_hit for r in stuck)
            rate = n_hit / max(sum(r.stats.n_notes for r in stuck), 1)
            if rate < s.stuck_hit_rate:
                why = f"only {rate:.0%} of the notes over {s.stuck_bars} bars"
        if why:
            if self.level > Level.BEGINNER:
                return self._change(bar, Level(self.level - 1), self.tempo_scale, why)
            slower = max(s.min_tempo_scale, self.tempo_scale - s.tempo_step)
            if slower < self.tempo_scale - 1e-9:
                return self._change(bar, self.level, slower, why)
        return None

    def _change(self, bar: int, level: Level, tempo_scale: float, reason: str) -> LevelChange:
        change = LevelChange(
            bar=bar,
            previous_level=self.level,
            level=level,
            previous_tempo_scale=self.tempo_scale,
            tempo_scale=round(float(tempo_scale), 6),
            reason=reason,
        )
        self.level, self.tempo_scale = level, change.tempo_scale
        self.changes.append(change)
        self._streak = []
        return change

    # ------------------------------------------------------------------ advice
    def tips(self, *, last_bars: int = 8, max_tips: int = 3) -> list[str]:
        """Advice in words from the recent bars, most important first (:func:`tips`)."""
        return tips(
            self.history,
            self.chart.tempo_map,
            last_bars=last_bars,
            max_tips=max_tips,
            settings=self.settings,
        )


def tips(
    history: Sequence[BarResult],
    tempo_map: TempoMap,
    *,
    last_bars: int = 8,
    max_tips: int = 3,
    settings: LessonSettings | None = None,
) -> list[str]:
    """Advice in words from the recent bars, most important first.

    The one source of tips: the lesson path's, the studio's between loops and at the end.

    Parameters
    ----------
    history : sequence of BarResult
        How each bar went, in the order played (:func:`bar_result`).
    tempo_map : TempoMap
        The chart's, to name the beats.
    last_bars : int
        How many recent bars with notes to look at.
    max_tips : int
    settings : LessonSettings, optional
        Its ``promote_hit_rate`` decides when a clean run earns "keep going".

    Returns
    -------
    tips : list of str
        Such as "you rush the snare by about 25 ms" or "you drop the kick on beat 3".
    """
    recent = [r for r in history if r.note_qn.size][-last_bars:]
    if not recent:
        return []
    tm = tempo_map
    qn = np.concatenate([r.note_qn for r in recent])
    lane = np.concatenate([r.note_lane for r in recent]).astype(np.int64)
    err = np.concatenate([r.error_sec for r in recent])
    hit = np.concatenate([r.hit for r in recent])
    extra = np.concatenate([r.extra_lane for r in recent]).astype(np.int64)
    if not hit.any() and not extra.size:
        return [
            "none of your strokes came through in these bars: "
            "is the input you play the one you chose?"
        ]
    _, beat = tm.qn_to_bar_beat(qn)
    per_bar = tm.beats_per_bar(qn)
    scored: list[tuple[float, str]] = []
    for ln in np.unique(lane).tolist():
        name = Lane(ln).label
        sel = lane == ln
        m = moments(err[sel])
        if m.n >= 4 and abs(m.mean) >= 0.015:
            verb = "rush" if m.mean < 0 else "drag"
            ms = int(round(abs(m.mean) * 1000 / 5.0) * 5) or 5
            scored.append((abs(m.mean) / 0.015, f"you {verb} the {name} by about {ms} ms"))
        if m.n >= 4 and np.isfinite(m.sd) and m.sd >= 0.030:
            scored.append(
                (
                    m.sd / 0.030,
                    f"your {name} wanders (about ±{m.sd * 1000:.0f} ms): "
                    "count the beats out loud with the click",
                )
            )
        labels = np.array(
            [
                beat_name(float(b), beats_per_bar=int(n))
                for b, n in zip(beat[sel], per_bar[sel], strict=True)
            ]
        )
        missed = ~hit[sel]
        if missed.size >= 4 and missed.mean() >= LEAVE_OUT_SHARE:
            # not a beat or two: the whole drum (a list of every beat says less)
            n_hit = int(np.count_nonzero(~missed))
            scored.append(
                (2.0, f"you leave out the {name}: {n_hit} of its {missed.size} notes hit")
            )
            continue
        dropped: list[str] = []
        worst = 0.0
        for label in np.unique(labels).tolist():
            at = labels == label
            share = float(missed[at].mean())
            if at.sum() >= 2 and share >= 0.5:
                dropped.append(label)
                worst = max(worst, share)
        if dropped:
            scored.append((1.0 + worst, f"you drop the {name} on {_join_positions(dropped)}"))
    for ln in np.unique(extra).tolist():
        n_extra = int(np.count_nonzero(extra == ln))
        # a foot keeping time on the hi-hat pedal is a good habit, whatever the part says
        if n_extra >= 3 and ln != Lane.HIHAT_PEDAL:
            scored.append(
                (
                    n_extra / 4.0,
                    f"you add {n_extra} {Lane(ln).label} hits that are not in the part",
                )
            )
    if not scored:
        if hit.size and hit.mean() >= (settings or LessonSettings()).promote_hit_rate:
            return ["steady and on time: keep going"]
        return []
    scored.sort(key=lambda t: -t[0])
    return [text for _, text in scored[:max_tips]]


def placement_level(
    chart: Chart,
    hits: Hits,
    *,
    bars: tuple[int, int] = (0, 4),
    settings: LessonSettings | None = None,
) -> Level:
    """The level a short warm-up shows: the hardest part the player already plays well.

    The warm-up hits (seconds on the chart's clock) are judged against each level's
    notes in ``bars``; a level fits when the player hit at least ``promote_hit_rate`` of
    its notes within ``promote_mae_sec`` on average, and at least ``promote_hit_rate``
    of the hits were notes of that level (playing the full part against the Beginner
    part is not a fit: most hits would be extra).
    """
    s = settings or LessonSettings()
    full = simplify_chart(chart)
    tm = full.tempo_map
    start, stop = (float(x) for x in tm.bar_to_qn(np.array(bars)))
    t0, t1 = float(tm.qn_to_sec(start)), float(tm.qn_to_sec(stop))
    played = hits.between(t0 - s.window_sec, t1 - s.window_sec)
    fits: dict[Level, tuple[bool, float]] = {}
    for lv in full.levels:
        part = full.part(lv).between(start, stop)
        if len(part) == 0:
            continue
        folded = fold_hits(played, lv, chart=full)
        st = timing_stats(align(folded, part.to_hits(tm), window_sec=s.window_sec))
        ok = bool(st.hit_rate >= s.promote_hit_rate and st.mean_abs_error_sec < s.promote_mae_sec)
        fits[lv] = (ok, 2.0 * st.n_hit / (len(part) + len(folded)))
    if not fits:
        return Level.BEGINNER
    # the level the player was playing: the best match of notes and hits (easier on ties)
    best = max(fits, key=lambda lv: (round(fits[lv][1], 9), -int(lv)))
    for lv in sorted((x for x in fits if x <= best), reverse=True):
        if fits[lv][0]:
            return lv
    return Level.BEGINNER


@dataclass(frozen=True)
class LessonReport:
    """What a replayed lesson went through.

    Attributes
    ----------
    changes : list of LevelChange
    history : list of BarResult
    final_level : Level
    final_tempo_scale : float
    tips : list of str
    reached_sec : dict of Level to float
        When each level was first reached, in seconds of the performance (the bar
        line where it began); the start level at 0.
    """

    changes: list[LevelChange]
    history: list[BarResult]
    final_level: Level
    final_tempo_scale: float
    tips: list[str]
    reached_sec: dict[Level, float] = field(default_factory=dict)


def bar_alignment(
    hits: Hits,
    targets: Hits,
    start_sec: float,
    end_sec: float,
    *,
    window_sec: float,
    level: Level,
    chart: Chart | None = None,
    roll: np.ndarray | None = None,
    roll_nearby: Hits | None = None,
) -> Alignment:
    """How one bar went, as the path is told: the live engine and :func:`replay_lesson`
    both judge a bar with this.

    The hits from ``start_sec - window_sec`` up to ``end_sec - window_sec`` (a hit that
    early may be for the bar's first note; one that late is for the next bar's), their
    lanes folded as ``level`` folds them (after the ``chart``'s
    :meth:`~cymbalism.model.chart.Chart.hit_lanes`: a hi-hat pedal the part does not
    write is left out), aligned to the bar's notes ``targets`` (``roll`` flags those
    under a drum roll: a roll's strokes are no extra hits; ``roll_nearby`` holds the
    notes under a roll in the bars either side, so a roll's stroke just across the bar
    line is no extra hit either, as in the whole song's judgement).
    """
    played = hits.between(start_sec - window_sec, end_sec - window_sec)
    return align(
        fold_hits(played, level, chart=chart),
        targets,
        window_sec=window_sec,
        roll=roll,
        roll_nearby=roll_nearby,
    )


def replay_lesson(
    chart: Chart,
    hits: Hits,
    *,
    start_level: Level | str | int = Level.BEGINNER,
    tempo_scale: float = 1.0,
    settings: LessonSettings | None = None,
    path: LessonPath | None = None,
    bar_start_sec: Sequence[float] | None = None,
    bars: Sequence[int] | None = None,
    layout: Sequence[BarLayout] | None = None,
    base_map: TempoMap | None = None,
    until_sec: float | None = None,
    present: Sequence[tuple[float, float]] | None = None,
    window_sec: float | None = None,
    wait_sec: float = 0.0,
) -> LessonReport:
    """Run a recorded performance through the path, bar by bar, as the live engine does.

    The engine lays each bar out (its part and tempo fixed) a moment before the bar
    before it has closed and been judged, so a change the path decides at the end of a
    bar takes effect from the bar after next; the bar between, laid out before the
    change, is played as it was and not reported to the path. The replay keeps that
    order, so it gives the changes, at the bars, that the player saw live.

    Parameters
    ----------
    chart : Chart
    hits : Hits
        The player's hits in seconds, 0 = the first bar line played.
    start_level, tempo_scale, settings
        For a new :class:`LessonPath` (ignored when ``path`` is given).
    path : LessonPath, optional
        Continue an existing path (a second song pass, a live session's object).
    bars : sequence of int, optional
        The bars played, in order (a loop repeats bars); the song's bars by default.
    bar_start_sec : sequence of float, optional
        When each of ``bars`` started; by default back to back at each bar's tempo.
    layout : sequence of BarLayout, optional
        A stored session's bars exactly as they were played (loop, practice tempo, a
        click that followed the duo), on ``base_map`` (the chart's tempo map at the
        session's tempo scale); replaces ``bars`` and ``bar_start_sec``.
    until_sec : float, optional
        Where the session stopped: bars that had not closed by then were never told
        to the path, live, and are not here.
    present : sequence of (start, end), optional
        When the player was there; a bar they were not there for all of is not judged.
    window_sec : float, optional
        The matching window (the session's; the path's settings by default).
    wait_sec : float
        How long after its end a bar is closed, live (the engine's window and grace).

    Returns
    -------
    report : LessonReport
    """
    p = path or LessonPath(
        chart, start_level=start_level, tempo_scale=tempo_scale, settings=settings
    )
    w = p.settings.window_sec if window_sec is None else float(window_sec)
    if layout is not None:
        if base_map is None:
            raise InputError("a layout needs its base_map (the chart at the session's tempo)")
        tm = base_map
        order = [int(tm.qn_to_bar_beat(np.float64(b.start_qn))[0]) for b in layout]
    else:
        order = list(range(p.chart.n_bars)) if bars is None else [int(b) for b in bars]
    if bar_start_sec is not None and len(bar_start_sec) != len(order):
        raise InputError("bar_start_sec needs one start time per bar played")
    stop = math.inf if until_sec is None else float(until_sec)
    spans = [(-math.inf, math.inf)] if present is None else list(present)
    reached: dict[Level, float] = {}
    laid: list[tuple[int, Hits, np.ndarray, Level, float, float, float]] = []

    def lay_out(i: int, t: float) -> float:
        """Lay out bar ``order[i]`` as the path stands now; return when it ends."""
        bar = order[i]
        if layout is not None:
            lay = layout[i]
            start = lay.start_sec(tm)
            end = float(tm.qn_to_sec(lay.end_qn)) * lay.stretch + lay.shift_sec
            targets = lay.place(p.chart.part(p.level), tm)
        else:
            start = float(bar_start_sec[i]) if bar_start_sec is not None else t
            scaled = p.chart.tempo_map.scaled(p.tempo_scale)
            q0, q1 = p.bar_span_qn(bar)
            end = start + float(scaled.qn_to_sec(q1) - scaled.qn_to_sec(q0))
            targets = p.targets_for_bar(bar, start_sec=start)
        part = p.chart.part(p.level)
        roll = p.chart.roll_mask(p.level)[part.span(*p.bar_span_qn(bar))]
        laid.append((bar, targets, roll, p.level, p.tempo_scale, start, end))
        reached.setdefault(p.level, start)
        return end

    end = lay_out(0, 0.0) if order else 0.0
    before = Hits.empty()  # the notes under a roll in the bar played before
    for i in range(len(order)):
        if i + 1 < len(order):
            end = lay_out(i + 1, end)  # laid out before bar i is judged
        bar, targets, roll, level, scale, start, end_sec = laid.pop(0)
        nearby = Hits.concat([before, *(t.select(r) for _, t, r, *_ in laid[:1])])
        before = targets.select(roll)
        if end_sec + wait_sec > stop:
            break  # not closed when the session stopped
        if level != p.level or scale != p.tempo_scale:
            continue  # laid out before the path's last change: not reported
        if not any(a <= start and end_sec <= b for a, b in spans):
            continue  # the player was not there for the whole bar
        judged = bar_alignment(
            hits,
            targets,
            start,
            end_sec,
            window_sec=w,
            level=level,
            chart=p.chart,
            roll=roll,
            roll_nearby=nearby,
        )
        p.on_bar_end(bar, judged)
    return LessonReport(
        changes=list(p.changes),
        history=list(p.history),
        final_level=p.level,
        final_tempo_scale=p.tempo_scale,
        tips=p.tips(),
        reached_sec=reached,
    )


def replay_session(
    session: Session,
    name: str,
    *,
    path: LessonPath | None = None,
    chart: Chart | None = None,
    grace_sec: float = DEFAULT_GRACE_SEC,
) -> LessonReport:
    """Replay player ``name`` of a stored session through the lesson path, telling it
    exactly what the live engine told it: the bars as they were laid out (a loop, the
    practice tempo, a click that followed the duo), only those closed before the session
    stopped, only those the player was there for, judged with the session's window.

    Parameters
    ----------
    session : Session
    name : str
        The player.
    path : LessonPath, optional
        The path to move (several sessions may move one); by default a new one, started
        as the live engine starts it: at the player's level and the session's practice
        tempo (100% at most).
    chart : Chart, optional
        The song (the session's by default).
    grace_sec : float
        The live engine's grace: a bar was told to the path once its end, the matching
        window and this had passed.

    Returns
    -------
    LessonReport
    """
    player = session.player(name)
    song = session.chart if chart is None else chart
    s = session.settings
    if path is None:
        path = LessonPath(song, start_level=player.level, tempo_scale=min(1.0, s.tempo_scale))
    return replay_lesson(
        song,
        player.hits,
        path=path,
        layout=session.layout or None,
        base_map=song.tempo_map.scaled(s.tempo_scale),
        until_sec=session.until_sec,
        present=player.present,
        window_sec=s.window_sec,
        wait_sec=s.window_sec + grace_sec,
    )
