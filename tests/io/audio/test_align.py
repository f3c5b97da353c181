"""Two recordings on one clock: a phone each, started apart, clocks drifting, in one room.

Each player's kit is synthesized from known hits; each phone hears its own kit and the
other from across the room (10 dB quieter, ``room`` later); the second phone runs fast or
slow by a known drift and was started a known time from the first. Lining the files up
must recover exactly those numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soxr

from cymbalism.cli import main
from cymbalism.errors import InputError
from cymbalism.io.audio import synthesize_hits
from cymbalism.io.audio.align import (
    ANALYSIS_RATE,
    ClockAlignment,
    align_signals,
    heard_from_across,
    other_kit,
)
from cymbalism.io.audio.files import encode_with_ffmpeg
from cymbalism.io.performance import leave_out_other_kits, load_performance, on_one_clock
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.store import Store

SR = ANALYSIS_RATE
KIT = (Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.TOM_HIGH, Lane.TOM_FLOOR, Lane.CRASH)


def player(seed: int, seconds: float, bpm: float = 110.0) -> Hits:
    """A drummer's own part: random drums on a 16th-note grid, a little off it."""
    rng = np.random.default_rng(seed)
    grid = np.arange(1.0, seconds - 1.0, 15.0 / bpm)
    keep = rng.random(grid.size) < 0.45
    onset = grid[keep] + rng.normal(0.0, 0.006, keep.sum())
    return Hits.from_arrays(onset, rng.choice(KIT, keep.sum()), rng.integers(50, 127, keep.sum()))


def delayed(x: np.ndarray, seconds: float, n: int, rate: int = SR) -> np.ndarray:
    out = np.zeros(n)
    d = round(seconds * rate)
    k = max(0, min(x.size, n - d))
    out[d : d + k] = x[:k]
    return out


def phones(
    seconds: float,
    offset: float,
    drift: float,
    room: float,
    *,
    far_db: tuple[float, float] = (-10.0, -10.0),
    rate: int = SR,
    rate_b: int = SR,
) -> tuple[np.ndarray, np.ndarray, Hits, Hits]:
    """What the two phones recorded, and each player's hits on true time."""
    ana, ben = player(1, seconds), player(2, seconds)
    kit_a, kit_b = synthesize_hits(ana, rate, seed=1), synthesize_hits(ben, rate, seed=2)
    n = int(seconds * rate)
    near_a, near_b = delayed(kit_a, 0.0, n, rate), delayed(kit_b, 0.0, n, rate)
    gain_a, gain_b = (10 ** (db / 20) for db in far_db)
    noise = np.random.default_rng(3).normal(0.0, 1e-3, (2, n))
    mic_a = near_a + gain_a * delayed(kit_b, room, n, rate) + noise[0]
    mic_b = near_b + gain_b * delayed(kit_a, room, n, rate) + noise[1]
    # the second phone: its clock `drift` fast, started `offset` before the first
    b = soxr.resample(mic_b, rate, rate_b * (1 + drift))
    k = round(offset * rate_b)
    b = np.concatenate([np.random.default_rng(4).normal(0.0, 1e-3, k), b]) if k >= 0 else b[-k:]
    return mic_a, b, ana, ben


@pytest.mark.parametrize(
    "offset,drift,room",
    [(7.3, 80e-6, 0.004), (-4.2, -60e-6, 0.009), (31.0, 25e-6, 0.0)],
)
def test_the_start_the_drift_and_the_room_are_recovered(
    offset: float, drift: float, room: float
) -> None:
    a, b, _, _ = phones(90.0, offset, drift, room)
    clock = align_signals(a, b, SR)
    assert clock.offset_sec == pytest.approx(offset, abs=1e-4)
    assert clock.drift_ppm == pytest.approx(drift * 1e6, abs=1.0)
    if room:
        assert clock.room_delay_sec == pytest.approx(room, abs=2e-4)
    else:  # the two kits' peaks are one: there is no room to report
        assert math.isnan(clock.room_delay_sec)
    assert clock.agreement > 0.9
    t = np.array([0.0, 45.0, 89.0])
    np.testing.assert_allclose(clock.to_reference(offset + (1 + drift) * t), t, atol=2e-4)


def test_a_phone_started_late_and_stopped_early_lines_up_either_way() -> None:
    # 20 s from the middle of the second phone's minute: the shorter file is the one
    # looked for in the other, whichever is given first
    a, b, _, _ = phones(60.0, 3.0, 50e-6, 0.005)
    cut = b[20 * SR : 40 * SR]
    clock = align_signals(a, cut, SR)
    assert clock.offset_sec == pytest.approx(3.0 - 20.0, abs=2e-4)
    assert clock.drift_ppm == pytest.approx(50.0, abs=3.0)
    back = align_signals(cut, a, SR)  # the same clocks, turned around
    t = np.array([20.0, 30.0])  # seconds of the first phone
    u = clock.offset_sec + (1 + clock.drift) * t  # the same moments in the cut file
    np.testing.assert_allclose(back.offset_sec + (1 + back.drift) * u, t, atol=2e-4)


def test_the_kits_heard_unequally_still_meet_halfway() -> None:
    # the second phone hears the first kit 16 dB down, the first hears the second 6 dB
    # down: both kits' peaks are still found, and the clocks lie halfway between them
    a, b, _, _ = phones(90.0, 2.5, 40e-6, 0.006, far_db=(-6.0, -16.0))
    clock = align_signals(a, b, SR)
    assert clock.offset_sec == pytest.approx(2.5, abs=2e-4)
    assert clock.room_delay_sec == pytest.approx(0.006, abs=3e-4)


def test_a_kit_only_one_phone_heard_leaves_the_room_unknown() -> None:
    # the first phone hears nothing of the second kit: every stretch lines up on the
    # first kit's sound, so the clocks can be off by the room's delay (and say so)
    a, b, _, _ = phones(60.0, 1.0, 0.0, 0.005, far_db=(-120.0, -10.0))
    clock = align_signals(a, b, SR)
    assert math.isnan(clock.room_delay_sec)
    assert clock.offset_sec - 1.0 == pytest.approx(0.005, abs=3e-4)
    assert "apart in the room" not in clock.describe()


def test_recordings_of_different_performances_are_refused() -> None:
    a, _, _, _ = phones(60.0, 0.0, 0.0, 0.004)
    rng = np.random.default_rng(9)
    other = delayed(synthesize_hits(player(7, 60.0), SR, seed=7), 0.0, 60 * SR)
    other += rng.normal(0, 1e-3, other.size)
    with pytest.raises(InputError, match="cannot line the recordings up by their sound"):
        align_signals(a, other, SR)
    with pytest.raises(InputError, match="too short to line up"):
        align_signals(a[: 5 * SR], a, SR)


def test_describe_and_json_say_what_was_found() -> None:
    clock = ClockAlignment(
        offset_sec=-3.25, drift=-4e-5, windows=17, windows_total=18, room_delay_sec=0.0061
    )
    assert clock.describe().startswith("started 3.250 s after the first; its clock runs -40 ppm")
    assert "17 of 18 stretches agree" in clock.describe()
    assert "6.1 ms apart in the room" in clock.describe()
    said = clock.to_dict()
    assert said["offset_sec"] == -3.25 and said["drift_ppm"] == -40.0
    assert said["room_delay_ms"] == 6.1


def test_two_phone_recordings_are_analysed_on_one_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rate = 44100
    a, b, _ana, ben = phones(
        40.0, 5.3, 60e-6, 0.006, rate=rate, rate_b=48000, far_db=(-14.0, -14.0)
    )
    peak = 1.25 * max(np.abs(a).max(), np.abs(b).max())
    ana_file = encode_with_ffmpeg(tmp_path / "ana.m4a", a / peak, rate)
    ben_file = encode_with_ffmpeg(tmp_path / "ben.m4a", b / peak, 48000)
    perfs, clocks = on_one_clock([load_performance(ana_file), load_performance(ben_file)])
    assert clocks[0] is None and clocks[1] is not None
    assert clocks[1].offset_sec == pytest.approx(5.3, abs=2e-4)
    # Ben's hits, read from his phone, land on his true times on the first phone's clock
    # (his phone also hears Ana's kit, which hides some of his hits from the detector:
    # those are left out of the comparison)
    found = perfs[1].hits.onset_sec
    near = np.array([np.abs(found - t).min() for t in ben.onset_sec])
    assert np.mean(near < 0.01) > 0.8 and np.median(near[near < 0.01]) < 0.0005
    assert main(["analyze", str(ana_file), str(ben_file), "--align", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    said = out["aligned"]["ben.m4a"]
    assert said["offset_sec"] == pytest.approx(5.3, abs=2e-4)
    assert said["drift_ppm"] == pytest.approx(60.0, abs=1.5)
    assert said["room_delay_ms"] == pytest.approx(6.0, abs=0.3)
    # Ben's phone heard Ana's kit too, and the detector found it: those hits are left
    # out, and his own strokes kept
    kept, left_out = leave_out_other_kits(perfs, clocks)

    def his(onset: np.ndarray) -> np.ndarray:
        return np.array([np.abs(ben.onset_sec - t).min() < 0.01 for t in onset])

    before, after = his(perfs[1].hits.onset_sec), his(kept[1].hits.onset_sec)
    assert left_out["ben.m4a"] == len(before) - len(after) > 0
    assert (~after).sum() < 0.5 * (~before).sum()  # most of Ana's kit is gone
    assert after.sum() >= 0.9 * before.sum()  # and nearly all of his strokes are kept
    assert said["left_out_other_kit"]["ben.m4a"] == left_out["ben.m4a"]
    # without --align, the two phones' clocks are seconds apart: the hint says so
    assert main(["analyze", str(ana_file), str(ben_file)]) == 0
    assert "--align puts them on one clock" in capsys.readouterr().err
    assert main(["analyze", str(ana_file), str(ben_file), "--align"]) == 0
    text = capsys.readouterr().err
    assert "ben.m4a: started 5.300 s before the first; its clock runs +6" in text
    assert "--align puts them" not in text
    # stored as a session (against the grid they struck), on the first phone's clock
    db = str(tmp_path / "phones.sqlite3")
    assert main(["import", str(ana_file), str(ben_file), "--align", "--db", db]) == 0
    said = capsys.readouterr()
    assert "stored session 1" in said.out and "ben.m4a: started 5.300 s before" in said.err
    with Store(db) as store:
        stored = store.load(1).session
    assert [p.name for p in stored.players] == ["ana", "ben"]
    found = stored.players[1].hits.onset_sec
    near = np.array([np.abs(found - t).min() for t in ben.onset_sec])
    assert np.mean(near < 0.01) > 0.8 and np.median(near[near < 0.01]) < 0.0005
    # the research figures on one clock: the gap between them is the true players' gap
    from cymbalism.analysis.coupling import onset_table_from_onsets
    from cymbalism.corpus.figures import pair_figures

    truth = onset_table_from_onsets({"ana": _ana.onset_sec, "ben": ben.onset_sec})
    expected = pair_figures(truth, "ana", "ben", coupling=False)
    argv = ["sync", str(ana_file), str(ben_file), "--align", "--no-coupling", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clocks"]["ben.m4a"]["offset_sec"] == pytest.approx(5.3, abs=2e-4)
    (pair,) = out["pairs"]
    assert pair["n"] >= 0.8 * expected["n"]
    # within two standard errors of the truth's mean (SD 7.5 ms over about 60 pairs)
    assert pair["mean_ms"] == pytest.approx(expected["mean_ms"], abs=2.0)


def test_the_other_kit_is_told_by_its_delay_and_its_loudness() -> None:
    # Ana's phone at its usual level; Ben's phone 12 dB quieter overall (its own gain):
    # what is the other kit is told by the room's delay and by being quieter than the
    # hit it echoes, each against its own phone's typical hit
    ana = Hits.from_arrays([1.0, 2.0, 3.0, 4.0, 5.0], Lane.SNARE, 100)
    ben = Hits.from_arrays(
        [1.006, 1.5, 2.006, 3.0062, 3.5, 4.5, 5.0058],
        Lane.SNARE,
        [60, 75, 74, 50, 76, 74, 73],  # his strokes ~75; at 1.006 and 3.006 Ana's kit
    )
    marked = other_kit(ben, ana, 0.006)
    # 2.006 and 5.006 fall the delay after Ana's but are as loud as his own: his strokes
    assert marked.tolist() == [True, False, False, True, False, False, False]
    assert not other_kit(ben, ana, math.nan).any()
    assert not other_kit(ben, ana, 0.006, quieter_db=40.0).any()


def test_hits_that_fall_the_room_delay_after_the_other_players() -> None:
    other = np.array([1.0, 2.0, 3.0, 4.0])
    mine = np.array([1.006, 1.5, 2.0065, 3.0095, 4.0052])
    np.testing.assert_array_equal(
        heard_from_across(mine, other, 0.006), [True, False, True, False, True]
    )
    assert not heard_from_across(mine, other, math.nan).any()
    assert not heard_from_across(mine, other[:0], 0.006).any()
    np.testing.assert_array_equal(
        heard_from_across(mine, other[:1], 0.006), [True, False, False, False, False]
    )


def test_align_needs_recordings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cymbalism.io.midi import write_hits
    from cymbalism.model.tempo import TempoMap

    midi = write_hits(tmp_path / "ana.mid", player(1, 10.0), TempoMap.constant(110.0))
    wav = tmp_path / "ben.wav"
    import soundfile as sf

    sf.write(wav, synthesize_hits(player(2, 20.0), 44100), 44100)
    assert main(["analyze", str(midi), str(wav), "--align"]) != 0
    assert "ana.mid is a MIDI file" in capsys.readouterr().err
    assert main(["analyze", str(wav), "--align"]) != 0
    assert "two or more recordings" in capsys.readouterr().err
