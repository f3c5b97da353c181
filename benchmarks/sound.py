"""Sound out: stretch cost, drift of the stretched music against the chart, render speed.

    .venv/bin/python benchmarks/sound.py

- Stretch cost: CPU seconds per second of stereo 44.1 kHz music stretched by
  :class:`cymbalism.sound.music.MusicTrack` bar by bar (Signalsmith Stretch) at 70% and
  at 92% / 108% (a click following the duo), as a share of one core. Goal: <= 5%.
  Baseline in the same run: copying the same music unstretched (100%).
- Drift: a 5-minute song whose recording has a click on every beat, laid out with
  ``--follow`` (every bar's stretch wandering within 8%); each click of the rendered
  music is found and compared with where the bar layout puts its beat. Goal: <= 2 ms.
- Render speed: a simulated duet of the built-in ``mirrorball`` rendered with its music
  (``render_session``), against real time. Goal: >= 50x.
- Key press to sample start in the page (``--page``): the studio page in headless
  Chromium, one player on the computer keys, each press's kick sample started by the
  page's sound module (static/sound/); against a bare page in the same run that plays
  a buffer on keydown. Measured from the press's own timestamp to the sample's
  ``start()`` call, and to the moment the sample is heard on the audio clock (the
  render quantum it starts in, as getOutputTimestamp maps it). Goal: cymbalism adds at
  most 1 ms.

``--readback`` instead renders a simulated perfect duet (the expert and the beginner
part, every note on its time) of every built-in song at 100% and 70%, with the music at
0.25, and reads each player's stem and the whole mix back with cymbalism's own reader:
the share of the notes heard within 2 ms, the notes not heard at all (none within
10 ms) and the median error.

``--device [--json]`` instead runs the terminal's sound output through a real audio
server with no sound card: JACK's dummy driver (Debian ``jackd2``), started for the run
and named for it (as ``benchmarks/mic.py`` does). :class:`cymbalism.live.metronome.AudioOutput`
opens a PortAudio stream on it; its left output is wired into a PortAudio capture. Clicks
are scheduled ahead on the session clock and strokes are struck as they "arrive", a
little after their stamps, from another thread. It reports the callbacks, underruns,
resyncs of the running frame count, each click's first sample in the capture (their
spacing must equal the scheduled spacing to the sample) and how late each stroke
sounds after its stamp (the output latency plus at most one block). The test suite runs
this in a subprocess, so the test process never starts PortAudio.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.model.chart import Level
from cymbalism.model.session import BarLayout, Player, Session
from cymbalism.model.tempo import TempoMap
from cymbalism.songs import get_song
from cymbalism.sound.audio import SongAudio, song_audio_for
from cymbalism.sound.mixer import Mixer
from cymbalism.sound.music import MusicTrack
from cymbalism.sound.render import render_session

SR = 44_100


def stretch_cost(speeds: list[float], seconds: float = 60.0) -> float:
    """CPU seconds per second of music placed along bars at the given speeds."""
    rng = np.random.default_rng(0)
    music = (rng.normal(size=(int(seconds * SR) + SR, 2)) * 0.1).astype(np.float32)
    audio = SongAudio(music, None, SR)
    tm = TempoMap.constant(120.0)
    bars, out_sec = [], 0.0
    for k in range(int(seconds / 2)):
        s = 1.0 / speeds[k % len(speeds)]
        bars.append(BarLayout(4.0 * k, 4.0 * (k + 1), s, out_sec - 2.0 * k * s))
        out_sec += 2.0 * s
    mixer = Mixer(SR, {"music": 1.0})
    t0 = time.process_time()
    MusicTrack(audio, mixer, chart_map=tm).add_bars(bars)
    mixer.render_span(0, mixer.last_frame(), block=4096)
    return (time.process_time() - t0) / out_sec


def drift(minutes: float = 5.0, bpm: float = 120.0) -> tuple[float, float]:
    """Median and largest |error| (s) of the stretched music's beats against the layout."""
    tm = TempoMap.constant(bpm)
    beat = 60.0 / bpm
    n_beats = int(minutes * 60 / beat)
    music = np.zeros((int((n_beats + 2) * beat * SR), 2), np.float32)
    for k in range(n_beats):
        music[round(k * beat * SR)] = 0.8
    audio = SongAudio(music, None, SR)
    rng = np.random.default_rng(1)
    bars, out_sec, stretch = [], 0.0, 1.0
    for k in range(n_beats // 4):
        stretch = float(np.clip(stretch + rng.normal(0, 0.01), 0.92, 1.08))
        bars.append(BarLayout(4.0 * k, 4.0 * (k + 1), stretch, out_sec - 4 * k * beat * stretch))
        out_sec += 4 * beat * stretch
    mixer = Mixer(SR, {"music": 1.0})
    MusicTrack(audio, mixer, chart_map=tm).add_bars(bars)
    y = np.abs(mixer.render_span(0, mixer.last_frame(), block=8192)[:, 0])
    errs = []
    for b in bars[:-1]:
        for j in range(4):
            t = (b.start_qn + j) * beat * b.stretch + b.shift_sec
            c = round(t * SR)
            w = y[max(0, c - 441) : c + 441]
            errs.append((int(np.argmax(w)) + max(0, c - 441) - c) / SR)
    e = np.abs(np.asarray(errs))
    return float(np.median(e)), float(e.max())


def render_speed() -> float:
    chart = get_song("mirrorball")
    players = tuple(
        Player(n, lv, hits=chart.targets(lv)) for n, lv in (("A", Level.EXPERT), ("B", Level.EASY))
    )
    audio, _ = song_audio_for("mirrorball", chart, sample_rate=SR)
    t0 = time.perf_counter()
    out = render_session(Session(chart, players), audio)
    return out.seconds / (time.perf_counter() - t0)


DEVICE_RATE = 48_000


def device_run(period: int = 256) -> dict[str, Any]:
    """The terminal's output stream through JACK's dummy driver (see the module docstring)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mic import ports, start_jack, wire  # the JACK helpers of benchmarks/mic.py

    jack = start_jack(period)
    try:
        return _device_measure(period, ports, wire)
    finally:
        if "sounddevice" in sys.modules:
            sys.modules["sounddevice"]._terminate()  # let go of JACK before it stops
        jack.terminate()
        jack.wait(timeout=5)


def _device_measure(period: int, ports: Any, wire: Any) -> dict[str, Any]:
    import sounddevice as sd

    from cymbalism.live.clock import NS_PER_SEC, MonotonicClock
    from cymbalism.live.metronome import ACCENT, AudioOutput, Sound
    from cymbalism.model.lanes import Lane

    sr = DEVICE_RATE
    blocks: list[tuple[int, np.ndarray]] = []
    state: dict[str, Any] = {"underflows": 0, "jumps": [], "capture_xruns": 0}

    class Tapped(AudioOutput):
        """The real output, keeping what each callback wrote (on the mixer's frames)."""

        def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            before = self._frame
            super().callback(outdata, frames, time_info, status)
            assert self._frame is not None
            state["underflows"] += bool(status)
            state["ahead"] = time_info.outputBufferDacTime - time_info.currentTime
            if before is not None and self._frame - frames != before:
                state["jumps"].append(self._frame - frames - before)
            blocks.append((self._frame - frames, outdata[:, 0].copy()))

    captured: list[np.ndarray] = []

    def capture(indata: np.ndarray, frames: int, _t: Any, status: Any) -> None:
        state["capture_xruns"] += bool(status)
        captured.append(indata[:, 0].copy())

    clock = MonotonicClock()
    before = set(ports())
    cap = sd.InputStream(
        device="system", channels=1, samplerate=sr, blocksize=period, callback=capture
    )
    cap.start()
    cap_port = next(p for p in ports() if p not in before and ":in" in p)
    before = set(ports())
    out = Tapped(clock, players=["Ana"], block_size=period, gains={"click": 1.0})
    assert out.sample_rate == sr  # the device's own rate
    out.start()
    out_port = min(p for p in ports() if p not in before and ":out" in p)
    wire(out_port, cap_port)
    time.sleep(0.3)
    t0 = clock.now_ns() + NS_PER_SEC // 2
    # clicks 0.5 s apart, each a different fraction of a sample past the grid
    clicks = [t0 + k * NS_PER_SEC // 2 + k * 7_919 for k in range(6)]
    out.schedule([Sound(t, ACCENT) for t in clicks])
    strokes = [t0 + 3_500_000_000 + k * NS_PER_SEC for k in range(4)]

    arrived: list[int] = []

    def drummer() -> None:  # strokes arrive a little after their stamps, as keys do
        for t in strokes:
            clock.sleep_until(t + 1_000_000)
            out.strike("Ana", int(Lane.SNARE), 110, t_ns=t)
            arrived.append(clock.now_ns())  # struck by now

    th = threading.Thread(target=drummer)
    th.start()
    th.join()
    time.sleep(0.6)
    out.stop()
    cap.stop()
    cap.close()

    first = min(f for f, _ in blocks)
    mixed = np.zeros(max(f + b.size for f, b in blocks) - first, np.float32)
    for f, b in blocks:  # on the mixer's frames (a resync jumps)
        mixed[f - first : f - first + b.size] = b

    def starts(x: np.ndarray, n: int, gap: int) -> list[int]:
        """The first sample of each sound after ``gap`` samples of silence."""
        loud = np.flatnonzero(np.abs(x) > 1e-3)
        if not loud.size:
            return []
        new = np.concatenate([[True], np.diff(loud) > gap])
        return loud[new][:n].tolist()

    # on the mixer's time line: each click on its own frame, each stroke after its stamp
    click_frames = [out.frame_of_ns(t) for t in clicks]
    heard = [first + i for i in starts(mixed, 10, sr // 5)]
    lead_in = starts(out.kit.click(True), 1, 0)[0]  # the sample's own first audible sample
    click_err = [h - lead_in - f for h, f in zip(heard[:6], click_frames, strict=False)]
    lead_in = starts(out.kit.voice(Lane.SNARE, 110)[0], 1, 0)[0]
    stroke_late_ms = [
        1000 * (h - lead_in - out.frame_of_ns(t)) / sr
        for h, t in zip(heard[6:], strokes, strict=False)
    ]
    after_strike_ms = [
        1000 * (h - lead_in - out.frame_of_ns(t)) / sr
        for h, t in zip(heard[6:], arrived, strict=False)
    ]
    # through the server: the clicks' spacing in the capture, to the sample
    got = starts(np.concatenate(captured), 6, sr // 5) if captured else []
    spacing_err = [
        int((b - a) - (fb - fa))
        for a, b, fa, fb in zip(got, got[1:], click_frames, click_frames[1:], strict=False)
    ]
    music = _device_music(period, Tapped, blocks)
    return {
        **music,
        "server": f"JACK dummy driver, {period} frames at {sr} Hz",
        "device": out.description,
        "latency_ms": round(1000 * out._latency_sec, 3),
        "callbacks": len(blocks),
        "resync_jumps": state["jumps"],
        "underflows": state["underflows"],
        "resyncs": out.resyncs,
        "click_frame_error": click_err,
        "clicks_captured": len(got),
        "capture_spacing_error_samples": spacing_err,
        "capture_xruns": state["capture_xruns"],
        "stroke_late_ms": [round(x, 2) for x in stroke_late_ms],
        "stroke_after_strike_ms": [round(x, 2) for x in after_strike_ms],
        "dac_ahead_ms": round(1000 * state["ahead"], 3),
        "block_ms": round(1000 * period / sr, 3),
        "period": period,
    }


#: Records each key press and each buffer source started, in the page's own clock.
_PAGE_PROBE_JS = """(() => {
  const rec = window.__probe = {keys: [], starts: []};
  window.addEventListener("keydown", (ev) => rec.keys.push(ev.timeStamp), true);
  const start = AudioBufferSourceNode.prototype.start;
  AudioBufferSourceNode.prototype.start = function (when = 0, ...rest) {
    const now = performance.now(), ctx = this.context;
    const ts = ctx.getOutputTimestamp();
    // when the sample is heard: its start (or the next render quantum) on the page's clock
    const at = Math.max(when, ctx.currentTime);
    rec.starts.push({called: now, heard: ts.performanceTime + (at - ts.contextTime) * 1000,
                     length: this.buffer.length});
    return start.call(this, when, ...rest);
  };
})()"""

#: The bare page: a buffer played on keydown, nothing else.
_BARE_PAGE = """<!doctype html><html><body><script>
const ctx = new AudioContext({latencyHint: "interactive"});
let buf = null;
fetch("/kit/kick-90.flac").then((r) => r.arrayBuffer()).then((b) => ctx.decodeAudioData(b))
  .then((b) => { buf = b; window.ready = true; });
window.addEventListener("keydown", (ev) => {
  if (!buf) return;
  const src = ctx.createBufferSource(); src.buffer = buf; src.connect(ctx.destination); src.start();
});
</script></body></html>"""


def page_key_to_sample(presses: int = 200, interval_ms: float = 40.0) -> dict[str, np.ndarray]:
    """Key press to sample start (ms) in the studio page and in a bare page, same run.

    Returns
    -------
    dict of str -> np.ndarray [shape=(2, presses)]
        Per page: row 0 the press to ``start()`` call, row 1 the press to the sample
        being heard.
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    from cymbalism.sound.kit import KIT_DIR
    from cymbalism.web.app import create_app
    from cymbalism.web.server import Studio, studio_config

    kick = int(sf_info_frames(KIT_DIR / "kick-90.flac"))
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
    ]
    out: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio(create_app(studio_config(db=f"{tmp}/s.sqlite")), port=0)
        studio.start_in_thread()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
                for name in ("bare page", "cymbalism studio"):
                    page = browser.new_page()
                    page.add_init_script(_PAGE_PROBE_JS)
                    if name == "bare page":
                        page.route(
                            f"{studio.url}bare",
                            lambda route: route.fulfill(body=_BARE_PAGE, content_type="text/html"),
                        )
                        page.goto(f"{studio.url}bare")
                        page.wait_for_function("() => window.ready")
                    else:
                        page.goto(studio.url)
                        page.wait_for_function(
                            "() => window.cymbalismSound && window.studio.songs.length"
                        )
                        page.click("#create")
                        page.wait_for_selector("#lobby:not([hidden])")
                        page.click("[data-claim='0']")
                        page.wait_for_function("() => window.cymbalismSound.sampler !== null")
                    page.keyboard.press("x")  # the first key event is slow to deliver
                    page.wait_for_timeout(300)
                    page.evaluate("() => { window.__probe.keys = []; window.__probe.starts = []; }")
                    for _ in range(presses):
                        page.keyboard.press("f")
                        page.wait_for_timeout(interval_ms)
                    rec = page.evaluate("() => window.__probe")
                    keys = np.asarray(rec["keys"])
                    starts = [s for s in rec["starts"] if s["length"] == kick]
                    if len(starts) != len(keys):
                        raise RuntimeError(f"{name}: {len(keys)} presses, {len(starts)} samples")
                    out[name] = np.vstack(
                        [
                            np.asarray([s["called"] for s in starts]) - keys,
                            np.asarray([s["heard"] for s in starts]) - keys,
                        ]
                    )
                    page.close()
                browser.close()
        finally:
            studio.stop()
    return out


def sf_info_frames(path: Any) -> int:
    import soundfile as sf

    return int(sf.info(str(path)).frames)


def page_rows(res: dict[str, np.ndarray]) -> None:
    """Print the key press to sample table, the bare page as the baseline."""
    print("| key press to sample, in the page | to start() median / p95 | heard median / p95 |")
    print("|---|---|---|")
    for name, d in res.items():
        a, h = d
        print(
            f"| {name} | {np.median(a):.2f} / {np.percentile(a, 95):.2f} ms "
            f"| {np.median(h):.2f} / {np.percentile(h, 95):.2f} ms |"
        )
    (ca, ch), (ba, bh) = res["cymbalism studio"], res["bare page"]
    print(
        f"cymbalism adds {np.median(ca) - np.median(ba):+.2f} ms to start() and "
        f"{np.median(ch) - np.median(bh):+.2f} ms to the sound (median; goal <= 1 ms)"
    )


def _device_music(period: int, tapped: Any, blocks: list[tuple[int, np.ndarray]]) -> dict[str, Any]:
    """A song's recording at 70% through the stream, bars laid out as the engine does.

    Each bar is handed to the output a quarter of a second before it starts (the
    engine's look-ahead); the output stretches it in its worker process while the
    callback plays. What the callback wrote must equal an offline render of the same
    bars, sample for sample.
    """
    from cymbalism.live.clock import NS_PER_SEC, MonotonicClock
    from cymbalism.live.metronome import MUSIC_AHEAD_SEC
    from cymbalism.sound.music import MusicTrack
    from cymbalism.sound.render import as_written

    chart = get_song("fast-lane")
    audio, _ = song_audio_for("fast-lane", chart, sample_rate=SR)
    tempo = 0.7
    base = chart.tempo_map.scaled(tempo)
    bars = as_written(chart)[:4]
    clock = MonotonicClock()
    blocks.clear()
    out = tapped(
        clock,
        audio=audio,
        chart_map=chart.tempo_map,
        tempo_scale=tempo,
        block_size=period,
        gains={"music": 1.0},
    )
    out.start()
    zero_ns = clock.now_ns() + 2 * NS_PER_SEC  # a count-in's time: the stretcher starts
    for bar in bars:
        clock.sleep_until(zero_ns + round((bar.start_sec(base) - 0.25) * NS_PER_SEC))
        out.add_bar(bar, zero_ns=zero_ns)
    end_ns = zero_ns + round(float(base.qn_to_sec(bars[-1].end_qn)) * NS_PER_SEC)
    clock.sleep_until(end_ns + NS_PER_SEC // 2)
    out.stop()
    sr = out.sample_rate
    offline = Mixer(sr, {"music": 1.0})
    track = MusicTrack(
        out.audio,
        offline,
        chart_map=chart.tempo_map,
        tempo_scale=tempo,
        frame_offset=out.frame_of_ns(zero_ns),
        ahead_sec=MUSIC_AHEAD_SEC,
    )
    track.add_bars(bars)
    first = out.frame_of_ns(zero_ns)
    last = out.frame_of_ns(end_ns)
    want = offline.render_span(first, last)[:, 0]
    live = [(f, b) for f, b in blocks if first <= f and f + b.size <= last]
    diff = max(float(np.abs(b - want[f - first : f - first + b.size]).max()) for f, b in live)
    return {
        "music_seconds": round(sum(b.size for _, b in live) / sr, 2),
        "music_level_dbfs": round(20 * np.log10(float(np.sqrt(np.mean(want**2))) + 1e-12), 1),
        "music_max_difference": diff,
        "music_resyncs": out.resyncs,
        "music_late": out._track.late,
    }


def readback() -> None:
    """The table of ``--readback`` (see the module docstring)."""
    from cymbalism.io.audio import detect_hits
    from cymbalism.model.session import Settings
    from cymbalism.songs import song_names

    def errors(frames: np.ndarray, start_sec: float, notes: np.ndarray) -> np.ndarray:
        found = np.unique(detect_hits(frames.mean(axis=1), SR).onset_sec) + start_sec
        notes = np.unique(np.round(notes, 6))
        k = np.clip(np.searchsorted(found, notes), 1, found.size - 1)
        near = np.stack([found[k - 1], found[k]])
        return np.abs(near[np.argmin(np.abs(near - notes), axis=0), np.arange(notes.size)] - notes)

    def cell(e: np.ndarray) -> str:
        return f"{np.mean(e <= 0.002):.1%} ({np.sum(e > 0.010)}, {1000 * np.median(e):.2f})"

    print("notes heard within 2 ms (notes not heard at all, median error in ms)\n")
    print("| song | the expert's stem | the beginner's stem | the whole mix |")
    print("|---|---|---|---|")
    for song in song_names():
        chart = get_song(song)
        audio, _ = song_audio_for(song, chart, sample_rate=SR)
        for tempo in (1.0, 0.7):
            base = chart.tempo_map.scaled(tempo)
            players = tuple(
                Player(name, lv, hits=chart.part(lv).to_hits(base))
                for name, lv in (("expert", Level.EXPERT), ("beginner", Level.BEGINNER))
            )
            session = Session(chart, players, Settings(tempo_scale=tempo))
            r = render_session(session, audio, gains={"music": 0.25}, stems=True)
            stems = [
                errors(r.stems[f"drums-{p.name}"], r.start_sec, p.hits.onset_sec) for p in players
            ]
            every = np.concatenate([p.hits.onset_sec for p in players])
            mix = errors(r.frames, r.start_sec, every)
            print(f"| {song} {tempo:.0%} | " + " | ".join(cell(e) for e in (*stems, mix)) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", action="store_true", help="the output through JACK (dummy)")
    ap.add_argument("--period", type=int, default=256, help="JACK period (--device)")
    ap.add_argument("--json", action="store_true", help="print JSON (--device)")
    ap.add_argument("--page", action="store_true", help="only the page's key press to sample")
    ap.add_argument("--readback", action="store_true", help="renders read back, every song")
    args = ap.parse_args()
    if args.page:
        page_rows(page_key_to_sample())
        return
    if args.readback:
        readback()
        return
    if args.device:
        res = device_run(args.period)
        if args.json:
            print(json.dumps(res))
        else:
            for k, v in res.items():
                print(f"{k}: {v}")
        return
    base = stretch_cost([1.0])
    rows = [
        ("stretch 70%", stretch_cost([0.7])),
        ("stretch 92%/108% (follow)", stretch_cost([0.92, 1.08, 0.96, 1.04])),
        ("baseline: unstretched copy", base),
    ]
    print("| what | CPU per second of music | share of one core |")
    print("|---|---|---|")
    for name, cost in rows:
        print(f"| {name} | {cost * 1e3:.1f} ms | {cost * 100:.2f}% |")
    med, worst = drift()
    print(
        f"drift over 5 minutes with --follow: median {med * 1e3:.2f} ms, max {worst * 1e3:.2f} ms"
    )
    print(f"render speed (mirrorball duet with music): {render_speed():.0f}x real time")
    page_rows(page_key_to_sample())


if __name__ == "__main__":
    main()
