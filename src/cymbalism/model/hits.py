"""Hits: what a player struck and when, as a struct of arrays sorted by time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from cymbalism.model.lanes import Lane
from cymbalism.model.validate import validate_times

__all__ = ["Hits"]


@dataclass(frozen=True, eq=False)
class Hits:
    """A player's hits (or a part's target notes), sorted by onset time.

    Attributes
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
        When each hit sounded, on the session's clock, latency already subtracted.
    lane : np.ndarray [shape=(n,), int8]
        The :class:`~cymbalism.model.lanes.Lane` of each hit.
    velocity : np.ndarray [shape=(n,), int16, 1-127]
        How hard each hit was struck (scaled from loudness for audio).

    Notes
    -----
    Construct with :meth:`from_arrays`, which sorts and validates. The plain
    constructor trusts its arguments (already sorted, right dtypes) and is for
    code that built them that way.
    """

    onset_sec: np.ndarray
    lane: np.ndarray
    velocity: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        onset_sec: Iterable[float] | np.ndarray,
        lane: Iterable[int] | np.ndarray | int,
        velocity: Iterable[int] | np.ndarray | int = 100,
    ) -> Hits:
        """Build validated Hits, sorting by time (stable, so equal times keep their order).

        Parameters
        ----------
        onset_sec : array-like [shape=(n,), seconds]
        lane : array-like [shape=(n,)] or int
            Lanes, or one lane for every hit.
        velocity : array-like [shape=(n,)] or int
            Velocities 1-127, or one for every hit.

        Raises
        ------
        ValueError
            If shapes differ, a time is not finite or implausibly large, a lane is
            unknown or a velocity is outside 1-127.
        """
        onset = validate_times(np.asarray(onset_sec, dtype=np.float64), "onset_sec", sorted_=False)
        n = onset.size
        lanes = np.broadcast_to(np.asarray(lane, dtype=np.int64), (n,))
        vel = np.broadcast_to(np.asarray(velocity, dtype=np.int64), (n,))
        if n and (lanes.min() < 0 or lanes.max() >= len(Lane)):
            raise ValueError(
                f"lane values must lie in 0-{len(Lane) - 1}, got {lanes.min()}..{lanes.max()}"
            )
        if n and (vel.min() < 1 or vel.max() > 127):
            raise ValueError(f"velocity must lie in 1-127, got {vel.min()}..{vel.max()}")
        order = np.argsort(onset, kind="stable")
        return cls(
            onset_sec=np.ascontiguousarray(onset[order]),
            lane=lanes[order].astype(np.int8),
            velocity=vel[order].astype(np.int16),
        )

    @classmethod
    def empty(cls) -> Hits:
        """No hits."""
        return cls(np.empty(0, np.float64), np.empty(0, np.int8), np.empty(0, np.int16))

    @classmethod
    def concat(cls, parts: Iterable[Hits]) -> Hits:
        """Merge several Hits into one, sorted by time."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls.from_arrays(
            np.concatenate([p.onset_sec for p in parts]),
            np.concatenate([p.lane for p in parts]),
            np.concatenate([p.velocity for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.onset_sec.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hits):
            return NotImplemented
        return (
            np.array_equal(self.onset_sec, other.onset_sec)
            and np.array_equal(self.lane, other.lane)
            and np.array_equal(self.velocity, other.velocity)
        )

    def __repr__(self) -> str:
        if not len(self):
            return "Hits(n=0)"
        return f"Hits(n={len(self)}, {self.onset_sec[0]:.3f}-{self.onset_sec[-1]:.3f} s)"

    def select(self, mask_or_index: np.ndarray) -> Hits:
        """The hits picked by a boolean mask or an increasing index array."""
        return Hits(
            self.onset_sec[mask_or_index], self.lane[mask_or_index], self.velocity[mask_or_index]
        )

    def for_lanes(self, *lanes: Lane | int) -> Hits:
        """Only the hits in the given lanes."""
        return self.select(np.isin(self.lane, np.asarray(lanes, dtype=np.int8)))

    def between(self, start_sec: float, end_sec: float) -> Hits:
        """The hits with ``start_sec <= onset_sec < end_sec``."""
        lo, hi = np.searchsorted(self.onset_sec, [start_sec, end_sec], side="left")
        return self.select(slice(lo, hi))  # type: ignore[arg-type]

    def shifted(self, offset_sec: float) -> Hits:
        """The same hits, ``offset_sec`` later (earlier if negative)."""
        return Hits(self.onset_sec + float(offset_sec), self.lane, self.velocity)

    @property
    def duration_sec(self) -> float:
        """Time from the first to the last hit (0 for fewer than two hits)."""
        return float(self.onset_sec[-1] - self.onset_sec[0]) if len(self) > 1 else 0.0
