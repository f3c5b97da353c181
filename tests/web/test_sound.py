"""The studio page's sound in headless Chromium, instrumented at Web Audio.

An init script wraps ``AudioBufferSourceNode.prototype.start`` and the AudioWorklet's
``MessagePort.postMessage`` (Signalsmith Stretch's time map) to record every sound the
page schedules on the audio clock, and records each key press's ``timeStamp``. The
checks: the song's recording starts at song zero's scheduled time, a key press starts
its drum sample at the press's own timestamp (before the hit goes to the server), a
partner's stroke from another device sounds once, and the stretched music stays on the
chart's clock (rendered in an OfflineAudioContext, so three minutes take seconds).
"""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import Engine, LiveOptions
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Settings
from cymbalism.model.tempo import TempoMap
from cymbalism.sound.audio import read_audio_file
from cymbalism.sound.kit import KIT_DIR
from cymbalism.sound.music import bar_maps
from cymbalism.web.server import Studio

pytestmark = pytest.mark.browser

SONG = "mirrorball"

#: Records what the page schedules on the audio clock.
INSTRUMENT_JS = """(() => {
  const rec = window.__sound = {starts: [], stretch: [], keys: [], sends: []};
  const start = AudioBufferSourceNode.prototype.start;
  // song zero on the audio clock as the page maps it at this call (the map may move later)
  const zero = () => {
    const snd = window.cymbalismSound, st = window.studio;
    return snd && st && st.startLocalMs != null ? snd.clock.audioTimeOf(st.startLocalMs) : null;
  };
  AudioBufferSourceNode.prototype.start = function (when = 0, offset = 0, ...rest) {
    const snd = window.cymbalismSound;
    rec.starts.push({when, offset, zero: zero(), map: snd ? snd.clock.offsetSec : null,
                     length: this.buffer ? this.buffer.length : 0,
                     channels: this.buffer ? this.buffer.numberOfChannels : 0,
                     called: performance.now(), now: this.context.currentTime,
                     offline: this.context instanceof OfflineAudioContext});
    return start.call(this, when, offset, ...rest);
  };
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (data, ...rest) {
    if (Array.isArray(data) && data[1] === "schedule") rec.stretch.push({...data[2], zero: zero()});
    return post.call(this, data, ...rest);
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (text) {
    if (String(text).includes('"hit"')) rec.sends.push(performance.now());
    return send.call(this, text);
  };
  window.addEventListener("keydown", (ev) => rec.keys.push({code: ev.code, t: ev.timeStamp}), true);
})()"""


def _frames(name: str) -> int:
    return int(sf.info(str(KIT_DIR / name)).frames)


def _page(browser: Any, studio: Studio, errors: list[str], **kw: Any) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **kw).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(INSTRUMENT_JS)
    page.goto(studio.url)
    page.wait_for_function("() => window.cymbalismSound && window.studio.songs.length")
    return page


def _open_room(page: Any, *, tempo: int = 100, bars: int = 2) -> str:
    page.select_option("#song", SONG)
    page.fill("#name0", "Aiko")
    page.fill("#name1", "Bora")
    page.fill("#tempo", str(tempo))
    page.fill("#bar-to", str(bars))
    page.uncheck("#lesson")
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    page.wait_for_function("() => window.studio.offsetSec !== null")
    return page.inner_text("#room-code")


def _wait_for_music(page: Any) -> None:
    page.wait_for_function(
        "() => /drums muted|full mix|none for this song/"
        ".test(document.querySelector('#music-status').textContent)",
        timeout=20_000,
    )
    page.wait_for_function("() => window.cymbalismSound.sampler !== null")


def _claim_both(page: Any) -> None:
    """Both players on this page (the left and the right keys); the song's music ready."""
    page.click("[data-claim='0']")
    page.select_option("[data-input='1']", "keys2")
    page.click("[data-claim='1']")
    _wait_for_music(page)


def _start_past_zero(page: Any) -> None:
    """Count in and play, until song zero has passed. Each sound's record holds song zero
    on the audio clock as the page mapped it when the sound was started."""
    page.click("#start")
    page.wait_for_selector("#play:not([hidden])")
    page.wait_for_function(
        "() => window.studio.startLocalMs && performance.now() > window.studio.startLocalMs + 300",
        timeout=10_000,
    )


@pytest.mark.parametrize("tempo", [100, 80])
def test_music_starts_at_song_zero_and_a_key_press_at_its_own_stamp(
    studio: Studio, browser: Any, tempo: int
) -> None:
    errors: list[str] = []
    page = _page(browser, studio, errors)
    _open_room(page, tempo=tempo)
    page.uncheck("#backing")  # only the click and the presses make kit sounds
    _claim_both(page)
    assert "drums muted" in page.inner_text("#music-status")
    _start_past_zero(page)
    rec = page.evaluate("() => window.__sound")
    # each sound is checked against song zero as the page mapped it when the sound was
    # started (a busy machine's audio thread can stall later and move the map)
    accent, music_len = _frames("click-accent.flac"), 30 * 44_100
    clicks = [s for s in rec["starts"] if s["length"] == accent]
    assert any(abs(c["when"] - c["zero"]) < 1e-6 for c in clicks)  # the downbeat of bar 1
    if tempo == 100:  # the recording as it is, from one buffer source, sample-accurately
        music = [s for s in rec["starts"] if s["length"] > music_len]
        assert len(music) == 1
        assert music[0]["when"] == pytest.approx(music[0]["zero"], abs=1e-9)
        assert music[0]["offset"] == 0.0
        assert music[0]["now"] < music[0]["zero"]  # scheduled ahead, not late
        assert rec["stretch"] == []
    else:  # through the stretch worklet: its time map starts at song zero, at 80%
        assert not [s for s in rec["starts"] if s["length"] > music_len]
        first = rec["stretch"][0]
        assert first["active"] is True
        assert first["output"] == pytest.approx(first["zero"], abs=1e-9)
        assert first["input"] == 0.0 and first["rate"] == pytest.approx(0.8, abs=1e-6)

    # a key press of each player: its kick sample starts at the press's own timestamp,
    # once, before the hit is sent to the server
    n_before = len(rec["starts"])
    page.keyboard.press("f")
    page.keyboard.press("j")
    page.wait_for_function("n => window.__sound.sends.length >= 2", arg=0)
    rec = page.evaluate("() => window.__sound")
    kick = _frames("kick-90.flac")  # velocity 100 plays the layer struck at 90
    presses = [k for k in rec["keys"] if k["code"] in ("KeyF", "KeyJ")]
    strokes = [s for s in rec["starts"][n_before:] if s["length"] == kick]
    assert len(presses) == 2 and len(strokes) == 2
    for key, s, sent in zip(presses, strokes, rec["sends"][-2:], strict=True):
        # the press's time on the audio clock, by the page's map at the stroke
        assert s["when"] == pytest.approx(key["t"] / 1000 + s["map"], abs=1e-9)
        assert key["t"] <= s["called"] <= sent  # sounded first, then sent
        assert s["when"] <= s["now"] + 0.05  # in the past or at once: never held back
    page.click("#stop")
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)
    assert not errors
    page.context.close()


def test_a_partners_stroke_from_another_device_sounds_once_and_the_duet_downloads(
    studio: Studio, browser: Any
) -> None:
    errors: list[str] = []
    host = _page(browser, studio, errors)
    laptop = _page(browser, studio, errors)
    code = _open_room(host)
    host.uncheck("#backing")
    host.click("[data-claim='0']")
    laptop.fill("#join-code", code)
    laptop.click("#join")
    laptop.wait_for_selector("#lobby:not([hidden])")
    laptop.wait_for_function("() => window.studio.offsetSec !== null")
    laptop.uncheck("#backing")
    laptop.select_option("[data-input='1']", "keys1")
    laptop.click("[data-claim='1']")
    host.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
    _wait_for_music(host)
    _wait_for_music(laptop)
    host.click("#start")
    for p in (host, laptop):
        p.wait_for_selector("#play:not([hidden])")
    laptop.wait_for_function("() => performance.now() > window.studio.startLocalMs + 200")
    snare = _frames("snare-90.flac")
    counts = [p.evaluate("() => window.__sound.starts.length") for p in (host, laptop)]
    laptop.keyboard.press("d")  # Bora's snare, on the laptop
    host.wait_for_function("() => window.studio.judgements.some(j => j.player === 1)")
    laptop.wait_for_function("() => window.studio.judgements.some(j => j.player === 1)")
    host.wait_for_timeout(100)
    new = [
        p.evaluate("n => window.__sound.starts.slice(n)", n)
        for p, n in zip((host, laptop), counts, strict=True)
    ]
    assert [sum(s["length"] == snare for s in starts) for starts in new] == [1, 1]
    host.click("#stop")
    host.wait_for_selector("#report:not([hidden])", timeout=15_000)
    host.wait_for_selector("#render-box:not([hidden])")
    # the end screen's download: the duet rendered with its music, read back
    href = host.get_attribute("#render-link", "href")
    session_id = host.evaluate("() => window.studio.room.session_id")
    key = host.evaluate("() => window.studio.key")
    assert href == f"/api/sessions/{session_id}/render?key={key}&format=ogg"
    body = host.request.get(studio.url.rstrip("/") + href.replace("format=ogg", "format=wav"))
    assert body.status == 200 and body.headers["content-type"] == "audio/wav"
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        f.write(body.body())
        f.flush()
        frames, broke = read_audio_file(f.name, 44_100)
    assert broke is None and frames.shape[0] > 44_100 and np.abs(frames).max() > 0.05
    # the same duet as a phone plays it: AAC in an M4A, chosen on the end screen
    host.select_option("#render-format", "m4a")
    href = host.get_attribute("#render-link", "href")
    assert href.endswith("&format=m4a")
    body = host.request.get(studio.url.rstrip("/") + href)
    assert body.status == 200 and body.headers["content-type"] == "audio/mp4"
    with tempfile.NamedTemporaryFile(suffix=".m4a") as f:
        f.write(body.body())
        f.flush()
        phone, broke = read_audio_file(f.name, 44_100)
    assert broke is None and abs(phone.shape[0] - frames.shape[0]) < 2048
    assert not errors
    for p in (host, laptop):
        p.context.close()


# ---------------------------------------------------------------- the stretched music
#: Renders a Music (static/sound/music.js) along bar maps in an OfflineAudioContext; the
#: recording is a click (one sample) on every beat. The test's driver wakes where the
#: music asks to be pumped, as the page's timer does. Returns the error of each beat of
#: the rendered music against where the bar maps (the chart's clock) put it.
OFFLINE_JS = """async ({maps, beat, offset}) => {
  const { Music } = await import("/static/sound/music.js");
  const { StretchVoice } = await import("/static/sound/stretch.js");
  const sr = 44100, T0 = 0.5, q = 128 / sr;
  const end = Math.max(...maps.map((m) => m[3])) + 0.5;
  const ctx = new OfflineAudioContext(2, Math.ceil((T0 + end) * sr), sr);
  const recLen = Math.max(...maps.map((m) => m[1])) + offset + 1.0;
  const rec = ctx.createBuffer(2, Math.ceil(recLen * sr), sr);
  for (let c = 0; c < 2; c++) {
    const d = rec.getChannelData(c);
    for (let k = 0; k * beat + offset < recLen - 0.1; k++)
      d[Math.round((k * beat + offset) * sr)] = 0.8;
  }
  const stretch = await StretchVoice.create(ctx, rec);
  const music = new Music(ctx, rec, { offsetSec: offset, music: ctx.destination,
    songToAudio: (s) => T0 + s, startSec: 0, stretch });
  music.addBars(maps);
  const step = async () => {
    const wake = await music.pump(ctx.currentTime);
    const at = Math.ceil(Math.max(wake, ctx.currentTime + q) / q) * q;
    if (wake < T0 + end) ctx.suspend(at).then(step);
    ctx.resume();
  };
  ctx.suspend(0).then(step);
  const y = (await ctx.startRendering()).getChannelData(0);
  const errors = [], song = [];
  for (const [c0, c1, s0, s1] of maps) {
    const speed = (c1 - c0) / (s1 - s0);
    for (let k = Math.ceil(c0 / beat - 1e-9); k * beat < c1 - 1e-9; k++) {
      const s = s0 + (k * beat - c0) / speed;
      const centre = Math.round((T0 + s) * sr), w = Math.round(0.02 * sr);
      let best = -1, at = 0;
      for (let i = centre - w; i <= centre + w; i++)
        if (Math.abs(y[i]) > best) { best = Math.abs(y[i]); at = i; }
      errors.push((at - centre) / sr); song.push(s);
    }
  }
  return { errors, song, placed: music.placed, sent: stretch.sent };
}"""


def _click_chart(bars: int, bpm: float = 120.0) -> Chart:
    return Chart(
        "click track",
        TempoMap.constant(bpm),
        {Level.EXPERT: Part.from_arrays(np.arange(0.0, 4.0 * bars, 1.0), Lane.SNARE)},
    )


def _played_bars(chart: Chart, settings: Settings, options: LiveOptions, hits: Hits | None) -> list:
    """The bar layout the live engine makes (a fake clock run to the end), as bar maps."""
    clock = FakeClock()
    engine = Engine(chart, [Player("A"), Player("B")], settings, clock, options=options)
    stamps = [] if hits is None else hits.onset_sec.tolist()
    t, k = 0.0, 0
    while not engine.done and t < 600.0:
        clock.set_ns(engine.sec_to_ns(t))
        engine.tick()
        while k < len(stamps) and stamps[k] <= t:
            for name in ("A", "B"):
                engine.push_hit(name, int(Lane.SNARE), 100, song_sec=stamps[k])
            k += 1
        if t > engine.end_sec + 1.0:
            break
        t += 0.01
    bars = engine.finish().bars
    maps = bar_maps(
        [b.layout for b in bars], chart.tempo_map, tempo_scale=settings.tempo_scale, offset_sec=0.0
    )
    return [[m.rec0, m.rec1, m.song0, m.song1] for m in maps]


def _slowing_duo(chart: Chart, bpm_from: float, bpm_to: float) -> Hits:
    """A duo who play every beat, slowing down from one tempo to another over the song."""
    n = int(chart.end_qn)
    bpm = np.linspace(bpm_from, bpm_to, n)
    t = np.concatenate([[0.0], np.cumsum(60.0 / bpm[:-1])])
    return Hits.from_arrays(t, np.full(n, int(Lane.SNARE)))


@pytest.mark.parametrize("case", ["80% tempo", "follow", "loop"])
def test_the_stretched_music_stays_on_the_charts_clock(
    studio: Studio, browser: Any, case: str
) -> None:
    """After three minutes at 80%, or following a duo that slows from 120 to 112 BPM,
    every beat of the rendered music is within 5 ms of where the chart's clock puts it;
    a loop jumps back onto its beat."""
    offset = 0.25  # the recording starts a quarter second before song zero
    if case == "80% tempo":
        maps = _played_bars(
            _click_chart(90), Settings(tempo_scale=0.8, count_in_bars=0), LiveOptions(), None
        )
    elif case == "follow":
        chart = _click_chart(100)
        duo = _slowing_duo(chart, 120.0, 112.0)
        maps = _played_bars(chart, Settings(follow=True, count_in_bars=0), LiveOptions(), duo)
    else:
        maps = _played_bars(
            _click_chart(12),
            Settings(count_in_bars=0),
            LiveOptions(loop_bars=(3, 6), loop_repeats=3),
            None,
        )
    speeds = {round((m[1] - m[0]) / (m[3] - m[2]), 6) for m in maps}
    if case == "follow":
        assert len(speeds) > 5 and min(speeds) < 0.95  # the music did follow the duo
    page = browser.new_page()
    page.goto(studio.url)
    out = page.evaluate(OFFLINE_JS, {"maps": maps, "beat": 0.5, "offset": offset})
    page.close()
    err = np.abs(np.asarray(out["errors"]))
    song = np.asarray(out["song"])
    assert err.size == round(sum((m[1] - m[0]) / 0.5 for m in maps))
    if case == "loop":  # played as recorded: joins are crossfades of the recording itself
        assert {p["kind"] for p in out["placed"]} == {"direct"}
        assert len(out["placed"]) == 1 + 2  # the start and two jumps back
        assert err.max() <= 1.0 / 44_100 + 1e-9
    else:
        assert song.max() > 180.0
        late = err[song > 180.0]
        print(  # the README's figures (run with -s)
            f"{case}: beats after 3 min within {late.max() * 1000:.2f} ms of the chart's "
            f"clock, median error {np.median(err) * 1000:.2f} ms"
        )
        assert late.size >= 40 and late.max() <= 0.005, np.round(late * 1000, 2)
        assert np.median(err) <= 0.002
        assert out["sent"] and all(s["sent_at"] < s["output"] for s in out["sent"])


# ---------------------------------------------------------------- the song library
#: Records where the page's audio nodes connect and each media element that plays.
LIBRARY_JS = """(() => {
  const rec = window.__lib = {connects: [], plays: []};
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (dest, ...rest) {
    rec.connects.push({from: this.constructor.name, to: dest});
    return connect.call(this, dest, ...rest);
  };
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    rec.plays.push({src: this.src, at: this.currentTime});
    return play.call(this);
  };
})()"""


#: The largest difference between the page's recording and its two files decoded apart.
SUMMED_JS = """async () => {
  const s = window.cymbalismSound, ctx = s.ctx, buf = s.song.buffer, info = s.song.info;
  const get = async (url) => ctx.decodeAudioData(await (await fetch(url)).arrayBuffer());
  const [music, drums] = [await get(info.music[0]), await get(info.drums[0])];
  let worst = 0;
  for (const [src, first] of [[music, 0], [drums, 2]])
    for (let c = 0; c < 2; c++) {
      const a = src.getChannelData(0), b = buf.getChannelData(first + c);
      for (let i = 0; i < a.length; i += 7) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
  return worst;
}"""

#: Moves the mixer's guide slider as a person lets go of it.
GUIDE_JS = """(v) => {
  const el = document.querySelector("[data-channel='guide']");
  el.value = v;
  el.dispatchEvent(new Event("input"));
  el.dispatchEvent(new Event("change"));
}"""


def test_a_library_song_is_found_previewed_and_played_with_its_music(
    library_studio: Studio, browser: Any
) -> None:
    from tests.web.conftest import DELAY_MS, PREVIEW_MS

    errors: list[str] = []
    page = _page(browser, library_studio, errors)
    page.add_init_script(LIBRARY_JS)
    page.reload()
    page.wait_for_function("() => window.cymbalismSound && window.studio.songs.length")
    page.wait_for_selector(".song-row")
    assert "2 from your library" in page.inner_text("#library-count")
    page.fill("#library-q", "testers")
    page.wait_for_function("() => document.querySelectorAll('.song-row').length === 1")
    row = page.locator(".song-row")
    meta = row.inner_text()
    assert "Night Drive" in meta and "The Testers" in meta and "charted by Ana" in meta
    assert "E M H X" in meta and "drum stems muted" in meta and "1:43" in meta

    # the preview: the song's recording from song.ini's preview start, on the music channel
    row.locator("[data-preview]").click()
    page.wait_for_function("() => window.__lib.plays.length > 0")
    plays = page.evaluate("() => window.__lib.plays")
    assert [p["src"].rsplit("/", 1)[1] for p in plays] == ["song"]  # the drums stay out
    assert plays[0]["at"] == pytest.approx(PREVIEW_MS / 1000, abs=0.05)
    into_music = page.evaluate(
        """() => {
          const s = window.cymbalismSound, music = s.mixer.input("music");
          const gain = s.previewing.gain;
          const c = window.__lib.connects;
          return [c.some((x) => x.from === "MediaElementAudioSourceNode" && x.to === gain),
                  c.some((x) => x.to === music && x.from === "GainNode")];
        }"""
    )
    assert into_music == [True, True]
    row.locator("[data-preview]").click()  # stops it
    page.wait_for_function("() => window.cymbalismSound.previewing === null")

    # chosen, it plays in a room with its recording (drums muted), placed by its delay
    row.locator("[data-choose]").click()
    page.wait_for_function("() => document.querySelector('#song').value.startsWith('lib-')")
    assert "Beginner" in page.inner_text("#level1")  # the simpler parts are made for it
    page.fill("#name0", "Aiko")
    page.fill("#name1", "Bora")
    page.fill("#bar-to", "2")
    page.uncheck("#lesson")
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    page.wait_for_function("() => window.studio.offsetSec !== null")
    _claim_both(page)
    assert "raise Guide drums" in page.inner_text("#music-status")
    channels = "() => window.cymbalismSound.song.buffer.numberOfChannels"
    assert page.evaluate(channels) < 4
    # raising the guide channel brings the song's own drum stems in (channels 2-3)
    for level, said in (("0.5", "on the guide channel"), ("0", "raise Guide drums")):
        page.evaluate(GUIDE_JS, level)
        page.wait_for_function(
            "said => document.querySelector('#music-status').textContent.includes(said)", arg=said
        )
        assert (page.evaluate(channels) == 4) == (level != "0")
        if level != "0":  # the stems are summed as they are: music in 0-1, drums in 2-3
            assert page.evaluate(SUMMED_JS) < 1e-6
    _start_past_zero(page)
    starts = page.evaluate("() => window.__sound.starts")
    music = [s for s in starts if s["length"] > 30 * 44_100 and not s["offline"]]
    assert len(music) == 1 and music[0]["channels"] < 4  # no drum stems in it
    # the recording's second DELAY_MS / 1000 is heard at song zero
    m = music[0]
    assert m["when"] + DELAY_MS / 1000 - m["offset"] == pytest.approx(m["zero"], abs=1e-6)
    page.click("#stop")
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)
    page.wait_for_selector("#render-box:not([hidden])")
    href = page.get_attribute("#render-link", "href")
    body = page.request.get(
        library_studio.url.rstrip("/") + href.replace("format=ogg", "format=wav")
    )
    assert body.status == 200  # rendered with the recording the session noted
    assert not errors, errors
    page.context.close()


def test_an_e_kit_makes_its_own_sound_unless_its_drummer_says_otherwise(
    studio: Studio, browser: Any
) -> None:
    """A Web MIDI player's strokes are not sounded by the page by default (the kit's own
    module plays them); the drummer can ask for them, and this browser remembers it for
    the kit. Keys always sound."""
    from tests.web.test_browser import FAKE_WEB_MIDI_JS

    errors: list[str] = []
    page = _page(browser, studio, errors)
    page.add_init_script(FAKE_WEB_MIDI_JS)
    page.reload()
    page.wait_for_function("() => window.cymbalismSound && window.studio.songs.length")
    _open_room(page)
    page.select_option("[data-input='0']", "midi")
    page.wait_for_selector(".slot.p0 [data-kit-sound]")
    assert page.is_checked(".slot.p0 [data-kit-sound]")  # on by default, as in the terminal
    page.click("[data-claim='0']")
    page.select_option("[data-input='1']", "keys2")
    page.click("[data-claim='1']")
    page.wait_for_function("() => window.cymbalismSound.sampler !== null")
    snare = _frames("snare-90.flac")

    def snares_after(action: Any) -> int:
        n = page.evaluate("() => window.__sound.starts.length")
        action()
        page.wait_for_timeout(150)
        return sum(
            s["length"] == snare for s in page.evaluate("n => window.__sound.starts.slice(n)", n)
        )

    assert snares_after(lambda: page.evaluate("() => window.fakeKit.hit(38, 100)")) == 0
    assert snares_after(lambda: page.keyboard.press("k")) == 1  # the right-hand keys' snare
    page.uncheck(".slot.p0 [data-kit-sound]")
    assert snares_after(lambda: page.evaluate("() => window.fakeKit.hit(38, 100)")) == 1
    # remembered for this kit: the seat comes back after a reload, the choice with it
    page.reload()
    page.wait_for_selector(".slot.p0 [data-kit-sound]")
    assert not page.is_checked(".slot.p0 [data-kit-sound]")
    assert not errors, errors
    page.context.close()


# ---------------------------------------------------------------- latency, counted once
#: A drummer with an e-kit whose sound reaches their ears OUTPUT_SEC late (an output
#: latency the browser reports) and who strikes STRIKE_MS after hearing each click. The
#: AudioContext reports the output latency (getOutputTimestamp, outputLatency); the
#: drummer hears every click by that latency, worked out from the click's start() alone,
#: and strikes a drum over Web MIDI: any drum while calibrating, and during the song the
#: drum of the part's note on that beat.
OUTPUT_SEC = 0.12
STRIKE_MS = 30.0
DRUMMER_JS = """(() => {
  const L = %(latency)s, lateMs = %(late)s;
  const ts = AudioContext.prototype.getOutputTimestamp;
  const real = Object.getOwnPropertyDescriptor(AudioContext.prototype, "outputLatency").get;
  AudioContext.prototype.getOutputTimestamp = function () {
    const t = ts.call(this);
    return {contextTime: t.contextTime - L, performanceTime: t.performanceTime};
  };
  Object.defineProperty(AudioContext.prototype, "outputLatency", {
    get() { return (real.call(this) || this.baseLatency || 0) + L; },
  });
  const drummer = window.__drummer = {clickLengths: [], heard: [], struck: []};
  const start = AudioBufferSourceNode.prototype.start;
  AudioBufferSourceNode.prototype.start = function (when = 0, ...rest) {
    const ctx = this.context;
    if (ctx instanceof AudioContext && drummer.clickLengths.includes(this.buffer.length)) {
      const t = ts.call(ctx);  // when this sample is really heard, latency and all
      const at = Math.max(when, ctx.currentTime);
      const heard = t.performanceTime + (at - (t.contextTime - L)) * 1000;
      drummer.heard.push(heard);
      setTimeout(() => {
        const S = window.studio;
        let note = 38;  // calibrating: any drum
        if (!S.calib) {
          const p = S.players[0], sec = (heard - S.startLocalMs) / 1000;
          const k = p ? p.sec.findIndex((s) => Math.abs(s - sec) < 0.03) : -1;
          if (k < 0) return;  // nothing to play on this beat
          note = window.__gm[p.lane[k]];
        }
        drummer.struck.push({heard, at: window.fakeKit.hit(note, 100)});
      }, heard + lateMs - performance.now());
    }
    return start.call(this, when, ...rest);
  };
})()"""


def test_the_output_latency_and_the_calibration_are_each_counted_once(
    studio: Studio, browser: Any
) -> None:
    """Clicks and music are started the output latency early, so they are heard on the
    song's time; calibration then measures only the loop from hearing to the stamped
    stroke, the server takes that off each hit, and the drummer is judged on time. Were
    the output latency counted twice (or not at all), the calibration would be off by it
    and every hit judged 120 ms out."""
    from cymbalism.model.lanes import LANE_TO_GM_NOTE, Lane
    from tests.web.test_browser import FAKE_WEB_MIDI_JS

    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(FAKE_WEB_MIDI_JS)
    page.add_init_script(DRUMMER_JS % {"latency": OUTPUT_SEC, "late": STRIKE_MS})
    page.goto(studio.url)
    page.wait_for_function("() => window.cymbalismSound && window.studio.songs.length")
    gm = {int(lane): LANE_TO_GM_NOTE[lane] for lane in Lane}
    page.evaluate(
        "([lengths, gm]) => { window.__drummer.clickLengths = lengths; window.__gm = gm; }",
        [[_frames("click-accent.flac"), _frames("click-click.flac")], gm],
    )
    page.select_option("#song", SONG)
    page.fill("#name0", "Kit")
    page.fill("#name1", "Keys")
    page.fill("#bar-to", "4")
    page.uncheck("#lesson")
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    page.wait_for_function("() => window.studio.offsetSec !== null")
    page.select_option("[data-input='0']", "midi")
    page.wait_for_selector(".slot.p0 [data-kit-sound]")
    _claim_both(page)
    # the page reads the output latency: a sound for page time t starts at t less it
    page.wait_for_function(
        "L => { const c = window.cymbalismSound.clock; c.refresh();"
        " return Math.abs(c.offsetSec - c.read()) < 0.002; }",
        arg=OUTPUT_SEC,
    )

    page.click("[data-calib='0']")
    page.wait_for_function(
        "() => document.querySelector('#lobby-msg').textContent.startsWith('Latency offset')",
        timeout=20_000,
    )
    room = studio.app.state.rooms.get(page.inner_text("#room-code"))  # type: ignore[attr-defined]
    offset_ms = room.slots[0].offset_sec * 1000
    struck = page.evaluate("() => window.__drummer.struck")
    lateness = [s["at"] - s["heard"] for s in struck]  # how late the drummer really struck
    assert len(struck) == 8
    # the page places each click by its own model of the output clock, the fake drummer
    # by getOutputTimestamp: headless Chromium's timestamps jitter by a few ms (full runs
    # have seen the two differ by 4.0, 5.2 and, on a loaded machine, 6.9 ms), far inside
    # the 120 ms a latency counted twice or not at all would put there
    assert offset_ms == pytest.approx(float(np.median(lateness)), abs=12.0)
    assert offset_ms == pytest.approx(STRIKE_MS, abs=15.0)  # not 30 +- 120 ms

    page.evaluate("() => { window.__drummer.struck = []; }")
    page.click("#start")
    page.wait_for_selector("#report:not([hidden])", timeout=30_000)
    judged = [j for j in page.evaluate("() => window.studio.judgements") if j["player"] == 0]
    struck = page.evaluate("() => window.__drummer.struck")
    assert len(judged) == len(struck) >= 6
    # the fake drummer strikes by the page's timers, which a loaded machine delays now and
    # then by 100 ms and more: a stroke so delayed is not on time, and is left out here
    slack = np.asarray([s["at"] - s["heard"] - STRIKE_MS for s in struck])
    kept = np.abs(slack) <= 25.0
    assert kept.sum() >= 4, slack
    on_time = [j for j, k in zip(judged, kept, strict=True) if k]
    assert all(j["verdict"] != "extra" for j in on_time), (on_time, slack)
    err = np.asarray([j["error_ms"] for j in on_time])
    assert abs(float(np.median(err - slack[kept]))) <= 10.0, (err, slack)
    assert not errors, errors
    page.context.close()


def test_a_tab_that_comes_back_mid_song_hears_the_music_where_the_song_is(
    studio: Studio, browser: Any
) -> None:
    errors: list[str] = []
    page = _page(browser, studio, errors)
    _open_room(page, bars=12)
    _claim_both(page)
    page.click("#start")
    page.wait_for_function(
        "() => window.studio.startLocalMs && performance.now() > window.studio.startLocalMs + 2000",
        timeout=15_000,
    )
    page.reload()  # the seats come back; the sound with the first key or touch
    page.wait_for_selector("#play:not([hidden])")
    page.wait_for_function("() => window.studio.startLocalMs !== null")
    page.keyboard.press("x")
    page.wait_for_function(
        "() => window.__sound.starts.some((s) => s.length > 30 * 44100)", timeout=20_000
    )
    music = [s for s in page.evaluate("() => window.__sound.starts") if s["length"] > 30 * 44_100]
    assert len(music) == 1
    m = music[0]
    assert m["offset"] > 2.0  # joined where the song was, not from its start
    assert m["when"] >= m["now"]  # started ahead, not in the past
    # on the song's time, by the page's map of its two clocks when the music was started
    # (a busy machine's audio thread can stall later and move the map)
    assert m["offset"] == pytest.approx(m["when"] - m["zero"], abs=1e-6)
    page.click("#stop")
    page.wait_for_selector("#report:not([hidden])", timeout=15_000)
    assert not errors, errors
    page.context.close()
