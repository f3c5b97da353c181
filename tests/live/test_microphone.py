"""Live sound-card input (``AudioInput``): no card, a real audio server, a faked device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cymbalism.cli import main
from cymbalism.errors import DeviceError, InputError
from cymbalism.io import audio
from cymbalism.io.audio import detect_hits, synthesize_hits
from cymbalism.live import microphone
from cymbalism.live.microphone import AudioInput
from cymbalism.model.hits import Hits
from tests.io.audio.test_audio import SR, TOLERANCE_SEC, groove

pytestmark = pytest.mark.usefixtures("kit_dir")


def test_no_sound_card_is_a_device_error() -> None:
    # The real PortAudio path on a machine without a sound card (no ALSA device; JACK
    # pointed at a server that does not exist), in a fresh process so PortAudio starts
    # with that environment.
    import os
    import subprocess
    import sys

    code = (
        "from cymbalism.errors import DeviceError\n"
        "from cymbalism.live.microphone import AudioInput\n"
        "try:\n    AudioInput()\nexcept DeviceError as e:\n    print('DeviceError:', e)\n"
    )
    env = dict(os.environ, JACK_NO_START_SERVER="1", JACK_DEFAULT_SERVER="cymbalism-test-no-server")
    if Path("/dev/snd").exists():
        pytest.fail("this test expects a machine without a sound card (/dev/snd exists)")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert "DeviceError: no audio input device found" in out.stdout, out.stdout + out.stderr
    assert main(["transcribe", "--help"]) == 0


def test_a_microphone_through_a_real_audio_server() -> None:
    # No sound card here, but a real audio stack: JACK's dummy driver runs the graph,
    # PortAudio (through sounddevice) opens the streams, and a groove played from one
    # PortAudio output is wired into AudioInput's input port. benchmarks/mic.py does the
    # wiring (and, on JACK's timer, measures the latency); JACK runs freewheeling here so
    # that a busy machine cannot make it overrun.
    import json
    import os
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "mic.py"
    env = dict(os.environ, CYMBALISM_MIC_FREEWHEEL="1")
    out = subprocess.run(
        [sys.executable, str(script), "--json", "--hits", "24"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.splitlines()[-1])
    assert res["found"] == res["played"] == 24  # every drum played, none made up
    assert res["max_error_ms"] <= 1000 * TOLERANCE_SEC  # where it was played
    assert res["equal_offline"]  # hits and lanes = the same audio read as a file
    assert res["clock_shift_spread_ms"] < 1e-6  # stamped on the engine's clock
    assert len(res["baseline_ms"]) == 6  # the bare callback heard every hit too


class FakeStream:
    """Stands in for sounddevice.InputStream: delivers a signal block by block.

    As PortAudio does, every block comes in the same buffer, which is the device's own
    again once the callback returns (here it is cleared): a callback must copy what it
    keeps.
    """

    signal: np.ndarray = np.zeros(0, np.float32)

    def __init__(self, *, callback, blocksize, channels, **_: object) -> None:
        self.callback, self.blocksize, self.channels = callback, blocksize, channels
        self.buffer = np.zeros((blocksize, channels), np.float32)

    def deliver(self, x: np.ndarray, status: object = None) -> None:
        """One callback with the samples ``x`` on the last channel (and a status, as
        sounddevice's ``CallbackFlags``)."""
        block = self.buffer[: x.size]
        block[:, -1] = x
        self.callback(block, x.size, None, status)
        self.buffer[:] = 0.0

    def start(self) -> None:
        for i in range(0, self.signal.size, self.blocksize):
            self.deliver(self.signal[i : i + self.blocksize])

    def stop(self) -> None: ...

    def close(self) -> None: ...


class FakeSoundDevice:
    """The sounddevice module at the hardware boundary: one stereo input device."""

    InputStream = FakeStream

    class default:  # mirrors sounddevice.default
        device = (0, 0)

    @staticmethod
    def query_devices() -> list[dict[str, object]]:
        return [{"name": "Fake USB mic", "max_input_channels": 2, "default_samplerate": SR}]


def test_audio_input_streams_the_same_hits_as_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    truth = groove(4.0, 110)
    y = synthesize_hits(truth, SR, seed=4)
    FakeStream.signal = y
    monkeypatch.setattr(microphone, "_sounddevice", lambda: FakeSoundDevice)
    clock = iter([100.0 + 128 / SR])  # the first callback arrives one block after start
    got: list[Hits] = []
    live = AudioInput(
        "usb", channel=1, block_size=128, on_hit=got.append, clock=lambda: next(clock)
    )
    assert live.device_name == "Fake USB mic"
    assert live.latency_sec <= 0.020
    live.start()
    polled = live.stop()
    offline = detect_hits(y, SR, config=audio.LIVE_CONFIG)
    streamed = Hits.concat(got)
    # hits count from the first sample, which the clock stamped (a clock up for days
    # would otherwise give hits no session can hold)
    assert live.origin_sec == 100.0
    np.testing.assert_allclose(streamed.onset_sec, offline.onset_sec, atol=1e-9)
    assert np.array_equal(streamed.lane, offline.lane)
    assert np.array_equal(streamed.velocity, offline.velocity)
    assert polled == streamed
    assert np.unique(streamed.onset_sec).size == np.unique(truth.onset_sec).size
    with pytest.raises(DeviceError, match="no audio input 'drums'"):
        AudioInput("drums")


def test_a_microphone_plays_in_the_live_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A player on `mic@ch2` gets the detector's hits, stamped on the engine's clock."""
    import queue

    from cymbalism.live.clock import FakeClock
    from cymbalism.live.run import build_inputs, parse_player

    truth = groove(3.0, 120)
    y = synthesize_hits(truth, SR, seed=2)
    FakeStream.signal = y
    monkeypatch.setattr(microphone, "_sounddevice", lambda: FakeSoundDevice)
    clock = FakeClock(start_ns=5_000_000_000)
    spec = parse_player("Ana:mic=usb@ch2:beginner")
    assert spec.kind == "mic"
    sink: queue.SimpleQueue = queue.SimpleQueue()
    (mic,) = build_inputs([spec], clock=clock, sink=sink, offsets={"mic:usb": 0.012})
    assert mic.players == ["Ana"] and mic.latency_sec <= 0.020
    mic.start()  # the fake device plays the whole signal at once
    mic.stop()
    got = mic.poll(clock.now_ns())
    offline = detect_hits(y, SR, config=audio.LIVE_CONFIG)
    # the first block is stamped one block before the clock's time at its callback
    start_sec = 5.0 - 128 / SR
    expected_ns = np.round((offline.onset_sec + start_sec) * 1e9).astype(np.int64) - 12_000_000
    assert [h.player for h in got] == ["Ana"] * len(offline)
    np.testing.assert_allclose([h.t_ns for h in got], expected_ns, atol=1)
    assert [h.lane for h in got] == offline.lane.tolist()
    with pytest.raises(InputError, match="one input channel"):
        parse_player("Ben:mic@ch1,2")


class _Overflow:
    """sounddevice's CallbackFlags with its input overflow set."""

    input_overflow = True

    def __bool__(self) -> bool:
        return True


def test_a_microphone_that_drops_audio_says_so_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cymbalism.live.clock import FakeClock
    from cymbalism.live.inputs import OVERFLOW_REPORT_SEC, MicInput

    FakeStream.signal = np.zeros(0, np.float32)
    monkeypatch.setattr(microphone, "_sounddevice", lambda: FakeSoundDevice)
    clock = FakeClock(start_ns=5_000_000_000)
    mic = MicInput("Ana", clock=clock, device="usb", channel=1)
    mic.start()
    stream = mic._audio._stream
    quiet = np.zeros(128, np.float32)
    stream.deliver(quiet)
    assert mic.status() == []
    stream.deliver(quiet, _Overflow())
    stream.deliver(quiet, _Overflow())
    (told,) = mic.status()
    assert not told.ok and "Ana's microphone" in told.text and "2 times" in told.text
    stream.deliver(quiet, _Overflow())
    clock.advance(OVERFLOW_REPORT_SEC - 1.0)
    assert mic.status() == []  # not again so soon
    clock.advance(1.0)
    (again,) = mic.status()
    assert "1 time " in again.text
    assert mic.status() == []
    mic.stop()
