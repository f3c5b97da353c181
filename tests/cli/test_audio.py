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
