"""Benchmark: two e-kits over JACK into ``cymbalism play``, with the live view running.

Two virtual MIDI ports (python-rtmidi on JACK's dummy driver, ``jackd -R -d dummy -p 32``:
32-sample periods, the setting that showed copies before) each send note-ons at a steady
rate (40 per second by default) while ``cymbalism play`` judges both players in a
pseudo-terminal, its live view redrawn as a person sees it. Each note is told apart by
its note number and velocity, which run through a cycle, so the stored hits can be
matched to what was sent in order: a stored hit that repeats the previous one on its
lane within 2 ms is a **duplicate**, a sent note that never reached the store is a
**loss**. The kit file given to ``play`` turns the retrigger mask and the crosstalk filter
off, so what is counted is the input path itself, not the filter hiding its copies.

The table gives, per kit, the notes sent, the hits stored, and the duplicates and losses;
the goal is zero of both.

Usage::

    .venv/bin/python benchmarks/midi_jack.py [--minutes 10] [--rate 40] [--period 32]

Needs Debian ``jackd2`` (``scripts/system-deps.sh`` installs it).
"""

from __future__ import annotations

import argparse
import difflib
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: General MIDI notes the senders cycle through (kick, snare, hi-hat, floor tom, ride).
NOTES = (36, 38, 42, 43, 51)
#: A stored hit this close after the previous one on its lane is a copy of it.
DUPLICATE_SEC = 0.002

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
    stored: int
    duplicates: int
    lost: int


def start_jack(period: int) -> subprocess.Popen[bytes] | None:
    """JACK's dummy driver, unless a JACK server already runs (then None)."""
    if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
        return None
    if shutil.which("jackd") is None:
        sys.exit("jackd is not installed (Debian jackd2; scripts/system-deps.sh installs it)")
    proc = subprocess.Popen(
        ["jackd", "-R", "-d", "dummy", "-r", "48000", "-p", str(period)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        time.sleep(0.1)
        if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
            return proc
    proc.terminate()
    sys.exit("jackd did not start")


def wait_connected(ports: tuple[str, ...], *, timeout_sec: float) -> bool:
    """Wait until every one of ``ports`` has a connection (``play`` has opened it)."""
    end = time.monotonic() + timeout_sec
    while time.monotonic() < end:
        lines = subprocess.run(["jack_lsp", "-c"], capture_output=True, text=True).stdout
        rows = lines.splitlines()
        linked = {
            p
            for i, row in enumerate(rows)
            for p in ports
            if row.endswith(f":{p}") and i + 1 < len(rows) and rows[i + 1].startswith(" ")
        }
        if linked == set(ports):
            return True
        time.sleep(0.2)
    return False


def send(out, n: int, rate: float, log: list[tuple[int, int]], stop: threading.Event) -> None:
    """Send ``n`` note-ons at ``rate`` per second, logging (note, velocity) of each."""
    t0 = time.perf_counter()
    for i in range(n):
        if stop.is_set():
            return
        wait = t0 + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        note, vel = NOTES[i % len(NOTES)], 1 + (i // len(NOTES)) % 127
        out.send_message([0x99, note, vel])
        log.append((note, vel))
        out.send_message([0x89, note, 0])


def count(sent: list[tuple[int, int]], onset: np.ndarray, lane: np.ndarray, vel: np.ndarray) -> Count:
    """Match the stored hits to what was sent, in order."""
    from cymbalism.model.lanes import lane_table

    table = lane_table()
    want = [(int(table[n]), v) for n, v in sent]
    got = list(zip(lane.tolist(), vel.tolist(), strict=True))
    dup = np.zeros(len(got), dtype=bool)
    last: dict[int, tuple[float, int]] = {}
    for k, (ln, v) in enumerate(got):
        prev = last.get(ln)
        if prev is not None and onset[k] - prev[0] < DUPLICATE_SEC and prev[1] == v:
            dup[k] = True
        else:
            last[ln] = (float(onset[k]), v)
    kept = [g for g, d in zip(got, dup, strict=True) if not d]
    matched = sum(
        b.size for b in difflib.SequenceMatcher(None, want, kept, autojunk=False).get_matching_blocks()
    )
    return Count(len(sent), len(got), int(dup.sum()), len(want) - matched)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="How long both kits play.")
    ap.add_argument("--rate", type=float, default=40.0, help="Notes per second per kit.")
    ap.add_argument("--period", type=int, default=32, help="JACK period (samples at 48 kHz).")
    ap.add_argument("--keep", help="Keep the store at this path.")
    args = ap.parse_args()

    import rtmidi

    from cymbalism.store import Store

    jack = start_jack(args.period)
    tmp = tempfile.TemporaryDirectory()
    db = args.keep or str(Path(tmp.name) / "bench.sqlite3")
    kit = Path(tmp.name) / "bench.toml"
    kit.write_text(KIT_TOML)
    outs = []
    for name in ("kitA", "kitB"):
        out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"bench-{name}")
        out.open_virtual_port(name)
        outs.append(out)
    time.sleep(0.5)
    seconds = args.minutes * 60.0
    cmd = [
        sys.executable, "-m", "cymbalism.cli", "play", "mirrorball",
        "-p", "Ana:kitA", "-p", "Ben:kitB:beginner",
        "--api", "UNIX_JACK", "--click", "none", "--kit", str(kit), "--db", db,
        "--loop", "1-48", "--repeats", str(int(seconds // 100) + 2),
        "--seconds", f"{seconds + 3:.1f}",
    ]  # fmt: skip
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="80", LINES="30", TERM="xterm-256color")
    play = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    screen = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data[-4096:])

    threading.Thread(target=drain, daemon=True).start()
    if not wait_connected(("kitA", "kitB"), timeout_sec=60.0):
        play.kill()
        sys.exit("cymbalism play did not connect to both ports within a minute")
    time.sleep(1.0)  # the count-in
    logs: list[list[tuple[int, int]]] = [[], []]
    stop = threading.Event()
    n = int(seconds * args.rate)
    senders = [
        threading.Thread(target=send, args=(out, n, args.rate, log, stop))
        for out, log in zip(outs, logs, strict=True)
    ]
    load0 = os.getloadavg()[0]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    time.sleep(1.0)
    play.send_signal(signal.SIGINT)  # Ctrl-C: everything played is kept
    try:
        play.wait(timeout=60)
    except subprocess.TimeoutExpired:
        play.kill()
    for out in outs:
        out.close_port()
    if jack is not None:
        jack.terminate()
        jack.wait(timeout=5)

    store = Store(db)
    stored = store.load(store.resolve("last"))
    print(
        f"JACK dummy driver, {args.period} samples at 48 kHz; {args.minutes:g} min at "
        f"{args.rate:g} notes/s per kit; load average {load0:.1f} -> {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores; play exited {play.returncode}"
    )
    print(f"{'kit':6} {'player':6} {'sent':>8} {'stored':>8} {'duplicates':>11} {'lost':>6}")
    for name, player, log in zip(("kitA", "kitB"), ("Ana", "Ben"), logs, strict=True):
        h = stored.session.player(player).hits
        c = count(log, h.onset_sec, h.lane, h.velocity)
        print(f"{name:6} {player:6} {c.sent:8d} {c.stored:8d} {c.duplicates:11d} {c.lost:6d}")
    tail = bytes(screen).decode("utf-8", "replace").splitlines()[-3:]
    print("last lines of the live view:", *tail, sep="\n  ")


if __name__ == "__main__":
    main()
