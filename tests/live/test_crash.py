"""A live session killed mid-song keeps its hits; Ctrl-C keeps every one and finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cymbalism.live.run import PlayerSpec, simulated_performances
from cymbalism.model.chart import Level
from cymbalism.store.store import Store

# A fast song so that the test is short: the demo groove at 180 BPM, simulated in real time.
CHILD = r"""
import signal
import sys
# A job started in the background by a shell ignores Ctrl-C (and a supervisor may block
# it); a player's terminal does neither.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
from cymbalism.live.engine import LiveOptions
from cymbalism.live.run import LiveSetup, PlayerSpec, run_live
from cymbalism.model.chart import Level
from cymbalism.model.session import Settings
from cymbalism.simulate.demo import demo_chart

specs = [PlayerSpec("pro", "sim-expert", Level.EXPERT),
         PlayerSpec("kid", "sim-beginner", Level.BEGINNER)]
setup = LiveSetup(specs, Settings(count_in_bars=0), LiveOptions(), click="none",
                  store_url=sys.argv[1], seed=5)

def frame(snap):
    n = sum(p["hits"] + p["extras"] for p in snap["players"])
    print(f"{n}", flush=True)

run_live(demo_chart(180.0), setup, on_frame=frame)
print("finished", flush=True)
"""

SPECS = [
    PlayerSpec("pro", "sim-expert", Level.EXPERT),
    PlayerSpec("kid", "sim-beginner", Level.BEGINNER),
]


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    url = str(tmp_path / "live.sqlite3")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return child, url


def _wait_for(child: subprocess.Popen[str], n_hits: int) -> int:
    assert child.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"the session ended early: {child.stderr.read()}")
        if line.strip().isdigit() and int(line) >= n_hits:
            return int(line)
    raise AssertionError("the session did not get going")


def _expected(chart_bpm: float = 180.0) -> dict[str, np.ndarray]:
    from cymbalism.coaching.simplify import simplify_chart
    from cymbalism.simulate.demo import demo_chart

    perf = simulated_performances(simplify_chart(demo_chart(chart_bpm)), SPECS, seed=5)
    return {name: np.round(h.onset_sec * 1e9) / 1e9 for name, h in perf.items()}


def _stored(url: str) -> tuple[str, dict[str, np.ndarray]]:
    store = Store(url)
    (info,) = store.sessions()
    stored = store.load(info.id)
    hits = {p.name: p.hits.onset_sec for p in stored.session.players}
    store.close()
    return info.status, hits


def test_killed_mid_song_keeps_every_hit_committed_before_the_kill(tmp_path: Path) -> None:
    child, url = _start(tmp_path)
    try:
        _wait_for(child, 40)
        time.sleep(0.4)  # hits pushed up to here are committed within 100 ms
        seen = _wait_for(child, 0)  # the count the child reported most recently
        time.sleep(0.3)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    status, stored = _stored(url)
    assert status == "recording"  # cut short, not finished
    expected = _expected()
    n = sum(len(v) for v in stored.values())
    assert n >= seen > 0
    for name, onsets in stored.items():
        # exactly the hits played, in order, none lost in the middle
        np.testing.assert_allclose(onsets, expected[name][: len(onsets)], rtol=0, atol=1e-6)


def test_ctrl_c_keeps_every_hit_and_finishes_the_session(tmp_path: Path) -> None:
    child, url = _start(tmp_path)
    try:
        seen = _wait_for(child, 40)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert "finished" in out, err
    counts = [seen] + [int(x) for x in out.split() if x.isdigit()]
    status, stored = _stored(url)
    assert status == "finished"
    expected = _expected()
    assert sum(len(v) for v in stored.values()) >= counts[-1] >= 40
    for name, onsets in stored.items():
        np.testing.assert_allclose(onsets, expected[name][: len(onsets)], rtol=0, atol=1e-6)
