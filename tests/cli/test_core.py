"""The core commands: analyze, simulate, demo and tempo, run through ``main`` as a user would."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from cymbalism.cli import main
from cymbalism.io.midi import read_midi, write_hits
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.simulate import DrummerModel, simulate_duet
from cymbalism.songs import get_song
from tests.analysis.test_tempo import groove

QUIET = DrummerModel(timekeeper_sd_sec=0.0, motor_sd_sec=0.0, click_gain=0.5, velocity_sd=0.0)
PLAYER_KEYS = {"name", "hits", "hit_rate", "mean_error_ms", "sd_error_ms", "mean_abs_error_ms"}
SYNC_KEYS = {"n", "mean_ms", "sd_ms", "mean_abs_ms", "came_together_sec"}


def run_json(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_one_file_is_judged_against_its_own_click_grid(tmp_path, capsys):
    tm = TempoMap.constant(120.0)
    qn = np.arange(0, 64, 0.25)  # 16ths, the kick on the beats and the hi-hat between
    lanes = np.where(qn % 1 == 0, Lane.KICK, Lane.HIHAT_CLOSED)
    offsets = np.where(lanes == Lane.KICK, -0.008, 0.012)
    write_hits(tmp_path / "solo.mid", Hits.from_arrays(tm.qn_to_sec(qn) + 1 + offsets, lanes), tm)
    data = run_json(capsys, ["analyze", str(tmp_path / "solo.mid")])
    assert data["tempo_bpm"] == 120 and data["judged_against"] == "grid" and data["sync"] is None
    (player,) = data["players"]
    assert PLAYER_KEYS <= set(player) and player["name"] == "solo"
    assert player["hits"] == qn.size and player["hit_rate"] == 1.0
    # the file's ticks hold each hit to within 0.27 ms
    assert player["lanes"]["kick"]["mean_error_ms"] == pytest.approx(-8.0, abs=0.3)
    assert player["lanes"]["hihat_closed"]["mean_error_ms"] == pytest.approx(12.0, abs=0.3)
    assert player["mean_abs_error_ms"] == pytest.approx((8 + 3 * 12) / 4, abs=0.3)


@pytest.fixture
def duet_files(tmp_path):
    """A noiseless duet on a built-in song: A 10 ms early, B 15 ms late."""
    song = get_song("mirrorball")
    a, b = simulate_duet(song, QUIET.with_(bias_sec=-0.010), QUIET.with_(bias_sec=0.015), seed=1)
    paths = []
    for name, hits in (("anna", a), ("ben", b)):
        paths.append(write_hits(tmp_path / f"{name}.mid", hits.between(0, np.inf), song.tempo_map))
    return paths


def test_a_duet_against_a_chart_gives_each_player_and_the_gap(duet_files, capsys):
    data = run_json(
        capsys, ["analyze", *map(str, duet_files), "--chart", "mirrorball", "--names", "A,B"]
    )
    assert data["judged_against"] == "chart" and data["tempo_bpm"] == 114
    a, b = data["players"]
    assert (a["name"], b["name"]) == ("A", "B") and PLAYER_KEYS <= set(a)
    assert a["mean_error_ms"] == pytest.approx(-10, abs=0.3)
    assert b["mean_error_ms"] == pytest.approx(15, abs=0.3)
    assert set(data["sync"]) == SYNC_KEYS | {"a", "b"}
    assert data["sync"]["mean_ms"] == pytest.approx(-25, abs=0.5)
    assert data["sync"]["sd_ms"] < 0.5 and data["sync"]["came_together_sec"] < 1.0  # at once
    assert data["sync"]["n"] > 300


def test_a_duet_without_a_chart_matches_hit_to_hit(duet_files, capsys):
    data = run_json(capsys, ["analyze", *map(str, duet_files), "--window-ms", "50"])
    assert data["judged_against"] == "grid" and data["window_ms"] == 50
    assert [p["name"] for p in data["players"]] == ["anna", "ben"]
    assert data["sync"]["mean_ms"] == pytest.approx(-25, abs=0.5)


def test_analyze_prints_tables_for_people(duet_files, capsys):
    assert main(["analyze", *map(str, duet_files), "--chart", "mirrorball"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # undo the terminal's line wrapping
    assert "anna" in out and "ben" in out and "kick" in out
    assert re.search(r"anna plays 2[45]\.\d ms ahead of ben", out)
    assert "came together at 0:00." in out


def test_analyze_says_two_players_in_step_play_level(tmp_path, duet_files, capsys):
    """Two players with no gap on average were told one plays "0.0 ms behind" the other."""
    twin = tmp_path / "twin.mid"
    twin.write_bytes(duet_files[0].read_bytes())
    assert main(["analyze", str(duet_files[0]), str(twin), "--chart", "mirrorball"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "anna and twin play level on average; spread (SD) 0.0 ms" in out
    assert "0.0 ms behind" not in out


def test_analyze_says_why_a_tight_duet_is_not_told_together(tmp_path, capsys):
    """B plays exactly 10 ms behind A but only every third note of the part: their
    spread is nil, so the command must not say it stayed above 30 ms; it says that B
    hit too few notes for the moment they came together to be told."""
    song = get_song("mirrorball")
    a, b = simulate_duet(song, QUIET, QUIET.with_(bias_sec=0.010), seed=1)
    paths = [write_hits(tmp_path / "a.mid", a, song.tempo_map)]
    third = b.select(np.arange(len(b)) % 3 == 0)
    paths.append(write_hits(tmp_path / "b.mid", third, song.tempo_map))
    args = ["analyze", *map(str, paths), "--chart", "mirrorball", "--levels", "expert,expert"]
    data = run_json(capsys, args)
    assert data["sync"]["sd_ms"] < 0.5 and data["sync"]["came_together_sec"] is None
    assert data["players"][1]["hit_rate"] < 0.5
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "spread stayed above" not in out
    assert "never settled" not in out
    assert "b hit only 33%" in out and "too few to tell when they came together" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["analyze", "missing.mid"], 1, "no such MIDI file"),
        (["analyze", "{a}", "--names", "x,y"], 2, "--names needs one value per player (1"),
        (["analyze", "{a}", "--levels", "easy"], 2, "--levels needs a --chart"),
        (["analyze", "{a}", "--window-ms", "0"], 2, "--window-ms must lie from 5 to 500 ms, got 0"),
        (["play", "mirrorball", "-p", "A:sim", "--window-ms", "-3"], 2, "--window-ms must lie"),
        (["analyze", "{a}", "--chart", "no-such-song"], 1, "unknown song"),
        (
            ["analyze", "{a}", "{b}", "-c", "mirrorball", "--levels", "expert,zz"],
            2,
            "unknown level",
        ),
        (["analyze", "{a}", "--kit", "no-such-kit"], 1, "no-such-kit"),
        # one level for two players: which of them played it?
        (["analyze", "{a}", "{b}", "-c", "mirrorball", "--levels", "expert"], 2, "one value per"),
        (["simulate", "--players", "expert,drummer"], 2, "unknown drummer"),
    ],
)
def test_bad_input_gets_one_line_and_its_exit_code(duet_files, capsys, args, code, message):
    a, b = map(str, duet_files)
    args = [x.format(a=a, b=b) for x in args]
    capsys.readouterr()
    assert main(args) == code
    err = " ".join(capsys.readouterr().err.split())  # undo the terminal's line wrapping
    assert message in err and "Traceback" not in err
    assert err.count("error:") == 1


def test_simulate_writes_a_duet_that_analyze_reads(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--chart", "mirrorball", "--seed", "4"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    expert, beginner = read_midi(out / "expert.mid"), read_midi(out / "beginner.mid")
    assert f"wrote {out / 'beginner.mid'}: {len(beginner.hits)} hits" in said
    assert len(expert.hits) > 700 and 200 < len(beginner.hits) < 600  # the beginner's part
    assert expert.tempo_map.bpm[0] == pytest.approx(114)
    again = tmp_path / "again"
    assert main(["simulate", "--out", str(again), "--chart", "mirrorball", "--seed", "4"]) == 0
    assert (again / "beginner.mid").read_bytes() == (out / "beginner.mid").read_bytes()
    data = run_json(capsys, ["analyze", str(out / "expert.mid"), str(out / "beginner.mid"),
                             "--chart", "mirrorball", "--levels", "expert,beginner"])  # fmt: skip
    assert data["players"][0]["hit_rate"] > 0.97
    assert 0.5 < data["players"][1]["hit_rate"] < 0.95
    assert data["sync"]["n"] > 150


def test_analyze_and_import_judge_each_player_on_the_part_their_hits_fit_best(
    tmp_path, capsys, monkeypatch
):
    """Files do not say which part was played: without --levels, a beginner who played
    the Beginner part is judged against it (not against the full part, as half its notes
    missed), and the command says so in one line; --levels still decides."""
    from cymbalism.model.chart import Level
    from cymbalism.store import Store

    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--chart", "mirrorball", "--seed", "4"]) == 0
    capsys.readouterr()
    files = [str(out / "expert.mid"), str(out / "beginner.mid")]
    chart = get_song("mirrorball")
    n_beginner = len(chart.targets(Level.BEGINNER))
    assert main(["analyze", *files, "--chart", "mirrorball"]) == 0
    captured = capsys.readouterr()
    said = " ".join(captured.err.split())
    assert said.count("judged against the") == 1  # the expert played the full part
    assert "beginner is judged against the Beginner part, which their hits fit best: " in said
    assert f"of its {n_beginner} notes hit, where the Expert part would have" in said
    assert f"beginner: {len(read_midi(files[1]).hits)} hits" in " ".join(captured.out.split())
    data = run_json(capsys, ["analyze", *files, "--chart", "mirrorball"])
    assert data["parts"] == {"expert": "expert", "beginner": "beginner"}
    assert data["parts_from"] == "fit"
    assert [p["notes"] for p in data["players"]] == [len(chart.targets("expert")), n_beginner]
    # as given with --levels: against the full part, and nothing said of a fit
    data = run_json(capsys, ["analyze", *files, "--chart", "mirrorball", "--levels", "x,x"])
    assert data["parts"] == {"expert": "expert", "beginner": "expert"}
    assert data["parts_from"] == "levels" and data["players"][1]["hit_rate"] < 0.5
    assert main(["analyze", *files, "--chart", "mirrorball", "--levels", "x,x"]) == 0
    assert "fit best" not in capsys.readouterr().err
    # import stores the part found, and says so the same way
    db = str(tmp_path / "s.sqlite3")
    assert main(["import", *files, "--chart", "mirrorball", "--db", db]) == 0
    assert "beginner is judged against the Beginner part" in " ".join(
        capsys.readouterr().err.split()
    )
    with Store(db) as store:
        kept = store.load(store.resolve("last"))
    assert [p.level for p in kept.session.players] == [Level.EXPERT, Level.BEGINNER]


def test_demo_shows_both_players_and_when_they_came_together(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "expert" in out and "beginner" in out and "came together at" in out
    data = run_json(capsys, ["demo"])
    assert [p["name"] for p in data["players"]] == ["expert", "beginner"]
    assert data["tempo_bpm"] == 114
    assert data["players"][0]["hit_rate"] > data["players"][1]["hit_rate"]
    assert 10 < data["sync"]["came_together_sec"] < 150


def test_an_error_is_one_unwrapped_line_even_in_a_narrow_terminal(tmp_path):
    import os
    import subprocess
    import sys

    bad = tmp_path / "[Song] not midi.mid"  # brackets must not be read as markup
    bad.write_bytes(b"RIFF....WAVEfmt " + b"\x00" * 40)
    env = {**os.environ, "COLUMNS": "40", "TERM": "dumb"}
    run = subprocess.run(
        [sys.executable, "-m", "cymbalism.cli", "analyze", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "[Song] not midi.mid" in lines[0]
    assert "Traceback" not in run.stderr


def test_tempo_command_reads_a_file_and_ignores_its_tempo_events(tmp_path, capsys):
    import json

    from cymbalism.cli import main
    from cymbalism.io.midi import write_hits
    from cymbalism.model.hits import Hits
    from cymbalism.model.tempo import TempoMap

    onset, vel = groove(104.0, 104.0, 40.0, seed=2)
    lanes = np.where(vel == 60.0, 2, np.where(vel == 100.0, 0, 1))
    # the file claims 140 BPM: the command must not believe it
    path = write_hits(
        tmp_path / "take.mid", Hits.from_arrays(onset, lanes, vel), TempoMap.constant(140)
    )
    assert main(["tempo", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bpm"] == pytest.approx(104.0, rel=0.005)
    assert out["hits"] == onset.size and abs(out["drift_bpm_per_min"]) < 0.2
    # how sure it is of the level, and the other levels it weighed
    assert 0.5 < out["confidence"] <= 1.0
    assert all(abs(a["bpm"] - 104.0) > 4.0 for a in out["alternatives"])
    assert out["confidence"] + sum(a["probability"] for a in out["alternatives"]) <= 1.001

    assert main(["tempo", str(path)]) == 0
    text = capsys.readouterr().out
    assert "104" in text and "sure of the beat level" in text

    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00")
    assert main(["tempo", str(bad)]) == 2
    assert "truncated" in capsys.readouterr().err
    assert main(["tempo", str(tmp_path / "missing.mid")]) == 1


def test_tempo_command_shows_the_curve_of_an_accelerando(tmp_path, capsys):
    import json

    from cymbalism.cli import main
    from cymbalism.io.midi import write_hits
    from cymbalism.model.hits import Hits
    from cymbalism.model.tempo import TempoMap

    onset, vel = groove(100.0, 120.0, 120.0, seed=4)
    hits = Hits.from_arrays(onset, np.where(vel == 60.0, 2, 0), vel)
    path = write_hits(tmp_path / "rush.mid", hits, TempoMap.constant(100))
    assert main(["tempo", str(path), "--curve", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["drift_bpm_per_min"] == pytest.approx(10.0, abs=0.3)
    curve = np.array(out["curve"]["bpm"], dtype=float)
    assert len(curve) == len(out["curve"]["time_sec"]) >= 10
    assert curve[0] < 103.0 < 117.0 < curve[-1]
    assert main(["tempo", str(path), "--curve"]) == 0
    text = capsys.readouterr().out
    assert "local tempo every 2 s" in text and "▁" in text and "█" in text


def test_a_delay_beyond_the_window_gets_a_hint_to_widen_it(tmp_path, capsys):
    """At a 180 ms delay the default window matches nothing; say so, and how to fix it."""
    t = np.arange(2.0, 40.0, 0.5)
    a = write_hits(tmp_path / "a.mid", Hits.from_arrays(t, Lane.SNARE), TempoMap.constant(120))
    b = write_hits(
        tmp_path / "b.mid", Hits.from_arrays(t + 0.18, Lane.SNARE), TempoMap.constant(120)
    )
    capsys.readouterr()
    assert main(["analyze", str(a), str(b), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["sync"]["n"] == 0
    hint = " ".join(out.err.split())
    assert "±75 ms" in hint and "a and b share no note" in hint and "--window-ms" in hint
    assert main(["analyze", str(a), str(b), "--window-ms", "250", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["sync"]["n"] == len(t) and "hint" not in out.err
    # against a chart: a take 180 ms late (a pulse on every beat) hits none of its notes
    pulse = get_song("click")
    late = write_hits(tmp_path / "late.mid", pulse.targets().shifted(0.18), pulse.tempo_map)
    assert main(["analyze", str(late), "--chart", "click"]) == 0
    hint = " ".join(capsys.readouterr().err.split())
    assert "no hit of late lies within it of a note" in hint


def test_a_tempo_found_from_the_hits_is_printed_to_a_tenth(tmp_path, capsys):
    """The header gives the tempo as people read it (97.3 BPM), not as 97.3456 BPM."""
    tm = TempoMap.constant(97.3456)
    qn = np.arange(0, 64, 0.5)
    lanes = np.where(qn % 2 == 1, Lane.SNARE, np.where(qn % 1 == 0, Lane.KICK, Lane.HIHAT_CLOSED))
    write_hits(tmp_path / "solo.mid", Hits.from_arrays(tm.qn_to_sec(qn) + 1, lanes), tm)
    exact = run_json(capsys, ["analyze", str(tmp_path / "solo.mid")])["tempo_bpm"]
    assert main(["analyze", str(tmp_path / "solo.mid")]) == 0
    head = capsys.readouterr().out.split("\n")[0]
    assert f"{round(exact, 1):g} BPM, judged" in head and f"{exact:g} BPM" not in head


def test_analyze_judges_a_charted_easy_part_as_the_live_engine_does(tmp_path, capsys):
    """A chart's own Easy part with a yellow tom: the beginner's high-tom hits count, as
    they do live (Easy plays every tom on the floor tom)."""
    chart = tmp_path / "notes.chart"
    notes = "\n".join(f"  {192 * i} = N {pad} 0" for i, pad in enumerate([0, 2, 1, 2] * 4))
    chart.write_text(
        "[Song]\n{\n  Resolution = 192\n}\n[SyncTrack]\n{\n  0 = TS 4\n  0 = B 120000\n}\n"
        f"[EasyDrums]\n{{\n{notes}\n}}\n[ExpertDrums]\n{{\n{notes}\n}}\n"
    )
    t = np.arange(16) * 0.5
    played = Hits.from_arrays(t, [Lane.KICK, Lane.TOM_HIGH, Lane.SNARE, Lane.TOM_HIGH] * 4)
    take = write_hits(tmp_path / "ben.mid", played, TempoMap.constant(120.0))
    data = run_json(capsys, ["analyze", str(take), "--chart", str(chart), "--levels", "easy"])
    assert data["players"][0]["hit_rate"] == 1.0 and data["players"][0]["extra"] == 0
    # the chart marks no cymbals: made for four pads, its yellow is the hi-hat's pad too
    hats = Hits.from_arrays(t, [Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE, Lane.HIHAT_OPEN] * 4)
    take = write_hits(tmp_path / "ana.mid", hats, TempoMap.constant(120.0))
    data = run_json(capsys, ["analyze", str(take), "--chart", str(chart)])
    assert data["players"][0]["hit_rate"] == 1.0 and data["players"][0]["extra"] == 0
    assert main(["songs", "show", str(chart)]) == 0  # and the player is told
    assert "made for four pads" in " ".join(capsys.readouterr().out.split())


def test_analyze_suggests_where_a_midi_take_starts_when_its_start_fits_far_worse(tmp_path, capsys):
    """A MIDI take recorded with a bar before the song is judged from its start as asked,
    and the command suggests --offset auto, which finds the bar; a take that starts with
    the song gets no suggestion."""
    song = get_song("mirrorball")
    notes = song.targets("expert")
    bar = 4 * 60.0 / 114.0
    late = write_hits(tmp_path / "late.mid", notes.shifted(bar), TempoMap.constant(114.0))
    on = write_hits(tmp_path / "on.mid", notes, TempoMap.constant(114.0))
    assert main(["analyze", str(late), "--chart", "mirrorball"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"fit the song far better if it starts {bar:.3f} s" in err and "--offset auto" in err
    data = run_json(capsys, ["analyze", str(late), "--chart", "mirrorball", "--offset", "auto"])
    assert data["placed"]["offset_sec"] == pytest.approx(bar, abs=1e-3)
    assert data["players"][0]["hit_rate"] == 1.0
    assert main(["analyze", str(on), "--chart", "mirrorball"]) == 0
    assert "far better" not in capsys.readouterr().err


def test_analyze_leaves_out_a_hi_hat_pedal_the_chart_does_not_write(tmp_path, capsys):
    """An e-kit's take with the pedal on every beat, against a song with no pedal note:
    the chicks are neither hit nor extra, and the command says how many it left out."""
    song = get_song("mirrorball")
    notes = song.targets("expert")
    beats = np.arange(0.0, float(notes.onset_sec.max()), 60.0 / 114.0) + 0.004
    chicks = Hits.from_arrays(beats, np.full(beats.size, int(Lane.HIHAT_PEDAL)))
    take = write_hits(tmp_path / "ana.mid", Hits.concat([notes, chicks]), TempoMap.constant(114.0))
    data = run_json(capsys, ["analyze", str(take), "--chart", "mirrorball"])
    assert data["players"][0]["hit_rate"] == 1.0 and data["players"][0]["extra"] == 0
    assert data["not_judged"] == {"ana": beats.size}
    assert main(["analyze", str(take), "--chart", "mirrorball"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"ana's {beats.size} hi-hat pedal strokes are not judged" in err
    # without a chart, nothing is judged against notes, and nothing is said
    assert main(["analyze", str(take)]) == 0
    assert "pedal" not in capsys.readouterr().err


def test_two_kits_in_one_midi_file_are_two_players_by_number(tmp_path, capsys):
    """A duet recorded into one MIDI file, a track per kit: read whole it is one player,
    and the command says how to read it as two; FILE:1 FILE:2 judge the two as the two
    files would be judged."""
    from cymbalism.model.chart import Level
    from tests.io.test_midi import _duet_file

    chart = get_song("mirrorball")
    ana, ben = chart.targets(Level.EXPERT), chart.targets(Level.BEGINNER)
    ana, ben = ana.shifted(0.030), ben.shifted(0.010)  # timing to measure
    duet = _duet_file(tmp_path / "duet.mid", {"Ana": ana, "Ben": ben}, chart.tempo_map)
    assert main(["analyze", str(duet), "--chart", "mirrorball"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"hint: {duet} holds 2 drum parts that each play a kit ('Ana' {len(ana)} notes" in err
    assert f"give {duet}:1 {duet}:2 to judge them as players of their own" in err
    both = ["--chart", "mirrorball", "--names", "Ana,Ben", "--json"]
    split = run_json(capsys, ["analyze", f"{duet}:1", f"{duet}:2", *both[:2], "--json"])
    files = run_json(
        capsys, ["analyze", str(tmp_path / "Ana.mid"), str(tmp_path / "Ben.mid"), *both]
    )
    assert split["players"] == files["players"] and split["sync"] == files["sync"]
    assert split["parts"] == {"Ana": "expert", "Ben": "beginner"}  # named by their tracks
    assert split["players"][1]["mean_error_ms"] == pytest.approx(10.0, abs=0.5)
    assert split["sync"]["mean_ms"] == pytest.approx(20.0, abs=0.5)
    assert main(["analyze", f"{duet}:L", "--chart", "mirrorball"]) == 2
    assert "a MIDI file's drum parts are numbered" in capsys.readouterr().err
    assert main(["import", str(duet), "--chart", "mirrorball", "--db", str(tmp_path / "s.db")]) == 0
    assert "hint:" in capsys.readouterr().err
    # one kit's tempo names the part read
    assert main(["tempo", f"{duet}:2"]) == 0
    assert f"from {len(ben)} hits in duet.mid:2 (drift: " in capsys.readouterr().out
    # and a lesson replays one kit's pass as it replays that player's own file
    assert main(["lesson", f"{duet}:2", "--chart", "mirrorball"]) == 0
    by_part = capsys.readouterr().out
    assert main(["lesson", str(tmp_path / "Ben.mid"), "--chart", "mirrorball"]) == 0
    by_file = capsys.readouterr().out
    assert "after bar" in by_part and by_part.replace("duet.mid:2", "Ben.mid") == by_file


def test_tempo_says_a_long_sparse_take_is_too_sparse_for_its_drift(tmp_path, capsys):
    """A simulated beginner's Beginner part lasts 1:43, but its kick and snare on the
    beats, played loosely, show no clear pulse in most windows: its drift is too sparse
    to tell, not too short."""
    from cymbalism import simulate
    from cymbalism.model.chart import Level
    from cymbalism.simulate import simulate_performance

    chart = get_song("mirrorball")
    played = simulate_performance(chart, simulate.BEGINNER, level=Level.BEGINNER, seed=4)
    take = write_hits(tmp_path / "ben.mid", played.between(0.0, np.inf), chart.tempo_map)
    assert main(["tempo", str(take)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    found = re.search(r"drift: too sparse to tell: (\d+) of (\d+) windows show a clear pulse", said)
    assert found is not None and int(found.group(1)) < 2 <= int(found.group(2))
    data = run_json(capsys, ["tempo", str(take)])
    assert data["drift_bpm_per_min"] is None


def test_a_recording_too_short_for_its_own_click_says_to_give_the_song(tmp_path, capsys):
    sf = pytest.importorskip("soundfile")
    y = np.zeros(22050, np.float32)
    y[1000] = 0.9  # one click: one hit, no tempo to judge it by
    sf.write(tmp_path / "one.wav", y, 22050)
    assert main(["analyze", str(tmp_path / "one.wav")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("error: one.wav: no click to judge against") and "--chart" in err
