// The studio page's sound: one object, `sound` (also window.cymbalismSound, for tests and
// benchmarks), that the page's modules call.
//
//   ensure()                        make the AudioContext (on a click or key) and load the kit
//   hit(player, lane, vel, ms, ch)  a stroke at page time ms (event.timeStamp): at once
//   remoteHit(player, lane, vel)    a stroke from another device: at once
//   click(ms, accent), drum(ms, lane, vel)   the engine's click and backing, scheduled ahead
//   prepareSong(name, {guide, stretch, key})   fetch and decode the song's recording (lobby)
//   preview(name, fromSec, sec)     a few seconds of a song's recording (the library)
//   stopPreview()
//   startSong(startMs, countInSec)  song second s is heard at page time startMs + 1000 s
//   addBars(maps)                   the engine's bars: where the recording sounds
//   stopSong(fadeSec)
//   mixer                           the channels (music, guide, click, own, partner)
//
// Every sound starts on the audio clock at the audio time heard at its page time
// (AudioClock), so the click, the backing, the music and the strokes share one time line
// with the engine's judge. The stroke path (hit) does no more than pick a decoded buffer
// and start it: everything slow (fetching, decoding, mixing stems, copying the recording
// into the stretch worklet) happens in the lobby, off the main thread where it can.

import { AudioClock } from "./clock.js";
import { Mixer, mixerPanel } from "./mixer.js";
import { Music, loadRecording } from "./music.js";
import { Sampler, loadKit } from "./sampler.js";
import { StretchVoice } from "./stretch.js";

const PUMP_MS = 25;
// how long a library preview plays
const PREVIEW_SEC = 8;
// the map between the page's clock and the audio clock is re-read this often (reading it
// is a call into the audio system; the clocks drift apart slowly)
const CLOCK_MS = 250;

class PageSound {
  constructor() {
    this.ctx = null; this.clock = null; this.mixer = null; this.sampler = null;
    this.song = null;        // {key, name, info, buffer, status}
    this.voices = new Map(); // channel count -> Promise of the StretchVoice (one each)
    this.music = null;
    this.previewing = null;  // {token, els, gain, name, timer}
    this.timer = null;
    this.ready = null;
    this.clockReadAt = -Infinity;  // page ms of the last reading of the clock map
    this.musicDue = 0;             // audio time the music next has something to do
  }

  /** Create the AudioContext and load the kit (call from a click or key press). */
  ensure() {
    if (!this.ctx) {
      try { this.ctx = new AudioContext({ latencyHint: "interactive" }); } catch (e) { return null; }
      this.clock = new AudioClock(this.ctx);
      this.mixer = new Mixer(this.ctx);
      this.ready = loadKit(this.ctx).then((kit) => { this.sampler = new Sampler(this.ctx, kit); });
      this.timer = setInterval(() => this.pump(), PUMP_MS);
    }
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  }

  /** How long before it is heard a sound is started (ms): the output latency. */
  outputLatencyMs() {
    if (!this.ctx) return 0;
    return Math.max(0, (this.ctx.currentTime - this.clock.audioTimeOf(performance.now())) * 1000);
  }

  /** A stroke played on this device, at its own timestamp (page ms). */
  hit(player, lane, velocity, ms, channel) {
    if (!this.sampler) return null;
    return this.sampler.strike(lane, velocity, this.clock.audioTimeOf(ms), this.mixer.input(channel), player);
  }

  /** A stroke played on another device, as soon as it arrives. */
  remoteHit(player, lane, velocity) {
    if (!this.sampler) return null;
    return this.sampler.strike(lane, velocity, this.ctx.currentTime, this.mixer.input("partner"), player);
  }

  /** The engine's click (and the calibration's), heard at page time ms. */
  click(ms, accent) {
    if (this.sampler) this.sampler.click(accent, this.clock.audioTimeOf(ms), this.mixer.input("click"));
  }

  /** The backing (the full part's notes nobody plays), on the click channel: it is the
   * metronome's, not the song's drums (those are the guide channel's). */
  drum(ms, lane, velocity) {
    if (this.sampler) this.sampler.strike(lane, velocity, this.clock.audioTimeOf(ms), this.mixer.input("click"), "backing");
  }

  /**
   * Fetch and decode a song's recording, with its drum stems when `guide`, and make the
   * stretch worklet ahead when the room will need it (`stretch`). Returns what the page
   * should say about it: {hasMusic, fullMix, hasDrums, messages}.
   */
  async prepareSong(name, { guide = false, stretch = false, key: roomKey = null } = {}) {
    const key = `${name}|${guide}`;
    if (!(this.song && this.song.key === key)) {
      const info = await songAudioInfo(name, roomKey);
      const messages = [...info.messages];
      let buffer = null;
      if (info.has_music && this.ensure()) {
        buffer = await loadRecording(this.ctx, info.music, guide ? info.drums : [], messages);
        if (!buffer) messages.push("no readable audio for this song: the click plays alone");
      }
      const status = { hasMusic: !!buffer, fullMix: info.full_mix, hasDrums: info.drums.length > 0, messages };
      this.song = { key, name, info, buffer, status };
    }
    const song = this.song;
    // copying the recording into the worklet is slow: done here, not when play starts
    if (stretch && song.buffer) {
      try { await this.stretchFor(song.buffer); } catch (e) { /* made when a bar needs it */ }
    }
    return song.status;
  }

  /**
   * The song begins: song second s is heard at page time startMs() + 1000 s (startMs()
   * is null while the page's clock does not know it yet: nothing is placed until then).
   */
  startSong(startMs, countInSec) {
    this.stopSong(0);
    this.stopPreview();
    if (!this.ctx || !this.song || !this.song.buffer) return false;
    const buffer = this.song.buffer;
    this.music = new Music(this.ctx, buffer, {
      offsetSec: this.song.info.offset_sec,
      music: this.mixer.input("music"),
      guide: this.mixer.input("guide"),
      songToAudio: (s) => { const ms = startMs(); return ms === null ? Infinity : this.clock.audioTimeOf(ms + 1000 * s); },
      makeStretch: () => this.stretchFor(buffer),
    });
    this.music.countInSec = countInSec;
    this.music.startSec = null;
    this.musicDue = 0;
    return true;
  }

  /** The page's stretch voice for a recording (one per channel count, reused). */
  async stretchFor(buffer) {
    const n = buffer.numberOfChannels;
    let made = this.voices.get(n);
    if (!made) {
      made = StretchVoice.create(this.ctx, buffer);
      this.voices.set(n, made);
      made.catch(() => this.voices.delete(n));
    }
    const voice = await made;
    await voice.load(buffer);
    return voice;
  }

  /** The engine laid out more bars: [chart0, chart1, song0, song1] seconds each. */
  addBars(maps) {
    if (!this.music || !maps || !maps.length) return;
    if (this.music.startSec === null) this.music.startSec = maps[0][2] - this.music.countInSec;
    this.music.addBars(maps);
    this.musicDue = 0;
    this.pump();
  }

  /** Every PUMP_MS: keep the clock map fresh and place the music that is due. */
  pump() {
    if (!this.ctx) return;
    const ms = performance.now();
    if (ms - this.clockReadAt >= CLOCK_MS) { this.clock.refresh(); this.clockReadAt = ms; }
    const music = this.music, now = this.ctx.currentTime;
    if (music && now >= this.musicDue) {
      this.musicDue = Infinity;  // until this pump says when
      music.pump(now).then((next) => { if (this.music === music) this.musicDue = Math.min(this.musicDue, next); });
    }
  }

  stopSong(fadeSec = 0.5) {
    if (!this.music) return;
    this.music.stop(this.ctx.currentTime, fadeSec);
    this.music = null;
  }

  /**
   * Play `sec` seconds of a song's recording from its own second `fromSec` (song.ini's
   * preview_start_time; null: a quarter in, at most 30 s) through the mixer's music
   * channel, fading in and out. The music stems stream through media elements (nothing
   * is decoded whole). Resolves to what plays ({name, from, sec}), or null.
   */
  async preview(name, fromSec = null, sec = PREVIEW_SEC) {
    this.stopPreview();
    if (!this.ensure()) return null;
    const token = {};
    this.previewing = { token, els: [], gain: null, name };
    const info = await songAudioInfo(name);
    if (this.previewing?.token !== token) return null;
    if (!info.has_music || !info.music.length) { this.previewing = null; return null; }
    const ctx = this.ctx, gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(this.mixer.input("music"));
    const els = info.music.map((url) => {
      const el = new Audio(url);
      el.preload = "auto";
      ctx.createMediaElementSource(el).connect(gain);
      return el;
    });
    Object.assign(this.previewing, { els, gain });
    await Promise.all(els.map((el) => new Promise((ok) => {
      if (el.readyState >= 1) ok(); else { el.onloadedmetadata = ok; el.onerror = ok; }
    })));
    if (this.previewing?.token !== token) return null;
    const length = Math.max(...els.map((el) => el.duration || 0));
    const from = Math.max(0, Math.min(fromSec ?? Math.min(30, length / 4), Math.max(0, length - sec)));
    await Promise.all(els.map((el) => new Promise((ok) => {
      el.onseeked = ok; el.currentTime = from; setTimeout(ok, 1500);
    })));
    if (this.previewing?.token !== token) return null;
    await Promise.all(els.map((el) => el.play().catch(() => null)));
    const t = ctx.currentTime, fade = 0.3;
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(1, t + fade);
    gain.gain.setValueAtTime(1, t + sec - fade);
    gain.gain.linearRampToValueAtTime(0, t + sec);
    this.previewing.timer = setTimeout(() => { if (this.previewing?.token === token) this.stopPreview(); }, sec * 1000);
    return { name, from, sec };
  }

  /** Stop a preview (at once, with a short fade). */
  stopPreview() {
    const p = this.previewing;
    this.previewing = null;
    if (!p) return;
    clearTimeout(p.timer);
    if (p.gain) {
      const t = this.ctx.currentTime;
      p.gain.gain.cancelScheduledValues(t);
      p.gain.gain.setValueAtTime(p.gain.gain.value, t);
      p.gain.gain.linearRampToValueAtTime(0, t + 0.05);
    }
    setTimeout(() => {
      for (const el of p.els) { el.pause(); el.removeAttribute("src"); el.load(); }
      if (p.gain) p.gain.disconnect();
    }, 80);
  }

  /** Draw the mixer's sliders into an element; onChange(channel, value) when one moves. */
  mixerPanel(el, onChange) { mixerPanel(el, () => this.mixer, onChange); }
}

/** What the studio says about a song's recording (GET /api/songs/{name}/audio): on the
 * network, another device than the studio's asks with its room's key. */
async function songAudioInfo(name, key = null) {
  const query = key ? `?key=${encodeURIComponent(key)}` : "";
  const r = await fetch(`/api/songs/${encodeURIComponent(name)}/audio${query}`);
  const info = await r.json();
  if (!r.ok) throw new Error(info.error || `HTTP ${r.status}`);
  return info;
}

export const sound = new PageSound();
window.cymbalismSound = sound;
