"""Expert+ (double kick) as a part a player plays: from a song folder's chart to the live
judge, the store, the report, the history, the export and the lesson replay.

A song folder is written with ``save_chart`` from a groove whose Expert+ part is its
Expert part plus a known number of double kicks (a kick a sixteenth after each kick). A
simulated expert plays that part through ``run_live`` under the fake clock, and every
path must judge exactly the Expert+ notes, with the figures the live judge gave.
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from cymbalism.analysis.align import align
from cymbalism.cli import main
from cymbalism.io.charts import load_chart, save_chart
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import LiveOptions
from cymbalism.live.run import LiveSetup, PlayerSpec, parse_player, run_live
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Settings
from cymbalism.report.analysis import analyse_stored
from cymbalism.store import Store


def with_double_kicks(chart: Chart, after_qn: float = 0.25) -> Chart:
    """``chart`` with an Expert+ part: its Expert part plus a kick ``after_qn`` after every
    kick that has no kick there already (a double-pedal figure)."""
    expert = chart.part(Level.EXPERT)
    kicks = expert.qn[expert.lane == Lane.KICK]
    extra = np.setdiff1d(np.round(kicks + after_qn, 6), np.round(kicks, 6))
    plus = Part.from_arrays(
        np.concatenate([expert.qn, extra]),
        np.concatenate([expert.lane, np.full(extra.size, int(Lane.KICK))]),
        np.concatenate([expert.velocity, np.full(extra.size, 100)]),
    )
    return chart.with_parts({Level.EXPERT_PLUS: plus})


def double_kick_folder(root: Path, chart: Chart) -> Path:
    """A Clone Hero song folder (``notes.chart``) of ``chart`` with double kicks."""
    folder = root / "Double Kick"
    save_chart(folder / "notes.chart", with_double_kicks(chart))
    (folder / "song.ini").write_text("[song]\nname = Double Kick\nartist = The Testers\n")
    return folder


@pytest.fixture(scope="module")
def groove() -> Chart:
    from tests.live.test_engine import groove_chart

    return groove_chart(bars=8)


def test_a_player_names_expert_plus_on_the_command_line() -> None:
    for text in ("Dae:TD-11:expert+", "Dae:TD-11:Expert+", "Dae:TD-11:EXPERT+"):
        spec = parse_player(text)
        assert (spec.input, spec.level, spec.lesson) == ("TD-11", Level.EXPERT_PLUS, False)
    assert parse_player("Dae:sim-expert:expert+").level is Level.EXPERT_PLUS
    assert parse_player("Dae:keys").level is Level.EXPERT


def test_the_folder_written_reads_back_its_known_double_kicks(tmp_path: Path, groove) -> None:
    chart = load_chart(double_kick_folder(tmp_path, groove))
    expert, plus = chart.part(Level.EXPERT), chart.part(Level.EXPERT_PLUS)
    assert expert == groove.part(Level.EXPERT)
    assert len(plus) == len(expert) + 16  # a kick on 1 and 3 of 8 bars, each doubled
    extra = plus.qn[~np.isin(np.round(plus.qn, 6), np.round(expert.qn, 6))]
    assert extra.tolist() == [q + 0.25 for q in np.arange(0.0, 32.0, 2.0)]
    assert [lv.label for lv in chart.part_levels][-2:] == ["Expert", "Expert+"]


def test_a_simulated_expert_plays_expert_plus_and_every_path_judges_it(
    tmp_path: Path, groove, capsys
) -> None:
    folder = double_kick_folder(tmp_path, groove)
    chart = load_chart(folder)
    plus = chart.part(Level.EXPERT_PLUS)
    db = str(tmp_path / "s.sqlite3")
    specs = [
        PlayerSpec("Ana", "sim-expert", Level.EXPERT_PLUS),
        PlayerSpec("Ben", "sim-beginner", Level.BEGINNER),
    ]
    setup = LiveSetup(specs, Settings(count_in_bars=1), LiveOptions(), click="none", store_url=db)
    result, sid = run_live(chart, setup, clock=FakeClock())
    assert sid is not None and result.session.until_sec is None  # played to the end

    # live: Ana is judged on exactly the Expert+ notes, and played the double kicks
    ana = result.report.players[0]
    assert ana.name == "Ana" and ana.stats.n_notes == len(plus)
    assert ana.stats.n_hit + ana.stats.n_miss == len(plus)
    assert result.levels["Ana"] == [(0.0, Level.EXPERT_PLUS)]
    targets = ana.alignment.targets
    assert np.allclose(targets.onset_sec, chart.targets(Level.EXPERT_PLUS).onset_sec)
    extra = np.flatnonzero(~np.isin(np.round(plus.qn, 6), np.round(chart.part().qn, 6)))
    assert extra.size == 16
    hit_extra = ana.alignment.matched[extra]
    assert hit_extra.mean() >= 0.9  # the simulated expert plays the double kicks
    # the judge's matching is the offline one of the same hits against the Expert+ notes
    hits = result.session.player("Ana").hits
    offline = align(hits, chart.targets(Level.EXPERT_PLUS), window_sec=0.075)
    assert offline == ana.alignment

    # stored: the seat keeps the Expert+ level and part name, and re-judging agrees
    with Store(db) as store:
        stored = store.load(sid)
        (info,) = store.sessions()
    seat = next(p for p in info.players if p.name == "Ana")
    assert (seat.level, seat.part) == (Level.EXPERT_PLUS, "Expert+")
    assert stored.session.player("Ana").level is Level.EXPERT_PLUS
    assert stored.chart.expert_plus == plus
    analysis = analyse_stored(stored)
    rep = analysis.player("Ana")
    assert rep.start_level is Level.EXPERT_PLUS and rep.level_reached is Level.EXPERT_PLUS
    assert rep.alignment == ana.alignment and asdict(rep.stats) == asdict(ana.stats)

    # the report, the history and the export say Expert+, with the live figures
    capsys.readouterr()
    assert main(["report", str(sid), "--db", db, "--html", str(tmp_path / "r.html")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Expert+" in out and f"of {len(plus)} notes" in out
    assert '"start_level": "expert_plus"' in (tmp_path / "r.html").read_text()
    assert main(["history", "Ana", "--db", db]) == 0
    assert "Expert+" in capsys.readouterr().out
    csv_path = tmp_path / "s.csv"
    assert main(["export", str(sid), "--db", db, "--out", str(csv_path)]) == 0
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["player"] == "Ana"]
    assert {r["level"] for r in rows} == {"expert_plus"}
    assert sum(r["verdict"] in {"hit", "miss"} for r in rows) == len(plus)

    # the lesson replay of the session starts where Ana played: the Expert+ part
    capsys.readouterr()
    assert main(["lesson", str(sid), "--player", "Ana", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "starting at Expert+" in out


def test_expert_plus_on_a_song_without_double_kicks_is_one_clear_line(
    tmp_path: Path, capsys
) -> None:
    db = tmp_path / "s.sqlite3"
    args = ["play", "mirrorball", "-p", "Ana:sim-expert:expert+", "-p", "Ben:sim-beginner"]
    assert main([*args, "--click", "none", "--db", str(db)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err == (
        "error: the chart 'Mirrorball Nights' has no Expert+ part (no double-kick notes); "
        "it has: Beginner, Easy, Medium, Hard, Expert"
    )
    assert not db.exists()  # refused before anything was opened
    assert main(["simulate", "--chart", "mirrorball", "--levels", "x+,beginner",
                 "-o", str(tmp_path)]) == 1  # fmt: skip
    assert "no Expert+ part" in capsys.readouterr().err
