"""Live inputs with a fake MIDI system at the port boundary, and the keyboard through a pipe."""

from __future__ import annotations

import os
import queue
import time

import mido
import numpy as np
import pytest

from cymbalism.analysis.align import align
from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.kits import TriggerSettings
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import Engine
from cymbalism.live.inputs import (
    DEFAULT_KEYMAPS,
    KeyboardInput,
    MidiInput,
    Route,
    RtMidiPort,
    SimulatedInput,
    TriggerFilter,
    find_port,
    kit_table,
)
from cymbalism.live.run import LiveRunner, build_inputs, parse_player
from cymbalism.model.chart import Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import LANE_TO_GM_NOTE, Lane
from cymbalism.model.session import Player, Settings
from tests.live.test_engine import groove_chart, perform


class FakePort:
    """A mido-style input port: the test plays notes into its callback."""

    def __init__(self, name: str, callback) -> None:
        self.name = name
        self.callback = callback
        self.closed = False

    def play(self, note: int, velocity: int = 100, channel: int = 9) -> None:
        if not self.closed:
            self.callback(mido.Message("note_on", note=note, velocity=velocity, channel=channel))

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """The MIDI system: which ports exist now, and opening them."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self.opened: list[FakePort] = []

    def input_names(self) -> list[str]:
        return list(self.names)

    def output_names(self) -> list[str]:
        return []

    def open_input(self, name: str, callback) -> FakePort:
        assert name in self.names
        port = FakePort(name, callback)
        self.opened.append(port)
        return port

    def open_output(self, name: str):
        raise AssertionError("no outputs")


def test_find_port_by_name_not_number() -> None:
    names = ["Midi Through:Midi Through Port-0 14:0", "TD-17:TD-17 MIDI 1 24:0"]
    assert find_port("td-17", names) == names[1]
    assert find_port(names[0], names) == names[0]
    with pytest.raises(NotFoundError, match=r"no MIDI input port matches 'nitro'.*TD-17"):
        find_port("nitro", names)
    with pytest.raises(InputError, match="several"):
        find_port("midi", names)


def test_hits_are_stamped_on_arrival_minus_latency_and_routed_by_channel() -> None:
    clock = FakeClock(1_000_000_000)
    backend = FakeBackend(["TD-17 MIDI 1"])
    inp = MidiInput(
        "td-17",
        [Route("Ana", channels=frozenset({1})), Route("Ben", channels=frozenset({2}))],
        clock=clock,
        backend=backend,
        offset_sec=0.004,
    )
    inp.start(watch_sec=None)
    port = backend.opened[0]
    clock.advance(0.5)
    port.play(38, 90, channel=0)  # Ana's snare
    clock.advance(0.25)
    port.play(36, 70, channel=1)  # Ben's kick
    port.play(38, 0, channel=1)  # a note-on with velocity 0 is a note-off
    port.play(38, 50, channel=5)  # nobody's channel
    port.callback(mido.Message("control_change", control=4, value=10))
    hits = inp.poll(clock.now_ns())
    assert [(h.player, h.lane, h.velocity) for h in hits] == [
        ("Ana", Lane.SNARE, 90),
        ("Ben", Lane.KICK, 70),
    ]
    assert [h.t_ns for h in hits] == [1_496_000_000, 1_746_000_000]


def test_two_players_on_one_port_by_note_range_and_a_kit_map() -> None:
    clock = FakeClock()
    backend = FakeBackend(["Nitro"])
    table = kit_table("alesis nitro")
    routes = [Route("Low", notes=(0, 40), table=table), Route("High", notes=(41, 127), table=table)]
    inp = MidiInput("nitro", routes, clock=clock, backend=backend)
    inp.start(watch_sec=None)
    backend.opened[0].play(36)
    backend.opened[0].play(49)
    assert [(h.player, Lane(h.lane)) for h in inp.poll(0)] == [
        ("Low", Lane.KICK),
        ("High", Lane.CRASH),
    ]


def test_port_lost_and_back_mid_song_keeps_the_session_and_its_hits() -> None:
    chart = groove_chart(bars=8)
    clock = FakeClock()
    sink: queue.SimpleQueue = queue.SimpleQueue()
    backend = FakeBackend(["TD-17 MIDI 1", "Nitro MIDI 1"])
    specs = [parse_player("Ana:td-17"), parse_player("Ben:nitro")]
    inputs = build_inputs(specs, clock=clock, sink=sink, backend=backend)
    engine = Engine(
        chart, [Player("Ana"), Player("Ben")], Settings(count_in_bars=0), clock, start_ns=0
    )
    runner = LiveRunner(engine, inputs, sink=sink)
    for inp in inputs:
        inp.start(watch_sec=None)
    ports = {p.name: p for p in backend.opened}
    targets = chart.targets()
    played = {"Ana": [], "Ben": []}
    lost_at, back_at = 5.0, 9.0
    for t, lane in zip(targets.onset_sec, targets.lane, strict=True):
        clock.set_ns(max(clock.now_ns(), engine.sec_to_ns(t)))
        if lost_at <= t < back_at and "TD-17 MIDI 1" in backend.names:
            backend.names.remove("TD-17 MIDI 1")  # Ana's kit is unplugged
            assert inputs[0].check() is None  # one listing without it may be a busy system
            assert inputs[0].check() is not None  # the second says it is gone
        if back_at <= t and "TD-17 MIDI 1" not in backend.names:
            backend.names.append("TD-17 MIDI 1")
            inputs[0].check()
            ports["TD-17 MIDI 1"] = backend.opened[-1]
        note = {Lane.KICK: 36, Lane.SNARE: 38, Lane.HIHAT_CLOSED: 42}[Lane(int(lane))]
        for name, port in (("Ana", ports["TD-17 MIDI 1"]), ("Ben", ports["Nitro MIDI 1"])):
            if not port.closed:
                port.play(note)
                played[name].append(t)
        runner.step(clock.now_ns())
    result = runner.engine.finish()
    msgs = " | ".join(result.messages)
    assert "'TD-17 MIDI 1' disconnected" in msgs and "'TD-17 MIDI 1' is back" in msgs
    ana = result.session.player("Ana").hits
    ben = result.session.player("Ben").hits
    assert len(ana) == len(played["Ana"]) and len(ben) == len(targets)
    # Ana left while her kit was unplugged: those notes are neither hit nor missed
    assert result.session.player("Ana").present == ((-np.inf, lost_at), (back_at, np.inf))
    gap = (targets.onset_sec >= lost_at) & (targets.onset_sec < back_at)
    assert gap.sum() > 0
    assert result.timing["Ana"].n_notes == len(targets) - int(gap.sum())
    assert result.timing["Ana"].n_miss == result.timing["Ben"].n_miss == 0
    assert "Ana left at 0:05" in msgs and "Ana is back at 0:09" in msgs
    assert result.alignments["Ana"] == align(ana, targets.select(~gap))
    assert inputs[0].losses == 1 and inputs[0].connected


def test_unplugged_at_the_start_is_a_clear_error() -> None:
    sink: queue.SimpleQueue = queue.SimpleQueue()
    with pytest.raises(NotFoundError, match="no MIDI input port matches 'td-17'"):
        build_inputs(
            [parse_player("Ana:td-17")],
            clock=FakeClock(),
            sink=sink,
            backend=FakeBackend(["Nitro"]),
        )


def test_players_sharing_a_port_must_be_split() -> None:
    sink: queue.SimpleQueue = queue.SimpleQueue()
    with pytest.raises(InputError, match="split it by channel"):
        build_inputs(
            [parse_player("A:nitro"), parse_player("B:nitro")],
            clock=FakeClock(),
            sink=sink,
            backend=FakeBackend(["Nitro"]),
        )
    inputs = build_inputs(
        [parse_player("A:nitro@ch1"), parse_player("B:nitro@ch2:beginner")],
        clock=FakeClock(),
        sink=sink,
        backend=FakeBackend(["Nitro"]),
    )
    assert len(inputs) == 1 and inputs[0].players == ["A", "B"]


def test_parse_player() -> None:
    p = parse_player("Ana:TD-17:TD-17 MIDI 1 24:0:hard")
    assert (p.name, p.input, p.level, p.kind) == (
        "Ana",
        "TD-17:TD-17 MIDI 1 24:0",
        Level.HARD,
        "midi",
    )
    p = parse_player("Ben:keys:lesson")
    assert p.kind == "keys" and p.lesson and p.level is Level.BEGINNER
    p = parse_player("Kim:nitro@36-51")
    assert p.notes == (36, 51)
    assert parse_player("Sim:sim-expert").kind == "sim"
    for bad in ("Ana", "Ana:", ":keys", "Ana:keys@ch1", "Ana:td@ch17", "Ana:td@xyz"):
        with pytest.raises(InputError):
            parse_player(bad)


def test_keyboard_pads_from_a_terminal_stream() -> None:
    clock = FakeClock(7_000_000_000)
    r, w = os.pipe()
    kb = KeyboardInput(
        {"A": DEFAULT_KEYMAPS[0], "B": DEFAULT_KEYMAPS[1]}, clock=clock, fd=r, offset_sec=0.002
    )
    kb.start()
    try:
        os.write(w, b"zx,q")
        deadline = time.monotonic() + 5.0
        hits = []
        while len(hits) < 3 and time.monotonic() < deadline:
            hits += kb.poll(0)
            time.sleep(0.01)
    finally:
        kb.stop()
        os.close(r)
        os.close(w)
    assert [(h.player, Lane(h.lane)) for h in hits] == [
        ("A", Lane.KICK),
        ("A", Lane.SNARE),
        ("B", Lane.SNARE),
    ]
    assert all(h.t_ns == 6_998_000_000 for h in hits)
    assert kb.commands.get_nowait() == "q"
    with pytest.raises(InputError, match="two players"):
        KeyboardInput({"A": {"z": Lane.KICK}, "B": {"z": Lane.SNARE}}, clock=clock)


def test_simulated_input_releases_hits_when_due() -> None:
    clock = FakeClock()
    hits = Hits.from_arrays([0.5, 1.0, 1.5], Lane.SNARE)
    sim = SimulatedInput({"A": hits}, clock=clock, song_start_ns=2_000_000_000)
    assert sim.poll(2_400_000_000) == []
    assert [h.t_ns for h in sim.poll(3_000_000_000)] == [2_500_000_000, 3_000_000_000]
    assert sim.next_ns == 3_500_000_000 and sim.remaining == 1


def test_runner_plays_a_simulated_duet_through_the_engine_to_the_end() -> None:
    chart = groove_chart(bars=4)
    clock = FakeClock()
    sink: queue.SimpleQueue = queue.SimpleQueue()
    engine = Engine(chart, [Player("A"), Player("B")], Settings(), clock, start_ns=0)
    t = chart.targets()
    perf = {
        "A": perform(t, seed=1, bias_sec=0, sd_sec=0.01),
        "B": perform(t, seed=2, bias_sec=0.01, sd_sec=0.02),
    }
    sim = SimulatedInput(perf, clock=clock, song_start_ns=engine.zero_ns)
    frames = []
    runner = LiveRunner(engine, [sim], sink=sink, on_frame=frames.append)
    result = runner.run()  # the fake clock jumps from wake-up to wake-up
    assert result.alignments["A"] == align(
        Hits(np.round(perf["A"].onset_sec * 1e9) / 1e9, perf["A"].lane, perf["A"].velocity), t
    )
    assert frames and frames[0]["bar"] == 0 and frames[-1]["bar"] == 4
    assert len(result.session.player("B").hits) == len(perf["B"])


# --------------------------------------------------------------------------- trigger filter
def _strokes(seed: int) -> Hits:
    """A groove as a drummer plays it on an e-kit: every note, with flams on the snare
    (a soft grace note 30 ms before the backbeat) and the hi-hat under every snare."""
    t = groove_chart(bars=8).targets()
    played = perform(t, seed=seed, bias_sec=0.0, sd_sec=0.004, miss=0.0, extra=0.0)
    snare = played.select(played.lane == Lane.SNARE)
    flams = Hits(snare.onset_sec - 0.030, snare.lane, np.full(len(snare), 35, np.int16))
    return Hits.concat([played, flams])


def _play_through(inp: MidiInput, backend: FakeBackend, clock: FakeClock, notes: Hits) -> Hits:
    """Every note to the port at its time (song seconds from clock 0); what came out."""
    note_of = {lane: note for lane, note in LANE_TO_GM_NOTE.items()}
    inp.start(watch_sec=None)
    port = backend.opened[-1]
    for t, lane, vel in zip(notes.onset_sec, notes.lane, notes.velocity, strict=True):
        clock.set_ns(round(float(t) * 1e9))
        port.play(note_of[Lane(int(lane))], int(vel))
    got = inp.poll(clock.now_ns())
    return Hits.from_arrays(
        [h.t_ns / 1e9 for h in got], [h.lane for h in got], [h.velocity for h in got]
    )


def test_the_trigger_filter_drops_double_triggers_and_crosstalk_and_nothing_else() -> None:
    rng = np.random.default_rng(7)
    strokes = _strokes(3)
    strokes = Hits.from_arrays(
        np.round(strokes.onset_sec, 6) + 1.0, strokes.lane, strokes.velocity
    )  # from 1 s, to the microsecond, as the fake clock stamps them
    # a pad triggering twice: the same pad again, 0.3-7.5 ms later (below the 8 ms mask)
    twice = rng.random(len(strokes)) < 0.3
    doubles = Hits(
        strokes.onset_sec[twice] + np.round(rng.uniform(0.0003, 0.0075, twice.sum()), 6),
        strokes.lane[twice],
        rng.integers(1, 128, twice.sum()).astype(np.int16),
    )
    # a hand stroke sounding faintly on the pad beside it, 0.2-3.8 ms later
    hands = ~np.isin(strokes.lane, [Lane.KICK, Lane.HIHAT_PEDAL]) & (rng.random(len(strokes)) < 0.3)
    beside = {Lane.SNARE: Lane.TOM_HIGH, Lane.HIHAT_CLOSED: Lane.SNARE, Lane.TOM_HIGH: Lane.SNARE}
    cross_lane = np.asarray([beside.get(Lane(int(x)), Lane.RIDE) for x in strokes.lane[hands]])
    crosstalk = Hits(
        strokes.onset_sec[hands] + np.round(rng.uniform(0.0002, 0.0038, hands.sum()), 6),
        cross_lane.astype(np.int8),
        np.maximum(1, np.floor(strokes.velocity[hands] * 0.15)).astype(np.int16),
    )
    assert len(doubles) > 20 and len(crosstalk) > 20
    clock = FakeClock()
    backend = FakeBackend(["TD-17 MIDI 1"])
    inp = MidiInput("td-17", [Route("Ana")], clock=clock, backend=backend)
    got = _play_through(inp, backend, clock, Hits.concat([strokes, doubles, crosstalk]))
    # every stroke, at its time to the nanosecond, and nothing else
    assert np.array_equal(np.round(got.onset_sec * 1e9), np.round(strokes.onset_sec * 1e9))
    assert np.array_equal(got.lane, strokes.lane)
    assert np.array_equal(got.velocity, strokes.velocity)
    f = inp.filters["Ana"]
    assert f.dropped_retrigger + f.dropped_crosstalk == len(doubles) + len(crosstalk)

    # with the filter off (a kit file's [filter] of zeros) every note comes through
    clock = FakeClock()
    backend = FakeBackend(["TD-17 MIDI 1"])
    off = TriggerSettings(retrigger_mask_ms=0, crosstalk_ms=0)
    inp = MidiInput("td-17", [Route("Ana", trigger=off)], clock=clock, backend=backend)
    everything = Hits.concat([strokes, doubles, crosstalk])
    assert len(_play_through(inp, backend, clock, everything)) == len(everything)


def test_the_trigger_filter_keeps_what_a_drummer_plays() -> None:
    f = TriggerFilter()
    ms = 1_000_000
    # a flam (20 ms), a fast roll (12 ms apart), a ghost note at 20% beside an accent,
    # kick and hi-hat pedal with a crash, a unison of two hands
    notes = [
        (0, Lane.SNARE, 40),
        (20 * ms, Lane.SNARE, 110),
        (32 * ms, Lane.SNARE, 90),
        (44 * ms, Lane.SNARE, 90),
        (100 * ms, Lane.CRASH, 127),
        (101 * ms, Lane.SNARE, 26),
        (102 * ms, Lane.KICK, 10),
        (102 * ms, Lane.HIHAT_PEDAL, 5),
        (200 * ms, Lane.TOM_HIGH, 100),
        (200 * ms, Lane.TOM_FLOOR, 100),
    ]
    assert all(f.accept(t, int(lane), v) for t, lane, v in notes)
    # ... while a bounce on the floor tom and a faint copy on the ride are dropped
    assert not f.accept(205 * ms, int(Lane.TOM_FLOOR), 60)
    assert not f.accept(203 * ms, int(Lane.RIDE), 15)
    assert (f.dropped_retrigger, f.dropped_crosstalk) == (1, 1)


def test_a_kit_files_filter_reaches_its_players(tmp_path) -> None:
    path = tmp_path / "mesh.toml"
    path.write_text('[notes]\n38 = "snare"\n[filter]\nretrigger_mask_ms = 3\n')
    sink: queue.SimpleQueue = queue.SimpleQueue()
    (inp,) = build_inputs(
        [parse_player("Ana:td-17")],
        clock=FakeClock(),
        sink=sink,
        backend=FakeBackend(["TD-17 MIDI 1"]),
        kit=str(path),
    )
    assert isinstance(inp, MidiInput)
    assert inp.filters["Ana"].settings == TriggerSettings(retrigger_mask_ms=3)


# --------------------------------------------------------------------------- rtmidi's queue
class FakeRtMidiIn:
    """python-rtmidi's MidiIn with no callback set: messages wait in its queue, each with
    the time since the one before, until read (the C++ side is where they arrive)."""

    def __init__(self, api: int, name: str = "", queue_size_limit: int = 1024) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.open = False

    def get_ports(self) -> list[str]:
        return ["kitA"]

    def ignore_types(self, **kw) -> None:
        pass

    def open_port(self, index: int, name: str) -> None:
        self.open = True

    def arrive(self, data: list[int], delta_sec: float) -> None:
        if self.open:
            self.queue.put((data, delta_sec))

    def get_message(self):
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            return None

    def close_port(self) -> None:
        self.open = False

    def delete(self) -> None:
        pass


class FakeRtMidi:
    API_UNSPECIFIED = 0
    MidiIn = FakeRtMidiIn


def test_a_real_port_delivers_every_message_once_with_rtmidis_arrival_times() -> None:
    got: list[tuple[int, int, int]] = []
    made: list[FakeRtMidiIn] = []

    class Rt(FakeRtMidi):
        @staticmethod
        def MidiIn(*a, **kw):
            made.append(FakeRtMidiIn(*a, **kw))
            return made[-1]

    def deliver(msg, t: int) -> None:
        got.append((msg.note, msg.velocity, t))
        if len(got) == 200:  # the reader held up 30 ms (the interpreter busy elsewhere)
            time.sleep(0.03)

    port = RtMidiPort(Rt, 0, "kitA", deliver)
    rt = made[0]
    arrived: list[int] = []
    last = time.perf_counter_ns()

    def arrive(i: int) -> None:  # as rtmidi's own thread does: queue it, with its delta
        nonlocal last
        now = time.perf_counter_ns()
        rt.arrive([0x99, 36 + i % 10, 1 + i % 127], (now - last) / 1e9 if arrived else 0.0)
        rt.arrive([0x89, 36 + i % 10, 0], 0.0)
        arrived.append(now)
        last = now

    start = time.perf_counter()
    for i in range(300):  # a note every millisecond, read by the port's own thread
        time.sleep(max(0.0, start + i / 1000 - time.perf_counter()))
        arrive(i)
    for i in range(300, 500):  # a burst, then closed at once: all of it is delivered
        arrive(i)
    port.close()
    rt.open = True
    rt.arrive([0x99, 40, 100], 0.001)  # after closing: never read
    time.sleep(0.01)
    notes = [(note, vel) for note, vel, _ in got if vel > 0]
    assert notes == [(36 + i % 10, 1 + i % 127) for i in range(500)]
    # stamped when rtmidi saw them arrive, not when they were read (some 30 ms later)
    stamps = np.asarray([t for _, vel, t in got if vel > 0])
    assert np.all(np.diff(stamps) >= 0)
    late = (stamps - np.asarray(arrived))[:300]
    assert np.all(late >= -1000) and np.all(late < 2_000_000), late
