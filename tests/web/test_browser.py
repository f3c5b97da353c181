"""End to end in headless Chromium: two players play a built-in song in the studio.

The studio runs in a thread of this process (uvicorn on a free loopback port), so the
test reads the same monotonic clock as the server: it presses keys at planned times
and knows, from its own clock, how early or late each press was. The judgements the
page shows and the session the store keeps must agree with those times.

How the test knows when a press happened: between its clock before it sent the key and
after Chromium had handled it; and, more tightly, from the event's own ``timeStamp`` in
the page, put on the test's clock by the test's own round trips to that page (the
shortest of several). On a busy machine a press may be sent late or take long to
handle; the event's stamp still says when it was, so every press is checked as tightly.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from cymbalism.live.engine import LEVEL_TOLERANCE_SEC
from cymbalism.model.chart import Level
from cymbalism.model.lanes import GM_NOTE_TO_LANE, LANE_TO_GM_NOTE, Lane
from cymbalism.model.session import DEFAULT_WINDOW_SEC
from cymbalism.songs import get_song
from cymbalism.store import Store
from cymbalism.web.app import KEY_SETS
from cymbalism.web.server import Studio

pytestmark = pytest.mark.browser

SONG = "mirrorball"
#: The room plays this many bars; the test presses notes of the first PLAY_BARS only, so
#: a press a busy machine sends late still lands inside the song.
N_BARS = 4
PLAY_BARS = 2
#: The page's clock and the server's agree to within this at least (round trips on
#: loopback take well under a millisecond; the offset's error is at most half of one); on
#: a busy machine, to within half the round trip the server's clock sync reports.
CLOCK_MARGIN_MS = 3.0
HELD_UP_MS = 30.0
#: Records the timeStamp of every key and pointer press in the page (its own clock).
STAMPS_JS = """() => {
  if (window.__stamps) return;
  window.__stamps = [];
  for (const type of ["keydown", "pointerdown"])
    window.addEventListener(type, (ev) => window.__stamps.push(ev.timeStamp), true);
}"""


@dataclass
class Press:
    player: int
    key: str
    target_sec: float  # the note (song seconds)
    planned_ms: float  # how early (-) or late (+) the test meant to press
    at_sec: float = math.nan  # the test's clock before it sent the key down (song seconds)
    until_sec: float = math.nan  # and after Chromium had handled it
    offset_ms: float = 0.0  # the player's calibrated latency, which the server takes off
    stamp_sec: float = math.nan  # the event's timeStamp on the test's clock (song seconds)
    stamp_err_ms: float = math.inf  # how far off that can be (the page's clock, the server's)
    margin_ms: float = CLOCK_MARGIN_MS  # how far off the server's clock for the page can be

    def bounds_ms(self, target_sec: float | None = None) -> tuple[float, float]:
        """The error the page must have stamped, as far as the test can know it: within
        the test's clock around the press, and within the event's own stamp."""
        target = self.target_sec if target_sec is None else target_sec
        lo = (self.at_sec - target) * 1000 - self.offset_ms - self.margin_ms
        hi = (self.until_sec - target) * 1000 - self.offset_ms + self.margin_ms
        stamp = (self.stamp_sec - target) * 1000 - self.offset_ms
        return max(lo, stamp - self.stamp_err_ms), min(hi, stamp + self.stamp_err_ms)

    @property
    def held_up(self) -> bool:
        """The test pressed well after it meant to (a busy machine): the press may then
        count for a later note of the lane, or none."""
        return (self.at_sec - self.target_sec) * 1000 - self.planned_ms > HELD_UP_MS


def _key_for(key_set: str, lane: int) -> str:
    code = next(c for c, ln in KEY_SETS[key_set].items() if ln == lane)
    return {"Semicolon": ";"}.get(code, code.removeprefix("Key").lower())


def _targets(level: str) -> np.ndarray:
    """The notes of the first bars at ``level``: (onset_sec, lane) rows."""
    chart = get_song(SONG)
    end_sec = float(chart.tempo_map.qn_to_sec(chart.tempo_map.bar_to_qn(N_BARS)))
    t = chart.targets(level)
    keep = t.onset_sec < end_sec - 1e-9
    return np.column_stack([t.onset_sec[keep], t.lane[keep]])


def _plan(
    targets: np.ndarray,
    player: int,
    key_set: str,
    *,
    skip_every: int,
    offsets_ms: tuple[float, ...],
) -> list[Press]:
    """Press every note of the first PLAY_BARS but each ``skip_every``-th, cycling through
    the planned offsets."""
    tm = get_song(SONG).tempo_map
    play_end_sec = float(tm.qn_to_sec(tm.bar_to_qn(PLAY_BARS)))
    plan = []
    for k, (sec, lane) in enumerate(targets):
        if k % skip_every == skip_every - 1 or sec >= play_end_sec - 1e-9:
            continue  # left out: it must come back as a miss
        key = (
            LANE_TO_GM_NOTE[Lane(int(lane))] if key_set == "midi" else _key_for(key_set, int(lane))
        )
        plan.append(Press(player, key, float(sec), offsets_ms[k % len(offsets_ms)]))
    return plan


def page_clock(page: Any, samples: int = 12) -> tuple[float, float]:
    """The page's clock on the test's: (test seconds at page time 0, error in seconds),
    from the shortest of a few round trips that read ``performance.now()``."""
    best = (math.inf, 0.0)
    for _ in range(samples):
        before = time.perf_counter()
        now_ms = page.evaluate("() => performance.now()")
        after = time.perf_counter()
        best = min(best, (after - before, (before + after) / 2 - now_ms / 1000))
    return best[1], best[0] / 2


def _perform(plan: list[Press], pages: list[Any], zero_sec: float) -> list[Press]:
    """Press each key at its planned time (in time order); note when it really was."""
    plan = sorted(plan, key=lambda p: p.target_sec + p.planned_ms / 1000.0)
    used = list(dict.fromkeys(pages))
    # the server's clock offset for each page is good to half the round trip of the
    # sample it uses, the shortest so far: from here on no worse than now
    rtt_ms = {}
    for page in used:
        page.evaluate(STAMPS_JS)
        rtt_ms[id(page)] = page.evaluate(
            "() => { window.__stamps = []; return window.studio.rttMs; }"
        )
    stamps: dict[int, list[float]] = {id(p): [] for p in used}
    for press in plan:
        page = pages[press.player]
        due = zero_sec + press.target_sec + press.planned_ms / 1000.0
        while (left := due - time.perf_counter()) > 0:
            time.sleep(left - 0.002 if left > 0.003 else 0)
        before = time.perf_counter()
        if isinstance(press.key, str):  # down and up in one round trip
            page.keyboard.press(press.key)
        elif isinstance(press.key, int):  # a note from the e-kit, through Web MIDI
            stamps[id(page)].append(page.evaluate("n => window.fakeKit.hit(n, 100)", press.key))
        else:  # the centre of an on-screen pad
            page.touchscreen.tap(*press.key)
        press.until_sec = time.perf_counter() - zero_sec
        press.at_sec = before - zero_sec
    # each press's own stamp, put on the test's clock (and the server's margin on top)
    for page in used:
        origin, err_sec = page_clock(page)
        margin = max(CLOCK_MARGIN_MS, rtt_ms[id(page)] / 2 + 0.5)
        got = stamps[id(page)] + page.evaluate("() => window.__stamps")
        mine = [p for p in plan if pages[p.player] is page]
        assert len(got) == len(mine), (len(got), len(mine))
        for press, ms in zip(mine, sorted(got), strict=True):
            press.stamp_sec = origin + ms / 1000 - zero_sec
            press.stamp_err_ms = err_sec * 1000 + margin
            press.margin_ms = margin
    return plan


def _open_room(page: Any, *, levels: list[str], names: list[str]) -> str:
    page.select_option("#song", SONG)
    page.fill("#name0", names[0])
    page.fill("#name1", names[1])
    page.select_option("#level0", levels[0])
    page.select_option("#level1", levels[1])
    page.fill("#bar-to", str(N_BARS))
    page.uncheck("#lesson")  # the parts stay as chosen, so the plan holds
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    page.wait_for_function("() => window.studio.offsetSec !== null")
    page.keyboard.press("x")  # an unmapped key: the first key event is slow to deliver
    return page.inner_text("#room-code")


def _expected_verdict(lo_ms: float, hi_ms: float, tolerance_ms: float) -> str | None:
    """The verdict for a press whose error lies in [lo_ms, hi_ms], or None if a boundary
    between verdicts falls inside that interval."""
    window_ms = DEFAULT_WINDOW_SEC * 1000
    if any(lo_ms <= edge <= hi_ms for edge in (-window_ms, -tolerance_ms, tolerance_ms, window_ms)):
        return None
    mid = (lo_ms + hi_ms) / 2
    if abs(mid) > window_ms:
        return "extra"
    return "on time" if abs(mid) <= tolerance_ms else "late" if mid > 0 else "early"


def _check_judgements(
    presses: list[Press], judged: list[dict[str, Any]], levels: list[str], *, min_clear: float
) -> None:
    """Each press got one judgement: its note, its verdict, its error (by the test's clock).

    A press sent late by a busy machine may count for a later note of its lane, and so
    take the note a later press was meant for: that press is then an extra hit though its
    stamp lies within its note's window, which is checked as such."""
    assert len(judged) == len(presses)
    taken = {
        (j["player"], j["target_lane"], round(j["target_sec"], 5))
        for j in judged
        if j["verdict"] != "extra"
    }
    n_clear = 0
    for press, j in zip(presses, judged, strict=True):
        assert j["player"] == press.player
        if isinstance(press.key, str):
            assert j["lane"] == LANE_OF_KEY[press.key]
        elif isinstance(press.key, int):
            assert j["lane"] == GM_NOTE_TO_LANE[press.key]
        target = press.target_sec
        if j["verdict"] != "extra" and abs(j["target_sec"] - target) > 1e-5:
            assert press.held_up, (press, j)  # only a late press may count for another note
            target = j["target_sec"]
        lo, hi = press.bounds_ms(target)
        tol_ms = LEVEL_TOLERANCE_SEC[Level.parse(levels[press.player])] * 1000
        expected = _expected_verdict(lo, hi, tol_ms)
        if expected is None:
            pass  # a boundary between verdicts lies within what the test knows
        elif j["verdict"] == "extra" and expected != "extra":
            # its note went to another press (one a busy machine sent late)
            assert (press.player, j["lane"], round(target, 5)) in taken, (press, j)
        else:
            n_clear += 1
            assert j["verdict"] == expected, (press, j)
        if j["verdict"] != "extra":
            assert lo <= j["error_ms"] <= hi, (press, j)
    # the plan keeps presses clear of the edges, and each press's own stamp says when it
    # was even when a busy machine sent it late
    widths = [round(p.bounds_ms()[1] - p.bounds_ms()[0], 1) for p in presses]
    lags = [round((p.at_sec - p.target_sec) * 1000 - p.planned_ms, 1) for p in presses]
    assert n_clear >= min_clear * len(presses), (widths, lags)


def _check_misses(
    pairs: list[tuple[Press, dict[str, Any]]],
    targets: list[np.ndarray],
    misses: list[list[dict[str, Any]]],
) -> None:
    """Exactly the notes no press counted for came back as misses; among them every note
    the test left out."""
    for i, t in enumerate(targets):

        def note(sec: float, lane: int, t: np.ndarray = t) -> int:
            k = int(np.argmin(np.abs(t[:, 0] - sec) + 1e3 * (t[:, 1] != lane)))
            assert abs(t[k, 0] - sec) < 1e-5 and t[k, 1] == lane
            return k

        hit = {
            note(j["target_sec"], j["target_lane"])
            for p, j in pairs
            if p.player == i and j["verdict"] != "extra"
        }
        missed = sorted(note(m["target_sec"], m["lane"]) for m in misses[i])
        assert missed == sorted(set(range(len(t))) - hit)
        n_left_out = len(t) - sum(p.player == i for p, _ in pairs)
        assert len(missed) >= n_left_out > 0


def _check_store(
    studio: Studio,
    session_id: int,
    names: list[str],
    presses: list[Press],
    judged: list[dict[str, Any]],
) -> None:
    """The store kept every hit at the time the engine judged, close to the press."""
    stored = Store(studio.db).load(session_id)  # type: ignore[attr-defined]
    for i, name in enumerate(names):
        hits = stored.session.player(name).hits
        engine = sorted(j["hit_sec"] for j in judged if j["player"] == i)
        np.testing.assert_allclose(hits.onset_sec, engine, atol=1e-6)
        mine = sorted((p for p in presses if p.player == i), key=lambda p: p.at_sec)
        lo = np.array([p.at_sec - (p.offset_ms + p.margin_ms) / 1000 for p in mine])
        hi = np.array([p.until_sec - (p.offset_ms - p.margin_ms) / 1000 for p in mine])
        assert ((hits.onset_sec >= lo) & (hits.onset_sec <= hi)).all()


KEYS = ["keys1", "keys2"]
LANE_OF_KEY = {_key_for(ks, int(lane)): int(lane) for ks in KEYS for lane in Lane}
LABEL_TO_LANE = {lane.label: int(lane) for lane in Lane}


def test_two_players_share_one_keyboard(studio: Studio, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(studio.url)
    chart = get_song(SONG)
    levels = [chart.top_level.label, chart.levels[0].label]
    names = ["Aiko", "Bora"]
    code = _open_room(page, levels=levels, names=names)
    page.click("[data-claim='0']")
    page.select_option("[data-input='1']", "keys2")
    page.click("[data-claim='1']")
    page.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    targets = [_targets(lv) for lv in levels]
    plan = _plan(targets[0], 0, "keys1", skip_every=5, offsets_ms=(35.0, -50.0)) + _plan(
        targets[1], 1, "keys2", skip_every=4, offsets_ms=(-10.0,)
    )
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    room = studio.app.state.rooms.get(code)  # type: ignore[attr-defined]
    presses = _perform(plan, [page, page], room.start_sec)
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)

    judged = sorted(page.evaluate("() => window.studio.judgements"), key=lambda j: j["seq"])
    _check_judgements(presses, judged, levels, min_clear=0.4)
    pairs = list(zip(presses, judged, strict=True))
    _check_misses(pairs, targets, page.evaluate("() => window.studio.misses"))
    session_id = page.evaluate("() => window.studio.room.session_id")
    _check_store(studio, session_id, names, presses, judged)
    # the summary on the report page counts what was pressed
    summary = page.inner_text("#summary")
    for i, name in enumerate(names):
        n = sum(p.player == i and j["verdict"] != "extra" for p, j in pairs)
        assert f"{name}: {n} of {len(targets[i])} notes" in summary
    page.wait_for_selector("#history table")
    assert chart.title in page.inner_text("#history")
    # the session report (the same one `cymbalism report` writes) agrees with the presses
    key = page.evaluate("() => window.studio.key")
    src = f"/api/sessions/{session_id}/report?key={key}"
    assert page.get_attribute("#report-frame", "src") == src
    assert page.request.get(f"{studio.url}api/sessions/{session_id}/report").status == 404
    html = page.request.get(f"{studio.url}{src[1:]}").text()
    figures = json.loads(
        re.search(r'id="cymbalism-figures">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    )
    for i, fig in enumerate(figures["players"]):
        counted = [j["error_ms"] for p, j in pairs if p.player == i and j["verdict"] != "extra"]
        assert fig["name"] == names[i]
        assert fig["hits"] == sum(p.player == i for p in presses)
        assert (fig["n_notes"], fig["n_hit"]) == (len(targets[i]), len(counted))
        assert fig["mean_error_sec"] * 1000 == pytest.approx(np.mean(counted), abs=0.01)
    assert not errors
    page.close()


BAD_CLIENT_JS = """([url, delayMs, kind]) => {
  window.wsClosed = new Promise((resolve) => setTimeout(() => {
    const ws = new WebSocket(url);
    ws.onopen = () => {
      const bad = {type: "hit", player: 1, t_ms: 1, lane: "kick!"};
      if (kind === "garbage") ws.send(JSON.stringify(bad));
      else for (let k = 0; k < 500; k++) ws.send(JSON.stringify({type: "ping", client_ms: k}));
    };
    ws.onclose = (ev) => resolve({code: ev.code, reason: ev.reason});
  }, delayMs));
}"""


def test_second_device_joins_with_the_code_and_bad_clients_are_cut_off(
    studio: Studio, browser: Any
) -> None:
    host = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    laptop = browser.new_context(viewport={"width": 1100, "height": 800}).new_page()
    rogue = browser.new_context().new_page()
    errors: list[str] = []
    for page in (host, laptop):
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(studio.url)
    chart = get_song(SONG)
    levels = [chart.top_level.label, chart.levels[0].label]
    names = ["Host", "Guest"]
    code = _open_room(host, levels=levels, names=names)
    host.click("[data-claim='0']")
    # the second player joins from another computer with the room code
    laptop.fill("#join-code", code.lower())
    laptop.click("#join")
    laptop.wait_for_selector("#lobby:not([hidden])")
    laptop.wait_for_function("() => window.studio.offsetSec !== null")
    laptop.keyboard.press("x")  # an unmapped key: the first key event is slow to deliver
    laptop.select_option("[data-input='1']", "keys1")  # its own keyboard: the left-hand keys
    laptop.click("[data-claim='1']")
    host.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    targets = [_targets(lv) for lv in levels]
    plan = [
        _plan(targets[0], 0, "keys1", skip_every=6, offsets_ms=(-50.0, 35.0)),
        _plan(targets[1], 1, "keys1", skip_every=3, offsets_ms=(35.0, -10.0)),
    ]
    # the bad clients, both from the studio's own page (a socket from another origin is
    # not even opened), are loaded before the count-in, which is short
    rogue.goto(studio.url)
    flood = browser.new_context().new_page()
    flood.goto(studio.url)
    host.click("#start")
    laptop.wait_for_selector("#play:not([hidden])")
    host.wait_for_selector("#play:not([hidden])")
    room = studio.app.state.rooms.get(code)  # type: ignore[attr-defined]
    # mid-song, one client sends garbage and another floods
    url = f"ws://127.0.0.1:{studio.port}/ws/{code}"
    delay_ms = max(0.0, (room.start_sec + 1.0 - time.perf_counter()) * 1000)
    rogue.evaluate(BAD_CLIENT_JS, [url, delay_ms, "garbage"])
    flood.evaluate(BAD_CLIENT_JS, [url, delay_ms + 500, "flood"])
    presses = _perform(plan[0] + plan[1], [host, laptop], room.start_sec)
    host.wait_for_selector("#report:not([hidden])", timeout=15_000)
    laptop.wait_for_selector("#report:not([hidden])", timeout=15_000)

    assert rogue.evaluate("() => window.wsClosed") == {
        "code": 1008,
        "reason": "bad message: hit.lane: Input should be a valid integer (got 'kick!')",
    }
    flooded = flood.evaluate("() => window.wsClosed")
    assert flooded["code"] == 1008 and flooded["reason"].startswith("too many messages")
    # each device judged its own player's presses; the host saw the laptop's judgements too
    mine = [
        sorted(
            (j for j in p.evaluate("() => window.studio.judgements") if j["player"] == i),
            key=lambda j: j["seq"],
        )
        for i, p in enumerate((host, laptop))
    ]
    for i in range(2):
        _check_judgements([p for p in presses if p.player == i], mine[i], levels, min_clear=0.4)
    seen_by_host = [j for j in host.evaluate("() => window.studio.judgements") if j["player"] == 1]
    assert sorted(j["hit_sec"] for j in seen_by_host) == sorted(j["hit_sec"] for j in mine[1])
    pairs = [
        (p, j)
        for i in range(2)
        for p, j in zip([p for p in presses if p.player == i], mine[i], strict=True)
    ]
    _check_misses(pairs, targets, host.evaluate("() => window.studio.misses"))
    session_id = host.evaluate("() => window.studio.room.session_id")
    assert laptop.evaluate("() => window.studio.room.session_id") == session_id
    _check_store(studio, session_id, names, presses, mine[0] + mine[1])
    assert not errors
    for page in (host, laptop, rogue, flood):
        page.context.close()


def test_touch_pads_on_a_tablet(studio: Studio, browser: Any) -> None:
    """Two people share a tablet, each with on-screen pads (pointer events)."""
    tablet = browser.new_context(
        viewport={"width": 800, "height": 1100}, has_touch=True, is_mobile=True
    ).new_page()
    tablet.goto(studio.url)
    chart = get_song(SONG)
    levels = [chart.top_level.label, chart.levels[0].label]
    code = _open_room(tablet, levels=levels, names=["Left", "Right"])
    for i in range(2):
        tablet.select_option(f"[data-input='{i}']", "touch")
        tablet.click(f"[data-claim='{i}']")
    tablet.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    targets = [_targets(lv) for lv in levels]
    # a tap blocks the test until Chromium acknowledges it, a frame or more later, so the
    # test only knows a tap's time to within that; it taps one player's note per beat
    plan = _plan(targets[0], 0, "keys1", skip_every=2, offsets_ms=(0.0,))
    plan = [p for p in plan if p.key in ("f", "s")][:6]
    tablet.click("#start")
    tablet.wait_for_selector("#play:not([hidden])")
    centre = {}
    for pad in tablet.locator(".pad.p0").all():
        box = pad.bounding_box()
        centre[LABEL_TO_LANE[pad.inner_text()]] = (
            box["x"] + box["width"] / 2,
            box["y"] + box["height"] / 2,
        )
    for press in plan:
        press.key = centre[LANE_OF_KEY[press.key]]  # type: ignore[assignment]
    room = studio.app.state.rooms.get(code)  # type: ignore[attr-defined]
    presses = _perform(plan, [tablet, tablet], room.start_sec)
    tablet.click("#stop")
    tablet.wait_for_selector("#report:not([hidden])", timeout=15_000)
    judged = sorted(tablet.evaluate("() => window.studio.judgements"), key=lambda j: j["seq"])
    assert len(judged) == len(presses)
    for press, j in zip(presses, judged, strict=True):
        lo, hi = press.bounds_ms()
        assert j["player"] == 0 and j["verdict"] != "extra"
        assert j["target_sec"] == pytest.approx(press.target_sec, abs=1e-5)
        assert lo <= j["error_ms"] <= hi
    tablet.context.close()


#: The e-kit at the hardware boundary: Web MIDI's access object with one input, whose
#: messages the test sends (stamped with the page's clock, as Chromium stamps real ones).
FAKE_WEB_MIDI_JS = """(() => {
  const input = {id: "kit-1", name: "TD-17 (USB)", manufacturer: "Roland", type: "input",
                 state: "connected", connection: "open", onmidimessage: null};
  const access = {inputs: new Map([[input.id, input]]), outputs: new Map(),
                  sysexEnabled: false, onstatechange: null};
  navigator.requestMIDIAccess = async () => access;
  const send = (bytes) => {
    const ev = {data: new Uint8Array(bytes), timeStamp: performance.now()};
    if (input.onmidimessage) input.onmidimessage(ev);
    return ev.timeStamp;
  };
  window.fakeKit = {
    send,
    hit: (note, velocity) => send([0x99, note, velocity]),
    // strike along with the calibration clicks, lateMs after each (timers are not exact:
    // how late each strike really was is kept)
    lateness: [],
    tapAlong(lateMs) {
      for (const c of window.studio.calib.clicks)
        setTimeout(() => window.fakeKit.lateness.push(send([0x99, 38, 100]) - c),
                   c + lateMs - performance.now());
    },
  };
})()"""


def test_an_e_kit_over_web_midi_calibrated_in_the_page(studio: Studio, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(FAKE_WEB_MIDI_JS)
    page.goto(studio.url)
    chart = get_song(SONG)
    levels = [chart.top_level.label, chart.levels[0].label]
    code = _open_room(page, levels=levels, names=["Kit", "Keys"])
    page.select_option("[data-input='0']", "midi")
    page.wait_for_selector(".slot.p0 .input-detail select")
    assert "TD-17 (USB)" in page.inner_text(".slot.p0 .input-detail")
    page.click("[data-claim='0']")
    page.select_option("[data-input='1']", "keys2")
    page.click("[data-claim='1']")
    page.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")

    # calibration in the page: the drummer strikes 40 ms after each of the clicks
    page.click("[data-calib='0']")
    page.wait_for_function("() => window.studio.calib && window.studio.calib.clicks")
    page.evaluate("() => window.fakeKit.tapAlong(40)")
    page.wait_for_function(
        "() => document.querySelector('#lobby-msg').textContent.startsWith('Latency offset')",
        timeout=15_000,
    )
    room = studio.app.state.rooms.get(code)  # type: ignore[attr-defined]
    # the page says the offset, then sends it: wait until the room has it
    deadline = time.monotonic() + 10.0
    while room.slots[0].offset_sec == 0.0 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    offset_ms = room.slots[0].offset_sec * 1000
    lateness = page.evaluate("() => window.fakeKit.lateness")
    assert len(lateness) == 8 and min(lateness) > 35.0  # timers may fire a little early
    assert offset_ms == pytest.approx(float(np.median(lateness)), abs=1e-6)
    assert f"{offset_ms:.1f} ms" in page.inner_text("#lobby-msg")
    page.wait_for_function(
        "ms => document.querySelector('.slot.p0 .who').textContent.includes(`latency ${ms} ms`)",
        arg=f"{offset_ms:.1f}",
    )

    # play: the kit's notes are judged with the calibrated latency taken off
    targets = _targets(levels[0])
    plan = _plan(targets, 0, "midi", skip_every=5, offsets_ms=(35.0, -50.0))
    for press in plan:
        press.offset_ms = offset_ms
        press.planned_ms += offset_ms  # the kit's sound reaches the page this much later
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    # what an e-kit also sends, none of it a hit: note-offs, a note-on at velocity 0 (a
    # note-off too), a control change (the hi-hat pedal's position), a note that is no drum
    for noise in ([0x89, 38, 0], [0x99, 38, 0], [0xB9, 4, 90], [0x99, 100, 90]):
        page.evaluate("b => window.fakeKit.send(b)", noise)
    presses = _perform(plan, [page], room.start_sec)
    page.click("#stop")
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)
    judged = sorted(page.evaluate("() => window.studio.judgements"), key=lambda j: j["seq"])
    _check_judgements(presses, judged, levels, min_clear=0.4)
    session_id = page.evaluate("() => window.studio.room.session_id")
    stored = Store(studio.db).load(session_id).session.player("Kit").hits  # type: ignore[attr-defined]
    assert len(stored) == len(presses)
    _check_store(studio, session_id, ["Kit"], presses, judged)
    assert not errors
    page.close()
