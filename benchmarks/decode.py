"""Benchmark: reading a take in each format cymbalism reads, against the same take as WAV.

A three-minute groove (kick, snare and hi-hat at 100 BPM, stereo, 44.1 kHz) is
synthesized once and written in each format: WAV (the baseline), FLAC and Ogg Vorbis
(libsndfile), and the formats phones and browsers record, decoded by FFmpeg through
PyAV: AAC in M4A (192 kbit/s) and Opus in WebM.

For each file, best of ``--repeat`` runs, in CPU seconds of this process (stable on a
shared machine):

- **decode**: :func:`cymbalism.io.audio.open_sound`, every block read (no detection);
- **hits**: :func:`cymbalism.io.audio.read_audio`, the whole path from file to hits.

The table gives the decoder, the multiple of real time (x RT), the ratio to the WAV
file's time in the same run, and the hits found (the same take: a lossy codec may find
a hit more or less).

Usage::

    .venv/bin/python benchmarks/decode.py [--minutes 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soxr
from rich.console import Console
from rich.table import Table

from cymbalism.io.audio import open_sound, read_audio, synthesize_hits
from cymbalism.io.audio.files import encode_with_ffmpeg
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.sound.audio import write_audio

SR = 44100


def groove(minutes: float, bpm: float = 100.0) -> Hits:
    """Eighth-note hi-hat, kick on 1 and 3, snare on 2 and 4."""
    eighth = 30.0 / bpm
    t = np.arange(0.5, minutes * 60.0 - 1.0, eighth)
    k = np.arange(t.size)
    onset = np.concatenate([t, t[k % 4 == 0], t[k % 4 == 2]])
    lane = np.concatenate(
        [
            np.full(t.size, Lane.HIHAT_CLOSED),
            np.full(int((k % 4 == 0).sum()), Lane.KICK),
            np.full(int((k % 4 == 2).sum()), Lane.SNARE),
        ]
    )
    return Hits.from_arrays(onset, lane, 100)


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def decode_all(path: Path) -> int:
    with open_sound(path) as snd:
        return sum(b.shape[0] for b in snd.blocks(snd.sample_rate * 30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    truth = groove(args.minutes)
    y = synthesize_hits(truth, SR).astype(np.float32)
    x = np.stack([y, 0.8 * y], axis=1)
    seconds = x.shape[0] / SR
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = {
            "WAV": root / "take.wav",
            "FLAC": root / "take.flac",
            "Ogg Vorbis": root / "take.ogg",
            "M4A (AAC)": root / "take.m4a",
            "WebM (Opus)": root / "take.webm",
        }
        for name in ("WAV", "FLAC", "Ogg Vorbis"):
            write_audio(files[name], x, SR)  # in blocks: libsndfile 1.2.2 and long Ogg
        encode_with_ffmpeg(files["M4A (AAC)"], x, SR, codec="aac")
        encode_with_ffmpeg(
            files["WebM (Opus)"], soxr.resample(x, SR, 48000), 48000, codec="libopus"
        )
        rows = []
        for name, path in files.items():
            decode = best_cpu(lambda p=path: decode_all(p), args.repeat)
            hits = best_cpu(lambda p=path: read_audio(p), args.repeat)
            n = len(read_audio(path).hits)
            with open_sound(path) as snd:
                by = snd.decoder
            rows.append((name, by, path.stat().st_size, decode, hits, n))
    base_decode, base_hits = rows[0][3], rows[0][4]
    table = Table(
        title=f"reading a {seconds / 60:.1f}-minute stereo take ({len(truth)} hits), "
        f"best of {args.repeat}, CPU seconds"
    )
    columns = ("file", "by", "MB", "decode s", "x RT", "/ WAV", "hits s", "x RT", "/ WAV", "hits")
    for column in columns:
        table.add_column(column, justify="left" if column == "file" else "right")
    for name, by, size, decode, hits, n in rows:
        table.add_row(
            name,
            by,
            f"{size / 1e6:.1f}",
            f"{decode:.3f}",
            f"{seconds / max(decode, 1e-9):.0f}",
            f"{decode / base_decode:.1f}x",
            f"{hits:.2f}",
            f"{seconds / max(hits, 1e-9):.0f}",
            f"{hits / base_hits:.2f}x",
            str(n),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
