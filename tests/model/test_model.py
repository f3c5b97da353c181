"""The pure data model: lanes, tempo maps, hits, charts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import LADDER, Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import GM_NOTE_TO_LANE, Lane, lane_table, notes_to_lanes
from cymbalism.model.tempo import TempoMap


def test_td11_and_gm_notes_map_to_lanes():
    notes = np.array(
        [36, 38, 40, 37, 42, 22, 46, 26, 44, 48, 50, 45, 47, 43, 58, 49, 55, 52, 51, 53, 60]
    )
    lanes = notes_to_lanes(notes)
    assert list(lanes[:-1]) == [
        Lane.KICK, Lane.SNARE, Lane.SNARE, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.HIHAT_CLOSED,
        Lane.HIHAT_OPEN, Lane.HIHAT_OPEN, Lane.HIHAT_PEDAL, Lane.TOM_HIGH, Lane.TOM_HIGH,
        Lane.TOM_MID, Lane.TOM_MID, Lane.TOM_FLOOR, Lane.TOM_FLOOR, Lane.CRASH, Lane.CRASH,
        Lane.CRASH, Lane.RIDE, Lane.RIDE,
    ]  # fmt: skip
    assert lanes[-1] == -1  # middle C is not a drum
    assert lane_table({99: Lane.KICK})[99] == Lane.KICK
    assert set(GM_NOTE_TO_LANE.values()) == set(Lane)


def test_lane_parse_accepts_names():
    assert Lane.parse("SD") is Lane.SNARE
    assert Lane.parse("open hi-hat") is Lane.HIHAT_OPEN
    with pytest.raises(ValueError, match="unknown lane"):
        Lane.parse("cowbell")


def test_tempo_map_by_hand():
    # 4 bars of 4/4 at 120 (2 s each), then 3/4 at 60 BPM (3 s per bar).
    tm = TempoMap([(0.0, 120.0), (16.0, 60.0)], [(0.0, 4, 4), (16.0, 3, 4)])
    assert tm.qn_to_sec(np.array([0.0, 4.0, 16.0, 19.0])).tolist() == [0.0, 2.0, 8.0, 11.0]
    assert tm.sec_to_qn(np.array([1.0, 9.0])).tolist() == [2.0, 17.0]
    bar, beat = tm.qn_to_bar_beat(np.array([0.0, 5.0, 16.0, 20.5]))
    assert bar.tolist() == [0, 1, 4, 5]
    assert beat.tolist() == [0.0, 1.0, 0.0, 1.5]
    assert tm.bar_to_qn(np.array([4, 5, 6])).tolist() == [16.0, 19.0, 22.0]
    assert tm.bar_lines_qn(22.0).tolist() == [0.0, 4.0, 8.0, 12.0, 16.0, 19.0]
    assert tm.beat_grid_qn(19.0, 14.0).tolist() == [14.0, 15.0, 16.0, 17.0, 18.0]


def test_six_eight_beats_are_eighths():
    tm = TempoMap([(0.0, 90.0)], [(0.0, 6, 8)])
    bar, beat = tm.qn_to_bar_beat(np.array([3.0, 4.5]))
    assert bar.tolist() == [1, 1]
    assert beat.tolist() == [0.0, 3.0]


@pytest.mark.parametrize(
    ("tempos", "match"),
    [
        ([(0.0, 0.0)], "must be a positive"),
        ([(0.0, -60.0)], "must be a positive"),
        ([(0.0, float("nan"))], "must be a positive"),
        ([(1.0, 120.0)], "at quarter note 0"),
        ([(0.0, 120.0), (0.0, 90.0)], "strictly increasing"),
        ([], "at least one tempo"),
    ],
)
def test_bad_tempo_maps_are_refused(tempos, match):
    with pytest.raises(InputError, match=match):
        TempoMap(tempos)


def test_any_positive_tempo_is_a_tempo():
    # charts hold the music still with tempos below 1 BPM, and rush with huge ones
    tm = TempoMap([(0.0, 120.0), (4.0, 0.803), (4.5, 250_000.0)])
    assert float(tm.qn_to_sec(4.5)) == pytest.approx(2.0 + 0.5 * 60 / 0.803)
    assert float(tm.qn_to_sec(5.5) - tm.qn_to_sec(4.5)) == pytest.approx(60 / 250_000.0)


def test_a_time_signature_inside_a_bar_starts_a_new_bar():
    # 4/4 from 0, then 3/4 at quarter note 6: bar 1 is cut short to 2 quarter notes
    tm = TempoMap([(0.0, 120.0)], [(0.0, 4, 4), (6.0, 3, 4)])
    assert tm.bar_lines_qn(16.0).tolist() == [0.0, 4.0, 6.0, 9.0, 12.0, 15.0]
    assert tm.bar_length_qn(np.arange(5)).tolist() == [4.0, 2.0, 3.0, 3.0, 3.0]
    bar, beat = tm.qn_to_bar_beat(np.array([5.0, 5.99, 6.0, 8.5, 9.0]))
    assert bar.tolist() == [1, 1, 2, 2, 3]
    assert beat.tolist() == pytest.approx([1.0, 1.99, 0.0, 2.5, 0.0])
    assert tm.bar_to_qn(np.array([1, 2, 3])).tolist() == [4.0, 6.0, 9.0]
    # the short bar has the beats that fit in it; every bar line is a beat
    assert tm.beat_grid_qn(10.0).tolist() == [float(q) for q in range(10)]
    # a change a hair away from the bar line (rounding in a file) is on it
    near = TempoMap([(0.0, 120.0)], [(0.0, 4, 4), (8.0 + 1e-9, 3, 4)])
    assert near.bar_lines_qn(12.0).tolist() == pytest.approx([0.0, 4.0, 8.0, 11.0])


@given(
    st.lists(
        st.tuples(st.floats(0.25, 20.0), st.integers(1, 9), st.sampled_from([2, 4, 8, 16])),
        min_size=1,
        max_size=6,
    )
)
def test_bars_tile_the_song_whatever_the_time_signatures(changes):
    """Bar lines cover the song without gaps or overlaps, each bar at most one full bar
    of its signature long, and every change is a bar line."""
    sigs = [(0.0, 4, 4)]
    for gap, num, den in changes:
        sigs.append((sigs[-1][0] + gap, num, den))
    tm = TempoMap([(0.0, 100.0)], sigs)
    end = sigs[-1][0] + 20.0
    lines = tm.bar_lines_qn(end)
    numbers, beat = tm.qn_to_bar_beat(lines)
    assert numbers.tolist() == list(range(len(lines)))
    assert np.allclose(beat, 0.0)
    lengths = tm.bar_length_qn(numbers)
    np.testing.assert_allclose(lines[1:], (lines + lengths)[:-1], atol=1e-9)
    full = np.array([tm.beats_per_bar(q) * tm.beat_length_qn(q) for q in lines])
    assert (lengths <= full + 1e-9).all()
    for q, _, _ in sigs:
        assert np.isclose(lines, q, atol=1e-6).any()


tempo_maps = st.lists(
    st.tuples(st.floats(0.25, 64.0), st.floats(20.0, 400.0)), min_size=0, max_size=6
).map(
    lambda steps: TempoMap(
        [(0.0, 120.0)]
        + [
            (float(q), b)
            for q, b in zip(np.cumsum([s[0] for s in steps]), [s[1] for s in steps], strict=True)
        ]
    )
)


@given(tempo_maps, st.lists(st.floats(-16.0, 400.0), min_size=1, max_size=50))
def test_qn_sec_round_trip(tm, qn):
    qn = np.array(qn)
    np.testing.assert_allclose(tm.sec_to_qn(tm.qn_to_sec(qn)), qn, rtol=0, atol=1e-9)
    sec = tm.qn_to_sec(np.sort(qn))
    assert (np.diff(sec) >= 0).all()  # time runs forward


def test_hits_sort_and_validate():
    hits = Hits.from_arrays([1.0, 0.5, 2.0], [Lane.SNARE, Lane.KICK, Lane.KICK], [90, 100, 80])
    assert hits.onset_sec.tolist() == [0.5, 1.0, 2.0]
    assert hits.lane.tolist() == [Lane.KICK, Lane.SNARE, Lane.KICK]
    assert len(hits.for_lanes(Lane.KICK)) == 2
    assert len(hits.between(0.6, 2.0)) == 1
    with pytest.raises(ValueError, match="milliseconds"):
        Hits.from_arrays([500.0, 125000.0], Lane.KICK)
    with pytest.raises(ValueError, match="velocity"):
        Hits.from_arrays([0.0], Lane.KICK, 0)
    with pytest.raises(ValueError, match="non-finite"):
        Hits.from_arrays([np.nan], Lane.KICK)


def test_chart_parts_and_targets():
    part = Part.from_arrays(
        [0.0, 1.0, 1.0, 1.0, 2.0], [Lane.KICK, Lane.SNARE, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.KICK]
    )
    assert len(part) == 4  # the duplicate snare is dropped
    chart = Chart("t", TempoMap.constant(120.0), {Level.EXPERT: part}, sections=((0.0, "intro"),))
    assert chart.end_qn == 4.0 and chart.n_bars == 1
    assert chart.targets().onset_sec.tolist() == [0.0, 0.5, 0.5, 1.0]
    assert chart.section_at(2.0) == "intro"
    with pytest.raises(NotFoundError, match="no Easy part"):
        chart.part("easy")
    with pytest.raises(InputError, match="no drum notes"):
        Chart("empty", TempoMap.constant(120.0), {Level.EXPERT: Part.empty()})
    assert Level.parse("full") is Level.EXPERT and Level.parse("b") is Level.BEGINNER


def test_expert_plus_is_a_level_a_player_names_but_no_rung_of_the_ladder():
    for name in ("expert+", "Expert+", "EXPERT+", " x+ ", "X+", "expert_plus", "5", 5):
        assert Level.parse(name) is Level.EXPERT_PLUS
    assert Level.parse("x") is Level.EXPERT and Level.parse("e") is Level.EASY
    assert Level.EXPERT_PLUS.label == "Expert+" and Level.EXPERT.label == "Expert"
    assert LADDER == (Level.BEGINNER, Level.EASY, Level.MEDIUM, Level.HARD, Level.EXPERT)
    with pytest.raises(InputError, match="beginner, easy, medium, hard, expert, expert\\+"):
        Level.parse("expert++")


def test_a_charts_expert_plus_part_is_its_double_kick_part():
    expert = Part.from_arrays([0.0, 1.0, 2.0, 3.0], [Lane.KICK, Lane.SNARE, Lane.KICK, Lane.SNARE])
    plus = Part.from_arrays(
        [0.0, 0.5, 1.0, 2.0, 2.5, 3.0],
        [Lane.KICK, Lane.KICK, Lane.SNARE, Lane.KICK, Lane.KICK, Lane.SNARE],
    )
    tm = TempoMap.constant(120.0)
    chart = Chart("double", tm, {Level.EXPERT: expert}, expert_plus=plus)
    assert chart.part(Level.EXPERT_PLUS) is plus and chart.part("x+") is plus
    assert chart.targets("expert+").onset_sec.tolist() == [0.0, 0.25, 0.5, 1.0, 1.25, 1.5]
    assert chart.levels == [Level.EXPERT] and chart.top_level is Level.EXPERT
    assert chart.part_levels == [Level.EXPERT, Level.EXPERT_PLUS]
    # given among the parts, it is kept as the Expert+ part, never as a rung
    same = Chart("double", tm, {Level.EXPERT: expert, Level.EXPERT_PLUS: plus})
    assert same.expert_plus == plus and Level.EXPERT_PLUS not in same.parts
    assert chart.with_parts({Level.EXPERT_PLUS: expert}).expert_plus == expert
    with pytest.raises(InputError, match="two Expert\\+ parts"):
        Chart("double", tm, {Level.EXPERT: expert, Level.EXPERT_PLUS: plus}, expert_plus=plus)
    with pytest.raises(InputError, match="give its Expert part too"):
        Chart("double", tm, {Level.EXPERT_PLUS: plus})
    # a chart without double kicks says so, and names the parts it has
    single = Chart("single", tm, {Level.EXPERT: expert, Level.EASY: expert.select(slice(0, 2))})
    with pytest.raises(NotFoundError) as err:
        single.part("expert+")
    assert str(err.value) == (
        "the chart 'single' has no Expert+ part (no double-kick notes); it has: Easy, Expert"
    )
    assert single.level_or_full("expert") is Level.EXPERT
    # a community chart whose hardest part is Hard: that is its full part
    hard = Chart("hard", tm, {Level.HARD: expert, Level.EASY: expert.select(slice(0, 2))})
    assert hard.level_or_full(Level.EXPERT) is Level.HARD
    assert hard.level_or_full("easy") is Level.EASY and hard.level_or_full("medium") is Level.MEDIUM
    with pytest.raises(NotFoundError, match=r"no Expert part: its hardest is Hard \(it has"):
        hard.part("expert")
    with pytest.raises(NotFoundError, match=r"no Medium part .*derive one with `cymbalism"):
        hard.part("medium")


@given(
    bpm=st.floats(40, 300),
    num=st.integers(1, 13),
    den=st.sampled_from([2, 4, 8, 16]),
    pickup_beats=st.integers(0, 12),
)
def test_a_count_in_is_a_whole_bar_even_before_a_pickup(
    bpm: float, num: int, den: int, pickup_beats: int
) -> None:
    """Before a first bar cut short by a time signature change (a pickup, as a chart
    writes ``0 = TS 4`` and ``192 = TS 4``), the count-in is still the signature's whole
    bar: ``num`` clicks a beat apart."""
    beat_qn = 4.0 / den
    sigs = [(0.0, num, den)]
    if 0 < pickup_beats < num:
        sigs.append((pickup_beats * beat_qn, num, den))
    tm = TempoMap([(0.0, bpm)], sigs)
    clicks, bar_sec = tm.count_in(0.0)
    beat_sec = beat_qn * 60.0 / bpm
    np.testing.assert_allclose(clicks, np.arange(num) * beat_sec)
    assert bar_sec == pytest.approx(num * beat_sec)
