"""Virtual drummers: known offsets come back out, gains are recoverable, seeds reproduce."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.analysis.align import align
from cymbalism.analysis.coupling import fit_phase_correction
from cymbalism.analysis.sync import asynchrony, sync_stats, windowed_sync
from cymbalism.analysis.timing import timing_by_lane, timing_stats, windowed_timing
from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.onsets import OnsetTable
from cymbalism.model.tempo import TempoMap
from cymbalism.simulate import (
    BEGINNER,
    EXPERT,
    DrummerModel,
    simulate_duet,
    simulate_performance,
)

QUIET = DrummerModel(timekeeper_sd_sec=0.0, motor_sd_sec=0.0, click_gain=0.5, velocity_sd=0.0)


def groove_chart(n_bars: int, bpm: float = 114.0, tempo_change: bool = False) -> Chart:
    """Hi-hat 8ths, kick on 1 and 3 (and the "and" of 3), snare on 2 and 4; easy part: quarters."""
    bar = np.arange(0, 4, 0.5)
    qn = (np.arange(n_bars)[:, None] * 4 + bar).ravel()
    hh = Part.from_arrays(qn, Lane.HIHAT_CLOSED)
    beats = np.arange(0, 4 * n_bars, 1.0)
    ks = np.where(beats % 2 == 0, Lane.KICK, Lane.SNARE)
    kick_and = np.arange(n_bars) * 4 + 2.5
    full = Part.from_arrays(
        np.concatenate([hh.qn, beats, kick_and]),
        np.concatenate([hh.lane, ks, np.full(n_bars, Lane.KICK)]),
    )
    easy = Part.from_arrays(beats, ks)
    tempos = [(0.0, bpm), (4.0 * n_bars / 2, bpm * 1.1)] if tempo_change else [(0.0, bpm)]
    return Chart("groove", TempoMap(tempos), {Level.EXPERT: full, Level.EASY: easy})


@pytest.mark.parametrize("tempo_change", [False, True])
def test_a_noiseless_drummer_plays_exactly_their_bias(tempo_change):
    chart = groove_chart(8, tempo_change=tempo_change)
    hits = simulate_performance(chart, QUIET.with_(bias_sec=0.0123), seed=1)
    al = align(hits, chart.targets())
    assert al.n_miss == 0 and al.n_extra == 0
    if tempo_change:  # notes between beats are interpolated between the drummer's beats
        np.testing.assert_allclose(al.error_sec, 0.0123, atol=1e-9)
    else:
        np.testing.assert_allclose(al.error_sec, 0.0123, atol=1e-12)


def test_known_offsets_are_recovered_within_a_millisecond_through_noise():
    chart = groove_chart(150)  # about five minutes
    model = DrummerModel(timekeeper_sd_sec=0.005, motor_sd_sec=0.003, click_gain=0.5)
    for bias in (-0.020, 0.0, 0.035):
        hits = simulate_performance(chart, model.with_(bias_sec=bias), seed=7)
        st = timing_stats(align(hits, chart.targets()))
        assert st.hit_rate == 1.0
        assert abs(st.mean_error_sec - bias) < 0.001
        for lane_stats in timing_by_lane(align(hits, chart.targets())).values():
            assert abs(lane_stats.mean_error_sec - bias) < 0.001


def test_duet_offsets_are_recovered_and_the_asynchrony_is_their_difference():
    chart = groove_chart(120)
    a = QUIET.with_(timekeeper_sd_sec=0.004, motor_sd_sec=0.002, bias_sec=-0.010)
    b = QUIET.with_(timekeeper_sd_sec=0.004, motor_sd_sec=0.002, bias_sec=0.015)
    ha, hb = simulate_duet(chart, a, b, level_a="expert", level_b="easy", seed=3)
    al_a, al_b = align(ha, chart.targets("expert")), align(hb, chart.targets("easy"))
    assert abs(timing_stats(al_a).mean_error_sec + 0.010) < 0.001
    assert abs(timing_stats(al_b).mean_error_sec - 0.015) < 0.001
    asy = asynchrony(al_a, al_b)
    assert len(asy) == len(chart.part("easy"))  # every easy note is shared
    assert abs(sync_stats(asy).mean_sec + 0.025) < 0.001


def test_bgls_recovers_the_partner_gains_and_the_lower_gain_leads():
    qn = np.arange(0, 1200, 1.0)
    chart = Chart("pulse", TempoMap.constant(120), {Level.EXPERT: Part.from_arrays(qn, Lane.SNARE)})
    model = DrummerModel(timekeeper_sd_sec=0.010, motor_sd_sec=0.004, click_gain=0.0)
    ha, hb = simulate_duet(
        chart, model.with_(partner_gain=0.25), model.with_(partner_gain=0.10), seed=11
    )
    assert len(ha) == len(hb) == qn.size
    table = OnsetTable.from_columns({"a": ha.onset_sec, "b": hb.onset_sec})
    fit = fit_phase_correction(table)
    assert fit.gain("a", "b") == pytest.approx(0.25, abs=0.05)
    assert fit.gain("b", "a") == pytest.approx(0.10, abs=0.05)
    assert fit.leader("a", "b") == "b"


def test_the_same_seed_gives_the_same_duet():
    chart = groove_chart(8)
    first = simulate_duet(chart, EXPERT, BEGINNER, level_b="easy", seed=5)
    again = simulate_duet(chart, EXPERT, BEGINNER, level_b="easy", seed=5)
    other = simulate_duet(chart, EXPERT, BEGINNER, level_b="easy", seed=6)
    assert first[0] == again[0] and first[1] == again[1]
    assert first[1] != other[1]
    solo = simulate_performance(chart, BEGINNER.with_(seed=9))
    assert solo == simulate_performance(chart, BEGINNER, seed=9)


def test_errors_happen_at_their_rates_and_fall_with_practice():
    chart = groove_chart(200)  # about seven minutes
    sloppy = QUIET.with_(miss_rate=0.2, extra_rate=0.1, wrong_lane_rate=0.1)
    al = align(simulate_performance(chart, sloppy, seed=2), chart.targets())
    n = len(chart.part())
    # a wrong lane is a miss (and an extra hit) in per-lane alignment
    assert al.n_miss / n == pytest.approx(0.2 + 0.8 * 0.1, abs=0.02)
    assert al.n_extra / n == pytest.approx(0.1 + 0.8 * 0.1, abs=0.02)
    blind = align(simulate_performance(chart, sloppy, seed=2), chart.targets(), lane_blind=True)
    assert blind.n_miss / n == pytest.approx(0.2, abs=0.02)
    learner = BEGINNER.with_(learning_time_sec=60.0, learned_fraction=0.2)
    w = windowed_timing(
        align(simulate_performance(chart, learner, seed=4), chart.targets()),
        window_sec=30,
        hop_sec=30,
    )
    assert w.hit_rate[-2] > w.hit_rate[1] + 0.1
    assert w.sd_error_sec[-2] < 0.6 * w.sd_error_sec[1]


def test_an_expert_and_a_beginner_come_closer_as_the_beginner_learns():
    chart = groove_chart(100)
    ha, hb = simulate_duet(chart, EXPERT, BEGINNER, level_b="easy", seed=1)
    asy = asynchrony(align(ha, chart.targets()), align(hb, chart.targets("easy")))
    w = windowed_sync(asy, window_sec=20, hop_sec=20)
    assert w.sd_sec[-2] < 0.6 * w.sd_sec[1]


def test_bad_models_and_arguments_get_their_own_errors():
    with pytest.raises(InputError, match="milliseconds"):
        DrummerModel(timekeeper_sd_sec=10)
    with pytest.raises(InputError, match="milliseconds"):
        DrummerModel(bias_sec=20)
    with pytest.raises(InputError, match="stable"):
        DrummerModel(partner_gain=2.5)
    with pytest.raises(InputError, match="probability"):
        DrummerModel(miss_rate=1.5)
    with pytest.raises(InputError, match="learned_fraction"):
        DrummerModel(learned_fraction=0)
    chart = groove_chart(2)
    with pytest.raises(NotFoundError, match="Hard"):
        simulate_duet(chart, EXPERT, BEGINNER, level_b="hard")
    with pytest.raises(InputError, match="Chart"):
        simulate_performance("groove", EXPERT)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="DrummerModel"):
        simulate_duet(chart, EXPERT, "beginner")  # type: ignore[arg-type]
