// Inputs: computer keys (two sets on one keyboard), an e-kit over Web MIDI, on-screen pads.
// Every stroke is stamped with the event's own time, sounded from the sampled kit at that
// time (unless an e-kit makes its own sound), and then sent as a hit.
import { $, S, COLORS, escapeHtml } from "./state.js";
import { send } from "./net.js";
import { sound } from "./audio.js";

export const KEY_LABEL = (code) => code.replace(/^Key/, "").replace("Semicolon", ";");
export const INPUT_NAMES = {
  keys1: "computer keys, left set (F D S …)",
  keys2: "computer keys, right set (J K L …)",
  midi: "e-kit over USB (Web MIDI)",
  touch: "on-screen pads (touch)",
};

// a second player on this device gets the key set the first one does not use
export function freeKeySet(player, wanted) {
  if (!wanted.startsWith("keys")) return wanted;
  const taken = [...S.mine].filter((j) => j !== player).map((j) => S.inputs[j]);
  if (!taken.includes(wanted)) return wanted;
  return ["keys1", "keys2"].find((k) => !taken.includes(k)) || wanted;
}

export function keymapHtml(set) {
  const map = S.info.key_sets[set];
  return `<div class="keymap">${Object.entries(map).map(([code, lane]) =>
    `<div><kbd>${KEY_LABEL(code)}</kbd>${S.info.lanes[lane].label}</div>`).join("")}</div>`;
}
// one line per player on this device, naming exactly the keys that play their lanes
export function keyHelpHtml(names) {
  const help = [];
  for (const i of [...S.mine].sort()) {
    const set = S.inputs[i];
    const who = `<b style="color:${COLORS[i]}">${escapeHtml(names[i])}</b>: `;
    if (set.startsWith("keys")) help.push(`<p data-help="${i}">${who}` +
      Object.entries(S.info.key_sets[set]).filter(([, l]) => !S.lanes.length || S.lanes.includes(l))
        .map(([c, l]) => `<kbd>${KEY_LABEL(c)}</kbd> ${S.info.lanes[l].label}`).join(" · ") + "</p>");
    else help.push(`<p data-help="${i}">${who}${set === "midi" ? "your e-kit" : "the pads below"}</p>`);
  }
  return help.join("");
}

const calibTap = (player, tMs) => {
  if (S.calib && S.calib.player === player) { S.calib.taps.push(tMs); return true; }
  return false;
};

// an e-kit's own sound module plays its strokes to its drummer: the page leaves them
// alone unless told otherwise (remembered per MIDI device by this browser)
const KIT_SOUND = "cymbalism.kitSound";
function savedKitSound(device) {
  try {
    const v = JSON.parse(localStorage.getItem(KIT_SOUND) || "{}")[device];
    return v === undefined ? true : !!v;
  } catch (e) { return true; }
}
function saveKitSound(device, on) {
  try {
    const all = JSON.parse(localStorage.getItem(KIT_SOUND) || "{}");
    all[device] = on;
    localStorage.setItem(KIT_SOUND, JSON.stringify(all));
  } catch (e) { /* private mode */ }
}

// the first player on this device hears their strokes on "own", a second on "partner"
function channelOf(player) { return player === Math.min(...S.mine) ? "own" : "partner"; }

/** Sound a stroke of this device at its own timestamp: keys and pads always, an e-kit
 * only when its drummer asked (its module sounds it otherwise). */
export function soundStroke(player, lane, tMs, velocity) {
  if (S.inputs[player] === "midi" && S.kitSound[player]) return;
  sound.hit(player, lane, velocity || 100, tMs, channelOf(player));
}

export function stroke(player, lane, tMs, velocity) {
  soundStroke(player, lane, tMs, velocity);  // before anything else
  if (calibTap(player, tMs)) return;
  S.seq += 1;
  S.pending.set(S.seq, tMs);
  send({ type: "hit", player, t_ms: tMs, lane, velocity: velocity || 100, seq: S.seq });
  S.strokes[player].push({ lane, tMs });
}

export function onKey(ev) {
  if (ev.repeat || ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
  for (const i of S.mine) {
    const set = S.inputs[i];
    if (!set.startsWith("keys")) continue;
    const lane = S.info.key_sets[set][ev.code];
    if (lane !== undefined) { ev.preventDefault(); stroke(i, lane, ev.timeStamp, 100); return; }
  }
}
function onMidi(player, ev) {
  const [status, note, vel] = ev.data;
  if ((status & 0xf0) !== 0x90 || vel === 0) return;
  const lane = S.info.midi_notes[String(note)];
  if (lane !== undefined && S.mine.has(player)) stroke(player, lane, ev.timeStamp, vel);
}
export async function midiDetail(d, i) {
  if (!navigator.requestMIDIAccess) {
    d.innerHTML = `<p class="hint">This browser has no Web MIDI; use Chrome or Edge, or pick keys or pads.</p>`;
    return;
  }
  try { S.midiAccess = S.midiAccess || await navigator.requestMIDIAccess(); }
  catch (err) { d.innerHTML = `<p class="hint">MIDI access was refused: ${escapeHtml(String(err))}</p>`; return; }
  const inputs = [...S.midiAccess.inputs.values()];
  if (!inputs.length) { d.innerHTML = `<p class="hint">No MIDI input found: plug the kit in by USB, then pick this again.</p>`; return; }
  d.innerHTML = `<label>Device <select>${inputs.map((x) => `<option value="${x.id}">${escapeHtml(x.name)}</option>`).join("")}</select></label>
    <label><input type="checkbox" data-kit-sound="${i}"> my kit makes its own sound (this page stays quiet for my strokes)</label>`;
  const sel = d.querySelector("select"), own = d.querySelector("[data-kit-sound]");
  const bind = () => {
    for (const inp of inputs) if (inp.onmidimessage && S.midiInputFor[i] === inp.id) inp.onmidimessage = null;
    const inp = S.midiAccess.inputs.get(sel.value);
    S.midiInputFor[i] = inp.id;
    inp.onmidimessage = (ev) => onMidi(i, ev);
    S.kitSound[i] = savedKitSound(inp.name);
    own.checked = S.kitSound[i];
  };
  own.onchange = () => {
    S.kitSound[i] = own.checked;
    saveKitSound(S.midiAccess.inputs.get(sel.value).name, own.checked);
  };
  sel.onchange = bind; bind();
}

// pads for player i: one per lane, struck on pointerdown (its own timestamp)
export function padGroup(i, lanes, onStrike) {
  const g = document.createElement("div"); g.className = "padgroup";
  for (const lane of lanes) {
    const b = document.createElement("button");
    b.className = `pad p${i}`; b.textContent = S.info.lanes[lane].label; b.dataset.lane = lane;
    b.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      if (onStrike) { soundStroke(i, lane, ev.timeStamp, 100); onStrike(i, lane, ev.timeStamp); }
      else stroke(i, lane, ev.timeStamp, 100);
    });
    g.appendChild(b);
  }
  return g;
}
export function buildPads(lanes) {
  const box = $("pads"); box.innerHTML = "";
  let any = false;
  for (const i of [...S.mine].sort()) {
    if (S.inputs[i] !== "touch") continue;
    any = true;
    box.appendChild(padGroup(i, lanes));
  }
  box.hidden = !any;
  box.classList.toggle("fixed", any);
  document.body.classList.toggle("with-pads", any);
  // leave room under the page for the fixed pads, so nothing is hidden behind them
  requestAnimationFrame(() => { document.querySelector("main").style.paddingBottom = any ? `${box.offsetHeight + 16}px` : ""; });
}
