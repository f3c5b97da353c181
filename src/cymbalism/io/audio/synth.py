"""A drum synthesizer: signals whose onsets and lanes are known exactly.

Tests, benchmarks and ``evaluation/audio.py --bias`` render hits with it and check that
the detector recovers them; live microphone input plays one hit through the detector to
warm it up.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cymbalism.errors import require
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane

__all__ = [
    "synthesize_hits",
]


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
    Each sound starts exactly at its onset; loudness follows velocity. A hit before the
    signal's start is heard from the first sample on (its tail).

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
        # a hit before the first sample is heard from there on: its tail only
        skip = max(0, -i)
        if i >= out.size or skip >= n:
            continue
        m = min(n, out.size - i)
        out[i + skip : i + m] += y[skip:m]
    return np.clip(out, -1.0, 1.0).astype(np.float32)
