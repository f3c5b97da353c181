"""`cymbalism import`, `sessions`, `report`, `export` and `history`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cymbalism.cli import main
from cymbalism.model.chart import Chart
from cymbalism.model.lanes import Lane
from cymbalism.store import Store
from tests.store.test_store_db import _players


def test_import_report_export_history_from_the_command_line(
    duet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from cymbalism.io.midi import write_hits

    session, _ = duet
    chart = session.chart
    files = []
    for p in session.players:
        hits = p.hits.between(0.0, np.inf)  # a MIDI file starts at 0
        files.append(str(write_hits(tmp_path / f"{p.name}.mid", hits, chart.tempo_map)))
    db = str(tmp_path / "cli.sqlite3")
    monkeypatch.setenv("CYMBALISM_DB", db)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    # both judged against the full part, as given: Jae, on an easier part, misses much of
    # it, so they never come together ("not yet", below)
    given = ["--names", "Shigeru,Jae", "--levels", "expert,expert"]
    assert main(["import", *files, "--chart", "mirrorball", *given]) == 0
    out = capsys.readouterr().out
    assert "stored session 1" in out and "Shigeru" in out
    assert main(["import", *files]) == 0  # no chart: the grid they struck
    assert "against the click grid" in capsys.readouterr().out
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert "Mirrorball Nights" in out and "Shigeru & Jae" in out and "finished" in out
    assert main(["report", "1", "--card", "card.png"]) == 0  # only the card
    assert (tmp_path / "card.png").exists() and not (tmp_path / "session-1.html").exists()
    assert main(["report", "1"]) == 0
    assert (tmp_path / "session-1.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["export", "last", "--format", "json", "--out", "last.json"]) == 0
    assert json.loads((tmp_path / "last.json").read_text())[0]["session_id"] == 2
    assert main(["history", "Jae", "--png", "jae.png"]) == 0
    assert "Jae: 2 sessions" in capsys.readouterr().out  # the second import too (Jae.mid)
    # mistakes get one line and an exit code
    assert main(["report", "99"]) == 1
    assert main(["export", "1", "--format", "xlsx"]) == 2
    assert main(["history", "Nobody"]) == 1
    err = capsys.readouterr().err
    assert "no session 99" in err and "xlsx" in err and "Traceback" not in err
    # at 80 columns the tables wrap their words and keep every figure whole
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["sessions"]) == 0 and main(["history", "Jae"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert "Mirrorball" in out and "Shigeru &" in out and "not yet" in out


def test_import_keeps_the_part_each_player_played(
    duet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from cymbalism.io.midi import write_hits
    from cymbalism.model.chart import Level
    from cymbalism.store.store import Store

    session, _ = duet
    files = [
        str(
            write_hits(
                tmp_path / f"{p.name}.mid", p.hits.between(0.0, np.inf), session.chart.tempo_map
            )
        )
        for p in session.players
    ]
    db = str(tmp_path / "levels.sqlite3")
    args = ["import", *files, "--chart", "mirrorball", "--names", "A,B", "--db", db]
    assert main([*args, "--levels", "expert,beginner"]) == 0
    stored = Store(db).load(1)
    assert [p.level for p in stored.session.players] == [Level.EXPERT, Level.BEGINNER]
    capsys.readouterr()
    # levels without a chart, a wrong count, and an unknown option: one clear message each
    assert main(["import", *files, "--levels", "expert,beginner", "--db", db]) == 2
    assert main([*args, "--levels", "expert,easy,beginner"]) == 2
    assert main([*args, "--levelz", "expert"]) == 2
    err = capsys.readouterr().err
    assert "levels need a chart" in err and "--levels needs one value per player (2" in err
    assert "No such option: --levelz" in err and "internal error" not in err
    assert "Traceback" not in err
    # the files in the other order than their levels: stored as given, with a hint
    reversed_args = ["import", *files[::-1], "--chart", "mirrorball", "--names", "B,A"]
    assert main([*reversed_args, "--db", db, "--levels", "expert,beginner"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "Were the files given in the other order? Then give --levels beginner,expert" in err
    assert main(["analyze", *files, "--chart", "mirrorball", "--levels", "expert,beginner"]) == 0
    assert "other order" not in capsys.readouterr().err


def test_sessions_cut_short_are_flagged_and_finished_from_the_command_line(
    tmp_path: Path,
    groove_chart: Chart,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cymbalism.cli import main
    from cymbalism.store.models import SessionRow

    db = str(tmp_path / "cli.sqlite3")
    with Store(db) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.add_hits("Ana", [0.0, 0.5, 1.0], Lane.KICK)
        writer.close()
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        with store.engine.begin() as conn:  # as if the writer's process had died
            conn.execute(SessionRow.__table__.update().values(writer_pid=int(dead.stdout)))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["sessions", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "1 session was cut short (1)" in " ".join(out.split())
    assert "sessions finish" in out
    assert main(["sessions", "--db", db, "finish", "--cut-short"]) == 0
    assert "finished session 1" in capsys.readouterr().out
    with Store(db) as store:
        info = store.info(1)
        assert info.status == "finished" and info.players[0].n_hits == 3


def _three_stored(
    session: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[int]]:
    """Three copies of ``session`` in a new store, the one the commands use."""
    db = str(tmp_path / "cli.sqlite3")
    monkeypatch.setenv("CYMBALISM_DB", db)
    monkeypatch.setenv("COLUMNS", "200")
    with Store(db) as store:
        return db, [store.save_session(session) for _ in range(3)]


def test_one_unreadable_session_does_not_stop_sessions_or_history(
    duet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from tests.store.test_store_safety import _corrupt

    session, _ = duet
    db, ids = _three_stored(session, tmp_path, monkeypatch)
    with Store(db) as store:
        _corrupt(store, ids[1], 50_003.0)  # what an older version let through
    name = session.players[0].name
    for argv, listed in ((["sessions"], "finished"), (["history", name], "%")):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert out.count(listed) >= 2, out  # the two readable sessions are listed
        assert err.count("warning:") == 1 and f"session {ids[1]} is left out" in err, argv
        assert "Traceback" not in err
    assert main(["report", str(ids[1])]) == 2
    assert f"session {ids[1]} cannot be read" in capsys.readouterr().err


def test_a_session_with_an_odd_row_is_left_out_and_can_be_deleted(
    duet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    session, _ = duet
    db, ids = _three_stored(session, tmp_path, monkeypatch)
    with Store(db) as store:
        with store.engine.begin() as conn:  # a level no version of cymbalism has
            conn.execute(
                text("UPDATE session_players SET level = 99 WHERE session_id = :s"), {"s": ids[1]}
            )
    assert main(["sessions"]) == 0
    out, err = capsys.readouterr()
    assert out.count("finished") == 2 and f"session {ids[1]} is left out" in err
    assert main(["sessions", "delete", str(ids[1]), "--yes"]) == 0
    assert f"deleted session {ids[1]}" in capsys.readouterr().out
    assert main(["sessions"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_recorded_duet_is_stored_placed_on_its_song(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two acoustic kits recorded to the two channels of one file, the song starting
    2.5 s in and Ben 15 ms behind Ana: import finds the start, and the stored session
    says who was late by how much."""
    import soundfile as sf

    from cymbalism.io.audio import synthesize_hits
    from cymbalism.model.chart import Level
    from cymbalism.model.hits import Hits
    from cymbalism.songs import get_song

    song = get_song("mirrorball")
    notes = song.targets(Level.EASY).between(0.0, 25.0)
    sr = 44100
    channels = []
    for late in (0.0, 0.015):
        played = Hits(notes.onset_sec + 2.5 + late, notes.lane, notes.velocity)
        channels.append(synthesize_hits(played, sr, seed=int(late * 1000)))
    n = max(c.size for c in channels) + sr
    stereo = np.zeros((n, 2), np.float32)
    for i, c in enumerate(channels):
        stereo[: c.size, i] = c
    sf.write(tmp_path / "duet.wav", stereo, sr)
    db = str(tmp_path / "rec.sqlite3")
    files = [f"{tmp_path / 'duet.wav'}:L", f"{tmp_path / 'duet.wav'}:R"]
    args = ["import", *files, "--chart", "mirrorball", "--levels", "easy,easy"]
    assert main([*args, "--names", "Ana,Ben", "--db", db]) == 0
    assert "stored session 1" in capsys.readouterr().out
    from cymbalism.report.analysis import analyse_stored

    with Store(db) as store:
        stored = analyse_stored(store.load(1))
    ana, ben = stored.players
    # they played the first 25 s of the song (the rest of it counts as not played); the
    # default templates name some of the synthetic drums struck together wrongly
    assert ana.stats.n_hit >= 0.75 * len(notes) and ben.stats.n_hit >= 0.75 * len(notes)
    # placed on the song where the two together are on time (as `analyze` places
    # recordings): Ben 15 ms behind Ana
    late = ben.stats.mean_error_sec - ana.stats.mean_error_sec
    assert late == pytest.approx(0.015, abs=0.002)
    assert abs(ana.stats.mean_error_sec + ben.stats.mean_error_sec) < 0.002
    assert stored.sync is not None and abs(stored.sync.mean_sec) == pytest.approx(0.015, abs=0.002)
    # a start given is taken as it is: Ana on time, Ben 15 ms late
    assert main([*args, "--names", "Ana,Ben", "--db", db, "--offset", "2.5"]) == 0
    with Store(db) as store:
        again = analyse_stored(store.load(2))
    assert abs(again.players[0].stats.mean_error_sec) < 0.002
    assert again.players[1].stats.mean_error_sec == pytest.approx(0.015, abs=0.002)
    assert main(["import", *files, "--offset", "2.5", "--db", db]) == 2
    assert "give its --chart" in capsys.readouterr().err
    assert main([*args, "--offset", "1e9", "--db", db]) == 2
    assert "--offset must lie within ±86400 s" in capsys.readouterr().err


def test_import_reads_an_e_kits_own_note_map_with_kit(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A kit that sends notes of its own (not General MIDI) is read by its map, as
    `analyze --kit` reads it; without the map, one error says to name the kit."""
    import mido

    kit = tmp_path / "my-kit.toml"
    kit.write_text('name = "My kit"\n\n[notes]\n60 = "kick"\n61 = "snare"\n62 = "hi-hat"\n')
    take = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000)])
    for k in range(16):  # 8ths on the hi-hat, kick on 1 and 3, snare on 2 and 4
        notes = [62] + ([60] if k % 4 == 0 else [61] if k % 4 == 2 else [])
        for j, note in enumerate(notes):
            track.append(mido.Message("note_on", channel=9, note=note, velocity=90,
                                      time=240 if k and not j else 0))  # fmt: skip
        for note in notes:
            track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=0))
    take.tracks.append(track)
    path = tmp_path / "take.mid"
    take.save(path)
    db = str(tmp_path / "s.sqlite3")
    assert main(["import", str(path), "--db", db]) == 2
    assert "name the kit that recorded it" in " ".join(capsys.readouterr().err.split())
    assert main(["import", str(path), "--kit", str(kit), "--db", db]) == 0
    with Store(db) as store:
        hits = store.load(store.resolve("last")).session.players[0].hits
    counts = {Lane(x): int((hits.lane == x).sum()) for x in np.unique(hits.lane)}
    assert counts == {Lane.KICK: 4, Lane.SNARE: 4, Lane.HIHAT_CLOSED: 16}
