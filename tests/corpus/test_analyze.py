"""Corpus analysis: discovery, one row per file and player, error rows, and parallel runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cymbalism.cli import main
from cymbalism.corpus.analyze import (
    Job,
    analyze_job,
    discover,
    discover_all,
    run_corpus,
    to_frame,
)
from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from tests.conftest import BPM, OFFSETS


def _comparable(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_rows_recover_each_drummers_offset_and_tempo(corpus):
    jobs = discover(corpus)
    assert [j.file for j in jobs] == [
        "alice/take0.mid",
        "alice/take1.mid",
        "bob/broken.mid",
        "bob/take0.mid",
        "bob/take1.mid",
    ]
    rows = run_corpus(jobs, workers=1)
    assert len(rows) == 5
    by_file = {r["file"]: r for r in rows}
    broken = by_file["bob/broken.mid"]
    assert broken["player"] == "bob" and "broken.mid" in broken["error"]
    for file, row in by_file.items():
        if file == "bob/broken.mid":
            continue
        assert row["error"] is None
        offset_ms = OFFSETS[row["player"]] * 1e3
        assert row["mean_error_ms"] == pytest.approx(offset_ms, abs=0.8)
        assert row["n_hits"] == 192 and row["hit_rate"] == 1.0
        assert row["file_bpm"] == pytest.approx(BPM)
        assert row["tempo_bpm"] == pytest.approx(BPM, rel=0.02)
        assert 0.0 <= row["sd_error_ms"] < 4.0


def test_parallel_runs_give_the_same_rows_in_the_same_order(corpus):
    distributed = pytest.importorskip("distributed")
    jobs = discover(corpus)
    serial = run_corpus(jobs, workers=1)
    seen = []
    pooled = run_corpus(jobs, workers=2, chunk_size=2, on_progress=lambda d, t: seen.append(d))
    assert _comparable(pooled) == _comparable(serial)
    assert seen[0] == 0 and seen[-1] == len(jobs) and seen == sorted(seen)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        remote = run_corpus(jobs, scheduler=cluster.scheduler_address, chunk_size=1)
    assert _comparable(remote) == _comparable(serial)


def test_an_unreachable_scheduler_is_one_clear_error(corpus):
    with pytest.raises(InputError, match="cannot reach a Dask scheduler"):
        run_corpus(discover(corpus)[:1], scheduler="tcp://127.0.0.1:9", connect_timeout_sec=0.5)


def test_info_csv_rows_carry_metadata_and_missing_files_become_error_rows(corpus):
    info = corpus / "info.csv"
    info.write_text(
        "drummer,style,bpm,midi_filename,audio_filename\n"
        "alice,funk,100,alice/take0.mid,alice/take0.wav\n"
        "carol,jazz,90,carol/gone.mid,carol/gone.wav\n"
    )
    jobs = discover(info)
    assert [j.meta for j in jobs] == [
        {"drummer": "alice", "style": "funk", "bpm": 100},
        {"drummer": "carol", "style": "jazz", "bpm": 90},
    ]
    rows = [r for job in jobs for r in analyze_job(job)]
    assert rows[0]["error"] is None and rows[0]["style"] == "funk"
    assert rows[1]["player"] == "carol" and "no such file" in rows[1]["error"]
    frame = to_frame(rows)
    assert list(frame.columns[:5]) == ["file", "drummer", "style", "bpm", "player"]


def test_a_job_never_raises():
    rows = analyze_job(Job(path="/nonexistent/x.mid", file="x.mid", player="p"))
    assert len(rows) == 1 and "no such file" in rows[0]["error"]


def test_discover_errors(tmp_path):
    with pytest.raises(NotFoundError):
        discover(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no MIDI or audio files"):
        discover(tmp_path)


def test_a_listing_in_the_wrong_encoding_is_one_clear_error_and_the_run_goes_on(corpus):
    latin = corpus / "info-latin1.csv"
    latin.write_bytes(
        "drummer,style,midi_filename\nJos\xe9,funk,alice/take0.mid\n".encode("latin-1")
    )
    with pytest.raises(
        InputError, match=r"is not UTF-8 text: byte 0xe9 on line 2.*save it as UTF-8"
    ):
        discover(latin)
    # among several corpora it becomes one error row, and the others are analysed
    jobs = discover_all([latin, corpus / "alice"])
    rows = run_corpus(jobs, workers=1)
    assert rows[0]["file"] == str(latin) and "is not UTF-8 text" in rows[0]["error"]
    assert [r["error"] for r in rows[1:]] == [None, None]
    assert {r["file"] for r in rows[1:]} == {"take0.mid", "take1.mid"}
    with pytest.raises(InputError, match="is not UTF-8 text"):
        discover_all([latin])  # nothing else to go on with


def test_stored_sessions_give_one_row_per_player_with_sync_and_coupling(tmp_path, capsys):
    from cymbalism.model.chart import Chart, Level, Part
    from cymbalism.model.session import Player, Session
    from cymbalism.simulate import DrummerModel, simulate_duet
    from cymbalism.store import LevelStep, Store

    beats = Part.from_arrays(np.arange(160.0), Lane.SNARE)
    halves = Part.from_arrays(np.arange(0.0, 160.0, 2.0), Lane.SNARE)
    chart = Chart(
        "beats", TempoMap.constant(120.0), {Level.EXPERT: beats, Level.EASY: halves}, end_qn=161
    )
    lead = DrummerModel(name="lead", click_gain=0.3, partner_gain=0.0, bias_sec=-0.01)
    follow = DrummerModel(name="follow", click_gain=0.1, partner_gain=0.5)
    hits_a, hits_b = simulate_duet(chart, lead, follow, level_b=Level.EASY, seed=1)
    session = Session(
        chart=chart,
        players=(
            Player("Ann", level=Level.EXPERT, hits=hits_a),
            Player("Ben", level=Level.EASY, hits=hits_b),
        ),
    )
    db = tmp_path / "sessions.sqlite3"
    with Store(db) as store:
        # Ben moves up to the full part halfway through (but kept playing half notes).
        step = LevelStep(at_sec=40.0, from_level=Level.EASY, to_level=Level.EXPERT)
        sid = store.save_session(session, level_changes={"Ben": [step]})
    jobs = discover(db)
    assert [(j.file, j.session_id) for j in jobs] == [(f"session/{sid}", sid)]
    rows = run_corpus(jobs, workers=1)
    assert [r["player"] for r in rows] == ["Ann", "Ben"]
    ann, ben = rows
    assert ann["error"] is None and ben["error"] is None
    assert ann["hit_rate"] == 1.0
    # Ben's part doubles at 40 s, and he keeps playing half notes: he misses half of it.
    assert ben["n_notes"] == 40 + 2 * 40 and ben["hit_rate"] == pytest.approx(80 / 120)
    assert ann["partner"] == "Ben" and ben["partner"] == "Ann"
    assert ann["sync_n"] == ben["sync_n"] == 80
    assert ann["sync_mean_ms"] == pytest.approx(-ben["sync_mean_ms"])
    assert ann["sync_mean_ms"] < 0  # Ann plays ahead of the click, Ben follows her late
    assert ben["alpha_partner"] > ann["alpha_partner"]
    # The coupling command reads the same session from the store, with the click.
    assert main(["coupling", "last", "--db", str(db), "--window", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    fit = {p["name"]: p for p in out["fit"]["players"]}
    assert set(fit["Ann"]["alpha"]) == {"Ben", "click"}
    assert fit["Ben"]["alpha"]["Ann"] > fit["Ann"]["alpha"]["Ben"]
    assert len(out["windows"]) == 2  # 160 beats = 40 bars
    # every way of naming the newest session reads the same one
    assert main(["coupling", " Latest ", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fit"] == out["fit"]
    assert main(["coupling", "7", "--db", str(db)]) == 1  # no session 7


def test_recordings_are_judged_against_the_click_they_followed(tmp_path):
    sf = pytest.importorskip("soundfile")
    from cymbalism.io.audio import synthesize_hits

    # Kick and snare alternating on the beats, hi-hat on eighths, at 100 BPM, on the grid.
    tempo = TempoMap.constant(BPM)
    qn = np.arange(4.0, 20.0, 0.5)
    beats = qn[qn % 1 == 0]
    lanes = np.where(np.arange(beats.size) % 2 == 0, Lane.KICK, Lane.SNARE)
    hits = Hits.from_arrays(
        np.concatenate([tempo.qn_to_sec(qn), tempo.qn_to_sec(beats)]),
        np.concatenate([np.full(qn.size, Lane.HIHAT_CLOSED), lanes]),
        100,
    )
    (tmp_path / "takes").mkdir()
    sf.write(tmp_path / "takes" / "take.wav", synthesize_hits(hits, 22050), 22050)
    rows = run_corpus(discover(tmp_path / "takes"), workers=1)
    assert len(rows) == 1 and rows[0]["error"] is None, rows
    row = rows[0]
    assert row["file"] == "take.wav"
    assert row["tempo_bpm"] == pytest.approx(BPM, rel=0.02)
    assert row["n_hits"] >= np.unique(hits.onset_sec).size  # chords may split or merge
    assert abs(row["mean_error_ms"]) < 5.0 and row["sd_error_ms"] < 5.0
