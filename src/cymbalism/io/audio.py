"""Recordings of acoustic kits -> Hits: onset detection, lane classification, loudness.

This is the only module of cymbalism that knows about samples and frames. Everything
it returns is in seconds (float64) and :class:`~cymbalism.model.lanes.Lane` values.

How a hit is found
------------------
1. **Spectrogram.** Frames of ``frame_sec`` (about 23 ms, a power of two in samples)
   every ``hop_sec`` (about 2.9 ms), Hann window, a 64-band mel filterbank from 30 Hz
   to 16 kHz, in decibels with a floor at -100 dBFS. Frame ``k`` holds the samples that
   end at sample ``k * hop``, so every frame is causal.
2. **Onset strength with vibrato suppression** (SuperFlux, Böck & Widmer 2013):
   :func:`librosa.onset.onset_strength` with ``lag`` frames between the compared
   spectra and a maximum filter of ``max_size`` bands over frequency, so a ringing or
   wobbling tone does not look like a new hit.
3. **Adaptive peak picking** (:func:`librosa.util.peak_pick`): a frame is an onset
   if it is the largest in the last ``pre_max_sec`` and the next frame, rises
   ``delta_db`` above the moving mean of the last ``pre_avg_sec``, is louder than
   ``min_level_dbfs``, and comes at least ``wait_sec`` after the previous onset.
4. **Timing bias.** The peak comes a constant time after the true onset, because a
   frame must fill before the attack dominates it. :data:`DETECTOR_BIAS_SEC` is that
   constant, measured on synthetic hits with exactly known onsets (see
   ``evaluation/audio.py``, which also reports the remaining bias on MDB Drums) and
   subtracted from every onset.
5. **Velocity** is the loudest frame level within the lane window after the onset,
   mapped linearly from -60 dBFS (velocity 1) to 0 dBFS (velocity 127).
6. **Lanes.** The spectrum the onset *added* (the mel magnitudes over the lane window
   minus those just before the onset, rectified) is decomposed by non-negative least
   squares onto one template per lane: one hit may sound several lanes at once (kick
   and hi-hat together are reported as two hits at the same time). The default
   templates are spectral profiles of a typical kit, chosen among sparsely. A
   calibrated :class:`KitTemplates` replaces them with the spectra of the player's own
   drums (see :func:`calibrate_kit`), fitted jointly; it may also hold sounds of the
   kit that are not drums (a cowbell), whose hits are left out
   (:func:`classify_added_spectrum`).

The whole detector is causal apart from one frame of look-ahead and the lane window,
and runs block by block (:class:`StreamingDetector`). Files are read in blocks with
bounded memory through the same class, so the offline result and the live result on
the same signal are equal, hit for hit.

No detector here can tell apart two drummers who play into one microphone: record one
player per file, or per channel of a stereo file.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import DeviceError, InputError, NotFoundError, require
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane

__all__ = [
    "AUDIO_SUFFIXES",
    "DEFAULT_CALIBRATION_ORDER",
    "DETECTOR_BIAS_SEC",
    "LIVE_CONFIG",
    "ONE_MIC_NOTE",
    "AudioInput",
    "AudioPerformance",
    "AudioWarning",
    "DetectorConfig",
    "KitTemplates",
    "StreamingDetector",
    "calibrate_kit",
    "default_kit",
    "detect_hits",
    "hit_summary",
    "kit_templates_dir",
    "learn_kit",
    "learn_kit_from_mixtures",
    "list_kit_templates",
    "load_kit_templates",
    "read_audio",
    "save_kit_templates",
    "synthesize_hits",
]

#: Said wherever someone might hope to split one recording into two players.
ONE_MIC_NOTE = (
    "No detector separates two drummers who play into one microphone: record each player "
    "into their own file, or their own channel of a stereo file"
)

#: File suffixes read as audio (MP3 where the installed libsndfile supports it).
AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"})

#: The constant delay of the detector's peaks after the true onsets, subtracted from
#: every onset. Measured on 733 synthetic drum hits with exactly known onsets (kick,
#: snare, hi-hat, toms, crash at 44.1 kHz and 48 kHz; ``evaluation/audio.py --bias``):
#: mean delay 4.9 ms, SD 1.8 ms (kick 4.0 ms, crash 5.9 ms). On MDB Drums the mean
#: error left after this correction is -2 ms (``evaluation/audio.py``).
DETECTOR_BIAS_SEC = 0.0049

#: Sample rates we accept. Below 8 kHz a hi-hat is inaudible; above 192 kHz is no
#: recording format we know.
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000

#: The lanes and order of the default calibration protocol: four hits of each drum,
#: a pause of at least a second between drums.
DEFAULT_CALIBRATION_ORDER: tuple[Lane, ...] = (
    Lane.KICK,
    Lane.SNARE,
    Lane.HIHAT_CLOSED,
    Lane.TOM_HIGH,
    Lane.TOM_FLOOR,
    Lane.CRASH,
)

_FMIN_HZ = 30.0
_FMAX_HZ = 16000.0
_N_BANDS = 64
_FLOOR_DB = -100.0


class AudioWarning(UserWarning):
    """Something about a recording that the user should know, but that is not fatal."""


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the onset detector and lane classifier (all in seconds or dB).

    Attributes
    ----------
    hop_sec : float
        Time between frames (rounded to whole samples).
    frame_sec : float
        Frame length (rounded to the nearest power of two in samples).
    lag : int
        Frames between the compared spectra of the onset strength (SuperFlux).
    max_size : int
        Width, in mel bands, of the maximum filter over frequency (vibrato suppression).
    pre_max_sec, pre_avg_sec : float
        How far back the local-maximum test and the moving mean look.
    delta_db : float
        How far (in dB of mean spectral rise) a peak must stand above the moving mean.
    wait_sec : float
        Shortest time between two onsets; closer ones are one hit.
    min_level_dbfs : float
        Onsets quieter than this (frame level in dB re full scale) are ignored as noise.
    lane_window_sec : float
        How much audio after the onset decides the lane and the velocity.
    bias_sec : float
        Constant delay of the detector, subtracted from every onset.
    min_gain : float
        With generic templates, a hit sounds a further lane (kick and hi-hat together)
        only if that lane explains at least this fraction of what the others leave
        unexplained in its own bands.
    min_share : float
        With a calibrated kit, a hit sounds a lane if that lane explains at least this
        share of it; the best-fitting lane always sounds.
    """

    hop_sec: float = 0.0029
    frame_sec: float = 0.0232
    lag: int = 2
    max_size: int = 3
    pre_max_sec: float = 0.03
    pre_avg_sec: float = 0.10
    delta_db: float = 1.0
    wait_sec: float = 0.025
    min_level_dbfs: float = -55.0
    lane_window_sec: float = 0.030
    bias_sec: float = DETECTOR_BIAS_SEC
    min_gain: float = 0.3
    min_share: float = 0.15

    def __post_init__(self) -> None:
        checks = {
            "hop_sec": 0.0005 <= self.hop_sec <= 0.05,
            "frame_sec": 0.004 <= self.frame_sec <= 0.2,
            "lag": 1 <= self.lag <= 10,
            "max_size": 1 <= self.max_size <= 15,
            "wait_sec": 0.0 <= self.wait_sec <= 1.0,
            "lane_window_sec": 0.0 <= self.lane_window_sec <= 0.5,
            "min_gain": 0.0 < self.min_gain < 1.0,
            "min_share": 0.0 < self.min_share < 1.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"detector setting {name}={getattr(self, name)!r} is out of range")


#: The settings of live input: lanes decided on 10 ms of audio so that a hit is reported
#: within 20 ms of its onset (files use 30 ms, which tells low drums apart better). Over
#: so short a window a drum struck with another explains less of the hit, so a calibrated
#: kit lets a drum sound from 10% of the fit: on MDB Drums the mean kick / snare / hi-hat
#: F is then 0.88, against 0.84 at the files' 15% (``evaluation/audio.py``).
LIVE_CONFIG = DetectorConfig(lane_window_sec=0.010, min_share=0.10)


@dataclass(frozen=True)
class _Frames:
    """A detector's settings in samples and frames for one sample rate."""

    sample_rate: int
    hop: int
    n_fft: int
    pre_max: int
    pre_avg: int
    wait: int
    lane_frames: int
    mel: np.ndarray  # (n_bands, n_fft // 2 + 1)
    band_ok: np.ndarray  # (n_bands,) bool: band lies below Nyquist
    window: np.ndarray
    band_hz: np.ndarray

    @classmethod
    def build(cls, sample_rate: int, config: DetectorConfig) -> _Frames:
        librosa = require("librosa", "audio")
        hop = max(1, round(config.hop_sec * sample_rate))
        n_fft = 2 ** max(5, round(math.log2(config.frame_sec * sample_rate)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bands above Nyquist at low rates are empty
            mel = librosa.filters.mel(
                sr=sample_rate, n_fft=n_fft, n_mels=_N_BANDS, fmin=_FMIN_HZ, fmax=_FMAX_HZ
            )
        band_hz = librosa.mel_frequencies(n_mels=_N_BANDS + 2, fmin=_FMIN_HZ, fmax=_FMAX_HZ)[1:-1]
        frames = lambda sec: max(1, round(sec / (hop / sample_rate)))  # noqa: E731
        return cls(
            sample_rate=sample_rate,
            hop=hop,
            n_fft=n_fft,
            pre_max=frames(config.pre_max_sec),
            pre_avg=frames(config.pre_avg_sec),
            wait=round(config.wait_sec / (hop / sample_rate)),
            lane_frames=max(1, round(config.lane_window_sec / (hop / sample_rate))),
            mel=mel.astype(np.float32),
            band_ok=mel.sum(axis=1) > 0,
            window=np.hanning(n_fft + 1)[:-1].astype(np.float32),
            band_hz=band_hz,
        )

    @property
    def frame_period_sec(self) -> float:
        return self.hop / self.sample_rate


# --------------------------------------------------------------------------- kits


#: The name, in kit files and calibration orders, of a sound that is not a drum.
OTHER = "other"


def parse_kit_lane(name: str) -> Lane | None:
    """A lane by name (see :meth:`Lane.parse`), or ``None`` for :data:`OTHER`."""
    return None if name.strip().lower() == OTHER else Lane.parse(name)


def lane_label(lane: Lane | None) -> str:
    """A kit template's name for people: the lane's label, or ``"other sound"``."""
    return lane.label if lane is not None else f"{OTHER} sound"


def _lane_key(lane: Lane | None) -> int:
    return int(lane) if lane is not None else len(Lane)


@dataclass(frozen=True)
class KitTemplates:
    """The spectra of one kit's drums, for classifying hits into lanes.

    Attributes
    ----------
    name : str
    lanes : tuple[Lane or None, ...]
        One lane per template; ``None`` for a sound of the kit that is not a drum (a
        cowbell, a tambourine): hits it explains are dropped, as readers drop MIDI notes
        that are not drums.
    templates : np.ndarray [shape=(n_lanes, 64), float64, >= 0, unit sum]
        The magnitude each lane adds in each mel band (30 Hz-16 kHz) when struck,
        over the lane window of :class:`DetectorConfig` (30 ms).
    live_templates : np.ndarray [shape=(n_lanes, 64)] or None
        The same over the short lane window of :data:`LIVE_CONFIG` (10 ms), used by
        live input; ``templates`` stand in when missing.
    calibrated : bool
        Whether the templates were learned from the player's own kit.
    """

    name: str
    lanes: tuple[Lane | None, ...]
    templates: np.ndarray
    calibrated: bool = False
    live_templates: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(set(self.lanes)) != len(self.lanes) or not any(self.lanes):
            raise InputError(
                f"kit {self.name!r}: each lane needs exactly one template, and a kit needs a drum"
            )
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

    @property
    def labels(self) -> list[str]:
        """A name for people per template (``"other sound"`` for one that is not a drum)."""
        return [lane_label(x) for x in self.lanes]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the kit file's content)."""
        return {
            "format": "cymbalism-kit/1",
            "name": self.name,
            "calibrated": self.calibrated,
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
            )
        except InputError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source} is not a valid cymbalism kit: {exc}") from exc


#: Edges (Hz) of the regions the default templates are drawn in: roughly octaves.
_REGION_HZ = (30, 80, 150, 300, 600, 1200, 2500, 5000, 8000, 12000, 16000)

#: The share of each region in the spectrum a typical drum adds in its first few
#: milliseconds, drawn from the acoustics of each drum: a kick's body at 50-150 Hz and its
#: beater click; a snare's shell at 150-600 Hz and its wires above; toms as tones; a
#: closed hi-hat and a crash as broad noise above 1 kHz, the hi-hat brighter.
_DEFAULT_PROFILES: dict[Lane, tuple[float, ...]] = {
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


def default_kit() -> KitTemplates:
    """The templates used when no kit is calibrated: spectral profiles of a typical kit.

    Each lane's template spreads a hand-drawn share per region (about an octave each,
    see ``_DEFAULT_PROFILES``) evenly over the mel bands of that region. They tell
    kick, snare, hi-hat, toms and crash apart on ordinary kits; a calibrated kit
    (:func:`calibrate_kit`) does much better on any particular one.
    """
    hz = _band_hz()
    region = np.searchsorted(np.asarray(_REGION_HZ), hz, side="right") - 1
    region = np.clip(region, 0, len(_REGION_HZ) - 2)
    rows = []
    for shares in _DEFAULT_PROFILES.values():
        counts = np.bincount(region, minlength=len(shares))
        row = np.asarray(shares)[region] / np.maximum(counts[region], 1)
        rows.append(row / row.sum())
    return KitTemplates("default", tuple(_DEFAULT_PROFILES), np.stack(rows), calibrated=False)


def kit_templates_dir() -> Path:
    """Where calibrated kits are saved: ``$CYMBALISM_DATA_DIR/kits`` or the user's data dir."""
    root = os.environ.get("CYMBALISM_DATA_DIR")
    if root:
        return Path(root) / "kits"
    import platformdirs

    return Path(platformdirs.user_data_dir("cymbalism", appauthor=False)) / "kits"


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


# --------------------------------------------------------------------------- detector


@dataclass
class _Onset:
    frame: int
    level_db: float


class StreamingDetector:
    """Hits from audio, block by block: the one detector for files and live input.

    Feed mono blocks of any size with :meth:`process`; each call returns the hits that
    are settled (whose look-ahead has arrived). :meth:`finish` ends the stream and
    returns the rest. The concatenated output is the same whatever the block sizes,
    equal to detecting on the whole signal at once.

    Parameters
    ----------
    sample_rate : int
        Samples per second of the blocks.
    kit : KitTemplates, optional
        Lane templates; :func:`default_kit` if not given.
    config : DetectorConfig, optional
    start_sec : float
        Time of the first sample on the caller's clock (added to every onset).

    Notes
    -----
    Algorithmic latency (:attr:`latency_sec`): a hit is reported once the frame
    ``lane_frames`` hops after its peak is complete: with :data:`LIVE_CONFIG` at
    44.1 kHz, 16.5 ms after the onset (plus the audio device's block and buffers);
    with the file defaults (30 ms of audio decide the lane), 37 ms.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        kit: KitTemplates | None = None,
        config: DetectorConfig | None = None,
        start_sec: float = 0.0,
    ) -> None:
        _check_rate(sample_rate, "the stream")
        self.config = config or DetectorConfig()
        self.kit = kit or default_kit()
        self.sample_rate = int(sample_rate)
        self.start_sec = float(start_sec)
        self._f = _Frames.build(self.sample_rate, self.config)
        f = self._f
        # Samples not yet framed; the stream starts with a frame of silence.
        self._pending = np.zeros(f.n_fft - f.hop, dtype=np.float32)
        self._n_frames = 0  # frames computed so far (frame k ends at sample k * hop)
        # Recent history (bounded): dB mel frames, linear mel frames, levels, onset env.
        keep = max(f.pre_avg, f.pre_max, self.config.lag, 4) + f.lane_frames + 8
        self._keep = keep
        self._hist_db = np.full((0, _N_BANDS), _FLOOR_DB)
        self._hist_mag = np.zeros((0, _N_BANDS))
        self._hist_level = np.zeros(0)
        self._env = np.zeros(0)
        self._hist_start = 0  # absolute frame index of the first kept frame
        self._env_done = 0  # frames whose peak test has been decided
        self._last_onset = -(10**12)
        self._waiting: list[_Onset] = []  # onsets whose lane window is not complete
        self._finished = False
        self._lib = require("librosa", "audio")
        self._fft = require("scipy.fft", "audio")
        self._templates = self.kit.templates_for(self.config.lane_window_sec)[:, f.band_ok]
        self._templates = self._templates / np.maximum(
            self._templates.sum(axis=1, keepdims=True), 1e-12
        )

    # ----------------------------------------------------------------- public

    @property
    def latency_sec(self) -> float:
        """Algorithmic latency: from a hit's onset to the moment it can be reported."""
        f = self._f
        # frame k (the onset) ends one hop after k * hop; frame k + lane_frames must end
        return (max(1, f.lane_frames) + 1) * f.frame_period_sec + self.config.bias_sec

    @property
    def hop_sec(self) -> float:
        """Time between frames in seconds (the resolution of the onsets)."""
        return self._f.frame_period_sec

    def process(self, block: np.ndarray) -> Hits:
        """Feed the next samples; return the hits settled so far.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), float, -1..1]
            The next mono samples.
        """
        if self._finished:
            raise InputError("this detector's stream has finished; make a new one")
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 1:
            raise InputError(f"blocks must be mono 1-D arrays, got shape {x.shape}")
        if x.size and not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        self._pending = np.concatenate([self._pending, x])
        return self._advance()

    def finish(self) -> Hits:
        """End the stream (pads with silence so the last hits settle); return the rest."""
        if self._finished:
            return Hits.empty()
        f = self._f
        pad = f.n_fft + (max(f.pre_max, f.lane_frames, 1) + 3) * f.hop
        hits = self.process(np.zeros(pad, dtype=np.float32))
        self._finished = True
        return hits

    # ----------------------------------------------------------------- internals

    def _advance(self) -> Hits:
        f = self._f
        n_new = (self._pending.size - (f.n_fft - f.hop)) // f.hop
        if n_new <= 0:
            return Hits.empty()
        lib = self._lib
        strided = lib.util.frame(self._pending, frame_length=f.n_fft, hop_length=f.hop, axis=0)
        frames = strided[:n_new] * f.window  # float32: half the memory traffic
        self._pending = self._pending[n_new * f.hop :]
        spec = self._fft.rfft(frames, axis=1)  # (n_new, n_fft/2+1)
        power = spec.real**2 + spec.imag**2
        scale = 2.0 / float(f.window.sum())  # a full-scale sine peaks at 0 dB
        mag = np.sqrt((power @ f.mel.T).astype(np.float64)) * scale  # (n_new, bands)
        db = 20.0 * np.log10(np.maximum(mag, 10 ** (_FLOOR_DB / 20)))
        level = 10.0 * np.log10(
            np.maximum(power.sum(axis=1, dtype=np.float64) * scale**2 / 2, 1e-10)
        )
        # onset strength over old (lag) + new frames
        lag = self.config.lag
        prev = self._hist_db[-lag:] if self._hist_db.shape[0] else np.zeros((0, _N_BANDS))
        if prev.shape[0] < lag:
            prev = np.vstack([np.full((lag - prev.shape[0], _N_BANDS), _FLOOR_DB), prev])
        s = np.vstack([prev, db]).T[f.band_ok]
        env = lib.onset.onset_strength(S=s, lag=lag, max_size=self.config.max_size, center=False)
        env = env[lag:]
        self._hist_db = np.vstack([self._hist_db, db])
        self._hist_mag = np.vstack([self._hist_mag, mag])
        self._hist_level = np.concatenate([self._hist_level, level])
        self._env = np.concatenate([self._env, env])
        self._n_frames += n_new
        self._pick_peaks()
        hits = self._settle()
        self._trim()
        return hits

    def _pick_peaks(self) -> None:
        """Decide the peak test for every frame whose look-ahead (1 frame) has arrived."""
        f = self._f
        ctx = max(f.pre_max, f.pre_avg)
        first = self._env_done  # absolute frame index of the first undecided frame
        last = self._n_frames - 1  # we need frame k+1 to decide frame k
        if last <= first:
            return
        lo = max(0, first - ctx)  # absolute frame of the buffer's start
        buf = self._env[lo - self._hist_start : last + 1 - self._hist_start]
        if lo < ctx:  # the stream's start: pad with zeros of onset strength
            buf = np.concatenate([np.zeros(ctx - lo), buf])
            offset = lo - (ctx - lo)
        else:
            offset = lo
        peaks = self._lib.util.peak_pick(
            buf,
            pre_max=f.pre_max,
            post_max=2,
            pre_avg=f.pre_avg,
            post_avg=1,
            delta=self.config.delta_db,
            wait=0,
        )
        peaks = peaks + offset
        peaks = peaks[(peaks >= first) & (peaks < last)]
        for k in peaks.tolist():
            if k - self._last_onset <= f.wait:
                continue
            level = float(self._hist_level[k - self._hist_start])
            if max(self._frame_levels(k, f.lane_frames)) < self.config.min_level_dbfs:
                continue
            self._last_onset = k
            self._waiting.append(_Onset(k, level))
        self._env_done = last

    def _frame_levels(self, k: int, n: int) -> list[float]:
        i = k - self._hist_start
        return self._hist_level[i : i + max(n, 1)].tolist()

    def _settle(self) -> Hits:
        f = self._f
        ready = [o for o in self._waiting if o.frame + f.lane_frames < self._n_frames]
        if not ready:
            return Hits.empty()
        self._waiting = [o for o in self._waiting if o.frame + f.lane_frames >= self._n_frames]
        onsets, lanes, vels = [], [], []
        for o in ready:
            i = o.frame - self._hist_start
            added = self._added_spectrum(i)
            peak_db = float(self._hist_level[i : i + f.lane_frames + 1].max())
            vel = int(np.clip(round(1 + 126 * (peak_db + 60.0) / 60.0), 1, 127))
            t = self.start_sec + o.frame * f.frame_period_sec - self.config.bias_sec
            for lane in classify_added_spectrum(
                added,
                self._templates,
                self.kit.lanes,
                calibrated=self.kit.calibrated,
                config=self.config,
            ):
                onsets.append(max(t, 0.0))
                lanes.append(int(lane))
                vels.append(vel)
        return Hits.from_arrays(onsets, lanes, vels)

    def _added_spectrum(self, i: int) -> np.ndarray:
        """The mel magnitudes an onset at kept-frame ``i`` added (bands below Nyquist)."""
        f = self._f
        after = self._hist_mag[i : i + f.lane_frames + 1]
        before = self._hist_mag[max(0, i - self.config.lag - 2) : max(0, i - self.config.lag)]
        base = before.min(axis=0) if before.shape[0] else np.zeros(_N_BANDS)
        return np.maximum(after.mean(axis=0) - base, 0.0)[f.band_ok]

    def _trim(self) -> None:
        """Forget frames no longer needed (bounded memory)."""
        need_from = min(
            [self._env_done - max(self._f.pre_max, self._f.pre_avg) - 2]
            + [o.frame - self.config.lag - 4 for o in self._waiting]
            + [self._n_frames - self._keep]
        )
        cut = need_from - self._hist_start
        if cut > 256:  # trim in chunks to keep the copies cheap
            self._hist_db = self._hist_db[cut:]
            self._hist_mag = self._hist_mag[cut:]
            self._hist_level = self._hist_level[cut:]
            self._env = self._env[cut:]
            self._hist_start += cut


def classify_added_spectrum(
    added: np.ndarray,
    templates: np.ndarray,
    lanes: Sequence[Lane | None],
    *,
    calibrated: bool,
    config: DetectorConfig,
) -> list[Lane]:
    """The lanes that sound in one hit, from the spectrum it added.

    Parameters
    ----------
    added : np.ndarray [shape=(n_bands,), float64, >= 0]
        The mel magnitudes the hit added.
    templates : np.ndarray [shape=(n_lanes, n_bands), float64, unit sum]
    lanes : sequence of Lane or None [len n_lanes]
        The lane of each template; ``None`` for a sound that is not a drum.
    calibrated : bool
        Whether the templates are the player's own kit (:attr:`KitTemplates.calibrated`).
    config : DetectorConfig
        Its ``min_gain`` (generic templates) or ``min_share`` (a calibrated kit).

    Returns
    -------
    lanes : list of Lane
        Sorted; empty when the hit is a sound that is not a drum.

    Notes
    -----
    Both ways fit square roots of the normalised spectra, so the quiet high bands of a
    hi-hat count beside the loud low bands of a kick struck with it, and neither
    reports look-alikes together (two toms, a tom and the snare or the kick, a hi-hat
    and a cymbal).

    - Generic templates (:func:`default_kit`) are broad and overlap, so a sparse choice
      suits them: the single template that explains the hit best, then further lanes
      while each explains at least ``min_gain`` of what is left in its own bands. A
      joint fit over them splits one clean snare into a tom and a crash, or a kick and
      a snare; on MDB Drums it trades kick and snare (F 0.87 -> 0.83, 0.70 -> 0.60)
      for hi-hats (0.55 -> 0.79), and kick and snare carry the timing.
    - A calibrated kit's templates are specific, so one non-negative least-squares fit
      over all of them at once is trusted: a lane sounds if its part of the fit is at
      least ``min_share`` of the hit. Adding the best single template first goes wrong
      here: a tom lies between a snare and a hi-hat, so alone it fits a snare struck
      with the hi-hat better than either, while the joint fit gives that hit to the
      snare and the hi-hat. On MDB Drums the joint fit lifts the calibrated kick /
      snare / hi-hat mean F from 0.85 to 0.91 (``evaluation/audio.py``).
    """
    scipy_optimize = require("scipy.optimize", "audio")
    drums = [j for j, lane in enumerate(lanes) if lane is not None]
    total = float(added.sum())
    if total <= 0.0 or not drums:
        return [lanes[drums[0]]] if drums else []  # type: ignore[list-item]
    a = np.sqrt(templates.T)
    b = np.sqrt(added / total)
    if calibrated:
        chosen = _joint_fit(scipy_optimize.nnls, a, b, lanes, config.min_share)
    else:
        chosen = _sparse_fit(scipy_optimize.nnls, a, b, lanes, config.min_gain)
    return sorted({lane for j in chosen if (lane := lanes[j]) is not None})


def _joint_fit(
    nnls: Any, a: np.ndarray, b: np.ndarray, lanes: Sequence[Lane | None], min_share: float
) -> list[int]:
    """Templates whose part of one joint fit is at least ``min_share`` (the best always)."""
    x, _ = nnls(a, b)
    part = x * np.linalg.norm(a, axis=0)
    share = part / max(float(part.sum()), 1e-12)
    chosen: list[int] = []
    for rank, j in enumerate(np.argsort(-share, kind="stable").tolist()):
        if share[j] < min_share and rank > 0:
            break
        if not any(_alike(lanes[j], lanes[k]) for k in chosen):
            chosen.append(j)
    return chosen


def _sparse_fit(
    nnls: Any, a: np.ndarray, b: np.ndarray, lanes: Sequence[Lane | None], min_gain: float
) -> list[int]:
    """Forward selection: the best single template, then further ones that pay their way."""

    def fit(idx: list[int]) -> tuple[float, np.ndarray]:
        x, rnorm = nnls(a[:, idx], b)
        return float(rnorm), b - a[:, idx] @ x

    # each template's own part of the spectrum: where it is at least half its peak
    own = a >= 0.5 * a.max(axis=0, keepdims=True)
    chosen: list[int] = []
    left = b
    while len(chosen) < 3:
        free = [
            j
            for j in range(len(lanes))
            if j not in chosen and not any(_alike(lanes[j], lanes[k]) for k in chosen)
        ]
        if not free:
            break
        fits = {j: fit([*chosen, j]) for j in free}
        best = min(fits, key=lambda j: fits[j][0])
        if chosen:
            # a further lane must explain a good part of what is left in its own bands
            before = float(np.linalg.norm(left[own[:, best]]))
            after = float(np.linalg.norm(fits[best][1][own[:, best]]))
            if before <= 0 or after > (1.0 - min_gain) * before:
                break
        chosen.append(best)
        left = fits[best][1]
    return chosen


def _alike(x: Lane | None, y: Lane | None) -> bool:
    return x is not None and y is not None and any(x in g and y in g for g in _LOOK_ALIKES)


_LOOK_ALIKES = (
    frozenset({Lane.KICK, Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR}),
    frozenset({Lane.SNARE, Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR}),
    frozenset({Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.HIHAT_PEDAL, Lane.CRASH, Lane.RIDE}),
)


def _check_rate(sample_rate: int, what: str) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise InputError(
            f"{what} has a sample rate of {sample_rate} Hz; cymbalism reads "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz (is the header damaged?)"
        )


def detect_hits(
    samples: np.ndarray,
    sample_rate: int,
    *,
    kit: KitTemplates | None = None,
    config: DetectorConfig | None = None,
) -> Hits:
    """Hits in a mono signal held in memory (the same detector as files and live input).

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float, -1..1]
    sample_rate : int
    kit : KitTemplates, optional
    config : DetectorConfig, optional

    Returns
    -------
    hits : Hits
        Onsets in seconds from the first sample.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    det = StreamingDetector(sample_rate, kit=kit, config=config)
    return Hits.concat([det.process(x), det.finish()])


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class AudioPerformance:
    """What a recording holds: the hits of one player.

    Attributes
    ----------
    hits : Hits
    path : Path
    sample_rate : int
    duration_sec : float
    channel : int or None
        The channel that was read, or ``None`` for all channels mixed down.
    kit : str
        The name of the kit whose templates chose the lanes.
    warnings : tuple[str, ...]
        Problems found that did not stop reading (clipping, odd rate, ...).
    tempo_map : None
        Recordings carry no tempo map (present for parity with MIDI performances).
    """

    hits: Hits
    path: Path
    sample_rate: int
    duration_sec: float
    channel: int | None = None
    kit: str = "default"
    warnings: tuple[str, ...] = field(default=())
    tempo_map: None = None

    @property
    def name(self) -> str:
        """The file's name, with ``:L``/``:R``/``:N`` for one channel."""
        if self.channel is None:
            return self.path.name
        return f"{self.path.name}:{ {0: 'L', 1: 'R'}.get(self.channel, self.channel + 1) }"

    def __len__(self) -> int:
        return len(self.hits)


def hit_summary(perf: AudioPerformance) -> dict[str, Any]:
    """A JSON-ready summary of a recording's hits: counts and mean velocity per lane."""
    hits = perf.hits
    lanes = []
    for lane in Lane:
        sel = hits.lane == int(lane)
        if sel.any():
            lanes.append(
                {
                    "lane": lane.label,
                    "hits": int(sel.sum()),
                    "mean_velocity": float(hits.velocity[sel].mean()),
                }
            )
    return {
        "path": str(perf.path),
        "channel": perf.channel,
        "duration_sec": perf.duration_sec,
        "sample_rate": perf.sample_rate,
        "kit": perf.kit,
        "hits": len(hits),
        "onsets": int(np.unique(hits.onset_sec).size),
        "lanes": lanes,
        "warnings": list(perf.warnings),
    }


def _open(path: Path) -> Any:
    sf = require("soundfile", "audio")
    if not path.exists():
        raise NotFoundError(f"no such audio file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): not an audio recording")
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        hint = ""
        if path.suffix.lower() == ".mp3":
            hint = " (this libsndfile may not read MP3: convert it to WAV or FLAC)"
        raise InputError(
            f"{path} is not an audio file cymbalism can read: {exc}{hint}. "
            "Use WAV, FLAC, OGG or MP3."
        ) from exc


def read_audio(
    path: str | Path,
    *,
    kit: KitTemplates | str | None = None,
    channel: int | None = None,
    config: DetectorConfig | None = None,
    block_sec: float = 30.0,
    progress: bool = False,
) -> AudioPerformance:
    """Read a recording into the hits of one player.

    The file is read in blocks of ``block_sec`` through :class:`StreamingDetector`, so
    memory stays bounded however long it is; the blocks' boundaries change nothing.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, OGG or MP3 file (whatever the installed libsndfile reads).
    kit : KitTemplates or str, optional
        A calibrated kit, or its name (see :func:`load_kit_templates`); the default templates
        otherwise.
    channel : int, optional
        Read only this channel (0 = left) of a multi-channel file: each channel can
        hold one player. By default all channels are mixed to one.
    config : DetectorConfig, optional
    block_sec : float
        Seconds read at a time.
    progress : bool
        Show a progress bar (rich) on stderr.

    Returns
    -------
    AudioPerformance

    Raises
    ------
    NotFoundError
        If the file does not exist.
    InputError
        If it is not audio, is silent, has an unusable sample rate or lacks the channel.

    Warns
    -----
    AudioWarning
        On clipping, an unusual sample rate, or a multi-channel file mixed down.
    """
    path = Path(path)
    kit_t = load_kit_templates(kit) if isinstance(kit, str) else (kit or default_kit())
    problems: list[str] = []

    def warn(msg: str) -> None:
        problems.append(msg)
        warnings.warn(msg, AudioWarning, stacklevel=3)

    with _open(path) as snd:
        sr, n_ch, n_frames = int(snd.samplerate), int(snd.channels), int(snd.frames)
        _check_rate(sr, str(path))
        if sr < 22050:
            warn(
                f"{path.name}: a sample rate of {sr} Hz cuts off everything above {sr // 2} Hz; "
                "hi-hats and cymbals may be missed or mistaken"
            )
        if channel is not None and not 0 <= channel < n_ch:
            raise InputError(
                f"{path} has {n_ch} channel{'s' if n_ch > 1 else ''}; there is no channel "
                f"{channel + 1}. {ONE_MIC_NOTE}"
            )
        if channel is None and n_ch > 2:
            warn(f"{path.name}: mixing {n_ch} channels into one")
        det = StreamingDetector(sr, kit=kit_t, config=config)
        block = max(1024, int(block_sec * sr))
        parts: list[Hits] = []
        peak = 0.0
        n_clipped = 0
        n_read = 0
        for data in _progress_blocks(snd, block, n_frames, path.name, progress):
            if channel is not None:
                x = data[:, channel]
            elif n_ch == 1:
                x = data[:, 0]
            else:
                x = data.mean(axis=1)
            a = np.abs(data)
            peak = max(peak, float(a.max()) if a.size else 0.0)
            n_clipped += int((a >= 0.999).sum())
            n_read += data.shape[0]
            parts.append(det.process(x))
        parts.append(det.finish())
    if n_read == 0:
        raise InputError(f"{path} holds no samples: the recording is empty")
    if peak < 10 ** (det.config.min_level_dbfs / 20):
        level = 20 * math.log10(peak) if peak > 0 else -math.inf
        raise InputError(
            f"{path} is silent (loudest sample {level:.0f} dBFS): is it the right file "
            "or channel, and was the microphone on?"
        )
    if n_clipped > max(3, 1e-4 * n_read * n_ch):
        warn(
            f"{path.name}: {n_clipped} samples are clipped at full scale; timing stays "
            "right, but velocities of loud hits are capped (record with less gain)"
        )
    hits = Hits.concat(parts)
    if not len(hits):
        warn(f"{path.name}: no hits found (the recording is very quiet or has no drums)")
    return AudioPerformance(
        hits=hits,
        path=path,
        sample_rate=sr,
        duration_sec=n_read / sr,
        channel=channel,
        kit=kit_t.name,
        warnings=tuple(problems),
    )


def _progress_blocks(
    snd: Any, block: int, n_frames: int, label: str, progress: bool
) -> Iterator[np.ndarray]:
    blocks = snd.blocks(blocksize=block, dtype="float32", always_2d=True)
    if not progress:
        yield from blocks
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    sr = snd.samplerate
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s of audio"),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        redirect_stdout=False,
    ) as bar:
        task = bar.add_task(f"listening to {label}", total=max(n_frames, 1) / sr)
        for data in blocks:
            yield data
            bar.advance(task, data.shape[0] / sr)


# --------------------------------------------------------------------------- calibration


def learn_kit(name: str, examples: Sequence[tuple[Lane | None, np.ndarray]]) -> KitTemplates:
    """Templates from example hits of one drum at a time (see :func:`calibrate_kit`).

    Parameters
    ----------
    name : str
    examples : sequence of (Lane or None, np.ndarray [shape=(n_hits, 64), float64, >= 0])
        For each lane (``None``: a sound that is not a drum), the mel spectra its hits
        added (from :func:`onset_spectra`).
    """
    spectra, labels = [], []
    for lane, ex in examples:
        ex = np.asarray(ex, dtype=np.float64).reshape(-1, _N_BANDS)
        ex = ex[ex.sum(axis=1) > 0]
        if not ex.shape[0]:
            raise InputError(f"kit {name!r}: no example hits of the {lane_label(lane)}")
        spectra.append(ex)
        labels += [[lane]] * ex.shape[0]
    return learn_kit_from_mixtures(name, np.vstack(spectra), labels)


def learn_kit_from_mixtures(
    name: str,
    spectra: np.ndarray,
    labels: Sequence[Sequence[Lane | None]],
    *,
    fallback: KitTemplates | None = None,
    n_iter: int = 50,
) -> KitTemplates:
    """Templates from labelled hits that may sound several drums at once (NMF).

    Non-negative matrix factorisation ``spectra ~ H @ W`` in which each hit's
    activations ``H`` may be non-zero only for the lanes it is labelled with: the
    templates ``W`` are what the labelled drums have in common across all hits, so a
    snare heard only together with a hi-hat still gets a template of its own.

    Parameters
    ----------
    name : str
    spectra : np.ndarray [shape=(n_hits, 64), float64, >= 0]
        The spectra the hits added (:func:`onset_spectra`).
    labels : sequence of sequences of Lane or None [len n_hits]
        The lanes each hit sounded (``None``: a sound of the kit that is not a drum).
    fallback : KitTemplates, optional
        Starting templates for lanes with no hit alone (:func:`default_kit` if omitted).
    n_iter : int
        Multiplicative-update iterations.
    """
    x = np.asarray(spectra, dtype=np.float64).reshape(-1, _N_BANDS)
    if x.shape[0] != len(labels):
        raise InputError(f"{x.shape[0]} spectra but {len(labels)} label sets")
    keep = (x.sum(axis=1) > 0) & np.array([len(lab) > 0 for lab in labels], dtype=bool)
    x = x[keep] / x[keep].sum(axis=1, keepdims=True)
    labs = [
        tuple(None if v is None else Lane(v) for v in lab)
        for lab, k in zip(labels, keep, strict=True)
        if k
    ]
    lanes = tuple(sorted({v for lab in labs for v in lab}, key=_lane_key))
    if not any(lanes):
        raise InputError(f"kit {name!r}: no labelled hits to learn from")
    fb = fallback or default_kit()
    fb_rows: dict[Lane | None, np.ndarray] = dict(zip(fb.lanes, fb.templates, strict=True))
    mask = np.array([[lane in lab for lane in lanes] for lab in labs], dtype=np.float64)
    w = np.empty((len(lanes), _N_BANDS))
    for j, lane in enumerate(lanes):
        alone = x[(mask[:, j] == 1) & (mask.sum(axis=1) == 1)]
        if alone.shape[0]:
            w[j] = np.median(alone, axis=0)
        else:
            w[j] = fb_rows.get(lane, np.full(_N_BANDS, 1.0 / _N_BANDS))
    w = np.maximum(w, 1e-9)
    w /= w.sum(axis=1, keepdims=True)
    h = mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    eps = 1e-12
    for _ in range(n_iter):
        h *= (x @ w.T) / (h @ w @ w.T + eps)
        w *= (h.T @ x) / (h.T @ h @ w + eps)
        scale = w.sum(axis=1, keepdims=True)
        w /= scale
        h *= scale.T
    return KitTemplates(name, lanes, w, calibrated=True)


def onset_spectra(
    samples: np.ndarray,
    sample_rate: int,
    *,
    config: DetectorConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every onset of a mono signal with the spectrum it added (for learning a kit).

    Returns
    -------
    onset_sec : np.ndarray [shape=(n,), float64, seconds]
    added : np.ndarray [shape=(n, 64), float64, >= 0]
        The mel magnitudes each onset added (zero in bands above Nyquist).
    """
    rec = _RecordingDetector(sample_rate, config=config)
    rec.process(np.asarray(samples, dtype=np.float64))
    rec.finish()
    if not rec.records:
        return np.empty(0), np.empty((0, _N_BANDS))
    t, a = zip(*rec.records, strict=True)
    return np.asarray(t), np.stack(a)


class _RecordingDetector(StreamingDetector):
    """A detector that also keeps each onset's added spectrum (for calibration)."""

    def __init__(self, sample_rate: int, *, config: DetectorConfig | None = None) -> None:
        super().__init__(sample_rate, config=config)
        self.records: list[tuple[float, np.ndarray]] = []

    def _settle(self) -> Hits:
        f = self._f
        for o in self._waiting:
            if o.frame + f.lane_frames < self._n_frames:
                full = np.zeros(_N_BANDS)
                full[f.band_ok] = self._added_spectrum(o.frame - self._hist_start)
                t = o.frame * f.frame_period_sec - self.config.bias_sec
                self.records.append((t, full))
        return super()._settle()


def _read_mono(path: Path, channel: int | None) -> tuple[np.ndarray, int]:
    with _open(path) as snd:
        sr = int(snd.samplerate)
        _check_rate(sr, str(path))
        if snd.frames > 20 * 60 * sr:
            raise InputError(
                f"{path} lasts {snd.frames / sr / 60:.0f} minutes; a calibration recording "
                "should be a minute or two"
            )
        data = snd.read(dtype="float32", always_2d=True)
    if channel is not None:
        if not 0 <= channel < data.shape[1]:
            raise InputError(f"{path} has no channel {channel + 1}")
        return data[:, channel].astype(np.float64), sr
    return data.mean(axis=1).astype(np.float64), sr


def calibrate_kit(
    path: str | Path,
    *,
    name: str,
    order: Sequence[Lane | None] = DEFAULT_CALIBRATION_ORDER,
    channel: int | None = None,
    config: DetectorConfig | None = None,
) -> KitTemplates:
    """Learn a kit from a calibration recording.

    The protocol: hit each drum of ``order`` a few times (four is plenty), one drum
    after another, with a pause of at least one second between drums and shorter
    gaps between the hits of one drum. The hits are split into groups at the
    ``len(order) - 1`` longest gaps, and each group teaches one lane. ``None`` in
    ``order`` (``other`` on the command line) teaches a sound of the kit that is not a
    drum, such as a cowbell: its hits are then recognised and left out.

    Raises
    ------
    InputError
        If there are fewer hits than drums, or the pauses between drums are not
        clearly longer than the gaps within a drum.
    """
    order = tuple(None if x is None else Lane(x) for x in order)
    if len(set(order)) != len(order) or not any(order):
        raise InputError("the calibration order must name each lane once, and a drum")
    y, sr = _read_mono(Path(path), channel)
    onset, added = onset_spectra(y, sr, config=config)
    n = len(order)
    if onset.size < n:
        raise InputError(
            f"{path}: found {onset.size} hits but the calibration needs at least one hit of "
            f"each of {n} drums ({', '.join(map(lane_label, order))})"
        )
    gaps = np.diff(onset)
    if n > 1:
        cut = np.sort(np.argsort(gaps)[-(n - 1) :])
        within = np.delete(gaps, cut)
        shortest_pause = float(gaps[cut].min())
        longest_within = float(within.max()) if within.size else 0.0
        if shortest_pause < max(0.8, 1.5 * longest_within):
            raise InputError(
                f"{path}: could not split {onset.size} hits into {n} drums: the shortest pause "
                f"between drums ({shortest_pause:.2f} s) is not clearly longer than the longest "
                f"gap within a drum ({longest_within:.2f} s). Pause at least 1 s between drums "
                "and play them in this order: " + ", ".join(map(lane_label, order))
            )
        bounds = [0, *(cut + 1).tolist(), onset.size]
    else:
        bounds = [0, onset.size]
    examples = [(lane, added[bounds[j] : bounds[j + 1]]) for j, lane in enumerate(order)]
    kit = learn_kit(name, examples)
    # the same hits over the live lane window, for microphones in the live engine
    live_cfg = replace(config or DetectorConfig(), lane_window_sec=LIVE_CONFIG.lane_window_sec)
    live_onset, live_added = onset_spectra(y, sr, config=live_cfg)
    if np.array_equal(live_onset, onset):
        live = learn_kit(
            name, [(x, live_added[bounds[j] : bounds[j + 1]]) for j, x in enumerate(order)]
        )
        kit = replace(kit, live_templates=live.templates)
    return kit


# --------------------------------------------------------------------------- live


class AudioInput:
    """An acoustic kit through a microphone, as a live source of hits (sounddevice).

    Parameters
    ----------
    device : int or str, optional
        The input device (index or part of its name); the system default if omitted.
    kit : KitTemplates or str, optional
    sample_rate : int, optional
        The device's default rate if omitted.
    block_size : int
        Samples per audio callback (128 at 44.1 kHz is 2.9 ms).
    channel : int
        Which input channel carries this player's microphone.
    on_hit : callable, optional
        Called from the audio thread with each settled :class:`Hits` batch.
    clock : callable
        The engine's clock in seconds; the first sample is stamped with it.
    config : DetectorConfig, optional
        :data:`LIVE_CONFIG` by default (20 ms from onset to report).

    Raises
    ------
    DeviceError
        If PortAudio is missing, there is no input device, or the device will not open.

    Notes
    -----
    Use as a context manager or call :meth:`start` / :meth:`stop`; hits are also
    queued for :meth:`poll`. The latency of a hit is :attr:`latency_sec` plus one
    block plus the device's own input latency (``stream.latency``).
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        kit: KitTemplates | str | None = None,
        sample_rate: int | None = None,
        block_size: int = 128,
        channel: int = 0,
        on_hit: Callable[[Hits], None] | None = None,
        clock: Callable[[], float] | None = None,
        config: DetectorConfig | None = None,
    ) -> None:
        import threading
        import time

        self._sd = _sounddevice()
        info = _input_device(self._sd, device)
        self.device_name = str(info.get("name", device))
        self.sample_rate = int(sample_rate or info.get("default_samplerate") or 44100)
        self.channel = int(channel)
        n_in = int(info.get("max_input_channels", 0))
        if not 0 <= self.channel < n_in:
            raise DeviceError(
                f"audio input {self.device_name!r} has {n_in} channels; no channel "
                f"{self.channel + 1}"
            )
        self.block_size = int(block_size)
        self._clock = clock or time.perf_counter
        self._kit = load_kit_templates(kit) if isinstance(kit, str) else kit
        self._config = config or LIVE_CONFIG
        self._on_hit = on_hit
        self._lock = threading.Lock()
        self._queue: list[Hits] = []
        self._detector: StreamingDetector | None = None
        self._stamped = False
        self._stream: Any = None
        self._n_channels = self.channel + 1
        self._device_index = info["index"]
        self.overflows = 0

    @property
    def latency_sec(self) -> float:
        """Algorithmic latency of the detector (no device latency)."""
        det = StreamingDetector(self.sample_rate, kit=self._kit, config=self._config)
        return det.latency_sec

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.overflows += 1
        det = self._detector
        if det is None:
            return
        if not self._stamped:  # the first block: stamp its first sample on the clock
            det.start_sec = self._clock() - frames / self.sample_rate
            self._stamped = True
        self._deliver(det.process(indata[:, self.channel]))

    def _deliver(self, hits: Hits) -> None:
        if not len(hits):
            return
        with self._lock:
            self._queue.append(hits)
        if self._on_hit is not None:
            self._on_hit(hits)

    def start(self) -> AudioInput:
        """Open the device and start listening."""
        # A first run on one hit compiles and loads everything the detector uses here,
        # not in the first audio callbacks (which would overrun their blocks: lost audio).
        warm = StreamingDetector(self.sample_rate, kit=self._kit, config=self._config)
        click = Hits.from_arrays([0.05], Lane.SNARE, 100)
        warm.process(synthesize_hits(click, self.sample_rate, duration_sec=0.2))
        warm.finish()
        self._detector = StreamingDetector(self.sample_rate, kit=self._kit, config=self._config)
        self._stamped = False
        try:
            self._stream = self._sd.InputStream(
                device=self._device_index,
                channels=self._n_channels,
                samplerate=self.sample_rate,
                blocksize=self.block_size,
                dtype="float32",
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError and friends
            raise DeviceError(f"cannot open audio input {self.device_name!r}: {exc}") from exc
        return self

    def stop(self) -> Hits:
        """Stop listening; return the hits not yet polled (nothing recorded is lost)."""
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None
        if self._detector is not None:
            self._deliver(self._detector.finish())
            self._detector = None
        return self.poll()

    def poll(self) -> Hits:
        """The hits detected since the last poll."""
        with self._lock:
            q, self._queue = self._queue, []
        return Hits.concat(q)

    def __enter__(self) -> AudioInput:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sounddevice() -> Any:
    try:
        return require("sounddevice", "live")
    except OSError as exc:  # the PortAudio library itself is missing
        raise DeviceError(
            f"audio input needs the PortAudio library (Debian: libportaudio2): {exc}"
        ) from exc


def _input_device(sd: Any, device: int | str | None) -> dict[str, Any]:
    """The input device's info dict (with its ``index``), or a clear DeviceError."""
    try:
        devices = list(sd.query_devices())
    except Exception as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from exc
    inputs = [
        dict(d, index=i) for i, d in enumerate(devices) if int(d.get("max_input_channels", 0)) > 0
    ]
    if not inputs:
        raise DeviceError(
            "no audio input device found (no sound card or microphone): connect one, or "
            "analyse a recording with `cymbalism transcribe`"
        )
    if device is None:
        try:
            idx = sd.default.device[0]
        except Exception:
            idx = -1
        for d in inputs:
            if d["index"] == idx:
                return d
        return inputs[0]
    for d in inputs:
        if d["index"] == device or (
            isinstance(device, str) and device.lower() in str(d.get("name", "")).lower()
        ):
            return d
    names = ", ".join(repr(d.get("name")) for d in inputs)
    raise DeviceError(f"no audio input {device!r}; inputs found: {names}")


# --------------------------------------------------------------------------- synthesis


def synthesize_hits(
    hits: Hits,
    sample_rate: int = 44100,
    *,
    duration_sec: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Render hits as drum-like sounds: a signal whose onsets and lanes are known exactly.

    Kick: a decaying sine sweeping 140 -> 50 Hz with a beater click (noise below 4 kHz).
    Snare: a 190 Hz tone plus noise at 0.3-2.5 kHz (the wires). Hi-hat: noise above 7 kHz
    dying in about 40 ms (open: 300 ms). Toms: decaying tones at 220, 150 and 100 Hz
    with a stick click. Crash and ride: noise at 1-10 kHz ringing for over a second.
    Each sound starts exactly at its onset; loudness follows velocity.

    Parameters
    ----------
    hits : Hits
    sample_rate : int
    duration_sec : float, optional
        Length of the signal; by default the last onset plus two seconds.
    seed : int
        Seed of the noise.

    Returns
    -------
    samples : np.ndarray [shape=(n,), float32, -1..1]
    """
    scipy_signal = require("scipy.signal", "audio")
    rng = np.random.default_rng(seed)
    sr = int(sample_rate)
    end = (
        duration_sec
        if duration_sec is not None
        else (float(hits.onset_sec[-1]) + 2.0 if len(hits) else 1.0)
    )
    out = np.zeros(round(end * sr) + 1, dtype=np.float64)
    nyq = 0.45 * sr

    def band(lo_hz: float, hi_hz: float) -> Any:
        hi_hz = min(hi_hz, nyq)
        if lo_hz <= 0:
            return scipy_signal.butter(2, hi_hz, "lowpass", fs=sr, output="sos")
        if hi_hz >= nyq:
            return scipy_signal.butter(4, min(lo_hz, 0.8 * nyq), "highpass", fs=sr, output="sos")
        return scipy_signal.butter(2, [lo_hz, hi_hz], "bandpass", fs=sr, output="sos")

    click, wires, hat, shimmer = band(0, 4000), band(300, 2500), band(7000, 1e9), band(1000, 10000)

    def env(n: int, tau_sec: float) -> np.ndarray:
        return np.exp(-np.arange(n) / (tau_sec * sr))

    for t, lane, vel in zip(hits.onset_sec, hits.lane, hits.velocity, strict=True):
        lane = Lane(int(lane))
        n = round(1.5 * sr)
        tt = np.arange(n) / sr
        noise = rng.standard_normal(n)
        if lane is Lane.KICK:
            freq = 50 + 90 * np.exp(-tt / 0.006)
            phase = 2 * np.pi * np.cumsum(freq) / sr
            y = np.sin(phase) * env(n, 0.15)
            y += 0.5 * scipy_signal.sosfilt(click, noise) * env(n, 0.003)
        elif lane is Lane.SNARE:
            y = 0.5 * np.sin(2 * np.pi * 190 * tt) * env(n, 0.06)
            y += 0.6 * scipy_signal.sosfilt(wires, noise) * env(n, 0.09)
        elif lane in (Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.HIHAT_PEDAL):
            tau = {Lane.HIHAT_CLOSED: 0.015, Lane.HIHAT_OPEN: 0.3, Lane.HIHAT_PEDAL: 0.01}[lane]
            y = scipy_signal.sosfilt(hat, noise) * env(n, tau) * 0.8
        elif lane in (Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR):
            f0 = {Lane.TOM_HIGH: 220.0, Lane.TOM_MID: 150.0, Lane.TOM_FLOOR: 100.0}[lane]
            y = np.sin(2 * np.pi * f0 * tt) * env(n, 0.25)
            y += 0.1 * scipy_signal.sosfilt(click, noise) * env(n, 0.003)
        else:  # crash, ride
            tau = 0.8 if lane is Lane.CRASH else 0.5
            y = scipy_signal.sosfilt(shimmer, noise) * env(n, tau) * 0.5
        y *= (float(vel) / 127.0) * 0.5
        i = round(float(t) * sr)
        if i >= out.size:
            continue
        m = min(n, out.size - i)
        out[i : i + m] += y[:m]
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def with_config(config: DetectorConfig | None = None, **changes: Any) -> DetectorConfig:
    """A copy of ``config`` (or the defaults) with some settings changed."""
    return replace(config or DetectorConfig(), **changes)
