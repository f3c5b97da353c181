"""Easier parts from a full part: the charters' rules, folded subsets, limb limits, difficulty."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.coaching.simplify import (
    LIMB_LIMIT,
    chart_difficulty,
    fold_lanes,
    metric_level,
    part_difficulty,
    simplify_chart,
    simplify_part,
    simplify_step,
)
from cymbalism.errors import InputError
from cymbalism.model.chart import GHOST_VELOCITY, LADDER, Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.songs import get_song, list_songs

FOUR = TempoMap.constant(120.0)


def _lanes(part: Part, lane: Lane) -> list[float]:
    return [float(q) for q in part.qn[part.lane == lane]]


def test_metric_levels_in_four_four_three_four_and_six_eight():
    qn = np.array([0, 1, 2, 3, 0.5, 0.25, 1 / 3, 0.125, 4])
    assert list(metric_level(qn, FOUR)) == [0, 2, 1, 2, 3, 4, 3, 5, 0]
    waltz = TempoMap.constant(90.0, 3, 4)
    assert list(metric_level(np.array([0.0, 1, 2, 3]), waltz)) == [0, 2, 2, 0]
    jig = TempoMap.constant(90.0, 6, 8)  # beats are eighths: 0.5 qn
    assert list(metric_level(np.array([0.0, 0.5, 1.5, 0.25, 3.0]), jig)) == [0, 2, 1, 3, 0]


def test_hi_hat_thins_from_16ths_to_8ths_to_quarters():
    sixteenths = np.arange(16) * 0.25
    part = Part.from_arrays(sixteenths, Lane.HIHAT_CLOSED)
    hard = simplify_part(part, FOUR, Level.HARD)
    medium = simplify_part(part, FOUR, Level.MEDIUM)
    assert _lanes(hard, Lane.HIHAT_CLOSED) == list(np.arange(8) * 0.5)
    assert _lanes(medium, Lane.HIHAT_CLOSED) == [0.0, 1.0, 2.0, 3.0]


def test_ghost_notes_and_flams_go_at_hard():
    part = Part.from_arrays(
        [0.0, 0.75, 1.0 - 1 / 8, 1.0, 3.0],
        [Lane.KICK, Lane.SNARE, Lane.SNARE, Lane.SNARE, Lane.SNARE],
        [100, GHOST_VELOCITY, 100, 110, 100],
    )
    hard = simplify_part(part, FOUR, Level.HARD)
    assert _lanes(hard, Lane.SNARE) == [1.0, 3.0]  # ghost at 0.75 and grace note at 0.875 gone
    assert _lanes(hard, Lane.KICK) == [0.0]


def test_toms_fold_into_fewer_voices_and_the_mapping_composes():
    hats = np.arange(16) * 0.25 + 4.0  # a bar of 16th hi-hats after the fill
    fill = Part.from_arrays(
        np.concatenate([[0.0, 0.5, 1.0, 1.5, 2.0, 3.0], hats]),
        [Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_MID, Lane.TOM_FLOOR, Lane.TOM_FLOOR, Lane.KICK]
        + [Lane.HIHAT_OPEN] * 16,
    )
    medium = simplify_part(fill, FOUR, Level.MEDIUM)
    assert set(medium.lane.tolist()) == {
        Lane.TOM_HIGH,
        Lane.TOM_FLOOR,
        Lane.KICK,
        Lane.HIHAT_CLOSED,
    }
    assert _lanes(medium, Lane.TOM_HIGH) == [0.0, 0.5, 1.0]
    easy = simplify_part(fill, FOUR, Level.EASY)
    assert _lanes(easy, Lane.TOM_FLOOR) == [0.0, 1.0, 2.0]
    every = np.arange(len(Lane))
    for harder, easier in [(Level.HARD, Level.MEDIUM), (Level.MEDIUM, Level.EASY)]:
        np.testing.assert_array_equal(
            fold_lanes(fold_lanes(every, harder), easier), fold_lanes(every, easier)
        )
    assert list(fold_lanes(np.array([Lane.RIDE, Lane.HIHAT_OPEN]), Level.EASY)) == [
        Lane.HIHAT_CLOSED,
        Lane.HIHAT_CLOSED,
    ]


def test_authored_easier_parts_play_on_the_lanes_of_their_level():
    """A game chart's own Easy and Medium parts keep every note, on the drums their level
    plays (the yellow tom on the floor tom at Easy), so that a hit folded for that level
    meets them; Hard and Expert keep theirs as written."""
    qn = np.arange(6) * 0.5
    lanes = [Lane.KICK, Lane.TOM_HIGH, Lane.TOM_MID, Lane.RIDE, Lane.HIHAT_OPEN, Lane.SNARE]
    written = Part.from_arrays(qn, lanes)
    chart = Chart(
        "authored",
        FOUR,
        {lv: written for lv in (Level.EASY, Level.MEDIUM, Level.HARD, Level.EXPERT)},
    )
    full = simplify_chart(chart)
    for lv in (Level.HARD, Level.EXPERT):
        assert full.part(lv).lane.tolist() == [int(x) for x in lanes]
    for lv in (Level.EASY, Level.MEDIUM):
        part = full.part(lv)
        np.testing.assert_array_equal(part.qn, qn)  # no note lost
        np.testing.assert_array_equal(part.lane, fold_lanes(written.lane, lv))
    assert full.part(Level.EASY).lane.tolist() == [
        Lane.KICK, Lane.TOM_FLOOR, Lane.TOM_FLOOR, Lane.HIHAT_CLOSED, Lane.HIHAT_CLOSED,
        Lane.SNARE,
    ]  # fmt: skip
    again = simplify_chart(full)  # folding twice changes nothing
    for lv in full.parts:
        np.testing.assert_array_equal(again.part(lv).lane, full.part(lv).lane)


def test_crashes_stay_at_section_starts():
    part = Part.from_arrays(
        [0.0, 0.0, 4.0, 4.0, 8.0, 8.0, 9.0],
        [Lane.CRASH, Lane.KICK, Lane.CRASH, Lane.KICK, Lane.CRASH, Lane.KICK, Lane.SNARE],
    )
    starts = [0.0, 8.0]
    medium = simplify_part(part, FOUR, Level.MEDIUM, sections_qn=starts)
    easy = simplify_part(part, FOUR, Level.EASY, sections_qn=starts)
    assert _lanes(medium, Lane.CRASH) == [0.0, 4.0, 8.0]  # downbeats stay at Medium
    assert _lanes(easy, Lane.CRASH) == [0.0, 8.0]  # only section starts at Easy


def test_beginner_keeps_downbeat_kicks_backbeat_snares_and_two_limbs():
    # a busy bar: hi-hat 8ths, kick on every 8th, snare on 2 and 4 and on 1
    qn = np.arange(8) * 0.5
    part = Part.from_arrays(
        np.concatenate([qn, qn, [0.0, 1.0, 3.0]]),
        np.concatenate([np.full(8, Lane.HIHAT_CLOSED), np.full(8, Lane.KICK), [1, 1, 1]]),
    )
    beginner = simplify_part(part, FOUR, Level.BEGINNER)
    assert _lanes(beginner, Lane.KICK) == [0.0, 2.0]
    assert _lanes(beginner, Lane.SNARE) == [1.0, 3.0]
    assert part_difficulty(beginner, FOUR, end_qn=4.0).max_limbs <= 2


def test_expert_cannot_be_a_simplification():
    with pytest.raises(InputError, match="Expert is the full part"):
        simplify_step(Part.from_arrays([0.0], Lane.KICK), FOUR, Level.EXPERT)
    with pytest.raises(InputError, match="from an easier"):
        simplify_part(Part.from_arrays([0.0], Lane.KICK), FOUR, Level.HARD, from_level="easy")
    # Expert+ is the Expert part with double kicks: never made, never simplified from
    with pytest.raises(InputError, match="Expert\\+ is the full part"):
        simplify_step(Part.from_arrays([0.0], Lane.KICK), FOUR, "expert+")
    with pytest.raises(InputError, match="made from the Expert part, not from Expert\\+"):
        simplify_part(Part.from_arrays([0.0], Lane.KICK), FOUR, Level.HARD, from_level="x+")


# ------------------------------------------------------------------ properties
TEMPO_MAPS = [
    FOUR,
    TempoMap.constant(96.0, 3, 4),
    TempoMap.constant(80.0, 6, 8),
    TempoMap([(0.0, 100.0), (8.0, 140.0)], [(0.0, 4, 4), (8.0, 7, 8)]),
]


@st.composite
def expert_parts(draw):
    tm = draw(st.sampled_from(TEMPO_MAPS))
    n_bars = draw(st.integers(1, 4))
    end_qn = float(tm.bar_to_qn(n_bars))
    steps = draw(st.sampled_from([0.25, 0.125, 1 / 3, 1 / 6]))
    slots = np.arange(0.0, end_qn - 1e-9, steps)
    n = draw(st.integers(1, 60))
    idx = draw(st.lists(st.integers(0, slots.size - 1), min_size=n, max_size=n))
    lanes = draw(st.lists(st.sampled_from(list(Lane)), min_size=n, max_size=n))
    vel = draw(st.lists(st.integers(1, 127), min_size=n, max_size=n))
    sections = draw(st.lists(st.integers(0, n_bars - 1), max_size=3, unique=True))
    part = Part.from_arrays(slots[idx], [int(x) for x in lanes], vel)
    return Chart(
        title="random",
        tempo_map=tm,
        parts={Level.EXPERT: part},
        sections=tuple((float(tm.bar_to_qn(b)), f"s{b}") for b in sections),
        end_qn=end_qn,
    )


def _is_folded_subset(easier: Part, harder: Part, level: Level) -> bool:
    have = set(zip(np.round(harder.qn, 6), fold_lanes(harder.lane, level).tolist(), strict=True))
    return all(
        (q, lane) in have
        for q, lane in zip(np.round(easier.qn, 6), easier.lane.tolist(), strict=True)
    )


@given(expert_parts())
def test_each_easier_part_is_a_folded_subset_with_lower_difficulty(chart):
    full = simplify_chart(chart)
    assert full.levels == list(LADDER)
    diff = chart_difficulty(full)
    for lv in (Level.HARD, Level.MEDIUM, Level.EASY, Level.BEGINNER):
        harder, easier = full.part(Level(lv + 1)), full.part(lv)
        assert _is_folded_subset(easier, harder, lv)
        assert len(easier) <= len(harder)
        assert diff[lv].score <= diff[Level(lv + 1)].score + 1e-12
        if np.any(metric_level(harder.qn, full.tempo_map) > 0):
            assert diff[lv].score < diff[Level(lv + 1)].score, lv
        assert diff[lv].max_limbs <= LIMB_LIMIT[lv]
    # downbeat kicks are never dropped
    expert = full.part()
    down = expert.qn[(expert.lane == Lane.KICK) & (metric_level(expert.qn, full.tempo_map) == 0)]
    beginner = full.part(Level.BEGINNER)
    assert set(np.round(down, 6)) <= set(np.round(beginner.qn[beginner.lane == Lane.KICK], 6))


@pytest.mark.parametrize("name", [s.name for s in list_songs() if not s.free_play])
def test_built_in_songs_get_easier_at_every_step(name):
    song = get_song(name)
    diff = chart_difficulty(song)
    scores = [diff[lv].score for lv in LADDER]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    assert diff[Level.BEGINNER].max_limbs <= 2
    # backbeat snares of the full part survive to Beginner in 4/4 songs
    tm, expert, beginner = song.tempo_map, song.part(), song.part(Level.BEGINNER)
    if tm.time_signatures[0][1:] == (4, 4):
        ml = metric_level(expert.qn, tm)
        beat = tm.qn_to_bar_beat(expert.qn)[1]
        back = expert.qn[(expert.lane == Lane.SNARE) & (ml == 2) & np.isin(beat, [1.0, 3.0])]
        kept = set(np.round(beginner.qn[beginner.lane == Lane.SNARE], 6))
        assert set(np.round(back, 6)) <= kept
    # the beginner's part is less than 70% as hard as the full part
    assert diff[Level.BEGINNER].score < 0.7 * diff[Level.EXPERT].score
