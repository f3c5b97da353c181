"""E-kit note maps: which MIDI note of a drum module is which :class:`Lane`.

Each kit is a small TOML file in this folder (or anywhere on disk)::

    name = "Roland TD-17"
    aliases = ["td17", "td-17"]
    description = "Roland TD-17 V-Drums, factory note map"

    [notes]
    36 = "kick"
    38 = "snare"        # head
    40 = "snare"        # rim shot

Keys are MIDI note numbers (0-127); values are lane names as :meth:`Lane.parse` reads
them (``kick``, ``SD``, ``open hi-hat``, ...). Notes a kit does not list are not drums
for that kit and are dropped by the readers. To add a kit, copy a file here and edit it,
or pass the path of your own file wherever a kit name is accepted.

A kit may also tune the trigger filter of live inputs (:class:`TriggerSettings`), in an
optional table; every key may be left out, and 0 turns that filter off::

    [filter]
    retrigger_mask_ms = 8     # a second note on the same pad this soon is a double trigger
    crosstalk_ms = 4          # a note on another pad this soon after a hit ...
    crosstalk_ratio = 0.15    # ... at most this fraction of its velocity is crosstalk
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.lanes import Lane, lane_table

__all__ = [
    "DEFAULT_CROSSTALK_MS",
    "DEFAULT_CROSSTALK_RATIO",
    "DEFAULT_RETRIGGER_MASK_MS",
    "KitMap",
    "TriggerSettings",
    "known_kits",
    "load_kit",
]

#: A second note on the same pad within this many milliseconds of the last one is a
#: double trigger (a pad or cable bouncing), not a stroke. A flam's grace note comes
#: 20-50 ms before the main stroke, so this is well below a flam.
DEFAULT_RETRIGGER_MASK_MS = 8.0
#: A note on another pad this soon after a hit can be crosstalk (the shock of a rim shot
#: sounding on the pad beside it) ...
DEFAULT_CROSSTALK_MS = 4.0
#: ... when its velocity is at most this fraction of that hit's. Real crosstalk is
#: faint; a deliberate soft stroke with a loud one (a ghost note under a crash) is
#: rarely this much quieter and this close.
DEFAULT_CROSSTALK_RATIO = 0.15


@dataclass(frozen=True)
class TriggerSettings:
    """How a live input tells strokes from a pad's false triggers.

    Attributes
    ----------
    retrigger_mask_ms : float
        A note on a pad within this many ms after that pad's last accepted note is a
        double trigger and is dropped (0: off).
    crosstalk_ms : float
        A note on another pad within this many ms after an accepted hit ...
    crosstalk_ratio : float
        ... with at most this fraction of that hit's velocity is crosstalk and is
        dropped (``crosstalk_ms = 0``: off). The feet (kick, hi-hat pedal) neither cause
        nor receive crosstalk: they are not mounted with the pads.
    """

    retrigger_mask_ms: float = DEFAULT_RETRIGGER_MASK_MS
    crosstalk_ms: float = DEFAULT_CROSSTALK_MS
    crosstalk_ratio: float = DEFAULT_CROSSTALK_RATIO

    def __post_init__(self) -> None:
        for name, value, hi in (
            ("retrigger_mask_ms", self.retrigger_mask_ms, 20.0),
            ("crosstalk_ms", self.crosstalk_ms, 20.0),
            ("crosstalk_ratio", self.crosstalk_ratio, 1.0),
        ):
            if not 0.0 <= value <= hi:
                raise InputError(
                    f"{name} must lie within 0-{hi:g}, got {value!r}"
                    + (" (a mask that long would drop flams and fast rolls)" if hi == 20.0 else "")
                )

    @classmethod
    def parse(cls, table: object, source: str) -> TriggerSettings:
        """Read a kit file's ``[filter]`` table."""
        if table is None:
            return cls()
        if not isinstance(table, dict):
            raise InputError(f"the kit file {source}: [filter] must be a table")
        known = {"retrigger_mask_ms", "crosstalk_ms", "crosstalk_ratio"}
        unknown = set(table) - known
        if unknown:
            raise InputError(
                f"the kit file {source}: unknown [filter] keys {sorted(unknown)}; "
                f"known: {sorted(known)}"
            )
        try:
            values = {k: float(v) for k, v in table.items()}
        except (TypeError, ValueError):
            raise InputError(f"the kit file {source}: [filter] values must be numbers") from None
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(f"the kit file {source}: {exc}") from None


@dataclass(frozen=True, eq=False)
class KitMap:
    """A drum module's note map.

    Attributes
    ----------
    name : str
        The kit's name for people (``"Roland TD-17"``).
    notes : Mapping[int, Lane]
        MIDI note number -> lane.
    description : str
    aliases : tuple of str
        Other names :func:`load_kit` accepts.
    source : str
        The file the map was read from.
    trigger : TriggerSettings
        The retrigger mask and crosstalk filter of live inputs on this kit.
    table : np.ndarray [shape=(128,), int8]
        ``table[note]`` is the lane of ``note``, or -1 for notes the kit does not map.
    """

    name: str
    notes: Mapping[int, Lane]
    description: str = ""
    aliases: tuple[str, ...] = ()
    source: str = ""
    trigger: TriggerSettings = field(default_factory=TriggerSettings)
    table: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", lane_table(self.notes))
        self.table.setflags(write=False)

    def lanes_of(self, notes: np.ndarray) -> np.ndarray:
        """The lane of each MIDI note (-1 where the kit does not map the note).

        Parameters
        ----------
        notes : np.ndarray [shape=(n,), int, 0-127]

        Returns
        -------
        lanes : np.ndarray [shape=(n,), int8]
        """
        notes = np.asarray(notes, dtype=np.int64)
        if notes.size and (notes.min() < 0 or notes.max() > 127):
            raise InputError(
                f"MIDI note numbers must lie in 0-127, got {notes.min()}..{notes.max()}"
            )
        return self.table[notes]

    def __repr__(self) -> str:
        return f"KitMap({self.name!r}, {len(self.notes)} notes)"


def _norm(text: str) -> str:
    return text.strip().lower().replace("_", "-").replace(" ", "-")


def _parse_kit(text: str, source: str) -> KitMap:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the kit file {source} is not valid TOML: {exc}") from None
    raw = doc.get("notes")
    if not isinstance(raw, dict) or not raw:
        raise InputError(f'the kit file {source} needs a [notes] table of note = "lane" lines')
    notes: dict[int, Lane] = {}
    for key, value in raw.items():
        try:
            note = int(key)
        except ValueError:
            raise InputError(
                f"the kit file {source} maps {key!r}, which is not a MIDI note number"
            ) from None
        if not 0 <= note <= 127:
            raise InputError(f"the kit file {source} maps note {note}, outside 0-127")
        try:
            notes[note] = Lane.parse(str(value))
        except ValueError as exc:
            raise InputError(f"the kit file {source}, note {note}: {exc}") from None
    name = str(doc.get("name") or Path(source).stem)
    aliases = tuple(str(a) for a in doc.get("aliases", ()))
    trigger = TriggerSettings.parse(doc.get("filter"), source)
    return KitMap(name, notes, str(doc.get("description", "")), aliases, source, trigger)


def _builtin() -> dict[str, KitMap]:
    kits = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            kits[entry.name[: -len(".toml")]] = _parse_kit(entry.read_text("utf-8"), entry.name)
    return kits


_BUILTIN: dict[str, KitMap] | None = None


def known_kits() -> dict[str, KitMap]:
    """The built-in kits, by file name (``"roland_td17"``)."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = _builtin()
    return dict(_BUILTIN)


def load_kit(name_or_path: str | Path | KitMap) -> KitMap:
    """Find a kit by name or alias (``"td17"``, ``"Alesis Nitro"``) or read a kit file.

    Parameters
    ----------
    name_or_path : str, Path or KitMap
        A built-in kit's file name, name or alias (case and ``-``/``_``/space do not
        matter), or the path of a TOML kit file. A KitMap is returned as it is.

    Returns
    -------
    kit : KitMap

    Raises
    ------
    NotFoundError
        If no built-in kit has that name and no such file exists; the message lists the
        known kits.
    InputError
        If a kit file is malformed.
    """
    if isinstance(name_or_path, KitMap):
        return name_or_path
    text = str(name_or_path)
    path = Path(text).expanduser()
    if isinstance(name_or_path, Path) or text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise NotFoundError(f"the kit file {path} does not exist")
        return _parse_kit(path.read_text("utf-8"), str(path))
    key = _norm(text)
    for stem, kit in known_kits().items():
        if key in {_norm(stem), _norm(kit.name), *(_norm(a) for a in kit.aliases)}:
            return kit
    listing = ", ".join(f"{stem} ({kit.name})" for stem, kit in known_kits().items())
    raise NotFoundError(f"unknown kit {text!r}; known kits: {listing}; or give a .toml file")
