"""Alignment of hits to chart notes, and one-to-one matching of two onset lists."""

from __future__ import annotations

import json
from pathlib import Path

import mir_eval
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cymbalism.analysis.align import (
    Alignment,
    OnlineAligner,
    align,
    as_heard,
    grid_targets,
    match_events,
    name_heard_drums,
    named_counts,
)
from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import JUDGED_AS, Lane
from cymbalism.model.tempo import TempoMap

FIXTURES = Path(__file__).resolve().parents[1] / "data"
TICK = 1.0 / 1024  # a dyadic step: sums and differences of these are exact in float64


def reference_align(hits: Hits, targets: Hits, window_sec: float, lane_blind: bool) -> np.ndarray:
    """The causal rule written as plainly as possible, one hit and one note at a time."""

    def drum(lane: int) -> Lane:
        return JUDGED_AS.get(Lane(lane), Lane(lane))

    hit_index = [-1] * len(targets)
    for i in range(len(hits)):
        h, lane = float(hits.onset_sec[i]), drum(int(hits.lane[i]))
        best, best_d = -1, np.inf
        for j in range(len(targets)):
            g = float(targets.onset_sec[j])
            if hit_index[j] >= 0 or not (lane_blind or drum(int(targets.lane[j])) == lane):
                continue
            if g < h - window_sec or g > h + window_sec:
                continue
            d = abs(h - g)
            if d < best_d:  # strict: an exact tie keeps the earlier note
                best, best_d = j, d
        if best >= 0:
            hit_index[best] = i
    return np.asarray(hit_index, dtype=np.int64)


def online(hits: Hits, targets: Hits, window_sec: float, lane_blind: bool) -> Alignment:
    aligner = OnlineAligner(targets, window_sec=window_sec, lane_blind=lane_blind)
    for t, lane, vel in zip(hits.onset_sec, hits.lane, hits.velocity, strict=True):
        aligner.push(float(t), int(lane), velocity=int(vel))
    return aligner.finish()


def onsets(max_size: int = 40) -> st.SearchStrategy[list[tuple[int, int]]]:
    """(tick, lane) pairs on a coarse grid, so hits collide with notes and with each other;
    lanes 0-3: kick, snare and the hi-hat closed and open (one drum)."""
    return st.lists(
        st.tuples(st.integers(0, 400), st.integers(0, 3)), min_size=0, max_size=max_size
    )


def to_hits(pairs: list[tuple[int, int]], offset_ticks: int = 0) -> Hits:
    if not pairs:
        return Hits.empty()
    t = np.array([p[0] + offset_ticks for p in pairs], dtype=np.float64) * TICK * 8
    return Hits.from_arrays(t, [p[1] for p in pairs])


@given(hits=onsets(), notes=onsets(), window=st.integers(1, 40), lane_blind=st.booleans())
def test_align_follows_the_causal_rule_and_equals_online(hits, notes, window, lane_blind):
    h, g = to_hits(hits), to_hits(notes)
    w = window * TICK
    off = align(h, g, window_sec=w, lane_blind=lane_blind)
    np.testing.assert_array_equal(off.hit_index, reference_align(h, g, w, lane_blind))
    assert off == online(h, g, w, lane_blind)


@given(
    hits=onsets(),
    notes=onsets(),
    window=st.integers(1, 40),
    shift=st.integers(-2000, 2000),
    lane_blind=st.booleans(),
)
def test_alignment_unchanged_when_hits_and_chart_shift_together(
    hits, notes, window, shift, lane_blind
):
    w = window * TICK
    before = align(to_hits(hits), to_hits(notes), window_sec=w, lane_blind=lane_blind)
    after = align(to_hits(hits, shift), to_hits(notes, shift), window_sec=w, lane_blind=lane_blind)
    np.testing.assert_array_equal(before.hit_index, after.hit_index)
    np.testing.assert_array_equal(before.extra_index, after.extra_index)
    np.testing.assert_allclose(before.error_sec, after.error_sec, atol=1e-12)


@given(st.integers(0, 2**32 - 1))
def test_online_equals_offline_on_dense_random_performances(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    notes = Hits.from_arrays(np.sort(rng.uniform(0, 30, n)), rng.integers(0, 4, n))
    keep = rng.random(n) > 0.2
    played = notes.onset_sec[keep] + rng.normal(0, 0.04, keep.sum())
    extra = rng.uniform(0, 30, int(rng.integers(0, 30)))
    lanes = np.concatenate([notes.lane[keep], rng.integers(0, 4, extra.size)])
    hits = Hits.from_arrays(np.concatenate([played, extra]).clip(0), lanes)
    for lane_blind in (False, True):
        off = align(hits, notes, window_sec=0.075, lane_blind=lane_blind)
        assert off == online(hits, notes, 0.075, lane_blind)
        np.testing.assert_array_equal(
            off.hit_index, reference_align(hits, notes, 0.075, lane_blind)
        )


def test_known_offsets_are_recovered_exactly():
    tm = TempoMap.constant(114.0)
    qn = np.arange(0, 64, 0.5)
    lanes = np.where(np.arange(qn.size) % 2 == 0, Lane.KICK, Lane.HIHAT_CLOSED)
    notes = Hits.from_arrays(tm.qn_to_sec(qn), lanes)
    offsets = np.where(lanes == Lane.KICK, -0.012, 0.021)
    hits = Hits.from_arrays(notes.onset_sec + offsets, lanes)
    al = align(hits, notes)
    assert al.n_hit == len(notes) and al.n_miss == 0 and al.n_extra == 0
    np.testing.assert_allclose(al.error_sec, offsets, atol=1e-12)
    assert al.hit_rate == 1.0


def test_misses_extras_and_wrong_lanes():
    notes = Hits.from_arrays([1.0, 2.0, 3.0], [Lane.KICK, Lane.SNARE, Lane.KICK])
    hits = Hits.from_arrays([1.01, 1.5, 2.02, 3.2], [Lane.KICK, Lane.KICK, Lane.KICK, Lane.KICK])
    al = align(hits, notes, window_sec=0.075)
    assert al.hit_index.tolist() == [0, -1, -1]  # the snare was played on the kick
    assert al.extra_index.tolist() == [1, 2, 3]
    assert (al.n_hit, al.n_miss, al.n_extra) == (1, 2, 3)
    assert np.isnan(al.error_sec[1])
    assert al.target_index.tolist() == [0, -1, -1, -1]
    blind = align(hits, notes, window_sec=0.075, lane_blind=True)
    assert blind.hit_index.tolist() == [0, 2, -1]
    assert blind.error_sec[1] == pytest.approx(0.02)


def test_a_hit_takes_the_nearest_free_note_not_the_oldest():
    notes = Hits.from_arrays([1.0, 1.1], Lane.SNARE)
    hits = Hits.from_arrays([1.07, 1.09], Lane.SNARE)
    al = align(hits, notes)
    # 1.07 is nearer 1.1; then 1.09 can only take 1.0 (0.09 > 0.075), so it is extra
    assert al.hit_index.tolist() == [-1, 0]
    assert al.extra_index.tolist() == [1]


def test_online_aligner_reports_judgements_and_misses_live():
    notes = Hits.from_arrays([1.0, 2.0, 3.0], Lane.SNARE)
    aligner = OnlineAligner(notes, window_sec=0.05)
    j = aligner.push(1.02, Lane.SNARE)
    assert j is not None and j.target_index == 0 and j.error_sec == pytest.approx(0.02)
    assert aligner.misses_until(2.04).tolist() == []
    assert aligner.misses_until(2.06).tolist() == [1]
    assert aligner.misses_until(2.5).tolist() == []  # reported once
    assert aligner.push(2.9, Lane.SNARE) is None
    assert aligner.push(2.99, Lane.SNARE).target_index == 2
    assert aligner.n_pushed == 3
    assert aligner.finish().hit_index.tolist() == [0, -1, 2]


def test_bad_input_gets_its_own_error():
    notes = Hits.from_arrays([1.0, 2.0], 0)
    with pytest.raises(InputError, match="milliseconds"):
        align(notes, notes, window_sec=75)
    with pytest.raises(InputError, match="positive"):
        align(notes, notes, window_sec=0)
    with pytest.raises(InputError, match="must be Hits"):
        align([1.0, 2.0], notes)  # type: ignore[arg-type]
    unsorted = Hits(np.array([2.0, 1.0]), np.zeros(2, np.int8), np.full(2, 100, np.int16))
    with pytest.raises(InputError, match="sorted"):
        align(unsorted, notes)
    aligner = OnlineAligner(notes)
    aligner.push(1.0, 0)
    with pytest.raises(InputError, match="time order"):
        aligner.push(0.5, 0)
    with pytest.raises(InputError, match="finite"):
        aligner.push(float("nan"), 0)
    with pytest.raises(InputError, match="lane"):
        aligner.push(1.5, 42)
    with pytest.raises(InputError, match="sorted"):
        match_events(np.array([2.0, 1.0]), np.array([1.0]), window_sec=0.05)
    with pytest.raises(InputError, match="subdivisions"):
        grid_targets(notes, TempoMap.constant(120), subdivisions=(0,))


def test_match_events_agrees_with_mir_eval_on_its_test_vectors():
    folder = FIXTURES / "mir_eval_onset"
    refs = sorted(folder.glob("ref*.txt"))
    assert len(refs) >= 5
    for ref_path in refs:
        ref = np.sort(np.loadtxt(ref_path, ndmin=1))
        est = np.sort(np.loadtxt(folder / ref_path.name.replace("ref", "est"), ndmin=1))
        expected = json.loads(
            (folder / ref_path.name.replace("ref", "output").replace(".txt", ".json")).read_text()
        )
        ia, ib = match_events(ref, est, window_sec=0.05)
        precision = ia.size / est.size if est.size else 0.0
        recall = ia.size / ref.size if ref.size else 0.0
        f = 2 * precision * recall / (precision + recall) if ia.size else 0.0
        assert f == pytest.approx(expected["F-measure"], abs=1e-12), ref_path.name
        assert precision == pytest.approx(expected["Precision"], abs=1e-12)
        assert recall == pytest.approx(expected["Recall"], abs=1e-12)
        assert (np.abs(ref[ia] - est[ib]) <= 0.05).all()


@given(st.integers(0, 2**32 - 1))
def test_match_events_is_a_largest_matching_and_no_longer_than_mir_evals(seed):
    rng = np.random.default_rng(seed)
    a = np.sort(rng.uniform(0, 5, int(rng.integers(0, 60))))
    kept = a[rng.random(a.size) > 0.3]
    b = np.concatenate([kept + rng.normal(0, 0.03, kept.size), rng.uniform(0, 5, 10)])
    b = np.sort(b)
    ia, ib = match_events(a, b, window_sec=0.05)
    theirs = mir_eval.util.match_events(a, b, 0.05)
    assert ia.size == len(theirs)
    assert len(set(ia.tolist())) == ia.size and len(set(ib.tolist())) == ib.size
    assert (np.abs(a[ia] - b[ib]) <= 0.05).all()
    assert (np.diff(ia) > 0).all() and (np.diff(ib) > 0).all()
    if theirs:
        ta, tb = np.array(theirs).T
        assert np.abs(a[ia] - b[ib]).sum() <= np.abs(a[ta] - b[tb]).sum() + 1e-12


def test_match_events_prefers_near_pairs_among_largest_matchings():
    a = np.array([0.0, 0.125, 0.25])
    b = np.array([0.07, 0.19])
    ia, ib = match_events(a, b, window_sec=0.075)
    assert ia.tolist() == [1, 2] and ib.tolist() == [0, 1]


def test_grid_targets_recover_microtiming_against_the_click():
    tm = TempoMap.constant(100.0)
    straight = np.arange(0, 32, 0.25)  # 16ths
    swung = np.arange(0, 32, 1.0)[:, None] + np.array([0.0, 2 / 3])  # triplet shuffle
    qn = np.concatenate([straight, swung.ravel()])
    lanes = np.concatenate(
        [np.full(straight.size, Lane.HIHAT_CLOSED), np.full(swung.size, Lane.RIDE)]
    )
    rng = np.random.default_rng(1)
    offsets = rng.uniform(-0.024, 0.024, qn.size)  # the union grid has lines 50 ms apart
    hits = Hits.from_arrays(tm.qn_to_sec(qn) + offsets, lanes)
    targets = grid_targets(hits, tm)
    al = align(hits, targets)
    assert al.n_hit == qn.size and al.n_extra == 0
    per_hit = np.full(len(hits), np.nan)
    per_hit[al.hit_index] = al.error_sec
    order = np.argsort(tm.qn_to_sec(qn) + offsets, kind="stable")
    np.testing.assert_allclose(per_hit, offsets[order], atol=1e-9)


def test_online_aligner_extended_ahead_equals_align_on_all_targets() -> None:
    rng = np.random.default_rng(3)
    targets = Hits.from_arrays(np.sort(rng.uniform(0, 20, 200)), rng.integers(0, 3, 200))
    hits = Hits.from_arrays(targets.onset_sec + rng.normal(0, 0.03, 200), targets.lane.astype(int))
    online = OnlineAligner(Hits.empty(), window_sec=0.075)
    added = 0
    for t, lane in zip(hits.onset_sec, hits.lane, strict=True):
        # lay notes out one second ahead of the newest hit, as the live engine does
        stop = int(np.searchsorted(targets.onset_sec, t + 1.0))
        if stop > added:
            online.extend(targets.select(np.arange(added, stop)))
            added = stop
        online.push(float(t), int(lane))
    online.extend(targets.select(np.arange(added, len(targets))))
    assert online.finish() == align(hits, targets, window_sec=0.075)


def test_online_aligner_refuses_notes_within_reach_of_judged_hits() -> None:
    online = OnlineAligner(Hits.from_arrays([1.0], 1), window_sec=0.05)
    online.push(1.0, 1)
    with pytest.raises(InputError, match="before the last note"):
        online.extend(Hits.from_arrays([0.5], 1))
    with pytest.raises(InputError, match="within reach"):
        online.extend(Hits.from_arrays([1.04], 1))
    online.extend(Hits.from_arrays([1.2], 1))
    assert len(online.targets) == 2


def test_the_open_and_the_closed_hi_hat_are_one_drum_the_pedal_is_not():
    """A chart's hi-hat (Clone Hero's yellow cymbal) is hit by an e-kit's open hi-hat
    (note 46 whenever the pedal lifts), and an open hi-hat note by a closed one."""
    notes = Hits.from_arrays(
        [0.5, 1.0, 1.5], [Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.HIHAT_CLOSED]
    )
    hits = Hits.from_arrays(
        [0.51, 0.99, 1.5], [Lane.HIHAT_OPEN, Lane.HIHAT_CLOSED, Lane.HIHAT_PEDAL]
    )
    for result in (align(hits, notes), online(hits, notes, 0.075, False)):
        np.testing.assert_array_equal(result.hit_index, [0, 1, -1])
        np.testing.assert_array_equal(result.extra_index, [2])  # the pedal is its own drum
        np.testing.assert_allclose(result.error_sec[:2], [0.01, -0.01], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    offset=st.floats(-30.0, 60.0, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
    lane_blind=st.booleans(),
)
def test_find_offset_places_a_played_song_where_it_was_played(offset, seed, lane_blind):
    """A whole song played by two players (timing noise, missed notes, extra hits) into
    a recording that started ``offset`` before it: found again, to the players' mean
    timing, by the drums or by the hits alone."""
    from cymbalism.analysis.align import find_offset
    from cymbalism.io.charts import load_chart
    from cymbalism.model.chart import Level

    song = load_chart("mirrorball")
    rng = np.random.default_rng(seed)
    parts = [song.targets(Level.EXPERT), song.targets(Level.EASY)]
    played, errors = [], []
    for notes in parts:
        keep = rng.random(len(notes)) > 0.15
        err = rng.normal(rng.uniform(-0.02, 0.02), 0.015, int(keep.sum()))
        extra = rng.uniform(0.0, song.end_sec, 20)
        t = np.concatenate([notes.onset_sec[keep] + err, extra]) + offset
        lane = np.concatenate([notes.lane[keep], rng.integers(0, len(Lane), extra.size)])
        played.append(Hits.from_arrays(t, lane))
        errors.append(err)
    found = find_offset(played, parts, lane_blind=lane_blind)
    assert found.offset_sec == pytest.approx(offset + np.mean(np.concatenate(errors)), abs=0.004)
    assert found.matched >= 0.8 * found.notes
    assert found.margin > (0.02 if lane_blind else 0.1)  # a bar away fits the groove too


def test_find_offset_needs_hits_and_notes():
    from cymbalism.analysis.align import find_offset

    notes = Hits.from_arrays([0.5, 1.0], Lane.KICK)
    with pytest.raises(InputError, match="nothing to place"):
        find_offset([Hits.empty()], [notes])
    with pytest.raises(InputError, match="1 players' hits for 2 parts"):
        find_offset([notes], [notes, notes])


#: What the default kit names a ride and a mid tom (it has no template of either).
HEARD = {Lane.RIDE: (Lane.HIHAT_CLOSED, Lane.CRASH), Lane.TOM_MID: (Lane.TOM_HIGH, Lane.TOM_FLOOR)}


def test_strokes_of_a_drum_heard_as_another_take_the_drum_of_the_note_they_play() -> None:
    # a ride pattern with a hi-hat chick, a fill down the high and mid toms
    notes = Hits.from_arrays(
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.1, 1.2, 1.3],
        [Lane.RIDE, Lane.HIHAT_CLOSED, Lane.RIDE, Lane.HIHAT_CLOSED,
         Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_HIGH, Lane.TOM_MID],
    )  # fmt: skip
    late = np.array([0.012, -0.008, 0.02, 0.0, 0.005, -0.01, 0.015, 0.004])
    heard = as_heard(notes, HEARD)  # every stroke named as the kit hears it
    played = Hits.from_arrays(
        np.append(notes.onset_sec + late, 2.0), np.append(heard.lane, Lane.HIHAT_CLOSED)
    )
    named = name_heard_drums(played, notes, HEARD)
    # each stroke on a ride or mid-tom note takes that drum; the one on no note keeps its
    assert named.lane.tolist() == [*notes.lane.tolist(), Lane.HIHAT_CLOSED]
    np.testing.assert_array_equal(named.onset_sec, played.onset_sec)
    np.testing.assert_array_equal(named.velocity, played.velocity)
    assert named_counts(played, named) == {
        (Lane.TOM_HIGH, Lane.TOM_MID): 2,
        (Lane.HIHAT_CLOSED, Lane.RIDE): 2,
    }
    al = align(named, notes)
    assert al.n_hit == len(notes) and al.n_extra == 1
    np.testing.assert_allclose(al.error_sec, late, atol=1e-12)
    # as heard, the ride and the mid tom are never hit and their strokes are extra
    as_read = align(played, notes)
    assert as_read.n_hit == 4 and as_read.n_extra == 5
    # a mid tom tuned low, heard as the floor tom, is the mid tom too; a floor tom stays
    toms = Hits.from_arrays([0.0, 0.5], [Lane.TOM_MID, Lane.TOM_FLOOR])
    low = Hits.from_arrays([0.01, 0.49], [Lane.TOM_FLOOR, Lane.TOM_FLOOR])
    assert name_heard_drums(low, toms, HEARD).lane.tolist() == [Lane.TOM_MID, Lane.TOM_FLOOR]
    # nothing to name: the same hits back
    assert name_heard_drums(played, notes, {}) is played
    e_kit = Hits.from_arrays(notes.onset_sec, notes.lane)
    assert name_heard_drums(e_kit, notes, HEARD) == e_kit  # a ride struck as a ride


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_notes=st.integers(0, 30), n_hits=st.integers(0, 40))
def test_naming_heard_drums_changes_only_heard_names_to_drums_heard_so(
    seed: int, n_notes: int, n_hits: int
) -> None:
    rng = np.random.default_rng(seed)
    lanes = np.array([Lane.RIDE, Lane.HIHAT_CLOSED, Lane.TOM_MID, Lane.TOM_HIGH, Lane.KICK])
    notes = Hits.from_arrays(np.sort(rng.uniform(0, 5, n_notes)), rng.choice(lanes, n_notes))
    heard_lanes = np.array([Lane.HIHAT_CLOSED, Lane.TOM_HIGH, Lane.KICK])
    hits = Hits.from_arrays(np.sort(rng.uniform(0, 5, n_hits)), rng.choice(heard_lanes, n_hits))
    named = name_heard_drums(hits, notes, HEARD)
    assert len(named) == len(hits)
    np.testing.assert_array_equal(named.onset_sec, hits.onset_sec)
    changed = named.lane != hits.lane
    for was, now in zip(hits.lane[changed], named.lane[changed], strict=True):
        assert was in HEARD[Lane(int(now))]
    # a changed stroke lies within the window of a note of the drum it took
    for t, lane in zip(named.onset_sec[changed], named.lane[changed], strict=True):
        assert np.any((notes.lane == lane) & (np.abs(notes.onset_sec - t) <= 0.075 + 1e-12))
    # each stroke named so plays a note of the drum it was named
    al = align(named, notes)
    renamed = np.flatnonzero(changed)
    assert np.isin(renamed, al.hit_index).all()
    took = np.isin(al.hit_index, renamed)
    assert (notes.lane[took] == named.lane[al.hit_index[took]]).all()


def test_a_ride_heard_as_the_hi_hat_counts_for_a_four_pad_charts_blue_pad() -> None:
    """In a chart made for four pads (no cymbal markers: read as toms), the blue pad is
    the mid tom, and a ride counts for it; a ride heard as the hi-hat does too, as live."""
    from cymbalism.coaching.simplify import fold_hits, fold_table
    from cymbalism.io.charts import parse_chart_text
    from cymbalism.live.clock import FakeClock
    from cymbalism.live.engine import Engine, LiveOptions
    from cymbalism.model.chart import Level
    from cymbalism.model.session import Player, Settings

    body = "\n".join(f"  {t} = N {pad} 0" for t in range(0, 1536, 192) for pad in (0, 3))
    text = "[Song]\n{\n  Resolution = 192\n}\n[SyncTrack]\n{\n  0 = B 120000\n}\n"
    chart = parse_chart_text(text + f"[ExpertDrums]\n{{\n{body}\n}}\n")
    notes = chart.targets(Level.EXPERT)
    assert chart.four_pads and set(notes.lane.tolist()) == {Lane.KICK, Lane.TOM_MID}
    heard = Hits.from_arrays(notes.onset_sec + 0.01, np.where(notes.lane == Lane.KICK, 0, 2))
    table = fold_table(Level.EXPERT, chart=chart)
    named = name_heard_drums(heard, notes, HEARD, counts_as=table)
    assert (named.lane[notes.lane == Lane.TOM_MID] == Lane.RIDE).all()  # struck as the ride
    assert align(fold_hits(named, Level.EXPERT, chart=chart), notes).n_hit == len(notes)
    # without the chart's reading of the pads, the ride has no note to fall on
    assert name_heard_drums(heard, notes, HEARD) == heard
    # live, the same
    clock = FakeClock(5_000_000_000)
    options = LiveOptions(heard_as={"Ana": HEARD})
    engine = Engine(chart, [Player("Ana")], Settings(count_in_bars=0), clock, options=options)
    for t, lane in zip(heard.onset_sec, heard.lane, strict=True):
        clock.set_ns(max(clock.now_ns(), engine.sec_to_ns(float(t))))
        engine.tick()
        engine.push_hit("Ana", int(lane), 100, song_sec=float(t))
    assert engine.finish().session.player("Ana").hits.lane.tolist() == named.lane.tolist()
