"""Benchmark: a live microphone with the speakers' sound taken out, block by block.

A microphone block in the live engine is read by the detector in the sound device's
callback. With the speakers heard (``cymbalism.live.speakers``), each block first has
what the speakers played taken out (the response applied to the sound played, by FFT)
and each hit found is checked by the gate; every 2 s the way from the speakers is
measured again on a thread of its own. This times, per block, in the same run:

- the **baseline**: the live detector alone (``StreamingDetector`` with
  ``LIVE_CONFIG``), as a microphone without speakers reads;
- **with the speakers taken out**: the listener (the sound played read back, the echo,
  the gate's bands) and the same detector;
- the **measurement** of the way on the last 6 s (the thread's work, every 2 s).

The audio is 20 s of synthetic drums with a partner's sampled kit and click heard
through a simulated room, at 44.1 kHz in blocks of 128 samples (2.9 ms): a block must
be read well inside 2.9 ms. CPU time of the reading thread (the measurement runs on its
own).

Usage::

    .venv/bin/python benchmarks/speakers.py [--seconds 20] [--block 128]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from cymbalism.io.audio import synthesize_hits
from cymbalism.io.audio.detector import LIVE_CONFIG, StreamingDetector
from cymbalism.io.audio.speakers import played_span
from cymbalism.live.speakers import LISTEN_SEC, PlayedSound, SpeakerListener
from cymbalism.model.hits import Hits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.io.audio.test_audio import SR, groove
from tests.io.audio.test_speakers import heard_through, partner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--block", type=int, default=128)
    args = parser.parse_args(argv)
    seconds, block = args.seconds, args.block
    played = partner(seconds)
    g = groove(seconds - 0.5, bpm=120.0)
    drums = synthesize_hits(Hits.from_arrays(g.onset_sec, g.lane, 100), SR, duration_sec=seconds)
    mic = (drums + heard_through(played, round(0.012 * SR), 0.5, seconds)).astype(np.float32)

    det = StreamingDetector(SR, config=LIVE_CONFIG)
    det.process(np.zeros(SR // 2, np.float32))  # warm up, as the live input does
    base = []
    for i in range(0, mic.size - block, block):
        t = time.thread_time()
        det.process(mic[i : i + block])
        base.append(time.thread_time() - t)

    speakers = PlayedSound(SR)
    listener = SpeakerListener(speakers, SR)
    speakers.played(0, played)  # the output is ahead of the microphone
    det = StreamingDetector(SR, config=LIVE_CONFIG)
    det.process(np.zeros(SR // 2, np.float32))  # warm up, as the live input does
    n_listen = round(LISTEN_SEC * SR)
    before, m = played_span(n_listen, SR)
    start = round(before * SR)  # the microphone's last LISTEN_SEC, from here
    measures = []
    for _ in range(4):  # the first finds the way; the others are timed
        t = time.thread_time()
        listener.path.measure(mic[start : start + n_listen], played[:m], 2.0)
        measures.append(time.thread_time() - t)
    measures = measures[1:]
    assert listener.path.now is not None, "the way from the speakers was not found"
    with_speakers = []
    for i in range(0, mic.size - block, block):
        t = time.thread_time()
        x = listener.cleaned(mic[i : i + block], i / SR)
        listener.keeps(det.process(x))
        with_speakers.append(time.thread_time() - t)
    listener.join()

    def row(name: str, times: list[float], ratio: float | None) -> list[str]:
        ms = 1000 * np.asarray(times)
        return [
            name,
            f"{np.median(ms):.3f}",
            f"{np.percentile(ms, 99):.3f}",
            f"{ms.max():.2f}",
            f"{block / SR / (ms.mean() / 1000):.0f}x",
            "1.00x" if ratio is None else f"{ratio:.2f}x",
        ]

    table = Table(title=f"{len(base)} blocks of {block} samples ({1000 * block / SR:.1f} ms)")
    for col in ("read", "p50 ms", "p99 ms", "max ms", "real time", "vs baseline"):
        table.add_column(col, justify="right")
    table.add_row(*row("detector alone (baseline)", base, None))
    table.add_row(
        *row("speakers taken out", with_speakers, float(np.mean(with_speakers) / np.mean(base)))
    )
    Console().print(table)
    Console().print(
        f"measuring the way on {LISTEN_SEC:.0f} s (every 2 s, on its own thread): "
        f"{1000 * min(measures):.0f} ms CPU (best of {len(measures)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
