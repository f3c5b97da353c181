"""Live sound-card input: an acoustic kit through a microphone, hits as they are played.

:class:`AudioInput` runs the audio onset detector
(:class:`~cymbalism.io.audio.detector.StreamingDetector`) block by block in the sound
device's callback (python-sounddevice, PortAudio): the same code that reads recordings,
so a microphone and a recording of it give the same hits.
:class:`~cymbalism.live.inputs.MicInput` makes it one of the live engine's inputs.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cymbalism.errors import DeviceError
from cymbalism.io.audio.detector import LIVE_CONFIG, DetectorConfig, StreamingDetector
from cymbalism.io.audio.speakers import SpeakerMemory, SpeakerPath
from cymbalism.io.audio.synth import synthesize_hits
from cymbalism.io.audio.templates import KitTemplates, load_kit_templates
from cymbalism.live.speakers import PlayedSound, SpeakerListener
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.sound.device import portaudio

__all__ = [
    "AudioInput",
    "warm_up",
]


def _one_hit(sample_rate: int, kit: KitTemplates | None, config: DetectorConfig) -> None:
    """Run the detector on one synthetic hit."""
    det = StreamingDetector(sample_rate, kit=kit, config=config)
    click = Hits.from_arrays([0.05], Lane.SNARE, 100)
    det.process(synthesize_hits(click, sample_rate, duration_sec=0.2))
    det.finish()


@functools.cache
def warm_up() -> None:
    """Load and compile what the live detector runs on, once per process.

    The first detector of a process takes seconds (its libraries load, its code
    compiles). A session calls this before its clock starts, so that a microphone
    opened at the start is listening from the count-in, not seconds into the song.
    """
    _one_hit(44100, None, LIVE_CONFIG)


class AudioInput:
    """An acoustic kit through a microphone, as a live source of hits (sounddevice).

    Parameters
    ----------
    device : int or str, optional
        The input device (index or part of its name); the system default if omitted.
    kit : KitTemplates or str, optional
    sample_rate : int, optional
        The device's default rate if omitted.
    block_size : int
        Samples per audio callback (128 at 44.1 kHz is 2.9 ms).
    channel : int
        Which input channel carries this player's microphone.
    on_hit : callable, optional
        Called from the audio thread with each settled :class:`Hits` batch.
    clock : callable
        The engine's clock in seconds; the first sample is stamped with it
        (:attr:`origin_sec`). Hits are in seconds after that first sample, so that a
        clock that has run for days gives hits of a session's size.
    config : DetectorConfig, optional
        :data:`LIVE_CONFIG` by default (20 ms from onset to report).
    speakers : PlayedSound, optional
        What the session's speakers play (:attr:`AudioOutput.played
        <cymbalism.live.metronome.AudioOutput.played>`): the microphone hears it too, and
        it is taken out before the hits are found (:mod:`cymbalism.live.speakers`), from
        the first seconds on.
    on_speakers : callable, optional
        Called with the way from the speakers once it is first found.
    speaker_memory : SpeakerMemory, optional
        Where the last session left the way from the speakers to this microphone
        (:meth:`speaker_memory`): this one starts from it.

    Raises
    ------
    DeviceError
        If PortAudio is missing, there is no input device, or the device will not open.

    Notes
    -----
    Use as a context manager or call :meth:`start` / :meth:`stop`; hits are also
    queued for :meth:`poll`. The latency of a hit is :attr:`latency_sec` plus one
    block plus the device's own input latency (``stream.latency``).
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        kit: KitTemplates | str | None = None,
        sample_rate: int | None = None,
        block_size: int = 128,
        channel: int = 0,
        on_hit: Callable[[Hits], None] | None = None,
        clock: Callable[[], float] | None = None,
        config: DetectorConfig | None = None,
        speakers: PlayedSound | None = None,
        on_speakers: Callable[[SpeakerPath], None] | None = None,
        speaker_memory: SpeakerMemory | None = None,
    ) -> None:
        self._sd = _sounddevice()
        info = _input_device(self._sd, device)
        self.device_name = str(info.get("name", device))
        self.sample_rate = int(sample_rate or info.get("default_samplerate") or 44100)
        self.channel = int(channel)
        n_in = int(info.get("max_input_channels", 0))
        if not 0 <= self.channel < n_in:
            raise DeviceError(
                f"audio input {self.device_name!r} has {n_in} channels; no channel "
                f"{self.channel + 1}"
            )
        self.block_size = int(block_size)
        self._clock = clock or time.perf_counter
        self._kit = load_kit_templates(kit) if isinstance(kit, str) else kit
        self._config = config or LIVE_CONFIG
        self._on_hit = on_hit
        self._lock = threading.Lock()
        self._queue: list[Hits] = []
        self._detector: StreamingDetector | None = None
        self._stamped = False
        #: The engine clock's time of the first sample (None until it arrives).
        self.origin_sec: float | None = None
        self._speakers = speakers
        self._on_speakers = on_speakers
        self._speaker_memory = speaker_memory
        self._listener: SpeakerListener | None = None
        self._n_read = 0  # samples read since the first
        self._stream: Any = None
        self._n_channels = self.channel + 1
        self._device_index = info["index"]
        #: Callbacks whose block came with an input overflow: audio the device dropped.
        self.overflows = 0

    @property
    def latency_sec(self) -> float:
        """Algorithmic latency of the detector (no device latency)."""
        det = StreamingDetector(self.sample_rate, kit=self._kit, config=self._config)
        return det.latency_sec

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status and getattr(status, "input_overflow", True):
            self.overflows += 1
        det = self._detector
        if det is None:
            return
        if not self._stamped:  # the first block: stamp its first sample on the clock
            self.origin_sec = self._clock() - frames / self.sample_rate
            self._stamped = True
        x = indata[:, self.channel]
        if self._listener is not None and self.origin_sec is not None:
            x = self._listener.cleaned(x, self.origin_sec + self._n_read / self.sample_rate)
        self._n_read += frames
        self._deliver(self._players(det.process(x)))

    def _players(self, hits: Hits) -> Hits:
        """``hits`` less the speakers' remains, when the speakers are taken out."""
        return hits if self._listener is None else self._listener.keeps(hits)

    def _deliver(self, hits: Hits) -> None:
        if not len(hits):
            return
        with self._lock:
            self._queue.append(hits)
        if self._on_hit is not None:
            self._on_hit(hits)

    def start(self) -> AudioInput:
        """Open the device and start listening."""
        # A first run on one hit compiles and loads everything the detector uses here,
        # not in the first audio callbacks (which would overrun their blocks: lost audio).
        _one_hit(self.sample_rate, self._kit, self._config)
        self._detector = StreamingDetector(self.sample_rate, kit=self._kit, config=self._config)
        self._stamped = False
        self._n_read = 0
        if self._speakers is not None:
            self._listener = SpeakerListener(
                self._speakers,
                self.sample_rate,
                on_found=self._on_speakers,
                memory=self._speaker_memory,
            )
        try:
            self._stream = self._sd.InputStream(
                device=self._device_index,
                channels=self._n_channels,
                samplerate=self.sample_rate,
                blocksize=self.block_size,
                dtype="float32",
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError and friends
            raise DeviceError(f"cannot open audio input {self.device_name!r}: {exc}") from exc
        return self

    def stop(self) -> Hits:
        """Stop listening; return the hits not yet polled (nothing recorded is lost)."""
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None
        if self._listener is not None:
            self._listener.join()
        if self._detector is not None:
            if self._listener is not None:  # the samples still waiting for the speakers'
                self._deliver(self._players(self._detector.process(self._listener.flush())))
            self._deliver(self._players(self._detector.finish()))
            self._detector = None
        return self.poll()

    def speaker_memory(self) -> SpeakerMemory | None:
        """Where the way from the speakers stands, for the next session (None if it was
        never measured)."""
        return None if self._listener is None else self._listener.path.memory()

    def poll(self) -> Hits:
        """The hits detected since the last poll."""
        with self._lock:
            q, self._queue = self._queue, []
        return Hits.concat(q)

    def __enter__(self) -> AudioInput:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sounddevice() -> Any:
    return portaudio("audio input")


def _input_device(sd: Any, device: int | str | None) -> dict[str, Any]:
    """The input device's info dict (with its ``index``), or a clear DeviceError."""
    try:
        devices = list(sd.query_devices())
    except Exception as exc:
        raise DeviceError(f"cannot list audio devices: {exc}") from exc
    inputs = [
        dict(d, index=i) for i, d in enumerate(devices) if int(d.get("max_input_channels", 0)) > 0
    ]
    if not inputs:
        raise DeviceError(
            "no audio input device found (no sound card or microphone): connect one, or "
            "analyse a recording with `cymbalism transcribe`"
        )
    if device is None:
        try:
            idx = sd.default.device[0]
        except Exception:
            idx = -1
        for d in inputs:
            if d["index"] == idx:
                return d
        return inputs[0]
    for d in inputs:
        if d["index"] == device or (
            isinstance(device, str) and device.lower() in str(d.get("name", "")).lower()
        ):
            return d
    names = ", ".join(repr(d.get("name")) for d in inputs)
    raise DeviceError(f"no audio input {device!r}; inputs found: {names}")
