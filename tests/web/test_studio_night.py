"""The studio on a real night, in headless Chromium at desktop (1280x800) and phone
(390x844) sizes: a reload mid-song rejoins, a partner's tab closes, two players share a
keyboard with the right keys, calibration is remembered and works with pads, the
practice tools play the right bars, and no screen is wider than the phone.

Screenshots of every screen are written to ``$CYMBALISM_SCREENSHOTS`` (the README's
``docs/screenshots/`` when it is set so), or to a temporary folder.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cymbalism.songs import get_song
from cymbalism.store import Store
from cymbalism.web.app import song_sections
from cymbalism.web.server import Studio
from tests.web.test_browser import SONG, _key_for

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}


def _page(browser: Any, viewport: dict[str, int], *, touch: bool = False) -> Any:
    ctx = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def _open_room(page: Any, studio: Studio, names: list[str], **form: Any) -> str:
    """Fill the setup form (song, names, levels, practice) and open the room."""
    page.goto(studio.url)
    page.wait_for_function("() => !document.querySelector('#create').disabled")
    page.select_option("#song", form.get("song", SONG))
    page.fill("#name0", names[0])
    page.fill("#name1", names[1])
    chart = get_song(form.get("song", SONG))
    page.select_option("#level0", chart.top_level.label)
    page.select_option("#level1", chart.levels[0].label)
    page.uncheck("#lesson")
    if "mode" in form:
        page.select_option("#practice-mode", form["mode"])
    if "section" in form:
        page.select_option("#section", label=form["section"])
    for field in ("loop-a", "loop-b", "repeats", "ramp", "tempo", "bar-to"):
        if field in form:
            page.fill(f"#{field}", str(form[field]))
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    page.wait_for_function("() => window.studio.offsetSec !== null")
    page.keyboard.press("x")  # an unmapped key: the first key event is slow to deliver
    return str(page.inner_text("#room-code"))


def _no_overflow(page: Any, what: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], f"{what}: {widths[:2]} px wide on a {widths[2]} px screen"


def _shot(page: Any, shots: Path, name: str) -> None:
    size = "phone" if page.viewport_size["width"] < 700 else "desktop"
    page.screenshot(path=str(shots / f"{name}-{size}.png"))


def _room(studio: Studio, code: str) -> Any:
    return studio.app.state.rooms.get(code)  # type: ignore[attr-defined]


def _press_at(page: Any, key: str, at_perf_sec: float) -> None:
    while time.perf_counter() < at_perf_sec:
        time.sleep(0.001)
    page.keyboard.press(key)


# ---------------------------------------------------------------- staying in the song
def test_two_players_on_one_keyboard_get_both_key_sets_and_a_reload_rejoins(
    studio: Studio, browser: Any
) -> None:
    page = _page(browser, DESKTOP)
    code = _open_room(page, studio, ["Aiko", "Bora"], **{"bar-to": 4})
    page.click("[data-claim='0']")
    page.click("[data-claim='1']")  # the default: no input chosen by hand
    page.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    assert page.evaluate("() => window.studio.inputs") == ["keys1", "keys2"]
    assert [p.input for p in _room(studio, code).slots] == ["keys1", "keys2"]
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    help0 = page.inner_text("[data-help='0']")
    help1 = page.inner_text("[data-help='1']")
    assert help0.startswith("Aiko") and "F kick" in help0 and "J kick" not in help0
    assert help1.startswith("Bora") and "J kick" in help1 and "F kick" not in help1
    room = _room(studio, code)
    chart = get_song(SONG)
    kick = chart.targets(chart.top_level)
    kick_sec = kick.onset_sec[kick.lane == 0]
    easy = chart.targets(chart.levels[0])
    easy_kick = easy.onset_sec[easy.lane == 0]
    # before the reload: both players strike the first kicks, each with their own keys
    first = [s for s in kick_sec if 0.4 < s < 2.5][:2]
    theirs = [s for s in easy_kick if 0.4 < s < 3.0 and all(abs(s - x) > 0.15 for x in first)][:1]
    plan = sorted([(s, "keys1") for s in first] + [(s, "keys2") for s in theirs])
    for s, keys in plan:
        _press_at(page, _key_for(keys, 0), room.start_sec + s)
    page.wait_for_function("() => window.studio.judgements.length >= 3")
    before = page.evaluate("() => window.studio.judgements.map(j => [j.player, j.verdict])")
    assert {p for p, _ in before} == {0, 1}
    assert all(v != "extra" for _, v in before), before
    page.reload()
    # back in the song, with the same seats, and the song so far drawn again
    page.wait_for_selector("#play:not([hidden])")
    page.wait_for_function("() => window.studio.startLocalMs !== null")
    page.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    assert page.evaluate("() => [...window.studio.mine].sort()") == [0, 1]
    assert page.evaluate("() => window.studio.inputs") == ["keys1", "keys2"]
    assert (
        page.evaluate("() => window.studio.judged[0].length + window.studio.judged[1].length") >= 3
    )
    drawn = page.evaluate("() => window.studio.bars.map(b => b.bar)")
    assert drawn[:2] == [1, 2]
    now_sec = time.perf_counter() - room.start_sec
    assert page.evaluate("() => window.studio.players[0].sec.length") > 0
    assert room.state == "playing" and now_sec < room._engine.end_sec - room.start_sec
    # and it plays on: a kick after the reload is judged for Aiko
    page.keyboard.press("x")
    later = [s for s in kick_sec if s > now_sec + 0.8][:1]
    assert later, "the song ended before the reload was back"
    _press_at(page, _key_for("keys1", 0), room.start_sec + later[0])
    page.wait_for_function(
        "t => window.studio.judgements.some("
        "j => j.player === 0 && Math.abs(j.target_sec - t) < 1e-4)",
        arg=float(later[0]),
    )
    page.click("#stop")
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)
    session_id = page.evaluate("() => window.studio.room.session_id")
    hits = Store(studio.db).load(session_id).session.player("Aiko").hits  # type: ignore[attr-defined]
    assert len(hits) == len(first) + 1  # the hits before the drop are kept
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("host_on_phone", [False, True], ids=["desktop-stays", "phone-stays"])
def test_a_partner_closing_their_tab_is_announced_and_the_others_play_on(
    studio: Studio, browser: Any, shots: Path, host_on_phone: bool
) -> None:
    """Cleo plays on a phone and Tom on a computer, or the other way round; Cleo's tab
    closes mid-song."""
    host = _page(browser, PHONE, touch=True) if host_on_phone else _page(browser, DESKTOP)
    phone = _page(browser, DESKTOP) if host_on_phone else _page(browser, PHONE, touch=True)
    code = _open_room(host, studio, ["Tom", "Cleo"], mode="loop-bars", **{"loop-a": 1, "loop-b": 2})
    if host_on_phone:
        host.select_option("[data-input='0']", "touch")
    host.click("[data-claim='0']")
    phone.goto(studio.url)
    phone.wait_for_function("() => !document.querySelector('#create').disabled")
    phone.fill("#join-code", code)
    phone.click("#join")
    phone.wait_for_selector("#lobby:not([hidden])")
    phone.select_option("[data-input='1']", "keys1" if host_on_phone else "touch")
    phone.click("[data-claim='1']")
    host.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    host.click("#start")
    phone.wait_for_selector("#play:not([hidden])")
    room = _room(studio, code)
    while time.perf_counter() < room.start_sec + 1.2:
        time.sleep(0.02)
    on_phone = host if host_on_phone else phone
    _no_overflow(on_phone, "play on the phone")
    # the phone's readouts sit above its pads, not under them
    pads_top = on_phone.evaluate(
        "() => document.querySelector('#pads').getBoundingClientRect().top"
    )
    bottom = on_phone.evaluate(
        "() => Math.max(...['#readout0', '#readout1', '#lanes'].map("
        "s => document.querySelector(s).getBoundingClientRect().bottom))"
    )
    assert bottom <= pads_top + 0.5, (bottom, pads_top)
    if not host_on_phone:
        _shot(phone, shots, "play")
    phone.context.close()
    host.wait_for_selector("#notice:not([hidden])")
    text = host.inner_text("#notice-text")
    assert re.fullmatch(r"Cleo left at 0:0[1-3]; waiting", text), text
    assert 1.0 < room.slots[1].left_sec < 4.0
    assert host.is_visible("#notice-on") and host.is_visible("#notice-end")
    _no_overflow(host, "the notice")
    _shot(host, shots, "partner-left")
    host.click("#notice-on")  # play on alone
    assert host.is_hidden("#notice")
    assert room.state == "playing"
    host.click("#stop")
    host.wait_for_selector("#report:not([hidden])", timeout=15_000)
    assert not host.errors, host.errors
    host.context.close()


# ---------------------------------------------------------------- calibration
TAP_ALONG_JS = """([lateMs, selector]) => {
  // strike lateMs after every calibration click: a key, or a pointer on a pad
  for (const c of window.studio.calib.clicks)
    setTimeout(() => {
      if (selector) {
        const pad = document.querySelector(selector);
        pad.dispatchEvent(new PointerEvent("pointerdown", {bubbles: true, pointerType: "touch"}));
      } else window.dispatchEvent(new KeyboardEvent("keydown", {code: "KeyF", key: "f"}));
    }, c + lateMs - performance.now());
  window.lightSeen = false;
  const light = document.querySelector(".beat-light");
  new MutationObserver(() => { if (light.classList.contains("on")) window.lightSeen = true; })
    .observe(light, {attributes: true});
}"""


def _calibrate(
    page: Any, player: int, late_ms: float, pad: str | None = None, shot: Path | None = None
) -> float:
    page.click(f"[data-calib='{player}']")
    page.wait_for_function("() => window.studio.calib && window.studio.calib.clicks")
    page.evaluate(TAP_ALONG_JS, [late_ms, pad])
    if shot is not None:
        page.wait_for_function("() => window.lightSeen", timeout=5_000)
        _shot(page, shot, "calibrate")
    page.wait_for_function(
        "() => document.querySelector('#lobby-msg').textContent.startsWith('Latency offset')",
        timeout=15_000,
    )
    assert page.evaluate("() => window.lightSeen")  # the click is seen, not only heard
    return float(re.search(r"set to (-?[\d.]+) ms", page.inner_text("#lobby-msg")).group(1))  # type: ignore[union-attr]


def test_calibration_is_remembered_for_the_player_and_input_in_the_next_room(
    studio: Studio, browser: Any, shots: Path
) -> None:
    page = _page(browser, DESKTOP)
    code = _open_room(page, studio, ["Mara", "Nils"])
    page.click("[data-claim='0']")
    assert "not measured" in page.inner_text(".slot.p0 .who")
    measured = _calibrate(page, 0, 45.0, shot=shots)
    assert 40.0 <= measured <= 80.0  # timers fire late on a busy machine, never early by 5 ms
    slot = _room(studio, code).slots[0]
    assert slot.offset_source == "measured"
    store = Store(studio.db)  # type: ignore[attr-defined]
    page.wait_for_function(
        "() => document.querySelector('.slot.p0 .who').textContent.includes('just measured')"
    )
    deadline = time.monotonic() + 5
    while store.calibration("browser keys1", player="Mara") is None:
        assert time.monotonic() < deadline, "the calibration was not stored"
        time.sleep(0.05)
    assert store.calibration("browser keys1", player="Mara") * 1000 == pytest.approx(
        slot.offset_sec * 1000
    )
    assert store.calibration("browser keys1", player="Nils") is None
    # a new room the next day: Mara's latency is offered again; Nils has none
    code2 = _open_room(page, studio, ["Mara", "Nils"])
    page.click("[data-claim='0']")
    page.click("[data-claim='1']")
    page.wait_for_function(
        "() => document.querySelector('.slot.p0 .who').textContent.includes('remembered')"
    )
    room2 = _room(studio, code2)
    assert room2.slots[0].offset_source == "remembered"
    assert room2.slots[0].offset_sec == pytest.approx(slot.offset_sec)
    assert room2.slots[1].offset_source == "none" and room2.slots[1].offset_sec == 0.0
    assert f"latency {round(slot.offset_sec * 1000, 1)} ms, remembered" in page.inner_text(
        ".slot.p0 .who"
    )
    _no_overflow(page, "lobby")
    _shot(page, shots, "lobby")
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, SMALL_PHONE], ids=["390", "360"])
def test_touch_players_calibrate_with_pads(
    studio: Studio, browser: Any, shots: Path, viewport: dict[str, int]
) -> None:
    page = _page(browser, viewport, touch=True)
    code = _open_room(page, studio, ["Pia", "Quin"])
    page.select_option("[data-input='0']", "touch")
    page.click("[data-claim='0']")
    if viewport is PHONE:
        _shot(page, shots, "lobby")
    page.click("[data-calib='0']")
    page.wait_for_selector("[data-calib-box='0'] .pad")
    # the pads and the message are on screen while calibrating
    assert page.locator("[data-calib-box='0'] .pad").first.is_visible()
    msg = page.evaluate(
        "() => document.querySelector('#lobby-msg').getBoundingClientRect().toJSON()"
    )
    assert 0 <= msg["top"] and msg["bottom"] <= viewport["height"], msg
    _no_overflow(page, "calibration with pads")
    if viewport is PHONE:
        _shot(page, shots, "calibrate")
    page.wait_for_function("() => !window.studio.calib", timeout=15_000)
    page.evaluate("() => document.querySelector('#lobby-msg').textContent = ''")
    measured = _calibrate(page, 0, 30.0, "[data-calib-box='0'] .pad")
    assert 25.0 <= measured <= 70.0
    slot = _room(studio, code).slots[0]
    assert slot.input == "touch" and slot.offset_sec * 1000 == pytest.approx(
        max(-250, min(500, measured)), abs=0.06
    )
    assert not page.errors, page.errors
    page.context.close()


# ---------------------------------------------------------------- practice
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_looped_section_plays_its_bars_with_the_ramp_and_tips_between(
    studio: Studio, browser: Any, shots: Path, viewport: dict[str, int]
) -> None:
    page = _page(browser, viewport)
    code = _open_room(
        page,
        studio,
        ["Rui", "Sol"],
        mode="loop-bars",
        tempo=80,
        repeats=2,
        ramp=10,
        **{"loop-a": 3, "loop-b": 4},
    )
    assert _room(studio, code).public()["practice"]["loop_bars"] == [3, 4]
    assert "loop bars 3–4 × 2" in page.inner_text("#lobby-practice")
    page.click("[data-claim='0']")
    page.click("[data-claim='1']")
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    page.wait_for_selector("#tips:not([hidden])", timeout=20_000)
    tips = page.inner_text("#tips")
    assert tips.startswith("After time 1 of 2. Next: time 2 of 2 at 90%.")
    assert "Rui" in tips and "Sol" in tips
    _no_overflow(page, "tips between loops")
    _shot(page, shots, "loop-tips")
    page.wait_for_selector("#report:not([hidden])", timeout=20_000)
    bars = page.evaluate("() => window.studio.bars.map(b => [b.bar, b.pass, b.tempo])")
    assert bars == [[3, 1, 80], [4, 1, 80], [3, 2, 90], [4, 2, 90]]
    # the notes of each time through are the chart's bars 3-4, at that time's tempo
    chart = get_song(SONG)
    tm = chart.tempo_map
    q3, q5 = (float(x) for x in tm.bar_to_qn(np.array([2, 4])))
    part = chart.part(chart.top_level).between(q3, q5)
    notes = np.array(page.evaluate("() => window.studio.players[0].sec"))
    assert len(notes) == 2 * len(part)
    for k, tempo in enumerate((0.8, 0.9)):
        got = notes[k * len(part) : (k + 1) * len(part)]
        want = (tm.qn_to_sec(part.qn) - tm.qn_to_sec(q3)) / tempo
        np.testing.assert_allclose(got - got[0], want - want[0], atol=1e-5)
    assert "Tips" in page.inner_text("#end-tips") or page.inner_text("#end-tips") == ""
    assert not page.errors, page.errors
    page.context.close()


def test_start_at_a_section_plays_from_its_first_bar(studio: Studio, browser: Any) -> None:
    chart = get_song(SONG)
    last = song_sections(chart)[-1]
    page = _page(browser, DESKTOP)
    code = _open_room(
        page,
        studio,
        ["Uma", "Vic"],
        mode="from",
        section=f"{last['name']} (bars {last['first_bar']}–{last['last_bar']})",
    )
    page.click("[data-claim='0']")
    page.click("[data-claim='1']")
    page.click("#start")
    page.wait_for_function("() => window.studio.bars.length >= 1")
    assert _room(studio, code).public()["practice"]["start_bar"] == last["first_bar"]
    page.wait_for_selector("#report:not([hidden])", timeout=30_000)
    bars = page.evaluate("() => window.studio.bars.map(b => b.bar)")
    assert bars == list(range(last["first_bar"], chart.n_bars + 1))
    assert not page.errors, page.errors
    page.context.close()


# ---------------------------------------------------------------- every screen, any size
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE, SMALL_PHONE], ids=["1280", "390", "360"])
def test_no_screen_is_wider_than_the_device(
    studio: Studio, browser: Any, shots: Path, viewport: dict[str, int]
) -> None:
    page = _page(browser, viewport)
    page.goto(studio.url)
    page.wait_for_function("() => !document.querySelector('#create').disabled")
    page.select_option("#song", "alley-shuffle")  # the longest title in the list
    _no_overflow(page, "setup")
    shoot = viewport is not SMALL_PHONE
    if shoot:
        _shot(page, shots, "setup")
    page.select_option("#practice-mode", "loop-bars")
    _no_overflow(page, "setup with a loop")
    if shoot:
        _shot(page, shots, "setup-loop")
    _open_room(page, studio, ["Wendeline", "Xaverius"], **{"bar-to": 2})
    _no_overflow(page, "lobby")
    page.click("[data-claim='0']")
    page.click("[data-claim='1']")
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    page.wait_for_timeout(1500)
    _no_overflow(page, "play")
    if shoot and viewport is DESKTOP:
        _shot(page, shots, "play")
    page.wait_for_selector("#report:not([hidden])", timeout=20_000)
    page.wait_for_selector("#history table")
    page.wait_for_timeout(300)
    _no_overflow(page, "end")
    # nor does the history hide columns in a box the player must scroll sideways
    boxes = page.evaluate(
        "() => [...document.querySelectorAll('#history .table-wrap')]"
        ".map(e => [e.scrollWidth, e.clientWidth])"
    )
    assert boxes and all(w <= c for w, c in boxes), f"the history scrolls sideways: {boxes}"
    if shoot:
        _shot(page, shots, "end")
    assert not page.errors, page.errors
    page.context.close()


# ---------------------------------------------------------------- contrast
def _luminance(color: str) -> float:
    c = color.strip()
    if c.startswith("#"):
        rgb = [int(c[k : k + 2], 16) for k in (1, 3, 5)]
    else:
        rgb = [int(float(x)) for x in re.findall(r"[\d.]+", c)[:3]]
    lin = [
        (v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb
    ]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (``#rrggbb`` or ``rgb(r, g, b)``)."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_ratio_matches_the_wcag_examples() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


CSS_TEXT_JS = """() => {
  // every visible text element's colour and the background it sits on
  const bg = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && !c.endsWith(", 0)") && c !== "transparent") return c;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (!el.offsetParent || ["CANVAS", "IFRAME", "SCRIPT"].includes(el.tagName)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const st = getComputedStyle(el);
    if (parseFloat(st.opacity) < 1) continue;
    out.push([el.id || el.className || el.tagName, st.color, bg(el)]);
  }
  return out;
}"""


def test_text_contrast_is_at_least_4_5(studio: Studio, browser: Any) -> None:
    page = _page(browser, DESKTOP)
    _open_room(page, studio, ["Yan", "Zoe"], **{"bar-to": 2})
    page.click("[data-claim='0']")
    page.click("[data-claim='1']")
    found = page.evaluate(CSS_TEXT_JS)
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    page.wait_for_timeout(800)
    found += page.evaluate(CSS_TEXT_JS)
    low = [(w, fg, bg, round(contrast(fg, bg), 2)) for w, fg, bg in found if contrast(fg, bg) < 4.5]
    assert not low, low
    lowest = min(found, key=lambda x: contrast(x[1], x[2]))
    print(f"page text: {len(found)} elements, lowest {contrast(*lowest[1:]):.2f}:1 {lowest}")
    # what the highway draws on its canvas
    pairs = page.evaluate("() => window.studio.palette.TEXT_PAIRS")
    ratios = {what: round(contrast(fg, bg), 2) for what, fg, bg in pairs}
    assert min(ratios.values()) >= 4.5, ratios
    print(f"highway text: {ratios}")
    page.context.close()
