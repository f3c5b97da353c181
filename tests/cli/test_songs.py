"""`cymbalism songs`, `cymbalism simplify` and `cymbalism lesson`."""

from __future__ import annotations

from cymbalism.cli import main
from cymbalism.model.chart import Level
from cymbalism.songs import get_song, song_names
from tests.conftest import EXPERT_LANES


def test_lesson_command_replays_a_recording(tmp_path, capsys):
    from cymbalism.cli import main
    from cymbalism.io.midi import write_hits

    chart = get_song("mirrorball")
    write_hits(tmp_path / "take.mid", chart.targets(Level.EASY), chart.tempo_map)
    assert main(["lesson", str(tmp_path / "take.mid"), "--chart", "mirrorball"]) == 0
    out = capsys.readouterr().out
    assert "after bar 4: up to Easy" in out and "Tips:" in out
    assert (
        main(["lesson", str(tmp_path / "take.mid"), "-c", "mirrorball", "--start", "warm-up"]) == 0
    )
    assert "the warm-up places you at Easy" in capsys.readouterr().out
    assert main(["lesson", str(tmp_path / "take.mid")]) == 2
    assert "MIDI files need --chart" in " ".join(capsys.readouterr().err.split())


def test_lesson_command_replays_a_stored_session(tmp_path, capsys):
    from cymbalism.cli import main
    from cymbalism.model.session import Player, Session
    from cymbalism.store import Store

    chart = get_song("mirrorball")
    db = str(tmp_path / "sessions.sqlite3")
    players = (
        Player("Kim", level=Level.EXPERT, hits=chart.targets(Level.EXPERT)),
        Player("Ana", level=Level.BEGINNER, hits=chart.targets(Level.EASY)),
    )
    with Store(db) as store:
        sid = store.save_session(Session(chart=chart, players=players))
    assert main(["lesson", "last", "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"pass 1 (session {sid}, Ana)" in out
    assert "after bar 4: up to Easy" in out and "up to Medium" in out
    # Kim's session starts at Expert, as live: the replay starts there too
    assert main(["lesson", str(sid), "--db", db, "--player", "Kim"]) == 0
    assert "starting at Expert" in capsys.readouterr().out
    assert main(["lesson", str(sid), "--db", db, "--player", "Kim", "--start", "beginner"]) == 0
    assert "up to Expert" in capsys.readouterr().out
    assert main(["lesson", str(sid), "--db", db, "--player", "Bo"]) == 2
    assert "no player 'Bo'" in capsys.readouterr().err


def test_simplify_command_writes_each_format(tmp_path, capsys):
    from cymbalism.cli import main
    from cymbalism.io.charts import read_chart

    assert (
        main(["simplify", "sunday-funk", "--level", "easy", "--out", str(tmp_path / "e.mid")]) == 0
    )
    assert "* Easy" in capsys.readouterr().out
    song = get_song("sunday-funk")
    assert read_chart(tmp_path / "e.mid").part() == song.part(Level.EASY)
    assert main(["simplify", "sunday-funk", "-o", str(tmp_path / "s.chart")]) == 0
    # what the .chart format cannot hold is folded, and said: never lost silently
    from cymbalism.coaching.simplify import simplify_chart
    from cymbalism.io.charts import save_chart

    folds = save_chart(tmp_path / "again.chart", simplify_chart(song)).folds
    out = capsys.readouterr().out
    assert f"folded {folds.total} notes to fit the .chart format" in out
    assert f"the Beginner part ({len(song.part(Level.BEGINNER))} notes) left out" in out
    back = read_chart(tmp_path / "s.chart")
    assert back.levels == [Level.EASY, Level.MEDIUM, Level.HARD, Level.EXPERT]
    assert back.part(Level.MEDIUM) == song.part(Level.MEDIUM)
    assert main(["simplify", "sunday-funk", "--level", "beginner"]) == 0
    assert "[verse]" in capsys.readouterr().out
    assert main(["simplify", "sunday-funk", "--level", "pro"]) == 2


def test_songs_command_lists_and_shows(capsys):
    assert main(["songs"]) == 0
    out = capsys.readouterr().out
    for name in song_names():
        assert name in out
    assert "114" in out and "123" in out
    assert main(["songs", "show", "mirrorball"]) == 0
    out = capsys.readouterr().out
    assert "Mirrorball Nights" in out and "[chorus]" in out and "BD |o---o---o---o---|" in out
    assert main(["songs", "show", "nope"]) == 1


def test_songs_command_prints_json(capsys):
    import json

    assert main(["songs", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mirrorball"]["bpm"] == 114 and rows["mirrorball"]["time_signature"] == "4/4"
    assert rows["mirrorball"]["levels"] == ["beginner", "easy", "medium", "hard", "expert"]
    assert rows["click"]["free_play"] is True


def test_lesson_takes_the_tempo_as_play_does(tmp_path, capsys):
    from cymbalism.io.midi import write_hits

    chart = get_song("mirrorball")
    take = str(write_hits(tmp_path / "take.mid", chart.targets(Level.EASY), chart.tempo_map))
    for tempo in ("80%", "80", "0.8"):
        assert main(["lesson", take, "-c", "mirrorball", "--tempo", tempo]) == 0
        assert "starting at Beginner, tempo 80%" in capsys.readouterr().out
    assert main(["lesson", take, "-c", "mirrorball", "--tempo", "150%"]) == 2
    assert "within 50%-100%" in " ".join(capsys.readouterr().err.split())
    assert main(["lesson", take, "-c", "mirrorball", "--tempo", "slow"]) == 2
    assert "such as 80%" in capsys.readouterr().err


def test_lesson_last_replays_only_the_bars_played_and_reaches_the_level_reached(tmp_path, capsys):
    """A session stopped in bar 14 was replayed to bar 24, and moved the beginner up to a
    level neither the live view nor the report had reached."""
    import re

    from cymbalism.live.clock import FakeClock
    from cymbalism.live.engine import Engine, LiveOptions
    from cymbalism.live.run import summarize_for_store
    from cymbalism.model.session import Player, Settings
    from cymbalism.report.analysis import analyse_stored
    from cymbalism.store import Store

    chart = get_song("mirrorball")
    db = str(tmp_path / "s.sqlite3")
    players = [Player("Kim", Level.EXPERT), Player("Ana", Level.BEGINNER)]
    with Store(db) as store:
        writer = store.start_session(chart, players, flush_ms=0, flush_hits=1 << 30)
        clock = FakeClock()
        engine = Engine(
            chart, players, Settings(count_in_bars=0), clock, writer,
            options=LiveOptions(lesson_players=("Ana",)), start_ns=0,
        )  # fmt: skip
        stop = float(chart.tempo_map.qn_to_sec(chart.tempo_map.bar_to_qn(13) + 2.0))  # bar 14
        sent = {"Kim": 0, "Ana": 0}
        t = 0.0
        while t < stop:  # both hit every note laid out for them, 5 ms late
            t += 0.01
            clock.set_ns(engine.sec_to_ns(t))
            for name in sent:
                notes = engine.laid_out(name)
                while sent[name] < len(notes) and notes.onset_sec[sent[name]] + 0.005 <= t:
                    k = sent[name]
                    engine.push_hit(
                        name, int(notes.lane[k]), 100, song_sec=notes.onset_sec[k] + 0.005
                    )
                    sent[name] += 1
            engine.tick(song_sec=t)
        result = engine.finish(until_sec=stop)
        sid = writer.finish()
        store.save_summary(sid, *summarize_for_store(result))
        reached = analyse_stored(store.load(sid)).player("Ana").level_reached
    live = engine._paths["Ana"]
    assert live.changes  # she moved up while she played
    capsys.readouterr()
    assert main(["lesson", "last", "--db", db]) == 0
    out = capsys.readouterr().out
    bars = [int(b) for b in re.findall(r"after bar (\d+)", out)]
    assert bars == [c.bar + 1 for c in live.changes] and max(bars) <= 14
    assert f"now at {live.level.label}" in out
    assert max([Level.BEGINNER, *(c.level for c in live.changes[:-1])]) <= reached <= live.level


def test_the_songs_command_lists_a_library_and_shows_one_song(shelf, tmp_path, capsys, monkeypatch):
    import json

    from cymbalism.io import library
    from cymbalism.io.library import SongRecord, song_record

    monkeypatch.setenv(library.CACHE_ENV, str(tmp_path / "cli-cache.sqlite3"))
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["songs", "--dir", str(shelf)]) == 0
    captured = capsys.readouterr()
    assert "Night Drive" in captured.out and "Bossa Caf\xe9" in captured.out
    assert "E X X+" in captured.out and "60-120" in captured.out and "0:06" in captured.out
    assert "2 songs in 4 song folders; 4 read, 0 from the cache" in captured.out
    assert "cannot read:" in captured.err and "no drum part" in captured.err
    assert main(["songs", "--dir", str(shelf)]) == 0
    assert "4 read" not in capsys.readouterr().out  # the second time, from the cache
    assert main(["songs", "--dir", str(shelf), "--json", "--no-cache"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["title"] for d in docs] == ["Broken", "Just An Ini", "Bossa Caf\xe9", "Night Drive"]
    night = shelf / "The Testers" / "Night Drive"
    assert main(["songs", "show", str(night), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert SongRecord.from_dict(doc) == song_record(night)
    assert doc["levels"][1] == {"name": "Expert", "notes": 9, "lanes": EXPERT_LANES}
    assert doc["sections"] == [{"sec": 0.0, "name": "Intro"}, {"sec": 2.0, "name": "Verse"}]
    assert [a["role"] for a in doc["audio"]] == ["crowd", "drums_1", "drums_2", "other", "song"]
    assert main(["songs", "show", str(shelf / "Broken"), "--json"]) == 2
    assert main(["songs", "--dir", str(tmp_path / "nowhere")]) == 1


def test_simplify_writes_a_charts_own_easy_part_as_written(tmp_path, capsys):
    """Played, a chart's own Easy part puts its yellow tom on the floor tom; written out by
    `simplify`, it stays the yellow tom the charter wrote."""
    from cymbalism.io.charts import load_chart, read_chart
    from cymbalism.model.lanes import Lane

    notes = "\n".join(f"  {192 * i} = N {pad} 0" for i, pad in enumerate([0, 2, 1, 2]))
    cymbal = "  0 = N 4 0\n  0 = N 68 0\n"  # one crash: a pro chart
    chart = tmp_path / "notes.chart"
    chart.write_text(
        "[Song]\n{\n  Resolution = 192\n}\n"
        f"[EasyDrums]\n{{\n{notes}\n}}\n[ExpertDrums]\n{{\n{notes}\n{cymbal}}}\n"
    )
    assert Lane.TOM_FLOOR in load_chart(chart).part(Level.EASY).lane.tolist()
    out = tmp_path / "out.chart"
    assert main(["simplify", str(chart), "--out", str(out)]) == 0
    easy = read_chart(out).part(Level.EASY)
    assert easy.lane.tolist() == [Lane.KICK, Lane.TOM_HIGH, Lane.SNARE, Lane.TOM_HIGH]


def test_songs_show_says_a_chart_is_read_as_a_five_lane_kit(tmp_path, capsys):
    """A stray fifth-pad note makes a .chart five-lane, as the games read it: the yellow
    groove is the hi-hat, and the player is told why."""
    notes = "\n".join(f"  {192 * i} = N {pad} 0" for i, pad in enumerate([0, 2, 1, 2]))
    chart = tmp_path / "notes.chart"
    chart.write_text(
        f"[Song]\n{{\n  Resolution = 192\n}}\n[ExpertDrums]\n{{\n{notes}\n  768 = N 5 0\n}}\n"
    )
    assert main(["songs", "show", str(chart)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "read as a five-lane kit" in out and "made for four pads" not in out
    assert "HH |" in out  # yellow is the hi-hat


def test_the_song_list_names_four_pad_and_five_lane_charts(tmp_path, capsys, monkeypatch):
    from cymbalism.io import library

    monkeypatch.setenv(library.CACHE_ENV, str(tmp_path / "cache.sqlite3"))
    monkeypatch.setenv("COLUMNS", "80")
    body = "[Song]\n{{\n  Name = {name}\n  Resolution = 192\n}}\n[ExpertDrums]\n{{\n{notes}}}\n"
    charts = {
        "Pads": "  0 = N 2 0\n  192 = N 3 0\n",  # no markers: four pads
        "Five": "  0 = N 2 0\n  192 = N 5 0\n",  # a fifth pad: a five-lane kit
        "Pro": "  0 = N 2 0\n  0 = N 66 0\n  192 = N 1 0\n",  # a cymbal marker: pro drums
    }
    for name, notes in charts.items():
        (tmp_path / "lib" / name).mkdir(parents=True)
        (tmp_path / "lib" / name / "notes.chart").write_text(body.format(name=name, notes=notes))
    assert main(["songs", "--dir", str(tmp_path / "lib")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "made for four pads (either drum of a pad plays its notes): Pads" in out
    assert "read as a five-lane kit (yellow and orange cymbals, blue and green toms): Five" in out
    assert "Pro" in out and ": Pro" not in out


def test_the_built_in_songs_list_reads_at_80_columns(monkeypatch, capsys) -> None:
    from cymbalism.cli import main
    from cymbalism.songs import list_songs

    monkeypatch.setenv("COLUMNS", "80")
    assert main(["songs"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for song in list_songs():
        assert song.name in rows  # a name to type, whole on its line
        assert rows[song.name].rstrip().endswith("B E M H X")
    assert "Levels: B(eginner)" in out


def test_a_chart_line_the_games_skip_is_skipped_with_one_warning_and_a_listing_stays_quiet(
    tmp_path, capsys
):
    """A community chart with a stray line plays in Clone Hero: `songs show` reads it,
    with one warning naming the line; a library listing says nothing of it."""
    song = tmp_path / "lib" / "Stray"
    song.mkdir(parents=True)
    (song / "notes.chart").write_text(
        '[Song]\n{\n  Name = "Stray"\n  Resolution = 192\n}\n'
        "[ExpertDrums]\n{\n  // fill me in\n  0 = N 0 0\n  192 = N 1 0\n}\n"
    )
    assert main(["songs", "show", str(song)]) == 0
    captured = capsys.readouterr()
    assert "SD |" in captured.out and "BD |" in captured.out
    err = " ".join(captured.err.split())
    assert err.count("warning:") == 1
    assert "1 line that cannot be read was skipped, as Clone Hero and YARG skip them" in err
    assert "(line 8 '// fill me in')" in err and "Traceback" not in err
    assert main(["songs", "--dir", str(tmp_path / "lib"), "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "Stray" in captured.out and "warning" not in captured.err
