// The song's recording on the song's time line, bar by bar as the engine lays bars out.
//
// Each bar says which stretch of the recording sounds in it: recording seconds
// [rec0, rec1) at song seconds [song0, song1), so within the bar the recording runs at
// the constant speed (rec1 - rec0) / (song1 - song0) (0.8 at an 80% practice tempo; a
// little more or less where the click follows the duo). As in cymbalism.sound.music:
//
// - a bar at speed 1 that carries on from the bar before plays the recording as it is,
//   from one AudioBufferSourceNode started sample-accurately on the audio clock;
// - a bar at any other speed is played by Signalsmith Stretch (StretchVoice), the pitch
//   kept, its time map set at the bar line;
// - any other join (a loop jumping back, a change between the two, the clocks having
//   drifted apart by more than DRIFT_SEC) crossfades over FADE_SEC at the bar line.
//
// Before the first bar the first bar's speed carries on back to the recording's start
// (or the count-in's start); after the last it carries on to the recording's end.
//
// Bars are placed just in time: pump(now) places those due within LEAD_SEC, with the
// song-to-audio map of that moment, so a sound card whose clock drifts from the page's
// is followed bar by bar.

import { LEAD_SEC, StretchVoice } from "./stretch.js";

export const FADE_SEC = 0.010;
export const DRIFT_SEC = 0.001;
// what is placed is never started sooner than this from now
const LATE_SEC = 0.02;
const UNITY = 1e-9;

export class Music {
  /**
   * @param {BaseAudioContext} ctx
   * @param {AudioBuffer} buffer  the recording: 2 channels (music), or 4 (music, then
   *   the drum stems for the guide channel)
   * @param {object} opts
   * @param {number} opts.offsetSec  song second t sounds at t + offsetSec in the buffer
   * @param {AudioNode} opts.music  where the music goes
   * @param {AudioNode} [opts.guide]  where the drum stems go
   * @param {function(number): number} opts.songToAudio  song seconds -> audio time
   * @param {number} [opts.startSec]  the earliest song second to play (the count-in)
   * @param {StretchVoice} [opts.stretch]  made ahead (otherwise made when a bar needs it:
   *   an idle one still costs CPU)
   * @param {function(): Promise<StretchVoice>} [opts.makeStretch]  how one is made (the
   *   page keeps one per channel count and reuses it)
   */
  constructor(ctx, buffer, { offsetSec = 0, music, guide = null, songToAudio, startSec = -Infinity, stretch = null,
    makeStretch = () => StretchVoice.create(ctx, buffer) }) {
    this.ctx = ctx;
    this.buffer = buffer;
    this.offsetSec = offsetSec;
    this.songToAudio = songToAudio;
    this.startSec = startSec;
    this.bars = [];          // not placed yet
    this.voice = null;       // what plays now: {kind, fade, t0, rec0, speed, src?}
    this.stretch = stretch;
    this.makeStretch = makeStretch;
    this.making = null;      // a stretch worklet being made
    this.stretchFade = null;
    this.busy = false;
    this.stopped = false;
    this.placed = [];        // every placement (read by tests): {kind, when, rec, speed}
    // everything goes through one bus that splits music from the drum stems
    this.bus = ctx.createGain();
    const n = buffer.numberOfChannels;
    this.bus.channelCount = n; this.bus.channelCountMode = "explicit"; this.bus.channelInterpretation = "discrete";
    if (n === 4) {
      const split = ctx.createChannelSplitter(4);
      this.bus.connect(split);
      const outs = [[music, 0], [guide, 2]];
      for (const [dest, first] of outs) {
        if (!dest) continue;
        const merge = ctx.createChannelMerger(2);
        split.connect(merge, first, 0); split.connect(merge, first + 1, 1);
        merge.connect(dest);
      }
    } else this.bus.connect(music);
  }

  /** Bars as the engine laid them out: [chart0, chart1, song0, song1] seconds. */
  addBars(maps) {
    for (const [c0, c1, s0, s1] of maps) {
      if (!(s1 > s0)) continue;
      const rec0 = c0 + this.offsetSec, rec1 = c1 + this.offsetSec;
      const speed = (rec1 - rec0) / (s1 - s0);
      this.bars.push({ rec0, rec1, song0: s0, song1: s1, speed });
      // the stretch worklet is made as soon as a bar needs it (bars come seconds ahead)
      if (Math.abs(speed - 1) >= UNITY && !this.stretch && !this.making)
        this.making = this.makeStretch();
    }
  }

  /** Place what is due; the audio time of the next thing to do (Infinity: nothing). */
  async pump(now) {
    if (this.busy || this.stopped) return now + 0.025;
    this.busy = true;
    try {
      while (this.bars.length) {
        const b = this.bars[0];
        // a bar that is over already (a tab that came back mid-song) is not placed
        if (this.songToAudio(b.song1) < now + LATE_SEC) { this.bars.shift(); continue; }
        const [song, at] = this.startOf(b);
        if (at - now > LEAD_SEC) break;
        this.bars.shift();
        await this.place(b, song, at);
      }
      // the next bar is placed LEAD_SEC ahead (poll while the song's start is unknown)
      const first = this.bars.length ? this.startOf(this.bars[0])[1] : Infinity;
      const next = this.bars.length && !Number.isFinite(first) ? now + 0.025 : first - LEAD_SEC;
      const stretchNext = this.stretch ? await this.stretch.pump(now) : Infinity;
      return Math.min(next, stretchNext);
    } finally { this.busy = false; }
  }

  /** Where a bar starts sounding: [song second, audio time]. Before the first bar, the
   * first bar's speed carries on back to the recording's start (or the count-in's). */
  startOf(b) {
    const song = this.voice ? b.song0 : Math.min(b.song0, Math.max(b.song0 - b.rec0 / b.speed, this.startSec));
    return [song, this.songToAudio(song)];
  }

  /** The recording second the voice playing now sounds at audio time t. */
  recAt(t) { return this.voice.rec0 + (t - this.voice.t0) * this.voice.speed; }

  async place(b, song, at) {
    let rec = b.rec0 + (song - b.song0) * b.speed;
    // placed late (a tab that came back mid-song, a page held up): where it is by now
    const earliest = this.ctx.currentTime + LATE_SEC + (this.voice ? FADE_SEC / 2 : 0);
    if (at < earliest) { rec += (earliest - at) * b.speed; at = earliest; }
    const v = this.voice;
    if (v && Math.abs(v.speed - b.speed) < UNITY && Math.abs(this.recAt(at) - rec) <= DRIFT_SEC * b.speed)
      return;  // the recording carries on as it plays: nothing to do
    const unity = Math.abs(b.speed - 1) < UNITY;
    const half = v ? FADE_SEC / 2 : 0;
    if (!unity && !this.stretch) this.stretch = await (this.making || this.makeStretch());
    // the new voice, from half a fade before the bar line
    let next;
    if (unity) {
      const src = this.ctx.createBufferSource(), fade = this.ctx.createGain();
      src.buffer = this.buffer;
      src.connect(fade); fade.connect(this.bus);
      let when = at - half, offset = rec - half;
      if (offset < 0) { when -= offset; offset = 0; }  // the recording starts later
      src.start(when, offset);
      next = { kind: "direct", src, fade, t0: at, rec0: rec, speed: 1 };
    } else {
      if (!this.stretchFade) {
        this.stretchFade = this.ctx.createGain();
        this.stretchFade.gain.value = 0;
        this.stretch.node.connect(this.stretchFade); this.stretchFade.connect(this.bus);
      }
      const sameNode = v && v.kind === "stretch";
      const start = sameNode ? at : at - half;
      this.stretch.change({ active: true, output: start, input: rec - (at - start) * b.speed, rate: b.speed });
      next = { kind: "stretch", fade: this.stretchFade, t0: at, rec0: rec, speed: b.speed };
    }
    this.placed.push({ kind: next.kind, when: at, rec, speed: b.speed });
    if (v && v.kind === next.kind && next.kind === "stretch") { this.voice = next; return; }
    // crossfade from the old voice to the new one across the bar line
    if (v) this.fadeOut(v, at - half, at + half);
    if (half > 0) {
      next.fade.gain.setValueAtTime(0, at - half);
      next.fade.gain.linearRampToValueAtTime(1, at + half);
    } else next.fade.gain.setValueAtTime(1, at);
    this.voice = next;
  }

  fadeOut(v, from, to) {
    v.fade.gain.setValueAtTime(1, from);
    v.fade.gain.linearRampToValueAtTime(0, to);
    if (v.kind === "direct") v.src.stop(to + 0.002);
    else this.stretch.change({ active: false, output: to + 0.002 });
  }

  /** Fade the music out from audio time `when` and stop. */
  stop(when = this.ctx.currentTime, fadeSec = 0.3) {
    this.stopped = true;
    this.bars = [];
    this.bus.gain.setValueAtTime(this.bus.gain.value, when);
    this.bus.gain.linearRampToValueAtTime(0, when + fadeSec);
    if (this.voice && this.voice.kind === "direct") this.voice.src.stop(when + fadeSec + 0.01);
    if (this.stretch) {
      this.stretch.stop(when + fadeSec + 0.01);
      // the voice may serve the next play: let go of this play's path from it
      const { node } = this.stretch, fade = this.stretchFade;
      if (fade) setTimeout(() => { try { node.disconnect(fade); } catch (e) { /* gone */ } }, (when - this.ctx.currentTime + fadeSec + 0.1) * 1000);
    }
    this.voice = null;
  }
}

/**
 * Decode a song's files into one AudioBuffer at the context's rate: the music's stems in
 * channels 0-1 and, when given, the drum stems in channels 2-3. Files that cannot be
 * decoded are left out and named in `problems`.
 *
 * The browser decodes off the main thread; a single file is used as it is, and several
 * are summed by an OfflineAudioContext (on the audio thread), so nothing here holds up
 * the page's key handler.
 */
export async function loadRecording(ctx, musicUrls, drumUrls = [], problems = []) {
  const decode = async (url) => {
    try {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return await ctx.decodeAudioData(await r.arrayBuffer());
    } catch (err) {
      problems.push(`${decodeURIComponent(url.split("/").pop())}: cannot be decoded here (${err.message || err})`);
      return null;
    }
  };
  const music = (await Promise.all(musicUrls.map(decode))).filter(Boolean);
  const drums = (await Promise.all(drumUrls.map(decode))).filter(Boolean);
  if (!music.length && !drums.length) return null;
  if (music.length === 1 && !drums.length && music[0].numberOfChannels <= 2) return music[0];
  const all = [...music, ...drums];
  const channels = drums.length ? 4 : 2;
  const length = Math.max(...all.map((b) => b.length));
  const off = new OfflineAudioContext(channels, length, ctx.sampleRate);
  const merge = off.createChannelMerger(channels);
  off.destination.channelInterpretation = "discrete";
  merge.connect(off.destination);
  const group = (bufs, first) => {
    if (!bufs.length) return;
    // each stem as stereo (a mono stem on both sides), summed, into two of the channels
    const sum = off.createGain();
    sum.channelCount = 2; sum.channelCountMode = "explicit"; sum.channelInterpretation = "speakers";
    for (const b of bufs) {
      const src = off.createBufferSource();
      src.buffer = b; src.connect(sum); src.start(0);
    }
    const split = off.createChannelSplitter(2);
    sum.connect(split);
    split.connect(merge, 0, first); split.connect(merge, 1, first + 1);
  };
  group(music, 0); group(drums, 2);
  return off.startRendering();
}
