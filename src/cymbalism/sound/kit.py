"""The sampled acoustic kit: every lane at three velocities, and the clicks.

The samples ship in ``cymbalism/sound/samples`` (rendered once by
``scripts/render_sounds.py`` with FluidSynth from Debian's ``fluid-soundfont-gm``, MIT;
the license is beside them). ``kit.json`` there describes them for any player, the
browser studio included:

``sample_rate``
    44100; every file is mono 16-bit FLAC that starts on the sound's first sample.
``layers``
    The velocities the layers were struck at, ``[45, 90, 127]``.
``lanes``
    ``{lane name: {"lane": n, "gm_note": n, "files": [one file per layer]}}``, for every
    :class:`~cymbalism.model.lanes.Lane`.
``chokes``
    ``{"hihat_open": ["hihat_closed", "hihat_pedal"]}``: closing the hi-hat (a closed or
    pedal stroke) silences a ringing open hi-hat of the same player.
``clicks``
    ``{"accent": file, "click": file}``: the downbeat and the other beats (GM wood blocks).

A stroke plays the layer nearest its velocity (ties go up), scaled by
``velocity / layer velocity``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.lanes import Lane

__all__ = [
    "CHOKED_BY",
    "CLICK_NOTES",
    "KIT_DIR",
    "LAYER_VELOCITIES",
    "SampleKit",
    "kit_manifest",
    "sample_name",
]

#: Where the samples live (a folder inside the installed package).
KIT_DIR = Path(str(resources.files("cymbalism.sound") / "samples"))
#: The velocities each lane was sampled at.
LAYER_VELOCITIES = (45, 90, 127)
#: The General MIDI notes of the two clicks: high wood block (downbeat), low wood block.
CLICK_NOTES = {"accent": 76, "click": 77}
#: Lanes whose stroke silences a ringing sound of another lane of the same player.
CHOKED_BY = {Lane.HIHAT_OPEN: (Lane.HIHAT_CLOSED, Lane.HIHAT_PEDAL)}


def sample_name(lane: Lane, velocity: int) -> str:
    """The file stem of one layer: ``snare-90``."""
    return f"{lane.name.lower().replace('_', '-')}-{velocity}"


@cache
def kit_manifest() -> dict[str, object]:
    """``kit.json``: what the kit's files are (see the module docstring)."""
    return dict(json.loads((KIT_DIR / "kit.json").read_text(encoding="utf-8")))


@cache
def _read_sample(name: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    data, sr = sf.read(KIT_DIR / name, dtype="float32", always_2d=False)
    return np.ascontiguousarray(data), int(sr)


@dataclass(frozen=True)
class SampleKit:
    """The kit at one sample rate: ``voice(lane, velocity)`` gives the samples to play.

    Parameters
    ----------
    sample_rate : int
        The mixer's rate; the 44.1 kHz files are resampled to it once (soxr).
    """

    sample_rate: int = 44_100

    def __post_init__(self) -> None:
        if not 8_000 <= self.sample_rate <= 192_000:
            raise InputError(f"a sample rate of {self.sample_rate} Hz is not usable")
        object.__setattr__(self, "_layers", self._load_layers())
        object.__setattr__(self, "_clicks", self._load_clicks())

    def _load(self, name: str) -> np.ndarray:
        from cymbalism.sound.audio import resample

        data, sr = _read_sample(name)
        return resample(data, sr, self.sample_rate)

    def _load_layers(self) -> dict[int, list[np.ndarray]]:
        lanes = kit_manifest()["lanes"]
        assert isinstance(lanes, dict)
        return {
            int(spec["lane"]): [self._load(f) for f in spec["files"]] for spec in lanes.values()
        }

    def _load_clicks(self) -> dict[str, np.ndarray]:
        clicks = kit_manifest()["clicks"]
        assert isinstance(clicks, dict)
        return {kind: self._load(f) for kind, f in clicks.items()}

    def voice(self, lane: int | Lane, velocity: int = 100) -> tuple[np.ndarray, float]:
        """The layer to play for a stroke, and its gain.

        Returns
        -------
        samples : np.ndarray [shape=(n,), float32]
            Mono; sample 0 is the stroke's first sample. Do not modify.
        gain : float
            ``velocity / layer velocity``.
        """
        layers = self._layers[int(lane)]  # type: ignore[attr-defined]
        v = int(np.clip(velocity, 1, 127))
        k = int(np.argmin([abs(v - lv) - 1e-3 * lv for lv in LAYER_VELOCITIES]))
        return layers[k], v / LAYER_VELOCITIES[k]

    def click(self, accent: bool) -> np.ndarray:
        """The click of a downbeat (``accent``) or of another beat, mono float32."""
        return self._clicks["accent" if accent else "click"]  # type: ignore[attr-defined,no-any-return]
