"""Sound out: stretch cost, drift of the stretched music against the chart, render speed.

    .venv/bin/python benchmarks/sound.py

- Stretch cost: CPU seconds per second of stereo 44.1 kHz music stretched by
  :class:`cymbalism.sound.music.MusicTrack` bar by bar (Signalsmith Stretch) at 70% and
  at 92% / 108% (a click following the duo), as a share of one core. Goal: <= 5%.
  Baseline in the same run: copying the same music unstretched (100%).
- Drift: a 5-minute song whose recording has a click on every beat, laid out with
  ``--follow`` (every bar's stretch wandering within 8%); each click of the rendered
  music is found and compared with where the bar layout puts its beat. Goal: <= 2 ms.
- Render speed: a simulated duet of the built-in ``mirrorball`` rendered with its music
  (``render_session``), against real time. Goal: >= 50x.
- Key press to sample start in the page: measured by the studio page's benchmark
  (row left for it below).
"""

from __future__ import annotations

import time

import numpy as np

from cymbalism.model.chart import Level
from cymbalism.model.session import BarLayout, Player, Session
from cymbalism.model.tempo import TempoMap
from cymbalism.songs import get_song
from cymbalism.sound.audio import SongAudio, song_audio_for
from cymbalism.sound.mixer import Mixer
from cymbalism.sound.music import MusicTrack
from cymbalism.sound.render import render_session

SR = 44_100


def stretch_cost(speeds: list[float], seconds: float = 60.0) -> float:
    """CPU seconds per second of music placed along bars at the given speeds."""
    rng = np.random.default_rng(0)
    music = (rng.normal(size=(int(seconds * SR) + SR, 2)) * 0.1).astype(np.float32)
    audio = SongAudio(music, None, SR)
    tm = TempoMap.constant(120.0)
    bars, out_sec = [], 0.0
    for k in range(int(seconds / 2)):
        s = 1.0 / speeds[k % len(speeds)]
        bars.append(BarLayout(4.0 * k, 4.0 * (k + 1), s, out_sec - 2.0 * k * s))
        out_sec += 2.0 * s
    mixer = Mixer(SR, {"music": 1.0})
    t0 = time.process_time()
    MusicTrack(audio, mixer, chart_map=tm).add_bars(bars)
    mixer.render_span(0, mixer.last_frame(), block=4096)
    return (time.process_time() - t0) / out_sec


def drift(minutes: float = 5.0, bpm: float = 120.0) -> tuple[float, float]:
    """Median and largest |error| (s) of the stretched music's beats against the layout."""
    tm = TempoMap.constant(bpm)
    beat = 60.0 / bpm
    n_beats = int(minutes * 60 / beat)
    music = np.zeros((int((n_beats + 2) * beat * SR), 2), np.float32)
    for k in range(n_beats):
        music[round(k * beat * SR)] = 0.8
    audio = SongAudio(music, None, SR)
    rng = np.random.default_rng(1)
    bars, out_sec, stretch = [], 0.0, 1.0
    for k in range(n_beats // 4):
        stretch = float(np.clip(stretch + rng.normal(0, 0.01), 0.92, 1.08))
        bars.append(BarLayout(4.0 * k, 4.0 * (k + 1), stretch, out_sec - 4 * k * beat * stretch))
        out_sec += 4 * beat * stretch
    mixer = Mixer(SR, {"music": 1.0})
    MusicTrack(audio, mixer, chart_map=tm).add_bars(bars)
    y = np.abs(mixer.render_span(0, mixer.last_frame(), block=8192)[:, 0])
    errs = []
    for b in bars[:-1]:
        for j in range(4):
            t = (b.start_qn + j) * beat * b.stretch + b.shift_sec
            c = round(t * SR)
            w = y[max(0, c - 441) : c + 441]
            errs.append((int(np.argmax(w)) + max(0, c - 441) - c) / SR)
    e = np.abs(np.asarray(errs))
    return float(np.median(e)), float(e.max())


def render_speed() -> float:
    chart = get_song("mirrorball")
    players = tuple(
        Player(n, lv, hits=chart.targets(lv)) for n, lv in (("A", Level.EXPERT), ("B", Level.EASY))
    )
    audio, _ = song_audio_for("mirrorball", chart, sample_rate=SR)
    t0 = time.perf_counter()
    out = render_session(Session(chart, players), audio)
    return out.seconds / (time.perf_counter() - t0)


def main() -> None:
    base = stretch_cost([1.0])
    rows = [
        ("stretch 70%", stretch_cost([0.7])),
        ("stretch 92%/108% (follow)", stretch_cost([0.92, 1.08, 0.96, 1.04])),
        ("baseline: unstretched copy", base),
    ]
    print("| what | CPU per second of music | share of one core |")
    print("|---|---|---|")
    for name, cost in rows:
        print(f"| {name} | {cost * 1e3:.1f} ms | {cost * 100:.2f}% |")
    med, worst = drift()
    print(
        f"drift over 5 minutes with --follow: median {med * 1e3:.2f} ms, max {worst * 1e3:.2f} ms"
    )
    print(f"render speed (mirrorball duet with music): {render_speed():.0f}x real time")
    # Key press to sample start in the page: the studio page's benchmark adds this row.


if __name__ == "__main__":
    main()
