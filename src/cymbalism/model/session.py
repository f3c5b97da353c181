"""A session: one song, two or more players with their parts and hits, and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits

__all__ = ["DEFAULT_WINDOW_SEC", "Player", "Session", "Settings"]

#: The default matching window: a hit more than 75 ms from every note is an extra hit.
DEFAULT_WINDOW_SEC = 0.075


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
    """

    name: str
    level: Level = Level.EXPERT
    input: str = ""
    offset_sec: float = 0.0
    hits: Hits = field(default_factory=Hits.empty)

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InputError("a player needs a name")


@dataclass(frozen=True)
class Session:
    """A song played by two or more players."""

    chart: Chart
    players: tuple[Player, ...]
    settings: Settings = field(default_factory=Settings)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

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
