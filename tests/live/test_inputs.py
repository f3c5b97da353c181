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
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import Engine
from cymbalism.live.inputs import (
    DEFAULT_KEYMAPS,
    KeyboardInput,
    MidiInput,
    Route,
    SimulatedInput,
    find_port,
    kit_table,
)
from cymbalism.live.run import LiveRunner, build_inputs, parse_player
from cymbalism.model.chart import Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
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
            inputs[0].check()
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
    # Ana's notes while unplugged are misses; everything else was hit
    gap = (targets.onset_sec >= lost_at) & (targets.onset_sec < back_at)
    assert result.timing["Ana"].n_miss == int(gap.sum()) > 0
    assert result.timing["Ben"].n_miss == 0
    assert result.alignments["Ana"] == align(ana, targets)
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
