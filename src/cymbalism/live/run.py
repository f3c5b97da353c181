"""Running a live session: who plays on which input, and the loop that feeds the engine.

A player is given as ``NAME:INPUT[:LEVEL]`` (see :func:`parse_player`). The loop
(:class:`LiveRunner`) wakes whenever a hit arrives, pushes it to the engine at once, lets
time pass (:meth:`Engine.tick`) and refreshes a view a few dozen times a second. It ends
when the song is over, when :meth:`LiveRunner.stop` is called, or on Ctrl-C; in every case
the engine finishes and everything played so far is kept.
"""

from __future__ import annotations

import math
import queue
import re
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from cymbalism.errors import DeviceError, InputError
from cymbalism.io.kits import TriggerSettings, load_kit
from cymbalism.live.clock import NS_PER_SEC, Clock, responsive
from cymbalism.live.engine import Engine, Feedback, LiveResult
from cymbalism.live.inputs import (
    DEFAULT_KEYMAPS,
    Input,
    InputHit,
    KeyboardInput,
    MidiInput,
    PortBackend,
    Route,
    SimulatedInput,
    kit_table,
)
from cymbalism.model.chart import Chart, Level
from cymbalism.model.lanes import Lane

if TYPE_CHECKING:
    from cymbalism.live.speakers import PlayedSound
    from cymbalism.store.store import Store

__all__ = [
    "HIT_SOUNDS",
    "LiveRunner",
    "PlayerSpec",
    "build_inputs",
    "parse_input",
    "parse_player",
    "played_chart",
    "simulated_performances",
    "sound_options",
    "sounding_players",
    "stored_latencies",
]

_KEYBOARD = {"keys", "keyboard", "kbd"}
_LESSON = {"lesson", "auto", "path"}
_LEVEL_NAMES = {lv.label.lower() for lv in Level} | {"full"}


@dataclass(frozen=True)
class PlayerSpec:
    """A player on the command line: ``NAME:INPUT[:LEVEL]``.

    Attributes
    ----------
    name : str
    input : str
        ``keys`` (the computer keyboard), ``sim`` / ``sim-expert`` / ``sim-beginner``
        (a simulated drummer), ``mic[=DEVICE][/KIT]`` (an acoustic kit through a
        microphone, with a kit calibrated by ``cymbalism kit calibrate``; ``@ch2`` picks
        the audio interface's input channel), or a MIDI input
        port's name (or part of it), optionally followed by ``@ch10`` (channels) or
        ``@36-51`` (a note range) to share a port.
    level : Level
    lesson : bool
        The level follows the lesson path (``LEVEL`` given as ``lesson``).
    channels, notes
        The port split, if any.
    """

    name: str
    input: str
    level: Level = Level.EXPERT
    lesson: bool = False
    channels: frozenset[int] | None = None
    notes: tuple[int, int] | None = None

    @property
    def kind(self) -> str:
        """``"keys"``, ``"sim"``, ``"mic"`` or ``"midi"``."""
        key = self.input.lower()
        if key in _KEYBOARD:
            return "keys"
        if key == "mic" or key.startswith(("mic=", "mic/")):
            return "mic"
        if key == "sim" or key.startswith("sim-"):
            return "sim"
        return "midi"

    @property
    def microphone(self) -> tuple[str | None, str]:
        """A microphone's device (None: the default) and kit (``"default"`` unless one
        was given: ``mic=DEVICE/KIT``)."""
        where, _, kit = self.input[3:].partition("/")
        return where.lstrip("=").strip() or None, kit.strip() or "default"

    @property
    def mic_channel(self) -> int:
        """A microphone's input channel, from 0 (``@ch2`` gives 1)."""
        return next(iter(self.channels)) - 1 if self.channels else 0


def heard_by(spec: PlayerSpec) -> dict[Lane, tuple[Lane, ...]]:
    """The drums a microphone player's kit cannot name, each with the drums it may name
    them (:attr:`~cymbalism.io.audio.templates.KitTemplates.heard_as`); none for other
    inputs."""
    if spec.kind != "mic":
        return {}
    from cymbalism.io.audio.templates import load_kit_templates

    return load_kit_templates(spec.microphone[1]).heard_as


def parse_player(text: str) -> PlayerSpec:
    """Parse ``NAME:INPUT[:LEVEL]``; port names may themselves contain colons.

    Examples: ``Ana:TD-11``, ``Ben:keys:beginner``, ``Ben:TD-11@ch2:lesson``,
    ``Kim:sim-expert``, ``Dae:TD-11:expert+`` (the Expert+ part: double kicks). Level
    names are case-insensitive.
    """
    name, sep, rest = text.partition(":")
    if not sep or not name.strip() or not rest.strip():
        raise InputError(
            f"a player is NAME:INPUT[:LEVEL] (such as Ana:keys:beginner), got {text!r}"
        )
    level, lesson = Level.EXPERT, False
    head, colon, last = rest.rpartition(":")
    if colon and last.strip().lower() in _LEVEL_NAMES | _LESSON:
        rest = head
        key = last.strip().lower()
        if key in _LESSON:
            level, lesson = Level.BEGINNER, True
        else:
            level = Level.parse(key)
    head_kind = PlayerSpec("x", rest.split(":")[0].split("@")[0].strip() or "x").kind
    if colon and head_kind != "midi" and rest == text.partition(":")[2] and ":" in rest:
        raise InputError(
            f"unknown level {last.strip()!r} for player {name.strip()!r}; levels: "
            + ", ".join(lv.label.lower() for lv in Level)
            + ", or lesson"
        )
    return parse_input(rest, name=name.strip(), level=level, lesson=lesson, shown=text)


def parse_input(
    text: str,
    *,
    name: str = "you",
    level: Level = Level.EXPERT,
    lesson: bool = False,
    shown: str | None = None,
) -> PlayerSpec:
    """Parse a player's ``INPUT``: a port, ``keys``, ``sim...`` or ``mic...``, with its
    split (``@ch2``, ``@36-51``); ``calibrate --input`` takes it alone. ``shown`` is the
    text errors quote (the whole ``NAME:INPUT`` for :func:`parse_player`)."""
    shown = text if shown is None else shown
    port, at, split = text.partition("@")
    channels: frozenset[int] | None = None
    notes: tuple[int, int] | None = None
    if at:
        m_ch = re.fullmatch(r"ch(\d+(?:,\d+)*)", split.strip().lower())
        m_notes = re.fullmatch(r"(\d+)-(\d+)", split.strip())
        if m_ch:
            channels = frozenset(int(c) for c in m_ch.group(1).split(","))
        elif m_notes:
            notes = (int(m_notes.group(1)), int(m_notes.group(2)))
        else:
            raise InputError(
                f"after @ give channels (@ch10, @ch1,2) or a note range (@36-51), got {split!r}"
            )
    if not port.strip():
        raise InputError(f"player {name!r} has no input")
    spec = PlayerSpec(name, port.strip(), level, lesson, channels, notes)
    if spec.kind == "mic":
        if notes or (channels and len(channels) != 1):
            raise InputError(f"a microphone takes one input channel, such as mic@ch2 ({shown!r})")
    elif (channels or notes) and spec.kind != "midi":
        raise InputError(f"only a MIDI port can be split by channel or notes ({shown!r})")
    Route(spec.name, channels, notes)  # validates the split
    return spec


def played_chart(chart: Chart, bars: Sequence[int]) -> Chart:
    """The chart as the session plays it: ``bars`` (from 0, a loop repeating some) one after
    another, each with its notes, tempo and time signature, from quarter note 0."""
    from cymbalism.model.chart import Part
    from cymbalism.model.tempo import TempoMap

    tm = chart.tempo_map
    parts: dict[Level, list[Any]] = {lv: [] for lv in chart.part_levels}
    tempos: list[tuple[float, float]] = []
    sigs: list[tuple[float, int, int]] = []
    sections: list[tuple[float, str]] = []
    at = 0.0
    for bar in bars:
        q0 = float(tm.bar_to_qn(bar))
        q1 = min(float(tm.bar_to_qn(bar + 1)), max(chart.end_qn, q0))
        change = np.asarray(tm.change_qn)
        inside = [(at, float(tm.bpm_at(np.float64(q0))))] + [
            (at + float(q) - q0, float(b))
            for q, b in zip(change, tm.bpm, strict=True)
            if q0 < q < q1
        ]
        for q, b in inside:
            if not tempos or tempos[-1][1] != b:
                tempos.append((q, b))
        i = int(np.searchsorted(tm.ts_qn, q0, side="right") - 1)
        sig = (at, int(tm.ts_num[i]), int(tm.ts_den[i]))
        if not sigs or sigs[-1][1:] != sig[1:]:
            sigs.append(sig)
        sections.append((at, chart.section_at(q0)))
        for lv in chart.part_levels:
            notes = chart.part(lv).between(q0, q1)
            parts[lv].append((notes.qn - q0 + at, notes.lane, notes.velocity))
        at += q1 - q0
    out = {}
    for lv, pieces in parts.items():
        if pieces:
            out[lv] = Part.from_arrays(
                np.concatenate([p[0] for p in pieces]),
                np.concatenate([p[1] for p in pieces]),
                np.concatenate([p[2] for p in pieces]),
            )
    return Chart(
        chart.title,
        TempoMap(tempos, sigs),
        out,
        sections=tuple(sections),
        end_qn=at,
        artist=chart.artist,
    )


def simulated_performances(
    chart: Chart, specs: Sequence[PlayerSpec], *, seed: int = 0
) -> dict[str, Any]:
    """The hits of every simulated player, played as a duet by :mod:`cymbalism.simulate`.

    ``chart`` is the song as the session plays it (:func:`played_chart`: a loop's bars
    one after another, at the practice tempo), so the drummers play the bars the
    session lays out."""
    from cymbalism.simulate import BEGINNER, EXPERT, simulate_duet

    sims = [s for s in specs if s.kind == "sim"]
    if not sims:
        return {}

    def model(s: PlayerSpec) -> Any:
        key = s.input.lower()
        if key == "sim-beginner" or (key == "sim" and s.level <= Level.EASY):
            return BEGINNER
        if key in {"sim", "sim-expert"}:
            return EXPERT
        raise InputError(f"unknown simulated drummer {s.input!r}; use sim-expert or sim-beginner")

    a = sims[0]
    b = sims[1] if len(sims) > 1 else sims[0]
    hits_a, hits_b = simulate_duet(
        chart, model(a), model(b), level_a=a.level, level_b=b.level, seed=seed
    )
    out = {a.name: hits_a}
    if len(sims) > 1:
        out[b.name] = hits_b
    if len(sims) > 2:
        raise InputError("at most two simulated drummers")
    return out


def build_inputs(
    specs: Sequence[PlayerSpec],
    *,
    clock: Clock,
    sink: queue.SimpleQueue[InputHit],
    chart: Chart | None = None,
    song_start_ns: int = 0,
    backend: PortBackend | None = None,
    offsets: Mapping[str, float] | None = None,
    kit: str | None = None,
    keyboard_fd: int | None = None,
    seed: int = 0,
    speakers: PlayedSound | None = None,
) -> list[Input]:
    """One input per device: players on the same MIDI port share it, split by route.

    ``speakers`` is what the session's sound output plays: microphones hear it too, and
    take it out (:mod:`cymbalism.live.speakers`)."""
    offsets = offsets or {}
    inputs: list[Input] = []
    keys = [s for s in specs if s.kind == "keys"]
    if len(keys) > len(DEFAULT_KEYMAPS):
        raise InputError(f"the keyboard has pads for {len(DEFAULT_KEYMAPS)} players at most")
    if keys:
        inputs.append(
            KeyboardInput(
                {s.name: DEFAULT_KEYMAPS[i] for i, s in enumerate(keys)},
                clock=clock,
                fd=keyboard_fd,
                offset_sec=offsets.get("keyboard", 0.0),
                sink=sink,
            )
        )
    midi = [s for s in specs if s.kind == "midi"]
    if midi:
        if backend is None:
            from cymbalism.live.inputs import MidoBackend

            backend = MidoBackend()
        from cymbalism.live.inputs import find_port

        names = backend.input_names()
        by_port: dict[str, list[PlayerSpec]] = {}
        for s in midi:
            by_port.setdefault(find_port(s.input, names), []).append(s)
        table = kit_table(kit)
        trigger = load_kit(kit).trigger if kit is not None else TriggerSettings()
        for port, group in by_port.items():
            if len(group) > 1 and any(s.channels is None and s.notes is None for s in group):
                who = ", ".join(s.name for s in group)
                raise InputError(
                    f"{who} share the port {port!r}: split it by channel (@ch1, @ch2) "
                    "or note range (@35-50)"
                )
            routes = [Route(s.name, s.channels, s.notes, table, trigger) for s in group]
            inputs.append(
                MidiInput(
                    port,
                    routes,
                    clock=clock,
                    backend=backend,
                    offset_sec=offsets.get(port, 0.0),
                    sink=sink,
                )
            )
    for s in specs:
        if s.kind == "mic":
            from cymbalism.live.inputs import MicInput, mic_calibration_name

            device, audio_kit = s.microphone
            inputs.append(
                MicInput(
                    s.name,
                    clock=clock,
                    device=device,
                    channel=s.mic_channel,
                    kit=audio_kit,
                    offset_sec=offsets.get(mic_calibration_name(device), 0.0),
                    sink=sink,
                    speakers=speakers,
                )
            )
    if any(s.kind == "sim" for s in specs):
        if chart is None:
            raise InputError("a simulated drummer needs the song")
        perf = simulated_performances(chart, specs, seed=seed)
        inputs.append(SimulatedInput(perf, clock=clock, song_start_ns=song_start_ns))
    return inputs


class LiveRunner:
    """The loop of a live session.

    Parameters
    ----------
    engine : Engine
    inputs : sequence of Input
        Already built, sharing ``sink``; started and stopped by :meth:`run`.
    sink : queue.SimpleQueue
        The queue every threaded input puts its hits on.
    on_frame : callable, optional
        Called with :meth:`Engine.snapshot` about ``fps`` times a second.
    on_feedback : callable, optional
        Called with every :class:`Feedback` (judgements and misses) as it happens.
    fps : float
    tail_sec : float
        How long the loop runs on after the last bar (the last notes' windows).
    max_sec : float, optional
        Stop at this song second (the figures then cover the song up to there).
    sounding : frozenset of str
        Players whose strokes the output sounds (keyboard and simulated players by
        default; see :func:`sounding_players`).
    """

    def __init__(
        self,
        engine: Engine,
        inputs: Sequence[Input],
        *,
        sink: queue.SimpleQueue[InputHit],
        on_frame: Callable[[dict[str, Any]], None] | None = None,
        on_feedback: Callable[[Feedback], None] | None = None,
        fps: float = 20.0,
        tail_sec: float = 0.5,
        max_sec: float | None = None,
        sounding: frozenset[str] = frozenset(),
    ) -> None:
        self.engine = engine
        self.sounding = sounding
        self.inputs = list(inputs)
        self.sink = sink
        self.on_frame = on_frame
        self.on_feedback = on_feedback
        self.frame_ns = round(NS_PER_SEC / fps)
        self.tail_sec = tail_sec
        self.max_sec = max_sec
        self._stop = threading.Event()
        self.interrupted = False
        self.began = False  # every input opened: the session is under way

    def stop(self) -> None:
        """End the session at the next turn of the loop (from any thread)."""
        self._stop.set()

    def _handle(self, hit: InputHit) -> None:
        fb = self.engine.push_hit(hit.player, hit.lane, hit.velocity, t_ns=hit.t_ns)
        if hit.player in self.sounding:
            strike = getattr(self.engine.output, "strike", None)
            if strike is not None:
                strike(hit.player, hit.lane, hit.velocity, t_ns=hit.t_ns)
        if self.on_feedback is not None:
            self.on_feedback(fb)

    def step(self, now_ns: int) -> None:
        """One turn of the loop at ``now_ns``: collect hits, let time pass, read statuses."""
        for inp in self.inputs:
            if isinstance(inp, SimulatedInput):
                for hit in inp.poll(now_ns):
                    self._handle(hit)
        while True:
            try:
                hit = self.sink.get_nowait()
            except queue.Empty:
                break
            self._handle(hit)
        for fb in self.engine.tick(t_ns=now_ns):
            if self.on_feedback is not None:
                self.on_feedback(fb)
        for inp in self.inputs:
            for st in inp.status():
                self.engine.say(st.text)
                if isinstance(inp, MidiInput):
                    # A kit whose port vanished has left until the port comes back.
                    for player in inp.players:
                        if not inp.connected:
                            self.engine.player_left(player, t_ns=st.t_ns)
                        else:
                            self.engine.player_rejoined(player, t_ns=st.t_ns)
            if isinstance(inp, KeyboardInput):
                while True:
                    try:
                        key = inp.commands.get_nowait()
                    except queue.Empty:
                        break
                    if key in {"q", "\x1b"}:
                        self.stop()

    def over(self, now_ns: int) -> bool:
        """Whether the song and its last notes' windows are past."""
        end = self.engine.end_sec
        grace = self.engine.settings.window_sec + self.engine.options.grace_sec + self.tail_sec
        return math.isfinite(end) and self.engine.song_sec(now_ns) > end + grace

    def run(self) -> LiveResult:
        """Run until the song ends, :meth:`stop`, or Ctrl-C; always finish the engine."""
        with responsive(realtime=self.engine.clock.realtime):
            return self._run()

    def _run(self) -> LiveResult:
        clock = self.engine.clock
        started: list[Input] = []
        try:
            for inp in self.inputs:
                inp.start()
                started.append(inp)
            self.engine.output.start()
            self.began = True
            next_frame = clock.now_ns()
            while not self._stop.is_set():
                now = clock.now_ns()
                self.step(now)
                if now >= next_frame:
                    if self.on_frame is not None:
                        self.on_frame(self.engine.snapshot(t_ns=now))
                    next_frame = now + self.frame_ns
                if self.over(now) or (
                    self.max_sec is not None and self.engine.song_sec(now) >= self.max_sec
                ):
                    break
                wake = next_frame
                for inp in self.inputs:
                    if isinstance(inp, SimulatedInput) and inp.next_ns is not None:
                        wake = min(wake, inp.next_ns)
                wait = (wake - clock.now_ns()) / NS_PER_SEC
                if wait > 0 and not clock.realtime:
                    clock.sleep_until(wake)
                elif wait > 0:
                    try:  # wakes at once when a hit arrives
                        self._handle(self.sink.get(timeout=wait))
                    except queue.Empty:
                        pass
        except KeyboardInterrupt:
            self.interrupted = True
            self.engine.say("stopped (Ctrl-C); everything played so far is kept")
        finally:
            for inp in started:
                inp.stop()
            self.engine.output.stop()
        # Hits that arrived while stopping are still judged and kept.
        now = clock.now_ns()
        self.step(now)
        if self.over(now):
            return self.engine.finish()
        return self.engine.finish(until_sec=self.engine.song_sec(now))


def summarize_for_store(result: LiveResult) -> tuple[dict[str, Any], Any]:
    """The figures the store keeps with a session, from the result's report."""
    from cymbalism.store.store import DuetSummary, PlayerSummary

    players = {
        p.name: PlayerSummary.of(
            p.stats,
            n_hits=len(result.session.player(p.name).hits),
            level_reached=max(lv for _, lv in result.levels[p.name]),
        )
        for p in result.report.players
    }
    pair = result.report.sync
    duet = (
        None
        if pair is None
        else DuetSummary.of(pair.stats, came_together_sec=pair.came_together_sec)
    )
    return players, duet


@dataclass
class LiveSetup:
    """Everything a live session needs besides the song, as the front ends gather it.

    Attributes
    ----------
    specs : list of PlayerSpec
    settings : Settings
    options : LiveOptions
    click : str
        ``"audio"`` (the sound device), ``"none"``, or a MIDI output port's name.
    gains : Mapping[str, float], optional
        The mixer's channel gains (``--mix``).
    hit_sounds : str
        Whose strokes are heard (``--hit-sounds``, see :func:`sounding_players`).
    song_audio : cymbalism.sound.audio.SongAudio, optional
        The song's recording, played bar by bar with the click.
    kit : str, optional
        The e-kit note map of the MIDI inputs.
    api : str, optional
        The rtmidi API (``LINUX_ALSA``, ``UNIX_JACK``).
    store_url : str, optional
        Where the session is recorded (the default store when None); ``"none"`` keeps
        it in memory only.
    seed : int
        For simulated drummers.
    max_sec : float, optional
        Stop after this many song seconds.
    """

    specs: list[PlayerSpec]
    settings: Any
    options: Any
    click: str = "audio"
    kit: str | None = None
    api: str | None = None
    store_url: str | None = None
    seed: int = 0
    max_sec: float | None = None
    gains: Mapping[str, float] | None = None
    hit_sounds: str = "own"
    song_audio: Any = None


#: ``--hit-sounds``: whose strokes the sound device plays.
HIT_SOUNDS = ("own", "all", "off")


def sounding_players(specs: Sequence[PlayerSpec], hit_sounds: str = "own") -> frozenset[str]:
    """The players whose strokes are heard from the sampled kit.

    ``own``: those whose input makes no sound of its own (computer keys, simulated
    drummers); an e-kit's module is left alone. ``all``: e-kits too. ``off``: nobody.
    An acoustic kit (``mic``) is heard in the room and never doubled.
    """
    if hit_sounds not in HIT_SOUNDS:
        raise InputError(f"--hit-sounds is one of {', '.join(HIT_SOUNDS)}, got {hit_sounds!r}")
    kinds = {"own": {"keys", "sim"}, "all": {"keys", "sim", "midi"}, "off": set()}[hit_sounds]
    return frozenset(s.name for s in specs if s.kind in kinds)


def _on_microphones(specs: Sequence[PlayerSpec]) -> bool:
    """Whether a player is on a microphone."""
    return any(s.kind == "mic" for s in specs)


def sound_options(setup: LiveSetup, chart: Chart) -> dict[str, Any]:
    """The session's options for the sound output
    (:class:`~cymbalism.live.metronome.AudioOutput`): in mono when a player is on a
    microphone, which hears the speakers."""
    return {
        "gains": setup.gains,
        "players": [s.name for s in setup.specs],
        "audio": setup.song_audio,
        "chart_map": chart.tempo_map,
        "tempo_scale": setup.settings.tempo_scale,
        "mono": _on_microphones(setup.specs),
    }


def stored_latencies(
    store: Store, specs: Sequence[PlayerSpec], backend: PortBackend | None = None
) -> dict[str, float]:
    """Each input's latency as ``cymbalism calibrate`` kept it, by the name
    :func:`build_inputs` looks it up under: a MIDI port's own name (found through
    ``backend``), ``keyboard``, or a microphone's device
    (:func:`~cymbalism.live.inputs.mic_calibration_name`). Inputs never calibrated are
    left out."""
    from cymbalism.live.inputs import find_port, mic_calibration_name

    names = ["keyboard"]
    for s in specs:
        if s.kind == "mic":
            names.append(mic_calibration_name(s.microphone[0]))
        elif s.kind == "midi" and backend is not None:
            names.append(find_port(s.input, backend.input_names()))
    out: dict[str, float] = {}
    for name in names:
        offset = store.calibration(name)
        if offset is not None:
            out[name] = offset
    return out


def _kept_aside(exc: DeviceError) -> None:
    """Say that the database refused a session's end, which is kept in a file."""
    from cymbalism.store.store import StoreWarning

    warnings.warn(str(exc), StoreWarning, stacklevel=3)


def run_live(
    chart: Chart,
    setup: LiveSetup,
    *,
    clock: Clock | None = None,
    backend: PortBackend | None = None,
    on_frame: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[Engine], None] | None = None,
) -> tuple[LiveResult, int | None]:
    """Play ``chart`` live with the players of ``setup``; return the result and session id.

    Every hit goes to the store as it arrives (committed every 100 ms), so a crash loses
    at most the last tenth of a second and Ctrl-C loses nothing.
    """
    from cymbalism.live.clock import MonotonicClock
    from cymbalism.live.metronome import open_output
    from cymbalism.model.session import Player

    clock = clock or MonotonicClock()
    sink: queue.SimpleQueue[InputHit] = queue.SimpleQueue()
    store = None
    offsets: dict[str, float] = {}
    if setup.store_url != "none":
        from cymbalism.store.store import Store

        store = Store(setup.store_url)
        store.recover_unsaved()
    needs_midi = any(s.kind == "midi" for s in setup.specs)
    if needs_midi and backend is None:
        from cymbalism.live.inputs import MidoBackend

        backend = MidoBackend(setup.api)
    if store is not None:
        offsets = stored_latencies(store, setup.specs, backend)
    output = open_output(
        clock,
        audio=setup.click == "audio",
        midi_port=None if setup.click in {"audio", "none"} else setup.click,
        backend=backend,
        sound=sound_options(setup, chart),
    )
    if _on_microphones(setup.specs):  # seconds, the first time: not on the clock
        from cymbalism.live.microphone import warm_up

        warm_up()
    start_ns = clock.now_ns() + NS_PER_SEC // 2  # half a second to get ready
    players = []
    for s in setup.specs:
        port = s.input
        players.append(Player(s.name, level=s.level, input=port))
    options = setup.options
    lesson = tuple(s.name for s in setup.specs if s.lesson)
    if lesson:
        options = replace(options, lesson_players=lesson)
    heard = {s.name: heard_by(s) for s in setup.specs if s.kind == "mic"}
    if any(heard.values()):  # a microphone's kit with no ride: the part names the ride
        options = replace(options, heard_as={n: h for n, h in heard.items() if h})
    writer = None
    if store is not None:
        writer = store.start_session(
            chart,
            players,
            settings=setup.settings,
            source="live",
            flush_ms=100.0,
            flush_hits=1_000_000,
        )
    runner: LiveRunner | None = None
    try:
        engine = Engine(
            chart,
            players,
            setup.settings,
            clock,
            writer,
            output=output,
            options=options,
            start_ns=start_ns,
        )
        if getattr(output, "mono", False):
            engine.say("the speakers play in mono: the microphones hear them by one way")
        inputs = build_inputs(
            setup.specs,
            clock=clock,
            sink=sink,
            chart=played_chart(engine.chart, engine.planned_bars).scaled(
                setup.settings.tempo_scale
            ),
            song_start_ns=engine.zero_ns,
            backend=backend,
            offsets=offsets,
            kit=setup.kit,
            seed=setup.seed,
            speakers=getattr(output, "played", None),
        )
        runner = LiveRunner(
            engine,
            inputs,
            sink=sink,
            on_frame=on_frame,
            max_sec=setup.max_sec,
            sounding=sounding_players(setup.specs, setup.hit_sounds),
        )
        if on_start is not None:
            on_start(engine)
        result = runner.run()
    except BaseException:
        if writer is not None:
            try:
                writer.close()  # keeps what was played; the session stays "cut short"
            except DeviceError as exc:
                _kept_aside(exc)
            if store is not None and (runner is None or not runner.began):
                store.delete(writer.session_id)  # it never started: nothing to keep
        raise
    session_id = None
    if writer is not None and store is not None:
        session_id = writer.session_id
        try:
            writer.finish()
        except DeviceError as exc:  # the end is kept in a file; say where, show the result
            _kept_aside(exc)
        else:
            players_sum, duet = summarize_for_store(result)
            store.save_summary(session_id, players_sum, duet)
    return result, session_id
