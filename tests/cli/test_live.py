"""The live commands end to end, with simulated drummers in real time (a few seconds)."""

from __future__ import annotations

from pathlib import Path

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
            "--store",
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
    loop = ["-p", "A:sim", "--loop", "9-2", "--store", "none", "--click", "none"]
    assert main(["play", "mirrorball", *loop]) == 2
    assert main(["play", "no-such-song", "-p", "A:sim"]) == 1


def test_demo_live_plays_the_duet_through_the_engine(capsys) -> None:
    assert main(["demo", "--live", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "expert:" in out and "beginner:" in out
