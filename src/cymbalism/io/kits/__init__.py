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

__all__ = ["KitMap", "known_kits", "load_kit"]


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
    table : np.ndarray [shape=(128,), int8]
        ``table[note]`` is the lane of ``note``, or -1 for notes the kit does not map.
    """

    name: str
    notes: Mapping[int, Lane]
    description: str = ""
    aliases: tuple[str, ...] = ()
    source: str = ""
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
    return KitMap(name, notes, str(doc.get("description", "")), aliases, source)


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
