"""Per-player timing figures and between-player synchrony."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.analysis.align import align
from cymbalism.analysis.sync import (
    Asynchrony,
    asynchrony,
    asynchrony_unaligned,
    came_together,
    sync_stats,
    windowed_sync,
)
from cymbalism.analysis.timing import (
    kept_tempo,
    timing_by_bar,
    timing_by_lane,
    timing_stats,
    windowed_timing,
)
from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

TM = TempoMap.constant(120.0)  # a bar of 4/4 is 2 s


def groove(n_bars: int) -> Hits:
    """Kick on 1 and 3, snare on 2 and 4, hi-hat 8ths."""
    qn = np.arange(0, 4 * n_bars, 0.5)
    hh = Hits.from_arrays(TM.qn_to_sec(qn), Lane.HIHAT_CLOSED)
    beats = np.arange(0, 4 * n_bars, 1.0)
    kick_snare = np.where(beats % 2 == 0, Lane.KICK, Lane.SNARE)
    return Hits.concat([hh, Hits.from_arrays(TM.qn_to_sec(beats), kick_snare)])


def test_timing_stats_recover_known_offsets_per_lane_and_bar():
    notes = groove(8)
    rng = np.random.default_rng(3)
    jitter = rng.normal(0, 0.004, len(notes))
    offset = np.select([notes.lane == Lane.KICK, notes.lane == Lane.SNARE], [-0.010, 0.015], 0.005)
    played = notes.onset_sec + offset + jitter
    keep = np.ones(len(notes), bool)
    keep[[3, 10]] = False  # two misses
    extra = Hits.from_arrays([0.3, 5.3], Lane.CRASH)
    hits = Hits.concat([Hits.from_arrays(played[keep], notes.lane[keep]), extra])
    al = align(hits, notes)
    st_all = timing_stats(al)
    assert (st_all.n_notes, st_all.n_hit, st_all.n_miss, st_all.n_extra) == (
        len(notes),
        len(notes) - 2,
        2,
        2,
    )
    err = (offset + jitter)[keep]
    assert st_all.mean_error_sec == pytest.approx(err.mean(), abs=1e-12)
    assert st_all.sd_error_sec == pytest.approx(err.std(ddof=1), abs=1e-12)
    assert st_all.mean_abs_error_sec == pytest.approx(np.abs(err).mean(), abs=1e-12)
    by_lane = timing_by_lane(al)
    assert set(by_lane) == {Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.CRASH}
    assert by_lane[Lane.KICK].mean_error_sec == pytest.approx(-0.010, abs=0.004)
    assert by_lane[Lane.SNARE].mean_error_sec == pytest.approx(0.015, abs=0.004)
    assert by_lane[Lane.CRASH].n_notes == 0 and by_lane[Lane.CRASH].n_extra == 2
    by_bar = timing_by_bar(al, TM)
    assert list(by_bar) == list(range(8))
    assert sum(s.n_notes for s in by_bar.values()) == len(notes)
    assert by_bar[0].n_extra == 1 and by_bar[2].n_extra == 1  # at 0.3 s and 5.3 s
    assert by_bar[1].n_miss + by_bar[0].n_miss == 2  # notes 3 and 10 are in the first 4 s


def test_windowed_timing_follows_a_player_who_improves():
    notes = Hits.from_arrays(TM.qn_to_sec(np.arange(0, 240, 0.5)), Lane.SNARE)  # 2 minutes
    rng = np.random.default_rng(0)
    sd = np.where(notes.onset_sec < 60, 0.030, 0.005)
    hits = Hits.from_arrays(notes.onset_sec + rng.normal(0, sd), Lane.SNARE)
    w = windowed_timing(align(hits, notes, window_sec=0.2), window_sec=10, hop_sec=5)
    assert w.time_sec[0] == 0.0 and w.time_sec[1] == 5.0
    early = w.sd_error_sec[(w.time_sec > 10) & (w.time_sec < 50)]
    late = w.sd_error_sec[w.time_sec > 70]
    assert early.min() > 0.02 and late.max() < 0.008
    assert (w.hit_rate[1:-1] == 1.0).all() and (w.n_extra == 0).all()


def test_asynchrony_is_a_minus_b_at_shared_positions_with_chords_averaged():
    notes = groove(4)
    a = align(notes.shifted(0.010), notes)
    # B plays only the kick and snare, 5 ms early; the hi-hat-only positions are not shared
    ks = notes.select(notes.lane != Lane.HIHAT_CLOSED)
    b = align(ks.shifted(-0.005), ks)
    asy = asynchrony(a, b)
    assert len(asy) == 16
    np.testing.assert_allclose(asy.asynchrony_sec, 0.015, atol=1e-12)
    np.testing.assert_allclose(asy.time_sec, TM.qn_to_sec(np.arange(16.0)))
    # A's kick and hi-hat at one position: A's onset there is their mean
    lanes = notes.lane.copy()
    played = notes.onset_sec + np.where(lanes == Lane.KICK, 0.020, 0.0)
    a2 = align(Hits.from_arrays(played, lanes), notes)
    asy2 = asynchrony(a2, align(notes, notes))
    assert asy2.asynchrony_sec[0] == pytest.approx(0.010)  # (20 + 0) / 2 ms on beat 1
    assert asy2.asynchrony_sec[1] == pytest.approx(0.0)  # hi-hat only on the "and"
    st_ = sync_stats(asy)
    assert (st_.n, st_.mean_sec, st_.mean_abs_sec) == (
        16,
        pytest.approx(0.015),
        pytest.approx(0.015),
    )
    assert st_.sd_sec == pytest.approx(0.0, abs=1e-12)


@given(st.integers(0, 2**32 - 1))
def test_asynchrony_is_antisymmetric(seed):
    rng = np.random.default_rng(seed)
    notes = groove(4)
    players = []
    for _ in range(2):
        keep = rng.random(len(notes)) > 0.2
        t = notes.onset_sec[keep] + rng.normal(0, 0.03, keep.sum())
        players.append(align(Hits.from_arrays(t.clip(0), notes.lane[keep]), notes))
    ab, ba = asynchrony(*players), asynchrony(*players[::-1])
    np.testing.assert_array_equal(ab.time_sec, ba.time_sec)
    np.testing.assert_array_equal(ab.asynchrony_sec, -ba.asynchrony_sec)
    h0, h1 = players[0].hits, players[1].hits
    for blind in (False, True):
        u_ab = asynchrony_unaligned(h0, h1, window_sec=0.1, lane_blind=blind)
        u_ba = asynchrony_unaligned(h1, h0, window_sec=0.1, lane_blind=blind)
        np.testing.assert_allclose(u_ab.asynchrony_sec, -u_ba.asynchrony_sec)


def test_unaligned_asynchrony_matches_like_mir_eval():
    rng = np.random.default_rng(7)
    a = np.sort(rng.uniform(0, 20, 80))
    b = np.sort(np.concatenate([a[10:] + 0.012 + rng.normal(0, 0.005, 70), [3.33, 7.77]]))
    asy = asynchrony_unaligned(Hits.from_arrays(a, 0), Hits.from_arrays(b, 0), window_sec=0.05)
    assert len(asy) == len(mir_eval.util.match_events(a, b, 0.05))
    assert sync_stats(asy).mean_sec == pytest.approx(-0.012, abs=0.002)
    lanes_a = np.zeros(a.size, int)
    lanes_a[::2] = 1
    per_lane = asynchrony_unaligned(Hits.from_arrays(a, lanes_a), Hits.from_arrays(a, 0))
    assert len(per_lane) == (lanes_a == 0).sum()  # lane-1 hits have no partner lane
    # an open hi-hat pairs with a closed one: one drum
    hats_a = np.where(lanes_a == 0, Lane.HIHAT_OPEN, Lane.HIHAT_PEDAL)
    hats = asynchrony_unaligned(Hits.from_arrays(a, hats_a), Hits.from_arrays(a, Lane.HIHAT_CLOSED))
    assert len(hats) == (lanes_a == 0).sum()  # the pedal is a drum of its own


def test_came_together_finds_when_the_spread_settles():
    t = np.arange(0, 180, 0.25)
    rng = np.random.default_rng(1)
    spread = np.where(t < 60, 0.060, 0.008)
    asy = Asynchrony(t, rng.normal(0, spread))
    when = came_together(asy, threshold_sec=0.030, window_sec=8, hop_sec=1)
    assert when is not None and 60 <= when <= 66  # first window clear of the noisy part
    w = windowed_sync(asy, window_sec=8, hop_sec=1)
    assert (w.sd_sec[w.time_sec >= when] < 0.030).all()
    # apart again at the end: they never came together for good
    spread2 = np.where((t < 60) | (t > 170), 0.060, 0.008)
    assert came_together(Asynchrony(t, rng.normal(0, spread2))) is None
    # together from the start
    assert came_together(Asynchrony(t, rng.normal(0, 0.005, t.size))) == 0.0
    assert came_together(Asynchrony(np.empty(0), np.empty(0))) is None


def test_came_together_when_the_gap_closes_not_only_when_it_is_steady():
    # B starts 90 ms behind A and closes the gap steadily, to 10 ms at 40 s, with a
    # spread of 5 ms: steady all along, together only once the gap is within 30 ms
    t = np.arange(0, 60, 0.25)
    gap = np.interp(t, [0.0, 40.0], [0.090, 0.010])
    noise = np.random.default_rng(3).normal(0, 0.005, t.size)
    when = came_together(Asynchrony(t, -gap + noise), window_sec=8, hop_sec=1)
    assert when is not None and 29 <= when <= 31  # the gap passes 30 ms at 30 s
    # a steady gap of 40 ms either way is never together; 25 ms is, from the start
    for lag in (0.040, -0.040):
        assert came_together(Asynchrony(t, lag + noise)) is None
    assert came_together(Asynchrony(t, 0.025 + noise)) == 0.0
    with pytest.raises(InputError, match="gap_sec"):
        came_together(Asynchrony(t, noise), gap_sec=0)


def test_bad_input_gets_its_own_error():
    asy = Asynchrony(np.arange(10.0), np.zeros(10))
    with pytest.raises(InputError, match="milliseconds"):
        came_together(asy, threshold_sec=30)
    with pytest.raises(InputError, match="min_count"):
        came_together(asy, min_count=1)
    with pytest.raises(InputError, match="hop_sec"):
        windowed_sync(asy, hop_sec=0)
    with pytest.raises(InputError, match="Alignment"):
        asynchrony(asy, asy)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be Hits"):
        asynchrony_unaligned(np.zeros(3), Hits.empty())  # type: ignore[arg-type]


def test_timing_stats_over_a_span_counts_its_notes_and_extras():
    notes = Hits.from_arrays(np.arange(0.0, 10.0, 0.5), Lane.SNARE)
    played = notes.onset_sec + np.where(notes.onset_sec < 5, 0.020, -0.010)
    hits = Hits.concat([Hits.from_arrays(played, Lane.SNARE), Hits.from_arrays([2.25, 7.25], 0)])
    al = align(hits, notes)
    first = timing_stats(al, end_sec=5.0)
    second = timing_stats(al, start_sec=5.0)
    assert (first.n_notes, first.n_extra, second.n_notes, second.n_extra) == (10, 1, 10, 1)
    assert first.mean_error_sec == pytest.approx(0.020)
    assert second.mean_error_sec == pytest.approx(-0.010)
    assert timing_stats(al, start_sec=20.0).n_notes == 0


@given(
    st.lists(
        st.tuples(st.floats(-0.05, 0.05) | st.just(float("nan")), st.integers(0, 9)),
        min_size=0,
        max_size=60,
    )
)
def test_grouped_moments_equal_the_moments_of_each_group(pairs):
    from cymbalism.analysis.windows import grouped_moments, moments

    values = np.array([v for v, _ in pairs], dtype=np.float64)
    group = np.array([g for _, g in pairs], dtype=np.int64)
    n, mean, sd, mean_abs = grouped_moments(values, group, 10)
    for g in range(10):
        m = moments(values[group == g])
        assert n[g] == m.n
        np.testing.assert_allclose(
            [mean[g], sd[g], mean_abs[g]], [m.mean, m.sd, m.mean_abs], rtol=1e-9, atol=1e-15
        )


def test_kept_tempo_recovers_the_tempo_played_on_a_sparse_part() -> None:
    # A beginner's part, a kick on 1 and a snare on 3, at 114 BPM and from bar 33 at
    # 126 BPM. The player drags and pushes in turn: for 8 s each hit falls 1.25% of the
    # time since the last later than the notes, then 8 s earlier (at most 50 ms off the
    # notes, so every hit stays matched). In a window inside one of those stretches the
    # tempo they kept is the song's divided by (1 + 0.0125) or (1 - 0.0125), exactly.
    tm = TempoMap([(0.0, 114.0), (128.0, 126.0)])
    qn = np.arange(0.0, 256.0, 2.0)
    notes = Hits.from_arrays(tm.qn_to_sec(qn), np.where(qn % 4 == 0, Lane.KICK, Lane.SNARE))
    t = notes.onset_sec
    phase = np.mod(t, 16.0)
    drift = np.where(phase < 8.0, -0.05 + 0.0125 * phase, 0.05 - 0.0125 * (phase - 8.0))
    rng = np.random.default_rng(7)
    keep = rng.random(t.size) > 0.1  # a few notes missed
    played = Hits.from_arrays(
        t[keep] + drift[keep] + rng.normal(0, 0.003, keep.sum()), notes.lane[keep]
    )
    alignment = align(played, notes)
    assert alignment.n_hit == keep.sum()
    bpm, curve = kept_tempo(alignment, tm, window_sec=6.0, hop_sec=1.0)
    checked = 0
    for c, got in zip(curve.time_sec, curve.bpm, strict=True):
        lo, hi = c - 3.0, c + 3.0
        song = float(tm.bpm_at(tm.sec_to_qn(c)))
        songs = {float(tm.bpm_at(tm.sec_to_qn(x))) for x in (lo, hi)}
        if np.floor(lo / 8.0) != np.floor(hi / 8.0) or songs != {song}:
            continue  # the window straddles a turn of the player or of the song
        slope = 1.0 + (0.0125 if np.mod(c, 16.0) < 8.0 else -0.0125)
        assert got == pytest.approx(song / slope, abs=0.5), c
        checked += 1
    assert checked >= 10
    # over the whole song: its mean tempo (the pushing and dragging cancel out)
    song_mean = 60.0 * qn[-1] / (tm.qn_to_sec(qn[-1]) - tm.qn_to_sec(0.0))
    assert bpm == pytest.approx(song_mean, abs=0.5)


def test_drift_is_measured_against_the_song_not_its_tempo_changes() -> None:
    """A song at 100 BPM, then 140 from bar 17, then 80 from bar 33: a player on every
    note did not drift, yet their drift read -17 BPM per minute, the song's own changes.
    A player who slows steadily against the song (each note c t^2 late, t its time in the
    song: 60 ms by the end) drifts -2 c 60 BPM per minute times the song's tempo, on the
    held song, and about as much on the changing one."""
    c = 4.5e-6  # seconds late per second squared
    steady = TempoMap.constant(100.0)
    changes = TempoMap([(0.0, 100.0), (64.0, 140.0), (128.0, 80.0)])
    qn = np.arange(0.0, 192.0, 0.5)
    drifts = []
    for tm in (steady, changes):
        notes = Hits.from_arrays(tm.qn_to_sec(qn), np.where(qn % 1 == 0, Lane.KICK, Lane.SNARE))
        exact = align(notes, notes)
        _, curve = kept_tempo(exact, tm, window_sec=12.0, hop_sec=2.0)
        assert curve.drift_bpm_per_min == pytest.approx(0.0, abs=1e-6)
        late = c * notes.onset_sec**2
        assert late.max() < 0.075
        slow = align(Hits.from_arrays(notes.onset_sec + late, notes.lane), notes)
        assert slow.n_hit == len(notes)
        drifts.append(kept_tempo(slow, tm, window_sec=12.0, hop_sec=2.0)[1].drift_bpm_per_min)
    assert drifts[0] == pytest.approx(-2 * c * 60 * 100.0, rel=0.1)
    # against 100 / 140 / 80 BPM in turn, jumping at each change: a drift of the same
    # sign and size (it was -17 BPM per minute)
    assert 1.5 * drifts[0] < drifts[1] < 0.5 * drifts[0]


def test_kept_tempo_needs_enough_notes_in_a_window() -> None:
    tm = TempoMap.constant(120.0)
    qn = np.arange(0.0, 64.0, 1.0)
    notes = Hits.from_arrays(tm.qn_to_sec(qn), Lane.KICK)
    rest = (qn >= 16) & (qn < 40)  # the player stops for 12 s
    alignment = align(notes.select(np.flatnonzero(~rest)), notes)
    bpm, curve = kept_tempo(alignment, tm, window_sec=4.0, hop_sec=1.0)
    assert bpm == pytest.approx(120.0, abs=1e-6)
    silent = (curve.time_sec > 8.0 + 2.0) & (curve.time_sec < 20.0 - 2.0)
    assert silent.any() and np.isnan(curve.bpm[silent]).all()
    assert np.allclose(curve.bpm[~np.isnan(curve.bpm)], 120.0)
    empty = align(Hits.empty(), notes)
    bpm, curve = kept_tempo(empty, tm)
    assert np.isnan(bpm) and curve.bpm.size == 0
