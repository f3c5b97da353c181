"""Drum rolls: read from both game formats, kept by the store, judged hit or missed but
never early or late, and their extra strokes never counted as extra hits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cymbalism.analysis.align import ROLL_REACH_SEC, OnlineAligner, align
from cymbalism.analysis.sync import asynchrony
from cymbalism.analysis.timing import timing_by_lane, timing_stats
from cymbalism.errors import InputError
from cymbalism.io.charts import parse_chart_text, read_notes_mid
from cymbalism.model.chart import Chart, Level, Part, Roll
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.store.codec import chart_from_json, chart_to_json

#: Two bars at 120 BPM (a quarter note is 0.5 s): kick and snare on the beats, then in
#: the second bar a snare roll of 32nds over beats 1-3 and a cymbal swell of 16ths
#: between the ride and the crash on beat 4.
CHART = """[Song]
{
  Resolution = 192
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
}
[ExpertDrums]
{
  0 = N 0 0
  192 = N 1 0
  384 = N 0 0
  576 = N 1 0
  768 = N 0 0
  768 = N 1 0
  768 = N 4 0
  768 = N 68 0
  768 = S 65 576
%s
  1344 = N 3 0
  1344 = N 67 0
  1344 = S 66 192
  1392 = N 4 0
  1392 = N 68 0
  1440 = N 3 0
  1440 = N 67 0
  1488 = N 4 0
  1488 = N 68 0
  1536 = N 0 0
}
[HardDrums]
{
  0 = N 0 0
  768 = N 1 0
}
"""
ROLL_TICKS = list(range(792, 1344, 24))  # 32nds after the chord on beat 1
TEXT = CHART % "\n".join(f"  {t} = N 1 0" for t in ROLL_TICKS)


@pytest.fixture(scope="module")
def chart() -> Chart:
    return parse_chart_text(TEXT, source="roll.chart")


def test_a_chart_reads_its_roll_and_its_swell(chart: Chart) -> None:
    snare, swell = chart.rolls[Level.EXPERT]
    # the roll starts on a chord (kick, snare, crash): the next note alone is the snare
    assert snare == Roll(4.0, 7.0, (Lane.SNARE,))
    assert swell == Roll(7.0, 8.0, (Lane.CRASH, Lane.RIDE))
    assert Level.HARD not in chart.rolls
    part = chart.part(Level.EXPERT)
    rolled = chart.roll_mask(Level.EXPERT)
    expected = ((part.qn >= 4.0) & (part.qn < 7.0) & (part.lane == Lane.SNARE)) | (
        (part.qn >= 7.0) & (part.qn < 8.0) & np.isin(part.lane, [Lane.CRASH, Lane.RIDE])
    )
    np.testing.assert_array_equal(rolled, expected)
    assert rolled.sum() == 1 + len(ROLL_TICKS) + 4  # the chord's snare is under the roll
    assert not chart.roll_mask(Level.HARD).any()
    assert chart_from_json(chart_to_json(chart)).rolls == chart.rolls


def test_a_notes_mid_reads_126_and_127_and_the_hard_velocity(tmp_path: Path) -> None:
    tpq = 480
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="song", time=0)]))
    events = []  # (tick, note, velocity, length)
    events += [(q * tpq // 4, 97, 100, 10) for q in range(16)]  # expert snare 16ths
    events += [(q * tpq // 2, 85, 100, 10) for q in range(8)]  # hard snare 8ths
    events += [(0, 126, 45, 2 * tpq)]  # a snare roll over two beats, Hard too (41-50)
    events += [(2 * tpq, 127, 100, 2 * tpq)]  # a second roll marker: Expert only
    events += [(q * tpq // 4, 98, 100, 10) for q in range(8, 16)]  # yellow cymbal (hi-hat)
    timed = []
    for tick, note, vel, length in events:
        timed.append((tick, 1, mido.Message("note_on", note=note, velocity=vel)))
        timed.append((tick + length, 0, mido.Message("note_off", note=note)))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name="PART DRUMS", time=0)])
    last = 0
    for tick, _, msg in sorted(timed, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - last))
        last = tick
    mid.tracks.append(track)
    mid.save(str(tmp_path / "notes.mid"))
    chart = read_notes_mid(tmp_path / "notes.mid")
    assert chart.rolls[Level.EXPERT] == (
        Roll(0.0, 2.0, (Lane.SNARE,)),
        Roll(2.0, 4.0, (Lane.SNARE, Lane.HIHAT_CLOSED)),
    )
    assert chart.rolls[Level.HARD] == (Roll(0.0, 2.0, (Lane.SNARE,)),)
    assert chart.roll_mask(Level.EXPERT).sum() == 16 + 8
    assert chart.roll_mask(Level.HARD).sum() == 4


def test_rolls_are_checked() -> None:
    with pytest.raises(InputError, match="end after it starts"):
        Roll(2.0, 2.0, (Lane.SNARE,))
    with pytest.raises(InputError, match="one drum or two"):
        Roll(0.0, 1.0, ())
    with pytest.raises(InputError, match="Expert's"):
        Chart("x", TempoMap.constant(120), {Level.EXPERT: Part.from_arrays([0.0], 1)},
              rolls={Level.EXPERT_PLUS: (Roll(0.0, 1.0, (Lane.SNARE,)),)})  # fmt: skip


def _played(chart: Chart, *, late_sec: float, roll_every_sec: float, stop_sec: float, seed: int):
    """The expert part played ``late_sec`` late on every note outside the rolls, and the
    rolls as a buzz: strokes every ``roll_every_sec`` (jittered) on their drums, up to
    ``stop_sec``."""
    rng = np.random.default_rng(seed)
    targets = chart.targets(Level.EXPERT)
    rolled = chart.roll_mask(Level.EXPERT)
    onset = [targets.onset_sec[~rolled] + late_sec]
    lane = [targets.lane[~rolled]]
    tm = chart.tempo_map
    for roll in chart.rolls[Level.EXPERT]:
        a, b = (float(x) for x in tm.qn_to_sec(np.array([roll.start_qn, roll.end_qn])))
        t = np.arange(a, min(b, stop_sec), roll_every_sec)
        t = t + rng.uniform(-0.3, 0.3, t.size) * roll_every_sec
        onset.append(t)
        lane.append(np.asarray(roll.lanes)[np.arange(t.size) % len(roll.lanes)])
    return Hits.from_arrays(np.concatenate(onset), np.concatenate(lane))


def test_a_roll_is_hit_or_missed_never_early_or_late(chart: Chart) -> None:
    targets = chart.targets(Level.EXPERT)
    rolled = chart.roll_mask(Level.EXPERT)
    hits = _played(chart, late_sec=0.012, roll_every_sec=0.03, stop_sec=np.inf, seed=1)
    al = align(hits, targets, roll=rolled)
    assert al.n_hit == len(targets) and al.n_extra == 0  # the buzz is no extra
    assert al.roll_index.size == len(hits) - len(targets)
    stats = timing_stats(al)
    assert stats.hit_rate == 1.0
    # every timing figure is the 12 ms of the notes outside the rolls, exactly
    assert stats.mean_error_sec == pytest.approx(0.012, abs=1e-9)
    assert stats.sd_error_sec == pytest.approx(0.0, abs=1e-9)
    assert timing_by_lane(al)[Lane.SNARE].mean_error_sec == pytest.approx(0.012, abs=1e-9)
    assert timing_by_lane(al)[Lane.SNARE].n_hit == int((targets.lane == Lane.SNARE).sum())
    # judged as if there were no roll, the buzz is extra hits and off the beat
    plain = align(hits, targets)
    assert plain.n_extra == al.roll_index.size
    assert timing_stats(plain).sd_error_sec > 0.003
    # the gap to a partner is measured on the notes outside the rolls only
    partner = align(_played(chart, late_sec=0.0, roll_every_sec=0.02, stop_sec=np.inf,
                            seed=2), targets, roll=rolled)  # fmt: skip
    gap = asynchrony(al, partner)
    assert len(gap) == np.unique(targets.onset_sec[~rolled]).size
    np.testing.assert_allclose(gap.asynchrony_sec, 0.012, atol=1e-9)


def test_a_roll_stopped_halfway_misses_the_rest(chart: Chart) -> None:
    targets = chart.targets(Level.EXPERT)
    rolled = chart.roll_mask(Level.EXPERT)
    tm = chart.tempo_map
    stop = float(tm.qn_to_sec(5.5))  # half of the snare roll, and no swell
    hits = _played(chart, late_sec=0.0, roll_every_sec=0.03, stop_sec=stop, seed=3)
    al = align(hits, targets, roll=rolled)
    missed = targets.onset_sec[~al.matched]
    assert missed.min() > stop and rolled[~al.matched].all()
    assert al.n_extra == 0


def test_a_stroke_far_from_the_roll_is_an_extra_hit(chart: Chart) -> None:
    targets = chart.targets(Level.EXPERT)
    rolled = chart.roll_mask(Level.EXPERT)
    hits = _played(chart, late_sec=0.0, roll_every_sec=0.03, stop_sec=np.inf, seed=4)
    start = float(chart.tempo_map.qn_to_sec(4.0))  # the roll's first note
    # a snare stroke 0.35 s before the roll is extra; one 0.2 s before starts the roll
    stray = [start - 0.35, start - 0.2]
    onset = np.concatenate([hits.onset_sec, stray])
    lane = np.concatenate([hits.lane, [Lane.SNARE, Lane.SNARE]])
    al = align(Hits.from_arrays(onset, lane), targets, roll=rolled)
    assert al.hits.onset_sec[al.extra_index].tolist() == [start - 0.35]
    assert start - 0.2 in al.hits.onset_sec[al.roll_index]
    # a kick in the roll is no stroke of it: an extra hit
    kick = Hits.from_arrays(np.append(onset, start + 0.3), np.append(lane, Lane.KICK))
    assert align(kick, targets, roll=rolled).n_extra == 2


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_notes=st.integers(0, 40),
    n_hits=st.integers(0, 80),
    chunk=st.integers(1, 12),
)
def test_online_judging_of_rolls_equals_offline(seed, n_notes, n_hits, chunk) -> None:
    """Notes given bar by bar ahead of the hits (as the live engine lays them out, at
    least ROLL_REACH_SEC ahead), hits judged one by one, give exactly align()'s result,
    and a stroke the aligner calls part of a roll is one in the end too."""
    rng = np.random.default_rng(seed)
    w = 0.075
    note_t = np.sort(rng.uniform(0, 6, n_notes).round(3))
    targets = Hits.from_arrays(note_t, rng.choice([1, 2, 3, 8], n_notes))
    roll = rng.random(n_notes) < 0.6
    hit_t = np.sort(rng.uniform(-0.2, 6.2, n_hits))
    hits = Hits.from_arrays(hit_t, rng.choice([1, 2, 3, 8], n_hits))
    offline = align(hits, targets, window_sec=w, roll=roll)
    online = OnlineAligner(Hits.empty(), window_sec=w)
    given_upto, rolled = 0, []
    for t, lane in zip(hits.onset_sec.tolist(), hits.lane.tolist(), strict=True):
        horizon = t + max(ROLL_REACH_SEC, w) + 1e-9  # the engine's lookahead
        while given_upto < n_notes and targets.onset_sec[given_upto] <= horizon:
            stop = min(given_upto + chunk, n_notes)
            new = targets.select(np.arange(given_upto, stop))
            online.extend(new, roll=roll[given_upto:stop])
            given_upto = stop
        if online.push(t, lane) is None:
            rolled.append(online.rolled(t, lane))
        else:
            rolled.append(None)
    if given_upto < n_notes:
        online.extend(targets.select(np.arange(given_upto, n_notes)), roll=roll[given_upto:])
    assert online.finish() == offline
    live_rolled = [i for i, r in enumerate(rolled) if r]
    assert live_rolled == offline.roll_index.tolist()


def test_the_report_of_a_session_leaves_the_roll_out_of_timing(chart: Chart) -> None:
    from cymbalism.model.session import Player, Session
    from cymbalism.report.analysis import analyse_session

    hits = _played(chart, late_sec=-0.008, roll_every_sec=0.025, stop_sec=np.inf, seed=5)
    session = Session(chart=chart, players=(Player("Ana", Level.EXPERT, hits=hits),))
    (ana,) = analyse_session(session).players
    assert ana.stats.hit_rate == 1.0 and ana.stats.n_extra == 0
    assert ana.stats.mean_error_sec == pytest.approx(-0.008, abs=1e-9)
    # the same session on a chart without its rolls: the buzz is extra and off the beat
    plain = replace(chart, rolls={})
    (ana,) = analyse_session(replace(session, chart=plain)).players
    assert ana.stats.n_extra > 0 and abs(ana.stats.mean_error_sec + 0.008) > 1e-4


def test_a_player_who_hit_only_rolls_is_told_so_not_a_timing_of_nan(chart: Chart) -> None:
    from cymbalism.model.session import Player, Session
    from cymbalism.report.analysis import analyse_session
    from cymbalism.report.text import summary_sentences

    hits = _played(chart, late_sec=0.0, roll_every_sec=0.03, stop_sec=np.inf, seed=6)
    # the notes outside the rolls were played on the dot; the buzzes are jittered
    timed = chart.targets(Level.EXPERT).select(~chart.roll_mask(Level.EXPERT))
    on_dot = set(zip(timed.onset_sec.tolist(), timed.lane.tolist(), strict=True))
    pairs = zip(hits.onset_sec.tolist(), hits.lane.tolist(), strict=True)
    keep = np.array([pair not in on_dot for pair in pairs])
    only_rolls = hits.select(keep)  # the buzzes alone: no note outside a roll is struck
    session = Session(chart=chart, players=(Player("Ana", Level.EXPERT, hits=only_rolls),))
    analysis = analyse_session(session)
    assert analysis.players[0].stats.n_hit > 0
    assert np.isnan(analysis.players[0].stats.mean_error_sec)
    said = " ".join(summary_sentences(analysis))
    assert "nan" not in said and "none of them outside a drum roll, so none was timed" in said


def test_the_tablature_prints_a_roll_as_tildes(chart: Chart) -> None:
    from cymbalism.songs.tab import format_tab

    part = chart.part(Level.EXPERT)
    text = format_tab(chart, part, roll=chart.roll_mask(Level.EXPERT), bars_per_line=2)
    rows = {line[:2]: line for line in text.splitlines() if "|" in line}
    bar2 = {k: v.split("|")[2] for k, v in rows.items()}  # the second bar's steps
    assert bar2["SD"] == "~" * 24 + "-" * 8  # 32nds: beat 1 to beat 4, all rolled
    assert bar2["CR"].count("~") == 2 and bar2["CR"][0] == "x"  # the chord's crash is no roll
    assert bar2["RD"].count("~") == 2
    assert "~" not in format_tab(chart, part)  # without the mask: plain notes


@pytest.mark.parametrize("name", ["notes.chart", "notes.mid"])
def test_a_saved_chart_keeps_its_rolls(chart: Chart, tmp_path: Path, name: str) -> None:
    from cymbalism.io.charts import load_chart, save_chart

    hard = replace(chart, rolls={**chart.rolls, Level.HARD: (Roll(4.0, 7.0, (Lane.SNARE,)),)})
    save_chart(tmp_path / name, hard)
    back = load_chart(str(tmp_path / name))
    assert back.rolls[Level.EXPERT] == chart.rolls[Level.EXPERT]
    np.testing.assert_array_equal(back.roll_mask(Level.EXPERT), chart.roll_mask(Level.EXPERT))
    assert back.rolls[Level.HARD] == (Roll(4.0, 7.0, (Lane.SNARE,)),)


def test_the_terminal_tab_draws_the_roll_ahead(chart: Chart) -> None:
    from rich.console import Console

    from cymbalism.live.clock import FakeClock
    from cymbalism.live.engine import Engine
    from cymbalism.live.view import Upcoming
    from cymbalism.model.session import Player, Settings

    engine = Engine(chart, [Player("Ana")], Settings(count_in_bars=0), FakeClock())
    upcoming = engine._upcoming(Level.EXPERT, [1])
    console = Console(width=40, record=True, color_system=None)
    console.print(Upcoming(upcoming, now_qn=0.0))
    rows = {line[:2]: line for line in console.export_text().splitlines()}
    assert rows["SD"].count("~") >= 12 and "o" not in rows["SD"]  # 32nds drawn in 16ths
    assert rows["CR"].count("~") == 2 and rows["RD"].count("~") == 2


def test_a_lessons_bar_and_tips_leave_the_roll_untimed(chart: Chart) -> None:
    from cymbalism.coaching.lesson import bar_result, tips

    part, rolled = chart.part(Level.EXPERT), chart.roll_mask(Level.EXPERT)
    targets = chart.targets(Level.EXPERT)
    # on time outside the roll; a loose buzz over it, 20 ms early on average
    hits = _played(chart, late_sec=0.0, roll_every_sec=0.02, stop_sec=np.inf, seed=8)
    a, b = (float(x) for x in chart.tempo_map.qn_to_sec(np.array([4.0, 7.0])))
    in_roll = (hits.onset_sec > a + 0.01) & (hits.onset_sec < b) & (hits.lane == Lane.SNARE)
    hits = Hits.from_arrays(hits.onset_sec - np.where(in_roll, 0.02, 0.0), hits.lane)
    with_roll = bar_result(
        1, Level.EXPERT, 1.0, part.qn, part.lane, align(hits, targets, roll=rolled)
    )
    plain = bar_result(1, Level.EXPERT, 1.0, part.qn, part.lane, align(hits, targets))
    assert with_roll.hit.all() and np.isnan(with_roll.error_sec[rolled]).all()
    assert with_roll.stats.mean_abs_error_sec < plain.stats.mean_abs_error_sec
    said = tips([with_roll], chart.tempo_map, last_bars=1)
    assert not any("snare hits that are not in the part" in t for t in said)
    assert not any("the snare" in t for t in said)
    assert any(
        "snare hits that are not in the part" in t
        for t in tips([plain], chart.tempo_map, last_bars=1)
    )


def _roll_started_early(chart: Chart) -> Hits:
    """The part played on time, its rolls buzzed; but the snare roll, which starts on bar
    2's downbeat, started 0.2 s early (in bar 1), with a high tom (an extra hit) there."""
    hits = _played(chart, late_sec=0.0, roll_every_sec=0.03, stop_sec=np.inf, seed=9)
    start = float(chart.tempo_map.qn_to_sec(4.0))
    return Hits.from_arrays(
        np.concatenate([hits.onset_sec, [start - 0.2, start - 0.2]]),
        np.concatenate([hits.lane, [Lane.SNARE, Lane.TOM_HIGH]]),
    )


def test_a_rolls_stroke_across_the_bar_line_is_no_extra_bar_by_bar(chart: Chart) -> None:
    from cymbalism.coaching.lesson import replay_lesson

    targets, rolled = chart.targets(Level.EXPERT), chart.roll_mask(Level.EXPERT)
    early = _roll_started_early(chart)
    start = float(chart.tempo_map.qn_to_sec(4.0))
    whole = align(early, targets, roll=rolled)
    assert whole.n_extra == 1 and start - 0.2 in whole.hits.onset_sec[whole.roll_index]
    # judged bar by bar, as the lesson path is told: the same
    report = replay_lesson(chart, early, start_level=Level.EXPERT)
    assert [b.level for b in report.history] == [Level.EXPERT] * 3
    assert [b.extra_lane.tolist() for b in report.history] == [[int(Lane.TOM_HIGH)], [], []]
    assert sum(b.stats.n_extra for b in report.history) == whole.n_extra
