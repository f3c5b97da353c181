// The lobby: who plays where with which input, latency calibration, the start.
import { $, S, COLORS, escapeHtml, show } from "./state.js";
import { send, savedSeats, saveSeat } from "./net.js";
import { ensureAudio, enqueue, sound } from "./audio.js";
import { INPUT_NAMES, freeKeySet, keymapHtml, midiDetail, padGroup } from "./keys.js";
import { prepareMusic } from "./songmusic.js";

const WAITING = "Waiting for every player to pick “Play here” (on this device or another).";

export function lobbyMsg(text) {
  const el = $("lobby-msg");
  el.textContent = text;
  if (text && !$("lobby").hidden) el.scrollIntoView({ block: "nearest" });
}

function practiceText(room) {
  const p = room.practice || {}, out = [];
  if (room.tempo_percent !== 100) out.push(`tempo ${room.tempo_percent}%`);
  if (p.loop_bars) out.push(`loop bars ${p.loop_bars[0]}–${p.loop_bars[1]} × ${p.loop_repeats}`);
  else if (p.start_bar) out.push(`from bar ${p.start_bar}`);
  if (p.ramp_percent) out.push(`+${p.ramp_percent}% each time up to ${p.ramp_to_percent}%`);
  return out.join(", ");
}

export function setRoom(room) {
  S.room = room;
  $("room-badge").hidden = false;
  $("room-code-top").textContent = room.code;
  $("room-code").textContent = room.code.replace(/^(.{5})(.+)$/, "$1 $2");  // read in two halves
  const urls = S.info.public_urls || [];
  $("join-hint").innerHTML = urls.length
    ? `A phone or second computer joins at <b>${urls.map(escapeHtml).join("</b> or <b>")}</b> with this code.`
    : `The studio is on this computer only; to let a phone or a second computer join, start it with <code>cymbalism serve --host 0.0.0.0 --tls</code>.`;
  $("lobby-title").textContent = `${room.title}: ${room.players.map((p) => `${p.name} (${p.level})`).join(" with ")}`;
  $("lobby-practice").textContent = practiceText(room);
  history.replaceState(null, "", `#room=${room.code}`);
  renderSlots();
  prepareMusic();
}

function offsetText(p) {
  const ms = Number(p.offset_ms).toFixed(1);
  if (p.offset_source === "remembered") return `latency ${ms} ms, remembered from last time`;
  if (p.offset_source === "measured") return `latency ${ms} ms, just measured`;
  return `latency not measured yet (0 ms)`;
}

export function renderSlots() {
  const box = $("slots"); box.innerHTML = "";
  S.room.players.forEach((p, i) => {
    const mine = S.mine.has(i);
    const div = document.createElement("div");
    div.className = `slot p${i}`;
    const who = mine ? "plays on this device" : p.claimed ? "plays on another device" : "nobody yet";
    div.innerHTML = `<h3 style="color:${COLORS[i]}">${escapeHtml(p.name)} <span class="level-badge">${p.level}</span></h3>
      <div class="who">${who}; ${offsetText(p)}</div>
      <label>Input <select data-input="${i}">${Object.entries(INPUT_NAMES).map(([k, v]) => `<option value="${k}">${v}</option>`).join("")}</select></label>
      <div class="input-detail"></div>
      <div class="row">
        <button data-claim="${i}" ${mine ? "disabled" : ""}>${mine ? "Playing here" : "Play here"}</button>
        <button data-calib="${i}" ${mine ? "" : "disabled"}>${p.offset_source === "none" ? "Calibrate latency" : "Calibrate again"}</button>
      </div>
      <div class="calib-box" data-calib-box="${i}" hidden></div>`;
    box.appendChild(div);
    const sel = div.querySelector("select");
    sel.value = mine ? S.inputs[i] : freeKeySet(i, p.input || (i === 0 ? "keys1" : "keys2"));
    const detail = () => {
      const d = div.querySelector(".input-detail");
      if (sel.value.startsWith("keys")) d.innerHTML = keymapHtml(sel.value);
      else if (sel.value === "midi") midiDetail(d, i);
      else d.innerHTML = `<p class="hint">Pads appear at the bottom of the screen while you play, and here while you calibrate.</p>`;
    };
    sel.onchange = () => { S.inputs[i] = sel.value; detail(); if (S.mine.has(i)) claim(i); };
    detail();
    div.querySelector("[data-claim]").onclick = () => { S.inputs[i] = freeKeySet(i, sel.value); ensureAudio(); claim(i); prepareMusic(); };
    div.querySelector("[data-calib]").onclick = () => calibrate(i);
  });
  const all = S.room.players.every((p) => p.claimed);
  $("start").disabled = !all || S.mine.size === 0;
  // room updates keep what calibration says; the waiting note has a line of its own
  $("lobby-wait").textContent = all ? "" : WAITING;
}

export function claim(i, seat) {
  S.mine.add(i);
  const msg = { type: "claim", player: i, input: S.inputs[i] };
  if (seat) msg.seat = seat;
  send(msg);
}
// the server gave this browser the seat: keep it, to take it back after a reload
export function onSeat(m) { saveSeat(S.room.code, m.player, m.seat, S.inputs[m.player]); }

// a tab opening a room it held seats in takes them again (mid-song too)
export function reclaimSeats(room) {
  const seats = savedSeats(room.code);
  for (const [k, v] of Object.entries(seats)) {
    const i = Number(k);
    if (!(i >= 0 && i < room.players.length)) continue;
    S.inputs[i] = v.input || S.inputs[i];
    claim(i, v.seat);
  }
  return Object.keys(seats).length > 0;
}

export function enterLobby() { show("lobby"); }

// ---------------------------------------------------------------- calibration
// Eight clicks, heard and seen (a light flashes on each); the player taps along with
// their own input. Pads are shown for a touch player. The median offset is the latency.
//
// Each click is started so that it is *heard* at its page time (sound/clock.js reads the
// output latency from the AudioContext), as every sound of the song is. So the offset
// measures the loop from hearing a click to the stamped stroke (the input's latency and
// the drummer's habit), and none of the output's: the server takes it off each hit, the
// page's scheduling takes the output latency off each sound, and neither is counted
// twice. The server remembers it per player and input.
export async function calibrate(player) {
  ensureAudio();
  if (sound.ready) await sound.ready.catch(() => null);  // the clicks are the kit's
  const n = 8, spbMs = 600, t0 = performance.now() + 1200;
  const clicks = Array.from({ length: n }, (_, k) => t0 + k * spbMs);
  S.calib = { player, taps: [], clicks };
  const box = document.querySelector(`[data-calib-box="${player}"]`);
  box.hidden = false;
  box.innerHTML = `<div class="beat-light" aria-label="flashes on every click"></div><span class="hint">watch the light, listen for the click</span>`;
  if (S.inputs[player] === "touch") {
    const lanes = S.room.lanes && S.room.lanes.length ? S.room.lanes : [1];
    box.appendChild(padGroup(player, lanes, (i, lane, tMs) => { if (S.calib) S.calib.taps.push(tMs); }));
  }
  const what = S.inputs[player] === "touch" ? "any pad" : S.inputs[player] === "midi" ? "any drum" : "any of their keys";
  lobbyMsg(`Tap along with the ${n} clicks (${S.room.players[player].name}: ${what})…`);
  box.scrollIntoView({ block: "nearest" });
  enqueue(clicks.map((ms, k) => ({ ms, kind: k % 4 === 0 ? "accent" : "click", always: true })));
  const light = box.querySelector(".beat-light");
  const flash = () => {
    if (!S.calib || S.calib.clicks !== clicks) { light.classList.remove("on"); return; }
    const now = performance.now();
    light.classList.toggle("on", clicks.some((c) => now >= c && now < c + 120));
    requestAnimationFrame(flash);
  };
  requestAnimationFrame(flash);
  setTimeout(() => finishCalibration(player, clicks, box), n * spbMs + 1800);
}

function finishCalibration(player, clicks, box) {
  const offs = [];
  for (const tap of S.calib.taps) {
    let best = null;
    for (const c of clicks) if (best === null || Math.abs(tap - c) < Math.abs(best)) best = tap - c;
    if (best !== null && Math.abs(best) < 250) offs.push(best);
  }
  S.calib = null;
  box.hidden = true; box.innerHTML = "";
  if (offs.length < 4) { lobbyMsg(`Only ${offs.length} taps were near a click; try again.`); return; }
  offs.sort((a, b) => a - b);
  const med = offs.length % 2 ? offs[(offs.length - 1) / 2] : (offs[offs.length / 2 - 1] + offs[offs.length / 2]) / 2;
  send({ type: "calibrate", player, offset_ms: Math.max(-250, Math.min(500, med)), taps: offs.length });
  lobbyMsg(`Latency offset set to ${med.toFixed(1)} ms (median of ${offs.length} taps); it is remembered for ${S.room.players[player].name} on this input.`);
}
