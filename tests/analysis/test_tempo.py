"""Tempo from hits alone, on synthetic performances whose tempo is known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.analysis.tempo import (
    estimate_tempo,
    tempo_curve,
    tempo_drift,
    tempo_salience,
)
from cymbalism.errors import InputError


def groove(
    start_bpm: float, end_bpm: float, duration_sec: float, *, seed: int = 0, jitter_sec=0.008
) -> tuple[np.ndarray, np.ndarray]:
    """A rock groove in eighth notes whose tempo moves linearly in time.

    Kick on beats 1 and 3, snare on 2 and 4 (accented), hi-hat on the off-beats.
    Returns onset times (sorted) and velocities. With tempo ``b(t) = b0 + r t`` the beat
    phase is ``(b0 t + r t^2 / 2) / 60``; each eighth note solves that for its time.
    """
    rng = np.random.default_rng(seed)
    rate = (end_bpm - start_bpm) / duration_sec  # BPM per second
    n_beats = int((start_bpm + end_bpm) / 2 * duration_sec / 60)
    phase = np.arange(0, n_beats, 0.5)
    a, b = rate / 120.0, start_bpm / 60.0
    t = phase / b if a == 0 else (-b + np.sqrt(b * b + 4 * a * phase)) / (2 * a)
    velocity = np.select([phase % 2 == 0, phase % 1 == 0], [100.0, 120.0], 60.0)
    t = t + rng.normal(0.0, jitter_sec, t.size)
    order = np.argsort(t)
    return t[order] - t.min(), velocity[order]


@pytest.mark.parametrize("bpm", [68.0, 95.0, 120.0, 133.0, 160.0])
def test_steady_tempo_is_recovered(bpm):
    onset, vel = groove(bpm, bpm, 60.0, seed=int(bpm))
    assert estimate_tempo(onset, weight=vel) == pytest.approx(bpm, rel=0.005)


@pytest.mark.parametrize(("start", "end"), [(100.0, 120.0), (90.0, 80.0), (70.0, 76.0)])
def test_accelerando_and_ritardando_drift_is_recovered(start, end):
    duration = 120.0
    onset, vel = groove(start, end, duration, seed=3)
    expected = (end - start) / (duration / 60.0)  # BPM per minute
    assert tempo_drift(onset, weight=vel) == pytest.approx(expected, abs=0.25)
    curve = tempo_curve(onset, weight=vel, window_sec=12.0, hop_sec=4.0)
    # the local tempo at each window centre is the tempo at that moment
    true_bpm = start + (end - start) * curve.time_sec / duration
    np.testing.assert_allclose(curve.bpm, true_bpm, rtol=0.012)
    assert curve.window_sec == 12.0
    assert curve.drift_bpm_per_min == pytest.approx(expected, abs=0.25)


def test_steady_tempo_has_no_drift():
    onset, vel = groove(110.0, 110.0, 90.0, seed=5, jitter_sec=0.015)
    assert abs(tempo_drift(onset, weight=vel)) < 0.1


def test_accents_choose_the_beat_level():
    # the same eighth-note train: accented every other note it is 100 BPM (0.6 s beats)
    onset = np.arange(160) * 0.3
    accents = np.where(np.arange(160) % 2 == 0, 120.0, 30.0)
    assert estimate_tempo(onset, weight=accents) == pytest.approx(100.0, rel=0.005)


@pytest.mark.parametrize("bpm", [45.0, 60.0, 80.0, 100.0, 120.0])
def test_a_plain_pulse_is_read_at_its_own_rate(bpm):
    # nothing is played between the clicks: no level divides better than another, so the
    # prior (centred on 120 BPM) chooses, and it prefers the pulse to its half
    rng = np.random.default_rng(int(bpm))
    onset = np.arange(48) * 60.0 / bpm
    assert estimate_tempo(onset) == pytest.approx(bpm, rel=0.002)
    jittered = np.sort(onset + rng.normal(0.0, 0.008, onset.size))
    assert estimate_tempo(jittered) == pytest.approx(bpm, rel=0.01)


def test_a_fast_plain_pulse_is_read_at_half():
    # at 240 BPM the prior prefers the half; a faster tempo is never guessed from a pulse
    assert estimate_tempo(np.arange(64) * 0.25) == pytest.approx(120.0, rel=0.002)


def test_salience_peaks_at_the_tempo_and_its_multiples():
    onset, vel = groove(120.0, 120.0, 40.0, seed=1, jitter_sec=0.0)
    bpm, sal = tempo_salience(onset, weight=vel, min_bpm=40, max_bpm=250)
    assert sal.shape == bpm.shape and np.all(np.diff(bpm) > 0)
    # the beat and its slower multiples repeat the groove; a tempo it does not have is weak
    at = {b: sal[np.argmin(np.abs(bpm - b))] for b in (120.0, 60.0, 100.0, 90.0)}
    assert at[120.0] > 0.9 * sal.max() and at[60.0] > 0.9 * sal.max()
    assert at[100.0] < 0.5 * sal.max() and at[90.0] < 0.7 * sal.max()


def test_short_performance_is_one_window_and_has_no_drift():
    onset, vel = groove(120.0, 120.0, 6.0)
    curve = tempo_curve(onset, weight=vel, window_sec=12.0)
    assert len(curve) == 1 and curve.bpm[0] == pytest.approx(120.0, rel=0.01)
    assert np.isnan(curve.drift_bpm_per_min)


@given(st.floats(0.8, 1.25), st.floats(80.0, 140.0), st.integers(0, 10_000))
def test_scaling_all_times_by_k_divides_the_tempo_by_k(k, bpm, seed):
    onset, vel = groove(bpm, bpm, 30.0, seed=seed, jitter_sec=0.004)
    base = estimate_tempo(onset, weight=vel)
    scaled = estimate_tempo(
        onset * k, weight=vel, prior_bpm=120.0 / k, min_bpm=30.0 / k, max_bpm=300.0 / k
    )
    assert scaled == pytest.approx(base / k, rel=0.01)


@given(st.floats(-100.0, 1000.0), st.floats(0.01, 100.0), st.integers(0, 10_000))
def test_shifting_times_or_scaling_weights_changes_nothing(offset, gain, seed):
    onset, vel = groove(100.0, 100.0, 20.0, seed=seed)
    base = estimate_tempo(onset, weight=vel)
    assert estimate_tempo(onset + offset, weight=vel) == pytest.approx(base, rel=1e-6)
    assert estimate_tempo(onset, weight=vel * gain) == pytest.approx(base, rel=1e-9)


@pytest.mark.parametrize(
    ("onset", "kwargs", "message"),
    [
        (np.array([0.0, 1.0, 0.5, 2.0, 3.0]), {}, "must be sorted"),
        (np.array([0.0, np.nan, 1.0, 2.0]), {}, "non-finite"),
        (np.arange(8) * 500.0 + 30_000.0, {}, "milliseconds"),  # ms given as seconds
        (np.array([0.0, 0.5, 1.0]), {}, "at least 4"),
        (np.zeros(6), {}, "spread over time"),
        (np.arange(8) * 0.5, {"weight": np.ones(5)}, "one value per onset"),
        (np.arange(8) * 0.5, {"weight": -np.ones(8)}, "not negative"),
        (np.arange(8) * 0.5, {"min_bpm": 200.0, "max_bpm": 100.0}, "tempo range"),
        (np.arange(8) * 0.5, {"prior_octaves": 0.0}, "must be positive"),
    ],
    ids=[
        "unsorted",
        "nan",
        "milliseconds",
        "too-few",
        "no-span",
        "weight-shape",
        "weight-sign",
        "range",
        "prior",
    ],
)
def test_bad_input_is_named(onset, kwargs, message):
    with pytest.raises(InputError, match=message):
        estimate_tempo(onset, **kwargs)


def test_bad_windows_are_named():
    onset, _ = groove(120.0, 120.0, 20.0)
    with pytest.raises(InputError, match="window_sec and hop_sec"):
        tempo_curve(onset, window_sec=0.0)
    with pytest.raises(InputError, match="window_sec and hop_sec"):
        tempo_drift(onset, hop_sec=-1.0)


def test_click_grid_recovers_tempo_and_phase() -> None:
    from cymbalism.analysis.tempo import click_grid

    rng = np.random.default_rng(3)
    beat = 60.0 / 97.0
    onset = 1.234 + beat * np.arange(200) / 2 + rng.normal(0, 0.004, 200)
    accent = np.where(np.arange(200) % 2 == 0, 110.0, 70.0)  # louder on the beat
    grid = click_grid(onset, weight=accent, bpm=97.0)
    assert click_grid(onset, weight=accent).bpm_at(10.0) == pytest.approx(97.0, rel=0.02)
    beats_sec = grid.qn_to_sec(np.arange(1.0, 120.0))
    # every beat of the performance lies on a beat of the grid
    on_beat = onset[::2]
    nearest = beats_sec[np.abs(beats_sec[:, None] - on_beat[None, :]).argmin(axis=0)]
    assert np.abs(on_beat - nearest).mean() < 0.005
    assert grid.bpm_at(10.0) == pytest.approx(97.0)
