"""The click and the backing: a count-in, accented downbeats, and the song's other drums.

The engine hands the metronome :class:`Sound` events ahead of time (a bar or so), stamped
with the session clock. An output renders each one at its exact time:

- :class:`AudioOutput` mixes synthesised clicks and drums into a sounddevice stream.
  Each event lands on the sample that corresponds to its clock time (the stream's DAC
  time is mapped to the session clock in the audio callback), so the click does not
  jitter with the operating system's scheduling.
- :class:`MidiOutput` sends note-ons to a MIDI port (a sound module, a DAW) from a
  thread that sleeps until just before each event and then spins to its time.
- :class:`SilentOutput` plays nothing; the engine says so, and it keeps every event so
  tests can check what would have sounded.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cymbalism.errors import DeviceError, require
from cymbalism.live.clock import NS_PER_SEC, Clock
from cymbalism.model.lanes import LANE_TO_GM_NOTE, Lane

__all__ = [
    "ACCENT",
    "CLICK",
    "AudioOutput",
    "MidiOutput",
    "Output",
    "SilentOutput",
    "Sound",
    "open_output",
    "synth_voices",
]

#: The ``kind`` of a click on a downbeat, and of a click on any other beat.
ACCENT = "accent"
CLICK = "click"
#: The MIDI notes used for clicks on a MIDI output (GM: high and low wood block).
_CLICK_NOTE = {ACCENT: 76, CLICK: 77}


@dataclass(frozen=True, order=True, slots=True)
class Sound:
    """One thing to sound: a click (``kind`` ACCENT/CLICK) or a drum (``kind`` "drum").

    Attributes
    ----------
    t_ns : int
        When, on the session clock.
    kind : str
    lane : int
        The drum lane for ``kind == "drum"`` (ignored for clicks).
    velocity : int
        1-127.
    """

    t_ns: int
    kind: str = CLICK
    lane: int = 0
    velocity: int = 100


class Output(Protocol):
    """Where sounds go."""

    #: A sentence for the player about what they hear (or do not).
    description: str
    #: Whether anything is heard at all.
    audible: bool

    def schedule(self, sounds: Iterable[Sound]) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class SilentOutput:
    """No sound at all; every scheduled sound is kept in :attr:`sounds`."""

    description: str = "no sound output: the click is silent"
    audible: bool = False
    sounds: list[Sound] = field(default_factory=list)

    def schedule(self, sounds: Iterable[Sound]) -> None:
        self.sounds.extend(sounds)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


# --------------------------------------------------------------------------- synthesis
def synth_voices(sample_rate: int = 48_000) -> dict[tuple[str, int], np.ndarray]:
    """Short synthesised sounds: the two clicks and one voice per drum lane.

    Returns
    -------
    voices : dict of (kind, lane) -> np.ndarray [shape=(n,), float32, -1..1]
        Clicks under ``(ACCENT, 0)`` and ``(CLICK, 0)``, drums under ``("drum", lane)``.
    """
    sr = float(sample_rate)
    rng = np.random.default_rng(0)

    def t(sec: float) -> np.ndarray:
        return np.arange(int(sec * sr)) / sr

    def env(x: np.ndarray, tau: float) -> np.ndarray:
        return np.exp(-x / tau)

    def noise(n: int) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, n)

    def hp(x: np.ndarray) -> np.ndarray:  # a crude high-pass: first difference
        return np.diff(x, prepend=0.0)

    voices: dict[tuple[str, int], np.ndarray] = {}
    x = t(0.03)
    voices[(ACCENT, 0)] = np.sin(2 * np.pi * 1760 * x) * env(x, 0.006)
    voices[(CLICK, 0)] = 0.6 * np.sin(2 * np.pi * 1320 * x) * env(x, 0.005)
    x = t(0.35)
    kick = np.sin(2 * np.pi * (50 * x + 60 * 0.04 * (1 - env(x, 0.04)))) * env(x, 0.12)
    voices[("drum", int(Lane.KICK))] = kick
    x = t(0.25)
    snare = 0.5 * np.sin(2 * np.pi * 190 * x) * env(x, 0.03) + 0.6 * noise(x.size) * env(x, 0.06)
    voices[("drum", int(Lane.SNARE))] = snare
    x = t(0.08)
    voices[("drum", int(Lane.HIHAT_CLOSED))] = 0.5 * hp(noise(x.size)) * env(x, 0.015)
    voices[("drum", int(Lane.HIHAT_PEDAL))] = 0.35 * hp(noise(x.size)) * env(x, 0.01)
    x = t(0.4)
    voices[("drum", int(Lane.HIHAT_OPEN))] = 0.4 * hp(noise(x.size)) * env(x, 0.12)
    for lane, f in ((Lane.TOM_HIGH, 200.0), (Lane.TOM_MID, 150.0), (Lane.TOM_FLOOR, 100.0)):
        x = t(0.4)
        voices[("drum", int(lane))] = np.sin(2 * np.pi * f * x) * env(x, 0.15)
    x = t(1.2)
    voices[("drum", int(Lane.CRASH))] = 0.35 * hp(noise(x.size)) * env(x, 0.4)
    x = t(0.6)
    ride = 0.2 * hp(noise(x.size)) * env(x, 0.3) + 0.15 * np.sin(2 * np.pi * 3100 * x) * env(x, 0.2)
    voices[("drum", int(Lane.RIDE))] = ride
    return {k: (0.8 * v).astype(np.float32) for k, v in voices.items()}


class AudioOutput:
    """Clicks and drums mixed into a sound device stream, each on its exact sample.

    Parameters
    ----------
    clock : Clock
        The session clock; sounds are stamped with it.
    device : int or str, optional
        A sounddevice device; the default output otherwise.
    sample_rate : int
    block_size : int
        Frames per audio callback (smaller is snappier; 256 at 48 kHz is 5 ms).

    Raises
    ------
    DeviceError
        If there is no usable sound device.
    """

    audible = True

    def __init__(
        self,
        clock: Clock,
        *,
        device: int | str | None = None,
        sample_rate: int = 48_000,
        block_size: int = 256,
        volume: float = 0.8,
    ) -> None:
        self.clock = clock
        self.sample_rate = sample_rate
        self.volume = volume
        self._sd = require("sounddevice", "live")
        self._voices = synth_voices(sample_rate)
        self._queue: list[Sound] = []
        self._playing: list[tuple[np.ndarray, int]] = []  # (voice*gain, next sample index)
        self._lock = threading.Lock()
        try:
            self._stream = self._sd.OutputStream(
                samplerate=sample_rate,
                blocksize=block_size,
                channels=1,
                dtype="float32",
                device=device,
                latency="low",
                callback=self._callback,
            )
        except Exception as exc:  # PortAudioError, or no device at all
            raise DeviceError(f"no usable sound output device ({exc})") from exc
        name = self._sd.query_devices(self._stream.device)["name"]
        self.description = f"click on {name}"

    def schedule(self, sounds: Iterable[Sound]) -> None:
        with self._lock:
            for s in sounds:
                heapq.heappush(self._queue, s)

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        out = np.zeros(frames, dtype=np.float32)
        # The first sample of this block reaches the speaker at time_info.outputBufferDacTime
        # on the stream's clock; map it to the session clock through "now" on both clocks.
        now_ns = self.clock.now_ns()
        dac_ns = now_ns + int((time_info.outputBufferDacTime - time_info.currentTime) * NS_PER_SEC)
        block_end_ns = dac_ns + frames * NS_PER_SEC // self.sample_rate
        with self._lock:
            while self._queue and self._queue[0].t_ns < block_end_ns:
                s = heapq.heappop(self._queue)
                voice = self._voices.get((s.kind, s.lane if s.kind == "drum" else 0))
                if voice is None:
                    continue
                start = (s.t_ns - dac_ns) * self.sample_rate // NS_PER_SEC
                gain = self.volume * (s.velocity / 127.0)
                # A sound already late starts at once rather than being cut.
                self._playing.append((voice * gain, -max(int(start), 0)))
        keep = []
        for voice, pos in self._playing:
            if pos < 0:  # starts inside this block
                offset = -pos
                n = min(frames - offset, voice.size)
                out[offset : offset + n] += voice[:n]
                pos = n
            else:
                n = min(frames, voice.size - pos)
                out[:n] += voice[pos : pos + n]
                pos += n
            if pos < voice.size:
                keep.append((voice, pos))
        self._playing = keep
        np.clip(out, -1.0, 1.0, out=out)
        outdata[:, 0] = out

    def start(self) -> None:
        self._stream.start()

    def stop(self) -> None:
        self._stream.stop()
        self._stream.close()


class MidiOutput:
    """Clicks and drums as note-ons on a MIDI output port (channel 10).

    A thread sleeps until just before each sound and then sends it on time; the port is
    any mido-style output (from :class:`cymbalism.live.inputs.MidoBackend`).
    """

    audible = True

    def __init__(self, port: Any, clock: Clock, *, name: str = "") -> None:
        self.port = port
        self.clock = clock
        self.description = f"click on MIDI output {name or port!s}"
        self._queue: list[Sound] = []
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._mido = require("mido", "live")

    def schedule(self, sounds: Iterable[Sound]) -> None:
        with self._cv:
            for s in sounds:
                heapq.heappush(self._queue, s)
            self._cv.notify()

    def _message(self, s: Sound) -> Any:
        note = _CLICK_NOTE.get(s.kind) or LANE_TO_GM_NOTE[Lane(s.lane)]
        return self._mido.Message("note_on", channel=9, note=note, velocity=s.velocity)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and not self._queue:
                    self._cv.wait()
                if self._stop:
                    return
                s = self._queue[0]
                wait_ns = s.t_ns - self.clock.now_ns()
                if wait_ns > 2_000_000:  # sleep most of the way; new sounds may arrive
                    self._cv.wait((wait_ns - 1_000_000) / NS_PER_SEC)
                    continue
                heapq.heappop(self._queue)
            self.clock.sleep_until(s.t_ns)
            try:
                self.port.send(self._message(s))
                off = self._message(s).copy(type="note_off", velocity=0)
                self.port.send(off)
            except Exception:  # a vanished output must not stop the song
                pass

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="midi click", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        try:
            self.port.close()
        except Exception:
            pass


def open_output(
    clock: Clock,
    *,
    audio: bool = True,
    midi_port: str | None = None,
    backend: Any = None,
) -> Output:
    """The best output there is: a MIDI port if named, else the sound device, else silence.

    Never fails: when the device cannot be opened the result is a :class:`SilentOutput`
    whose ``description`` says why.
    """
    if midi_port:
        from cymbalism.live.inputs import MidoBackend, find_port

        try:
            be = backend or MidoBackend()
            name = find_port(midi_port, be.output_names(), kind="output")
            return MidiOutput(be.open_output(name), clock, name=name)
        except (DeviceError, LookupError, ValueError) as exc:
            return SilentOutput(description=f"no click: MIDI output unavailable ({exc})")
    if audio:
        try:
            return AudioOutput(clock)
        except Exception as exc:  # MissingExtraError, DeviceError
            return SilentOutput(description=f"no sound device, the click is silent ({exc})")
    return SilentOutput()
