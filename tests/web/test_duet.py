"""The studio's duet on the live engine (``web/duet.py``), driven hit by hit on a fake clock
with a real store: what the end screen says is what the stored report says."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cymbalism.live.clock import NS_PER_SEC, FakeClock
from cymbalism.model.chart import Chart, Level
from cymbalism.model.lanes import Lane
from cymbalism.report.analysis import analyse_stored
from cymbalism.report.text import summary_sentences
from cymbalism.songs import get_song
from cymbalism.store import Store
from cymbalism.web.duet import DuetEngine
from cymbalism.web.rooms import Connection, Room, Slot

START_SEC = 10.0  # the count-in starts here on the server's clock


def _room(store: Store, clock: FakeClock, chart: Chart | None = None) -> tuple[Room, DuetEngine]:
    def factory(room: Room, count_in_start_sec: float) -> DuetEngine:
        players = DuetEngine.players_of(room)
        writer = store.start_session(
            room.chart, players, settings=DuetEngine.settings_of(room), source="browser"
        )
        return DuetEngine(room, count_in_start_sec, clock=clock, recorder=writer)

    room = Room(
        code="abc",
        song="mirrorball" if chart is None else chart.title,
        chart=get_song("mirrorball") if chart is None else chart,
        slots=[Slot("Ana", Level.EXPERT), Slot("Ben", Level.EXPERT if chart else Level.BEGINNER)],
        engine_factory=factory,
        clock=lambda: clock.now_ns() / NS_PER_SEC,
        lesson=False,
    )
    engine = factory(room, START_SEC)
    room._engine = engine  # as Room.start does, without its ticking task
    room.state = "playing"
    return room, engine


def _play(
    engine: DuetEngine,
    clock: FakeClock,
    until_sec: float,
    who: dict[int, float],
    late_sec: tuple[float, float] = (0.005, 0.005),
) -> None:
    """Each player in ``who`` hits every note of their part, 5 ms late (or ``late_sec``),
    until their time."""
    notes = [(i, name) for i, name in enumerate(("Ana", "Ben")) if i in who]
    song_sec = engine.engine.song_sec(clock.now_ns())
    sent = {i: 0 for i in who}
    while song_sec < until_sec:
        song_sec += 0.01
        clock.set_ns(round((engine.zero_sec + song_sec) * NS_PER_SEC))
        for i, name in notes:
            t = engine.engine.laid_out(name)  # grows as the bars are laid out
            while sent[i] < len(t) and t.onset_sec[sent[i]] + late_sec[i] <= min(song_sec, who[i]):
                hit_at = engine.zero_sec + float(t.onset_sec[sent[i]]) + late_sec[i]
                engine.push_hit(i, hit_at, int(t.lane[sent[i]]), 100)
                sent[i] += 1
        engine.tick(clock.now_ns() / NS_PER_SEC)


def test_the_end_screen_of_a_song_stopped_early_is_the_stored_report(tmp_path: Path) -> None:
    """The end screen said "none of the 9 notes", the stored report "none of the 24"."""
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        _, engine = _room(store, clock)
        _play(engine, clock, 20.0, {0: 20.0})  # Ben never plays
        result = engine.finish(stopped_at_sec=engine.zero_sec + 20.0)
        stored = store.load(result["session_id"])
    analysis = analyse_stored(stored)
    assert stored.session.until_sec == pytest.approx(20.0)
    for shown, rep in zip(result["players"], analysis.players, strict=True):
        s = rep.stats
        assert (shown["n_notes"], shown["n_hit"], shown["n_miss"], shown["n_extra"]) == (
            s.n_notes,
            s.n_hit,
            s.n_miss,
            s.n_extra,
        )
    ben = analysis.player("Ben").stats
    assert f"Ben: none of the {ben.n_notes} notes were hit" in result["summary"]
    assert f"Ben (beginner part) hit none of the {ben.n_notes} notes." in summary_sentences(
        analysis
    )
    assert summary_sentences(analysis)[0].endswith(
        "(0:20) on " + analysis.started_at.strftime("%-d %b %Y") + "."
    )


def test_a_player_whose_tab_closed_is_stored_as_gone_and_judged_only_while_there(
    tmp_path: Path,
) -> None:
    """Ben's tab closed 9 s in: the session was stored as if he had played on, and the
    report said they were together from the start, though he hit 20%."""
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        room, engine = _room(store, clock)
        ben_tab = Connection(id=2)
        room.join(ben_tab)
        room.slots[1].conn_id = ben_tab.id
        _play(engine, clock, 9.0, {0: 9.0, 1: 9.0})
        room.leave(ben_tab)  # the tab is closed; nobody takes his seat
        _play(engine, clock, 30.0, {0: 30.0})
        result = engine.finish(stopped_at_sec=engine.zero_sec + 30.0)
        stored = store.load(result["session_id"])
    ben = stored.session.player("Ben")
    assert ben.present == ((float("-inf"), pytest.approx(9.0, abs=0.02)),)
    analysis = analyse_stored(stored)
    rep = analysis.player("Ben")
    assert rep.stats.hit_rate == 1.0  # every note while he was there
    assert rep.alignment.targets.onset_sec.max() < 9.0
    words = " ".join(summary_sentences(analysis))
    assert re.search(r"Ben left at 0:09, and is judged only while there", words)
    assert "to the end" not in words
    assert "until Ben left" in words or "never settled" in words
    shown = {p["name"]: p for p in result["players"]}
    assert shown["Ben"]["n_notes"] == rep.stats.n_notes


def test_a_hi_hat_pedal_on_a_song_with_no_pedal_notes_sounds_and_is_not_judged(
    tmp_path: Path,
) -> None:
    """Ben keeps time with his hi-hat pedal; the song writes none: each chick goes to the
    other devices to be heard, unjudged, and the stored session keeps every one."""
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        _, engine = _room(store, clock)
        out = []
        for beat in range(8):
            song_sec = 0.5 * beat + 0.002
            clock.set_ns(round((engine.zero_sec + song_sec) * NS_PER_SEC))
            engine.tick(clock.now_ns() / NS_PER_SEC)
            out += engine.push_hit(1, engine.zero_sec + song_sec, int(Lane.HIHAT_PEDAL), 70)
        result = engine.finish(stopped_at_sec=engine.zero_sec + 4.0)
        stored = store.load(result["session_id"])
    chicks = [m for m in out if m["type"] == "judgement"]
    assert len(chicks) == 8
    assert all(m["verdict"] == "not judged" and m["target_lane"] is None for m in chicks)
    assert all(m["velocity"] == 70 and m["hit_sec"] is not None for m in chicks)
    assert result["players"][1]["n_extra"] == 0
    assert analyse_stored(stored).player("Ben").stats.n_extra == 0
    kept = stored.session.player("Ben").hits
    assert int((kept.lane == Lane.HIHAT_PEDAL).sum()) == 8


def test_a_drum_roll_is_drawn_as_one_and_its_strokes_say_roll(tmp_path: Path) -> None:
    """The layout flags the notes under a roll (the page joins them into a roll lane);
    Ana's buzz over the roll comes back as "roll", never as extra hits, and the stored
    report says the same."""
    from cymbalism.io.charts import parse_chart_text
    from tests.analysis.test_rolls import TEXT

    chart = parse_chart_text(TEXT, source="roll.chart")
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        _, engine = _room(store, clock, chart)
        out = engine.tick(clock.now_ns() / NS_PER_SEC)
        start, end = (float(x) for x in chart.tempo_map.qn_to_sec(np.array([4.0, 7.0])))
        for song_sec in np.arange(start, end, 0.03):
            clock.set_ns(round((engine.zero_sec + song_sec) * NS_PER_SEC))
            out += engine.tick(clock.now_ns() / NS_PER_SEC)
            out += engine.push_hit(0, engine.zero_sec + song_sec, int(Lane.SNARE), 90)
        result = engine.finish(stopped_at_sec=engine.zero_sec + end + 1.0)
        stored = store.load(result["session_id"])
    laid = [m["targets"][0] for m in out if m["type"] == "layout" and m["targets"][0]["sec"]]
    sec = np.concatenate([t["sec"] for t in laid])
    roll = np.concatenate([t["roll"] for t in laid]).astype(bool)
    expected = chart.roll_mask(Level.EXPERT)
    np.testing.assert_array_equal(roll, expected[: sec.size])
    words = [m["verdict"] for m in out if m["type"] == "judgement"]
    assert words and set(words) == {"roll"}
    assert result["players"][0]["n_extra"] == 0
    ana = analyse_stored(stored).player("Ana")
    assert ana.stats.n_extra == 0 and ana.alignment.roll_index.size > 0
    said = " ".join(summary_sentences(analyse_stored(stored)))
    assert "In the drum rolls:" in said and "nan" not in said
    # only the roll was played: no note was timed, so no mean error is given
    assert result["summary"][0].startswith("Ana: ") and "mean error" not in result["summary"][0]


def test_a_closed_hi_hat_on_an_open_hi_hat_note_names_the_note(tmp_path: Path) -> None:
    """The page finds the note a judgement counted for by its lane: a closed hi-hat that
    hits an open hi-hat's note names the open hi-hat."""
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        _, engine = _room(store, clock)
        part = get_song("mirrorball").targets(Level.EXPERT)
        note_sec = float(part.onset_sec[part.lane == Lane.HIHAT_OPEN][0])
        clock.set_ns(round((engine.zero_sec + note_sec) * NS_PER_SEC))
        engine.tick(clock.now_ns() / NS_PER_SEC)
        out = engine.push_hit(0, engine.zero_sec + note_sec, int(Lane.HIHAT_CLOSED), 90)
        engine.finish(stopped_at_sec=engine.zero_sec + note_sec + 1.0)
    (judged,) = [m for m in out if m["type"] == "judgement"]
    assert judged["verdict"] == "on time" and judged["lane"] == Lane.HIHAT_CLOSED
    assert judged["target_lane"] == Lane.HIHAT_OPEN
    assert judged["target_sec"] == pytest.approx(note_sec)


def test_a_duet_together_from_the_first_note_of_a_song_with_an_intro_is_told_so(
    tmp_path: Path,
) -> None:
    """The drums come in after 6 s of intro and both players hit every note from the
    first: the stored report said they were together from the start, the end screen
    that they came together 6 s into the song."""
    from cymbalism.model.chart import Part

    song = get_song("mirrorball")
    part = song.part(Level.EXPERT)
    intro_qn = 12.0  # three bars, 6.3 s at 114 BPM
    chart = Chart(
        "intro",
        song.tempo_map,
        {Level.EXPERT: Part.from_arrays(part.qn + intro_qn, part.lane, part.velocity)},
    )
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        _, engine = _room(store, clock, chart)
        _play(engine, clock, 30.0, {0: 30.0, 1: 30.0})
        result = engine.finish(stopped_at_sec=engine.zero_sec + 30.0)
        stored = store.load(result["session_id"])
    analysis = analyse_stored(stored)
    first = float(song.tempo_map.qn_to_sec(intro_qn))
    assert analysis.came_together_sec == pytest.approx(first)
    assert "They were together from the start" in " ".join(summary_sentences(analysis))
    assert "You were together from the start." in result["summary"]


def test_the_end_screen_says_why_a_duet_did_not_come_together(tmp_path: Path) -> None:
    """Ben plays every note 40 ms after Ana: steady, but apart. The end screen said
    nothing of coming together; it says who stayed behind, as the report does."""
    clock = FakeClock(round(START_SEC * NS_PER_SEC))
    with Store(str(tmp_path / "s.sqlite3")) as store:
        _, engine = _room(store, clock, get_song("mirrorball"))
        _play(engine, clock, 30.0, {0: 30.0, 1: 30.0}, late_sec=(0.005, 0.045))
        result = engine.finish(stopped_at_sec=engine.zero_sec + 30.0)
        stored = store.load(result["session_id"])
    assert result["came_together_sec"] is None
    said = (
        "They never came together: at the end Ben was still 40 ms behind Ana, steady but "
        "apart (together is within 30 ms)."
    )
    assert said in result["summary"]
    assert said in " ".join(summary_sentences(analyse_stored(stored)))
