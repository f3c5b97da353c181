"""Drum lanes: one enum for the whole project, and the MIDI note -> lane table.

Every input format (General MIDI, an e-kit's note map, a Clone Hero chart, an audio
classifier) maps its own instruments to :class:`Lane` through a table. Notes that are
not drums (or that a kit map does not know) map to ``-1`` and are dropped by readers.

The built-in table covers General MIDI (GM level 1 percussion, notes 35-81) and the
extra notes of the Roland TD-11 that the Groove MIDI Dataset uses: hi-hat edge hits
(22 closed, 26 open), snare rim shot (40) and cross-stick (37), tom rims (50, 47, 58),
ride bell (53), splash (55) and china (52). Other e-kits are data files in
``cymbalism/io/kits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

import numpy as np

__all__ = [
    "GM_NOTE_TO_LANE",
    "JUDGED_AS",
    "LANE_TO_GM_NOTE",
    "NOT_JUDGED",
    "Lane",
    "Limb",
    "judged_lanes",
    "lane_table",
    "notes_to_lanes",
]


class Lane(IntEnum):
    """A drum lane: what was struck, independent of the input that reported it."""

    KICK = 0
    SNARE = 1
    HIHAT_CLOSED = 2
    HIHAT_OPEN = 3
    HIHAT_PEDAL = 4
    TOM_HIGH = 5
    TOM_MID = 6
    TOM_FLOOR = 7
    CRASH = 8
    RIDE = 9

    @property
    def short(self) -> str:
        """Two-letter name used in drum tablature and tables (``BD``, ``SD``, ...)."""
        return _SHORT[self]

    @property
    def label(self) -> str:
        """A name for people: ``"hi-hat (open)"``."""
        return _LABEL[self]

    @property
    def limb(self) -> Limb:
        """The limb a right-handed drummer normally plays this lane with."""
        return _LIMB[self]

    @classmethod
    def parse(cls, name: str) -> Lane:
        """Find a lane by enum name, short name or label, case-insensitively."""

        def norm(text: str) -> str:
            return text.strip().lower().replace("-", "_").replace(" ", "_")

        key = norm(name)
        for lane in cls:
            if key in {norm(lane.name), norm(lane.short), norm(lane.label)}:
                return lane
        raise ValueError(f"unknown lane {name!r}; known lanes: {', '.join(x.short for x in cls)}")


class Limb(IntEnum):
    """The four limbs of a drummer."""

    RIGHT_HAND = 0
    LEFT_HAND = 1
    RIGHT_FOOT = 2
    LEFT_FOOT = 3


_SHORT = {
    Lane.KICK: "BD",
    Lane.SNARE: "SD",
    Lane.HIHAT_CLOSED: "HH",
    Lane.HIHAT_OPEN: "OH",
    Lane.HIHAT_PEDAL: "HP",
    Lane.TOM_HIGH: "T1",
    Lane.TOM_MID: "T2",
    Lane.TOM_FLOOR: "FT",
    Lane.CRASH: "CR",
    Lane.RIDE: "RD",
}
_LABEL = {
    Lane.KICK: "kick",
    Lane.SNARE: "snare",
    Lane.HIHAT_CLOSED: "hi-hat",
    Lane.HIHAT_OPEN: "open hi-hat",
    Lane.HIHAT_PEDAL: "hi-hat pedal",
    Lane.TOM_HIGH: "high tom",
    Lane.TOM_MID: "mid tom",
    Lane.TOM_FLOOR: "floor tom",
    Lane.CRASH: "crash",
    Lane.RIDE: "ride",
}
#: The drum a hit or a note of each lane is judged as, where that is not the lane itself:
#: a hit matches a note of the same drum. The open and the closed hi-hat are one drum
#: struck with a stick; how far open the pedal holds it is the player's touch, and an
#: e-kit reports it by the pedal's position (a Roland module sends note 46 rather than 42
#: as soon as the pedal lifts). Either matches a note of either, as the games judge it
#: (Clone Hero and YARG have one yellow cymbal). The hi-hat pedal stays a drum of its own.
JUDGED_AS: Mapping[Lane, Lane] = {Lane.HIHAT_OPEN: Lane.HIHAT_CLOSED}
_JUDGED_TABLE = np.array([int(JUDGED_AS.get(x, x)) for x in Lane], dtype=np.int8)
#: The lane a hit no note can ask for counts as: it sounds and is kept, but it is neither
#: a hit nor an extra (the hi-hat pedal where the part has no pedal note,
#: :meth:`~cymbalism.model.chart.Chart.hit_lanes`).
NOT_JUDGED = -1

_LIMB = {
    Lane.KICK: Limb.RIGHT_FOOT,
    Lane.HIHAT_PEDAL: Limb.LEFT_FOOT,
    Lane.SNARE: Limb.LEFT_HAND,
    Lane.HIHAT_CLOSED: Limb.RIGHT_HAND,
    Lane.HIHAT_OPEN: Limb.RIGHT_HAND,
    Lane.TOM_HIGH: Limb.RIGHT_HAND,
    Lane.TOM_MID: Limb.RIGHT_HAND,
    Lane.TOM_FLOOR: Limb.RIGHT_HAND,
    Lane.CRASH: Limb.RIGHT_HAND,
    Lane.RIDE: Limb.RIGHT_HAND,
}

#: General MIDI percussion (channel 10) plus the Roland TD-11 extras, note -> lane.
GM_NOTE_TO_LANE: Mapping[int, Lane] = {
    # kick
    35: Lane.KICK,  # acoustic bass drum
    36: Lane.KICK,  # bass drum 1
    # snare
    37: Lane.SNARE,  # side stick / TD-11 snare cross-stick
    38: Lane.SNARE,  # acoustic snare / TD-11 snare head
    39: Lane.SNARE,  # hand clap
    40: Lane.SNARE,  # electric snare / TD-11 snare rim shot
    # hi-hat
    22: Lane.HIHAT_CLOSED,  # TD-11 hi-hat closed, edge
    42: Lane.HIHAT_CLOSED,  # closed hi-hat / TD-11 closed, bow
    26: Lane.HIHAT_OPEN,  # TD-11 hi-hat open, edge
    46: Lane.HIHAT_OPEN,  # open hi-hat / TD-11 open, bow
    44: Lane.HIHAT_PEDAL,  # pedal hi-hat
    # toms
    48: Lane.TOM_HIGH,  # hi-mid tom / TD-11 tom 1
    50: Lane.TOM_HIGH,  # high tom / TD-11 tom 1 rim
    45: Lane.TOM_MID,  # low tom / TD-11 tom 2
    47: Lane.TOM_MID,  # low-mid tom / TD-11 tom 2 rim
    41: Lane.TOM_FLOOR,  # low floor tom
    43: Lane.TOM_FLOOR,  # high floor tom / TD-11 tom 3
    58: Lane.TOM_FLOOR,  # vibraslap in GM; TD-11 tom 3 rim
    # cymbals
    49: Lane.CRASH,  # crash 1
    57: Lane.CRASH,  # crash 2
    55: Lane.CRASH,  # splash / TD-11 crash 1 edge
    52: Lane.CRASH,  # china / TD-11 crash 2 edge
    51: Lane.RIDE,  # ride 1 / TD-11 ride bow
    59: Lane.RIDE,  # ride 2 / TD-11 ride edge
    53: Lane.RIDE,  # ride bell
}

#: The note written for each lane when cymbalism writes General MIDI.
LANE_TO_GM_NOTE: Mapping[Lane, int] = {
    Lane.KICK: 36,
    Lane.SNARE: 38,
    Lane.HIHAT_CLOSED: 42,
    Lane.HIHAT_OPEN: 46,
    Lane.HIHAT_PEDAL: 44,
    Lane.TOM_HIGH: 48,
    Lane.TOM_MID: 45,
    Lane.TOM_FLOOR: 43,
    Lane.CRASH: 49,
    Lane.RIDE: 51,
}


def lane_table(mapping: Mapping[int, int] | None = None) -> np.ndarray:
    """A lookup array from MIDI note number to lane.

    Parameters
    ----------
    mapping : Mapping[int, int], optional
        Note -> lane. Defaults to :data:`GM_NOTE_TO_LANE`.

    Returns
    -------
    table : np.ndarray [shape=(128,), int8]
        ``table[note]`` is the lane of ``note``, or -1 where the note is not a drum.
    """
    mapping = GM_NOTE_TO_LANE if mapping is None else mapping
    table = np.full(128, -1, dtype=np.int8)
    for note, lane in mapping.items():
        if not 0 <= int(note) <= 127:
            raise ValueError(f"MIDI note {note} is outside 0-127")
        table[int(note)] = int(lane)
    return table


_GM_TABLE = lane_table()


def notes_to_lanes(notes: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
    """Map MIDI note numbers to lanes (-1 for notes that are not drums).

    Parameters
    ----------
    notes : np.ndarray [shape=(n,), int]
        MIDI note numbers, 0-127.
    table : np.ndarray [shape=(128,), int8], optional
        A table from :func:`lane_table`; General MIDI by default.

    Returns
    -------
    lanes : np.ndarray [shape=(n,), int8]
    """
    table = _GM_TABLE if table is None else table
    notes = np.asarray(notes, dtype=np.int64)
    if notes.size and (notes.min() < 0 or notes.max() > 127):
        raise ValueError("MIDI note numbers must lie in 0-127")
    return table[notes]


def judged_lanes(lane: np.ndarray | int) -> np.ndarray:
    """The drum each lane is judged as (:data:`JUDGED_AS`): hits and notes of equal values
    match.

    Parameters
    ----------
    lane : np.ndarray [shape=(n,), int] or int
        Lanes, 0 to ``len(Lane) - 1``.

    Returns
    -------
    drum : np.ndarray [shape=(n,), int8]
        Of the same shape as ``lane`` (0-d for one lane).

    Examples
    --------
    >>> judged_lanes(np.array([Lane.HIHAT_OPEN, Lane.HIHAT_CLOSED, Lane.HIHAT_PEDAL]))
    array([2, 2, 4], dtype=int8)
    """
    return _JUDGED_TABLE[np.asarray(lane, dtype=np.int64)]
