"""Learning a kit from recordings: the templates of the player's own drums.

:func:`calibrate_kit` reads a calibration recording (each drum struck a few times in
turn); :func:`learn_kit` and :func:`learn_kit_from_mixtures` learn templates from the
spectra the hits added (:func:`~cymbalism.io.audio.detector.onset_spectra`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError
from cymbalism.io.audio.detector import LIVE_CONFIG, DetectorConfig, _check_rate, onset_spectra
from cymbalism.io.audio.files import open_sound
from cymbalism.io.audio.templates import _N_BANDS, KitTemplates, lane_label, profile_kit
from cymbalism.model.lanes import Lane

__all__ = [
    "DEFAULT_CALIBRATION_ORDER",
    "calibrate_kit",
    "learn_kit",
    "learn_kit_from_mixtures",
]

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


def _lane_key(lane: Lane | None) -> int:
    return int(lane) if lane is not None else len(Lane)


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
        Starting templates for lanes with no hit alone (:func:`profile_kit` if omitted).
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
    fb = fallback or profile_kit()
    mask = np.array([[lane in lab for lane in lanes] for lab in labs], dtype=np.float64)
    w = np.empty((len(lanes), _N_BANDS))
    for j, lane in enumerate(lanes):
        alone = x[(mask[:, j] == 1) & (mask.sum(axis=1) == 1)]
        if alone.shape[0]:
            w[j] = np.median(alone, axis=0)
        else:
            w[j] = fb.template_of(lane) if lane in fb.lanes else np.full(_N_BANDS, 1.0 / _N_BANDS)
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


#: A calibration recording longer than this is refused (it should be a minute or two).
_MAX_CALIBRATION_MIN = 20


def _read_mono(path: Path, channel: int | None) -> tuple[np.ndarray, int]:
    with open_sound(path) as snd:
        sr = snd.sample_rate
        _check_rate(sr, str(path))
        longest = _MAX_CALIBRATION_MIN * 60 * sr
        blocks = [np.zeros((0, snd.channels), np.float32)]
        n = snd.frames
        if n <= longest:
            n = 0
            for block in snd.blocks(sr * 10):
                blocks.append(block)
                n += block.shape[0]
                if n > longest:
                    break
        if n > longest:
            raise InputError(
                f"{path} lasts over {_MAX_CALIBRATION_MIN} minutes; a calibration recording "
                "should be a minute or two"
            )
        data = np.concatenate(blocks)
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
