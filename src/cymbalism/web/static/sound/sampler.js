// The sampled kit (kit.json and its FLAC files, in one body from /api/kit): every lane at
// a few velocities, the clicks, and the open hi-hat that a closed or pedal stroke of the
// same player chokes. A stroke plays the layer nearest its velocity (ties go up) at
// velocity / layer velocity, as cymbalism.sound.kit does for the terminal.

export const CHOKE_SEC = 0.008;

/** Fetch the kit (its description and every file in one body) and decode it. */
export async function loadKit(ctx, base = "/api/kit") {
  const [spec, pack] = await Promise.all([
    fetch(base).then((r) => r.json()),
    fetch(`${base}/pack`).then((r) => r.arrayBuffer()),
  ]);
  const decode = async (file) => {
    const [offset, length] = spec.pack[file];
    return ctx.decodeAudioData(pack.slice(offset, offset + length));
  };
  const layers = new Map(), chokers = new Map();
  const byName = {};
  await Promise.all(Object.entries(spec.lanes).map(async ([name, lane]) => {
    byName[name] = lane.lane;
    layers.set(lane.lane, await Promise.all(lane.files.map(decode)));
  }));
  for (const [choked, by] of Object.entries(spec.chokes || {}))
    for (const name of by) chokers.set(byName[name], byName[choked]);
  const clicks = {};
  await Promise.all(Object.entries(spec.clicks).map(async ([k, f]) => { clicks[k] = await decode(f); }));
  return { velocities: spec.layers, layers, chokers, choked: new Set(chokers.values()), clicks };
}

export class Sampler {
  constructor(ctx, kit) {
    this.ctx = ctx;
    this.kit = kit;
    this.ringing = new Map();   // "player:lane" -> {src, gain} of a sound a stroke may choke
  }

  /** The layer for a velocity and its gain. */
  layer(lane, velocity) {
    const vs = this.kit.velocities, v = Math.max(1, Math.min(127, velocity | 0));
    let k = 0;
    for (let i = 1; i < vs.length; i++)
      if (Math.abs(v - vs[i]) - 1e-3 * vs[i] < Math.abs(v - vs[k]) - 1e-3 * vs[k]) k = i;
    return { buffer: this.kit.layers.get(lane)[k], gain: v / vs[k] };
  }

  /**
   * Start one stroke's sample at audio time `when` (at once if that has passed) into
   * `dest`. `who` names the player, for the hi-hat choke.
   */
  strike(lane, velocity, when, dest, who = "") {
    const ctx = this.ctx, { buffer, gain } = this.layer(lane, velocity);
    const src = ctx.createBufferSource(), g = ctx.createGain();
    src.buffer = buffer; g.gain.value = gain;
    src.connect(g); g.connect(dest);
    src.start(when);
    const choked = this.kit.chokers.get(lane);
    if (choked !== undefined) {
      const ring = this.ringing.get(`${who}:${choked}`);
      if (ring) {
        const at = Math.max(when, ctx.currentTime);
        ring.gain.gain.setValueAtTime(ring.gain.gain.value, at);
        ring.gain.gain.linearRampToValueAtTime(0, at + CHOKE_SEC);
        ring.src.stop(at + CHOKE_SEC + 0.002);
        this.ringing.delete(`${who}:${choked}`);
      }
    }
    if (this.kit.choked.has(lane)) this.ringing.set(`${who}:${lane}`, { src, gain: g });
    return src;
  }

  /** A click (the downbeat's when accent) at audio time `when`. */
  click(accent, when, dest) {
    const src = this.ctx.createBufferSource();
    src.buffer = this.kit.clicks[accent ? "accent" : "click"];
    src.connect(dest);
    src.start(when);
    return src;
  }
}
