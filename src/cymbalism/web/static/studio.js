// cymbalism studio: the page. Plain JavaScript, no build step, nothing from elsewhere.
//
// Times: the page stamps every hit with its own clock (KeyboardEvent / PointerEvent /
// MIDIMessageEvent .timeStamp, the same base as performance.now(), in ms). The server
// measures the offset between this clock and its own from round trips and judges with
// the shared live engine; this page only draws and plays sound.
//
// Sound is static/sound/ (an ES module that sets window.cymbalismSound): the sampled
// kit for every stroke, click and backing, the song's recording along the engine's bars
// (time-stretched in an AudioWorklet when the tempo differs), and the mixer.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = ["#4fb3ff", "#ff9f43"];
const KEY_LABEL = (code) => code.replace(/^Key/, "").replace("Semicolon", ";");

const S = {
  info: null, songs: [], room: null, ws: null, conn: null,
  offsetSec: null, rttMs: null, mine: new Set(),   // player indices played on this tab
  song: null, startLocalMs: null, countInSec: 0,
  players: [], judged: [[], []], misses: [[], []], meter: null,
  audio: null, sched: null, seq: 0, calib: null, finished: false,
  judgements: [], latencies: [], paintLatencies: [], // for tests and the latency benchmark
  midiAccess: null, midiInputFor: [null, null], inputs: ["keys1", "keys2"],
};
window.studio = S;

// ---------------------------------------------------------------- helpers
async function api(path, opts) {
  const r = await fetch(path, opts);
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Error(body && body.error ? body.error : `HTTP ${r.status}`);
  return body;
}
function showError(text) {
  const e = $("error");
  e.textContent = text; e.hidden = !text;
}
function show(panel) {
  for (const id of ["setup", "lobby", "play", "report"]) $(id).hidden = id !== panel;
}
function fmtMs(ms) { return `${Math.abs(ms).toFixed(0)} ms`; }

// ---------------------------------------------------------------- setup
async function init() {
  try {
    S.info = await api("/api/info");
    S.songs = await api("/api/songs");
  } catch (err) { showError(`cannot reach the studio: ${err.message}`); return; }
  const sel = $("song");
  for (const s of S.songs) {
    const o = document.createElement("option");
    o.value = s.name; o.textContent = `${s.title}${s.artist ? " – " + s.artist : ""} (${s.bpm} BPM)`;
    sel.appendChild(o);
  }
  sel.onchange = songChanged; songChanged();
  $("create").onclick = createRoom;
  $("create").disabled = false;
  $("join").onclick = () => joinRoom($("join-code").value);
  $("join-code").onkeydown = (e) => { if (e.key === "Enter") joinRoom($("join-code").value); };
  $("start").onclick = () => { ensureAudio(); send({ type: "start" }); };
  $("stop").onclick = () => send({ type: "stop" });
  $("click").onchange = () => { S.clickOn = $("click").checked; };
  $("backing").onchange = () => { S.backingOn = $("backing").checked; };
  $("guide-drums").onchange = () => prepareMusic();
  $("render-format").onchange = () => {
    const a = $("render-link");
    if (a.href) a.href = a.href.replace(/format=\w+/, `format=${$("render-format").value}`);
  };
  const mixerReady = () => sound()?.mixerPanel($("mixer"));
  if (sound()) mixerReady(); else window.addEventListener("cymbalism-sound", mixerReady, { once: true });
  $("again").onclick = () => { location.hash = ""; location.reload(); };
  window.addEventListener("keydown", onKey, true);
  const m = location.hash.match(/^#room=([A-Za-z0-9]+)/);
  if (m) joinRoom(m[1]);
  else if (!S.info.require_code) listRooms();
}

function songChanged() {
  const s = S.songs.find((x) => x.name === $("song").value);
  if (!s) return;
  $("song-info").textContent =
    `${s.bars} bars, ${Math.floor(s.length_sec / 60)}:${String(Math.round(s.length_sec % 60)).padStart(2, "0")} at full tempo; parts: ${s.levels.join(", ")}`;
  for (const [i, id] of ["level0", "level1"].entries()) {
    const el = $(id), keep = el.value;
    el.innerHTML = "";
    for (const lv of s.levels) {
      const o = document.createElement("option"); o.value = lv; o.textContent = lv; el.appendChild(o);
    }
    el.value = s.levels.includes(keep) ? keep : (i === 0 ? s.levels[s.levels.length - 1] : s.levels[0]);
  }
}

async function listRooms() {
  try {
    const rooms = await api("/api/rooms");
    const box = $("open-rooms"); box.innerHTML = "";
    for (const r of rooms) {
      const b = document.createElement("button");
      b.textContent = `${r.code}: ${r.title} (${r.players.map((p) => p.name).join(" & ")})`;
      b.onclick = () => joinRoom(r.code);
      box.appendChild(b);
    }
  } catch (err) { /* listing is a convenience */ }
}

async function createRoom() {
  showError("");
  const body = {
    song: $("song").value, players: [$("name0").value, $("name1").value],
    levels: [$("level0").value, $("level1").value],
    tempo_percent: Number($("tempo").value) || 100, lesson: $("lesson").checked,
  };
  if ($("bar-to").value) body.last_bar = Number($("bar-to").value);
  try {
    const room = await api("/api/rooms", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    await joinRoom(room.code);
  } catch (err) { showError(err.message); }
}

// ---------------------------------------------------------------- the socket
function joinRoom(code) {
  code = (code || "").trim().toUpperCase();
  if (!code) { showError("type the room code first"); return Promise.resolve(); }
  showError("");
  return new Promise((resolve) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/${encodeURIComponent(code)}`);
    S.ws = ws;
    ws.onopen = () => { $("conn-status").textContent = "connected"; syncBurst(8); resolve(); };
    ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      $("conn-status").textContent = "offline";
      if (ev.code !== 1000 && ev.code !== 1005 && !S.finished)
        showError(`disconnected: ${ev.reason || "the studio went away"} (code ${ev.code})`);
      resolve();
    };
  });
}
function send(msg) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(msg));
}

// clock round trips: a burst at the start, then one every 2 s (also during play)
function syncBurst(n) {
  for (let i = 0; i < n; i++) setTimeout(() => send({ type: "ping", client_ms: performance.now() }), i * 60);
}
setInterval(() => send({ type: "ping", client_ms: performance.now() }), 2000);

function onMessage(m) {
  switch (m.type) {
    case "welcome": S.conn = m.conn; setRoom(m.room); show("lobby"); break;
    case "room": setRoom(m.room); break;
    case "pong":
      send({ type: "sync", send_ms: m.client_ms, server_sec: m.server_sec, recv_ms: performance.now() });
      break;
    case "clock":
      S.offsetSec = m.offset_sec; S.rttMs = m.rtt_ms;
      $("clock-status").textContent = `clock: synced ±${(m.rtt_ms / 2).toFixed(1)} ms`;
      break;
    case "start": onStart(m); break;
    case "layout": onLayout(m); break;
    case "judgement": onJudgement(m); break;
    case "miss": S.misses[m.player].push(m); break;
    case "meter": onMeter(m); break;
    case "level": onLevel(m); break;
    case "finished": onFinished(m); break;
    case "error": showError(m.error); $("lobby-msg").textContent = m.error; break;
  }
}

// ---------------------------------------------------------------- the lobby
function setRoom(room) {
  S.room = room;
  $("room-badge").hidden = false;
  $("room-code-top").textContent = room.code;
  $("room-code").textContent = room.code;
  const urls = S.info.public_urls || [];
  $("join-hint").innerHTML = urls.length
    ? `A phone or second computer joins at <b>${urls.map(escapeHtml).join("</b> or <b>")}</b> with this code.`
    : `The studio is on this computer only; to let a phone or a second computer join, start it with <code>cymbalism serve --host 0.0.0.0</code>.`;
  $("lobby-title").textContent = `${room.title}: ${room.players.map((p) => `${p.name} (${p.level})`).join(" with ")}`;
  history.replaceState(null, "", `#room=${room.code}`);
  renderSlots();
  prepareMusic();
}

// the song's recording, fetched and decoded in the lobby; the lobby says what plays
async function prepareMusic() {
  const snd = sound(), el = $("music-status");
  if (!snd || !S.room || S.room.state !== "lobby") return;
  const want = `${S.room.song}|${$("guide-drums").checked}`;
  if (S.musicFor === want) return;
  S.musicFor = want;
  if (!snd.ctx) { el.textContent = "Music: loads when you pick “Play here”."; S.musicFor = null; return; }
  el.textContent = "Music: loading the song's recording…";
  try {
    const st = await snd.prepareSong(S.room.song, { guide: $("guide-drums").checked });
    if (S.musicFor !== want) return;
    S.musicStatus = st;
    const say = st.messages.filter((t) => !/full mix/.test(t));
    el.textContent = !st.hasMusic ? "Music: none for this song, the click plays alone." :
      st.fullMix ? "Music: the song's recording, a full mix: its drums are in it." :
      `Music: the song's recording, drums muted${st.hasDrums && $("guide-drums").checked ? " (its drums on the guide channel)" : ""}.`;
    if (say.length && st.hasMusic) el.textContent += ` ${say.join("; ")}`;
    $("guide-drums-label").hidden = !st.hasDrums;
  } catch (err) { el.textContent = `Music: ${err.message}`; S.musicFor = null; }
}

function keymapHtml(set) {
  const map = S.info.key_sets[set];
  return `<div class="keymap">${Object.entries(map).map(([code, lane]) =>
    `<div><kbd>${KEY_LABEL(code)}</kbd>${S.info.lanes[lane].label}</div>`).join("")}</div>`;
}

function renderSlots() {
  const box = $("slots"); box.innerHTML = "";
  S.room.players.forEach((p, i) => {
    const mine = S.mine.has(i);
    const div = document.createElement("div");
    div.className = `slot p${i}`;
    const who = mine ? "plays on this device" : p.claimed ? "plays on another device" : "nobody yet";
    div.innerHTML = `<h3 style="color:${COLORS[i]}">${escapeHtml(p.name)} <span class="level-badge">${p.level}</span></h3>
      <div class="who">${who}; latency offset ${p.offset_ms} ms</div>
      <label>Input <select data-input="${i}">
        <option value="keys1">computer keys, left set (F D S …)</option>
        <option value="keys2">computer keys, right set (J K L …)</option>
        <option value="midi">e-kit over USB (Web MIDI)</option>
        <option value="touch">on-screen pads (touch)</option>
      </select></label>
      <div class="input-detail"></div>
      <div class="row">
        <button data-claim="${i}" ${mine ? "disabled" : ""}>${mine ? "Playing here" : "Play here"}</button>
        <button data-calib="${i}" ${mine ? "" : "disabled"}>Calibrate latency</button>
      </div>`;
    box.appendChild(div);
    const sel = div.querySelector("select");
    sel.value = mine ? S.inputs[i] : (p.input || (i === 0 ? "keys1" : "keys2"));
    const detail = () => {
      const d = div.querySelector(".input-detail");
      if (sel.value.startsWith("keys")) d.innerHTML = keymapHtml(sel.value);
      else if (sel.value === "midi") midiDetail(d, i);
      else d.innerHTML = `<p class="hint">Pads appear under the lanes while you play.</p>`;
    };
    sel.onchange = () => { S.inputs[i] = sel.value; detail(); if (S.mine.has(i)) claim(i); };
    detail();
    div.querySelector("[data-claim]").onclick = () => { S.inputs[i] = sel.value; ensureAudio(); claim(i); prepareMusic(); };
    div.querySelector("[data-calib]").onclick = () => calibrate(i);
  });
  const all = S.room.players.every((p) => p.claimed);
  $("start").disabled = !all || S.mine.size === 0;
  // room updates keep what calibration says; only the waiting note comes and goes
  const msg = $("lobby-msg"), waiting = "Waiting for every player to pick “Play here” (on this device or another).";
  if (!all) msg.textContent = waiting;
  else if (msg.textContent === waiting) msg.textContent = "";
}
function claim(i) { S.mine.add(i); send({ type: "claim", player: i, input: S.inputs[i] }); }
function escapeHtml(t) { return t.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

async function midiDetail(d, i) {
  if (!navigator.requestMIDIAccess) {
    d.innerHTML = `<p class="hint">This browser has no Web MIDI; use Chrome or Edge, or pick keys or pads.</p>`;
    return;
  }
  try { S.midiAccess = S.midiAccess || await navigator.requestMIDIAccess(); }
  catch (err) { d.innerHTML = `<p class="hint">MIDI access was refused: ${escapeHtml(String(err))}</p>`; return; }
  const inputs = [...S.midiAccess.inputs.values()];
  if (!inputs.length) { d.innerHTML = `<p class="hint">No MIDI input found: plug the kit in by USB, then pick this again.</p>`; return; }
  d.innerHTML = `<label>Device <select>${inputs.map((x) => `<option value="${x.id}">${escapeHtml(x.name)}</option>`).join("")}</select></label>`;
  const sel = d.querySelector("select");
  const bind = () => {
    for (const inp of inputs) if (inp.onmidimessage && S.midiInputFor[i] === inp.id) inp.onmidimessage = null;
    const inp = S.midiAccess.inputs.get(sel.value);
    S.midiInputFor[i] = inp.id;
    inp.onmidimessage = (ev) => onMidi(i, ev);
  };
  sel.onchange = bind; bind();
}

// ---------------------------------------------------------------- inputs -> hits
// the channel a stroke of this device sounds on: the first player here is "own"
function channelOf(player) { return player === Math.min(...S.mine) ? "own" : "partner"; }
function stroke(player, lane, tMs, velocity) {
  sound()?.hit(player, lane, velocity || 100, tMs, channelOf(player));  // before anything else
  if (S.calib && S.calib.player === player) { S.calib.taps.push(tMs); return; }
  S.seq += 1;
  S.pending.set(S.seq, tMs);
  send({ type: "hit", player, t_ms: tMs, lane, velocity: velocity || 100, seq: S.seq });
  flash(player, lane, tMs);
}
S.pending = new Map();

function onKey(ev) {
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
function buildPads(lanesUsed) {
  const box = $("pads"); box.innerHTML = "";
  let any = false;
  for (const i of S.mine) {
    if (S.inputs[i] !== "touch") continue;
    any = true;
    const g = document.createElement("div"); g.className = "padgroup";
    for (const lane of lanesUsed[i]) {
      const b = document.createElement("button");
      b.className = `pad p${i}`; b.textContent = S.info.lanes[lane].label;
      b.addEventListener("pointerdown", (ev) => { ev.preventDefault(); stroke(i, lane, ev.timeStamp, 100); });
      g.appendChild(b);
    }
    box.appendChild(g);
  }
  box.hidden = !any;
  box.classList.toggle("fixed", any);
  document.body.classList.toggle("with-pads", any);
  // leave room under the lanes for the fixed pads, so nothing is hidden behind them
  requestAnimationFrame(() => { document.querySelector("main").style.paddingBottom = any ? `${box.offsetHeight + 16}px` : ""; });
}

// ---------------------------------------------------------------- audio (scheduled ahead)
function sound() { return window.cymbalismSound; }
function ensureAudio() { S.audio = sound()?.ensure() || null; }
// every 25 ms, play what falls in the next 150 ms; events arrive ahead from the engine
S.queue = [];
function enqueue(events) {
  for (const e of events) S.queue.push(e);
  S.queue.sort((a, b) => a.ms - b.ms);
  if (!S.sched) S.sched = setInterval(pump, 25);
}
function pump() {
  const now = performance.now(), horizon = now + 150;
  while (S.queue.length && S.queue[0].ms < horizon) {
    const e = S.queue.shift();
    if (!S.audio || e.ms < now - 5) continue;
    if (e.kind === "accent" || e.kind === "click") { if (S.clickOn) sound().click(e.ms, e.kind === "accent"); }
    else if (S.backingOn) sound().drum(e.ms, e.lane, e.velocity || 100);
  }
}
S.clickOn = true; S.backingOn = true;

// ---------------------------------------------------------------- calibration in the page
function calibrate(player) {
  ensureAudio();
  const n = 8, spbMs = 600, t0 = performance.now() + 1200;
  const clicks = Array.from({ length: n }, (_, k) => t0 + k * spbMs);
  S.calib = { player, taps: [], clicks };
  $("lobby-msg").textContent = `Tap along with the ${n} clicks (any of ${S.room.players[player].name}'s keys or pads)…`;
  S.clickOn = true;
  enqueue(clicks.map((ms, k) => ({ ms, kind: k % 4 === 0 ? "accent" : "click" })));
  setTimeout(() => {
    const offs = [];
    for (const tap of S.calib.taps) {
      let best = null;
      for (const c of clicks) if (best === null || Math.abs(tap - c) < Math.abs(best)) best = tap - c;
      if (best !== null && Math.abs(best) < 250) offs.push(best);
    }
    S.calib = null;
    if (offs.length < 4) { $("lobby-msg").textContent = `Only ${offs.length} taps were near a click; try again.`; return; }
    offs.sort((a, b) => a - b);
    const med = offs.length % 2 ? offs[(offs.length - 1) / 2] : (offs[offs.length / 2 - 1] + offs[offs.length / 2]) / 2;
    send({ type: "calibrate", player, offset_ms: Math.max(-250, Math.min(500, med)) });
    $("lobby-msg").textContent = `Latency offset set to ${med.toFixed(1)} ms (median of ${offs.length} taps).`;
  }, n * spbMs + 1800);
}

// ---------------------------------------------------------------- playing
function onStart(m) {
  setRoom(m.room);
  S.finished = false; S.countInSec = m.count_in_sec; S.lanes = m.lanes;
  S.players = m.players.map((p) => ({ name: p.name, level: p.level, sec: [], lane: [] }));
  S.judged = [[], []]; S.misses = [[], []]; S.meter = null; S.bars = []; S.countClicks = [];
  S.queue = []; S.endSec = null;
  // the server's start time on this page's clock
  S.startLocalMs = (m.start_server_sec - S.offsetSec) * 1000;
  S.clickOn = $("click").checked; S.backingOn = $("backing").checked;
  sound()?.startSong(S.startLocalMs, m.count_in_sec);
  show("play");
  $("meter-left").textContent = `${S.players[0].name} ahead`;
  $("meter-right").textContent = S.players[1] ? `${S.players[1].name} ahead` : "";
  S.players.forEach((p, i) => {
    const r = $(`readout${i}`);
    r.querySelector(".pname").textContent = p.name;
    r.querySelector(".level-badge").textContent = p.level;
    $(`last-p${i}`).textContent = "–"; $(`last-p${i}`).className = "last";
  });
  const help = [];
  for (const i of S.mine) {
    const set = S.inputs[i];
    if (set.startsWith("keys")) help.push(`<b style="color:${COLORS[i]}">${escapeHtml(S.players[i].name)}</b>: ` +
      Object.entries(S.info.key_sets[set]).map(([c, l]) => `<kbd>${KEY_LABEL(c)}</kbd> ${S.info.lanes[l].label}`).join(" · "));
  }
  $("keyhelp").innerHTML = help.join("<br>");
  buildPads(S.players.map(() => S.lanes));
  requestAnimationFrame(draw);
}

// what the engine laid out: sounds to play, bar lines, each player's notes
function onLayout(m) {
  const base = S.startLocalMs;
  enqueue(m.sounds.map(([sec, kind, lane, velocity]) => ({ ms: base + sec * 1000, kind, lane, velocity })));
  for (const [sec, kind] of m.sounds) if (sec < 0 && kind !== "drum") S.countClicks.push(sec);
  for (const [sec, bar] of m.bars) S.bars.push({ sec, bar });
  sound()?.addBars(m.music);
  m.targets.forEach((t, i) => { for (let k = 0; k < t.sec.length; k++) { S.players[i].sec.push(t.sec[k]); S.players[i].lane.push(t.lane[k]); } });
}

function onJudgement(m) {
  S.judged[m.player].push(m);
  if (!S.mine.has(m.player)) sound()?.remoteHit(m.player, m.lane, m.velocity || 100);  // another device's stroke
  // a hit stamped before its note was called missed, but delivered after: the note is hit
  if (m.verdict !== "extra") S.misses[m.player] = S.misses[m.player].filter(
    (x) => !(x.lane === m.target_lane && Math.abs(x.target_sec - m.target_sec) < 1e-6));
  const el = $(`last-p${m.player}`);
  const cls = { "on time": "good", early: "early", late: "late", extra: "extra" }[m.verdict] || "";
  const text = m.verdict === "extra" ? "extra hit" :
    `${m.verdict} ${m.error_ms >= 0 ? "+" : "−"}${fmtMs(m.error_ms)}`;
  el.className = `last ${cls}`; el.textContent = text; el.dataset.seq = m.seq;
  const t = performance.now();
  const sentMs = S.pending.get(m.seq);
  if (sentMs !== undefined && S.mine.has(m.player)) {
    S.latencies.push(t - sentMs); S.pending.delete(m.seq);
    requestAnimationFrame(() => S.paintLatencies.push(performance.now() - sentMs));
  }
  S.judgements.push({ ...m, shown_ms: t });
}

function onMeter(m) {
  S.meter = m;
  const sy = m.sync;
  if (sy && sy.n) {
    const a = sy.mean_ms, x = Math.max(-60, Math.min(60, a));
    $("meter-dot").style.left = `${50 + (x / 60) * 50}%`;
    $("meter-dot").style.background = Math.abs(a) <= 20 ? "var(--good)" : Math.abs(a) <= 40 ? "var(--accent)" : "var(--late)";
    const who = Math.abs(a) < 3 ? `in step (${fmtMs(a)} apart)` : a < 0 ? `${S.players[0].name} ahead by ${fmtMs(a)}` : `${S.players[1].name} ahead by ${fmtMs(a)}`;
    $("meter-text").textContent = `${who} · spread ${sy.sd_ms.toFixed(0)} ms · last ${sy.n} shared notes`;
  } else {
    $("meter-text").textContent = "no shared notes yet";
  }
  (m.players || []).forEach((st, i) => {
    const r = $(`readout${i}`);
    if (!r) return;
    const n = st.hits + st.misses;
    r.querySelector(".stats").textContent = n ?
      `${st.hits}/${n} notes` + (st.mean_error_ms !== null ? ` · mean ${st.mean_error_ms >= 0 ? "+" : "−"}${fmtMs(st.mean_error_ms)}` : "") +
      (st.extras ? ` · ${st.extras} extra` : "") : "";
  });
  $("song-pos").textContent = m.bar > 0 ? `bar ${m.bar}${m.section ? " · " + m.section : ""}` : "count-in";
}

function onLevel(m) {
  const p = S.players[m.player];
  p.level = m.level;
  $(`readout${m.player}`).querySelector(".level-badge").textContent = `${m.level} ${m.up ? "▲" : "▼"}`;
  flashMsg(`${p.name} ${m.up ? "moves up" : "moves down"} to ${m.level} from bar ${m.bar}`);
}
function flashMsg(t) { S.flash = { text: t, until: performance.now() + 3000 }; }

// local flash of a stroke on the canvas before the server answers
S.strokes = [[], []];
function flash(player, lane, tMs) { S.strokes[player].push({ lane, tMs }); }

function draw() {
  if (!S.players.length || S.finished) return;
  const cv = $("lanes"), ctx = cv.getContext("2d");
  // draw at the size the canvas is shown (sharp text on phones and high-DPI screens)
  const dpr = window.devicePixelRatio || 1;
  const W = cv.clientWidth || 1200, H = Math.round(Math.max(280, Math.min(520, window.innerHeight * 0.55)));
  if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) {
    cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); cv.style.height = `${H}px`;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const nowSec = (performance.now() - S.startLocalMs) / 1000;
  const past = 1.0, ahead = 2.0, hitX = Math.max(W * 0.25, 130), labelW = 96;
  const xOf = (s) => hitX + ((s - nowSec) / ahead) * (W - hitX - 10);
  const visible = (s) => s >= nowSec - past && s <= nowSec + ahead;
  // count-in: the number of the count-in beat just played
  if (nowSec < 0) {
    const k = S.countClicks.filter((c) => c <= nowSec + 0.02).length;
    $("countin").textContent = k ? String(k) : "";
  } else $("countin").textContent = nowSec < 0.8 ? "play!" : "";
  const lanes = S.lanes, gap = 16;
  const bandH = (H - gap) / S.players.length;
  S.players.forEach((p, i) => {
    const y0 = i * (bandH + gap), rowH = (bandH - 26) / Math.max(lanes.length, 1);
    const yOf = (lane) => y0 + 24 + (lanes.indexOf(lane) + 0.5) * rowH;
    ctx.fillStyle = "#171a20"; ctx.fillRect(0, y0, W, bandH);
    // bar lines with numbers
    ctx.strokeStyle = "#30343e"; ctx.lineWidth = 1; ctx.fillStyle = "#6b717c"; ctx.font = "11px system-ui";
    for (const b of S.bars) {
      if (!visible(b.sec)) continue;
      const x = xOf(b.sec);
      if (x < labelW) continue;
      ctx.beginPath(); ctx.moveTo(x, y0 + 20); ctx.lineTo(x, y0 + bandH); ctx.stroke();
      ctx.fillText(String(b.bar), x + 3, y0 + 18);
    }
    ctx.fillStyle = COLORS[i]; ctx.font = "bold 15px system-ui";
    ctx.fillText(`${p.name} · ${p.level}`, 8, y0 + 16);
    ctx.font = "12px system-ui";
    lanes.forEach((lane) => {
      const y = yOf(lane);
      ctx.fillStyle = "#8a909b"; ctx.fillText(S.info.lanes[lane].label, 8, y + 4);
      ctx.strokeStyle = "#262a33"; ctx.beginPath(); ctx.moveTo(labelW, y); ctx.lineTo(W, y); ctx.stroke();
    });
    // the notes to play
    ctx.fillStyle = COLORS[i] + "aa";
    for (let n = 0; n < p.sec.length; n++) {
      const s = p.sec[n];
      if (!visible(s) || xOf(s) < labelW) continue;
      ctx.beginPath(); ctx.arc(xOf(s), yOf(p.lane[n]), 7, 0, 2 * Math.PI); ctx.fill();
    }
    // misses: a red cross on the note
    ctx.strokeStyle = "#ff6b6b"; ctx.lineWidth = 2;
    for (const ms of S.misses[i]) {
      if (!visible(ms.target_sec) || xOf(ms.target_sec) < labelW) continue;
      const x = xOf(ms.target_sec), y = yOf(ms.lane);
      ctx.beginPath(); ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6); ctx.moveTo(x + 6, y - 6); ctx.lineTo(x - 6, y + 6); ctx.stroke();
    }
    // hits: a tick where the stroke landed, joined to its note, with the error in ms
    for (const j of S.judged[i]) {
      if (!visible(j.hit_sec) || xOf(j.hit_sec) < labelW) continue;
      const x = xOf(j.hit_sec), y = yOf(j.lane);
      const col = { "on time": "#3ddc84", early: "#5ab0ff", late: "#ff6b6b" }[j.verdict] || "#9aa0ab";
      ctx.strokeStyle = col; ctx.fillStyle = col; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.moveTo(x, y - 11); ctx.lineTo(x, y + 11); ctx.stroke();
      if (j.verdict !== "extra") {
        ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(xOf(j.target_sec), y); ctx.lineTo(x, y); ctx.stroke();
        ctx.font = "bold 11px system-ui";
        ctx.fillText(j.verdict === "on time" ? "✓" : `${j.error_ms > 0 ? "+" : ""}${j.error_ms.toFixed(0)}`, x - 9, y - 14);
      }
    }
  });
  // the line where notes should be struck
  ctx.strokeStyle = "#ffd24a"; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(hitX, 0); ctx.lineTo(hitX, H); ctx.stroke();
  ctx.fillStyle = "#ffd24a"; ctx.font = "11px system-ui"; ctx.fillText("now", hitX + 4, H - 4);
  if (S.flash && performance.now() < S.flash.until) {
    ctx.fillStyle = "#ffd24a"; ctx.font = "bold 18px system-ui"; ctx.fillText(S.flash.text, hitX + 20, bandH + 12);
  }
  requestAnimationFrame(draw);
}

// ---------------------------------------------------------------- the report
async function onFinished(m) {
  S.finished = true;
  S.queue = [];
  sound()?.stopSong(m.result && m.result.stopped ? 0.3 : 2.0);
  const renderable = m.result && m.result.session_id !== null && m.result.session_id !== undefined && S.info.renders;
  $("render-box").hidden = !renderable;
  if (renderable) $("render-link").href = `/api/rooms/${encodeURIComponent(m.room.code)}/render?format=${$("render-format").value}`;
  setRoom(m.room);
  show("report");
  const r = m.result || {};
  const lines = (r.summary || []).map((t) => `<p>${escapeHtml(t)}</p>`);
  $("summary").innerHTML = lines.join("") || "<p>The session is stored.</p>";
  const has = r.session_id !== undefined && r.session_id !== null && S.info.reports;
  $("report-frame").hidden = !has; $("report-link").hidden = !has;
  if (has) {
    const url = `/api/sessions/${encodeURIComponent(r.session_id)}/report`;
    $("report-wait").hidden = false;
    $("report-frame").onload = () => { $("report-wait").hidden = true; };
    $("report-frame").src = url; $("report-link").href = url;
  }
  const box = $("history"); box.innerHTML = "";
  for (const p of m.room.players) {
    try {
      const h = await api(`/api/players/${encodeURIComponent(p.name)}/history`);
      box.insertAdjacentHTML("beforeend", historyHtml(p.name, h));
    } catch (err) { box.insertAdjacentHTML("beforeend", `<p class="hint">${escapeHtml(p.name)}: ${escapeHtml(err.message)}</p>`); }
  }
}
function historyHtml(name, h) {
  const ms = (x) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(0)} ms`);
  const rows = (h.sessions || []).map((s) => `<tr><td>${escapeHtml(s.when)}</td><td>${escapeHtml(s.song)}</td>
    <td>${escapeHtml(s.partner)}</td><td>${escapeHtml(s.level)}</td>
    <td>${s.hit_rate === null ? "–" : (100 * s.hit_rate).toFixed(0) + "%"}</td>
    <td>${ms(s.mean_error_ms)}</td><td>${s.sd_error_ms === null ? "–" : s.sd_error_ms.toFixed(0) + " ms"}</td>
    <td>${s.came_together_sec === null ? "–" : "after " + s.came_together_sec.toFixed(0) + " s"}</td></tr>`);
  return `<h3>${escapeHtml(name)}</h3><table><tr><th>when</th><th>song</th><th>with</th><th>level reached</th>
    <th>hit rate</th><th>mean error</th><th>spread</th><th>came together</th></tr>${rows.join("")}</table>`;
}

init();
