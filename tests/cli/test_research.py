"""`cymbalism sync`, `cymbalism coupling` and `cymbalism corpus analyze`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from cymbalism.analysis.coupling import fit_phase_correction
from cymbalism.cli import main
from cymbalism.io.midi import write_hits
from cymbalism.io.tables import read_wide, write_wide
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.onsets import OnsetTable
from cymbalism.model.tempo import TempoMap
from cymbalism.simulate.ensemble import simulate_phase_correction


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_sync_gives_onsetsyncs_pairwise_figures(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a = 10.0 + np.arange(40) * 0.5
    b = a - 0.012 + rng.normal(0, 0.004, a.size)
    b[::5] = np.nan  # B rests on every fifth slot
    path = tmp_path / "duo.csv"
    write_wide(path, OnsetTable.from_columns({"A": a, "B": b}))
    assert main(["sync", str(path), "--players", "A,B", "--json"]) == 0
    pair = _json(capsys)["pairs"][0]
    d = (a - b)[np.isfinite(b)]
    assert pair["n"] == d.size == 32
    assert pair["mean_ms"] == pytest.approx(d.mean() * 1e3, abs=1e-3)
    assert pair["sd_ms"] == pytest.approx(d.std(ddof=1) * 1e3, abs=1e-3)
    assert pair["mean_abs_ms"] == pytest.approx(np.abs(d).mean() * 1e3, abs=1e-3)
    assert set(pair) >= {"alpha_ab", "alpha_ba", "bgls_leader", "bgls_problems", "lead_lag"}
    assert "leader" not in pair and "leader" not in pair["lead_lag"]
    assert main(["sync", str(path)]) == 0
    assert "Pairwise asynchrony" in capsys.readouterr().out


def test_sync_says_which_columns_it_took_as_players(tmp_path, capsys):
    # a sitar + tabla table: the beat within the 10-beat cycle (Matra) is not a player
    rows = ["Matra,Sitar,Tabla"]
    for k in range(30):
        t = 2955.0 + 0.6 * k
        rows.append(f"{k % 10 + 1},{t + 0.004 * (k % 3):.4f},{t:.4f}")
    path = tmp_path / "sitar_tabla.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["sync", str(path), "--no-coupling"]) == 0
    captured = capsys.readouterr()
    said = " ".join(captured.err.split())  # wrapped at words on a narrow screen
    assert "players (picked by their onset times): Sitar, Tabla" in said
    assert "Matra (goes back down 2 times" in said
    assert "Sitar" in captured.out and "Matra" not in captured.out
    assert main(["sync", str(path), "--no-coupling", "--json"]) == 0
    doc = _json(capsys)
    assert doc["columns"]["taken"] == ["Sitar", "Tabla"]
    assert doc["columns"]["not_taken"]["Matra"].startswith("goes back down 2 times")
    assert [(p["a"], p["b"]) for p in doc["pairs"]] == [("Sitar", "Tabla")]
    assert doc["pairs"][0]["mean_ms"] == pytest.approx(4.0 * (0 + 1 + 2) / 3, abs=1e-6)


def test_sync_on_a_real_onsetsync_table_matches_a_plain_computation(shared_data, capsys):
    path = shared_data / "ensemble_onsets" / "DebBh_Drut.csv"
    assert main(["sync", str(path), "--players", "Guitar,Tabla", "--no-coupling", "--json"]) == 0
    pair = _json(capsys)["pairs"][0]
    table = read_wide(path)
    d = table.column("Guitar") - table.column("Tabla")
    d = d[np.isfinite(d)]
    assert pair["n"] == d.size > 500
    assert pair["mean_ms"] == pytest.approx(d.mean() * 1e3, abs=1e-3)
    assert pair["sd_ms"] == pytest.approx(d.std(ddof=1) * 1e3, abs=1e-3)
    assert "alpha_ab" not in pair


def _duet_files(tmp_path, gains, n=300, seed=3):
    runs = simulate_phase_correction(
        np.array([[0.0, gains[0]], [gains[1], 0.0]]),
        n_events=n,
        sigma_t_sec=0.010,
        sigma_m_sec=0.004,
        seed=seed,
    )
    tempo = TempoMap.constant(120.0)
    paths = []
    for k, name in enumerate(("lead.mid", "follow.mid")):
        onset = runs.onset_sec[0, :, k] + 2.0
        paths.append(write_hits(tmp_path / name, Hits.from_arrays(onset, Lane.SNARE), tempo))
    return paths


def test_coupling_command_recovers_gains_from_midi_files(tmp_path, capsys):
    a, b = _duet_files(tmp_path, (0.05, 0.45))
    args = ["coupling", str(a), str(b), "--names", "Lead,Follow", "--window", "40", "--json"]
    assert main(args) == 0
    out = _json(capsys)
    players = {p["name"]: p for p in out["fit"]["players"]}
    assert players["Lead"]["alpha"]["Follow"] == pytest.approx(0.05, abs=0.12)
    assert players["Follow"]["alpha"]["Lead"] == pytest.approx(0.45, abs=0.12)
    assert out["bgls_leader"] == "Lead" and out["bgls_problems"] == []
    assert out["lead_lag"]["xcorr_leader"] == "Lead"
    # 300 beats at 120 BPM = 150 s = 75 bars: two windows of 40 bars.
    assert len(out["windows"]) == 2
    assert [w["bgls_leader"] for w in out["windows"]] == ["Lead", "Lead"]
    assert main(["coupling", str(a), str(b)]) == 0
    assert "Phase correction" in capsys.readouterr().out
    png = tmp_path / "gains.png"
    assert main(["coupling", str(a), str(b), "--window", "40", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert main(["coupling", str(a), str(b), "--plot", str(png)]) == 2  # needs --window


def test_coupling_of_two_grooves_is_read_on_their_beats(tmp_path, capsys):
    """Two drummers' grooves (kick and snare on the beats with the hi-hat, 8ths and 16ths
    on the hi-hat between) in MIDI files without a chart: the gains are those of their
    beats, and the command says it read them there."""
    runs = simulate_phase_correction(
        np.array([[0.0, 0.05], [0.45, 0.0]]), n_events=240, sigma_t_sec=0.010, seed=5
    )
    rng = np.random.default_rng(5)
    paths = []
    for k, name in enumerate(("lead.mid", "follow.mid")):
        beats = runs.onset_sec[0, :, k] + 2.0
        backbeat = np.where(np.arange(beats.size) % 2, Lane.SNARE, Lane.KICK)
        onset, lane = [beats, beats], [backbeat, np.full(beats.size, Lane.HIHAT_CLOSED)]
        for i in range(beats.size - 1):  # 16ths after even beats, an 8th after odd ones
            fracs = np.array([0.25, 0.5, 0.75] if i % 2 == 0 else [0.5])
            d = beats[i + 1] - beats[i]
            onset.append(beats[i] + fracs * d + rng.normal(0, 0.006, fracs.size))
            lane.append(np.full(fracs.size, Lane.HIHAT_CLOSED))
        hits = Hits.from_arrays(np.concatenate(onset), np.concatenate(lane), 90)
        paths.append(write_hits(tmp_path / name, hits, TempoMap.constant(120.0)))
    paired = 240 + 120 * 3 + 119  # beats, 16ths after 120 even beats, 8ths after 119 odd
    args = ["coupling", *map(str, paths), "--names", "Lead,Follow", "--json"]
    assert main(args) == 0
    out = _json(capsys)
    assert out["coupling_events"] == {"on_the_beat": 240, "paired": paired}
    players = {p["name"]: p for p in out["fit"]["players"]}
    # the gains of the beats alone (0.07 and 0.57 for this run of the model)
    beats = runs.onset_sec[0]
    alone = fit_phase_correction(OnsetTable.from_columns({"L": beats[:, 0], "F": beats[:, 1]}))
    assert players["Lead"]["alpha"]["Follow"] == pytest.approx(alone.gain("L", "F"), abs=0.02)
    assert players["Follow"]["alpha"]["Lead"] == pytest.approx(alone.gain("F", "L"), abs=0.02)
    assert out["bgls_leader"] == "Lead"
    assert main(["coupling", *map(str, paths)]) == 0
    said = capsys.readouterr().err
    assert f"read on the 240 strokes on the beat, of {paired} paired" in said
    assert main(["sync", *map(str, paths), "--players", "Lead,Follow", "--json"]) == 0
    pair = _json(capsys)["pairs"][0]
    assert pair["n"] == paired  # the asynchrony is read on every paired stroke
    assert pair["bgls_leader"] == "Lead"
    assert pair["alpha_ba"] == pytest.approx(alone.gain("F", "L"), abs=0.02)


def test_coupling_errors_are_one_line(tmp_path, capsys):
    a, _ = _duet_files(tmp_path, (0.1, 0.1), n=40)
    assert main(["coupling", str(a)]) == 2
    err = capsys.readouterr().err
    assert "give two or more" in err and "Traceback" not in err
    table = tmp_path / "t.csv"
    write_wide(table, OnsetTable.from_columns({"A": [1.0, 2.0], "B": [1.0, 2.0]}))
    assert main(["coupling", str(table), "--window", "4"]) == 2
    assert "no cycle labels" in capsys.readouterr().err
    assert main(["sync", str(tmp_path / "none.csv")]) == 1


def test_cycle_windows_of_an_onsetsync_table(tmp_path, capsys):
    from cymbalism.corpus.figures import cycle_edges_sec
    from cymbalism.errors import InputError

    # 3 cycles of 4 slots, 0.25 s apart; the first slot of cycle 2 is empty for both.
    t = np.arange(12) * 0.25 + 5.0
    a = t.copy()
    a[4] = np.nan
    labels = [f"{c}:{s}" for c in (1, 2, 3) for s in (1, 2, 3, 4)]
    table = OnsetTable.from_columns({"A": a, "B": t + 0.01}, labels=labels)
    # Events are timed by the mean of the players who played them (no reference grid).
    edges = [5.005, 6.01, 7.005, 7.755 + 1e-6]
    np.testing.assert_allclose(cycle_edges_sec(table, cycles=1), edges)
    np.testing.assert_allclose(cycle_edges_sec(table, cycles=2), [5.005, 7.005, 7.755 + 1e-6])
    with pytest.raises(InputError, match="cycle number"):
        cycle_edges_sec(
            OnsetTable.from_columns({"A": t}, labels=[str(k) for k in range(12)]), cycles=1
        )
    path = tmp_path / "t.csv"
    write_wide(path, table)
    assert main(["coupling", str(path), "--window", "1", "--json"]) == 0
    assert len(_json(capsys)["windows"]) == 3


def test_corpus_analyze_command_writes_parquet(corpus, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "results.parquet"
    assert main(["corpus", "analyze", str(corpus), "--out", str(out), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "5 files, 5 rows, 1 error ->" in text
    assert "Per player" in text
    alice_line = next(line for line in text.splitlines() if "alice" in line)
    assert re.search(r"[+](9[.][2-9]|10[.][0-8])", alice_line), alice_line  # +10 ms
    frame = pd.read_parquet(out)
    assert len(frame) == 5
    assert frame["error"].notna().sum() == 1
    alice = frame[frame["player"] == "alice"]
    assert alice["mean_error_ms"].to_numpy() == pytest.approx([10.0, 10.0], abs=0.8)
    # several corpora: a listing that cannot be read is an error row, the rest is analysed
    latin = tmp_path / "latin.csv"
    latin.write_bytes("midi_filename,style\nalice/take0.mid,caf\xe9\n".encode("latin-1"))
    both = ["corpus", "analyze", str(latin), str(corpus / "alice"), "--out", str(out)]
    assert main([*both, "--workers", "1"]) == 0
    assert "3 files, 3 rows, 1 error ->" in capsys.readouterr().out
    frame = pd.read_parquet(out)
    assert frame["error"].iloc[0].endswith("save it as UTF-8")
    assert frame["error"].iloc[1:].isna().all()
    assert main(["corpus", "analyze", str(latin), "--out", str(out)]) == 2
    assert "internal error" not in capsys.readouterr().err
    assert main(["corpus", "analyze", str(tmp_path / "nowhere"), "--out", str(out)]) == 1
    assert main(["corpus", "analyze", str(corpus), "--out", str(tmp_path / "no" / "r.csv")]) == 2
    assert main(["corpus", "analyze", str(corpus), "--out", str(tmp_path / "r.xlsx")]) == 2


def test_coupling_of_too_few_intervals_says_so_instead_of_naming_a_leader(tmp_path, capsys):
    a, b = _duet_files(tmp_path, (0.05, 0.45), n=30)
    assert main(["coupling", str(a), str(b), "--names", "Lead,Follow", "--json"]) == 0
    out = _json(capsys)
    assert out["bgls_leader"] is None
    assert any("too few intervals" in p for p in out["bgls_problems"])
    assert main(["coupling", str(a), str(b), "--names", "Lead,Follow"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "who leads cannot be told: " in text and "too few intervals" in text
    assert "Lead leads" not in text


def test_coupling_says_why_the_lead_lag_cannot_be_read(tmp_path, capsys):
    # B plays every other beat of A: no two notes in a row that both played
    rng = np.random.default_rng(3)
    beats = np.arange(60) * 0.5 + rng.normal(0, 0.01, 60)
    b = np.where(np.arange(60) % 2 == 0, beats + rng.normal(0, 0.01, 60), np.nan)
    table = tmp_path / "alternate.csv"
    write_wide(table, OnsetTable.from_columns({"A": beats, "B": b}))
    assert main(["coupling", str(table)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "lead/lag of intervals cannot be read" in out
    assert "there are 0 (it needs at least 3)" in out and "r(+1)" not in out


def test_sync_takes_one_midi_file_per_player_as_coupling_does(tmp_path, capsys):
    a, b = _duet_files(tmp_path, (0.1, 0.4), n=120)
    assert main(["sync", str(a), str(b), "-p", "Lead,Follow", "--json"]) == 0
    doc = _json(capsys)
    assert doc["files"] == [str(a), str(b)]
    (pair,) = doc["pairs"]
    assert (pair["a"], pair["b"]) == ("Lead", "Follow") and pair["n"] == 120
    assert main(["sync", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "lead" in out and "follow" in out and "…" not in out
    assert main(["sync", str(a)]) == 2
    assert "one MIDI file is one player" in capsys.readouterr().err


def test_columns_skipped_for_one_reason_are_named_together() -> None:
    from cymbalism.io.tables import PlayerColumns

    cols = PlayerColumns(("Clave", "Bass"), {"SD": "a grid column", "Cycle": "a grid column"})
    assert cols.describe() == (
        "players (picked by their onset times): Clave, Bass; not players: SD, Cycle (grid columns)"
    )
    one = PlayerColumns(("Clave", "Bass"), {"SD": "a grid column"})
    assert one.describe().endswith("not players: SD (a grid column)")


def test_sync_and_coupling_read_a_duet_recorded_into_one_midi_file_as_its_kits(tmp_path, capsys):
    """Two e-kits recorded into one file (a track each, both on channel 10): the file
    alone, or its kits by number, give exactly the figures of the two players' own files."""
    from tests.io.test_midi import _duet_file

    runs = simulate_phase_correction(
        np.array([[0.0, 0.1], [0.4, 0.0]]), n_events=200, sigma_t_sec=0.010,
        sigma_m_sec=0.004, seed=4,
    )  # fmt: skip
    kit = [Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE, Lane.HIHAT_CLOSED]
    lanes = np.array([kit[k % 4] for k in range(200)])
    parts = {
        name: Hits.from_arrays(runs.onset_sec[0, :, k] + 2.0, lanes)
        for k, name in enumerate(("Lead", "Follow"))
    }
    duet = _duet_file(tmp_path / "duet.mid", parts, TempoMap.constant(120.0))
    own = [str(tmp_path / "Lead.mid"), str(tmp_path / "Follow.mid")]
    assert main(["sync", *own, "-p", "Lead,Follow", "--json"]) == 0
    (expected,) = _json(capsys)["pairs"]
    assert expected["n"] == 200 and expected["bgls_leader"] == "Lead"
    for args in ([str(duet)], [f"{duet}:1", f"{duet}:2"]):
        assert main(["sync", *args, "--json"]) == 0
        doc = _json(capsys)
        assert doc["files"] == [f"{duet}:1", f"{duet}:2"]
        assert doc["pairs"] == [expected]  # named by their tracks, every figure the same
    assert main(["sync", str(duet)]) == 0
    said = capsys.readouterr()
    assert "duet.mid holds 2 kits, read as a player each: Lead (" in said.err
    assert "Lead" in said.out and "duet.mid:2" in said.out
    assert "the one who adapts less leads." in said.out.replace("\n", " ")
    assert "cannot be read" not in said.out  # every gain was fitted
    assert main(["coupling", str(duet), "--json"]) == 0
    out = _json(capsys)
    assert out["players"] == ["Lead", "Follow"] and out["bgls_leader"] == "Lead"
    # one kit alone is one player
    assert main(["sync", f"{duet}:1"]) == 2
    assert "one MIDI file is one player" in capsys.readouterr().err
