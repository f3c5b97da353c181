"""`cymbalism render`, and the sound options of `play`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from cymbalism.model.chart import Level
from cymbalism.songs import get_song
from cymbalism.sound.audio import song_audio_for, write_audio
from tests.sound.test_render import heard_error

SR = 44_100


# ------------------------------------------------------------------ the command line
def test_render_a_practice_track_with_its_stems(tmp_path: Path, capsys) -> None:
    from cymbalism.cli import main

    out, stems = tmp_path / "guide.ogg", tmp_path / "stems"
    code = main(
        ["render", "harbor-waltz", "--level", "easy", "--out", str(out), "--stems", str(stems)]
    )
    said = capsys.readouterr().out
    assert code == 0, said
    assert "wrote" in said and "Easy" in said
    mix, sr = sf.read(out, dtype="float32")
    meta = json.loads((stems / "render.json").read_text())
    assert sr == meta["sample_rate"] == SR and set(meta["stems"]) == {"music", "drums"}
    drums, _ = sf.read(stems / meta["stems"]["drums"], dtype="float32")
    assert drums.shape == mix.shape
    chart = get_song("harbor-waltz")
    notes = chart.part(Level.EASY).to_hits(chart.tempo_map).onset_sec
    assert meta["song_zero_sample"] == round(-meta["start_sec"] * SR)
    err = heard_error(drums, meta["start_sec"], notes)
    assert np.abs(err).max() <= 0.002  # a FLAC stem: each note of the part, to 2 ms


def test_render_a_played_session_and_a_song_folder(tmp_path: Path, capsys) -> None:
    from cymbalism.cli import main
    from cymbalism.io.charts import save_chart
    from cymbalism.store.store import Store

    # a Clone Hero song folder: the chart, song.ini with a delay, and the recording
    folder = tmp_path / "Song"
    folder.mkdir()
    chart = get_song("click")
    save_chart(folder / "notes.chart", chart)
    audio, _ = song_audio_for("click", chart, sample_rate=SR)
    assert audio is not None
    silence = np.zeros((round(0.25 * SR), 2), np.float32)
    write_audio(folder / "song.ogg", np.concatenate([silence, audio.music]), SR)  # in blocks
    (folder / "song.ini").write_text("[song]\nname = Clicks\nartist = Us\ndelay = 250\n")
    db = str(tmp_path / "s.sqlite3")
    play = ["play", str(folder), "-p", "Ana:sim-expert", "--click", "none", "--store", db]
    assert main([*play, "--seconds", "3", "--count-in", "0", "--hit-sounds", "all"]) == 0
    store = Store(db)
    stored = store.load(store.resolve("last"))
    assert stored.chart.metadata["song_path"] == str(folder.resolve())
    store.close()
    capsys.readouterr()
    out = tmp_path / "duet.flac"
    assert main(["render", "last", "--db", db, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "no recording" not in said and "session 1" in said
    frames, _ = sf.read(out, dtype="float32")
    assert 3.0 * SR < frames.shape[0] < 6.0 * SR  # what was played, not the whole song


def test_bad_render_and_play_options_are_one_clear_line(tmp_path: Path, capsys) -> None:
    from cymbalism.cli import main

    wav = str(tmp_path / "x.wav")
    cases = [
        (["render", "mirrorball", "--out", str(tmp_path / "x.mp3")], 2, ".ogg or .m4a"),
        (["render", "mirrorball", "--out", wav, "--mix", "drums=1"], 2, "channels: music"),
        (["render", "mirrorball", "--out", wav, "--level", "hardest"], 2, "unknown level"),
        (["render", "mirrorball", "--out", wav, "--tempo", "5%"], 2, "25%-200%"),
        (["render", "mirrorball", "--out", wav, "--audio", "/no/such.ogg"], 1, "no song folder"),
        (["render", "nosong", "--out", wav], 1, "unknown song"),
        (["render", "7", "--out", wav, "--db", str(tmp_path / "e.db")], 1, "no session 7"),
        (["play", "mirrorball", "-p", "A:sim", "--hit-sounds", "loud"], 2, "--hit-sounds"),
        (["play", "mirrorball", "-p", "A:sim", "--mix", "music"], 2, "CHANNEL=GAIN"),
    ]
    for args, code, words in cases:
        assert main(args) == code, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and err.count("\n") == 1, err


def test_every_command_s_help_reads_whole_at_80_columns() -> None:
    """A command's description keeps its docstring's lines: a line of a paragraph too
    long for an 80-column terminal wraps on its own and leaves a stub ("where it")
    before the paragraph's next line. (A paragraph's last line may wrap: it wraps
    whole.)"""
    import inspect
    import itertools

    import click
    from typer.main import get_command

    from cymbalism.cli import app

    def commands(group: click.Group, path: str = "cymbalism"):  # type: ignore[no-untyped-def]
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from commands(cmd, f"{path} {name}")
            else:
                yield f"{path} {name}", cmd

    found = list(commands(get_command(app)))  # type: ignore[arg-type]
    assert len(found) > 15
    for name, cmd in found:
        lines = (inspect.getdoc(cmd.callback) or "").splitlines()
        for line, after in itertools.pairwise(lines):
            assert len(line) <= 78 or not after.strip(), (name, line)
        # `cymbalism --help` shows the first line alone: it must be a whole sentence
        first = (cmd.help or inspect.getdoc(cmd.callback) or "").splitlines()[:1]
        assert first and first[0].rstrip().endswith((".", ")")), (name, first)
