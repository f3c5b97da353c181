"""Charts: a song's tempo map, named sections, and a drum part per difficulty level.

Note positions are in quarter notes (``qn``) from the song's start; the chart's
:class:`~cymbalism.model.tempo.TempoMap` is the only way to seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import NOT_JUDGED, Lane, judged_lanes
from cymbalism.model.tempo import TempoMap
from cymbalism.model.validate import validate_times

__all__ = [
    "ACCENT_VELOCITY",
    "FIVE_LANE",
    "GHOST_MAX_VELOCITY",
    "GHOST_VELOCITY",
    "LADDER",
    "NORMAL_VELOCITY",
    "PADS",
    "Chart",
    "Level",
    "Part",
    "Roll",
]

#: Chart dynamics as velocities: every format's ghost, normal and accented notes map here.
GHOST_VELOCITY = 40
NORMAL_VELOCITY = 100
ACCENT_VELOCITY = 120
#: Notes at or below this velocity are ghost notes (played softly, dropped by simplification).
GHOST_MAX_VELOCITY = 60
#: The metadata key of a chart that is the first bars of a longer song (its value: the
#: whole song's number of bars); the song's recording goes on past such a chart's end.
EXCERPT_OF_BARS = "excerpt_of_bars"
#: The metadata key of a game chart made for four pads (it marks no cymbals and no toms,
#: and its song.ini does not say ``pro_drums``): its yellow, blue and green notes name a
#: pad, not a drum. The value says how the chart's notes read them: ``"toms"`` (a
#: ``.chart``: high, mid and floor tom) or ``"cymbals"`` (a ``notes.mid``: hi-hat, ride,
#: crash). A hit on either drum of a pad hits its notes (:meth:`Chart.hit_lanes`).
PADS = "pads"
#: The metadata key of a game chart read as a five-lane (Guitar Hero) kit, because it has
#: a note on the fifth pad or its song.ini says ``five_lane_drums``, as the games read it:
#: its yellow and orange notes are cymbals, its blue and green notes toms.
FIVE_LANE = "five_lane"
#: Per reading, the drum each other lane's hit counts as: the pad's drum in the chart.
_PAD_READINGS: Mapping[str, Mapping[Lane, Lane]] = {
    "toms": {
        Lane.HIHAT_CLOSED: Lane.TOM_HIGH,
        Lane.HIHAT_OPEN: Lane.TOM_HIGH,
        Lane.RIDE: Lane.TOM_MID,
        Lane.CRASH: Lane.TOM_FLOOR,
    },
    "cymbals": {
        Lane.TOM_HIGH: Lane.HIHAT_CLOSED,
        Lane.TOM_MID: Lane.RIDE,
        Lane.TOM_FLOOR: Lane.CRASH,
    },
}


class Level(IntEnum):
    """Difficulty levels, from the beginner's first part to the full (expert) part.

    ``BEGINNER`` to ``EXPERT`` are the rungs of the lesson ladder (:data:`LADDER`): each
    easier part is made from the one above. ``EXPERT_PLUS`` is the Expert part with a
    game chart's double-kick notes (:attr:`Chart.expert_plus`), for a drummer with a
    double pedal: a player may choose it, but it is never derived, simplified, or climbed
    to by a lesson that did not start there.
    """

    BEGINNER = 0
    EASY = 1
    MEDIUM = 2
    HARD = 3
    EXPERT = 4
    EXPERT_PLUS = 5

    @classmethod
    def parse(cls, name: str | int | Level) -> Level:
        """A level from its name (``"easy"``, ``"Expert"``, ``"full"``, ``"expert+"``,
        short ``"x+"``) or number."""
        if isinstance(name, Level):
            return name
        if isinstance(name, int) or (isinstance(name, str) and name.strip().isdigit()):
            value = int(name)
            if value in {lv.value for lv in cls}:
                return cls(value)
            raise InputError(f"level {value} does not exist; levels are 0-{len(cls) - 1}")
        key = name.strip().lower()
        if key in {"full", "x"}:
            return cls.EXPERT
        if key in {"expert+", "x+", "expert_plus"}:
            return cls.EXPERT_PLUS
        for lv in LADDER:
            if lv.name.lower() == key or lv.name.lower()[0] == key:
                return lv
        names = ", ".join(lv.label.lower() for lv in cls)
        raise InputError(f"unknown level {name!r}; choose one of {names}")

    @property
    def label(self) -> str:
        """The level's name for people (``"Easy"``, ``"Expert+"``)."""
        return "Expert+" if self is Level.EXPERT_PLUS else self.name.capitalize()


#: The lesson ladder: the levels a part is simplified to and a beginner climbs, easiest
#: first (every level but Expert+).
LADDER: tuple[Level, ...] = tuple(lv for lv in Level if lv is not Level.EXPERT_PLUS)


@dataclass(frozen=True, eq=False)
class Part:
    """One drum part: notes in quarter notes, sorted by position.

    Attributes
    ----------
    qn : np.ndarray [shape=(n,), float64, quarter notes, sorted]
    lane : np.ndarray [shape=(n,), int8]
    velocity : np.ndarray [shape=(n,), int16, 1-127]
        Ghost notes have low velocities and accents high ones.
    """

    qn: np.ndarray
    lane: np.ndarray
    velocity: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        qn: Iterable[float] | np.ndarray,
        lane: Iterable[int] | np.ndarray | int,
        velocity: Iterable[int] | np.ndarray | int = 100,
    ) -> Part:
        """Build a validated part, sorted by position then lane, with duplicates removed."""
        pos = validate_times(
            np.asarray(qn, dtype=np.float64), "qn", sorted_=False, unit="quarter notes"
        )
        n = pos.size
        lanes = np.broadcast_to(np.asarray(lane, dtype=np.int64), (n,))
        vel = np.broadcast_to(np.asarray(velocity, dtype=np.int64), (n,))
        if n and (lanes.min() < 0 or lanes.max() >= len(Lane)):
            raise InputError(f"lane values must lie in 0-{len(Lane) - 1}")
        if n and (vel.min() < 1 or vel.max() > 127):
            raise InputError("velocity must lie in 1-127")
        order = np.lexsort((lanes, pos))
        pos, lanes, vel = pos[order], lanes[order], vel[order]
        if n > 1:
            keep = np.ones(n, dtype=bool)
            keep[1:] = (np.diff(pos) > 1e-9) | (np.diff(lanes) != 0)
            pos, lanes, vel = pos[keep], lanes[keep], vel[keep]
        return cls(np.ascontiguousarray(pos), lanes.astype(np.int8), vel.astype(np.int16))

    @classmethod
    def empty(cls) -> Part:
        """A part with no notes."""
        return cls(np.empty(0, np.float64), np.empty(0, np.int8), np.empty(0, np.int16))

    def __len__(self) -> int:
        return int(self.qn.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Part):
            return NotImplemented
        return (
            self.qn.shape == other.qn.shape
            and np.allclose(self.qn, other.qn, atol=1e-6)
            and np.array_equal(self.lane, other.lane)
            and np.array_equal(self.velocity, other.velocity)
        )

    def __repr__(self) -> str:
        return f"Part(n={len(self)})"

    def select(self, mask_or_index: np.ndarray | slice) -> Part:
        """The notes picked by a boolean mask, an increasing index array or a slice."""
        return Part(self.qn[mask_or_index], self.lane[mask_or_index], self.velocity[mask_or_index])

    def span(self, start_qn: float, end_qn: float) -> slice:
        """Where the notes with ``start_qn <= qn < end_qn`` are: a slice of the arrays."""
        lo, hi = np.searchsorted(self.qn, [start_qn - 1e-9, end_qn - 1e-9], side="left")
        return slice(int(lo), int(hi))

    def between(self, start_qn: float, end_qn: float) -> Part:
        """The notes with ``start_qn <= qn < end_qn``."""
        return self.select(self.span(start_qn, end_qn))

    def to_hits(self, tempo_map: TempoMap) -> Hits:
        """The part's notes as target onsets in seconds."""
        return Hits(tempo_map.qn_to_sec(self.qn), self.lane.copy(), self.velocity.copy())


@dataclass(frozen=True)
class Roll:
    """A drum roll or cymbal swell of a game chart: a roll lane.

    A fast roll has no countable rhythm, so a chart writes notes under it and marks the
    stretch as a roll: the games then ask only that the drummer keep rolling on that
    drum. cymbalism judges the notes under a roll (:meth:`Chart.roll_mask`) as hit or
    missed like any note, but not early or late, and a stroke of the roll that meets no
    note is not an extra hit (:mod:`cymbalism.analysis.align`).

    Attributes
    ----------
    start_qn, end_qn : float
        The roll's stretch, ``[start_qn, end_qn)`` in quarter notes.
    lanes : tuple of Lane
        The drum rolled on (one), or the two cymbals a swell goes between.
    """

    start_qn: float
    end_qn: float
    lanes: tuple[Lane, ...]

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start_qn) and np.isfinite(self.end_qn)):
            raise InputError("a roll's start and end must be finite quarter notes")
        if self.end_qn <= self.start_qn:
            raise InputError(
                f"a roll must end after it starts, got {self.start_qn:g}-{self.end_qn:g} qn"
            )
        if not 1 <= len(self.lanes) <= 2:
            raise InputError(f"a roll is on one drum or two cymbals, got {len(self.lanes)}")
        object.__setattr__(self, "lanes", tuple(Lane(x) for x in self.lanes))


@dataclass(frozen=True, eq=False)
class Chart:
    """A song: its tempo map, sections, and drum parts per level.

    Attributes
    ----------
    title : str
    tempo_map : TempoMap
    parts : Mapping[Level, Part]
        At least one part of the ladder (Beginner to Expert). Missing levels can be
        derived with :func:`cymbalism.coaching.simplify.simplify_chart`. An Expert+ part
        given here is kept as ``expert_plus``.
    sections : tuple of (qn, name)
        Named sections (intro, verse, chorus, ...), sorted by position.
    end_qn : float
        Where the song ends; by default one bar after the last note.
    artist : str
    metadata : Mapping[str, str]
        What the file says beyond the notes (charter, album, the audio's offset, ...),
        and :data:`EXCERPT_OF_BARS` for the first bars of a longer song.
    expert_plus : Part or None
        The Expert+ part of a game chart: the Expert part with the double-kick notes
        (Clone Hero shows them only with its 2x kick option). None when the chart has
        none; ``part(Level.EXPERT_PLUS)`` gives it to a player, :meth:`with_double_kick`
        makes it the Expert part.
    rolls : Mapping[Level, tuple of Roll]
        A game chart's drum rolls and cymbal swells per level (Expert's hold for
        Expert+ too); see :meth:`roll_mask`.
    """

    title: str
    tempo_map: TempoMap
    parts: Mapping[Level, Part]
    sections: tuple[tuple[float, str], ...] = ()
    end_qn: float = 0.0
    artist: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    expert_plus: Part | None = None
    rolls: Mapping[Level, tuple[Roll, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rolls = {
            Level.parse(k): tuple(sorted(v, key=lambda r: r.start_qn))
            for k, v in self.rolls.items()
        }
        if Level.EXPERT_PLUS in rolls:
            raise InputError("Expert+ plays the Expert part's rolls: give them as Expert's")
        object.__setattr__(self, "rolls", {k: v for k, v in sorted(rolls.items()) if v})
        parts = {Level.parse(k): v for k, v in self.parts.items()}
        plus = parts.pop(Level.EXPERT_PLUS, None)
        if plus is not None:
            if self.expert_plus is not None:
                raise InputError(f"the chart {self.title!r} is given two Expert+ parts")
            object.__setattr__(self, "expert_plus", plus)
        if not parts or all(len(p) == 0 for p in parts.values()):
            raise InputError(
                f"the chart {self.title!r} has no drum notes"
                + (" but its Expert+ part; give its Expert part too" if plus is not None else "")
            )
        object.__setattr__(self, "parts", dict(sorted(parts.items())))
        object.__setattr__(
            self, "sections", tuple(sorted((float(q), str(n)) for q, n in self.sections))
        )
        if self.expert_plus is not None and len(self.expert_plus) == 0:
            object.__setattr__(self, "expert_plus", None)
        every = list(self.parts.values())
        if self.expert_plus is not None:
            every.append(self.expert_plus)
        last = max(float(p.qn[-1]) for p in every if len(p))
        if self.end_qn <= last:
            bar, _ = self.tempo_map.qn_to_bar_beat(np.float64(last))
            object.__setattr__(self, "end_qn", float(self.tempo_map.bar_to_qn(int(bar) + 1)))

    @property
    def levels(self) -> list[Level]:
        """The levels of the ladder this chart has a part for, easiest first."""
        return list(self.parts)

    @property
    def part_levels(self) -> list[Level]:
        """Every level this chart has a part for, easiest first: :attr:`levels`, then
        Expert+ when the chart has one."""
        return self.levels + ([Level.EXPERT_PLUS] if self.expert_plus is not None else [])

    @property
    def four_pads(self) -> bool:
        """Whether the chart was made for four pads (:data:`PADS`)."""
        return PADS in self.metadata

    @property
    def five_lane(self) -> bool:
        """Whether the chart was read as a five-lane kit (:data:`FIVE_LANE`)."""
        return FIVE_LANE in self.metadata

    def hit_lanes(self, level: Level | str | int) -> np.ndarray:
        """The lane a hit on each lane counts for in this chart's part at ``level``.

        Itself, except:

        - in a chart made for four pads (:data:`PADS`), a hit on a pad's other drum (the
          hi-hat where the chart reads yellow as the high tom) counts as the drum the
          chart names;
        - where the part has no hi-hat pedal note (every game chart: no game format
          writes one; and the easier parts cymbalism derives), the pedal is
          :data:`~cymbalism.model.lanes.NOT_JUDGED`. An e-kit sends its chick, and a foot
          keeping time is no extra hit; the games leave the pedal unmapped.

        A level the chart has no part for is judged by all its parts (the pedal is judged
        if any part writes it).

        Returns
        -------
        lanes : np.ndarray [shape=(len(Lane),), int8]
        """
        reading = _PAD_READINGS.get(self.metadata.get(PADS, ""), {})
        lanes = np.array([int(reading.get(x, x)) for x in Lane], dtype=np.int8)
        lv = Level.parse(level)
        part = self.expert_plus if lv is Level.EXPERT_PLUS else self.parts.get(lv)
        parts = [part] if part is not None else [*self.parts.values()]
        if not any(np.any(p.lane == Lane.HIHAT_PEDAL) for p in parts):
            lanes[Lane.HIHAT_PEDAL] = NOT_JUDGED
        return lanes

    @property
    def top_level(self) -> Level:
        """The hardest level of the ladder present (the full part; never Expert+)."""
        return max(self.parts)

    def part(self, level: Level | str | int = Level.EXPERT) -> Part:
        """The part at ``level`` (``Level.EXPERT_PLUS``: :attr:`expert_plus`)."""
        lv = Level.parse(level)
        if lv is Level.EXPERT_PLUS and self.expert_plus is not None:
            return self.expert_plus
        try:
            return self.parts[lv]
        except KeyError:
            have = ", ".join(x.label for x in self.part_levels)
            if lv is Level.EXPERT_PLUS:
                raise NotFoundError(
                    f"the chart {self.title!r} has no Expert+ part (no double-kick notes); "
                    f"it has: {have}"
                ) from None
            if lv > self.top_level:  # nothing harder can be made from an easier part
                raise NotFoundError(
                    f"the chart {self.title!r} has no {lv.label} part: its hardest is "
                    f"{self.top_level.label} (it has: {have})"
                ) from None
            raise NotFoundError(
                f"the chart {self.title!r} has no {lv.label} part (it has: {have}); "
                "derive one with `cymbalism simplify`"
            ) from None

    def level_or_full(self, level: Level | str | int = Level.EXPERT) -> Level:
        """``level``, or the chart's full part (:attr:`top_level`) when ``level`` is
        Expert and the chart has none: a community chart whose hardest part is Hard."""
        lv = Level.parse(level)
        return self.top_level if lv is Level.EXPERT and lv not in self.parts else lv

    def roll_mask(self, level: Level | str | int = Level.EXPERT) -> np.ndarray:
        """Which notes of the part at ``level`` lie under a roll (:class:`Roll`): in its
        stretch and on its drum (the open and the closed hi-hat one drum).

        Returns
        -------
        mask : np.ndarray [shape=(len(part),), bool]
        """
        lv = Level.parse(level)
        part = self.part(lv)
        mask = np.zeros(len(part), dtype=bool)
        rolls = self.rolls.get(Level.EXPERT if lv is Level.EXPERT_PLUS else lv, ())
        if not rolls:
            return mask
        drum = judged_lanes(part.lane)
        for roll in rolls:
            at = part.span(roll.start_qn, roll.end_qn)
            mask[at] |= np.isin(drum[at], judged_lanes(np.asarray(roll.lanes)))
        return mask

    def targets(self, level: Level | str | int = Level.EXPERT) -> Hits:
        """The part at ``level`` as target onsets in seconds."""
        return self.part(level).to_hits(self.tempo_map)

    @property
    def end_sec(self) -> float:
        """The song's length in seconds."""
        return float(self.tempo_map.qn_to_sec(self.end_qn))

    @property
    def n_bars(self) -> int:
        """The number of bars in the song."""
        bar, beat = self.tempo_map.qn_to_bar_beat(np.float64(self.end_qn))
        return int(bar) + (1 if float(beat) > 1e-9 else 0)

    def section_at(self, qn: float) -> str:
        """The name of the section that contains ``qn`` ("" before the first one)."""
        names = [name for q, name in self.sections if q <= qn + 1e-9]
        return names[-1] if names else ""

    def with_parts(self, parts: Mapping[Level, Part]) -> Chart:
        """A copy with some parts added or replaced (Expert+ too)."""
        new = {**self.parts, **{Level.parse(k): v for k, v in parts.items()}}
        plus = new.pop(Level.EXPERT_PLUS, self.expert_plus)
        return replace(self, parts=new, expert_plus=plus)

    def with_double_kick(self) -> Chart:
        """The chart as played with a double pedal: its Expert part is the Expert+ part.

        A chart without an Expert+ part is returned as it is.
        """
        if self.expert_plus is None:
            return self
        return replace(self, parts={**self.parts, Level.EXPERT: self.expert_plus}, expert_plus=None)

    def scaled(self, factor: float) -> Chart:
        """The same chart at ``factor`` times the tempo (for practice at 70%)."""
        return replace(self, tempo_map=self.tempo_map.scaled(factor))
