"""OnsetTable: several players' onsets at shared events, the ensemble researcher's table.

One row per event (a slot of the metrical grid, a beat, a chart position), one column per
player. A cell holds the player's onset in seconds at that event, or NaN where the player
did not play it. This is the wide format of onsetsync (Eerola & Clayton) and of the IEMP
corpus; asynchronies, phase-correction gains and lead/lag are all computed from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.validate import MAX_PLAUSIBLE_SEC

__all__ = ["OnsetTable"]


@dataclass(frozen=True, eq=False)
class OnsetTable:
    """Onsets of several players at shared events.

    Attributes
    ----------
    names : tuple of str [shape=(n_players,)]
        The players (column names), all different.
    onset_sec : np.ndarray [shape=(n_events, n_players), float64, seconds]
        Each player's onset at each event; NaN where the player has no onset there.
    reference_sec : np.ndarray [shape=(n_events,), float64, seconds] or None
        The nominal time of each event (the click, the chart note, an isochronous grid),
        when known.
    labels : tuple of str [shape=(n_events,)] or None
        A label per event, such as onsetsync's ``"cycle:subdivision"``.

    Notes
    -----
    Construct with :meth:`from_columns`, which validates. Events are in time order; a
    player's onsets need not be strictly increasing (real players sometimes swap two
    close notes), but every value must be a finite time in seconds.
    """

    names: tuple[str, ...]
    onset_sec: np.ndarray
    reference_sec: np.ndarray | None = None
    labels: tuple[str, ...] | None = None

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Sequence[float] | np.ndarray],
        *,
        reference_sec: Sequence[float] | np.ndarray | None = None,
        labels: Sequence[str] | None = None,
    ) -> OnsetTable:
        """Build a validated table from one array per player.

        Parameters
        ----------
        columns : mapping of str to array-like [shape=(n_events,), seconds, NaN = no onset]
        reference_sec : array-like [shape=(n_events,), seconds], optional
        labels : sequence of str [shape=(n_events,)], optional

        Raises
        ------
        InputError
            If there is no player, the columns differ in length, a name repeats or is
            empty, or a value is infinite or too large to be seconds.
        """
        names = tuple(str(n) for n in columns)
        if not names:
            raise InputError("an onset table needs at least one player column")
        if any(not n.strip() for n in names):
            raise InputError(f"every player needs a name, got {list(names)}")
        arrays = [np.asarray(columns[n], dtype=np.float64) for n in columns]
        lengths = {a.shape for a in arrays}
        if len(lengths) != 1 or arrays[0].ndim != 1:
            raise InputError(
                "every player column must be 1-D and of the same length, got shapes "
                + ", ".join(f"{n}: {a.shape}" for n, a in zip(names, arrays, strict=True))
            )
        onset = np.column_stack(arrays) if arrays[0].size else np.empty((0, len(names)))
        _check_seconds(onset, "onset_sec")
        ref = None
        if reference_sec is not None:
            ref = np.asarray(reference_sec, dtype=np.float64)
            if ref.shape != (onset.shape[0],):
                raise InputError(
                    f"reference_sec has shape {ref.shape}, expected ({onset.shape[0]},) "
                    "(one nominal time per event)"
                )
            _check_seconds(ref, "reference_sec")
        lab = None
        if labels is not None:
            lab = tuple(str(x) for x in labels)
            if len(lab) != onset.shape[0]:
                raise InputError(f"{len(lab)} labels for {onset.shape[0]} events")
        return cls(names=names, onset_sec=onset, reference_sec=ref, labels=lab)

    @property
    def n_events(self) -> int:
        """Number of rows (events)."""
        return int(self.onset_sec.shape[0])

    @property
    def n_players(self) -> int:
        """Number of columns (players)."""
        return len(self.names)

    def __len__(self) -> int:
        return self.n_events

    def __repr__(self) -> str:
        return f"OnsetTable(players={list(self.names)}, n_events={self.n_events})"

    def index(self, name: str) -> int:
        """The column of player ``name``.

        Raises
        ------
        InputError
            If there is no such player; the message lists the players there are.
        """
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(
                f"no player {name!r} in this table; players: {', '.join(self.names)}"
            ) from None

    def column(self, name: str) -> np.ndarray:
        """The onsets of player ``name`` [shape=(n_events,), seconds, NaN = no onset]."""
        return self.onset_sec[:, self.index(name)]

    def n_onsets(self) -> dict[str, int]:
        """How many onsets each player has."""
        counts = np.isfinite(self.onset_sec).sum(axis=0)
        return {n: int(c) for n, c in zip(self.names, counts, strict=True)}

    def select(self, names: Sequence[str]) -> OnsetTable:
        """A table of only the players ``names``, in that order."""
        idx = [self.index(n) for n in names]
        return OnsetTable(
            names=tuple(names),
            onset_sec=self.onset_sec[:, idx],
            reference_sec=self.reference_sec,
            labels=self.labels,
        )

    def rows(self, mask_or_index: np.ndarray | slice) -> OnsetTable:
        """A table of only the events picked by a mask, an index array or a slice."""
        return OnsetTable(
            names=self.names,
            onset_sec=self.onset_sec[mask_or_index],
            reference_sec=None if self.reference_sec is None else self.reference_sec[mask_or_index],
            labels=None
            if self.labels is None
            else tuple(np.asarray(self.labels, dtype=object)[mask_or_index]),
        )

    def with_reference_as(self, name: str) -> OnsetTable:
        """The table with the reference grid added as a player column ``name`` (the click).

        Raises
        ------
        InputError
            If the table has no reference times or already has a column ``name``.
        """
        if self.reference_sec is None:
            raise InputError("this table has no reference times (no click or grid) to add")
        if name in self.names:
            raise InputError(f"the table already has a column {name!r}")
        return OnsetTable(
            names=(*self.names, name),
            onset_sec=np.column_stack([self.onset_sec, self.reference_sec]),
            reference_sec=self.reference_sec,
            labels=self.labels,
        )

    def event_time_sec(self) -> np.ndarray:
        """A time for every event: the reference, else the mean of the players' onsets.

        Returns
        -------
        time_sec : np.ndarray [shape=(n_events,), float64, seconds, NaN where nobody played]
        """
        if self.reference_sec is not None:
            return self.reference_sec
        out = np.full(self.n_events, np.nan)
        have = np.isfinite(self.onset_sec)
        counts = have.sum(axis=1)
        sums = np.where(have, self.onset_sec, 0.0).sum(axis=1)
        np.divide(sums, counts, out=out, where=counts > 0)
        return out


def _check_seconds(values: np.ndarray, name: str) -> None:
    if np.isinf(values).any():
        raise InputError(f"{name} holds an infinite value; every onset must be finite or NaN")
    finite = values[np.isfinite(values)]
    if finite.size and np.abs(finite).max() > MAX_PLAUSIBLE_SEC:
        raise InputError(
            f"{name} holds a time of {np.abs(finite).max():g} s, longer than any session "
            "(were the onsets given in milliseconds or samples instead of seconds?)"
        )
