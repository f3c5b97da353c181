"""The live commands end to end, with simulated drummers in real time (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cymbalism.cli import main
from cymbalism.store.store import Store


def test_play_records_the_session_and_prints_the_analyze_summary(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.sqlite3")
    code = main(
        [
            "play",
            "mirrorball",
            "-p",
            "Ana:sim-expert",
            "-p",
            "Ben:sim-beginner:lesson",
            "--click",
            "none",
            "--db",
            db,
            "--seconds",
            "3",
            "--count-in",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Ana:" in out and "Ben:" in out and "judged against the chart" in out
    assert "saved as session 1" in out
    store = Store(db)
    (info,) = store.sessions()
    stored = store.load(info.id)
    assert info.status == "finished"
    n = {p.name: len(p.hits) for p in stored.session.players}
    assert n["Ana"] > 10 and n["Ben"] > 3  # three seconds of a 114 BPM groove
    store.close()


def test_play_rejects_bad_players_and_options(capsys) -> None:
    assert main(["play", "mirrorball", "-p", "Ana"]) == 2
    assert "NAME:INPUT[:LEVEL]" in capsys.readouterr().err
    assert main(["play", "mirrorball", "-p", "A:keys", "--tempo", "fast"]) == 2
    loop = ["-p", "A:sim", "--loop", "9-2", "--db", "none", "--click", "none"]
    assert main(["play", "mirrorball", *loop]) == 2
    assert main(["play", "no-such-song", "-p", "A:sim"]) == 1


def test_demo_live_plays_the_duet_through_the_engine(capsys) -> None:
    assert main(["demo", "--live", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "expert:" in out and "beginner:" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["play", "mirrorball", "-p", "A:sim", "--seconds", "0"], "--seconds must be more than 0"),
        (["play", "mirrorball", "-p", "A:sim", "--seconds=-3"], "--seconds must be more than 0"),
        (["play", "mirrorball", "-p", "A:sim", "--count-in=-1"], "--count-in must be 0 or more"),
        (["play", "mirrorball", "-p", "A:sim", "--loop", "1-2", "--repeats", "0"], "--repeats"),
        (["demo", "--live", "--seconds=-1"], "--seconds must be more than 0"),
        (["demo", "--db", "x.sqlite3"], "--db goes with --live"),
        (["play", "mirrorball", "-p", "A:keys:wizard"], "unknown level 'wizard' for player 'A'"),
        (["play", "mirrorball", "-p", "A:sim", "--tempo", "300%"], "within 25%-200%"),
        (["play", "mirrorball", "-p", "A:sim", "--tempo", "fast"], "such as 80%"),
        (["play", "mirrorball", "-p", "A:sim", "--db", "a", "--store", "b"], "give --db only"),
    ],
)
def test_arguments_that_mean_nothing_are_refused_in_one_line(capsys, args, message) -> None:
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and err.count("error:") == 1 and "Traceback" not in err


def test_play_takes_the_tempo_as_lesson_does_and_db_like_every_command(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite3")
    base = ["play", "mirrorball", "-p", "Ana:sim-expert", "--click", "none", "--count-in", "0"]
    assert main([*base, "--tempo", "0.8", "--seconds", "1", "--db", db]) == 0
    assert main([*base, "--tempo", "80%", "--seconds", "1", "--store", db]) == 0  # old name
    with Store(db) as store:
        scales = [store.load(s.id).session.settings.tempo_scale for s in store.sessions()]
    assert scales == [0.8, 0.8]


def test_demo_live_keeps_its_session_unless_told_not_to(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "demo.sqlite3")
    assert main(["demo", "--live", "--seconds", "1", "--db", db]) == 0
    assert "saved as session 1" in capsys.readouterr().out
    with Store(db) as store:
        (info,) = store.sessions()
        assert {p.name for p in store.load(info.id).session.players} == {"expert", "beginner"}
    assert main(["demo", "--live", "--seconds", "1", "--db", "none"]) == 0
    assert "saved as session" not in capsys.readouterr().out


def test_the_pad_legend_breaks_between_pads_never_inside_one() -> None:
    from rich.text import Text

    from cymbalism.cli.live import _wrap_items
    from cymbalism.live.inputs import DEFAULT_KEYMAPS

    for keymap in DEFAULT_KEYMAPS:
        pads = [f"[bold]{k}[/] {lane.label}" for k, lane in keymap.items()]
        for width in (40, 80, 200):
            lines = [Text.from_markup(x).plain for x in _wrap_items("Ana's pads:", pads, width)]
            assert all(len(line) <= width for line in lines)
            # every pad stays whole on one line, in order, and none is lost
            said = "  ".join(line.strip() for line in lines)
            names = [Text.from_markup(p).plain for p in pads]
            assert said == "  ".join(["Ana's pads:", *names])
        assert len(_wrap_items("Ana's pads:", pads, 200)) == 1


def test_ports_says_one_line_and_nothing_of_alsas_own(tmp_path) -> None:
    """Without an ALSA sequencer (this machine type has none) alsa-lib prints its own
    line to the process's stderr; `ports` keeps it off, so the error is the only line.
    With a sequencer, the ports are listed and alsa-lib says nothing either way."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
    run = subprocess.run(
        [sys.executable, "-m", "cymbalism.cli", "ports"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "ALSA lib" not in run.stderr and "Traceback" not in run.stderr
    if run.returncode:
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: the MIDI system is not available")


def test_a_chart_whose_hardest_part_is_hard_is_played_by_default(tmp_path: Path, capsys) -> None:
    """A community chart with no Expert part: its Hard part is the full part, for `play`,
    `render` and `songs show` alike; asking `simplify` for an Expert part says why not."""
    notes = "\n".join(f"  {96 * i} = N {0 if i % 2 == 0 else 1} 0" for i in range(32))
    chart = tmp_path / "Hard Only" / "notes.chart"
    chart.parent.mkdir()
    chart.write_text(f"[Song]\n{{\n  Resolution = 192\n}}\n[HardDrums]\n{{\n{notes}\n}}\n")
    db = str(tmp_path / "s.sqlite3")
    play = ["play", str(chart.parent), "-p", "Ana:sim-expert", "--click", "none"]
    assert main([*play, "--db", db, "--seconds", "2", "--count-in", "0"]) == 0
    out = capsys.readouterr().out
    assert "hardest part is Hard: it is the full part here" in out
    store = Store(db)
    (info,) = store.sessions()
    assert store.load(info.id).session.player("Ana").level.label == "Hard"
    store.close()
    assert main(["render", str(chart.parent), "--out", str(tmp_path / "h.wav")]) == 0
    assert "the Hard part" in capsys.readouterr().out
    assert main(["songs", "show", str(chart)]) == 0
    assert "(Hard)" in capsys.readouterr().out
    assert main(["simplify", str(chart), "--level", "expert"]) == 1
    assert "no Expert part: its hardest is Hard" in capsys.readouterr().err
