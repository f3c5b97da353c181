"""The click and the backing: a count-in, accented downbeats, and the song's other drums.

The engine hands the metronome :class:`Sound` events ahead of time (a bar or so), stamped
with the session clock. An output renders each one at its exact time:

- :class:`AudioOutput` is one sound-device stream mixed in one callback
  (:class:`cymbalism.sound.mixer.Mixer`): the click and backing from the sampled kit,
  the song's recording bar by bar as the engine lays the bars out (stretched for a
  practice tempo, a loop or a click that follows the duo), and the players' strokes.
  Each sound lands on the sample of its clock time (PortAudio's DAC time, which holds
  the output latency, is mapped to the session clock), so nothing jitters with the
  operating system's scheduling.
- :class:`MidiOutput` sends note-ons to a MIDI port (a sound module, a DAW) from a
  thread that sleeps until just before each event and then spins to its time.
- :class:`SilentOutput` plays nothing; the engine says so, and it keeps every event so
  tests can check what would have sounded.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cymbalism.errors import DeviceError, require
from cymbalism.live.clock import NS_PER_SEC, Clock
from cymbalism.model.lanes import LANE_TO_GM_NOTE, Lane
from cymbalism.model.session import BarLayout
from cymbalism.model.tempo import TempoMap

__all__ = [
    "ACCENT",
    "CLICK",
    "DRIFT_SEC",
    "DRIFT_WINDOW_SEC",
    "MUSIC_AHEAD_SEC",
    "AudioOutput",
    "MidiOutput",
    "Output",
    "SilentOutput",
    "Sound",
    "open_output",
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

    def add_bar(self, bar: BarLayout, *, zero_ns: int, last: bool = False) -> None:
        """One more bar laid out (song seconds from ``zero_ns``): the music for it."""
        ...

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

    def add_bar(self, bar: BarLayout, *, zero_ns: int, last: bool = False) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


# --------------------------------------------------------------------------- audio
#: How far the callback's running frame count may drift from the clock before it is reset.
DRIFT_SEC = 0.002
#: The drift is judged on the smallest error over this long. A callback that wakes late
#: (a busy machine) reads the clock late, never early, so the blocks' own continuous count
#: is kept through late wake-ups and only a lasting difference (the sound card's clock
#: against the session clock, a stream that skipped) moves it.
DRIFT_WINDOW_SEC = 0.25
_NO_ERROR = 1 << 62
#: The music placed past each laid-out bar along its line, in case the next bar is late.
MUSIC_AHEAD_SEC = 0.5


class AudioOutput:
    """Click, backing, music and strokes through one sound-device stream.

    Parameters
    ----------
    clock : Clock
        The session clock; every sound is placed by its time on it.
    gains : Mapping[str, float], optional
        Channel gains (``--mix``).
    players : sequence of str
        The players in seat order: the first sounds on ``own``, the others on
        ``partner``, panned apart.
    audio : cymbalism.sound.audio.SongAudio, optional
        The song's recording (see :meth:`add_bar`), resampled to ``sample_rate`` if it
        is at another.
    chart_map : TempoMap, optional
        The chart's tempo map (needed with ``audio``).
    tempo_scale : float
    device : int or str, optional
    sample_rate : int, optional
        The device's own rate by default (44.1 kHz without a device).
    block_size : int
        Frames per callback (256 at 44.1 kHz is 5.8 ms).
    stream : bool
        Open the sound device (False: the callback is driven by hand, as tests do).
    mono : bool
        Play both speakers the same, the mean of the two channels. A microphone in the
        room then hears the speakers by one way (the sum of the two speakers' ways), and
        that one way is what :mod:`cymbalism.live.speakers` measures and takes out; with
        the partner panned to one speaker, two ways would be heard.

    Raises
    ------
    DeviceError
        If the sound device cannot be opened.
    """

    audible = True

    def __init__(
        self,
        clock: Clock,
        *,
        gains: Mapping[str, float] | None = None,
        players: Sequence[str] = (),
        audio: Any = None,
        chart_map: TempoMap | None = None,
        tempo_scale: float = 1.0,
        device: int | str | None = None,
        sample_rate: int | None = None,
        block_size: int = 256,
        stream: bool = True,
        mono: bool = False,
    ) -> None:
        self.clock = clock
        self.mono = bool(mono)
        sd = _sounddevice() if stream else None
        if sample_rate is None:
            sample_rate = 44_100 if sd is None else _device_rate(sd, device)
        self.sample_rate = int(sample_rate)
        self.block_size = int(block_size)
        from cymbalism.live.speakers import PlayedSound
        from cymbalism.sound.kit import SampleKit
        from cymbalism.sound.mixer import Mixer
        from cymbalism.sound.render import HitVoices, player_pans

        self.mixer = Mixer(self.sample_rate, gains)
        #: What the speakers played, for the microphones that hear them.
        self.played = PlayedSound(self.sample_rate)
        self.kit = SampleKit(self.sample_rate)
        self.voices = HitVoices(self.mixer, self.kit)
        self.players = list(players)
        self._pans = dict(zip(self.players, player_pans(len(self.players)), strict=True))
        self.audio = None if audio is None else audio.resampled(self.sample_rate)
        self.chart_map = chart_map
        self.tempo_scale = tempo_scale
        self._track: Any = None
        self._stretcher: Any = None
        self._frame: int | None = None
        self._err_min, self._err_frames = _NO_ERROR, 0
        self._latency_sec = 0.0
        self.resyncs = 0
        self._stream: Any = None
        self.description = "click and sounds on no device (offline)"
        if sd is not None:
            try:
                self._stream = sd.OutputStream(
                    samplerate=self.sample_rate,
                    blocksize=self.block_size,
                    channels=2,
                    dtype="float32",
                    device=device,
                    latency="low",
                    callback=self.callback,
                )
            except Exception as exc:  # PortAudioError, or no device at all
                raise DeviceError(f"no sound output device ({exc})") from exc
            name = sd.query_devices(self._stream.device)["name"]
            self._latency_sec = float(getattr(self._stream, "latency", 0.0) or 0.0)
            self.description = f"sound on {name}"
            if self.mono:
                self.description += " in mono, for the microphones"
            if self.audio is not None:
                from cymbalism.sound.stretch import StretchProcess

                self._stretcher = StretchProcess(self.sample_rate, 2)  # ready by the first bar
                self.description += " with the song's recording"

    # ------------------------------------------------------------------ time
    def frame_of_ns(self, t_ns: int) -> int:
        """The mixer frame that sounds at clock time ``t_ns``."""
        return (int(t_ns) * self.sample_rate + NS_PER_SEC // 2) // NS_PER_SEC

    # ------------------------------------------------------------------ the Output protocol
    def schedule(self, sounds: Iterable[Sound]) -> None:
        """Place the engine's clicks and backing (both on the ``click`` channel: they are
        the metronome's; ``guide`` is the song's own drum stems, muted by default)."""
        from cymbalism.sound.mixer import Placed

        for s in sounds:
            frame = self.frame_of_ns(s.t_ns)
            if self.mixer.rendered_until is not None:
                frame = max(frame, self.mixer.rendered_until)  # late: at once, never cut
            if s.kind in (ACCENT, CLICK):
                self.mixer.add(Placed(frame, self.kit.click(s.kind == ACCENT), "click"))
            else:
                self.voices.strike(frame, s.lane, s.velocity, player="backing", channel="click")

    def add_bar(self, bar: BarLayout, *, zero_ns: int, last: bool = False) -> None:
        """Place the recording for one more bar (song seconds from ``zero_ns`` on the clock)."""
        if self.audio is None or self.chart_map is None:
            return
        if self._track is None:
            from cymbalism.sound.music import MusicTrack

            self._track = MusicTrack(
                self.audio,
                self.mixer,
                chart_map=self.chart_map,
                tempo_scale=self.tempo_scale,
                guide=self.mixer.gains.get("guide", 0.0) > 0.0,
                background=True,
                frame_offset=self.frame_of_ns(zero_ns),
                ahead_sec=MUSIC_AHEAD_SEC,
                stretcher=self._stretcher,
            )
        self._track.add_bar(bar)
        if last:
            self._track.finish()

    def strike(self, player: str, lane: int, velocity: int, *, t_ns: int) -> None:
        """Sound one stroke of ``player`` at its stamp (at once, if that has passed)."""
        frame = self.frame_of_ns(t_ns)
        if self.mixer.rendered_until is not None:
            frame = max(frame, self.mixer.rendered_until)
        channel = "own" if not self.players or player == self.players[0] else "partner"
        self.voices.strike(
            frame, lane, velocity, player=player, channel=channel, pan=self._pans.get(player, 0.0)
        )

    def start(self) -> None:
        if self._stream is not None:
            self._stream.start()

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
        if self._track is not None:
            self._track.close(timeout=1.0)
        if self._stretcher is not None:
            self._stretcher.close()

    # ------------------------------------------------------------------ the callback
    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's callback: mix the next ``frames`` into ``outdata``."""
        now_ns = self.clock.now_ns()
        dac = float(getattr(time_info, "outputBufferDacTime", 0.0) or 0.0)
        current = float(getattr(time_info, "currentTime", 0.0) or 0.0)
        ahead = dac - current if dac > 0.0 else self._latency_sec
        ideal = self.frame_of_ns(now_ns + round(ahead * NS_PER_SEC))
        if self._frame is None:
            self._frame = ideal
        else:
            self._err_min = min(self._err_min, ideal - self._frame)
            self._err_frames += frames
            if self._err_frames >= DRIFT_WINDOW_SEC * self.sample_rate:
                if abs(self._err_min) > DRIFT_SEC * self.sample_rate:
                    self._frame += self._err_min
                    self.resyncs += 1
                self._err_min, self._err_frames = _NO_ERROR, 0
        self.mixer.render(self._frame, frames, outdata)
        if self.mono:
            outdata[:] = outdata.mean(axis=1, keepdims=True)
        self.played.played(self._frame, outdata)
        self._frame += frames


def _sounddevice() -> Any:
    """PortAudio, started only when a sound device is opened (tests put a fake here)."""
    from cymbalism.sound.device import portaudio

    return portaudio("sound output")


def _device_rate(sd: Any, device: int | str | None) -> int:
    """The output device's own sample rate (44.1 kHz if it says none)."""
    try:
        rate = sd.query_devices(device, "output")["default_samplerate"]
        return int(rate) if 8_000 <= float(rate) <= 192_000 else 44_100
    except Exception:  # no such device: opening the stream says so
        return 44_100


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

    def add_bar(self, bar: BarLayout, *, zero_ns: int, last: bool = False) -> None:
        pass  # a MIDI output plays no recording

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
    sound: Mapping[str, Any] | None = None,
) -> Output:
    """The best output there is: a MIDI port if named, else the sound device, else silence.

    ``sound`` holds :class:`AudioOutput`'s options (``gains``, ``players``, ``audio``,
    ``chart_map``, ``tempo_scale``). Never fails: when the device cannot be opened the
    result is a :class:`SilentOutput` whose ``description`` says why.
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
            return AudioOutput(clock, **dict(sound or {}))
        except Exception as exc:  # MissingExtraError, DeviceError
            return SilentOutput(
                description=f"no sound: {exc}; the song is still played, judged and kept"
            )
    return SilentOutput()
