"""The figures of an analysed performance or duet, as objects and as plain JSON-ready dicts.

:func:`analyze_players` is the whole offline analysis of one or more players' hits: each
player is aligned to their part of the chart (or, with no chart, to the grid of the tempo
map they played to, see :func:`~cymbalism.analysis.align.grid_targets`), their timing is
summarised per lane, and every pair of players gets the asynchrony figures and the moment
they came together. ``cymbalism analyze`` prints it, and the same dicts
(:meth:`AnalysisReport.to_dict`) serve the live view, the store and the web API.

In the dicts, times for people are in milliseconds (``*_ms``), session times in seconds
(``*_sec``), and undefined figures (an SD of one value, a mean of none) are ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cymbalism.analysis.align import DEFAULT_WINDOW_SEC, Alignment, align, grid_targets
from cymbalism.analysis.sync import (
    DEFAULT_SYNC_HOP_SEC,
    DEFAULT_SYNC_WINDOW_SEC,
    TOGETHER_GAP_SEC,
    TOGETHER_MIN_COUNT,
    TOGETHER_SD_SEC,
    Asynchrony,
    SyncStats,
    asynchrony,
    asynchrony_unaligned,
    came_together,
    sync_stats,
    windowed_sync,
)
from cymbalism.analysis.timing import TimingStats, timing_by_lane, timing_stats
from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Span, within_spans
from cymbalism.model.tempo import TempoMap

__all__ = [
    "AnalysisReport",
    "PairReport",
    "PlayerReport",
    "analyze_players",
    "ms",
    "pair_came_together",
    "pair_together",
    "sync_dict",
    "timing_dict",
]


def ms(value_sec: float) -> float | None:
    """Seconds to milliseconds for people, rounded to 0.01 ms; None for NaN."""
    v = float(value_sec)
    return None if not np.isfinite(v) else round(v * 1000.0, 2)


def _rate(value: float) -> float | None:
    v = float(value)
    return None if not np.isfinite(v) else round(v, 4)


def timing_dict(stats: TimingStats) -> dict[str, Any]:
    """A :class:`TimingStats` as a JSON-ready dict (errors in ms)."""
    return {
        "notes": stats.n_notes,
        "hit": stats.n_hit,
        "miss": stats.n_miss,
        "extra": stats.n_extra,
        "hit_rate": _rate(stats.hit_rate),
        "mean_error_ms": ms(stats.mean_error_sec),
        "sd_error_ms": ms(stats.sd_error_sec),
        "mean_abs_error_ms": ms(stats.mean_abs_error_sec),
    }


def sync_dict(stats: SyncStats, came_together_sec: float | None) -> dict[str, Any]:
    """A :class:`SyncStats` and the came-together time as a JSON-ready dict."""
    return {
        "n": stats.n,
        "mean_ms": ms(stats.mean_sec),
        "sd_ms": ms(stats.sd_sec),
        "mean_abs_ms": ms(stats.mean_abs_sec),
        "came_together_sec": None if came_together_sec is None else round(came_together_sec, 3),
    }


@dataclass(frozen=True, eq=False)
class PlayerReport:
    """One player's alignment and figures."""

    name: str
    alignment: Alignment
    stats: TimingStats
    by_lane: dict[Lane, TimingStats]

    def to_dict(self) -> dict[str, Any]:
        """``name``, ``hits`` (played), the :func:`timing_dict` figures and ``lanes``."""
        return {
            "name": self.name,
            "hits": len(self.alignment.hits),
            **timing_dict(self.stats),
            "lanes": {lane.name.lower(): timing_dict(s) for lane, s in self.by_lane.items()},
        }


@dataclass(frozen=True, eq=False)
class PairReport:
    """The synchrony of two players (asynchrony = ``a`` - ``b``)."""

    a: str
    b: str
    asynchrony: Asynchrony
    stats: SyncStats
    came_together_sec: float | None

    def to_dict(self) -> dict[str, Any]:
        """``a``, ``b`` and the :func:`sync_dict` figures."""
        return {"a": self.a, "b": self.b, **sync_dict(self.stats, self.came_together_sec)}


@dataclass(frozen=True, eq=False)
class AnalysisReport:
    """Everything :func:`analyze_players` found.

    Attributes
    ----------
    tempo_bpm : float
        The tempo at the start of the song (or of the click the players heard).
    judged_against : str
        ``"chart"`` or ``"grid"`` (each player's own click grid).
    players : list of PlayerReport
    pairs : list of PairReport
        Every pair of players, in order (none for a solo).
    window_sec : float
    """

    tempo_bpm: float
    judged_against: str
    players: list[PlayerReport]
    pairs: list[PairReport]
    window_sec: float
    title: str = ""

    @property
    def sync(self) -> PairReport | None:
        """The first pair (players 1 and 2), or None for a solo."""
        return self.pairs[0] if self.pairs else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``cymbalism analyze --json``.

        Keys: ``tempo_bpm``, ``title``, ``judged_against``, ``window_ms``, ``players``
        (see :meth:`PlayerReport.to_dict`), ``sync`` (the first pair's
        :func:`sync_dict`, or None for a solo) and, with more than two players,
        ``pairs``.
        """
        out: dict[str, Any] = {
            "tempo_bpm": round(self.tempo_bpm, 3),
            "title": self.title,
            "judged_against": self.judged_against,
            "window_ms": ms(self.window_sec),
            "players": [p.to_dict() for p in self.players],
            "sync": None if self.sync is None else self.sync.to_dict(),
        }
        if len(self.pairs) > 1:
            out["pairs"] = [p.to_dict() for p in self.pairs]
        return out


#: "Came together" needs at least this many shared notes from that moment on ...
MIN_TOGETHER_SHARED = 16
#: ... and both players hitting at least this share of their notes: a tight spread over
#: a few notes that two players happened to hit says nothing of playing together.
MIN_TOGETHER_HIT_RATE = 0.5


def pair_came_together(
    asy: Asynchrony,
    a: TimingStats,
    b: TimingStats,
    *,
    threshold_sec: float = TOGETHER_SD_SEC,
    window_sec: float = DEFAULT_SYNC_WINDOW_SEC,
    hop_sec: float = DEFAULT_SYNC_HOP_SEC,
) -> float | None:
    """:func:`~cymbalism.analysis.sync.came_together` of two players, when the evidence
    stands: at least :data:`MIN_TOGETHER_SHARED` shared notes from then on, and both
    hitting at least :data:`MIN_TOGETHER_HIT_RATE` of their notes (``a``, ``b``: their
    timing figures). None otherwise; :func:`pair_together` also says why."""
    return pair_together(
        asy, a, b, threshold_sec=threshold_sec, window_sec=window_sec, hop_sec=hop_sec
    )[0]


def pair_together(
    asy: Asynchrony,
    a: TimingStats,
    b: TimingStats,
    *,
    names: tuple[str, str] = ("A", "B"),
    threshold_sec: float = TOGETHER_SD_SEC,
    window_sec: float = DEFAULT_SYNC_WINDOW_SEC,
    hop_sec: float = DEFAULT_SYNC_HOP_SEC,
) -> tuple[float | None, str | None]:
    """When two players came together (:func:`pair_came_together`), or why it is not told.

    Parameters
    ----------
    asy : Asynchrony
        A - B.
    a, b : TimingStats
        The two players' timing figures.
    names : tuple of (str, str)
        The players' names, for the reason.
    threshold_sec, window_sec, hop_sec : float
        As for :func:`~cymbalism.analysis.sync.came_together`.

    Returns
    -------
    time_sec : float or None
        When they came together (seconds on the session's clock), or None.
    reason : str or None
        With no time, why, in words for people: their shared notes lie too far apart to
        measure a spread, their spread did not settle, one stayed behind the other (a
        steady gap over :data:`~cymbalism.analysis.sync.TOGETHER_GAP_SEC`), or they
        settled but on too little
        evidence (a player who hit under :data:`MIN_TOGETHER_HIT_RATE` of their notes,
        too few shared notes). None with a time.
    """
    t = came_together(asy, threshold_sec=threshold_sec, window_sec=window_sec, hop_sec=hop_sec)
    limit = f"{threshold_sec * 1000:.0f} ms"
    if t is None:
        w = windowed_sync(asy, window_sec=window_sec, hop_sec=hop_sec)
        counted = w.n >= TOGETHER_MIN_COUNT
        if not np.any(counted):
            return None, (
                "their shared notes lie too far apart to tell when they came together (it "
                f"takes {TOGETHER_MIN_COUNT} shared notes within {window_sec:g} s to measure "
                "the spread of their gap)"
            )
        last = int(np.flatnonzero(counted)[-1])
        mean, sd = float(w.mean_sec[last]), float(w.sd_sec[last])
        if sd < threshold_sec and abs(mean) >= TOGETHER_GAP_SEC:
            behind, ahead = names if mean > 0 else names[::-1]
            return None, (
                f"they never came together: at the end {behind} was still {abs(mean) * 1000:.0f}"
                f" ms behind {ahead}, steady but apart (together is within "
                f"{TOGETHER_GAP_SEC * 1000:.0f} ms)"
            )
        return None, (
            f"they never settled together: the spread of their gap did not stay under {limit} (SD)"
        )
    low = [
        f"{name} hit only {s.hit_rate:.0%} of their notes"
        for name, s in zip(names, (a, b), strict=True)
        if not (np.isfinite(s.hit_rate) and s.hit_rate >= MIN_TOGETHER_HIT_RATE)
    ]
    if low:
        return None, (
            f"{' and '.join(low)}, too few to tell when they came together (it takes "
            f"{MIN_TOGETHER_HIT_RATE:.0%} of each part)"
        )
    shared = int(np.count_nonzero(np.asarray(asy.time_sec) >= t - 1e-9))
    if shared < MIN_TOGETHER_SHARED:
        return None, (
            f"their gap settled within {limit} at {t:.1f} s, but over only "
            f"{shared} shared notes, too few to tell when they came together (it takes "
            f"{MIN_TOGETHER_SHARED})"
        )
    return t, None


def analyze_players(
    hits: Sequence[Hits],
    *,
    tempo_map: TempoMap | Sequence[TempoMap],
    targets: Sequence[Hits] | None = None,
    names: Sequence[str] | None = None,
    window_sec: float = DEFAULT_WINDOW_SEC,
    lane_blind: bool = False,
    sync_window_sec: float = DEFAULT_SYNC_WINDOW_SEC,
    sync_hop_sec: float = DEFAULT_SYNC_HOP_SEC,
    threshold_sec: float = TOGETHER_SD_SEC,
    title: str = "",
    spans: Sequence[tuple[Span, ...]] | None = None,
    tempo_bpm: float | None = None,
    rolls: Sequence[np.ndarray] | None = None,
) -> AnalysisReport:
    """Analyse one or more players who played together (or a solo).

    Parameters
    ----------
    hits : sequence of Hits
        Each player's hits, on one shared clock.
    tempo_map : TempoMap or sequence of TempoMap
        The song's (the chart's), or the click each player heard (one per player, for
        players recorded separately to their own click).
    targets : sequence of Hits, optional
        Each player's chart notes in seconds (their part). Without them every player
        is judged against the grid of ``tempo_map`` (:func:`grid_targets`) and pairs
        are matched hit to hit (:func:`asynchrony_unaligned`).
    names : sequence of str, optional
        Player names (default ``"A"``, ``"B"``, ...).
    window_sec : float
        Matching window of hits to notes, and of hits to hits without a chart.
    lane_blind : bool
    sync_window_sec, sync_hop_sec, threshold_sec : float
        Windows of :func:`~cymbalism.analysis.sync.came_together` and its threshold.
    title : str
    spans : sequence of tuple of (float, float), optional
        When each player is judged (:meth:`cymbalism.model.session.Session.judged_spans`:
        while present, before the session stopped); notes and hits outside are left out,
        so a player who left is neither missing the rest of the song nor in sync with
        the partner there. Every note and hit by default.
    tempo_bpm : float, optional
        The tempo to report; by default the first player's map's at its start. A click
        grid found from a recording (:func:`~cymbalism.analysis.tempo.click_grid`)
        stretches its first beat to the first hit, so give its tempo here.
    rolls : sequence of np.ndarray [shape=(len(targets[i]),), bool], optional
        Which of each player's notes lie under a drum roll
        (:meth:`~cymbalism.model.chart.Chart.roll_mask`): hit or missed, never early or
        late (:func:`~cymbalism.analysis.align.align`). None by default.

    Returns
    -------
    report : AnalysisReport

    Raises
    ------
    InputError
        With no players, or a number of names or targets that differs from the players.
    """
    n = len(hits)
    if n == 0:
        raise InputError("nothing to analyse: give at least one player's hits")
    if names is None:
        names = [chr(ord("A") + i) if i < 26 else f"P{i + 1}" for i in range(n)]
    names = [str(x) for x in names]
    if len(names) != n:
        raise InputError(f"{len(names)} names for {n} players: give one name per player")
    if len(set(names)) != n:
        raise InputError(f"player names must differ, got {', '.join(names)}")
    if targets is not None and len(targets) != n:
        raise InputError(f"{len(targets)} parts for {n} players: give one part per player")
    if rolls is not None and (targets is None or len(rolls) != n):
        raise InputError("give rolls with the targets, one mask per player")
    maps = [tempo_map] * n if isinstance(tempo_map, TempoMap) else list(tempo_map)
    if len(maps) != n:
        raise InputError(f"{len(maps)} tempo maps for {n} players: give one, or one per player")
    judged = "grid" if targets is None else "chart"
    tgts = (
        [grid_targets(h, tm) for h, tm in zip(hits, maps, strict=True)]
        if targets is None
        else list(targets)
    )
    if spans is not None:
        if len(spans) != n:
            raise InputError(f"{len(spans)} spans for {n} players: give one per player")
        hits = [h.select(within_spans(h.onset_sec, s)) for h, s in zip(hits, spans, strict=True)]
        keep = [within_spans(t.onset_sec, s) for t, s in zip(tgts, spans, strict=True)]
        tgts = [t.select(k) for t, k in zip(tgts, keep, strict=True)]
        if rolls is not None:
            rolls = [np.asarray(r, dtype=bool)[k] for r, k in zip(rolls, keep, strict=True)]
    players = []
    for i, (name, h, t) in enumerate(zip(names, hits, tgts, strict=True)):
        roll = None if rolls is None else rolls[i]
        al = align(h, t, window_sec=window_sec, lane_blind=lane_blind, roll=roll)
        players.append(PlayerReport(name, al, timing_stats(al), timing_by_lane(al)))
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            if targets is None:
                asy = asynchrony_unaligned(
                    hits[i], hits[j], window_sec=window_sec, lane_blind=lane_blind
                )
            else:
                asy = asynchrony(players[i].alignment, players[j].alignment)
            together = pair_came_together(
                asy,
                players[i].stats,
                players[j].stats,
                threshold_sec=threshold_sec,
                window_sec=sync_window_sec,
                hop_sec=sync_hop_sec,
            )
            pairs.append(PairReport(names[i], names[j], asy, sync_stats(asy), together))
    return AnalysisReport(
        tempo_bpm=float(maps[0].bpm[0]) if tempo_bpm is None else float(tempo_bpm),
        judged_against=judged,
        players=players,
        pairs=pairs,
        window_sec=float(window_sec),
        title=title,
    )
