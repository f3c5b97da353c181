"""The beginner's path: promotion, demotion, tempo ramp, loops, tips, live = offline."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest

from cymbalism.analysis.align import align
from cymbalism.coaching.lesson import (
    LessonPath,
    LessonSettings,
    beat_name,
    placement_level,
    replay_lesson,
)
from cymbalism.errors import InputError, NotFoundError
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import Engine, LiveOptions
from cymbalism.model.chart import LADDER, Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Settings
from cymbalism.model.tempo import TempoMap
from cymbalism.simulate import BEGINNER, simulate_performance
from cymbalism.songs import get_song


def _groove(n_bars: int = 24, bpm: float = 120.0) -> Chart:
    """8th hi-hats, kick on 1 and 3 (plus the 'and' of 3), snare on 2 and 4."""
    bar = [(q, Lane.HIHAT_CLOSED) for q in np.arange(8) * 0.5]
    bar += [(0.0, Lane.KICK), (2.0, Lane.KICK), (2.5, Lane.KICK)]
    bar += [(1.0, Lane.SNARE), (3.0, Lane.SNARE), (3.75, Lane.SNARE)]
    qn = [b * 4 + q for b in range(n_bars) for q, _ in bar]
    lanes = [int(lane) for _ in range(n_bars) for _, lane in bar]
    return Chart(
        title="groove",
        tempo_map=TempoMap.constant(bpm),
        parts={Level.EXPERT: Part.from_arrays(qn, lanes)},
        sections=((0.0, "verse"),),
        end_qn=4.0 * n_bars,
    )


def _drive(path: LessonPath, play, n_bars: int) -> list:
    """Play bar after bar as the live engine would: ask for targets, judge, report."""
    t, changes = 0.0, []
    bar: int | None = 0
    for _ in range(n_bars):
        assert bar is not None
        targets = path.targets_for_bar(bar, start_sec=t)
        hits = play(targets, bar, path)
        change = path.on_bar_end(bar, align(path.fold(hits), targets))
        tm = path.chart.tempo_map.scaled(
            path.history[-1].tempo_scale
        )  # the bar was played at its own tempo
        start, stop = path.bar_span_qn(bar)
        t += float(tm.qn_to_sec(stop) - tm.qn_to_sec(start))
        if change is not None:
            changes.append(change)
        bar = path.next_bar(bar)
    return changes


def _every(period: int, *, keep: int):
    """A mask maker keeping the first ``keep`` of every ``period`` notes, across calls."""
    count = [0]

    def mask(n: int) -> np.ndarray:
        idx = count[0] + np.arange(n)
        count[0] += n
        return idx % period < keep

    return mask


def _perfect(targets, bar, path):
    return targets


def test_a_perfect_player_climbs_a_level_every_window():
    path = LessonPath(_groove())
    changes = _drive(path, _perfect, 20)
    assert [c.bar for c in changes] == [3, 7, 11, 15]
    assert [c.level for c in changes] == [Level.EASY, Level.MEDIUM, Level.HARD, Level.EXPERT]
    assert all(c.kind == "up" for c in changes)
    assert path.level == Level.EXPERT
    assert "after bar 4: up to Easy" in str(changes[0])


@pytest.mark.parametrize(
    ("late_sec", "promoted"), [(0.035, True), (0.045, False), (-0.035, True), (-0.045, False)]
)
def test_promotion_needs_a_mean_absolute_error_under_40_ms(late_sec, promoted):
    path = LessonPath(_groove())
    changes = _drive(path, lambda t, b, p: t.shifted(late_sec), 8)
    assert bool(changes) is promoted


@pytest.mark.parametrize(("every", "promoted"), [(10, True), (5, False)])
def test_promotion_needs_85_percent_of_the_notes(every, promoted):
    # drop every n-th note, counting across bars: 90% or 80% of the notes hit
    return_every = _every(every, keep=every - 1)

    def play(targets, bar, path):
        return targets.select(return_every(len(targets)))

    changes = _drive(LessonPath(_groove()), play, 8)
    assert bool(changes) is promoted


def test_repeated_failure_goes_down_then_slows_the_tempo():
    path = LessonPath(_groove(), start_level=Level.MEDIUM)
    changes = _drive(path, lambda t, b, p: Hits.empty(), 16)
    assert [(c.level, c.tempo_scale) for c in changes] == [
        (Level.EASY, 1.0),
        (Level.BEGINNER, 1.0),
        (Level.BEGINNER, 0.9),
        (Level.BEGINNER, 0.8),
    ]
    assert changes[0].kind == "down" and changes[2].kind == "slower"
    assert "4 hard bars in a row (0% of the notes)" in changes[0].reason


def test_the_ladder_never_climbs_into_expert_plus_but_a_player_who_starts_there_keeps_it():
    from tests.test_expert_plus import with_double_kicks

    chart = with_double_kicks(_groove())
    # a beginner climbs to Expert and stops there, though the chart has Expert+
    path = LessonPath(chart)
    assert path.top_level is Level.EXPERT
    _drive(path, _perfect, 24)
    assert path.level is Level.EXPERT and Level.EXPERT_PLUS not in [b.level for b in path.history]
    # a drummer on Expert+ plays its double kicks, moves down to Expert on four hard bars,
    # and climbs back to Expert+
    path = LessonPath(chart, start_level="expert+")
    assert path.top_level is Level.EXPERT_PLUS
    assert path.targets_for_bar(0) == chart.part(Level.EXPERT_PLUS).between(0, 4).to_hits(
        chart.tempo_map
    )
    changes = _drive(path, lambda t, b, p: Hits.empty() if b < 4 else t, 12)
    assert [(c.bar, c.previous_level, c.level) for c in changes] == [
        (3, Level.EXPERT_PLUS, Level.EXPERT),
        (7, Level.EXPERT, Level.EXPERT_PLUS),
    ]
    with pytest.raises(NotFoundError, match="no Expert\\+ part"):
        LessonPath(_groove(), start_level="expert+")


def test_a_player_stuck_below_75_percent_goes_down():
    settings = LessonSettings(stuck_bars=8)

    keep = _every(10, keep=7)

    def play(targets, bar, path):  # 70% of the notes, never failing outright
        return targets.select(keep(len(targets)))

    changes = _drive(LessonPath(_groove(), start_level="easy", settings=settings), play, 8)
    assert len(changes) == 1 and changes[0].level == Level.BEGINNER
    assert "over 8 bars" in changes[0].reason


def test_tempo_ramps_to_full_before_the_level_goes_up():
    path = LessonPath(_groove(), tempo_scale=0.7)
    changes = _drive(path, _perfect, 16)
    assert [(c.kind, c.tempo_scale) for c in changes] == [
        ("faster", 0.8),
        ("faster", 0.9),
        ("faster", 1.0),
        ("up", 1.0),
    ]
    # the targets of a bar follow the practice tempo: at 70% a 120 BPM bar lasts 2/0.7 s
    slow = LessonPath(_groove(), tempo_scale=0.7).targets_for_bar(1)
    assert slow.onset_sec[0] == pytest.approx(2.0 / 0.7)


def test_loop_repeats_bars_a_to_b():
    path = LessonPath(_groove(), loop=(4, 6))
    assert [path.next_bar(b) for b in (3, 4, 5)] == [4, 5, 4]
    assert LessonPath(_groove(8)).next_bar(7) is None
    with pytest.raises(InputError, match="a loop must be bars"):
        LessonPath(_groove(8), loop=(6, 9))
    report = replay_lesson(
        _groove(),
        Hits.concat(  # the full part, played perfectly, covers every easier part
            [
                path.targets_for_bar(b, start_sec=2.0 * i, level=Level.EXPERT)
                for i, b in enumerate([4, 5] * 5)
            ]
        ),
        bars=[4, 5] * 5,
        path=path,
    )
    # up after each good window of 4 bars; the bar laid out before each move (the 5th
    # and the 10th played) is played at the old level and not counted
    assert [h.bar for h in report.history] == [4, 5, 4, 5, 5, 4, 5, 4]
    assert [c.bar for c in report.changes] == [5, 4]


def test_the_live_engine_and_a_replay_give_the_same_path():
    chart = get_song("mirrorball")
    hits = simulate_performance(
        chart, BEGINNER.with_(learning_time_sec=20.0), level="beginner", seed=7
    )
    offline = replay_lesson(chart, hits)
    assert len(offline.changes) >= 2  # the simulated learner gets somewhere
    # live: the engine lays the bars out and judges the hits pushed one at a time
    paths: list[LessonPath] = []

    def lesson(player: Player) -> LessonPath:
        paths.append(LessonPath(chart))
        return paths[-1]

    clock = FakeClock()
    engine = Engine(
        chart,
        [Player("Kid", level=Level.BEGINNER)],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(lesson_players=("Kid",)),
        lesson=lesson,
    )
    for onset, lane in zip(hits.onset_sec.tolist(), hits.lane.tolist(), strict=True):
        clock.set_ns(max(clock.now_ns(), engine.sec_to_ns(onset)))
        engine.tick()
        engine.push_hit("Kid", lane, song_sec=onset)
    engine.finish()
    assert paths[0].changes == offline.changes
    assert [h.bar for h in paths[0].history] == [h.bar for h in offline.history]
    live_stats = np.array([astuple(h.stats) for h in paths[0].history], dtype=np.float64)
    offline_stats = np.array([astuple(h.stats) for h in offline.history], dtype=np.float64)
    # notes, hits, misses and the timing figures agree (to the rounding of the engine's
    # clock arithmetic); extra hits right at a bar line may be counted in either bar
    # (the engine by when they sounded, the replay by its bar's window), and the path's
    # decisions do not use them
    same = [0, 1, 2, 4, 5, 6, 7]
    np.testing.assert_allclose(live_stats[:, same], offline_stats[:, same], rtol=0, atol=1e-12)
    assert paths[0].tips() == offline.tips


def _in(hits: Hits, a: float, b: float):
    sel = hits.between(a, b)
    return sel.onset_sec.tolist(), sel.lane.tolist()


def test_tips_name_the_lane_the_direction_and_the_beat():
    chart = _groove()

    def play(targets, bar, path):
        lane = targets.lane
        beat3 = np.isclose(np.mod(targets.onset_sec, 2.0), 1.0) & (lane == Lane.KICK)
        onset = np.where(lane == Lane.SNARE, targets.onset_sec - 0.025, targets.onset_sec)
        return Hits.from_arrays(onset[~beat3], lane[~beat3])

    path = LessonPath(chart, start_level=Level.EXPERT)
    _drive(path, play, 8)
    tips = path.tips()
    assert "you rush the snare by about 25 ms" in tips
    assert "you drop the kick on beat 3" in tips


def test_tips_for_a_clean_player_and_for_extra_hits():
    path = LessonPath(_groove(), start_level=Level.EXPERT)
    _drive(path, _perfect, 4)
    assert path.tips() == ["steady and on time: keep going"]

    def noisy(targets, bar, path):
        extra = Hits.from_arrays(targets.onset_sec[:2] + 0.2, Lane.TOM_FLOOR)
        return Hits.concat([targets, extra])

    path = LessonPath(_groove(), start_level=Level.EXPERT)
    _drive(path, noisy, 4)
    assert path.tips() == ["you add 8 floor tom hits that are not in the part"]

    def foot(targets, bar, path):  # the left foot on every beat: not worth a tip
        beats = targets.onset_sec[0] + np.arange(4) * 0.5
        return Hits.concat([targets, Hits.from_arrays(beats, Lane.HIHAT_PEDAL)])

    path = LessonPath(_groove(), start_level=Level.EXPERT)
    _drive(path, foot, 4)
    assert path.tips() == ["steady and on time: keep going"]


def test_beat_names():
    assert beat_name(2.0, beats_per_bar=4) == "beat 3"
    assert beat_name(1.5, beats_per_bar=4) == "the 'and' of 2"
    assert beat_name(0.25, beats_per_bar=4) == "the 'e' of 1"
    assert beat_name(3.75, beats_per_bar=4) == "the 'a' of 4"
    assert beat_name(1 + 1 / 3, beats_per_bar=4) == "the triplet after 2"


def test_easier_levels_count_a_hit_on_any_drum_they_fold_together():
    chart = get_song("lanterns")
    path = LessonPath(chart, start_level=Level.EASY)
    targets = path.targets_for_bar(20)
    # the Easy part's hi-hat stands for the ride too: a ride hit counts
    lane = np.where(targets.lane == Lane.HIHAT_CLOSED, Lane.RIDE, targets.lane)
    played = Hits(targets.onset_sec, lane.astype(np.int8), targets.velocity)
    assert align(path.fold(played), targets).hit_rate == 1.0
    assert align(played, targets).hit_rate < 1.0


def test_an_alignment_of_the_wrong_notes_is_refused():
    path = LessonPath(_groove())
    wrong = path.chart.targets(Level.EXPERT).between(0.0, 2.0)
    with pytest.raises(InputError, match="judge the notes of targets_for_bar"):
        path.on_bar_end(0, align(wrong, wrong))


def test_warm_up_places_the_player():
    chart = get_song("mirrorball")
    tm = chart.tempo_map
    span = (float(tm.bar_to_qn(4)), float(tm.bar_to_qn(12)))
    for lv in LADDER:
        # where two levels share every note of the warm-up bars, the easier one is chosen
        same = [x for x in LADDER if chart.part(x).between(*span) == chart.part(lv).between(*span)]
        warm_up = chart.targets(lv).shifted(0.010)
        assert placement_level(chart, warm_up, bars=(4, 12)) == min(same)
    assert (
        len(
            {
                min(
                    x
                    for x in LADDER
                    if chart.part(x).between(*span) == chart.part(lv).between(*span)
                )
                for lv in LADDER
            }
        )
        >= 3
    )
    assert placement_level(chart, Hits.empty()) == Level.BEGINNER
    sloppy = chart.targets(Level.EXPERT).shifted(0.060)  # every note, but 60 ms late
    assert placement_level(chart, sloppy, bars=(4, 12)) == Level.BEGINNER


def test_tips_for_a_drum_left_out_and_for_a_player_nobody_heard():
    chart = _groove()

    def no_hihat(targets, bar, path):
        return targets.select(targets.lane != Lane.HIHAT_CLOSED)

    path = LessonPath(chart, start_level=Level.EXPERT)
    _drive(path, no_hihat, 4)
    n_hihat = sum(int(np.count_nonzero(r.note_lane == Lane.HIHAT_CLOSED)) for r in path.history)
    assert n_hihat >= 8
    # the drum as a whole, not each of its beats
    assert path.tips() == [f"you leave out the hi-hat: 0 of its {n_hihat} notes hit"]

    def nothing(targets, bar, path):
        return targets.select(np.zeros(len(targets), bool))

    path = LessonPath(chart, start_level=Level.EXPERT)
    _drive(path, nothing, 4)
    assert path.tips() == [
        "none of your strokes came through in these bars: is the input you play the one you chose?"
    ]
