// The studio page's sound: one object, window.cymbalismSound, that the page calls.
//
//   ensure()                        make the AudioContext (on a click or key) and load the kit
//   hit(player, lane, vel, ms, ch)  a stroke at page time ms (event.timeStamp): at once
//   remoteHit(lane, vel)            a stroke from another device: at once
//   click(ms, accent), drum(ms, lane, vel)   the engine's click and backing, scheduled ahead
//   prepareSong(name, {guide})      fetch and decode the song's recording (lobby)
//   startSong(startMs, countInSec)  song second s is heard at page time startMs + 1000 s
//   addBars(maps)                   the engine's bars: where the recording sounds
//   stopSong(fadeSec)
//   mixer                           the channels (music, guide, click, own, partner)
//
// Every sound starts on the audio clock at the audio time heard at its page time
// (AudioClock), so the click, the backing, the music and the strokes share one time line
// with the engine's judge.

import { AudioClock } from "./clock.js";
import { Mixer, mixerPanel } from "./mixer.js";
import { Music, loadRecording } from "./music.js";
import { Sampler, loadKit } from "./sampler.js";

const PUMP_MS = 25;

class PageSound {
  constructor() {
    this.ctx = null; this.clock = null; this.mixer = null; this.sampler = null;
    this.song = null;        // {name, buffer, info, messages, stretch}
    this.music = null;
    this.timer = null;
    this.ready = null;
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

  click(ms, accent) {
    if (this.sampler) this.sampler.click(accent, this.clock.audioTimeOf(ms), this.mixer.input("click"));
  }

  drum(ms, lane, velocity) {
    if (this.sampler) this.sampler.strike(lane, velocity, this.clock.audioTimeOf(ms), this.mixer.input("guide"), "backing");
  }

  /**
   * Fetch and decode a song's recording. Returns what the page should say about it:
   * {hasMusic, fullMix, messages}.
   */
  async prepareSong(name, { guide = false } = {}) {
    const key = `${name}|${guide}`;
    if (this.song && this.song.key === key) return this.song.status;
    const r = await fetch(`/api/songs/${encodeURIComponent(name)}/audio`);
    const info = await r.json();
    if (!r.ok) throw new Error(info.error || `HTTP ${r.status}`);
    const messages = [...info.messages];
    let buffer = null;
    if (info.has_music && this.ensure()) {
      buffer = await loadRecording(this.ctx, info.music, guide ? info.drums : [], messages);
      if (!buffer) messages.push("no readable audio for this song: the click plays alone");
    }
    const status = { hasMusic: !!buffer, fullMix: info.full_mix, hasDrums: info.drums.length > 0, messages };
    this.song = { key, name, info, buffer, status };
    return status;
  }

  /** The song begins: song second s is heard at page time startMs + 1000 s. */
  startSong(startMs, countInSec) {
    this.stopSong(0);
    if (!this.ctx || !this.song || !this.song.buffer) return;
    this.music = new Music(this.ctx, this.song.buffer, {
      offsetSec: this.song.info.offset_sec,
      music: this.mixer.input("music"),
      guide: this.mixer.input("guide"),
      songToAudio: (s) => this.clock.audioTimeOf(startMs + 1000 * s),
    });
    this.music.countInSec = countInSec;
    this.music.startSec = null;
  }

  /** The engine laid out more bars: [chart0, chart1, song0, song1] seconds each. */
  addBars(maps) {
    if (!this.music || !maps || !maps.length) return;
    if (this.music.startSec === null) this.music.startSec = maps[0][2] - this.music.countInSec;
    this.music.addBars(maps);
    this.pump();
  }

  pump() {
    if (!this.ctx) return;
    this.clock.refresh();
    if (this.music) this.music.pump(this.ctx.currentTime);
  }

  stopSong(fadeSec = 0.5) {
    if (!this.music) return;
    this.music.stop(this.ctx.currentTime, fadeSec);
    this.music = null;
  }

  /** Draw the mixer's sliders into an element. */
  mixerPanel(el) { mixerPanel(el, () => this.mixer); }
}

window.cymbalismSound = new PageSound();
window.dispatchEvent(new Event("cymbalism-sound"));
