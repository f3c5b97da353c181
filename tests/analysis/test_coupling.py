"""Phase-correction estimation (bGLS), windowed fits and lead/lag, on simulated ensembles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cymbalism.analysis.align import align
from cymbalism.analysis.coupling import (
    beat_events,
    fit_phase_correction,
    gls_phase_correction,
    lead_lag,
    merge_chords,
    onset_table_from_alignments,
    onset_table_from_onsets,
    windowed_phase_correction,
)
from cymbalism.analysis.sync import asynchrony, sync_stats
from cymbalism.corpus.figures import pair_figures
from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.onsets import OnsetTable
from cymbalism.model.tempo import TempoMap
from cymbalism.simulate.ensemble import groove_strokes, simulate_phase_correction

GAIN_AB, GAIN_BA = 0.25, 0.10
DUET = np.array([[0.0, GAIN_AB], [GAIN_BA, 0.0]])


def _table(onset: np.ndarray, click: np.ndarray | None = None) -> OnsetTable:
    return OnsetTable.from_columns({"A": onset[:, 0], "B": onset[:, 1]}, reference_sec=click)


def _gains(runs, method: str, *, click: bool = False) -> np.ndarray:
    out = []
    for onset in runs.onset_sec:
        table = _table(onset, runs.click_sec)
        if click:
            table = table.with_reference_as("click")
        fit = fit_phase_correction(table, method=method)  # type: ignore[arg-type]
        row = [fit.gain("A", "B"), fit.gain("B", "A")]
        if click:
            row += [fit.gain("A", "click"), fit.gain("B", "click")]
        out.append(row)
    return np.array(out)


def test_bgls_recovers_duet_gains_where_least_squares_is_biased():
    # 50 duets of 200 notes each, timekeeper 10 ms and motor noise 7 ms.
    runs = simulate_phase_correction(
        DUET, n_events=200, sigma_t_sec=0.010, sigma_m_sec=0.007, n_runs=50, seed=11
    )
    truth = np.array([GAIN_AB, GAIN_BA])
    bgls = _gains(runs, "bgls")
    ols = _gains(runs, "ols")
    bgls_bias = bgls.mean(axis=0) - truth
    ols_bias = ols.mean(axis=0) - truth
    # bGLS: each gain within +-0.05 on average over the seeds, and single runs mostly close.
    assert np.all(np.abs(bgls_bias) < 0.05), bgls_bias
    assert np.all(np.abs(bgls - truth).mean(axis=0) < 0.06)
    # Least squares over-estimates both gains (motor noise sits in the asynchrony)...
    assert np.all(ols_bias > 0.07), ols_bias
    # ...and bGLS is closer for each gain.
    assert np.all(np.abs(bgls_bias) < np.abs(ols_bias) / 3)


def test_bgls_recovers_noise_levels():
    runs = simulate_phase_correction(
        DUET, n_events=200, sigma_t_sec=0.012, sigma_m_sec=0.006, n_runs=40, seed=3
    )
    st_, sm_ = [], []
    for onset in runs.onset_sec:
        fit = fit_phase_correction(_table(onset))
        st_.append(fit.sigma_t_sec)
        sm_.append(fit.sigma_m_sec)
    assert np.mean(st_) == pytest.approx(0.012, abs=0.0015)
    assert np.mean(sm_) == pytest.approx(0.006, abs=0.0015)


def test_bgls_with_a_click_as_a_third_source():
    runs = simulate_phase_correction(
        DUET,
        alpha_click=np.array([0.1, 0.3]),
        n_events=200,
        sigma_t_sec=0.010,
        sigma_m_sec=0.007,
        n_runs=40,
        seed=5,
    )
    gains = _gains(runs, "bgls", click=True).mean(axis=0)
    np.testing.assert_allclose(gains[:2], [GAIN_AB, GAIN_BA], atol=0.05)
    np.testing.assert_allclose(gains[2:], [0.1, 0.3], atol=0.08)


def test_missing_onsets_break_the_sequence_but_not_the_fit():
    runs = simulate_phase_correction(
        DUET, n_events=300, sigma_t_sec=0.010, sigma_m_sec=0.007, n_runs=30, seed=8
    )
    rng = np.random.default_rng(0)
    gains = []
    for onset in runs.onset_sec:
        holes = onset.copy()
        holes[rng.random(holes.shape) < 0.1] = np.nan
        fit = fit_phase_correction(_table(holes))
        assert fit.n_events[0] < 299
        gains.append([fit.gain("A", "B"), fit.gain("B", "A")])
    np.testing.assert_allclose(np.mean(gains, axis=0), [GAIN_AB, GAIN_BA], atol=0.05)


def test_single_player_against_a_click_matches_known_gain():
    # One tapper and a metronome: the classic bGLS case.
    alpha = np.array([[0.0, 0.0], [0.0, 0.0]])
    runs = simulate_phase_correction(
        alpha, alpha_click=np.array([0.4, 0.4]), n_events=200, n_runs=40, seed=2
    )
    gains = []
    for onset in runs.onset_sec:
        table = OnsetTable.from_columns(
            {"tapper": onset[:, 0]}, reference_sec=runs.click_sec
        ).with_reference_as("click")
        gains.append(fit_phase_correction(table).gain("tapper", "click"))
    assert np.mean(gains) == pytest.approx(0.4, abs=0.05)


@given(
    shift=st.floats(-100, 100),
    seed=st.integers(0, 10_000),
)
def test_fit_is_unchanged_by_a_common_shift_and_by_column_order(shift, seed):
    onset = simulate_phase_correction(DUET, n_events=60, seed=seed).onset_sec[0] + 200.0
    base = fit_phase_correction(_table(onset))
    moved = fit_phase_correction(_table(onset + shift))
    swapped = fit_phase_correction(OnsetTable.from_columns({"B": onset[:, 1], "A": onset[:, 0]}))
    for fit in (moved, swapped):
        assert fit.gain("A", "B") == pytest.approx(base.gain("A", "B"), abs=1e-6)
        assert fit.gain("B", "A") == pytest.approx(base.gain("B", "A"), abs=1e-6)
        assert fit.sigma_t_sec[fit.players.index("A")] == pytest.approx(
            base.sigma_t_sec[0], abs=1e-9
        )


def test_noise_estimates_respect_the_bounds():
    # Pure motor noise, no timekeeper: the bounds keep both variances valid.
    rng = np.random.default_rng(1)
    iti = rng.standard_normal(150) * 0.01
    asy = rng.standard_normal((150, 1)) * 0.02
    alpha, sigma_t, sigma_m, _ = gls_phase_correction(iti, asy)
    assert alpha.shape == (1,)
    assert sigma_m >= 0 and sigma_t >= sigma_m - 1e-12


def test_windowed_fit_shows_who_led_in_each_half():
    # First 300 events: A leads (B corrects 0.5 toward A); next 300: B leads.
    first = simulate_phase_correction(
        np.array([[0.0, 0.02], [0.5, 0.0]]), n_events=300, n_runs=1, seed=4
    ).onset_sec[0]
    second = simulate_phase_correction(
        np.array([[0.0, 0.5], [0.02, 0.0]]), n_events=300, n_runs=1, seed=5
    ).onset_sec[0]
    join_sec = first[-1].mean() + 0.25
    onset = np.vstack([first, second + join_sec + 0.25])
    table = _table(onset)
    edges = np.array([-1.0, join_sec, 1e3])
    windowed = windowed_phase_correction(table, edges_sec=edges)
    assert windowed.leaders("A", "B") == ["A", "B"]
    gains = windowed.gain("B", "A")
    assert gains[0] > 0.35 and gains[1] < 0.2
    assert len(windowed.to_dict()) == 2


def test_windowed_fit_with_too_few_events_gives_nan_not_an_error():
    onset = simulate_phase_correction(DUET, n_events=100, seed=1).onset_sec[0]
    windowed = windowed_phase_correction(_table(onset), edges_sec=np.array([0.0, 3.0, 100.0]))
    assert np.isnan(windowed.gain("A", "B")[0])
    assert np.isfinite(windowed.gain("A", "B")[1])
    assert windowed.leaders("A", "B")[0] is None


def test_lead_lag_finds_the_follower():
    # B follows A strongly, A ignores B.
    runs = simulate_phase_correction(
        np.array([[0.0, 0.0], [0.7, 0.0]]), n_events=400, sigma_m_sec=0.002, n_runs=1, seed=9
    )
    ll = lead_lag(_table(runs.onset_sec[0]), "A", "B")
    assert ll.xcorr_leader == "A"
    assert ll.r(1) > 0.3 and ll.r(1) > ll.r(-1) + 0.2
    assert ll.granger_a_to_b_p < 1e-3
    assert ll.granger_b_to_a_p > 1e-3
    swapped = lead_lag(_table(runs.onset_sec[0]), "B", "A")
    assert swapped.xcorr_leader == "A"
    assert swapped.r(-1) == pytest.approx(ll.r(1))
    assert ll.to_dict()["xcorr_leader"] == "A"


def test_bad_inputs_get_clear_errors():
    onset = simulate_phase_correction(DUET, n_events=50, seed=1).onset_sec[0]
    table = _table(onset)
    with pytest.raises(InputError, match="no player 'C'"):
        fit_phase_correction(table, players=["C"])
    with pytest.raises(InputError, match="at least two sources"):
        fit_phase_correction(table, sources=["A"])
    with pytest.raises(InputError, match="too few"):
        gls_phase_correction(np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(InputError, match="finite"):
        gls_phase_correction(np.array([0.0, np.nan, 1, 2, 3]), np.zeros((5, 1)))
    with pytest.raises(InputError, match="increasing"):
        windowed_phase_correction(table, edges_sec=np.array([5.0, 1.0]))
    with pytest.raises(InputError, match="positive"):
        lead_lag(table, "A", "B", max_lag=0)
    with pytest.raises(InputError, match="milliseconds"):
        OnsetTable.from_columns({"A": [1000.0, 90_000.0]})
    with pytest.raises(InputError, match="same length"):
        OnsetTable.from_columns({"A": [1.0, 2.0], "B": [1.0]})
    with pytest.raises(InputError, match="milliseconds"):
        simulate_phase_correction(DUET, n_events=10, sigma_t_sec=10.0)


def test_bgls_recovers_partner_gains_of_virtual_drummers_from_their_hits():
    # End to end: DrummerModel duets to a click, hits aligned to the chart, tabulated at the
    # shared chart positions, and fitted with the click as a third source.
    from cymbalism.analysis.align import align
    from cymbalism.analysis.coupling import onset_table_from_alignments
    from cymbalism.model.chart import Chart, Level, Part
    from cymbalism.model.lanes import Lane
    from cymbalism.model.tempo import TempoMap
    from cymbalism.simulate import DrummerModel, simulate_duet

    part = Part.from_arrays(np.arange(200.0), Lane.SNARE)
    chart = Chart("beats", TempoMap.constant(120.0), {Level.EXPERT: part}, end_qn=201.0)
    a = DrummerModel(
        name="a", timekeeper_sd_sec=0.010, motor_sd_sec=0.007, click_gain=0.1, partner_gain=GAIN_AB
    )
    b = DrummerModel(
        name="b", timekeeper_sd_sec=0.010, motor_sd_sec=0.007, click_gain=0.1, partner_gain=GAIN_BA
    )
    truth = np.array([GAIN_AB, GAIN_BA])
    est = {"bgls": [], "ols": []}
    targets = chart.targets()
    for seed in range(30):
        hits_a, hits_b = simulate_duet(chart, a, b, seed=seed)
        table = onset_table_from_alignments(
            {"A": align(hits_a, targets), "B": align(hits_b, targets)}
        ).with_reference_as("click")
        for method, out in est.items():
            fit = fit_phase_correction(table, method=method)  # type: ignore[arg-type]
            out.append([fit.gain("A", "B"), fit.gain("B", "A")])
    bgls_bias = np.mean(est["bgls"], axis=0) - truth
    ols_bias = np.mean(est["ols"], axis=0) - truth
    assert np.all(np.abs(bgls_bias) < 0.05), bgls_bias
    assert np.all(np.abs(ols_bias) > np.abs(bgls_bias)), (ols_bias, bgls_bias)


def test_chords_merge_into_one_stroke_and_pairing_is_one_to_one():
    np.testing.assert_allclose(
        merge_chords(np.array([1.0, 1.01, 1.5, 2.0, 2.02])), [1.005, 1.5, 2.01]
    )
    table = onset_table_from_onsets(
        {"A": np.array([1.0, 1.005, 2.0, 3.0]), "B": np.array([1.02, 2.3, 2.95, 2.96])},
        window_sec=0.1,
    )
    np.testing.assert_allclose(table.column("A"), [1.0025, 2.0, 3.0])
    np.testing.assert_allclose(table.column("B"), [1.02, np.nan, 2.955])


def test_table_from_alignments_agrees_with_sync_asynchrony():
    tempo = TempoMap.constant(100.0)
    targets = Hits.from_arrays(
        np.repeat(tempo.qn_to_sec(np.arange(32) * 0.5), 2),
        np.tile([Lane.KICK, Lane.HIHAT_CLOSED], 32),
    )
    rng = np.random.default_rng(2)
    hits_a = Hits.from_arrays(targets.onset_sec + rng.normal(0, 0.01, len(targets)), targets.lane)
    hits_b = Hits.from_arrays(targets.onset_sec[::4] + 0.02, targets.lane[::4])
    al_a, al_b = align(hits_a, targets), align(hits_b, targets)
    table = onset_table_from_alignments({"A": al_a, "B": al_b})
    expected = asynchrony(al_a, al_b)
    d = table.column("A") - table.column("B")
    np.testing.assert_allclose(d[np.isfinite(d)], expected.asynchrony_sec, atol=1e-12)
    np.testing.assert_allclose(table.reference_sec, np.unique(targets.onset_sec), atol=1e-6)
    figures = pair_figures(table, "A", "B", coupling=False)
    assert figures["mean_ms"] == pytest.approx(sync_stats(expected).mean_sec * 1e3, abs=1e-3)


def _fit(gains: tuple[float, float], n: int, seed: int = 2):  # type: ignore[no-untyped-def]
    runs = simulate_phase_correction(
        np.array([[0.0, gains[0]], [gains[1], 0.0]]), n_events=n, n_runs=1, seed=seed
    )
    return fit_phase_correction(_table(runs.onset_sec[0]))


def test_no_leader_is_named_when_both_players_correct_alike():
    # Both players correct 0.10 of each gap toward the other: neither leads. The fitted
    # gains differ by chance in every run, by less than their uncertainty; a leader named
    # from that difference would be a coin toss (20 of 20 runs named one).
    named = 0
    for seed in range(20):
        fit = _fit((0.10, 0.10), 400, seed)
        assert fit.problems("A", "B") == []
        named += fit.leader("A", "B") is not None
    assert named <= 2
    # a clear difference is still told, whichever order the players are given in
    clear = _fit((0.50, 0.02), 400)
    assert clear.leader("A", "B") == clear.leader("B", "A") == "B"


def test_a_fit_that_cannot_be_read_says_why_and_names_no_leader():
    # plenty of intervals, gains inside 0-2: read it
    fit = _fit((GAIN_AB, GAIN_BA), 400)
    assert fit.problems("A", "B") == [] and fit.leader("B", "A") == "B"
    assert 0 < fit.gain_se("A", "B") < 0.05
    assert pair_figures(_table(_sim_onsets(400)), "A", "B")["bgls_leader"] == "B"
    # too few intervals: the gains' 95% interval is wider than +-0.2
    few = _fit((GAIN_AB, GAIN_BA), 25)
    assert np.isfinite(few.gain("A", "B"))
    assert any("too few intervals" in p for p in few.problems("A", "B"))
    figures = pair_figures(_table(_sim_onsets(25)), "A", "B")
    assert figures["bgls_leader"] is None and figures["bgls_problems"]
    # a player who moves away from the partner (gain -0.3), the partner pulling harder
    rng = np.random.default_rng(3)
    t = np.zeros((400, 2))
    for k in range(399):
        gap = t[k, 0] - t[k, 1]
        t[k + 1, 0] = t[k, 0] + 0.5 + 0.3 * gap + rng.normal(0, 0.01)
        t[k + 1, 1] = t[k, 1] + 0.5 + 0.8 * gap + rng.normal(0, 0.01)
    away = fit_phase_correction(_table(t + 1.0))
    assert away.gain("A", "B") < -0.2
    assert any("outside the stable range 0-2" in p for p in away.problems("A", "B"))
    # too few to fit at all
    none = _fit((GAIN_AB, GAIN_BA), 12)
    assert any("could not be fitted" in p for p in none.problems("A", "B"))


def _sim_onsets(n: int) -> np.ndarray:
    return simulate_phase_correction(DUET, n_events=n, n_runs=1, seed=2).onset_sec[0]


def test_a_pause_is_not_an_interval_and_a_window_with_no_notes_has_no_gains():
    onset = _sim_onsets(400)
    pause = (onset[:, 0] > 60.0) & (onset[:, 0] < 120.0)  # both rest for a minute
    table = _table(onset[~pause])
    whole = fit_phase_correction(table)
    # the interval across the pause is left out: the fit is that of the playing
    assert whole.n_events.tolist() == [int((~pause).sum()) - 2] * 2
    edges = np.arange(0.0, onset.max() + 16.0, 16.0)
    windowed = windowed_phase_correction(table, edges_sec=edges)
    quiet = (edges[:-1] >= 64.0) & (edges[1:] <= 120.0)
    assert quiet.any()
    assert np.isnan(windowed.gain("A", "B")[quiet]).all()
    assert np.isnan(windowed.gain("B", "A")[quiet]).all()
    # the window ending at the pause holds no gain measured across it
    before = np.flatnonzero(edges[1:] > 60.0)[0]
    g = windowed.gain("A", "B")[before]
    assert not np.isfinite(g) or abs(g) < 1.0


# ---------------------------------------------------------------- grooves without a chart
def _groove(beats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return groove_strokes(beats, seed=rng)


def test_a_groove_keeps_its_beats_and_adds_8ths_and_16ths_between():
    beats = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    strokes = groove_strokes(beats, sigma_sec=0.0)
    np.testing.assert_allclose(
        strokes, [0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.125, 1.25, 1.375, 1.5, 1.75, 2.0]
    )
    noisy = groove_strokes(beats, seed=3)
    assert np.isin(beats, noisy).all() and noisy.size == strokes.size
    with pytest.raises(InputError):
        groove_strokes(beats[::-1])


def test_a_duet_played_as_a_groove_is_read_on_its_beats():
    """Strokes paired without a chart: on the groove's 8ths and 16ths the constant
    interval the model assumes does not hold and the gains fall toward 0; on the beats
    :func:`beat_events` finds, they come back to the duet's own."""
    rng = np.random.default_rng(0)
    paired, on_beat = [], []
    for seed in range(8):
        runs = simulate_phase_correction(DUET, n_events=160, seed=seed)
        beats = runs.onset_sec[0]
        table = onset_table_from_onsets(
            {"A": _groove(beats[:, 0], rng), "B": _groove(beats[:, 1], rng)}
        )
        kept = beat_events(table)
        # exactly the beats are kept: each the stroke A played on it
        np.testing.assert_array_equal(kept.column("A"), beats[:, 0])
        assert kept.reference_sec is None  # read as a table of beats is
        for target, t in ((paired, table), (on_beat, kept)):
            fit = fit_phase_correction(t)
            target.append([fit.gain("A", "B"), fit.gain("B", "A")])
    assert np.mean(paired, axis=0)[0] < 0.15  # the bias this answers
    np.testing.assert_allclose(np.mean(on_beat, axis=0), [GAIN_AB, GAIN_BA], atol=0.05)


def test_the_beat_is_followed_through_a_duo_that_slows_down():
    """A groove from 128 to 100 BPM: every beat is found, and nothing off the beat."""
    rng = np.random.default_rng(1)
    beat_sec = np.linspace(60 / 128, 60 / 100, 120)
    beats = 1.0 + np.concatenate([[0.0], np.cumsum(beat_sec[:-1])])
    a = beats + rng.normal(0, 0.006, beats.size)
    b = beats + 0.015 + rng.normal(0, 0.006, beats.size)
    table = onset_table_from_onsets({"A": _groove(a, rng), "B": _groove(b, rng)})
    kept = beat_events(table)
    np.testing.assert_array_equal(kept.column("A"), a)
    np.testing.assert_array_equal(kept.column("B"), b)


def test_a_table_of_beats_or_with_a_grid_is_read_as_it_is():
    runs = simulate_phase_correction(DUET, n_events=120, seed=4)
    beats = runs.onset_sec[0]
    table = onset_table_from_onsets({"A": beats[:, 0], "B": beats[:, 1]})
    assert beat_events(table) is table  # steady already
    unsteady = beats.copy()
    unsteady[::3] += 0.15  # every third beat dragged: not one interval, but still beats
    table = onset_table_from_onsets({"A": unsteady[:, 0], "B": unsteady[:, 1]})
    assert beat_events(table) is table
    rng = np.random.default_rng(2)
    strokes = {"A": _groove(beats[:, 0], rng), "B": _groove(beats[:, 1], rng)}
    gridded = onset_table_from_onsets(strokes)
    gridded = OnsetTable.from_columns(
        {n: gridded.column(n) for n in gridded.names}, reference_sec=gridded.column("A")
    )
    assert beat_events(gridded) is gridded  # a chart's or a click's grid is the grid
    few = onset_table_from_onsets({n: s[:12] for n, s in strokes.items()})
    assert beat_events(few) is few


def test_a_player_on_every_other_event_is_fitted_on_their_own_interval():
    """A beginner on half notes beside a partner who also plays the beats between: with
    no grid, only intervals from one event to the next were used, and the beginner had
    none. Each player's nominal interval is now their own usual one."""
    rng = np.random.default_rng(3)
    gains = []
    for seed in range(8):
        halves = simulate_phase_correction(DUET, n_events=200, period_sec=1.0, seed=seed)
        a, b = halves.onset_sec[0, :, 0], halves.onset_sec[0, :, 1]
        between = a[:-1] + np.diff(a) / 2 + rng.normal(0, 0.005, a.size - 1)
        table = onset_table_from_onsets({"A": np.sort(np.r_[a, between]), "B": b})
        fit = fit_phase_correction(table)
        assert fit.n_events[table.names.index("B")] >= 190
        gains.append(fit.gain("B", "A"))
    assert np.mean(gains) == pytest.approx(GAIN_BA, abs=0.05)


def test_only_a_grooves_strokes_need_librosa(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the audio extra a table of beats is still read; a groove says what to add."""
    import cymbalism.analysis.coupling as coupling
    from cymbalism.errors import MissingExtraError

    def missing(module: str, extra: str) -> None:
        raise MissingExtraError(f"this needs the optional package {module!r}")

    monkeypatch.setattr(coupling, "require", missing)
    beats = simulate_phase_correction(DUET, n_events=60, seed=1).onset_sec[0]
    table = onset_table_from_onsets({"A": beats[:, 0], "B": beats[:, 1]})
    assert beat_events(table) is table
    rng = np.random.default_rng(0)
    groove = onset_table_from_onsets({n: _groove(beats[:, k], rng) for k, n in enumerate("AB")})
    with pytest.raises(MissingExtraError, match="librosa"):
        beat_events(groove)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), bpm=st.floats(70.0, 170.0))
def test_beat_events_keeps_rows_of_the_table_in_order(seed: int, bpm: float) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 80))
    beats = 0.5 + np.arange(n) * 60.0 / bpm + rng.normal(0, 0.01, n)
    strokes = {"A": _groove(beats, rng), "B": _groove(beats + 0.01, rng)}
    strokes["B"] = strokes["B"][rng.random(strokes["B"].size) > 0.2]  # B leaves some out
    table = onset_table_from_onsets(strokes)
    kept = beat_events(table)
    rows = {tuple(r) for r in np.nan_to_num(table.onset_sec, nan=-1.0)}
    got = np.nan_to_num(kept.onset_sec, nan=-1.0)
    assert all(tuple(r) in rows for r in got)
    when = kept.event_time_sec()
    assert np.all(np.diff(when) > 0)
    assert kept.n_events <= table.n_events
