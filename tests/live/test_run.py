"""A live session from its players' specs to the store (``run_live``), under the fake clock
where it can be, and through ``cymbalism play`` as a person runs it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from cymbalism.cli import main
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import LiveOptions
from cymbalism.live.run import LiveSetup, PlayerSpec, run_live
from cymbalism.model.chart import Level
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Settings
from cymbalism.songs import get_song
from cymbalism.store import Store

SIMS = [
    PlayerSpec("Ana", "sim-expert", Level.EXPERT),
    PlayerSpec("Ben", "sim-beginner", Level.BEGINNER),
]


def test_simulated_players_play_the_bars_of_a_loop() -> None:
    """`play lanterns --loop 5-8` with simulated players once gave the expert 55.6%, the
    intro's floor toms judged as extras: the drummers played the song from its start."""
    chart = get_song("lanterns")
    options = LiveOptions(loop_bars=(5, 8), loop_repeats=4)
    setup = LiveSetup(SIMS, Settings(count_in_bars=1), options, click="none", store_url="none")
    setup.max_sec = 12.0
    result, _ = run_live(chart, setup, clock=FakeClock())
    ana = result.report.players[0]
    assert ana.stats.n_notes > 60 and ana.stats.hit_rate > 0.95
    # no hit on a drum the looped bars do not have (the intro's floor toms)
    tm = chart.tempo_map
    looped = chart.part(Level.EXPERT).between(float(tm.bar_to_qn(4)), float(tm.bar_to_qn(8)))
    played = set(result.session.player("Ana").hits.lane.tolist())
    assert played <= set(looped.lane.tolist())
    assert int(Lane.TOM_FLOOR) not in set(looped.lane.tolist())


def test_a_start_that_fails_leaves_no_session(tmp_path: Path, monkeypatch, capsys) -> None:
    """A microphone with no audio device: one clear error, and no 'cut short' session whose
    report says the players 'hit none of the 793 notes'."""
    from cymbalism.live import microphone

    class NoSoundCard:  # PortAudio on a computer with no audio input
        @staticmethod
        def query_devices() -> list[dict]:
            return []

    monkeypatch.setattr(microphone, "_sounddevice", lambda: NoSoundCard)
    db = str(tmp_path / "s.sqlite3")
    args = ["play", "mirrorball", "-p", "Ana:mic@ch1", "-p", "Ben:sim-beginner"]
    assert main([*args, "--click", "none", "--db", db]) == 1
    assert "no audio input device" in capsys.readouterr().err
    with Store(db) as store:
        assert store.sessions() == []


def _numbers(pattern: str, text: str) -> list[tuple[str, ...]]:
    return re.findall(pattern, " ".join(text.split()))


def test_a_session_stopped_early_is_reported_as_it_was_shown(tmp_path: Path, capsys) -> None:
    """The live summary said 62.1% of 206 notes and 78 missed, the stored report 59% of 216
    and 88, and gave the song's 1:43 for a 25 s session."""
    db = str(tmp_path / "s.sqlite3")
    args = ["play", "mirrorball", "-p", "Ana:sim-expert", "-p", "Ben:sim-beginner:lesson"]
    assert main([*args, "--click", "none", "--count-in", "0", "--seconds", "4", "--db", db]) == 0
    live = capsys.readouterr().out
    shown = dict(_numbers(r"(\w+): \d+ hits, [\d.]+% of (\d+) notes", live))
    assert main(["report", "last", "--db", db, "--html", str(tmp_path / "r.html")]) == 0
    stored = capsys.readouterr().out
    reported = dict(_numbers(r"(\w+) \([a-z]+ part[^)]*\) hit \d+% of (\d+) notes", stored))
    assert shown == reported and set(shown) == {"Ana", "Ben"}
    assert "played “Mirrorball Nights” (0:04)" in " ".join(stored.split())
    with Store(db) as store:
        (info,) = store.sessions()
        session = store.load(info.id).session
    assert info.status == "finished" and session.until_sec == pytest.approx(4.0, abs=0.1)
    assert np.all(session.player("Ana").hits.onset_sec < session.until_sec + 0.1)


def test_a_microphones_kit_says_which_drums_the_part_must_name() -> None:
    from cymbalism.io.audio import default_kit
    from cymbalism.live.run import heard_by, parse_player

    mic = parse_player("Ana:mic=USB Audio/garage@ch2")
    assert mic.microphone == ("USB Audio", "garage")
    assert parse_player("Ana:mic").microphone == (None, "default")
    # the default templates have no ride: the part names the ride's strokes
    assert heard_by(parse_player("Ana:mic@ch1")) == default_kit().heard_as
    assert heard_by(parse_player("Ana:mic@ch1"))[Lane.RIDE][0] is Lane.HIHAT_CLOSED
    assert heard_by(parse_player("Ben:TD-11")) == {} == heard_by(parse_player("Ben:keys"))


def test_a_database_held_through_the_song_loses_no_hit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program takes the database as the song starts and holds it to the end: the
    song plays, the result is shown, the end is kept in a file, and the next opening of
    the database stores every hit."""
    import sqlite3

    from cymbalism.store import StoreWarning

    monkeypatch.setattr("cymbalism.store.db._BUSY_TIMEOUT_MS", 100)
    db = str(tmp_path / "s.sqlite3")
    held: list[sqlite3.Connection] = []

    def hold(_engine: object) -> None:
        held.append(sqlite3.connect(db))
        held[0].execute("BEGIN EXCLUSIVE")

    setup = LiveSetup(SIMS, Settings(count_in_bars=1), LiveOptions(), click="none", store_url=db)
    setup.max_sec = 8.0
    said: list[str] = []

    def frame(snap: dict) -> None:  # the view; the fake clock runs ahead of the writer's
        said.extend(m for m in snap["messages"] if m not in said)
        if not any("database" in m for m in said):
            time.sleep(0.01)

    with pytest.warns(StoreWarning, match=r"refused the end of session 1 .* kept in .*unsaved"):
        result, sid = run_live(
            get_song("lanterns"), setup, clock=FakeClock(), on_start=hold, on_frame=frame
        )
    held[0].rollback()
    assert sid == 1 and len(result.session.player("Ana").hits) > 10
    assert "the database is busy: the hits wait here and are saved once it is free" in said
    with pytest.warns(StoreWarning, match="session 1: its last"), Store(db) as store:
        assert store.recover_unsaved() == [1]
        stored = store.load(1).session
    for player in result.session.players:
        assert stored.player(player.name).hits == player.hits
