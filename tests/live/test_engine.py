"""The live engine under a fake clock: the same judgements and figures as offline analysis."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.analysis.align import align
from cymbalism.analysis.summary import pair_came_together
from cymbalism.analysis.sync import asynchrony, sync_stats
from cymbalism.analysis.timing import timing_by_lane, timing_stats
from cymbalism.coaching.lesson import LessonPath, replay_lesson
from cymbalism.coaching.simplify import fold_hits, fold_lanes, simplify_chart
from cymbalism.errors import InputError
from cymbalism.io.charts import parse_chart_text
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import Engine, LiveOptions, Verdict
from cymbalism.live.metronome import ACCENT, CLICK, SilentOutput
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Settings
from cymbalism.model.tempo import TempoMap
from tests.analysis.test_rolls import TEXT, _played, _roll_started_early


def groove_chart(bpm: float = 120.0, bars: int = 16) -> Chart:
    """Eighth-note hi-hat, kick on 1 and 3, snare on 2 and 4; Easy: kick and snare only."""
    end = 4.0 * bars
    hh = np.arange(0, end, 0.5)
    kick = np.arange(0, end, 2.0)
    snare = np.arange(1, end, 2.0)
    expert = Part.from_arrays(
        np.concatenate([hh, kick, snare]),
        np.concatenate(
            [
                np.full(hh.size, Lane.HIHAT_CLOSED),
                np.full(kick.size, Lane.KICK),
                np.full(snare.size, Lane.SNARE),
            ]
        ),
    )
    easy = Part.from_arrays(
        np.concatenate([kick, snare]),
        np.concatenate([np.full(kick.size, Lane.KICK), np.full(snare.size, Lane.SNARE)]),
    )
    beginner = Part.from_arrays(kick, Lane.KICK)
    return Chart(
        "groove",
        TempoMap.constant(bpm),
        {Level.EXPERT: expert, Level.EASY: easy, Level.BEGINNER: beginner},
        sections=((0.0, "verse"), (32.0, "chorus")),
    )


def perform(
    targets: Hits,
    *,
    seed: int,
    bias_sec: float,
    sd_sec: float,
    miss: float = 0.05,
    extra: float = 0.05,
) -> Hits:
    """A player with a known bias and spread who drops and adds some notes."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(targets)) >= miss
    onset = targets.onset_sec[keep] + bias_sec + rng.normal(0, sd_sec, keep.sum())
    lane = targets.lane[keep].copy()
    n_extra = int(extra * len(targets))
    extra_t = rng.uniform(0, targets.onset_sec[-1], n_extra)
    extra_l = rng.integers(0, len(Lane), n_extra)
    return Hits.from_arrays(
        np.concatenate([onset, extra_t]),
        np.concatenate([lane, extra_l]),
        rng.integers(40, 127, keep.sum() + n_extra),
    )


def heard(hits: Hits, chart: Chart, level: Level = Level.EXPERT) -> Hits:
    """The hits as ``chart``'s part at ``level`` hears them (every tom as the floor tom at
    Easy; no hi-hat pedal where the chart has no pedal note)."""
    return fold_hits(hits, level, chart=chart)


def same(a: object, b: object) -> bool:
    """Equal, counting NaN equal to NaN (stats of lanes with no hits are NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return type(a) is type(b) and same(dataclasses.asdict(a), dataclasses.asdict(b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def stream(engine: Engine, clock: FakeClock, perf: dict[str, Hits], *, as_ns: bool = True):
    """Feed every hit in arrival order, letting the clock run to each one; collect feedback."""
    events = sorted(
        (
            (float(t), name, int(ln), int(v))
            for name, h in perf.items()
            for t, ln, v in zip(h.onset_sec, h.lane, h.velocity, strict=True)
        ),
        key=lambda e: e[0],  # stable: equal times keep each player's order
    )
    judged, misses = [], []
    for t, name, lane, vel in events:
        t_ns = engine.sec_to_ns(t)
        if t_ns > clock.now_ns():
            clock.set_ns(t_ns)
        misses += engine.tick()
        if as_ns:
            judged.append(engine.push_hit(name, lane, vel, t_ns=t_ns))
        else:
            judged.append(engine.push_hit(name, lane, vel, song_sec=t))
    return judged, misses


def test_equivalence_duet_streamed_equals_offline_analysis() -> None:
    chart = groove_chart()
    clock = FakeClock(5_000_000_000)
    engine = Engine(chart, [Player("Ana"), Player("Ben", level=Level.EASY)], Settings(), clock)
    ta, tb = chart.targets(Level.EXPERT), chart.targets(Level.EASY)
    # song seconds on the clock's nanosecond grid, as a real input would stamp them
    ha = perform(ta, seed=1, bias_sec=-0.012, sd_sec=0.010)
    hb = perform(tb, seed=2, bias_sec=0.025, sd_sec=0.030)
    ha = Hits(np.round(ha.onset_sec * 1e9) / 1e9, ha.lane, ha.velocity)
    hb = Hits(np.round(hb.onset_sec * 1e9) / 1e9, hb.lane, hb.velocity)
    judged, misses = stream(engine, clock, {"Ana": ha, "Ben": hb})
    result = engine.finish()

    off = {"Ana": align(heard(ha, chart), ta), "Ben": align(heard(hb, chart, Level.EASY), tb)}
    for name in off:
        live = result.alignments[name]
        assert live == off[name]
        assert same(result.timing[name], timing_stats(off[name]))
        assert same(result.timing_by_lane[name], timing_by_lane(off[name]))
        assert result.session.player(name).hits == (ha if name == "Ana" else hb)
    # the report is what `cymbalism analyze` prints, from the same alignments
    assert [p.name for p in result.report.players] == ["Ana", "Ben"]
    for p in result.report.players:
        assert p.alignment == off[p.name]
    asy = asynchrony(off["Ana"], off["Ben"])
    assert same(result.sync, sync_stats(asy))
    assert result.came_together_sec == pair_came_together(
        asy, timing_stats(off["Ana"]), timing_stats(off["Ben"])
    )

    # each live judgement is the offline one for that hit
    for name, hits in (("Ana", ha), ("Ben", hb)):
        fbs = [f for f in judged if f.player == name and f.verdict is not Verdict.NOT_JUDGED]
        pedal = [f for f in judged if f.player == name and f.verdict is Verdict.NOT_JUDGED]
        tix = off[name].target_index
        assert len(fbs) == len(off[name].hits)
        assert len(pedal) == np.count_nonzero(hits.lane == Lane.HIHAT_PEDAL)  # not judged
        for i, fb in enumerate(fbs):
            if tix[i] < 0:
                assert fb.verdict is Verdict.EXTRA
            else:
                assert fb.error_sec == off[name].error_sec[tix[i]]
                assert fb.target_sec == off[name].targets.onset_sec[tix[i]]
                assert fb.verdict in (Verdict.ON_TIME, Verdict.EARLY, Verdict.LATE)
        # misses reported live are exactly the unmatched notes
        live_miss = sorted(f.target_sec for f in misses if f.player == name)
        tail = [f for f in result.alignments[name].targets.onset_sec[~off[name].matched]]
        assert live_miss == sorted(tail)[: len(live_miss)]
        assert engine.players[name].n_miss == off[name].n_miss
    # sanity: the performances were not trivial
    assert off["Ben"].n_miss > 0 and off["Ben"].n_extra > 0
    assert result.timing["Ben"].mean_error_sec == pytest.approx(0.025, abs=0.01)


def test_equivalence_with_song_seconds_and_tempo_scale() -> None:
    chart = groove_chart(bpm=100, bars=8)
    settings = Settings(tempo_scale=0.8, count_in_bars=2)
    clock = FakeClock()
    engine = Engine(chart, [Player("A"), Player("B")], settings, clock)
    targets = chart.scaled(0.8).targets(Level.EXPERT)
    ha = perform(targets, seed=3, bias_sec=0.0, sd_sec=0.02)
    hb = perform(targets, seed=4, bias_sec=0.01, sd_sec=0.02)
    stream(engine, clock, {"A": ha, "B": hb}, as_ns=False)
    result = engine.finish()
    ha, hb = heard(ha, chart), heard(hb, chart)
    assert result.alignments["A"] == align(ha, targets)
    assert result.alignments["B"] == align(hb, targets)
    assert same(result.sync, sync_stats(asynchrony(align(ha, targets), align(hb, targets))))


@given(
    st.lists(st.floats(-0.2, 16.2, allow_nan=False), min_size=0, max_size=60),
    st.lists(st.integers(0, 2), min_size=60, max_size=60),
)
def test_equivalence_property_any_hits(times: list[float], lanes: list[int]) -> None:
    chart = groove_chart(bars=8)
    clock = FakeClock()
    engine = Engine(chart, [Player("A")], Settings(count_in_bars=0), clock)
    hits = Hits.from_arrays(times, lanes[: len(times)])
    stream(engine, clock, {"A": hits}, as_ns=False)
    assert engine.finish().alignments["A"] == align(hits, chart.targets())


def test_live_sync_meter_matches_offline_asynchrony() -> None:
    chart = groove_chart(bars=8)
    clock = FakeClock()
    opts = LiveOptions(sync_window_sec=1e6)  # keep every position in the meter
    engine = Engine(chart, [Player("A"), Player("B")], Settings(), clock, options=opts)
    t = chart.targets()
    ha = perform(t, seed=5, bias_sec=0.0, sd_sec=0.01, extra=0.0)
    hb = perform(t, seed=6, bias_sec=0.02, sd_sec=0.01, extra=0.0)
    stream(engine, clock, {"A": ha, "B": hb}, as_ns=False)
    engine.tick(song_sec=chart.end_sec + 1.0)
    live = np.array([x for _, x in engine._asy])
    off = asynchrony(align(ha, t), align(hb, t))
    np.testing.assert_allclose(live, off.asynchrony_sec, rtol=0, atol=1e-12)
    meter = engine.sync_meter()
    assert meter["n"] == len(off)
    assert meter["mean_ms"] == pytest.approx(-20.0, abs=3.0)  # A is 20 ms ahead of B


def test_feedback_words_use_the_tolerance_of_the_level() -> None:
    chart = groove_chart(bars=2)
    clock = FakeClock()
    engine = Engine(chart, [Player("A", level=Level.BEGINNER), Player("B")], Settings(), clock)
    # Kick on beat 1 of bar 1 is at 0 s; both play it 30 ms late.
    assert engine.push_hit("A", Lane.KICK, song_sec=0.030).verdict is Verdict.ON_TIME  # 45 ms
    assert engine.push_hit("B", Lane.KICK, song_sec=0.030).verdict is Verdict.LATE  # 18 ms
    fb = engine.push_hit("B", Lane.HIHAT_CLOSED, song_sec=0.47)
    assert fb.verdict is Verdict.EARLY and fb.error_sec == pytest.approx(-0.03)
    assert engine.push_hit("B", Lane.CRASH, song_sec=0.70).verdict is Verdict.EXTRA
    misses = engine.tick(song_sec=2.0)
    assert {(m.player, m.lane) for m in misses} >= {("B", Lane.SNARE)}
    assert all(m.verdict is Verdict.MISS for m in misses)
    snap = engine.snapshot(song_sec=2.0)
    assert snap["bar"] == 2 and snap["players"][1]["extras"] == 1
    assert snap["players"][1]["lanes"]["CR"]["verdict"] == "extra"


def test_count_in_and_click_have_accented_downbeats() -> None:
    chart = groove_chart(bpm=120, bars=2)
    out = SilentOutput()
    clock = FakeClock()
    engine = Engine(chart, [Player("A")], Settings(count_in_bars=1), clock, output=out)
    engine.tick(song_sec=10.0)
    t = np.array([(s.t_ns - engine.zero_ns) / 1e9 for s in out.sounds])
    kinds = [s.kind for s in out.sounds]
    np.testing.assert_allclose(t, np.arange(-2.0, 4.0, 0.5), atol=1e-9)
    assert [k == ACCENT for k in kinds] == [i % 4 == 0 for i in range(12)]
    assert set(kinds) == {ACCENT, CLICK}
    assert engine.messages and "silent" in engine.messages[0]


def test_backing_plays_what_no_player_plays() -> None:
    chart = groove_chart(bars=1)
    out = SilentOutput()
    engine = Engine(
        chart,
        [Player("A", level=Level.BEGINNER)],
        Settings(count_in_bars=0),
        FakeClock(),
        output=out,
        options=LiveOptions(backing=True),
    )
    engine.tick(song_sec=5.0)
    drums = [s for s in out.sounds if s.kind == "drum"]
    # expert bar: 8 hi-hats, 2 kicks, 2 snares; the beginner plays the 2 kicks
    assert sorted(Lane(s.lane).short for s in drums) == ["HH"] * 8 + ["SD"] * 2


def test_loop_repeats_bars_and_is_judged_continuously() -> None:
    chart = groove_chart(bars=8)
    clock = FakeClock()
    engine = Engine(
        chart,
        [Player("A")],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(loop_bars=(3, 4), loop_repeats=3),
    )
    engine.tick(song_sec=100.0)
    assert [b.chart_bar + 1 for b in engine.bars] == [3, 4] * 3
    result = engine.finish()
    targets = result.targets("A")
    per_bar = len(chart.part().between(8.0, 16.0))
    assert len(targets) == 3 * per_bar
    # continuous time: 6 bars of 2 s, from 0
    assert targets.onset_sec[0] == pytest.approx(0.0) and engine.end_sec == pytest.approx(12.0)
    assert np.all(np.diff(targets.onset_sec) >= 0)


def test_lesson_levels_change_at_bar_lines_and_alignment_matches_offline() -> None:
    chart = groove_chart(bars=8)
    seen = []

    class Scripted:
        """Moves up after the second and the fourth bar it is told about."""

        level = Level.BEGINNER
        tempo_scale = 1.0

        def on_bar_end(self, bar: int, alignment) -> None:
            seen.append((bar, len(alignment.targets), alignment.n_hit))
            if len(seen) in (2, 4):
                self.level = Level(self.level + 1)

    clock = FakeClock()
    engine = Engine(
        chart,
        [Player("Kid", level=Level.BEGINNER)],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(lesson_players=("Kid",)),
        lesson=lambda p: Scripted(),
    )
    # the kid plays the full part throughout
    hits = perform(chart.targets(), seed=9, bias_sec=0.0, sd_sec=0.01, miss=0.0, extra=0.0)
    stream(engine, clock, {"Kid": hits}, as_ns=False)
    result = engine.finish()
    levels = result.levels["Kid"]
    assert [lv for _, lv in levels] == [Level.BEGINNER, Level.EASY, Level.MEDIUM]
    # bar 2 closes during bar 3, so Easy starts at bar 4 (6 s); the bar laid out at the
    # old level is not reported; bar 5 is the second Easy bar, so Medium starts at bar 7
    assert [t for t, _ in levels] == [0.0, 6.0, 12.0]
    assert [b for b, _, _ in seen] == [0, 1, 3, 4, 6, 7]
    assert all(n == hit for _, n, hit in seen)  # every note of each reported bar was hit
    targets = result.targets("Kid")
    assert result.alignments["Kid"] == align(hits, targets)  # no lane is folded here
    bar_of = np.floor(targets.onset_sec / 2.0)
    assert set(targets.lane[bar_of < 3].tolist()) == {Lane.KICK}
    assert set(targets.lane[(bar_of >= 3) & (bar_of < 6)].tolist()) == {Lane.KICK, Lane.SNARE}
    assert Lane.HIHAT_CLOSED in set(targets.lane[bar_of >= 6].tolist())


def test_the_real_lesson_path_promotes_a_steady_beginner() -> None:
    chart = groove_chart(bars=24)
    clock = FakeClock()
    engine = Engine(
        chart,
        [Player("Kid", level=Level.BEGINNER), Player("Pro")],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(lesson_players=("Kid",)),
    )
    full = chart.targets()
    kid = perform(full, seed=21, bias_sec=0.005, sd_sec=0.008, miss=0.0, extra=0.0)
    pro = perform(full, seed=22, bias_sec=0.0, sd_sec=0.005, miss=0.0, extra=0.0)
    stream(engine, clock, {"Kid": kid, "Pro": pro}, as_ns=False)
    result = engine.finish()
    climbed = [lv for _, lv in result.levels["Kid"]]
    assert climbed[0] is Level.BEGINNER and len(climbed) >= 3
    assert climbed == sorted(climbed)
    assert any("up to" in m for m in result.messages)
    kid_al = result.alignments["Kid"]
    assert kid_al.n_hit == len(kid_al.targets) > 0
    assert result.alignments["Pro"] == align(pro, full)


def test_the_notes_laid_out_grow_bar_by_bar_for_each_part() -> None:
    chart = groove_chart(bars=4)
    clock = FakeClock()
    engine = Engine(chart, [Player("A"), Player("B", level=Level.EASY)], Settings(), clock)
    seen = []
    for t in (0.0, 1.0, 3.0, 5.0, 7.9):
        clock.set_ns(engine.sec_to_ns(t))
        engine.tick()
        end = engine.bars[-1].end_sec
        for name, level in (("A", Level.EXPERT), ("B", Level.EASY)):
            want = chart.targets(level)
            want = want.select(np.flatnonzero(want.onset_sec < end - 1e-9))
            got = engine.laid_out(name)
            np.testing.assert_allclose(got.onset_sec, want.onset_sec, atol=1e-9)
            np.testing.assert_array_equal(got.lane, want.lane)
        seen.append(len(engine.laid_out("A")))
    assert seen == sorted(seen) and seen[0] < seen[-1] == len(chart.targets(Level.EXPERT))
    with pytest.raises(InputError, match="no player 'Z'"):
        engine.laid_out("Z")


def test_bad_calls_get_clear_errors() -> None:
    chart = groove_chart(bars=2)
    engine = Engine(chart, [Player("A")], Settings(), FakeClock())
    with pytest.raises(InputError, match="no player 'Z'"):
        engine.push_hit("Z", Lane.KICK, song_sec=0.0)
    with pytest.raises(InputError, match="lane 12"):
        engine.push_hit("A", 12, song_sec=0.0)
    # the time comes once, in a named unit
    with pytest.raises(TypeError, match="needs the time"):
        engine.push_hit("A", Lane.KICK)
    with pytest.raises(TypeError, match="not both"):
        engine.push_hit("A", Lane.KICK, t_ns=engine.sec_to_ns(0.5), song_sec=0.5)
    with pytest.raises(TypeError, match=r"did you mean song_sec=0\.5"):
        engine.push_hit("A", Lane.KICK, t_ns=0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not both"):
        engine.tick(t_ns=0, song_sec=0.0)
    with pytest.raises(TypeError, match="not both"):
        engine.snapshot(t_ns=0, song_sec=0.0)
    with pytest.raises(TypeError):
        engine.push_hit("A", 0.0, Lane.KICK, 100)  # type: ignore[misc]
    assert len(engine.finish().session.player("A").hits) == 0  # nothing half-recorded
    with pytest.raises(InputError, match="does not fit"):
        Engine(chart, [Player("A")], Settings(), FakeClock(), options=LiveOptions(loop_bars=(2, 5)))
    only_expert = Chart("x", TempoMap.constant(120), {Level.EXPERT: chart.part()})
    derived = Engine(only_expert, [Player("A", level=Level.EASY)], Settings(), FakeClock())
    assert derived.chart.part(Level.EASY) == simplify_chart(only_expert).part(Level.EASY)
    assert 0 < len(derived.chart.part(Level.EASY)) < len(chart.part())


def test_finish_keeps_every_hit_and_marks_the_rest_missed() -> None:
    chart = groove_chart(bars=4)
    clock = FakeClock()
    engine = Engine(chart, [Player("A")], Settings(), clock)
    engine.push_hit("A", Lane.KICK, song_sec=0.001)
    result = engine.finish()
    assert len(result.session.player("A").hits) == 1
    assert result.timing["A"].n_hit == 1
    assert result.timing["A"].n_miss == len(chart.part()) - 1
    assert engine.finish() is result
    assert math.isfinite(result.timing["A"].mean_error_sec)


def drifting_duo(chart: Chart, bpm_from: float, bpm_to: float, *, seed: int) -> dict[str, Hits]:
    """Two players who ignore the click and slow down together from one tempo to another."""
    part = chart.part()
    grid = np.linspace(0.0, chart.end_qn, 20_001)
    half = chart.end_qn / 2
    bpm = np.where(grid < half, bpm_from + (bpm_to - bpm_from) * grid / half, bpm_to)
    sec = np.concatenate([[0.0], np.cumsum(np.diff(grid) * 60.0 / bpm[:-1])])
    t = np.interp(part.qn, grid, sec)
    rng = np.random.default_rng(seed)
    return {
        name: Hits.from_arrays(t + rng.normal(0.0, 0.008, t.size), part.lane) for name in ("A", "B")
    }


def play_along(engine: Engine, clock: FakeClock, *, seed: int, sd_sec: float = 0.008) -> None:
    """Every player plays each note the engine lays out, off by a little noise, as the
    clock runs in 5 ms steps to the end of the song (a few notes missed)."""
    rng = np.random.default_rng(seed)
    done = dict.fromkeys(engine.players, 0)
    waiting: dict[str, list[tuple[float, int]]] = {n: [] for n in engine.players}
    t = 0.0
    while t < engine.end_sec + 1.0:
        clock.set_ns(engine.sec_to_ns(t))
        engine.tick()
        for name in engine.players:
            notes = engine.laid_out(name)
            for k in range(done[name], len(notes)):
                if rng.random() > 0.03:
                    when = float(notes.onset_sec[k]) + rng.normal(0.0, sd_sec)
                    waiting[name].append((when, int(notes.lane[k])))
            done[name] = len(notes)
            waiting[name].sort()
            while waiting[name] and waiting[name][0][0] <= t:
                when, lane = waiting[name].pop(0)
                engine.push_hit(name, lane, song_sec=when)
        t += 0.005


@pytest.mark.parametrize("follow", [True, False])
def test_tempo_follower_converges_on_a_drifting_duo(follow: bool) -> None:
    chart = groove_chart(bpm=120, bars=48)
    duo = drifting_duo(chart, 120.0, 112.0, seed=11)
    clock = FakeClock()
    engine = Engine(
        chart, [Player("A"), Player("B")], Settings(follow=follow, count_in_bars=0), clock
    )
    stream(engine, clock, duo, as_ns=False)
    result = engine.finish()
    last = result.bars[-8:]
    if follow:
        tempo = [120.0 / b.stretch for b in last]
        assert tempo == pytest.approx([112.0] * 8, abs=1.0)
        err = result.alignments["A"].error_sec[-64:]
        assert np.isfinite(err).all() and np.abs(err).mean() < 0.015
        assert result.timing["A"].hit_rate > 0.97
        # bounded: never beyond 8% from the song's tempo
        assert all(0.92 - 1e-9 <= 1.0 / b.stretch <= 1.08 + 1e-9 for b in result.bars)
    else:
        assert all(b.stretch == 1.0 for b in result.bars)
        assert result.timing["A"].hit_rate < 0.6  # the fixed click leaves them behind


def test_the_stored_report_gives_the_figures_the_live_session_showed() -> None:
    """A beginner on Easy hits toms and the ride; the report counts them as the engine did."""
    from cymbalism.report.analysis import analyse_session

    chart = simplify_chart(groove_chart())
    clock = FakeClock(5_000_000_000)
    engine = Engine(chart, [Player("Ana"), Player("Ben", level=Level.EASY)], Settings(), clock)
    ha = perform(chart.targets(Level.EXPERT), seed=3, bias_sec=-0.01, sd_sec=0.01)
    hb = perform(chart.targets(Level.EASY), seed=4, bias_sec=0.02, sd_sec=0.03, extra=0.3)
    # Ben plays the hi-hat notes on the ride, and his extra hits fall on any drum
    hb = Hits(np.round(hb.onset_sec * 1e9) / 1e9, hb.lane, hb.velocity)
    ride = hb.lane == Lane.HIHAT_CLOSED
    hb = Hits(hb.onset_sec, np.where(ride, np.int8(Lane.RIDE), hb.lane), hb.velocity)
    ha = Hits(np.round(ha.onset_sec * 1e9) / 1e9, ha.lane, ha.velocity)
    stream(engine, clock, {"Ana": ha, "Ben": hb})
    result = engine.finish()
    assert not np.array_equal(fold_lanes(hb.lane, Level.EASY), hb.lane)  # folding matters
    every = np.arange(len(Lane))
    for name, level in (("Ana", Level.EXPERT), ("Ben", Level.EASY)):
        folded = fold_lanes(every, level, hit_lanes=chart.hit_lanes(level))
        assert [engine.target_lane(name, ln) for ln in every] == folded.tolist()
    assert engine.target_lane("Ben", Lane.RIDE) != Lane.RIDE  # Easy hears the ride elsewhere
    with pytest.raises(InputError, match="lane 12"):
        engine.target_lane("Ben", 12)

    stored = analyse_session(result.session)
    for live, report in zip(result.report.players, stored.players, strict=True):
        assert report.alignment == live.alignment
        assert same(report.stats, live.stats)
        assert same(dict(report.by_lane), dict(live.by_lane))
    assert result.report.sync is not None and stored.sync is not None
    assert same(stored.sync, result.report.sync.stats)
    assert stored.came_together_sec == result.report.sync.came_together_sec


class _Slowing:
    """A lesson path that takes the song down to 80% after the second bar it is told of."""

    level = Level.EXPERT

    def __init__(self) -> None:
        self.tempo_scale = 1.0
        self.bars = 0

    def on_bar_end(self, bar: int, alignment) -> None:  # type: ignore[no-untyped-def]
        self.bars += 1
        if self.bars == 2:
            self.tempo_scale = 0.8


@pytest.mark.parametrize("layout", ["follow", "loop", "practice tempo"])
def test_a_stored_session_is_judged_against_the_bars_as_they_were_played(
    layout: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A click that followed the duo, a loop, a lesson's practice tempo: the engine moved
    the notes off the chart's own timeline. The session the store keeps says where each
    bar was played, so its report judges every hit as the live engine did."""
    from cymbalism.report.analysis import analyse_session, analyse_stored
    from cymbalism.store import Store

    chart = groove_chart(bpm=120, bars=24)
    options, lesson, settings = LiveOptions(), None, Settings(count_in_bars=0)
    if layout == "follow":
        settings = Settings(follow=True, count_in_bars=0)
    elif layout == "loop":
        options = LiveOptions(loop_bars=(3, 6), loop_repeats=3)
    else:
        options = LiveOptions(lesson_players=("A", "B"))
        lesson = lambda p: _Slowing()  # noqa: E731
    store = Store(tmp_path / "s.sqlite")
    writer = store.start_session(chart, [Player("A"), Player("B")], settings=settings)
    clock = FakeClock()
    engine = Engine(
        chart,
        [Player("A"), Player("B")],
        settings,
        clock,
        options=options,
        lesson=lesson,
        recorder=writer,
    )
    if layout == "follow":  # a duo who slow down; the click follows them
        stream(engine, clock, drifting_duo(chart, 120.0, 112.0, seed=5), as_ns=False)
    else:  # a duo who play the notes where the engine lays them out
        play_along(engine, clock, seed=5)
    result = engine.finish()
    writer.finish()
    moved = [b for b in result.bars if b.stretch != 1.0 or b.shift_sec != 0.0]
    assert moved  # the layout is not the chart's own
    assert result.timing["A"].hit_rate > 0.9

    stored = store.load(writer.session_id)
    assert stored.session.layout == tuple(b.layout for b in result.bars)
    for report in (analyse_session(result.session), analyse_stored(stored)):
        for live, p in zip(result.report.players, report.players, strict=True):
            assert p.alignment == live.alignment
            assert same(p.stats, live.stats)
    store.close()


def test_a_game_charts_own_easy_part_is_hit_on_the_drums_the_chart_names() -> None:
    """A community chart's Easy part has a yellow tom and a ride: a beginner who plays
    exactly those drums is on time (the Easy part plays its toms on the floor tom and the
    ride on the hi-hat, and folds the beginner's hits the same way)."""
    written = Part.from_arrays(
        np.arange(4) * 1.0, [Lane.KICK, Lane.TOM_HIGH, Lane.SNARE, Lane.RIDE]
    )
    chart = Chart("charted", TempoMap.constant(120.0), {Level.EASY: written, Level.EXPERT: written})
    clock = FakeClock(5_000_000_000)
    engine = Engine(chart, [Player("Ana", level=Level.EASY)], Settings(count_in_bars=0), clock)
    verdicts = []
    for t, lane in zip(np.arange(4) * 0.5, written.lane, strict=True):
        t_ns = engine.sec_to_ns(float(t))
        clock.set_ns(max(t_ns, clock.now_ns()))
        engine.tick()
        verdicts.append(engine.push_hit("Ana", int(lane), 100, t_ns=t_ns).verdict)
    assert verdicts == [Verdict.ON_TIME] * 4


def test_a_judgement_names_the_note_it_counted_for() -> None:
    """A closed hi-hat counts for an open hi-hat's note: the judgement names the note's
    lane, so a page that drew the note missed can find it again when a late-delivered
    stroke answers it. A miss names its note; an extra names none."""
    from cymbalism.model.lanes import NOT_JUDGED

    written = Part.from_arrays(
        np.arange(4) * 1.0, [Lane.HIHAT_OPEN, Lane.SNARE, Lane.HIHAT_OPEN, Lane.SNARE]
    )
    chart = Chart("hats", TempoMap.constant(120.0), {Level.EXPERT: written})
    clock = FakeClock(5_000_000_000)
    engine = Engine(chart, [Player("Ana")], Settings(count_in_bars=0), clock)
    t_ns = engine.sec_to_ns(0.01)
    clock.set_ns(t_ns)
    fb = engine.push_hit("Ana", int(Lane.HIHAT_CLOSED), 100, t_ns=t_ns)
    assert fb.verdict == Verdict.ON_TIME and fb.lane == Lane.HIHAT_CLOSED
    assert fb.target_lane == Lane.HIHAT_OPEN and fb.target_sec == 0.0
    # the snare at 0.5 s is never played in time: its miss names it
    clock.set_ns(engine.sec_to_ns(1.3))
    misses = engine.tick()
    assert [(m.verdict, m.lane, m.target_lane, m.target_sec) for m in misses] == [
        (Verdict.MISS, Lane.SNARE, Lane.SNARE, 0.5),
        (Verdict.MISS, Lane.HIHAT_OPEN, Lane.HIHAT_OPEN, 1.0),
    ]
    # a closed hi-hat stamped at 1.005 s but delivered only now answers the open one's miss
    late = engine.push_hit("Ana", int(Lane.HIHAT_CLOSED), 100, t_ns=engine.sec_to_ns(1.005))
    assert late.verdict == Verdict.ON_TIME
    assert (late.target_lane, late.target_sec) == (Lane.HIHAT_OPEN, 1.0)
    extra = engine.push_hit("Ana", int(Lane.TOM_FLOOR), 100, t_ns=engine.sec_to_ns(1.25))
    assert extra.verdict == Verdict.EXTRA and extra.target_lane == NOT_JUDGED


def test_a_chart_made_for_four_pads_takes_either_drum_of_a_pad() -> None:
    """An old four-lane chart (no cymbal markers) reads its yellow as the high tom: the
    hi-hat that the groove is really played on hits those notes too, live, at any level;
    the ride (blue) does not. With one cymbal marker the chart is pro: the tom is a tom."""
    from cymbalism.io.charts import parse_chart_text

    def chart_text(extra: str = "") -> str:
        notes = "\n".join(f"  {192 * i} = N {pad} 0" for i, pad in enumerate([0, 2, 1, 2] * 2))
        body = f"[ExpertDrums]\n{{\n{notes}\n{extra}}}\n[EasyDrums]\n{{\n{notes}\n}}\n"
        return "[Song]\n{\n  Resolution = 192\n}\n" + body

    def verdicts(chart: Chart, level: Level, lanes: list[Lane]) -> list[Verdict]:
        clock = FakeClock(5_000_000_000)
        engine = Engine(chart, [Player("Ana", level=level)], Settings(count_in_bars=0), clock)
        out = []
        for i, lane in enumerate(lanes):
            t_ns = engine.sec_to_ns(0.5 * i)
            clock.set_ns(max(t_ns, clock.now_ns()))
            engine.tick()
            out.append(engine.push_hit("Ana", int(lane), 100, t_ns=t_ns).verdict)
        return out

    four = parse_chart_text(chart_text())
    hats = [Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE, Lane.HIHAT_OPEN] * 2
    for level in (Level.EXPERT, Level.EASY):
        assert verdicts(four, level, hats) == [Verdict.ON_TIME] * 8
    ride = verdicts(four, Level.EXPERT, [Lane.KICK, Lane.RIDE, Lane.SNARE, Lane.TOM_HIGH] * 2)
    assert ride.count(Verdict.EXTRA) == 2  # blue is not yellow
    pro = parse_chart_text(chart_text("  1536 = N 3 0\n  1536 = N 67 0\n"))
    assert verdicts(pro, Level.EXPERT, hats).count(Verdict.EXTRA) == 4


def test_the_hi_hat_pedal_is_judged_only_where_the_chart_writes_it() -> None:
    """No game chart has a hi-hat pedal note, and an e-kit sends the pedal's chick with
    every step: there the pedal is neither hit nor extra, but it is kept with the player's
    hits. A chart with pedal notes judges it like any drum."""

    def session(chart: Chart) -> tuple[list[Verdict], Engine]:
        clock = FakeClock(5_000_000_000)
        engine = Engine(chart, [Player("Ana")], Settings(count_in_bars=0), clock)
        out = []
        for k in range(8):  # a chick on 1 and 3; the snare on 2 and 4, with a chick
            for sec, lane in (
                (1.0 * k + 0.003, Lane.HIHAT_PEDAL),
                (1.0 * k + 0.5, Lane.SNARE),
                (1.0 * k + 0.502, Lane.HIHAT_PEDAL),
            ):
                t_ns = engine.sec_to_ns(sec)
                clock.set_ns(max(t_ns, clock.now_ns()))
                engine.tick()
                out.append(engine.push_hit("Ana", int(lane), 90, t_ns=t_ns).verdict)
        return out, engine

    game = groove_chart(bars=4)
    free, engine = session(game)
    assert free.count(Verdict.NOT_JUDGED) == 16 and Verdict.EXTRA not in free
    assert free.count(Verdict.ON_TIME) == 8
    result = engine.finish(until_sec=8.0)
    kept = result.session.player("Ana").hits
    assert int(np.count_nonzero(kept.lane == Lane.HIHAT_PEDAL)) == 16  # nothing lost
    ana = result.report.players[0]
    assert ana.stats.n_extra == 0 and len(ana.alignment.hits) == 8
    assert engine.snapshot()["players"][0]["extras"] == 0
    # the same playing where the chart writes the pedal on the backbeat
    expert = game.part(Level.EXPERT)
    snare = expert.lane == Lane.SNARE
    charted = game.with_parts(
        {
            Level.EXPERT: Part.from_arrays(
                np.concatenate([expert.qn, expert.qn[snare]]),
                np.concatenate([expert.lane, np.full(int(snare.sum()), int(Lane.HIHAT_PEDAL))]),
            )
        }
    )
    judged, engine = session(charted)
    assert Verdict.NOT_JUDGED not in judged
    assert judged.count(Verdict.EXTRA) == 8  # the chick on 1 and 3 is not written
    assert judged.count(Verdict.ON_TIME) == 16
    # judged by the part played: Medium, derived from that Expert part, drops the pedal
    clock = FakeClock(5_000_000_000)
    players = [Player("Ana"), Player("Ben", level=Level.MEDIUM)]
    engine = Engine(charted, players, Settings(count_in_bars=0), clock)
    assert Lane.HIHAT_PEDAL not in engine.chart.part(Level.MEDIUM).lane
    t_ns = engine.sec_to_ns(0.502)
    clock.set_ns(t_ns)
    engine.tick()
    verdicts = {
        n: engine.push_hit(n, int(Lane.HIHAT_PEDAL), 90, t_ns=t_ns).verdict for n in ("Ana", "Ben")
    }
    assert verdicts == {"Ana": Verdict.ON_TIME, "Ben": Verdict.NOT_JUDGED}


def test_a_drum_roll_streamed_is_judged_as_offline_and_says_roll() -> None:
    chart = parse_chart_text(TEXT, source="roll.chart")
    clock = FakeClock(5_000_000_000)
    engine = Engine(chart, [Player("Ana")], Settings(count_in_bars=0), clock)
    hits = _played(chart, late_sec=0.01, roll_every_sec=0.027, stop_sec=np.inf, seed=7)
    hits = Hits(np.round(hits.onset_sec * 1e9) / 1e9, hits.lane, hits.velocity)
    judged, misses = stream(engine, clock, {"Ana": hits})
    result = engine.finish()
    targets, rolled = chart.targets(Level.EXPERT), chart.roll_mask(Level.EXPERT)
    offline = align(hits, targets, roll=rolled)
    assert result.alignments["Ana"] == offline
    assert offline.n_extra == 0 and offline.roll_index.size > 0 and not misses
    words = [f.verdict for f in judged]
    tix = offline.target_index
    for i, word in enumerate(words):
        under_roll = tix[i] < 0 or rolled[tix[i]]
        assert (word is Verdict.ROLL) == under_roll
    assert result.timing["Ana"].mean_error_sec == pytest.approx(0.01, abs=1e-6)
    # looped twice through the roll's bar: the same again, bar after bar
    clock = FakeClock()
    looped = Engine(
        chart,
        [Player("Ana")],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(loop_bars=(2, 2), loop_repeats=2),
    )
    looped.tick(song_sec=10.0)
    result = looped.finish()
    assert result.alignments["Ana"].roll.sum() == 2 * int(rolled.sum())


def test_a_lesson_live_counts_a_rolls_early_stroke_as_the_roll() -> None:
    chart = parse_chart_text(TEXT, source="roll.chart")
    clock = FakeClock(5_000_000_000)
    path = LessonPath(chart, start_level=Level.EXPERT)
    engine = Engine(
        chart,
        [Player("Ana")],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(lesson_players=("Ana",)),
        lesson=lambda player: path,
    )
    hits = _roll_started_early(chart)
    hits = Hits(np.round(hits.onset_sec * 1e9) / 1e9, hits.lane, hits.velocity)
    stream(engine, clock, {"Ana": hits})
    engine.tick(song_sec=10.0)
    engine.finish()
    # the snare stroke before bar 2 and the swell's last strokes in bar 3 are the rolls'
    told = [b.extra_lane.tolist() for b in path.history]
    assert told == [[int(Lane.TOM_HIGH)], [], []]
    assert told == [
        b.extra_lane.tolist() for b in replay_lesson(chart, hits, start_level=Level.EXPERT).history
    ]


def test_a_microphones_ride_heard_as_the_hi_hat_is_named_by_the_note_it_plays() -> None:
    """A microphone's kit without a ride names the ride's strokes hi-hat: live, each is
    named as it arrives by the note it falls on, judged and kept so, exactly as
    `analyze` names a recording's strokes."""
    from cymbalism.analysis.align import as_heard, name_heard_drums

    chart = groove_chart()
    full = chart.part(Level.EXPERT)
    # the second half of the groove on the ride, with a mid tom for each snare there
    later = full.qn >= full.qn.max() / 2
    hat = later & (full.lane == Lane.HIHAT_CLOSED)
    lanes = np.where(hat, int(Lane.RIDE), full.lane)
    snare = later & (full.lane == Lane.SNARE)
    song = chart.with_parts(
        {
            Level.EXPERT: Part.from_arrays(
                np.concatenate([full.qn, full.qn[snare] + 0.25]),
                np.concatenate([lanes, np.full(int(snare.sum()), int(Lane.TOM_MID))]),
            )
        }
    )
    heard_as = {Lane.RIDE: (Lane.HIHAT_CLOSED,), Lane.TOM_MID: (Lane.TOM_HIGH, Lane.TOM_FLOOR)}
    targets = song.targets(Level.EXPERT)
    assert (targets.lane == Lane.RIDE).sum() > 10 and (targets.lane == Lane.TOM_MID).any()
    played = perform(targets, seed=5, bias_sec=0.004, sd_sec=0.012)
    as_read = as_heard(played, heard_as)  # what the microphone names
    as_read = Hits(np.round(as_read.onset_sec * 1e9) / 1e9, as_read.lane, as_read.velocity)
    clock = FakeClock(5_000_000_000)
    engine = Engine(
        song,
        [Player("Ana")],
        Settings(count_in_bars=0),
        clock,
        options=LiveOptions(heard_as={"Ana": heard_as}),
    )
    judged, _ = stream(engine, clock, {"Ana": as_read})
    result = engine.finish()
    named = name_heard_drums(as_read, targets, heard_as, window_sec=engine.settings.window_sec)
    kept = result.session.player("Ana").hits
    assert kept == named and (kept.lane == Lane.RIDE).sum() > 10
    assert result.alignments["Ana"] == align(heard(named, song), targets)
    extras = [f.verdict for f in judged].count(Verdict.EXTRA)
    assert extras == result.alignments["Ana"].n_extra
    assert [f.lane for f in judged] == kept.lane.tolist()
    # without it, the ride's and the mid tom's notes are missed and their strokes extra
    plain = Engine(song, [Player("Ana")], Settings(count_in_bars=0), FakeClock(5_000_000_000))
    judged, _ = stream(plain, plain.clock, {"Ana": as_read})
    as_is = align(heard(as_read, song), targets)
    assert plain.finish().alignments["Ana"] == as_is
    assert [f.verdict for f in judged].count(Verdict.EXTRA) == as_is.n_extra
    assert as_is.n_extra > extras + 10 and as_is.n_hit < result.alignments["Ana"].n_hit - 10
    with pytest.raises(InputError, match="heard_as for unknown players"):
        Engine(
            song,
            [Player("Ana")],
            Settings(),
            FakeClock(),
            options=LiveOptions(heard_as={"Bo": heard_as}),
        )
