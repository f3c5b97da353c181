"""The evaluation and benchmark scripts run end to end: groove_midi on a few real files,
the library benchmark on a small synthetic library, the JACK benchmark's counting, the
named-drums evaluation on one synthesized song."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(relative: str):
    spec = importlib.util.spec_from_file_location(relative.replace("/", "_"), ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_tempo_scores_follow_mirex():
    evaluation = _load("evaluation/groove_midi.py")
    assert evaluation.tempo_scores(103.9, 100.0) == (True, True)
    assert evaluation.tempo_scores(104.1, 100.0) == (False, False)
    assert evaluation.tempo_scores(200.0, 100.0) == (False, True)
    assert evaluation.tempo_scores(34.0, 100.0) == (False, True)  # a third, within 4%
    assert evaluation.tempo_scores(150.0, 100.0) == (False, False)  # 3/2 is not allowed


def test_evaluation_runs_on_real_files(shared_data, tmp_path, capsys):
    evaluation = _load("evaluation/groove_midi.py")
    out = tmp_path / "groove.json"
    evaluation.main(["--data", str(shared_data), "--limit", "6", "--json", str(out)])
    results = json.loads(out.read_text())
    assert len(results["tempo"]) == 6
    assert results["tempo"][0]["bpm"] == 80.0  # drummer1/session1/1_funk_80_beat_4-4
    assert results["tempo"][0]["acc2"] is True
    # a groove played to a click: its local tempo stays within 2% of the click
    assert results["curve"] and max(results["curve"][0]["abs_error_pct"]) < 2.0
    drummer = results["microtiming"]["drummer1"]["all"]
    assert drummer["n"] > 500 and -50.0 < drummer["mean_ms"] < 50.0
    assert "Acc1" in capsys.readouterr().out


def test_the_previous_model_reads_only_its_own_features():
    evaluation = _load("evaluation/groove_midi.py")
    from cymbalism.analysis.tempo import LEVEL_FEATURES, MetricalLevels

    features = np.zeros((2, len(LEVEL_FEATURES)))
    levels = MetricalLevels(bpm=np.array([60.0, 120.0]), features=features)
    assert evaluation.previous_model(levels) == 120.0  # the prior, alone
    features[0, LEVEL_FEATURES.index("kick_snare_bar")] = 100.0  # a feature it never had
    assert evaluation.previous_model(levels) == 120.0
    features[0, LEVEL_FEATURES.index("backbeat")] = 5.0  # its backbeat at 60 BPM
    assert evaluation.previous_model(levels) == 60.0


def test_leaving_one_drummer_out_scores_each_drummer_by_the_others():
    evaluation = _load("evaluation/groove_midi.py")
    rng = np.random.default_rng(0)
    takes = []
    for drummer in ("a", "b", "c"):
        for kind in ("beat", "fill"):
            for _ in range(8):
                # five candidates; the right one stands out on the first feature only
                x = rng.normal(0.0, 1.0, (5, 3))
                right = np.zeros(5, bool)
                right[rng.integers(5)] = True
                x[right, 0] += 3.0
                takes.append({"x": x, "right": right, "drummer": drummer, "kind": kind})
    scores = evaluation._leave_one_drummer_out(takes)
    assert scores["beat"] > 0.8 and scores["fill"] > 0.8
    # with the signal in no feature the choice is chance (one in five)
    for take in takes:
        take["x"][:, 0] = rng.normal(0.0, 1.0, 5)
    assert evaluation._leave_one_drummer_out(takes)["beat"] < 0.5
    # one drummer alone cannot be left out
    assert evaluation._leave_one_drummer_out(takes[:16]) == {}


def test_benchmark_pipelines_agree_on_a_real_file(shared_data):
    bench = _load("benchmarks/analysis.py")
    path = bench.groove_files(shared_data, 1)[0]
    n_a, mean_a, matched_a = bench.cymbalism_pipeline(path)
    n_b, mean_b, matched_b = bench.baseline_pipeline(path)
    assert n_a == n_b and matched_a == matched_b
    assert mean_a == pytest.approx(mean_b, abs=1e-6)


def test_library_benchmark_runs_on_a_small_synthetic_library(tmp_path, capsys):
    bench = _load("benchmarks/library.py")
    assert bench.main(["--folders", "30", "--dir", str(tmp_path / "lib")]) == 0
    out = capsys.readouterr().out
    assert "cold scan read 30 folders (0 errors, 120 levels summarised); cached scan read 0" in out
    assert not (tmp_path / "lib").exists()  # removed afterwards unless --keep


@pytest.mark.usefixtures("kit_dir")
def test_the_speakers_benchmark_reads_every_block_both_ways(capsys):
    bench = _load("benchmarks/speakers.py")
    assert bench.main(["--seconds", "8", "--block", "512"]) == 0
    out = capsys.readouterr().out
    assert "689 blocks of 512 samples" in out  # 8 s and a sample, less the last block
    assert "detector alone" in out and "speakers taken out" in out


def test_the_song_package_benchmark_runs_on_a_few_small_packages(capsys):
    bench = _load("benchmarks/sng.py")
    assert bench.main(["--packages", "8", "--stem-kb", "4"]) == 0
    assert "cold scan: 8 packages, 0 errors; cached scan read 0" in capsys.readouterr().out


def test_the_jack_benchmark_counts_duplicates_and_losses_exactly():
    """Each note carries its sequence number (drum and velocity, 635 to a cycle); a copy
    or a gap is counted exactly however long the run (the old matching lost its way)."""
    import numpy as np

    bench = _load("benchmarks/midi_jack.py")
    sent = list(range(24_000))
    received = [i for i in sent if i not in {5, 700, 701, 23_999}]
    received.insert(received.index(12_000) + 1, 12_000)  # a copy
    received.insert(received.index(3) + 1, 3)
    slots, vels = zip(*(bench.note_of(i) for i in received), strict=True)
    slots = [bench.NOTES.index(n) for n in slots]
    onset = np.arange(len(received)) * 0.025
    counted, lost, copies = bench.count(sent, slots, list(vels), onset)
    assert (counted.sent, counted.received, counted.duplicates, counted.lost) == (
        24_000,
        23_998,
        2,
        4,
    )
    assert lost == [5, 700, 701, 23_999]
    assert copies == ["3 +25.00 ms", "12000 +25.00 ms"]


def test_the_rooms_of_the_audio_evaluation_have_the_reverberation_asked_for():
    evaluation = _load("evaluation/audio.py")
    sr = 44100
    ir = evaluation.room_response(sr, rt60_sec=0.8, drr_db=6.0, seed=3)
    assert ir[0] == 1.0 and ir.size == round(0.8 * sr)
    assert np.all(ir[1 : round(0.005 * sr)] == 0.0)  # the direct sound, then the tail
    assert 10 * np.log10(np.sum(ir[1:] ** 2)) == pytest.approx(-6.0)
    # the tail's energy falls 60 dB over RT60: 30 dB from 0.1 s to 0.5 s
    energy = [np.sum(ir[round(t * sr) : round((t + 0.05) * sr)] ** 2) for t in (0.1, 0.5)]
    assert 10 * np.log10(energy[0] / energy[1]) == pytest.approx(30.0, abs=1.5)


def test_named_drums_evaluation_finds_the_ride_the_templates_cannot_name(capsys):
    evaluation = _load("evaluation/named_drums.py")
    evaluation.main(["--songs", "harbor-waltz", "--sources", "synth"])
    row = next(line for line in capsys.readouterr().out.splitlines() if "harbor-waltz" in line)
    heard, named = (float(x.rstrip("%")) for x in row.split()[3:5])
    assert named > heard + 10.0
    ride = row.split()[5:8]  # "0% -> 98%"
    assert ride[0] == "0%" and float(ride[2].rstrip("%")) > 90.0
