"""A session: one song, two or more players with their parts and hits, and the settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.tempo import TempoMap

__all__ = [
    "DEFAULT_GRACE_SEC",
    "DEFAULT_WINDOW_SEC",
    "BarLayout",
    "Player",
    "Session",
    "Settings",
    "Span",
    "clip_spans",
    "within_spans",
]

#: A stretch of song seconds ``(start, end)``, start included, end excluded.
Span = tuple[float, float]
#: The whole time line.
ALWAYS: tuple[Span, ...] = ((-math.inf, math.inf),)

#: The default matching window: a hit more than 75 ms from every note is an extra hit.
DEFAULT_WINDOW_SEC = 0.075
#: How long after a note's window closed the live engine calls it missed, and tells the
#: lesson path how a bar went (hits arrive stamped a little in the past).
DEFAULT_GRACE_SEC = 0.05


@dataclass(frozen=True)
class Settings:
    """How a session is played and judged.

    Attributes
    ----------
    window_sec : float
        Half-width of the window in which a hit counts for a note.
    tempo_scale : float
        Practice tempo as a fraction of the song's (0.7 for 70%).
    follow : bool
        Whether the click follows the tempo the duo agrees on.
    count_in_bars : int
        Bars of click before the song starts.
    """

    window_sec: float = DEFAULT_WINDOW_SEC
    tempo_scale: float = 1.0
    follow: bool = False
    count_in_bars: int = 1

    def __post_init__(self) -> None:
        if not 0.005 <= self.window_sec <= 0.5:
            raise InputError(
                f"a window of {self.window_sec} s is not usable; use 0.005-0.5 s "
                "(did you give milliseconds?)"
            )
        if not 0.1 <= self.tempo_scale <= 2.0:
            raise InputError(f"a tempo scale of {self.tempo_scale} is outside 0.1-2.0")


@dataclass(frozen=True)
class BarLayout:
    """Where one stretch of the chart was played on the session's clock.

    The notes at chart positions ``start_qn <= qn < end_qn`` sounded at
    ``base_sec(qn) * stretch + shift_sec`` song seconds, where ``base_sec`` is the chart's
    tempo map at the session's tempo scale. The live engine lays a song out bar by bar:
    a click that follows the duo stretches bars, a practice tempo slows them, a loop
    plays the same bars again later, and a session from bar 9 shifts them all.

    Attributes
    ----------
    start_qn, end_qn : float
        The stretch of the chart, in quarter notes.
    stretch : float
        How much longer than written the stretch lasted (> 0).
    shift_sec : float
        Seconds added after stretching.
    """

    start_qn: float
    end_qn: float
    stretch: float = 1.0
    shift_sec: float = 0.0

    def __post_init__(self) -> None:
        values = (self.start_qn, self.end_qn, self.stretch, self.shift_sec)
        if not all(math.isfinite(v) for v in values):
            raise InputError(f"a bar layout needs finite numbers, got {values}")
        if self.end_qn < self.start_qn or self.stretch <= 0:
            raise InputError(
                f"a bar layout needs start_qn <= end_qn and a positive stretch, got {values}"
            )

    def start_sec(self, tempo_map: TempoMap) -> float:
        """When the stretch began, in song seconds (``tempo_map``: the session's base)."""
        return float(tempo_map.qn_to_sec(self.start_qn)) * self.stretch + self.shift_sec

    def end_sec(self, tempo_map: TempoMap) -> float:
        """When the stretch ended, in song seconds (``tempo_map``: the session's base)."""
        return float(tempo_map.qn_to_sec(self.end_qn)) * self.stretch + self.shift_sec

    def place(self, part: Part, tempo_map: TempoMap) -> Hits:
        """The part's notes in this stretch (:meth:`Part.span`), at the song seconds they
        were played."""
        notes = part.between(self.start_qn, self.end_qn)
        sec = np.asarray(tempo_map.qn_to_sec(notes.qn), dtype=np.float64)
        return Hits(sec * self.stretch + self.shift_sec, notes.lane.copy(), notes.velocity.copy())


@dataclass(frozen=True)
class Player:
    """One player of a session.

    Attributes
    ----------
    name : str
    level : Level
        The level of the part the player starts on.
    input : str
        The input that captured the hits (a MIDI port name, ``"keyboard"``, a file).
    offset_sec : float
        The input's calibrated latency, already subtracted from ``hits``.
    hits : Hits
    present : tuple of (float, float)
        When the player was there, as spans of song seconds ``[start, end)`` in order
        (``-inf``/``inf`` for open ends): a player who left at 0:09 has
        ``((-inf, 9.0),)``; one who came back at 0:30 adds ``(30.0, inf)``. The whole
        session by default. A player is judged, and synchronised with the others, only
        while present.
    """

    name: str
    level: Level = Level.EXPERT
    input: str = ""
    offset_sec: float = 0.0
    hits: Hits = field(default_factory=Hits.empty)
    present: tuple[Span, ...] = ALWAYS

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InputError("a player needs a name")
        last = -math.inf
        for span in self.present:
            a, b = span
            if math.isnan(a) or math.isnan(b) or a >= b or a < last:
                raise InputError(
                    f"player {self.name!r}: the spans present must be in order and not "
                    f"overlap, got {self.present}"
                )
            last = b

    @property
    def left_sec(self) -> float | None:
        """When the player left for good (song seconds), or None if they stayed."""
        end = self.present[-1][1] if self.present else -math.inf
        return None if end == math.inf else end


@dataclass(frozen=True)
class Session:
    """A song played by two or more players.

    Attributes
    ----------
    chart : Chart
    players : tuple of Player
    settings : Settings
    started_at : datetime
    layout : tuple of BarLayout
        Where each bar was played, in order, when the session did not follow the chart's
        own timeline (see :class:`BarLayout`); empty for a session played as written.
    until_sec : float, optional
        The song second the session was stopped at (Ctrl-C, a time limit, the room
        closed); None when it was played to the end. Notes and hits from then on are
        not judged.
    """

    chart: Chart
    players: tuple[Player, ...]
    settings: Settings = field(default_factory=Settings)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    layout: tuple[BarLayout, ...] = ()
    until_sec: float | None = None

    @property
    def length_sec(self) -> float:
        """How long the session lasted, in song seconds from the first bar line: to where
        it was stopped, else to the end of the last bar played (the song, at its tempo
        scale, for a session played as written)."""
        if self.until_sec is not None:
            return max(0.0, self.until_sec)
        base = self.chart.tempo_map.scaled(self.settings.tempo_scale)
        if self.layout:
            return max(0.0, max(b.end_sec(base) for b in self.layout))
        return float(base.qn_to_sec(self.chart.end_qn))

    def judged_spans(self, name: str) -> tuple[Span, ...]:
        """When player ``name`` is judged: while present, and before the session stopped."""
        end = math.inf if self.until_sec is None else self.until_sec
        return clip_spans(self.player(name).present, end)

    def __post_init__(self) -> None:
        names = [p.name for p in self.players]
        if len(set(names)) != len(names):
            raise InputError(f"player names must differ, got {names}")

    def player(self, name: str) -> Player:
        """The player called ``name``."""
        for p in self.players:
            if p.name == name:
                return p
        raise InputError(
            f"no player {name!r} in this session; players: {[p.name for p in self.players]}"
        )

    def with_hits(self, name: str, hits: Hits) -> Session:
        """A copy in which player ``name`` has ``hits``."""
        players = tuple(replace(p, hits=hits) if p.name == name else p for p in self.players)
        return replace(self, players=players)


def clip_spans(spans: tuple[Span, ...], end_sec: float) -> tuple[Span, ...]:
    """``spans`` cut off at ``end_sec``."""
    return tuple((a, min(b, end_sec)) for a, b in spans if a < end_sec)


def within_spans(sec: np.ndarray, spans: tuple[Span, ...]) -> np.ndarray:
    """Whether each time lies in one of ``spans`` (start included, end excluded).

    Returns
    -------
    mask : np.ndarray [shape=sec.shape, bool]
    """
    sec = np.asarray(sec, dtype=np.float64)
    mask = np.zeros(sec.shape, dtype=bool)
    for a, b in spans:
        mask |= (sec >= a) & (sec < b)
    return mask
