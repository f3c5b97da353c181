"""Benchmark: microphone -> hit latency through a real audio server, with no sound card.

JACK's dummy driver (Debian ``jackd2``: ``jackd -d dummy``) runs a real audio graph on a
timer. A groove of synthetic drums (``cymbalism.io.audio.synthesize_hits``) is played
from a PortAudio output stream whose port is wired to the input port of
:class:`cymbalism.live.microphone.AudioInput` (the microphone path of the live engine: PortAudio
callback -> block-by-block detector). For every drum hit we time how long after its
first sample was handed to JACK the hit comes out of ``AudioInput`` (its ``on_hit``
callback), and check that the hits and lanes equal those of the same signal read
offline.

The baseline, in the same run and the same graph, is a bare PortAudio input callback
that notes the first block in which the signal rises above silence: the audio server's
own share of the latency. Goal: p99 <= 20 ms (a real sound card adds its converters,
typically 1-3 ms more at 128-sample buffers).

Usage::

    .venv/bin/python benchmarks/mic.py [--hits 64] [--period 128] [--json]

``--json`` prints the measurement as JSON. With ``CYMBALISM_MIC_FREEWHEEL=1`` JACK runs
the graph as fast as it can (freewheel) instead of on its timer: no timing, but no
timer overruns either; the test suite runs it that way to check the hits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import numpy as np

RATE = 48000
SERVER = f"cymbalism-mic-{os.getpid()}"
FREEWHEEL = os.environ.get("CYMBALISM_MIC_FREEWHEEL") == "1"


def start_jack(period: int) -> subprocess.Popen[bytes]:
    """A JACK server with the dummy driver (no sound card), named for this run."""
    if shutil.which("jackd") is None:
        sys.exit("jackd is not installed (Debian package jackd2; `make test` installs it)")
    os.environ["JACK_DEFAULT_SERVER"] = SERVER  # before PortAudio starts
    os.environ["JACK_NO_START_SERVER"] = "1"
    proc = subprocess.Popen(
        ["jackd", "-n", SERVER, "-d", "dummy", "-r", str(RATE), "-p", str(period)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        time.sleep(0.05)
        if proc.poll() is not None:
            sys.exit(f"jackd did not start (exit code {proc.returncode})")
        if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
            return proc
    proc.terminate()
    sys.exit("jackd did not answer within 5 s")


def groove(n_hits: int) -> Any:
    """Kick, snare and hi-hat in a rock pattern, 0.25 s apart, with a few toms."""
    from cymbalism.model.hits import Hits
    from cymbalism.model.lanes import Lane

    pattern = (Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE, Lane.HIHAT_CLOSED)
    lanes = [pattern[i % 4] if i % 16 != 15 else Lane.TOM_HIGH for i in range(n_hits)]
    return Hits.from_arrays(0.4 + 0.25 * np.arange(n_hits), lanes, 100)


class Player:
    """A PortAudio output stream that plays ``signal`` once ``go`` is set."""

    def __init__(self, sd: Any, signal: np.ndarray, period: int) -> None:
        self.signal = signal
        self.pos = 0
        self.go = False
        self.marks: list[tuple[int, float]] = []  # (first sample of block, perf_counter)
        self.stream = sd.OutputStream(
            samplerate=RATE, channels=1, blocksize=period, callback=self._cb, latency="low"
        )

    def _cb(self, out: np.ndarray, frames: int, _t: Any, _s: Any) -> None:
        out[:] = 0
        if not self.go:
            return
        self.marks.append((self.pos, time.perf_counter()))
        chunk = self.signal[self.pos : self.pos + frames]  # then silence
        out[: chunk.size, 0] = chunk
        self.pos += frames

    def handed_at(self, sample: int) -> float:
        """When the block holding ``sample`` was handed to JACK (perf_counter seconds)."""
        starts = np.array([m[0] for m in self.marks])
        k = int(np.searchsorted(starts, sample, side="right")) - 1
        return self.marks[k][1] + (sample - self.marks[k][0]) / RATE


def wire(out_port: str, in_port: str) -> None:
    """Connect two JACK ports, and cut the input off the dummy capture."""
    subprocess.run(["jack_disconnect", "system:capture_1", in_port], capture_output=True)
    subprocess.run(["jack_connect", out_port, in_port], check=True, capture_output=True)


def ports() -> list[str]:
    return subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout.split()


def play_through(sd: Any, signal: np.ndarray, period: int, listen: Any) -> Player:
    """Play ``signal`` into the JACK input port opened by ``listen()`` (returns a stop)."""
    before = set(ports())
    stop = listen()
    new_in = [p for p in ports() if p not in before and ":in" in p]
    player = Player(sd, signal, period)
    player.stream.start()
    new_out = [p for p in ports() if p not in before and ":out" in p]
    wire(new_out[0], new_in[0])
    time.sleep(0.2)
    if FREEWHEEL:
        subprocess.run(["jack_freewheel", "yes"], check=True, capture_output=True)
    player.go = True
    while player.pos < signal.size + RATE // 2:
        time.sleep(0.02)
    if FREEWHEEL:
        subprocess.run(["jack_freewheel", "no"], check=True, capture_output=True)
    time.sleep(0.3)
    player.stream.stop()
    player.stream.close()
    stop()
    return player


def tapped_input(**kw: Any) -> Any:
    """An :class:`AudioInput` that also keeps the audio it is given (a tap, no fake)."""

    from cymbalism.live.microphone import AudioInput

    class Tapped(AudioInput):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.captured: list[np.ndarray] = []

        def _callback(self, indata: np.ndarray, frames: int, t: Any, status: Any) -> None:
            self.captured.append(indata[:, self.channel].copy())
            super()._callback(indata, frames, t, status)

    return Tapped(**kw)


def measure(n_hits: int, period: int) -> dict[str, Any]:
    import sounddevice as sd

    from cymbalism.io import audio
    from cymbalism.model.hits import Hits

    truth = groove(n_hits)
    signal = audio.synthesize_hits(truth, RATE, seed=3)
    onsets = _onset_samples(truth)

    # cymbalism: the microphone input of the live engine
    reports: list[tuple[float, Any]] = []
    mic = tapped_input(
        device="system",
        sample_rate=RATE,
        block_size=period,
        on_hit=lambda h: reports.append((time.perf_counter(), h)),
    )

    def listen_mic() -> Any:
        mic.start()
        return mic.stop

    player = play_through(sd, signal, period, listen_mic)
    found = Hits.concat([h for _, h in reports])
    ours = _latencies(player, onsets, [t for t, _ in reports])

    # the same audio as it arrived, read offline: live onsets are offline + the clock's start
    heard = np.concatenate(mic.captured)
    offline = audio.detect_hits(heard, RATE, config=audio.LIVE_CONFIG)
    same = len(found) == len(offline) and bool((found.lane == offline.lane).all())
    shift = found.onset_sec - offline.onset_sec if same else np.zeros(1)
    # every drum played, found within 5 ms of where it was played (after the constant shift)
    got = np.unique(found.onset_sec)
    lag = float(np.median(got[: onsets.size] - onsets[: got.size] / RATE)) if got.size else 0.0
    err = np.array([np.min(np.abs(got - lag - s / RATE)) for s in onsets]) if got.size else []

    # baseline: the bare input callback, first block above silence
    rises: list[float] = []
    state = {"quiet": 0, "overflows": 0}

    def bare(indata: np.ndarray, frames: int, _t: Any, status: Any) -> None:
        state["overflows"] += bool(status)
        loud = float(np.abs(indata[:, 0]).max()) > 1e-3
        if loud and state["quiet"] >= 0.1 * RATE:
            rises.append(time.perf_counter())
        state["quiet"] = 0 if loud else state["quiet"] + frames

    def listen_bare() -> Any:
        stream = sd.InputStream(
            device="system",
            channels=1,
            samplerate=RATE,
            blocksize=period,
            callback=bare,
            latency="low",
        )
        stream.start()
        return lambda: (stream.stop(), stream.close())

    sparse = Hits.from_arrays(truth.onset_sec[::4], truth.lane[::4], 100)  # 1 s apart
    sparse_player = play_through(
        sd, audio.synthesize_hits(sparse, RATE, seed=3), period, listen_bare
    )
    base = _latencies(sparse_player, _onset_samples(sparse), rises)
    return {
        "server": f"JACK dummy driver, {period} samples at {RATE} Hz "
        f"({1000 * period / RATE:.2f} ms per period)",
        "played": int(onsets.size),
        "found": int(got.size),
        "max_error_ms": round(1000 * float(np.max(err)), 3) if len(err) else None,
        "equal_offline": same,
        "clock_shift_spread_ms": round(1000 * float(np.ptp(shift)), 6),
        "overflows": mic.overflows,
        "baseline_overflows": state["overflows"],
        "algorithmic_latency_ms": 1000 * mic.latency_sec,
        "latency_ms": [round(1000 * x, 3) for x in ours],
        "baseline_ms": [round(1000 * x, 3) for x in base],
    }


def _onset_samples(hits: Any) -> np.ndarray:
    """The distinct onsets of ``hits`` as sample indices."""
    return np.unique(np.round(hits.onset_sec * RATE).astype(int))


def _latencies(player: Player, onsets: np.ndarray, arrivals: list[float]) -> list[float]:
    """For each onset, the delay from its hand-over to JACK to the first arrival after it."""
    arr = np.sort(np.asarray(arrivals))
    out = []
    for s in onsets:
        t = player.handed_at(int(s))
        k = int(np.searchsorted(arr, t))
        if k < arr.size and arr[k] - t < 0.2:
            out.append(float(arr[k] - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hits", type=int, default=64)
    ap.add_argument("--period", type=int, default=128, help="JACK period in samples")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    jack = start_jack(args.period)
    try:
        res = measure(args.hits, args.period)
    finally:
        import sounddevice as sd

        sd._terminate()  # PortAudio lets go of JACK before the server stops
        jack.terminate()
        jack.wait(timeout=5)
    if args.json:
        print(json.dumps(res))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"{res['server']}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{res['played']} drum hits played, {res['found']} found (at most "
        f"{res['max_error_ms']} ms from where they were played); hits and lanes "
        f"{'equal' if res['equal_offline'] else 'DIFFER from'} those read offline from the "
        f"same audio"
    )
    table = Table(title="first sample handed to JACK -> hit out of AudioInput (ms)")
    for col in ("path", "hits", "p50", "p99", "max", "overruns", "vs baseline"):
        table.add_column(col, justify="left" if col == "path" else "right")
    ours, base = np.asarray(res["latency_ms"]), np.asarray(res["baseline_ms"])
    for label, x, over in (
        ("cymbalism AudioInput (LIVE_CONFIG)", ours, res["overflows"]),
        ("baseline: bare callback", base, res["baseline_overflows"]),
    ):
        table.add_row(
            label,
            str(x.size),
            f"{np.percentile(x, 50):.2f}",
            f"{np.percentile(x, 99):.2f}",
            f"{x.max():.2f}",
            str(over),
            f"+{np.percentile(x, 50) - np.percentile(base, 50):.2f} ms (p50)",
        )
    console.print(table)
    console.print(
        f"algorithmic latency of the detector {res['algorithmic_latency_ms']:.1f} ms; "
        "goal p99 <= 20 ms. Overruns: callbacks that PortAudio flagged (input overflow) "
        "when JACK's dummy timer woke late"
    )


if __name__ == "__main__":
    main()
