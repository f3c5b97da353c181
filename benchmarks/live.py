"""Benchmark: the live engine's time per hit, and MIDI port -> judgement latency.

**Engine.** Two simulated players play 20 minutes at 40 hits per second each (16th notes
on five drums at 120 BPM, 15 ms of timing noise, some misses and extra hits). Every hit is
pushed through :class:`cymbalism.live.engine.Engine` under a fake clock, as the live loop
does (``tick`` then ``push_hit``), once with no recorder and once recording every hit to
a SQLite store (the store's batched SessionWriter, committing every 100 ms from its own
thread). We time each ``push_hit`` (p50, p99, max) and each ``tick``, and count dropped
hits (pushed but missing from the session, or from the store). The baseline, in the same
run, is a naive live judge that rescans every note of the song for each hit (numpy, on
the first 5,000 hits); the table gives its time per hit as a multiple of the engine's.
Goal: p99 <= 0.25 ms, none dropped.

**MIDI.** Where a virtual MIDI system exists, a note-on is sent into a virtual port every
12.5 ms and we time how long after ``send`` the engine's judgement of that hit comes out
of the live loop (:class:`cymbalism.live.run.LiveRunner`, real clock). The baseline in
the same run is the bare python-rtmidi callback on the same port (no engine, no queue).
The ALSA sequencer needs ``/dev/snd/seq``; without it we start JACK's dummy driver
(Debian ``jackd2``: ``jackd -d dummy``, no sound card) and use rtmidi's JACK API. Goal:
p99 <= 2 ms.

Usage::

    .venv/bin/python benchmarks/live.py [--minutes 20] [--midi-hits 2000] [--no-midi]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from cymbalism.live.clock import FakeClock, MonotonicClock, responsive
from cymbalism.live.engine import Engine
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import LANE_TO_GM_NOTE, Lane
from cymbalism.model.session import Player, Settings
from cymbalism.model.tempo import TempoMap

console = Console()
LANES = (Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.RIDE, Lane.TOM_FLOOR)


def dense_chart(minutes: float) -> Chart:
    """16th notes on five drums at 120 BPM: 40 notes per second."""
    end_qn = minutes * 120.0
    qn = np.arange(0.0, end_qn, 0.25)
    part = Part.from_arrays(
        np.repeat(qn, len(LANES)), np.tile(np.asarray(LANES, dtype=np.int64), qn.size)
    )
    return Chart("dense", TempoMap.constant(120.0), {Level.EXPERT: part}, end_qn=end_qn)


def performance(targets: Hits, seed: int) -> Hits:
    rng = np.random.default_rng(seed)
    keep = rng.random(len(targets)) > 0.01
    onset = targets.onset_sec[keep] + rng.normal(0.0, 0.015, int(keep.sum()))
    n_extra = len(targets) // 100
    onset = np.concatenate([onset, rng.uniform(0, targets.onset_sec[-1], n_extra)])
    lane = np.concatenate([targets.lane[keep], rng.choice(np.asarray(LANES), n_extra)])
    # stamps on the clock's nanosecond grid, as a real input gives them
    return Hits.from_arrays(np.round(onset * 1e9) / 1e9, lane, 100)


def pct(x: np.ndarray) -> tuple[float, float, float]:
    return (
        float(np.percentile(x, 50)) * 1e3,
        float(np.percentile(x, 99)) * 1e3,
        float(x.max()) * 1e3,
    )


def run_engine(chart: Chart, perf: dict[str, Hits], recorder_url: str | None):
    clock = FakeClock()
    writer = store = None
    players = [Player(n) for n in perf]
    if recorder_url is not None:
        from cymbalism.store.store import Store

        store = Store(recorder_url)
        writer = store.start_session(
            chart, players, source="benchmark", flush_ms=100.0, flush_hits=1_000_000
        )
    engine = Engine(chart, players, Settings(count_in_bars=0), clock, writer, start_ns=0)
    events = sorted(
        (
            (round(t * 1e9), name, int(ln))
            for name, h in perf.items()
            for t, ln in zip(h.onset_sec, h.lane, strict=True)
        ),
        key=lambda e: e[0],
    )
    push = np.empty(len(events))
    cpu = np.empty(len(events))
    ticks: list[float] = []
    with responsive():  # as the live loop runs
        _drive(engine, clock, events, push, cpu, ticks, writer)
    result = engine.finish()
    kept = sum(len(p.hits) for p in result.session.players)
    stored = None
    if writer is not None and store is not None:
        sid = writer.finish()
        loaded = store.load(sid)
        stored = sum(len(p.hits) for p in loaded.session.players)
        store.close()
    return push, cpu, np.asarray(ticks), len(events), kept, stored, result


def _drive(engine, clock, events, push, cpu, ticks, writer) -> None:
    next_tick = 0
    pc = time.perf_counter_ns
    tc = time.thread_time_ns
    for i, (t_ns, name, lane) in enumerate(events):
        clock.set_ns(max(clock.now_ns(), t_ns))
        if t_ns >= next_tick:  # the loop ticks 20 times a second
            t0 = pc()
            engine.tick(t_ns=t_ns)
            ticks.append((pc() - t0) / 1e9)
            next_tick = t_ns + 50_000_000
        c0 = tc()
        t0 = pc()
        engine.push_hit(name, lane, 100, t_ns=t_ns)
        t1 = pc()
        push[i] = (t1 - t0) / 1e9
        cpu[i] = (tc() - c0) / 1e9
        # stand-in for the real loop's idle time between hits, so the writer's thread runs
        if writer is not None and i % 400 == 0:
            time.sleep(0.002)


def naive_judge(targets: Hits, hits: Hits, n: int) -> np.ndarray:
    """For each hit, scan every note of the song for the nearest unmatched one of its lane."""
    taken = np.zeros(len(targets), dtype=bool)
    out = np.empty(min(n, len(hits)))
    pc = time.perf_counter_ns
    for i in range(out.size):
        t0 = pc()
        t, lane = hits.onset_sec[i], hits.lane[i]
        d = np.abs(targets.onset_sec - t)
        d[(targets.lane != lane) | taken] = np.inf
        k = int(np.argmin(d))
        if d[k] <= 0.075:
            taken[k] = True
        out[i] = (pc() - t0) / 1e9
    return out


# ----------------------------------------------------------------------------- MIDI
def _start_jack() -> subprocess.Popen[bytes] | None:
    if shutil.which("jackd") is None:
        return None
    proc = subprocess.Popen(
        ["jackd", "-R", "-d", "dummy", "-r", "48000", "-p", "32"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    if proc.poll() is not None:
        return None
    return proc


def midi_latency(n_hits: int) -> tuple[str, np.ndarray, np.ndarray] | str:
    """(system, engine latencies, bare callback latencies) in seconds, or why not."""
    import mido
    import rtmidi

    if os.path.exists("/dev/snd/seq"):
        api, system, jack = "LINUX_ALSA", "ALSA sequencer", None
    else:
        jack = _start_jack()
        if jack is None:
            return (
                "no virtual MIDI system: /dev/snd/seq does not exist (no ALSA sequencer in "
                "this sandbox) and jackd (Debian jackd2) is not installed or did not start"
            )
        api, system = "UNIX_JACK", "JACK dummy driver (-p 32 at 48 kHz)"
    try:
        return (system, *_measure(api, n_hits, mido, rtmidi))
    finally:
        if jack is not None:
            jack.terminate()
            jack.wait(timeout=5)


def _measure(api: str, n_hits: int, mido, rtmidi) -> tuple[np.ndarray, np.ndarray]:
    from cymbalism.live.inputs import MidiInput, MidoBackend, Route
    from cymbalism.live.run import LiveRunner

    rt_api = {"LINUX_ALSA": rtmidi.API_LINUX_ALSA, "UNIX_JACK": rtmidi.API_UNIX_JACK}[api]
    out = rtmidi.MidiOut(rt_api)
    out.open_virtual_port("cymbalism-bench")
    time.sleep(0.2)
    backend = MidoBackend(api)
    note = LANE_TO_GM_NOTE[Lane.SNARE]
    period = 0.0125

    # the baseline: the bare rtmidi callback
    # Each note's velocity (1-127, in turn) tells which send it was.
    got: dict[int, int] = {}
    port = backend.open_input(
        next(n for n in backend.input_names() if "cymbalism-bench" in n),
        lambda msg, _arrived: got.setdefault(msg.velocity, time.perf_counter_ns()),
    )
    bare = _send(out, note, n_hits, period, got)
    port.close()

    # the engine: port -> stamp -> queue -> live loop -> judgement
    clock = MonotonicClock()
    sink: queue.SimpleQueue = queue.SimpleQueue()
    chart = Chart(
        "snare",
        TempoMap.constant(120.0),
        {Level.EXPERT: Part.from_arrays(np.arange(0, 2 * 60 * n_hits * period, 0.05), 1)},
    )
    engine = Engine(chart, [Player("A")], Settings(count_in_bars=0), clock)
    inp = MidiInput("cymbalism-bench", [Route("A")], clock=clock, backend=backend, sink=sink)
    judged: dict[int, int] = {}
    player = engine.players["A"]

    def on_feedback(fb) -> None:
        if not np.isnan(fb.onset_sec):  # a judged hit, not a miss
            judged.setdefault(player.velocity[-1], time.perf_counter_ns())

    runner = LiveRunner(engine, [inp], sink=sink, on_feedback=on_feedback)
    th = threading.Thread(target=runner.run, daemon=True)
    th.start()
    time.sleep(0.5)
    lat = _send(out, note, n_hits, period, judged)
    runner.stop()
    th.join(timeout=5)
    out.close_port()
    return lat, bare


def _send(out, note: int, n_hits: int, period: float, arrived: dict[int, int]) -> np.ndarray:
    """Send ``n_hits`` note-ons; return the delay until each one ``arrived`` (seconds)."""
    lat = []
    lost = 0
    for i in range(n_hits):
        vel = 1 + i % 127
        arrived.pop(vel, None)
        t0 = time.perf_counter_ns()
        out.send_message([0x99, note, vel])
        time.sleep(period)
        t1 = arrived.get(vel)
        if t1 is None:
            time.sleep(0.05)
            t1 = arrived.get(vel)
        if t1 is None:
            lost += 1
        else:
            lat.append((t1 - t0) / 1e9)
    if lost:
        console.print(f"  {lost} of {n_hits} notes never arrived")
    return np.asarray(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--midi-hits", type=int, default=2000)
    ap.add_argument("--no-midi", action="store_true")
    args = ap.parse_args()

    chart = dense_chart(args.minutes)
    targets = chart.targets()
    perf = {"A": performance(targets, 1), "B": performance(targets, 2)}
    n = sum(len(h) for h in perf.values())
    load = os.getloadavg()[0]
    console.print(
        f"load average {load:.1f} on {os.cpu_count()} cores; "
        f"{args.minutes:g} simulated minutes, 2 players, {n:,} hits "
        f"({n / (args.minutes * 60) / 2:.0f} per second each), {len(targets):,} notes each"
    )
    push, cpu, ticks, pushed, kept, _, _ = run_engine(chart, perf, None)
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "bench.sqlite3")
        rec = run_engine(chart, perf, url)
    push_rec, cpu_rec, ticks_rec, pushed_rec, kept_rec, stored, _ = rec
    naive = naive_judge(targets, perf["A"], 5000)

    table = Table(title="live engine, time per hit (ms): wall clock | CPU of the judging thread")
    cols = (
        "path",
        "hits",
        "p50",
        "p99",
        "max",
        "CPU p50",
        "CPU p99",
        "tick p99",
        "dropped",
        "vs baseline",
    )
    for col in cols:
        table.add_column(col, justify="right" if col != "path" else "left")
    base50 = float(np.percentile(naive, 50))
    for label, p, c, tk, a, b in (
        ("engine", push, cpu, ticks, pushed, kept),
        ("engine + store", push_rec, cpu_rec, ticks_rec, pushed_rec, min(kept_rec, stored or 0)),
    ):
        p50, p99, mx = pct(p)
        c50, c99, _ = pct(c)
        table.add_row(
            label,
            f"{a:,}",
            f"{p50:.4f}",
            f"{p99:.4f}",
            f"{mx:.2f}",
            f"{c50:.4f}",
            f"{c99:.4f}",
            f"{np.percentile(tk, 99) * 1e3:.3f}",
            str(a - b),
            f"{base50 / np.percentile(p, 50):.1f}x faster",
        )
    n50, n99, nmx = pct(naive)
    table.add_row(
        "baseline: rescan all notes",
        f"{naive.size:,}",
        f"{n50:.4f}",
        f"{n99:.4f}",
        f"{nmx:.2f}",
        "-",
        "-",
        "-",
        "-",
        "1.0x",
    )
    console.print(table)

    if args.no_midi:
        return
    res = midi_latency(args.midi_hits)
    if isinstance(res, str):
        console.print(f"MIDI port -> judgement: not measured: {res}")
        return
    system, lat, bare = res
    t2 = Table(title=f"MIDI port -> judgement latency (ms), {system}")
    for col in ("path", "hits", "p50", "p99", "max"):
        t2.add_column(col, justify="right" if col != "path" else "left")
    for label, x in (("engine (port -> judged)", lat), ("baseline: bare rtmidi callback", bare)):
        p50, p99, mx = pct(x)
        t2.add_row(label, f"{x.size:,}", f"{p50:.3f}", f"{p99:.3f}", f"{mx:.3f}")
    console.print(t2)


if __name__ == "__main__":
    main()
