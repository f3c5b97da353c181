"""End to end in headless Chromium: two players play a built-in song in the studio.

The studio runs in a thread of this process (uvicorn on a free loopback port), so the
test reads the same monotonic clock as the server: it presses keys at planned times
and knows, from its own clock, how early or late each press was. The judgements the
page shows and the session the store keeps must agree with those times.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from cymbalism.songs import get_song
from cymbalism.store import Store
from cymbalism.web.app import KEY_SETS, create_app
from cymbalism.web.server import Studio, studio_config

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
SONG = "mirrorball"
N_BARS = 2
#: How far the page's stamp of a key press may be from the test's clock reading taken just
#: before sending it (the time for Chromium to receive the key event, plus clock-sync error).
STAMP_TOLERANCE_MS = 12.0


@dataclass
class Press:
    player: int
    key: str
    target_sec: float  # the note (song seconds)
    at_sec: float  # when the test pressed (song seconds, by its own clock)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    db = tmp_path_factory.mktemp("studio") / "sessions.sqlite"
    server = Studio(create_app(studio_config(db=str(db))), port=0).start_in_thread()
    server.db = str(db)  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run `make system`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _key_for(key_set: str, lane: int) -> str:
    code = next(c for c, ln in KEY_SETS[key_set].items() if ln == lane)
    return {"Semicolon": ";"}.get(code, code.removeprefix("Key").lower())


def _plan(
    level_of: list[str], offsets_ms: list[float], skip_every: list[int], key_sets: list[str]
) -> tuple[list[tuple[int, str, float, float]], list[np.ndarray]]:
    """Which notes each player presses, and how early or late (planned)."""
    chart = get_song(SONG)
    end_sec = float(chart.tempo_map.qn_to_sec(chart.tempo_map.bar_to_qn(N_BARS)))
    plan, targets = [], []
    for i, level in enumerate(level_of):
        t = chart.targets(level)
        t = t.select(t.onset_sec < end_sec - 1e-9)
        targets.append(t.onset_sec)
        for k, (sec, lane) in enumerate(zip(t.onset_sec, t.lane, strict=True)):
            if k % skip_every[i] == skip_every[i] - 1:
                continue  # this note is left out: it must come back as a miss
            plan.append(
                (
                    i,
                    _key_for(key_sets[i], int(lane)),
                    float(sec),
                    float(sec) + offsets_ms[i] / 1000.0,
                )
            )
    plan.sort(key=lambda x: x[3])
    return plan, targets


def _perform(
    plan: list[tuple[int, str, float, float]], pages: list[object], zero_sec: float
) -> list[Press]:
    """Press each key at its planned time; note when it was really pressed."""
    done = []
    for player, key, target, at in plan:
        due = zero_sec + at
        while (left := due - time.perf_counter()) > 0:
            time.sleep(left - 0.002 if left > 0.003 else 0)
        pressed = time.perf_counter()
        pages[player].keyboard.press(key)  # type: ignore[attr-defined]
        done.append(Press(player, key, target, pressed - zero_sec))
    return done


def _open_room(page, *, levels: list[str], names: list[str]) -> str:  # type: ignore[no-untyped-def]
    page.select_option("#song", SONG)
    page.fill("#name0", names[0])
    page.fill("#name1", names[1])
    page.select_option("#level0", levels[0])
    page.select_option("#level1", levels[1])
    page.fill("#bar-to", str(N_BARS))
    page.uncheck("#lesson")
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    page.wait_for_function("() => window.studio.offsetSec !== null")
    return page.inner_text("#room-code")


def _check_judgements(
    presses: list[Press],
    page_judgements: list[dict],
    stamp_tolerance_ms: float = STAMP_TOLERANCE_MS,
) -> None:
    assert len(page_judgements) == len(presses)
    for press, j in zip(presses, page_judgements, strict=True):
        assert j["verdict"] != "extra", (press, j)
        assert j["target_sec"] == pytest.approx(press.target_sec, abs=1e-5)
        pressed_ms = (press.at_sec - press.target_sec) * 1000.0
        assert j["error_ms"] == pytest.approx(pressed_ms, abs=stamp_tolerance_ms), (press, j)
        assert j["verdict"] == ("late" if pressed_ms > 0 else "early")


def test_two_players_on_one_keyboard(studio: Studio, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(studio.url)
    chart = get_song(SONG)
    levels = [chart.top_level.label, chart.levels[0].label]
    code = _open_room(page, levels=levels, names=["Aiko", "Bora"])
    page.click("[data-claim='0']")
    page.select_option("[data-input='1']", "keys2")
    page.click("[data-claim='1']")
    page.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    plan, targets = _plan(
        levels, offsets_ms=[45.0, -40.0], skip_every=[5, 4], key_sets=["keys1", "keys2"]
    )
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    room = studio.app.state.rooms.get(code)  # type: ignore[attr-defined]
    presses = _perform(plan, [page, page], room.start_sec)
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)

    judged = page.evaluate("() => window.studio.judgements")
    judged.sort(key=lambda j: j["seq"])
    _check_judgements(presses, judged)
    # the notes left out came back as misses, and nothing else did
    misses = page.evaluate("() => window.studio.misses")
    for i in range(2):
        pressed = {round(p.target_sec, 5) for p in presses if p.player == i}
        expected = sorted(
            round(float(t), 5) for t in targets[i] if round(float(t), 5) not in pressed
        )
        assert sorted(round(m["target_sec"], 5) for m in misses[i]) == expected
    # the store kept every hit, at the times the page stamped
    session_id = page.evaluate("() => window.studio.room.session_id")
    stored = Store(studio.db).load(session_id)  # type: ignore[attr-defined]
    for i, name in enumerate(["Aiko", "Bora"]):
        hits = stored.session.player(name).hits
        mine = sorted(p.at_sec for p in presses if p.player == i)
        ours = sorted(j["hit_sec"] for j in judged if j["player"] == i)
        np.testing.assert_allclose(hits.onset_sec, ours, atol=1e-6)
        np.testing.assert_allclose(hits.onset_sec, mine, atol=STAMP_TOLERANCE_MS / 1000)
    # the report page and the history
    summary = page.inner_text("#summary")
    n0 = sum(p.player == 0 for p in presses)
    assert f"Aiko: {n0} of {len(targets[0])} notes" in summary
    report = page.request.get(f"{studio.url}api/sessions/{session_id}/report")
    assert report.ok and "Aiko" in report.text() and "Bora" in report.text()
    page.wait_for_selector("#history table")
    assert "mirrorball" in page.inner_text("#history").lower() or chart.title in page.inner_text(
        "#history"
    )
    assert not errors
    page.close()
