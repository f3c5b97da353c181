"""Kit templates: the spectrum each drum of a kit adds when struck, and their files.

The detector (:mod:`cymbalism.io.audio.detector`) decomposes every hit onto these
templates to choose its lanes. :func:`default_kit` holds what many kits have in common
(several templates per drum, built by ``scripts/default_kit.py``); a kit learned from the
player's own drums (:mod:`cymbalism.io.audio.learn`) is saved as a JSON file under
:func:`kit_templates_dir` and loaded by name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import InputError, NotFoundError, require
from cymbalism.io.datadir import data_dir
from cymbalism.model.lanes import Lane

__all__ = [
    "DEFAULT_KIT_PATH",
    "HEARD_AS",
    "OTHER",
    "KitTemplates",
    "default_kit",
    "kit_templates_dir",
    "lane_label",
    "list_kit_templates",
    "load_kit_templates",
    "parse_kit_lane",
    "profile_kit",
    "save_kit_templates",
]

#: The mel bands every spectrum is measured in (the kit file's ``bands``).
_FMIN_HZ = 30.0
_FMAX_HZ = 16000.0
_N_BANDS = 64


#: The name, in kit files and calibration orders, of a sound that is not a drum.
OTHER = "other"

#: The default kit's templates (``scripts/default_kit.py`` writes them).
DEFAULT_KIT_PATH = Path(__file__).with_name("default_kit.json")
#: How readily the default kit names each drum: its part of a hit's fit is weighed by
#: this before the drums are ranked. Generic templates of a tom and of a snare overlap, as
#: do a crash and a snare's wires, and toms and crashes are struck far less often (in the
#: Groove MIDI Dataset toms are 7% of the hits, crashes 1.4%, the snare 30%), so a tom or
#: a crash must explain clearly more of a hit than the snare. Chosen (1 or 0.6 each) by
#: leave-one-track-out on MDB Drums (``evaluation/audio.py --choose``): every fold chose
#: 0.6 for the toms, seven of eight for the crash; scored so, the mean kick / snare /
#: hi-hat F of the held-out tracks is 0.814.
DEFAULT_LANE_WEIGHTS: dict[Lane, float] = {Lane.TOM_HIGH: 0.6, Lane.TOM_FLOOR: 0.6, Lane.CRASH: 0.6}
#: The share of a hit's fit from which the default kit names a further drum (the
#: best-fitting drum is always named). Chosen among 0.05, 0.10 and 0.15 by the same
#: leave-one-track-out: every fold chose 0.10.
DEFAULT_MIN_SHARE = 0.10
#: The drums a kit with no template of its own for a drum may name that drum's strokes,
#: the likeliest first. The default kit's high-tom templates were learnt from the
#: soundfont kits' mid toms too, and its hi-hat's from the pedal; the ride it never
#: heard. Rendered from all 28 soundfont kits (four velocities), every ride stroke (GM
#: notes 51 and 59) reads as the hi-hat and every mid tom (47, 48) as the high tom; in
#: songs, a mid tom tuned lower (GM 45, cymbalism's own sample kit) reads as the snare
#: about half the time (``evaluation/named_drums.py``), or as the floor tom; a ride
#: struck on its edge sounds as a crash does.
HEARD_AS: dict[Lane, tuple[Lane, ...]] = {
    Lane.RIDE: (Lane.HIHAT_CLOSED, Lane.CRASH),
    Lane.TOM_MID: (Lane.TOM_HIGH, Lane.TOM_FLOOR, Lane.SNARE),
    Lane.HIHAT_PEDAL: (Lane.HIHAT_CLOSED,),
}


def parse_kit_lane(name: str) -> Lane | None:
    """A lane by name (see :meth:`Lane.parse`), or ``None`` for :data:`OTHER`."""
    return None if name.strip().lower() == OTHER else Lane.parse(name)


def lane_label(lane: Lane | None) -> str:
    """A kit template's name for people: the lane's label, or ``"other sound"``."""
    return lane.label if lane is not None else f"{OTHER} sound"


@dataclass(frozen=True)
class KitTemplates:
    """The spectra of one kit's drums, for classifying hits into lanes.

    Attributes
    ----------
    name : str
    lanes : tuple[Lane or None, ...]
        The lane of each template; ``None`` for a sound of the kit that is not a drum (a
        cowbell, a tambourine): hits it explains are dropped, as readers drop MIDI notes
        that are not drums. A lane may have several templates (variants of one drum, as
        in :func:`default_kit`); a calibrated kit has one per lane.
    templates : np.ndarray [shape=(n_templates, 64), float64, >= 0, unit sum]
        The magnitude each template adds in each mel band (30 Hz-16 kHz) when struck,
        over the lane window of :class:`DetectorConfig` (30 ms).
    calibrated : bool
        Whether the templates were learned from the player's own kit.
    live_templates : np.ndarray [shape=(n_templates, 64)] or None
        The same over the short lane window of :data:`LIVE_CONFIG` (10 ms), used by
        live input; ``templates`` stand in when missing.
    lane_weights : dict[Lane, float]
        How readily a lane is named: its part of a hit's fit is multiplied by this
        (1 for lanes not listed) before the lanes are ranked.
    min_share : float or None
        The share of a hit's fit from which a further lane is named; ``None`` takes the
        detector's :attr:`DetectorConfig.min_share`.
    """

    name: str
    lanes: tuple[Lane | None, ...]
    templates: np.ndarray
    calibrated: bool = False
    live_templates: np.ndarray | None = None
    lane_weights: dict[Lane, float] | None = None
    min_share: float | None = None

    def __post_init__(self) -> None:
        if not any(x is not None for x in self.lanes):
            raise InputError(f"kit {self.name!r}: a kit needs a drum")
        t = np.asarray(self.templates, dtype=np.float64)
        if t.ndim != 2 or t.shape != (len(self.lanes), _N_BANDS):
            raise InputError(
                f"kit {self.name!r}: templates must have shape ({len(self.lanes)}, {_N_BANDS}), "
                f"got {t.shape}"
            )
        for arr in (t, self.live_templates):
            if arr is None:
                continue
            arr = np.asarray(arr, dtype=np.float64)
            if arr.shape != t.shape or not np.isfinite(arr).all() or (arr < 0).any():
                raise InputError(
                    f"kit {self.name!r}: templates must be finite, non-negative and of shape "
                    f"({len(self.lanes)}, {_N_BANDS})"
                )

    def templates_for(self, lane_window_sec: float) -> np.ndarray:
        """The templates learned with the lane window nearest ``lane_window_sec``."""
        if self.live_templates is not None and lane_window_sec < 0.02:
            return np.asarray(self.live_templates, dtype=np.float64)
        return np.asarray(self.templates, dtype=np.float64)

    def template_of(self, lane: Lane | None) -> np.ndarray:
        """One template for ``lane``: the mean of its templates, unit sum."""
        rows = np.asarray(self.templates)[[x == lane for x in self.lanes]]
        if not rows.shape[0]:
            raise InputError(f"kit {self.name!r} has no {lane_label(lane)}")
        mean = rows.mean(axis=0)
        return mean / mean.sum()

    @property
    def heard_as(self) -> dict[Lane, tuple[Lane, ...]]:
        """The drums this kit has no template for, each with the drums it may name their
        strokes (:data:`HEARD_AS`): the default kit hears the ride as the hi-hat."""
        have = {x for x in self.lanes if x is not None}
        out = {d: tuple(h for h in hs if h in have) for d, hs in HEARD_AS.items()}
        return {d: hs for d, hs in out.items() if d not in have and hs}

    @property
    def labels(self) -> list[str]:
        """A name for people per template (``"other sound"`` for one that is not a drum)."""
        return [lane_label(x) for x in self.lanes]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the kit file's content)."""
        extra: dict[str, Any] = {}
        if self.min_share is not None:
            extra["min_share"] = self.min_share
        if self.lane_weights:
            extra["lane_weights"] = {k.name.lower(): v for k, v in self.lane_weights.items()}
        return {
            "format": "cymbalism-kit/1",
            "name": self.name,
            "calibrated": self.calibrated,
            **extra,
            "bands": {"n": _N_BANDS, "fmin_hz": _FMIN_HZ, "fmax_hz": _FMAX_HZ, "scale": "mel"},
            "lanes": [
                {
                    "lane": lane.name.lower() if lane is not None else OTHER,
                    "template": [round(float(v), 6) for v in row],
                    **(
                        {"live_template": [round(float(v), 6) for v in live]}
                        if live is not None
                        else {}
                    ),
                }
                for lane, row, live in zip(
                    self.lanes,
                    self.templates,
                    self.live_templates
                    if self.live_templates is not None
                    else [None] * len(self.lanes),
                    strict=True,
                )
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, source: str = "kit file") -> KitTemplates:
        """Read a kit from :meth:`to_json`'s dict; :class:`InputError` if it is malformed."""
        try:
            if data.get("format") != "cymbalism-kit/1":
                raise ValueError(f"unknown format {data.get('format')!r}")
            rows = data["lanes"]
            return cls(
                name=str(data["name"]),
                lanes=tuple(parse_kit_lane(r["lane"]) for r in rows),
                templates=np.asarray([r["template"] for r in rows], dtype=np.float64),
                live_templates=(
                    np.asarray([r["live_template"] for r in rows], dtype=np.float64)
                    if all("live_template" in r for r in rows)
                    else None
                ),
                calibrated=bool(data.get("calibrated", True)),
                lane_weights={
                    Lane.parse(k): float(v) for k, v in data.get("lane_weights", {}).items()
                }
                or None,
                min_share=float(data["min_share"]) if "min_share" in data else None,
            )
        except InputError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source} is not a valid cymbalism kit: {exc}") from exc


#: Edges (Hz) of the regions the drawn profiles are drawn in: roughly octaves.
_REGION_HZ = (30, 80, 150, 300, 600, 1200, 2500, 5000, 8000, 12000, 16000)

#: The share of each region in the spectrum a typical drum adds in its first few
#: milliseconds, drawn from the acoustics of each drum: a kick's body at 50-150 Hz and its
#: beater click; a snare's shell at 150-600 Hz and its wires above; toms as tones; a
#: closed hi-hat and a crash as broad noise above 1 kHz, the hi-hat brighter.
_PROFILES: dict[Lane, tuple[float, ...]] = {
    Lane.KICK: (0.05, 0.50, 0.15, 0.10, 0.08, 0.07, 0.05, 0.0, 0.0, 0.0),
    Lane.SNARE: (0.0, 0.05, 0.20, 0.30, 0.20, 0.12, 0.08, 0.05, 0.0, 0.0),
    Lane.HIHAT_CLOSED: (0.0, 0.0, 0.0, 0.05, 0.08, 0.12, 0.20, 0.25, 0.22, 0.08),
    Lane.TOM_HIGH: (0.0, 0.05, 0.55, 0.25, 0.10, 0.05, 0.0, 0.0, 0.0, 0.0),
    Lane.TOM_FLOOR: (0.0, 0.55, 0.30, 0.10, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0),
    Lane.CRASH: (0.0, 0.0, 0.0, 0.03, 0.10, 0.25, 0.30, 0.17, 0.10, 0.05),
}


def _band_hz() -> np.ndarray:
    librosa = require("librosa", "audio")
    return librosa.mel_frequencies(n_mels=_N_BANDS + 2, fmin=_FMIN_HZ, fmax=_FMAX_HZ)[1:-1]


@cache
def _default_kit() -> KitTemplates:
    kit = KitTemplates.from_json(json.loads(DEFAULT_KIT_PATH.read_text()), source="default kit")
    return replace(
        kit, calibrated=False, lane_weights=dict(DEFAULT_LANE_WEIGHTS), min_share=DEFAULT_MIN_SHARE
    )


def default_kit() -> KitTemplates:
    """The templates used when no kit is calibrated: what many kits have in common.

    Eight templates per drum (kick, snare, hi-hat, high tom, floor tom, crash), the
    spectra that 28 acoustic kits of a General MIDI soundfont and cymbalism's own drum
    synthesizer add when struck, clustered per drum (``scripts/default_kit.py``). A hit is
    fitted to all of them at once, so each drum is heard in the variant nearest it; toms
    and crashes are named less readily than the snare (:data:`DEFAULT_LANE_WEIGHTS`). A calibrated
    kit (:func:`calibrate_kit`) does better still on any particular kit.
    """
    return _default_kit()


def profile_kit() -> KitTemplates:
    """One template per drum, drawn from the acoustics of each drum (``_PROFILES``).

    Each lane's template spreads a hand-drawn share per region (about an octave each)
    evenly over the mel bands of that region. A calibrated kit falls back on these for a
    drum it was not taught: one narrow template per drum keeps the player's own drums in
    front (on MDB Drums, a kit calibrated on part of each track then scores a mean F of
    0.918 against 0.906 with the means of :func:`default_kit`'s templates).
    """
    hz = _band_hz()
    region = np.searchsorted(np.asarray(_REGION_HZ), hz, side="right") - 1
    region = np.clip(region, 0, len(_REGION_HZ) - 2)
    rows = []
    for shares in _PROFILES.values():
        counts = np.bincount(region, minlength=len(shares))
        row = np.asarray(shares)[region] / np.maximum(counts[region], 1)
        rows.append(row / row.sum())
    return KitTemplates("profiles", tuple(_PROFILES), np.stack(rows), calibrated=False)


def kit_templates_dir() -> Path:
    """Where calibrated kits are saved: ``$CYMBALISM_DATA_DIR/kits`` or the user's data dir."""
    return data_dir("kits")


_KIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


def _kit_path(name: str) -> Path:
    if not _KIT_NAME.match(name) or name in {".", ".."}:
        raise InputError(
            f"kit name {name!r} is not usable: use letters, digits, spaces, '-', '_' or '.', "
            "at most 64 characters"
        )
    return kit_templates_dir() / f"{name}.json"


def save_kit_templates(kit: KitTemplates) -> Path:
    """Save a kit under :func:`kit_templates_dir` by its name; return the file's path."""
    path = _kit_path(kit.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(kit.to_json(), indent=1))
    tmp.replace(path)
    return path


def list_kit_templates() -> list[str]:
    """Names of the saved kits, sorted."""
    d = kit_templates_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_kit_templates(name_or_path: str | Path) -> KitTemplates:
    """Load a saved kit by name (or from a kit file path); ``"default"`` is built in.

    Raises
    ------
    NotFoundError
        If there is no kit of that name.
    InputError
        If the kit file is malformed.
    """
    if isinstance(name_or_path, KitTemplates):  # pragma: no cover - convenience
        return name_or_path
    text = str(name_or_path)
    if text == "default":
        return default_kit()
    path = Path(text) if text.endswith(".json") else _kit_path(text)
    if not path.is_file():
        known = ", ".join(["default", *list_kit_templates()])
        raise NotFoundError(
            f"no kit named {text!r} (known kits: {known}); "
            "make one with `cymbalism kit calibrate AUDIO --name NAME`"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"kit file {path} is not readable JSON: {exc}") from exc
    return KitTemplates.from_json(data, source=f"kit file {path}")
