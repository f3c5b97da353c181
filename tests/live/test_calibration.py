"""Calibration recovers a known input latency; the tempo follower stays in bounds."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from cymbalism.errors import InputError
from cymbalism.live.calibration import calibrate_input, estimate_latency
from cymbalism.live.clock import FakeClock
from cymbalism.live.inputs import MidiInput, Route
from cymbalism.live.metronome import ACCENT, SilentOutput
from cymbalism.live.tempo_follow import TempoFollower


def test_estimate_latency_recovers_a_known_offset_despite_stray_taps() -> None:
    rng = np.random.default_rng(4)
    clicks = np.arange(20) * 0.6
    taps = clicks + 0.0123 + rng.normal(0, 0.006, clicks.size)
    taps = np.sort(np.concatenate([np.delete(taps, [3, 11]), [4.1, 8.95]]))  # 2 missed, 2 stray
    cal = estimate_latency(taps, clicks)
    assert cal.offset_sec == pytest.approx(0.0123, abs=0.003)
    assert cal.n_taps >= 18 and cal.n_clicks == 20
    assert 0 < cal.spread_sec < 0.01
    with pytest.raises(InputError, match="only 1 of 1 taps"):
        estimate_latency(np.array([0.61]), clicks)


class TappingClock(FakeClock):
    """The fake clock; as it passes each click, a drummer taps the fake port ``lag`` later."""

    def __init__(self, out: SilentOutput, lag_sec: float, jitter_sec: float) -> None:
        super().__init__(1_000_000_000)
        self.out = out
        self.lag_ns = round(lag_sec * 1e9)
        self.rng = np.random.default_rng(7)
        self.jitter = jitter_sec
        self.port = None
        self.done: set[int] = set()

    def sleep_until(self, t_ns: int) -> None:
        for s in self.out.sounds:
            tap = s.t_ns + self.lag_ns + round(self.rng.normal(0, self.jitter) * 1e9)
            if s.t_ns not in self.done and tap <= t_ns:
                self.done.add(s.t_ns)
                super().sleep_until(tap)
                self.port.play(38)
        super().sleep_until(t_ns)


def test_calibration_through_a_port_recovers_the_port_latency() -> None:
    from tests.live.test_inputs import FakeBackend

    out = SilentOutput()
    clock = TappingClock(out, lag_sec=0.018, jitter_sec=0.004)
    backend = FakeBackend(["TD-17"])
    inp = MidiInput("td-17", [Route("tap")], clock=clock, backend=backend)
    inp.start(watch_sec=None)
    clock.port = backend.opened[0]
    cal = calibrate_input(inp, out, clock, bpm=120, n_clicks=16)
    assert cal.offset_sec == pytest.approx(0.018, abs=0.003)
    assert cal.n_clicks == 16 and cal.n_taps == 16
    assert out.sounds[0].kind == ACCENT and len(out.sounds) == 20
    # the same port with the offset applied stamps taps on the click
    inp2 = MidiInput(
        "td-17", [Route("tap")], clock=clock, backend=backend, offset_sec=cal.offset_sec
    )
    inp2.start(watch_sec=None)
    t = clock.now_ns()
    backend.opened[-1].callback(mido.Message("note_on", note=38, velocity=90))
    assert inp2.poll(t)[0].t_ns == t - round(cal.offset_sec * 1e9)


def test_follower_never_leaves_its_bounds_and_corrects_phase() -> None:
    f = TempoFollower(alpha=0.5, beta=0.25, max_deviation=0.08)
    for _ in range(50):
        stretch, phase = f.update([0.2, 0.2, 0.2], bar_sec=2.0)  # a duo far behind
    assert stretch == pytest.approx(1 / 0.92) and phase == pytest.approx(0.1)
    assert f.tempo_ratio == pytest.approx(0.92)
    assert f.update([0.5], bar_sec=2.0) == (pytest.approx(1 / 0.92), 0.0)  # too few hits
    with pytest.raises(InputError):
        TempoFollower(alpha=2.0)


@pytest.mark.usefixtures("kit_dir")
@pytest.mark.parametrize("hears", ["speakers", "headphones"])
def test_a_microphone_is_calibrated_on_what_it_hears(
    hears: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With speakers the microphone hears the clicks themselves, 21 ms after the output's
    # clock placed them (the air, the converters, the stamps); with headphones it hears
    # the player's snare along with them, 21 ms late as well, give or take 5 ms. Either
    # way the median is the latency that puts what was played with the clicks on them.
    from cymbalism.io.audio import synthesize_hits
    from cymbalism.live import microphone
    from cymbalism.live.inputs import MicInput
    from cymbalism.model.hits import Hits
    from cymbalism.model.lanes import Lane
    from cymbalism.sound.kit import SampleKit
    from tests.live.test_microphone import SR, FakeSoundDevice, FakeStream

    clock = FakeClock(start_ns=5_000_000_000)
    origin_sec = 5.0 - 128 / SR  # the first block, stamped at its callback
    t0_sec, period_sec, lag_sec = 6.0, 0.5, 0.021  # calibrate_input's first click: 1 s on
    click_sec = t0_sec + period_sec * np.arange(4 + 16)
    heard = click_sec + lag_sec - origin_sec
    y = np.zeros(round((heard[-1] + 1.0) * SR), np.float32)
    if hears == "speakers":
        kit = SampleKit(SR)
        for k, t in enumerate(heard):
            c = 0.3 * kit.click(k % 4 == 0)
            i = round(t * SR)
            y[i : i + c.size] += c
    else:
        rng = np.random.default_rng(3)
        strokes = Hits.from_arrays(heard + rng.normal(0, 0.005, heard.size), Lane.SNARE, 100)
        y = synthesize_hits(strokes, SR, duration_sec=y.size / SR, seed=5).astype(np.float32)
    FakeStream.signal = y
    monkeypatch.setattr(microphone, "_sounddevice", lambda: FakeSoundDevice)
    mic = MicInput("you", clock=clock, device="usb", channel=1)
    mic.start()  # the fake device plays the whole signal at once
    out = SilentOutput()
    cal = calibrate_input(mic, out, clock, bpm=60 / period_sec, n_clicks=16)
    mic.stop()
    assert [s.t_ns for s in out.sounds] == [round(t * 1e9) for t in click_sec]
    assert cal.n_taps == 16
    tol = 0.0015 if hears == "speakers" else 0.003
    assert cal.offset_sec == pytest.approx(lag_sec, abs=tol)


@pytest.mark.usefixtures("kit_dir")
def test_a_microphones_calibration_is_found_again_and_applied(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import queue

    from cymbalism.live import microphone
    from cymbalism.live.inputs import mic_calibration_name
    from cymbalism.live.run import build_inputs, parse_player, stored_latencies
    from cymbalism.store.store import Store
    from tests.live.test_inputs import FakeBackend
    from tests.live.test_microphone import FakeSoundDevice

    specs = [parse_player("Ana:mic=usb@ch2"), parse_player("Ben:td-17@ch10")]
    backend = FakeBackend(["Roland TD-17"])
    with Store(f"sqlite:///{tmp_path / 'c.db'}") as store:
        assert stored_latencies(store, specs, backend) == {}
        store.add_calibration(mic_calibration_name("usb"), 0.021, sd_sec=0.0, n=16)
        store.add_calibration(mic_calibration_name(None), 0.05, sd_sec=0.0, n=16)
        store.add_calibration("Roland TD-17", 0.004, sd_sec=0.001, n=16)
        offsets = stored_latencies(store, specs, backend)
    # the microphone on the usb interface, not the default one; the kit's port
    assert offsets == {"mic:usb": 0.021, "Roland TD-17": 0.004}
    sink: queue.SimpleQueue = queue.SimpleQueue()
    clock = FakeClock()
    monkeypatch.setattr(microphone, "_sounddevice", lambda: FakeSoundDevice)
    inputs = build_inputs(specs, clock=clock, sink=sink, backend=backend, offsets=offsets)
    assert {i.players[0]: i.offset_sec for i in inputs} == {"Ana": 0.021, "Ben": 0.004}


def test_a_microphone_off_the_speakers_time_is_told_to_calibrate() -> None:
    from cymbalism.live.inputs import mic_calibration_hint

    # uncalibrated, hearing the speakers 13 ms before the output's clock
    assert mic_calibration_hint(-0.013, 0.0, None) == (
        "a stroke played with the speakers reads 13 ms early: "
        "`cymbalism calibrate -i mic` sets the microphone's latency"
    )
    assert "reads 9 ms late: `cymbalism calibrate -i mic=usb`" in (
        mic_calibration_hint(0.030, 0.021, "usb") or ""
    )
    assert mic_calibration_hint(-0.013, -0.0131, None) is None  # calibrated
    assert mic_calibration_hint(0.004, 0.0, None) is None  # within a room's air
