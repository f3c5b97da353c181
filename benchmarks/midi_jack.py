"""Benchmark: two e-kits over JACK into ``cymbalism play``, with the live view running.

Two virtual MIDI ports (python-rtmidi on JACK's dummy driver, ``jackd -R -d dummy -p 32``:
32-sample periods, the setting that showed copies before) each send note-ons at a steady
rate (40 per second by default) while ``cymbalism play`` judges both players in a
pseudo-terminal, its live view redrawn as a person sees it. Note ``i`` of a kit carries
its sequence number: its drum is ``i mod 5`` and its velocity ``1 + (i div 5) mod 127``,
so ``i mod 635`` can be read back from every stored hit, and ``i`` itself from where the
hit lies in the sequence (a copy or a gap would have to span 317 notes to be misread).
A stored hit whose number was already stored is a **duplicate**; a number sent and never
stored is a **loss**; both are counted exactly. The kit file given to ``play`` turns the
retrigger mask and the crosstalk filter off, so what is counted is the input path itself,
not the filter hiding its copies. The senders finish a second before ``play`` is stopped
with Ctrl-C, as a person stops it after the last note.

The table gives, per kit, the notes sent; what a bare rtmidi receiver in the same JACK
graph got (a note lost or repeated there was lost or repeated by JACK itself, before
``play``); and the hits stored, with their duplicates and losses, each duplicate with how
long after its first copy it came (a kit's default trigger filter, off here, takes out a
copy within 8 ms on its pad). The goal is zero of both.

Usage::

    .venv/bin/python benchmarks/midi_jack.py [--minutes 10] [--rate 40] [--period 32]

Needs Debian ``jackd2`` (``scripts/system-deps.sh`` installs it).
"""

from __future__ import annotations

import argparse
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: General MIDI notes the senders cycle through (kick, snare, hi-hat, floor tom, ride).
NOTES = (36, 38, 42, 43, 51)
#: Velocities a note's sequence number runs through (1-127).
VELOCITIES = 127
#: How many consecutive notes have distinct (drum, velocity) pairs.
CYCLE = len(NOTES) * VELOCITIES


KIT_TOML = """\
# General MIDI with the trigger filters off: the benchmark counts the input path itself.
name = "bench"
[notes]
36 = "kick"
38 = "snare"
42 = "hi-hat"
43 = "floor tom"
51 = "ride"
[filter]
retrigger_mask_ms = 0
crosstalk_ms = 0
"""


@dataclass
class Count:
    """One kit's figures."""

    sent: int
    received: int
    duplicates: int
    lost: int


def start_jack(period: int, log: Path) -> subprocess.Popen[bytes] | None:
    """JACK's dummy driver, its output in ``log``, unless a JACK server already runs
    (then None)."""
    if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
        return None
    if shutil.which("jackd") is None:
        sys.exit("jackd is not installed (Debian jackd2; scripts/system-deps.sh installs it)")
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            ["jackd", "-R", "-d", "dummy", "-r", "48000", "-p", str(period)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    for _ in range(50):
        time.sleep(0.1)
        if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
            return proc
    proc.terminate()
    sys.exit("jackd did not start")


def wait_connected(ports: tuple[str, ...], client: str, *, timeout_sec: float) -> bool:
    """Wait until every one of ``ports`` is connected to a port of JACK client ``client``."""
    end = time.monotonic() + timeout_sec
    while time.monotonic() < end:
        rows = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True).stdout
        linked, port = set(), None
        for row in rows.splitlines():
            if not row.startswith(" "):
                port = next((p for p in ports if row.endswith(f":{p}")), None)
            elif port is not None and row.strip().startswith(client):
                linked.add(port)
        if linked == set(ports):
            return True
        time.sleep(0.2)
    return False


def witness() -> None:
    """A bare receiver beside ``play``: rtmidi's queue on both kits' ports, read by a
    plain loop; prints every (kit, note, velocity) it got when its standard input closes.
    It tells a note lost before ``play`` (by the sender or JACK) from one lost in it."""
    import json

    import rtmidi

    ins = []
    for k, name in enumerate(("kitA", "kitB")):
        port = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="witness", queue_size_limit=1 << 16)
        names = port.get_ports()
        port.open_port(next(i for i, n in enumerate(names) if n.endswith(f":{name}")), "in")
        ins.append((k, port))
    got: list[tuple[int, int, int]] = []
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("ready", flush=True)
    while True:
        idle = True
        for k, port in ins:
            while (item := port.get_message()) is not None:
                idle = False
                data = item[0]
                if len(data) == 3 and data[0] & 0xF0 == 0x90 and data[2] > 0:
                    got.append((k, data[1], data[2]))
        if idle and done.is_set():
            break
        if idle:
            time.sleep(0.001)
    print(json.dumps(got), flush=True)


def note_of(i: int) -> tuple[int, int]:
    """The (note, velocity) that carries sequence number ``i``."""
    return NOTES[i % len(NOTES)], 1 + (i // len(NOTES)) % VELOCITIES


def send(out, n: int, rate: float, sent: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Send note-ons 0 ... n-1 at ``rate`` per second, logging each number as it goes."""
    t0 = time.perf_counter()
    for i in range(n):
        wait = t0 + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        note, vel = note_of(i)
        out.send_message([0x99, note, vel])
        sent.append(i)
        out.send_message([0x89, note, 0])


def sequence_numbers(slot: list[int], velocity: list[int]) -> np.ndarray:
    """The sequence number of each note received (in order), from its place in
    :data:`NOTES` and its velocity (``i mod CYCLE``) and the number of the note before."""
    out = np.empty(len(slot), dtype=np.int64)
    prev = -1
    for j, (k, v) in enumerate(zip(slot, velocity, strict=True)):
        residue = k + len(NOTES) * (v - 1)  # i mod CYCLE
        # the number with this residue nearest to the one after the previous note
        guess = prev + 1
        i = guess + (residue - guess) % CYCLE
        if i - guess > CYCLE // 2:
            i -= CYCLE
        out[j] = prev = i
    return out


def count(
    sent: list[int], slot: list[int], velocity: list[int], onset_sec: np.ndarray | None = None
) -> tuple[Count, list[int], list[str]]:
    """Exact duplicates and losses of one kit's notes received; also the numbers lost and,
    given the onsets, each duplicate's number and how long after its first copy it came."""
    got = sequence_numbers(slot, velocity)
    first: dict[int, int] = {}
    copies = []
    for j, i in enumerate(got.tolist()):
        if i in first:
            gap = (
                ""
                if onset_sec is None
                else f" +{(onset_sec[j] - onset_sec[first[i]]) * 1e3:.2f} ms"
            )
            copies.append(f"{i}{gap}")
        else:
            first[i] = j
    lost = sorted(set(sent) - set(first))
    return Count(len(sent), len(got), len(copies), len(lost)), lost, copies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="How long both kits play.")
    ap.add_argument("--rate", type=float, default=40.0, help="Notes per second per kit.")
    ap.add_argument("--period", type=int, default=32, help="JACK period (samples at 48 kHz).")
    ap.add_argument("--keep", help="Keep the store at this path.")
    ap.add_argument("--witness", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.witness:
        witness()
        return
    tmp = tempfile.TemporaryDirectory()
    jack_log = Path(tmp.name) / "jackd.log"
    jack = start_jack(args.period, jack_log)
    children: list[subprocess.Popen[Any]] = []
    try:
        play_and_count(args, Path(tmp.name), jack_log, children.append)
    finally:
        for proc in [*children, *([jack] if jack is not None else [])]:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def play_and_count(
    args: argparse.Namespace,
    tmp: Path,
    jack_log: Path,
    track: Callable[[subprocess.Popen[Any]], None],
) -> None:
    """Send, play, and print the table; every process started goes to ``track``."""
    import json

    import rtmidi

    from cymbalism.model.lanes import lane_table
    from cymbalism.store import Store

    def spawn(*a: Any, **kw: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(*a, **kw)
        track(proc)
        return proc

    db = args.keep or str(tmp / "bench.sqlite3")
    kit = tmp / "bench.toml"
    kit.write_text(KIT_TOML)
    outs = []
    for name in ("kitA", "kitB"):
        out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"bench-{name}")
        out.open_virtual_port(name)
        outs.append(out)
    time.sleep(0.5)
    wit = spawn(
        [sys.executable, __file__, "--witness"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert wit.stdin is not None and wit.stdout is not None
    if wit.stdout.readline().strip() != "ready":
        sys.exit("the bare receiver did not start")
    seconds = args.minutes * 60.0
    cmd = [
        sys.executable, "-m", "cymbalism.cli", "play", "mirrorball",
        "-p", "Ana:kitA", "-p", "Ben:kitB:beginner",
        "--api", "UNIX_JACK", "--click", "none", "--kit", str(kit), "--db", db,
        "--loop", "1-48", "--repeats", str(int(seconds // 100) + 2),  # stopped by Ctrl-C
    ]  # fmt: skip
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="80", LINES="30", TERM="xterm-256color", PYTHONFAULTHANDLER="1")
    play = spawn(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    screen = bytearray()
    warnings: list[str] = []
    fault = bytearray()  # a crash's tracebacks (faulthandler), kept whole

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data)
            del screen[:-65536]  # the view's last frames
            if fault or b"Fatal Python error" in data:
                fault.extend(data[data.find(b"Fatal Python error") :] if not fault else data)
            for word in (b"limit reached", b"overflow", b"Traceback"):
                if word in data:
                    warnings.append(word.decode())

    threading.Thread(target=drain, daemon=True).start()
    if not wait_connected(("kitA", "kitB"), "cymbalism", timeout_sec=60.0):
        sys.exit("cymbalism play did not connect to both ports within a minute")
    time.sleep(1.0)  # the count-in
    logs: list[list[int]] = [[], []]
    n = int(seconds * args.rate)
    senders = [
        threading.Thread(target=send, args=(out, n, args.rate, log))
        for out, log in zip(outs, logs, strict=True)
    ]
    load0 = os.getloadavg()[0]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    time.sleep(1.0)  # the last notes' way through; then Ctrl-C, as a person stops
    play.send_signal(signal.SIGINT)  # Ctrl-C: everything played is kept
    try:
        play.wait(timeout=60)
    except subprocess.TimeoutExpired:
        play.kill()
    witnessed = json.loads(wit.communicate("")[0])
    for out in outs:
        out.close_port()
    jack_lines = jack_log.read_text(errors="replace").lower().splitlines()
    xruns = sum("xrun" in line or "late" in line for line in jack_lines)

    store = Store(db)
    stored = store.load(store.resolve("last"))
    print(
        f"JACK dummy driver, {args.period} samples at 48 kHz; {args.minutes:g} min at "
        f"{args.rate:g} notes/s per kit; load average {load0:.1f} -> {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores; play exited {play.returncode}; JACK reported "
        f"{xruns} xrun/late lines"
    )
    print(
        f"{'kit':6} {'player':6} {'sent':>7} | {'bare receiver':>13} {'dup':>4} {'lost':>5} "
        f"| {'stored':>7} {'dup':>4} {'lost':>5}"
    )
    slot_of_lane = {int(lane_table()[note]): k for k, note in enumerate(NOTES)}
    kits = zip(("kitA", "kitB"), ("Ana", "Ben"), logs, strict=True)
    for k, (name, player, log) in enumerate(kits):
        h = stored.session.player(player).hits
        slots = [slot_of_lane[ln] for ln in h.lane.tolist()]
        c, lost, copies = count(log, slots, h.velocity.tolist(), h.onset_sec)
        mine = [(note, v) for kk, note, v in witnessed if kk == k]
        w, w_lost, _ = count(log, [NOTES.index(note) for note, _ in mine], [v for _, v in mine])
        print(
            f"{name:6} {player:6} {c.sent:7d} | {w.received:13d} {w.duplicates:4d} {w.lost:5d} "
            f"| {c.received:7d} {c.duplicates:4d} {c.lost:5d}"
        )
        for who, gone in (("the bare receiver", w_lost), ("play", lost)):
            if gone:
                at = ", ".join(f"{i} ({i / args.rate:.2f} s)" for i in gone[:12])
                more = " ..." if len(gone) > 12 else ""
                print(f"  {name}: {who} lost notes (sent at): {at}{more}")
        if copies:
            print(f"  {name}: play stored twice (after the first copy): {', '.join(copies[:12])}")
    if warnings:
        print("play printed:", ", ".join(sorted(set(warnings))))
    if fault:
        print("play crashed:", fault.decode("utf-8", "replace")[:6000], sep="\n")
    tail = bytes(screen).decode("utf-8", "replace").splitlines()[-3:]
    print("last lines of the live view:", *tail, sep="\n  ")


if __name__ == "__main__":
    main()
