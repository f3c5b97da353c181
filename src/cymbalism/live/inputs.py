"""Live inputs: MIDI ports, microphones, the computer keyboard as pads, simulated drummers.

Every input stamps a hit with the moment it arrived, on the session's
:class:`~cymbalism.live.clock.Clock`, minus the input's calibrated latency
(``offset_sec``). A MIDI port's moment of arrival is the one rtmidi took in the MIDI
system's thread (see below), placed on the session clock; never a time a message
carries itself. Hits wait in a thread-safe queue until the engine's loop collects them
with :meth:`Input.poll`.

MIDI ports are found by NAME (a case-insensitive substring), never by number, so an e-kit
is found again after a reboot or after it was unplugged. One port can carry two players,
split by channel or by note range (:class:`Route`). When a port disappears mid-song the
input says so (:class:`InputStatus`), keeps every hit it already delivered, and opens the
port again when it comes back.

Only the port boundary is pluggable (:class:`PortBackend`): :class:`MidoBackend` talks to
real ports through python-rtmidi; tests pass a fake backend with mido-style ports.

No Python runs in the MIDI system's own thread. python-rtmidi calls a Python callback
from inside JACK's real-time process cycle, which must then wait for the interpreter;
with the live view drawing, some of those calls were handed the previous message's bytes
again (a copy 0.03-5 ms after the original) and some messages never came. So a real
port (:class:`RtMidiPort`) sets no callback: rtmidi queues each message in C++ with its
arrival time, and a reader thread of ours takes them from that queue, stamps them from
rtmidi's own times, decodes them and hands the hits to the engine's queue.

Each player's notes then pass a :class:`TriggerFilter` (the kit's retrigger mask and
crosstalk filter, :class:`cymbalism.io.kits.TriggerSettings`), which drops a pad's
double triggers and the crosstalk of a hit on its neighbours, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import select
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cymbalism.errors import CymbalismWarning, DeviceError, InputError, NotFoundError, require
from cymbalism.io.datadir import data_dir
from cymbalism.io.kits import TriggerSettings
from cymbalism.live.clock import NS_PER_SEC, Clock, sec_to_ns
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane, lane_table

if TYPE_CHECKING:
    from cymbalism.io.audio.speakers import SpeakerMemory, SpeakerPath
    from cymbalism.live.speakers import PlayedSound

__all__ = [
    "DEFAULT_KEYMAPS",
    "Input",
    "InputHit",
    "InputStatus",
    "KeyboardInput",
    "MicInput",
    "MidiInput",
    "MidoBackend",
    "PortBackend",
    "Route",
    "RtMidiPort",
    "SimulatedInput",
    "TriggerFilter",
    "find_port",
    "kit_table",
    "mic_calibration_hint",
    "mic_calibration_name",
    "speaker_memory_path",
]


@dataclass(frozen=True, slots=True)
class InputHit:
    """One hit as it arrived: who, when (clock nanoseconds, latency removed), what, how hard."""

    player: str
    t_ns: int
    lane: int
    velocity: int


@dataclass(frozen=True, slots=True)
class InputStatus:
    """A message about an input for the player to see (a port lost or found again)."""

    t_ns: int
    input: str
    text: str
    ok: bool


class Input:
    """Base class of every live input.

    Subclasses put :class:`InputHit` objects on ``self._hits`` (from any thread) and
    :class:`InputStatus` objects on ``self._status``; the engine's loop drains both.
    """

    def __init__(
        self,
        name: str,
        *,
        clock: Clock,
        offset_sec: float = 0.0,
        sink: queue.SimpleQueue[InputHit] | None = None,
    ) -> None:
        if not -0.5 <= offset_sec <= 0.5:
            raise InputError(
                f"a latency of {offset_sec} s for input {name!r} is implausible; "
                "calibrated latencies lie within +-0.5 s (did you give milliseconds?)"
            )
        self.name = name
        self.clock = clock
        self.offset_sec = float(offset_sec)
        self._offset_ns = sec_to_ns(offset_sec)
        # Several inputs may share one queue, so the engine's loop wakes on any hit.
        self._hits: queue.SimpleQueue[InputHit] = queue.SimpleQueue() if sink is None else sink
        self._status: queue.SimpleQueue[InputStatus] = queue.SimpleQueue()

    @property
    def players(self) -> list[str]:
        """The players this input delivers hits for."""
        raise NotImplementedError

    def stamp(self) -> int:
        """The arrival time of something happening now, latency removed (nanoseconds)."""
        return self.clock.now_ns() - self._offset_ns

    def start(self) -> None:
        """Open the device (if any) and begin delivering hits."""

    def stop(self) -> None:
        """Close the device; hits already delivered stay in the queue."""

    def poll(self, now_ns: int) -> list[InputHit]:
        """Every hit that arrived since the last call, oldest first."""
        out: list[InputHit] = []
        while True:
            try:
                out.append(self._hits.get_nowait())
            except queue.Empty:
                return out

    def status(self) -> list[InputStatus]:
        """Every status message since the last call."""
        out: list[InputStatus] = []
        while True:
            try:
                out.append(self._status.get_nowait())
            except queue.Empty:
                return out


# --------------------------------------------------------------------------- kit maps
def kit_table(kit: str | Mapping[int, int] | np.ndarray | None = None) -> np.ndarray:
    """The note -> lane lookup array of an e-kit.

    Parameters
    ----------
    kit : str, Mapping[int, int], np.ndarray or None
        ``None`` for General MIDI (with the Roland TD-11 extras); a kit's name, looked
        up in :mod:`cymbalism.io.kits`; a note -> lane mapping; or a ready table.

    Returns
    -------
    table : np.ndarray [shape=(128,), int8]
        Lane of each MIDI note, -1 where the note is not a drum.
    """
    if kit is None:
        return lane_table()
    if isinstance(kit, np.ndarray):
        if kit.shape != (128,):
            raise InputError(f"a kit table needs 128 entries, got shape {kit.shape}")
        return kit.astype(np.int8)
    if isinstance(kit, str):
        from cymbalism.io import kits

        return kits.load_kit(kit).table.copy()
    return lane_table(kit)


# --------------------------------------------------------------------------- MIDI ports
class PortBackend(Protocol):
    """The MIDI system: list ports and open them.

    ``open_input`` returns a port with ``close()`` that calls ``callback(message)`` or
    ``callback(message, arrived_ns)`` for every message, a mido-style message with
    ``type``, ``channel``, ``note`` and ``velocity``, and, when the port knows it, the
    message's arrival on the :func:`time.perf_counter_ns` clock.
    """

    def input_names(self) -> list[str]: ...

    def output_names(self) -> list[str]: ...

    def open_input(self, name: str, callback: Callable[..., None]) -> Any: ...

    def open_output(self, name: str) -> Any: ...


#: A port is taken as unplugged once this many listings in a row (one a second) leave it
#: out: under JACK a listing can time out on a busy machine, and closing and reopening a
#: port that never left would lose what came meanwhile.
LOST_AFTER_CHECKS = 2
#: Messages rtmidi may hold for the reader thread (at 0.5 ms per read, far more than
#: any kit sends).
RTMIDI_QUEUE = 8192
#: How long the reader thread sleeps when rtmidi's queue is empty.
READ_EVERY_SEC = 0.0005


class _Arrivals:
    """Clock times of messages from rtmidi's delta times, anchored to when they were read.

    rtmidi gives each message the time since the previous one, taken when it arrived.
    Summed, they place every message on one time line whose offset from our clock is
    unknown; each read bounds it from above (a message is read after it arrived), so the
    least ``read - summed`` over the last ``window`` messages is the offset, found
    again and again so that two clocks drifting apart do not matter.
    """

    def __init__(self, window: int = 64) -> None:
        self._sum_ns = 0
        self._offsets: deque[int] = deque(maxlen=window)

    def stamp(self, delta_sec: float, read_ns: int) -> int:
        self._sum_ns += round(delta_sec * NS_PER_SEC)
        self._offsets.append(read_ns - self._sum_ns)
        return self._sum_ns + min(self._offsets)


class RtMidiPort:
    """A MIDI input port read through rtmidi's own queue, with no Python callback.

    Parameters
    ----------
    rtmidi : module
        python-rtmidi.
    api : int
        The rtmidi API constant.
    name : str
        The port's exact name.
    callback : callable
        ``callback(message, arrived_ns)``, called from this port's reader thread.
    """

    def __init__(
        self, rtmidi: Any, api: int, name: str, callback: Callable[[Any, int], None]
    ) -> None:
        import mido

        self._mido = mido
        self._rt = rtmidi.MidiIn(api, name="cymbalism", queue_size_limit=RTMIDI_QUEUE)
        names = self._rt.get_ports()
        if name not in names:
            raise OSError(f"no MIDI input {name!r}")
        # Every message type is taken, so that rtmidi's delta times add up.
        self._rt.ignore_types(sysex=False, timing=False, active_sense=False)
        self._rt.open_port(names.index(name), "in")
        self.name = name
        self._callback = callback
        self._arrivals = _Arrivals()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"midi {name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        get = self._rt.get_message
        while True:
            item = get()
            if item is not None:
                self._deliver(item)
            elif self._stop.is_set():
                # The port is closed, so nothing more can come: take what is left.
                while (item := get()) is not None:
                    self._deliver(item)
                return
            else:
                time.sleep(READ_EVERY_SEC)

    def _deliver(self, item: tuple[list[int], float]) -> None:
        data, delta = item
        arrived = self._arrivals.stamp(delta, time.perf_counter_ns())
        try:
            msg = self._mido.Message.from_bytes(data)
        except ValueError:  # a malformed or partial message
            return
        self._callback(msg, arrived)

    def close(self) -> None:
        """Close the port, deliver every message that had arrived, and stop reading."""
        self._rt.close_port()
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._rt.delete()


class MidoBackend:
    """Real MIDI ports through python-rtmidi (and mido for outputs; the ``live`` extra).

    Parameters
    ----------
    api : str, optional
        The rtmidi API, such as ``"LINUX_ALSA"`` or ``"UNIX_JACK"``; by default
        rtmidi's own choice.
    """

    def __init__(self, api: str | None = None) -> None:
        self._rtmidi = require("rtmidi", "live")
        mido = require("mido", "live")
        name = "mido.backends.rtmidi" + (f"/{api}" if api else "")
        self._backend = mido.Backend(name, load=True)
        self._api = getattr(self._rtmidi, f"API_{api}", None) if api else None
        if api and self._api is None:
            raise InputError(f"unknown MIDI API {api!r}; use LINUX_ALSA or UNIX_JACK")
        self._listers: tuple[Any, Any] | None = None

    def _names(self, what: str, k: int) -> list[str]:
        # One client kept for listing: opening a client per listing (as mido does)
        # holds the interpreter for tens of milliseconds under JACK, every time the
        # port watch looks.
        if self._listers is None:
            api = self._rtmidi.API_UNSPECIFIED if self._api is None else self._api
            self._listers = self._call(
                what, _quietly, lambda: (self._rtmidi.MidiIn(api), self._rtmidi.MidiOut(api))
            )
        names = self._call(what, self._listers[k].get_ports)
        return list(dict.fromkeys(names))

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except (OSError, SystemError, RuntimeError) as exc:
            raise DeviceError(
                f"the MIDI system is not available ({what}: {exc}); on Linux this needs "
                "the ALSA sequencer (/dev/snd/seq), or a running JACK server and "
                "--api UNIX_JACK"
            ) from exc

    def input_names(self) -> list[str]:
        return self._names("listing inputs", 0)

    def output_names(self) -> list[str]:
        return self._names("listing outputs", 1)

    def open_input(self, name: str, callback: Callable[[Any, int], None]) -> RtMidiPort:
        api = self._rtmidi.API_UNSPECIFIED if self._api is None else self._api
        return self._call(  # type: ignore[no-any-return]
            f"opening {name!r}", _quietly, RtMidiPort, self._rtmidi, api, name, callback
        )

    def open_output(self, name: str) -> Any:
        return self._call(f"opening {name!r}", _quietly, self._backend.open_output, name)


@contextlib.contextmanager
def _without_alsa_chatter() -> Iterator[None]:
    """Keep alsa-lib's own lines ("ALSA lib seq_hw.c:466: ... open /dev/snd/seq failed")
    off the terminal while a MIDI client is made: it writes them to the process's stderr
    itself, before rtmidi raises the error cymbalism then says in one line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr (a service): nothing to keep off
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _quietly(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, making a MIDI client, without alsa-lib's own lines on stderr."""
    with _without_alsa_chatter():
        return fn(*args)


def find_port(query: str, names: Sequence[str], *, kind: str = "input") -> str:
    """The port whose name matches ``query``: exactly, else as a case-insensitive substring.

    Raises
    ------
    NotFoundError
        If no port matches (the message lists the ports there are).
    InputError
        If several ports match and none exactly.
    """
    if query in names:
        return query
    key = query.strip().lower()
    hits = [n for n in names if key and key in n.lower()]
    if len(hits) == 1:
        return hits[0]
    have = ", ".join(repr(n) for n in names) or "none"
    if not hits:
        raise NotFoundError(f"no MIDI {kind} port matches {query!r}; ports: {have}")
    raise InputError(
        f"{query!r} matches several MIDI {kind} ports ({', '.join(map(repr, hits))}); "
        "give more of the name"
    )


@dataclass(frozen=True)
class Route:
    """Which messages of a port belong to a player, and how notes map to lanes.

    Attributes
    ----------
    player : str
    channels : frozenset of int, optional
        MIDI channels as people count them (1-16); ``None`` for all.
    notes : tuple (low, high), optional
        An inclusive note range; ``None`` for all.
    table : np.ndarray [shape=(128,), int8]
        The kit's note -> lane table (see :func:`kit_table`).
    trigger : TriggerSettings
        The kit's retrigger mask and crosstalk filter (see :class:`TriggerFilter`).
    """

    player: str
    channels: frozenset[int] | None = None
    notes: tuple[int, int] | None = None
    table: np.ndarray = field(default_factory=lane_table)
    trigger: TriggerSettings = field(default_factory=TriggerSettings)

    def __post_init__(self) -> None:
        if self.channels is not None and not all(1 <= c <= 16 for c in self.channels):
            raise InputError(f"MIDI channels are 1-16, got {sorted(self.channels)}")
        if self.notes is not None:
            lo, hi = self.notes
            if not 0 <= lo <= hi <= 127:
                raise InputError(f"a note range must lie within 0-127, got {lo}-{hi}")

    def accepts(self, channel: int, note: int) -> bool:
        """Whether a note on ``channel`` (0-15, as mido counts) belongs to this route."""
        if self.channels is not None and channel + 1 not in self.channels:
            return False
        return self.notes is None or self.notes[0] <= note <= self.notes[1]


#: Lanes played with the feet: not mounted with the pads, so no crosstalk from or to them.
_FEET = frozenset({int(Lane.KICK), int(Lane.HIHAT_PEDAL)})


class TriggerFilter:
    """Drops a pad's false triggers from one player's notes, as they arrive, and no stroke.

    - **Retrigger mask**: a note on a lane within ``retrigger_mask_ms`` after the last
      accepted note on that lane is the pad triggering twice.
    - **Crosstalk**: a note on another lane within ``crosstalk_ms`` after an accepted
      hit, with at most ``crosstalk_ratio`` of its velocity, is that hit sounding on a
      neighbouring pad. The feet neither cause nor receive crosstalk.

    Parameters
    ----------
    settings : TriggerSettings
        The kit's (:attr:`cymbalism.io.kits.KitMap.trigger`).

    Attributes
    ----------
    dropped_retrigger, dropped_crosstalk : int
        How many notes each rule dropped so far.
    """

    def __init__(self, settings: TriggerSettings | None = None) -> None:
        self.settings = settings = settings or TriggerSettings()
        self._mask_ns = round(settings.retrigger_mask_ms * 1e6)
        self._cross_ns = round(settings.crosstalk_ms * 1e6)
        self._last: dict[int, int] = {}  # lane -> last accepted stamp
        self._recent: deque[tuple[int, int, int]] = deque()  # (stamp, lane, velocity)
        self.dropped_retrigger = 0
        self.dropped_crosstalk = 0

    def accept(self, t_ns: int, lane: int, velocity: int) -> bool:
        """Whether a note (arrival ``t_ns``, ``lane``, ``velocity``) is a stroke; if so, it
        is remembered for the notes after it."""
        last = self._last.get(lane)
        if last is not None and 0 <= t_ns - last < self._mask_ns:
            self.dropped_retrigger += 1
            return False
        recent = self._recent
        while recent and t_ns - recent[0][0] >= self._cross_ns:
            recent.popleft()
        if lane not in _FEET:
            limit = self.settings.crosstalk_ratio
            for _, other, vel in recent:
                if other != lane and velocity <= limit * vel:
                    self.dropped_crosstalk += 1
                    return False
        self._last[lane] = t_ns
        if self._cross_ns > 0 and lane not in _FEET:
            recent.append((t_ns, lane, velocity))
        return True


class MidiInput(Input):
    """A MIDI input port, found by name, feeding one or more players.

    Parameters
    ----------
    port : str
        The port's name or a case-insensitive part of it.
    routes : sequence of Route
        Which player each message belongs to; the first route that accepts a note wins.
    clock : Clock
    backend : PortBackend
    offset_sec : float
        The port's calibrated latency, subtracted from every stamp.
    """

    def __init__(
        self,
        port: str,
        routes: Sequence[Route],
        *,
        clock: Clock,
        backend: PortBackend,
        offset_sec: float = 0.0,
        sink: queue.SimpleQueue[InputHit] | None = None,
    ) -> None:
        super().__init__(port, clock=clock, offset_sec=offset_sec, sink=sink)
        if not routes:
            raise InputError(f"MIDI input {port!r} feeds no player")
        self.query = port
        self.routes = tuple(routes)
        self.backend = backend
        self.port_name: str | None = None
        self.connected = False
        self.losses = 0
        self._port: Any = None
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None
        self._stop = threading.Event()
        self.filters = {r.player: TriggerFilter(r.trigger) for r in self.routes}
        self._misses = 0  # listings in a row without the port

    @property
    def players(self) -> list[str]:
        return list(dict.fromkeys(r.player for r in self.routes))

    def _on_message(self, msg: Any, arrived_ns: int | None = None) -> None:
        # Runs on the port's reader thread, one message at a time. A real clock takes
        # the port's own arrival time; a fake one is read now.
        if arrived_ns is None or not self.clock.realtime:
            arrived_ns = self.clock.now_ns()
        t_ns = arrived_ns - self._offset_ns
        if getattr(msg, "type", None) != "note_on" or msg.velocity == 0:
            return
        for route in self.routes:
            if route.accepts(msg.channel, msg.note):
                lane = int(route.table[msg.note])
                if lane >= 0 and self.filters[route.player].accept(t_ns, lane, msg.velocity):
                    self._hits.put(InputHit(route.player, t_ns, lane, int(msg.velocity)))
                return

    def start(self, *, watch_sec: float | None = 1.0) -> None:
        """Open the port; with ``watch_sec``, check every so often that it is still there.

        Raises
        ------
        NotFoundError
            If no port matches the name at the start.
        """
        self.port_name = find_port(self.query, self.backend.input_names())
        self._open()
        if watch_sec is not None:
            self._stop.clear()
            self._watch = threading.Thread(
                target=self._watch_loop, args=(watch_sec,), name=f"watch {self.name}", daemon=True
            )
            self._watch.start()

    def _open(self) -> None:
        assert self.port_name is not None
        self._port = self.backend.open_input(self.port_name, self._on_message)
        self.connected = True

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # the device is already gone; nothing more to release
                pass
        self.connected = False

    def _watch_loop(self, every_sec: float) -> None:
        while not self._stop.wait(every_sec):
            try:
                self.check()
            except DeviceError as exc:
                self._status.put(InputStatus(self.clock.now_ns(), self.name, str(exc), False))

    def check(self) -> InputStatus | None:
        """See whether the port is still there; close it once it is missing from
        :data:`LOST_AFTER_CHECKS` listings in a row (a busy MIDI system may leave it out
        of one), reopen it on return.

        Returns the status change, if there was one (it is also queued for
        :meth:`status`).
        """
        with self._lock:
            names = self.backend.input_names()
            try:
                found = find_port(self.port_name or self.query, names)
            except (NotFoundError, InputError):
                found = None
            self._misses = 0 if found is not None else self._misses + 1
            change: InputStatus | None = None
            if self.connected and found is None and self._misses >= LOST_AFTER_CHECKS:
                self._close()
                self.losses += 1
                change = InputStatus(
                    self.clock.now_ns(),
                    self.name,
                    f"MIDI input {self.port_name!r} disconnected; the song goes on, "
                    "plug it back in to continue",
                    False,
                )
            elif not self.connected and found is not None:
                self.port_name = found
                try:
                    self._open()
                except DeviceError:
                    return None
                change = InputStatus(
                    self.clock.now_ns(), self.name, f"MIDI input {found!r} is back", True
                )
            if change is not None:
                self._status.put(change)
            return change

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=2.0)
            self._watch = None
        with self._lock:
            self._close()


# --------------------------------------------------------------------------- keyboard
#: Two key sets, one per player: the left hand's side and the right hand's side.
DEFAULT_KEYMAPS: tuple[Mapping[str, Lane], ...] = (
    {
        "z": Lane.KICK,
        "x": Lane.SNARE,
        "c": Lane.HIHAT_CLOSED,
        "v": Lane.HIHAT_OPEN,
        "a": Lane.TOM_HIGH,
        "s": Lane.TOM_MID,
        "d": Lane.TOM_FLOOR,
        "f": Lane.CRASH,
        "g": Lane.RIDE,
    },
    {
        "m": Lane.KICK,
        ",": Lane.SNARE,
        ".": Lane.HIHAT_CLOSED,
        "/": Lane.HIHAT_OPEN,
        "j": Lane.TOM_HIGH,
        "k": Lane.TOM_MID,
        "l": Lane.TOM_FLOOR,
        ";": Lane.CRASH,
        "'": Lane.RIDE,
    },
)


class KeyboardInput(Input):
    """The computer keyboard as drum pads, one key set per player.

    Parameters
    ----------
    keymaps : Mapping[str, Mapping[str, Lane]]
        Player -> (key -> lane). Keys must not be shared between players.
    clock : Clock
    fd : int
        The terminal to read (standard input by default). It is put in cbreak mode
        while the input runs, so keys arrive at once and are not echoed; Ctrl-C still
        stops the song.
    offset_sec : float
    velocity : int
        The velocity every key hit gets.

    Notes
    -----
    Keys that are no player's pad (``q``, the space bar) are kept in :attr:`commands`
    for the front end.
    """

    def __init__(
        self,
        keymaps: Mapping[str, Mapping[str, Lane]],
        *,
        clock: Clock,
        fd: int | None = None,
        offset_sec: float = 0.0,
        velocity: int = 100,
        sink: queue.SimpleQueue[InputHit] | None = None,
    ) -> None:
        super().__init__("keyboard", clock=clock, offset_sec=offset_sec, sink=sink)
        self._map: dict[str, tuple[str, int]] = {}
        for player, keys in keymaps.items():
            for key, lane in keys.items():
                if key in self._map:
                    raise InputError(f"key {key!r} is a pad of two players")
                self._map[key.lower()] = (player, int(lane))
        self._players = list(keymaps)
        self.fd = fd
        self.velocity = velocity
        self.commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stop_r, self._stop_w = -1, -1
        self._saved: Any = None

    @property
    def players(self) -> list[str]:
        return list(self._players)

    def feed(self, text: str) -> None:
        """Handle keys as if typed now (the reading thread calls this)."""
        t_ns = self.stamp()
        for ch in text:
            hit = self._map.get(ch.lower())
            if hit is None:
                self.commands.put(ch)
            else:
                self._hits.put(InputHit(hit[0], t_ns, hit[1], self.velocity))

    def start(self) -> None:
        import sys

        fd = sys.stdin.fileno() if self.fd is None else self.fd
        if os.isatty(fd):
            import termios
            import tty

            self._saved = (fd, termios.tcgetattr(fd))
            tty.setcbreak(fd)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._read, args=(fd,), name="keys", daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        while True:
            ready, _, _ = select.select([fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            data = os.read(fd, 64)
            if not data:
                return
            self.feed(data.decode("utf-8", "ignore"))

    def stop(self) -> None:
        if self._thread is not None:
            os.write(self._stop_w, b"x")
            self._thread.join(timeout=2.0)
            self._thread = None
            os.close(self._stop_r)
            os.close(self._stop_w)
        if self._saved is not None:
            import termios

            fd, attrs = self._saved
            termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
            self._saved = None


# --------------------------------------------------------------------------- microphone
def mic_calibration_name(device: str | None) -> str:
    """The name a microphone's latency is kept under in the store: its device, whichever
    channel (every channel of an audio interface goes through the same converters and
    buffers)."""
    return f"mic:{device or 'default'}"


def speaker_memory_path(device: str | None, channel: int) -> Path:
    """Where the way from the room's speakers to a microphone (a device's channel) is
    kept between sessions: a file in ``speakers/`` of cymbalism's data folder."""
    import hashlib

    name = f"{mic_calibration_name(device)}@ch{channel + 1}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60]
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return data_dir("speakers", f"{slug}-{digest}.npz")


#: A microphone whose sound device drops audio (an input overflow: the computer was too
#: busy to take a block in time) says so at most this often: strokes then may be missed.
OVERFLOW_REPORT_SEC = 10.0


#: A microphone whose calibration is this far from the way it hears the speakers is told
#: to calibrate again: sound crosses 1.7 m of a room in 5 ms, about how far a drummer's
#: ears may sit from their microphone.
MIC_CALIBRATION_SLACK_SEC = 0.005


def mic_calibration_hint(lag_sec: float, offset_sec: float, device: str | None) -> str | None:
    """What to tell a player whose microphone is calibrated off the speakers' time.

    ``lag_sec`` is how late the microphone hears the speakers against the output's clock
    (:attr:`~cymbalism.io.audio.speakers.SpeakerPath.lag_sec`), ``offset_sec`` the
    latency subtracted from its stamps. A stroke played with the speakers is judged
    ``lag_sec - offset_sec`` late; beyond :data:`MIC_CALIBRATION_SLACK_SEC` the player
    is told how far, and the command that sets it right. None when it is within.
    """
    off = lag_sec - offset_sec
    if abs(off) <= MIC_CALIBRATION_SLACK_SEC:
        return None
    word = "late" if off > 0 else "early"
    what = "mic" if device is None else f"mic={device}"
    return (
        f"a stroke played with the speakers reads {abs(off) * 1000:.0f} ms {word}: "
        f"`cymbalism calibrate -i {what}` sets the microphone's latency"
    )


class MicInput(Input):
    """An acoustic kit through a microphone, one player per input channel.

    The audio onset detector of :mod:`cymbalism.io.audio` runs block by block in the
    sound device's callback (:class:`~cymbalism.live.microphone.AudioInput`), the same code that
    transcribes recordings. A hit is stamped from the sample clock (the first sample's
    clock time plus the onset's place in the stream), so the detector's own delay does
    not shift it; the input's calibrated latency is then subtracted as for every input.

    Parameters
    ----------
    player : str
    clock : Clock
    device : int or str, optional
        The audio input device (index or part of its name); the system default if omitted.
    channel : int
        The input channel (from 0) that carries this player's microphone.
    kit : str, optional
        A calibrated kit (``cymbalism kit calibrate``); the default templates otherwise.
    offset_sec : float
    speakers : PlayedSound, optional
        What the session's speakers play: the microphone hears it too, and it is taken
        out before the hits are found (:mod:`cymbalism.live.speakers`). The way from the
        speakers is remembered for the microphone's next session
        (:func:`speaker_memory_path`), which starts from it.

    Raises
    ------
    DeviceError
        If there is no audio input device (no sound card) or it will not open.

    Notes
    -----
    One microphone hears every drummer in the room: no detector separates two drummers
    who play into one microphone, so give each player their own microphone or channel.
    """

    def __init__(
        self,
        player: str,
        *,
        clock: Clock,
        device: int | str | None = None,
        channel: int = 0,
        kit: str | None = None,
        offset_sec: float = 0.0,
        sink: queue.SimpleQueue[InputHit] | None = None,
        speakers: PlayedSound | None = None,
    ) -> None:
        from cymbalism.live.microphone import AudioInput

        super().__init__(
            f"mic {device or 'default'} ch{channel + 1}",
            clock=clock,
            offset_sec=offset_sec,
            sink=sink,
        )
        self._player = player
        self._device = None if device is None else str(device)
        self._memory_path = speaker_memory_path(self._device, channel)
        memory = self._recall() if speakers is not None else None
        self._audio = AudioInput(
            device,
            kit=kit,
            channel=channel,
            on_hit=self._arrived,
            clock=lambda: clock.now_ns() / NS_PER_SEC,
            speakers=speakers,
            on_speakers=self._hears_speakers,
            speaker_memory=memory,
        )
        self._overflows_told = 0
        self._overflow_told_ns: int | None = None

    @property
    def players(self) -> list[str]:
        return [self._player]

    def status(self) -> list[InputStatus]:
        """Every status message since the last call; and, at most every
        :data:`OVERFLOW_REPORT_SEC`, how often the sound device dropped audio."""
        out = super().status()
        lost = self._audio.overflows
        now = self.clock.now_ns()
        last = self._overflow_told_ns
        if lost > self._overflows_told and (
            last is None or now - last >= sec_to_ns(OVERFLOW_REPORT_SEC)
        ):
            n = lost - self._overflows_told
            text = (
                f"{self._player}'s microphone: the sound device dropped audio "
                f"{n} time{'s' if n != 1 else ''} (input overflow), and strokes then may be "
                "missed: the computer is too busy (close other programs)"
            )
            out.append(InputStatus(now, self.name, text, False))
            self._overflows_told, self._overflow_told_ns = lost, now
        return out

    @property
    def latency_sec(self) -> float:
        """The detector's own delay from onset to report (the device's buffer comes on top)."""
        return self._audio.latency_sec

    def _hears_speakers(self, path: SpeakerPath) -> None:
        now = self.clock.now_ns()
        text = f"{self._player}'s microphone: {path.describe()}"
        self._status.put(InputStatus(now, self.name, text, True))
        hint = mic_calibration_hint(path.lag_sec, self.offset_sec, self._device)
        if hint is not None:
            self._status.put(InputStatus(now, self.name, f"{self._player}: {hint}", False))

    def _arrived(self, _: Hits) -> None:
        # Take the batch from the detector's queue so that nothing is held twice.
        batch = self._audio.poll()
        origin_ns = round((self._audio.origin_sec or 0.0) * NS_PER_SEC)
        t_ns = origin_ns + np.round(batch.onset_sec * NS_PER_SEC).astype(np.int64) - self._offset_ns
        for t, lane, vel in zip(
            t_ns.tolist(), batch.lane.tolist(), batch.velocity.tolist(), strict=True
        ):
            self._hits.put(InputHit(self._player, t, lane, vel))

    def _recall(self) -> SpeakerMemory | None:
        """The way from the speakers the last session left, if there is one to read."""
        from cymbalism.io.audio.speakers import SpeakerMemory

        if not self._memory_path.is_file():
            return None
        try:
            return SpeakerMemory.load(self._memory_path)
        except InputError as exc:
            text = f"{self._player}'s microphone: {exc}; the way is measured anew"
            self._status.put(InputStatus(self.clock.now_ns(), self.name, text, False))
            return None

    def start(self) -> None:
        self._audio.start()

    def stop(self) -> None:
        self._audio.stop()
        memory = self._audio.speaker_memory()
        if memory is None:
            return
        try:
            memory.save(self._memory_path)
        except OSError as exc:  # the session's hits are kept; only the room is not
            warnings.warn(
                f"the way from the speakers to {self.name} could not be kept for the next "
                f"session ({exc})",
                CymbalismWarning,
                stacklevel=2,
            )


# --------------------------------------------------------------------------- simulated
class SimulatedInput(Input):
    """Drummers that exist only as hits computed in advance, released as time passes.

    Parameters
    ----------
    performances : Mapping[str, Hits]
        Player -> the hits they will play, in song seconds.
    clock : Clock
    song_start_ns : int
        The clock time of song second 0.

    Notes
    -----
    A simulated hit is stamped with the time it was meant to sound, not the time the
    loop happened to collect it: that is its true arrival.
    """

    def __init__(
        self, performances: Mapping[str, Hits], *, clock: Clock, song_start_ns: int = 0
    ) -> None:
        super().__init__("simulated", clock=clock)
        events: list[tuple[int, str, int, int]] = []
        for player, hits in performances.items():
            t = song_start_ns + np.round(hits.onset_sec * 1e9).astype(np.int64)
            events.extend(
                zip(
                    t.tolist(),
                    [player] * len(hits),
                    hits.lane.tolist(),
                    hits.velocity.tolist(),
                    strict=True,
                )
            )
        events.sort(key=lambda e: e[0])
        self._events = events
        self._next = 0
        self._players = list(performances)

    @property
    def players(self) -> list[str]:
        return list(self._players)

    @property
    def remaining(self) -> int:
        """Hits not yet released."""
        return len(self._events) - self._next

    @property
    def next_ns(self) -> int | None:
        """When the next hit is due, or ``None`` when every hit has been played."""
        return self._events[self._next][0] if self._next < len(self._events) else None

    def poll(self, now_ns: int) -> list[InputHit]:
        out: list[InputHit] = []
        ev = self._events
        i = self._next
        while i < len(ev) and ev[i][0] <= now_ns:
            t, p, ln, v = ev[i]
            out.append(InputHit(p, t, ln, v))
            i += 1
        self._next = i
        return out


def merge_inputs(inputs: Iterable[Input]) -> list[str]:
    """Every player fed by ``inputs``; a player fed by two inputs is an error."""
    seen: dict[str, str] = {}
    for inp in inputs:
        for p in inp.players:
            if p in seen:
                raise InputError(f"player {p!r} is fed by two inputs ({seen[p]}, {inp.name})")
            seen[p] = inp.name
    return list(seen)
