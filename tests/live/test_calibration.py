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
