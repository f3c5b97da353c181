"""The click lands on its exact sample (a fake sound device) and on time on a MIDI port."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cymbalism.live import metronome
from cymbalism.live.clock import FakeClock, MonotonicClock
from cymbalism.live.metronome import (
    ACCENT,
    CLICK,
    AudioOutput,
    MidiOutput,
    SilentOutput,
    Sound,
    open_output,
)
from cymbalism.model.lanes import Lane
from cymbalism.sound.kit import SampleKit


class FakeStream:
    """sounddevice.OutputStream stand-in: the test calls the audio callback itself."""

    def __init__(self, *, samplerate, blocksize, callback, **kw) -> None:
        self.samplerate, self.blocksize, self.callback = samplerate, blocksize, callback
        self.device = 0

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class FakeSoundDevice:
    """The sounddevice module at the hardware boundary: one output device."""

    class PortAudioError(Exception): ...

    OutputStream = FakeStream

    @staticmethod
    def query_devices(device: int | None = None, kind: str | None = None) -> dict[str, object]:
        return {"name": "Fake Out", "default_samplerate": 48_000.0}


@pytest.fixture
def fake_device(monkeypatch):
    monkeypatch.setattr(metronome, "_sounddevice", lambda: FakeSoundDevice)


def render(out: AudioOutput, clock: FakeClock, blocks: int, latency_sec: float) -> np.ndarray:
    """Run the audio callback block by block; the DAC plays each block ``latency`` later."""
    bs, sr = 256, out.sample_rate
    chunks = []
    for _ in range(blocks):
        buf = np.zeros((bs, 2), dtype=np.float32)
        info = SimpleNamespace(currentTime=100.0, outputBufferDacTime=100.0 + latency_sec)
        out.callback(buf, bs, info, None)
        chunks.append(buf[:, 0].copy())
        clock.advance(bs / sr)
    return np.concatenate(chunks)


def test_audio_click_starts_on_the_sample_of_its_time(fake_device) -> None:
    clock = FakeClock(10_000_000_000)
    out = AudioOutput(clock, sample_rate=48_000, block_size=256)
    assert out.audible and "Fake Out" in out.description
    latency = 0.004  # the block written now is heard 4 ms later
    # clicks at 0.1003 s and 0.2501 s after now, in the middle of blocks
    t0 = clock.now_ns()
    out.schedule([Sound(t0 + 250_100_000, CLICK), Sound(t0 + 100_300_000, ACCENT)])
    audio = render(out, clock, blocks=60, latency_sec=latency)
    kit = SampleKit(48_000)
    accent, click = kit.click(True), kit.click(False)
    gain = out.mixer.gains["click"]
    # the sample of the time it must be heard, less the output latency, to one sample
    first = round((0.1003 - latency) * 48_000)
    second = round((0.2501 - latency) * 48_000)
    assert np.abs(audio[: first - 1]).max() == 0.0
    n = min(accent.size, second - first)
    np.testing.assert_allclose(audio[first : first + n], accent[:n] * gain, atol=1e-6)
    m = 2000  # the accent still rings under the second click
    tail = np.zeros(m, np.float32)
    rest = accent[second - first : second - first + m]
    tail[: rest.size] = rest
    np.testing.assert_allclose(audio[second : second + m], (click[:m] + tail) * gain, atol=1e-6)


def test_the_backing_is_heard_at_the_default_mix_and_late_sounds_still_play(fake_device) -> None:
    # the backing is the metronome's (click channel): the guide channel, the song's own
    # drum stems, is muted by default and does not silence it
    clock = FakeClock(0)
    out = AudioOutput(clock, sample_rate=48_000, block_size=256)
    assert out.mixer.gains["guide"] == 0.0
    render(out, clock, blocks=1, latency_sec=0.0)
    out.schedule([Sound(-5_000_000, "drum", int(Lane.KICK), 127)])  # already late
    audio = render(out, clock, blocks=4, latency_sec=0.0)
    assert np.abs(audio[:10]).max() > 0  # starts at once rather than never
    clock = FakeClock(0)
    quiet = AudioOutput(clock, sample_rate=48_000, block_size=256, gains={"click": 0.0})
    render(quiet, clock, blocks=1, latency_sec=0.0)
    quiet.schedule([Sound(-5_000_000, "drum", int(Lane.KICK), 127)])
    assert np.abs(render(quiet, clock, blocks=4, latency_sec=0.0)).max() == 0.0


def test_no_device_gives_a_silent_output_that_says_so(monkeypatch) -> None:
    class NoDevice(FakeSoundDevice):
        @staticmethod
        def OutputStream(**kw):
            raise FakeSoundDevice.PortAudioError("Error querying device -1")

    monkeypatch.setattr(metronome, "_sounddevice", lambda: NoDevice)
    out = open_output(FakeClock())
    assert isinstance(out, SilentOutput) and not out.audible
    assert "no sound output device" in out.description and "still played" in out.description


def test_midi_click_waits_for_each_sound_s_time() -> None:
    import mido

    sent: list[tuple[int, object]] = []

    class Port:
        def send(self, msg) -> None:
            sent.append((time.perf_counter_ns(), msg))

        def close(self) -> None: ...

    clock = MonotonicClock()
    out = MidiOutput(Port(), clock, name="Fake Synth")
    out.start()
    t0 = clock.now_ns() + 50_000_000
    due = [t0 + k * 20_000_000 for k in range(5)]
    out.schedule([Sound(t, ACCENT if k == 0 else CLICK) for k, t in enumerate(due)])
    time.sleep(0.25)
    out.stop()
    ons = [(t, m) for t, m in sent if m.type == "note_on"]
    assert [m.note for _, m in ons] == [76, 77, 77, 77, 77]
    assert all(isinstance(m, mido.Message) and m.channel == 9 for _, m in ons)
    late_ms = [(t - d) / 1e6 for (t, _), d in zip(ons, due, strict=True)]
    # never early (each waits for its time); how late depends on the machine's load
    assert all(x >= 0.0 for x in late_ms), late_ms
    assert all(x < 100.0 for x in late_ms), late_ms


def test_late_wake_ups_do_not_move_the_sound_but_a_lasting_drift_does() -> None:
    # A busy machine wakes the callback up to 4 ms late, now and then: the clock is read
    # late, the blocks still follow each other on the sound card. The sounds must stay on
    # their frames. A lasting difference (the card's clock runs apart) is taken up.
    sr, bs = 48_000, 256

    class WakeClock(FakeClock):
        """The time each callback wakes at (which may be earlier than the last)."""

        now = 0

        def now_ns(self) -> int:
            return self.now

    clock = WakeClock()
    out = AudioOutput(clock, stream=False, sample_rate=sr, block_size=bs)
    rng = np.random.default_rng(5)
    buf = np.zeros((bs, 2), np.float32)
    starts = []
    for k in range(400):  # about 2 s
        late = 0.004 * float(rng.random()) if rng.random() < 0.2 else 0.0
        clock.now = round((k * bs / sr + late) * 1e9)  # when this callback wakes
        info = SimpleNamespace(currentTime=1.0, outputBufferDacTime=1.005)
        out.callback(buf, bs, info, None)
        starts.append(out.mixer.rendered_until - bs)
    assert out.resyncs == 0
    assert np.all(np.diff(starts) == bs)
    assert starts[0] == round(0.005 * sr)
    # now the session clock runs 3 ms ahead of the card for good
    for k in range(400, 500):
        clock.now = round((k * bs / sr + 0.003) * 1e9)
        out.callback(buf, bs, SimpleNamespace(currentTime=1.0, outputBufferDacTime=1.005), None)
    assert out.resyncs == 1
    assert out.mixer.rendered_until is not None
    assert abs(out.mixer.rendered_until - round((500 * bs / sr + 0.003 + 0.005) * sr)) <= 1


def test_each_stroke_starts_within_one_block_of_its_stamp_through_the_callback() -> None:
    sr = 44_100
    clock = FakeClock(0)
    out = AudioOutput(clock, players=["Ana", "Ben"], stream=False, sample_rate=sr)
    block, rng = 256, np.random.default_rng(3)
    stamps = sorted(int(x) for x in rng.uniform(0.05, 1.5, 20) * 1e9)
    info = SimpleNamespace(currentTime=5.0, outputBufferDacTime=5.0)  # no output latency
    buf = np.zeros((block, 2), np.float32)
    placed = []
    pending = list(stamps)
    while clock.now_ns() < 1.6e9:
        # strokes arrive a little after their stamp, between callbacks
        while pending and pending[0] <= clock.now_ns():
            t = pending.pop(0)
            out.strike("Ana", int(Lane.SNARE), 100, t_ns=t)
            placed.append((t, out.voices.mixer._incoming[-1].start))
        out.callback(buf, block, info, None)
        clock.advance(block / sr)
    assert len(placed) == len(stamps)
    for t, start in placed:
        assert 0 <= start - out.frame_of_ns(t) <= block


def test_the_output_through_a_real_audio_server_with_no_sound_card() -> None:
    # JACK's dummy driver runs a real audio graph; PortAudio opens AudioOutput's stream on
    # it and a capture stream hears its left channel. It runs in a subprocess with its
    # own named server, so the test process never starts PortAudio.
    import json
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "sound.py"
    run = subprocess.run(
        [sys.executable, str(script), "--device", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout.splitlines()[-1])
    assert res["callbacks"] > 1000 and "sound on" in res["device"]
    # clicks scheduled ahead start on their own frame, and reach the capture spaced
    # exactly as scheduled, to the sample
    assert res["click_frame_error"] == [0] * 6
    assert res["clicks_captured"] == 6
    # (unless the server dropped periods of the capture: a very busy machine, it says so)
    if res["capture_xruns"] == 0:
        assert res["capture_spacing_error_samples"] == [0] * 5
    # a stroke sounds as soon as it can: at most the output's lead and a block after it
    # was struck (a block more for the callback's own jitter)
    bound = res["dac_ahead_ms"] + 2 * res["block_ms"]
    assert len(res["stroke_after_strike_ms"]) == 4
    assert all(0 <= x <= bound for x in res["stroke_after_strike_ms"])
    # a song's music at 70%, each bar handed over a quarter of a second ahead as the
    # engine does, stretched in the worker process while the callback plays: the same
    # samples as an offline render (a bar stretched too late on a very busy machine
    # plays on along the last one instead, and is counted)
    assert res["music_seconds"] > 7.5 and res["music_level_dbfs"] > -30
    assert res["music_late"] <= 2  # of 4 bars
    if res["music_late"] == 0:
        assert res["music_max_difference"] == 0.0
