"""`cymbalism kit` and `cymbalism transcribe`, and recordings as players of `analyze`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cymbalism.cli import main
from cymbalism.io.audio import AudioWarning, read_audio, synthesize_hits
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from tests.io.audio.test_audio import DEFAULT_LANES, SR, TOLERANCE_SEC, groove, isolated_hits

pytestmark = pytest.mark.usefixtures("kit_dir")


def test_cli_calibrate_and_transcribe(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    order = (Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED)
    onset = [0.5, 0.9, 1.3, 3.0, 3.4, 3.8, 5.5, 5.9, 6.3]
    lane = [order[i // 3] for i in range(9)]
    calib = tmp_path / "calib.wav"
    sf.write(calib, synthesize_hits(Hits.from_arrays(onset, lane, 100), SR), SR)
    assert main(["kit", "calibrate", str(calib), "--name", "garage", "--order", "BD,SD,HH"]) == 0
    assert "garage" in capsys.readouterr().out
    take = tmp_path / "take.wav"
    truth = groove(4.0)
    sf.write(take, synthesize_hits(truth, SR), SR)
    out = tmp_path / "take.mid"
    assert main(["transcribe", str(take), "--kit", "garage", "--out", str(out), "--json"]) == 0
    from cymbalism.io.midi import read_midi

    back = read_midi(out).hits
    assert len(back) == len(truth)
    assert np.abs(back.onset_sec - truth.onset_sec).max() <= TOLERANCE_SEC + 0.001
    # as a table, with a note on the drums the kit cannot name
    assert main(["transcribe", str(take), "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert f"take.wav: {len(truth)} hits in" in said.out
    assert "the default kit has no ride or mid tom of its own: a ride reads as the" in said.err
    assert main(["transcribe", str(tmp_path / "missing.wav"), "--out", str(out)]) == 1
    assert main(["kit", "calibrate", str(take), "--name", "x", "--order", "BD,nope"]) == 2
    assert "unknown lane" in capsys.readouterr().err


def test_warnings_do_not_escape_as_errors(tmp_path: Path) -> None:
    truth = isolated_hits(DEFAULT_LANES, n=4)
    path = tmp_path / "hot.wav"
    sf.write(path, np.clip(synthesize_hits(truth, SR) * 10, -1, 1), SR)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        with pytest.raises(AudioWarning):
            read_audio(path)
    assert main(["transcribe", str(path), "--out", str(tmp_path / "x.mid")]) == 0


def test_analyze_takes_recordings_and_mixes_them_with_midi(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import json

    from cymbalism.io.midi import write_hits
    from cymbalism.model.tempo import TempoMap

    a = groove(12.0, 100)
    b = a.shifted(0.020)  # the second player 20 ms late, throughout
    path = tmp_path / "duet.wav"
    left = synthesize_hits(a, SR, duration_sec=14.0, seed=1)
    right = synthesize_hits(b, SR, duration_sec=14.0, seed=2)
    sf.write(path, np.stack([left, right], axis=1), SR)
    assert main(["analyze", f"{path}:L", f"{path}:R", "--lane-blind", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sync"]["mean_ms"] == pytest.approx(-20.0, abs=3.0)
    # an e-kit player (MIDI, with its tempo map) beside a recorded acoustic kit
    midi = write_hits(tmp_path / "ekit.mid", a, TempoMap.constant(100.0))
    assert main(["analyze", str(midi), f"{path}:R", "--lane-blind", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sync"]["mean_ms"] == pytest.approx(-20.0, abs=3.0)
    assert report["players"][1]["hit_rate"] > 0.9


def test_analyze_gives_a_recordings_tempo_as_the_tempo_command_does(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The click grid of a recording stretches its first beat to where the playing
    starts; the header's tempo is the one the hits keep, as `cymbalism tempo` finds it."""
    import json

    take = groove(20.0, 114).shifted(0.21)  # the first hit 0.71 s in: a stretched first beat
    path = tmp_path / "take.wav"
    sf.write(path, synthesize_hits(take, SR, duration_sec=22.0, seed=3), SR)
    assert main(["tempo", str(path), "--json"]) == 0
    bpm = json.loads(capsys.readouterr().out)["bpm"]
    assert bpm == pytest.approx(114.0, abs=0.5)
    assert main(["analyze", str(path), "--lane-blind", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tempo_bpm"] == pytest.approx(bpm, abs=0.01)


def test_analyze_places_recordings_on_the_song_from_their_hits(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A duet recorded with 1.7 s before the song (a count-in, a slow start) is placed on
    the song: every note is hit again, and the gap between the players is kept. An
    excerpt of a groove that repeats could start a bar earlier or later: it says so."""
    import json
    import re

    from cymbalism.io.charts import load_chart
    from cymbalism.model.chart import Level

    song = load_chart("mirrorball")
    notes = song.targets(Level.EASY)
    a, b = notes.shifted(1.7), notes.shifted(1.7 + 0.02)  # the second player 20 ms late
    end = song.end_sec + 4.0
    path = tmp_path / "duet.wav"
    left = synthesize_hits(a, SR, duration_sec=end, seed=1)
    right = synthesize_hits(b, SR, duration_sec=end, seed=2)
    sf.write(path, np.stack([left, right], axis=1), SR)
    argv = ["analyze", f"{path}:L", f"{path}:R", "--chart", "mirrorball", "--levels", "easy,easy"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["placed"]["found"] and report["placed"]["sure"]
    # the players' mean timing is taken as the song's: halfway between the two
    assert report["placed"]["offset_sec"] == pytest.approx(1.71, abs=0.004)
    assert report["sync"]["mean_ms"] == pytest.approx(-20.0, abs=3.0)
    for player in report["players"]:  # the drums the default templates tell apart here
        assert player["lanes"]["kick"]["hit_rate"] > 0.95
        assert player["lanes"]["hihat_closed"]["hit_rate"] > 0.95
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "the song starts 1.71" in err and "Uncertain" not in err and "hits," in out
    # without --levels: the part their hits fit best, and the start found on it
    assert main([*argv[:-2], "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["parts"] == {"duet L": "easy", "duet R": "easy"}  # by file and channel
    assert fitted["placed"]["offset_sec"] == report["placed"]["offset_sec"]
    assert fitted["players"] == report["players"] and fitted["sync"] == report["sync"]
    assert main(argv[:-2]) == 0
    err = " ".join(capsys.readouterr().err.split())
    n = len(notes)
    assert "duet R is judged against the Easy part" in err and f"its {n} notes hit" in err
    assert re.search(rf"found from the hits: \d+ of {2 * n} notes hit", err)  # both players
    # told where the song starts, it is judged from there: the second player 20 ms late
    assert main([*argv, "--offset", "1.7", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["placed"] == {"offset_sec": 1.7, "found": False}
    assert report["players"][0]["mean_error_ms"] == pytest.approx(0.0, abs=3.0)
    assert report["players"][1]["mean_error_ms"] == pytest.approx(20.0, abs=3.0)
    assert main([*argv, "--offset", "soon"]) == 2
    assert "--offset takes seconds or 'auto'" in capsys.readouterr().err
    # 20 s from the middle of the song, any drum for any note: a bar either way fits too
    excerpt = tmp_path / "excerpt.wav"
    sf.write(excerpt, left[round(40.0 * SR) : round(60.0 * SR)], SR)
    argv = ["analyze", str(excerpt), "--chart", "mirrorball", "--levels", "easy"]
    assert main([*argv, "--lane-blind"]) == 0
    assert "Uncertain" in capsys.readouterr().err


def _ride_chart(bars: int = 8) -> str:
    """A pro chart at 100 BPM: 8ths on the hi-hat for half the bars, then on the ride;
    kick on 1 and 3, snare on 2 and 4."""
    notes = []
    for bar in range(bars):
        for e in range(8):
            t = bar * 768 + e * 96
            cymbal = (2, 66) if bar < bars // 2 else (3, 67)  # yellow / blue cymbal
            notes += [f"  {t} = N {cymbal[0]} 0", f"  {t} = N {cymbal[1]} 0"]
            notes += [f"  {t} = N 0 0"] if e in (0, 4) else []
            notes += [f"  {t} = N 1 0"] if e in (2, 6) else []
    return (
        '[Song]\n{\n  Name = "Ride"\n  Resolution = 192\n}\n'
        "[SyncTrack]\n{\n  0 = TS 4\n  0 = B 100000\n}\n"
        "[ExpertDrums]\n{\n" + "\n".join(notes) + "\n}\n"
    )


def test_a_recordings_ride_heard_as_the_hi_hat_counts_for_the_ride_it_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The default templates have no ride: every ride stroke reads as the hi-hat. Where
    the part has a ride note, such a stroke counts for the ride, in `analyze` and in
    what `import` stores; an e-kit's MIDI file is judged as it was played."""
    import json

    from cymbalism.io.charts import load_chart
    from cymbalism.io.midi import write_hits
    from cymbalism.model.chart import Level
    from cymbalism.store.store import Store

    chart = tmp_path / "notes.chart"
    chart.write_text(_ride_chart())
    song = load_chart(chart)
    notes = song.targets("expert")
    ride = notes.lane == Lane.RIDE
    assert ride.sum() == 32
    take = tmp_path / "take.wav"
    sf.write(
        take, synthesize_hits(notes.shifted(1.0), SR, duration_sec=song.end_sec + 2, seed=4), SR
    )
    # as read, the ride's strokes are hi-hat strokes
    heard = read_audio(take).hits
    assert Lane.RIDE not in heard.lane
    argv = ["analyze", str(take), "--chart", str(chart)]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lanes = report["players"][0]["lanes"]
    assert lanes["ride"]["hit_rate"] > 0.9 and lanes["hihat_closed"]["hit_rate"] > 0.9
    assert lanes["hihat_closed"]["extra"] == 0
    ((named,),) = report["named_by_part"].values()  # one player, one drum named
    assert named["heard_as"] == "hihat_closed" and named["named"] == "ride"
    assert named["strokes"] == lanes["ride"]["hit"] >= 29
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "heard as the hi-hat fell on ride notes" in err and "cannot tell them apart" in err
    # with an Easy part that plays the ride as the hi-hat, the take still fits the full
    # part best: its strokes are named by each part before the fit
    expert_body = _ride_chart().split("[ExpertDrums]")[1]
    easy_body = expert_body.replace(" N 3 0", " N 2 0").replace(" N 67 0", " N 66 0")
    two_parts = tmp_path / "two" / "notes.chart"
    two_parts.parent.mkdir()
    two_parts.write_text(_ride_chart() + "[EasyDrums]" + easy_body)
    assert Level.EASY in load_chart(two_parts).levels
    assert main(["analyze", str(take), "--chart", str(two_parts), "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert fitted["parts"] == {"take": "expert"} and fitted["players"] == report["players"]
    # imported, the stored strokes name the ride
    db = tmp_path / "s.sqlite3"
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["import", str(take), "--chart", str(chart), "--db", str(db)]) == 0
    assert "no ride of its own" in capsys.readouterr().err
    with Store(db) as store:
        kept = store.load(1).session.players[0].hits
    assert (kept.lane == Lane.RIDE).sum() >= 0.9 * ride.sum()
    # an e-kit names the drum it was struck on: a hi-hat on the ride's notes is extra
    mid = write_hits(tmp_path / "ekit.mid", as_heard_hits(notes), song.tempo_map)
    assert main(["analyze", str(mid), "--chart", str(chart), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["players"][0]["lanes"]["ride"]["hit_rate"] == 0.0
    assert "named_by_part" not in report


def as_heard_hits(notes: Hits) -> Hits:
    """``notes`` with the ride struck as the hi-hat."""
    return Hits(
        notes.onset_sec,
        np.where(notes.lane == Lane.RIDE, Lane.HIHAT_CLOSED, notes.lane).astype(np.int8),
        notes.velocity,
    )


def test_sync_and_coupling_take_the_channels_of_a_recording_as_players(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A stereo recording with a kit on each channel: the asynchrony is the known offset,
    and windows of bars are counted on the click the hits follow (a recording has none)."""
    import json

    a = groove(24.0, 100)
    path = tmp_path / "duet.wav"
    left = synthesize_hits(a, SR, duration_sec=26.0, seed=1)
    right = synthesize_hits(a.shifted(0.015), SR, duration_sec=26.0, seed=2)
    sf.write(path, np.stack([left, right], axis=1), SR)
    assert main(["sync", f"{path}:L", f"{path}:R", "--json", "--no-coupling"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"] == [f"{path}:L", f"{path}:R"]
    (pair,) = doc["pairs"]
    assert (pair["a"], pair["b"]) == ("duet L", "duet R")
    strokes = np.unique(np.round(a.onset_sec, 3)).size  # a chord's drums are one onset
    assert strokes < len(a) and pair["n"] >= 0.95 * strokes
    assert pair["mean_ms"] == pytest.approx(-15.0, abs=2.0)
    assert pair["sd_ms"] < 2.0
    argv = ["coupling", f"{path}:L", f"{path}:R", "--window", "4", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    # 24 s at 100 BPM is 10 bars of 4/4: windows of 4 bars, the last one cut short
    assert [round(w["start_sec"] / 9.6) for w in out["windows"]] == [0, 1, 2]
    assert main(["sync", str(path)]) == 2
    err = capsys.readouterr().err
    assert "one recording is one player" in err and "duet.wav:L duet.wav:R" in err


def test_a_take_played_along_aloud_has_the_songs_music_taken_out(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A punk song rendered with its loud music, as a phone beside the kit would record
    it: the music is found, the song placed where it sounds, and the notes hit as the
    drums alone hit them; --keep-music reads the music's notes as drums and misses."""
    import json

    from cymbalism.store import Store

    take, dry = tmp_path / "take.wav", tmp_path / "dry.wav"
    song = ["fast-lane", "--level", "expert"]
    assert main(["render", *song, "--out", str(take)]) == 0
    assert main(["render", *song, "--mix", "music=0", "--out", str(dry)]) == 0
    capsys.readouterr()

    def judged(*args: str) -> dict:
        argv = ["analyze", *args, "--chart", "fast-lane", "--levels", "expert", "--json"]
        assert main(argv) == 0
        return json.loads(capsys.readouterr().out)

    alone, heard, kept = judged(str(dry)), judged(str(take)), judged(str(take), "--keep-music")
    assert "music_in_take" not in alone and "music_in_take" not in kept
    found = heard["music_in_take"]["take.wav"]
    assert -6.0 < found["level_db"] < 0.0  # the music is louder than the drums
    # where the music sounds is where the song starts, as the drums alone place it
    assert heard["placed"]["from"] == "music"
    assert found["song_zero_sec"] == pytest.approx(alone["placed"]["offset_sec"], abs=0.002)
    assert heard["placed"]["offset_sec"] == pytest.approx(found["song_zero_sec"], abs=1e-4)
    (a,), (h,), (k,) = (r["players"] for r in (alone, heard, kept))
    assert k["hit_rate"] < a["hit_rate"] - 0.15  # the music hides a sixth of the notes
    assert h["hit_rate"] >= a["hit_rate"] - 0.02
    assert h["extra"] < k["extra"]
    assert abs(h["mean_error_ms"]) < 4.0  # against the music itself
    # import stores the hits read without the music, and says so
    db = str(tmp_path / "s.sqlite3")
    argv = ["import", str(take), "--chart", "fast-lane", "--levels", "expert", "--db", db]
    assert main(argv) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "take.wav: the song's recording was heard in it" in err
    assert main([*argv, "--keep-music"]) == 0
    assert "heard in it" not in capsys.readouterr().err
    with Store(db) as store:
        assert len(store.load(1).session.players[0].hits) == h["hits"]
        assert len(store.load(2).session.players[0].hits) == k["hits"]
    # transcribed onto the song's own grid: its tempo map, from song time zero
    from cymbalism.io.charts import load_chart
    from cymbalism.io.midi import read_midi
    from cymbalism.model.lanes import Lane

    mid = tmp_path / "take.mid"
    assert main(["transcribe", str(take), "--song", "fast-lane", "--out", str(mid), "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["placed"]["song_zero_sec"] == pytest.approx(found["song_zero_sec"], abs=1e-3)
    chart, written = load_chart("fast-lane"), read_midi(mid)
    beats = np.arange(0, 64.0)
    np.testing.assert_allclose(
        written.tempo_map.qn_to_sec(beats), chart.tempo_map.qn_to_sec(beats), atol=1e-3
    )
    notes = chart.targets(chart.top_level)
    kicks = written.hits.onset_sec[written.hits.lane == Lane.KICK]
    on_note = [np.abs(kicks - t).min() < 0.01 for t in notes.onset_sec[notes.lane == Lane.KICK]]
    assert np.mean(on_note) > 0.8
    # a take without the music (headphones) is written as it was read, and says why
    assert main(["transcribe", str(dry), "--song", "fast-lane", "--out", str(mid)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "the recording of Fast Lane was not heard in dry.wav" in err
    assert read_midi(mid).tempo_map.qn_to_sec(4.0) == pytest.approx(2.0)  # 120 BPM
