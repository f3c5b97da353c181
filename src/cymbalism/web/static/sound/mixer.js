// The page's mixer: five channels, each a GainNode before the speakers, their levels
// remembered by this browser (localStorage). The defaults are the terminal's
// (cymbalism.sound.mixer.DEFAULT_GAINS): the song's drum stems (guide) are muted, since
// the players are the drummers; the click channel carries the metronome, that is the
// click and the backing (the full part's notes nobody plays).

export const CHANNELS = [
  { id: "music", label: "Music", gain: 0.8 },
  { id: "guide", label: "Guide drums", gain: 0, hint: "the song's own drum stems" },
  { id: "click", label: "Click & backing", gain: 0.5 },
  { id: "own", label: "Your hits", gain: 0.9 },
  { id: "partner", label: "Partner's hits", gain: 0.9 },
];
export const MAX_GAIN = 1.5;
export const STORAGE_KEY = "cymbalism.mixer";

function remembered(storage) {
  try { return JSON.parse(storage?.getItem(STORAGE_KEY) || "{}") || {}; } catch (e) { return {}; }
}

/** Channel levels as this browser remembers them (defaults for the others). */
export function savedGains(storage = globalThis.localStorage) {
  const saved = remembered(storage), out = {};
  for (const c of CHANNELS) {
    const v = Number(saved[c.id]);
    out[c.id] = Number.isFinite(v) && v >= 0 && v <= MAX_GAIN ? v : c.gain;
  }
  return out;
}

export class Mixer {
  /**
   * @param {BaseAudioContext} ctx
   * @param {AudioNode} destination
   * @param {Storage} [storage]  where levels are remembered (none: not remembered)
   */
  constructor(ctx, destination = ctx.destination, storage = globalThis.localStorage) {
    this.ctx = ctx;
    this.storage = storage;
    this.gains = savedGains(storage);
    this.nodes = {};
    for (const c of CHANNELS) {
      const g = ctx.createGain();
      g.gain.value = this.gains[c.id];
      g.connect(destination);
      this.nodes[c.id] = g;
    }
  }

  /** The node a channel's sounds connect to. */
  input(id) { return this.nodes[id]; }

  /** Set a channel's level (0 to MAX_GAIN) and remember it. */
  set(id, value) {
    const v = Math.max(0, Math.min(MAX_GAIN, Number(value)));
    if (!(id in this.nodes) || !Number.isFinite(v)) return;
    this.gains[id] = v;
    this.nodes[id].gain.setTargetAtTime(v, this.ctx.currentTime, 0.01);
    try { this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.gains)); } catch (e) { /* private mode */ }
  }
}

/**
 * Draw the mixer's sliders into el. get() gives the Mixer once there is sound (before
 * that the sliders set what will be remembered).
 */
export function mixerPanel(el, get, onChange = () => {}) {
  const gains = savedGains();
  el.innerHTML = "";
  for (const c of CHANNELS) {
    const row = document.createElement("label");
    row.className = "mix-row";
    row.innerHTML = `<span class="mix-name">${c.label}</span>
      <input type="range" min="0" max="${MAX_GAIN}" step="0.05" data-channel="${c.id}" aria-label="${c.label}"${c.hint ? ` title="${c.hint}"` : ""}>
      <output></output>`;
    const input = row.querySelector("input"), out = row.querySelector("output");
    const shown = (v) => { out.textContent = `${Math.round(v * 100)}%`; };
    input.value = String(gains[c.id]); shown(gains[c.id]);
    input.oninput = () => {
      const v = Number(input.value);
      shown(v);
      const m = get();
      if (m) m.set(c.id, v);
      else {
        const now = savedGains(); now[c.id] = v;
        try { localStorage.setItem(STORAGE_KEY, JSON.stringify(now)); } catch (e) { /* private mode */ }
      }
    };
    input.onchange = () => onChange(c.id, Number(input.value));
    el.appendChild(row);
  }
}
