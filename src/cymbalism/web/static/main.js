// cymbalism studio: the page. Plain JavaScript modules, no build step, nothing from elsewhere.
//
// Times: the page stamps every hit with its own clock (KeyboardEvent / PointerEvent /
// MIDIMessageEvent .timeStamp, the same base as performance.now(), in ms). The server
// measures the offset between this clock and its own from round trips and judges with
// the shared live engine; this page only draws and plays sound.
//
// Modules: state.js (shared state, helpers), net.js (socket, clock, seats), setup.js
// (song and practice form), lobby.js (players, inputs, calibration), keys.js (keys,
// MIDI, pads), audio.js (Web Audio: the sound/ modules play the sampled kit, the song's
// recording, time-stretched in an AudioWorklet, and the mixer), songmusic.js (the song's
// recording, prepared in the lobby), highway.js (the lanes), play.js (the song's
// messages), report.js (the end).
import { $, S, showError, show } from "./state.js";
import { connect, onClock, onPong, onServerMessage } from "./net.js";
import { createRoom, listRooms, loadSongs } from "./setup.js";
import { enterLobby, lobbyMsg, onSeat, reclaimSeats, setRoom } from "./lobby.js";
import { onKey } from "./keys.js";
import { ensureAudio, sound } from "./audio.js";
import { prepareMusic } from "./songmusic.js";
import { onJudgement, onLayout, onLevel, onMeter, onMiss, onNotice, onStart, onTips, wirePlay } from "./play.js";
import { onFinished } from "./report.js";
import { send } from "./net.js";

function onMessage(m) {
  switch (m.type) {
    case "welcome":
      S.conn = m.conn; S.key = m.key; setRoom(m.room);
      reclaimSeats(m.room);
      if (m.room.state === "lobby") enterLobby();
      break;
    case "room": setRoom(m.room); break;
    case "seat": onSeat(m); break;
    case "pong": onPong(m); break;
    case "clock": onClock(m); break;
    case "start": onStart(m); break;
    case "layout": onLayout(m); break;
    case "judgement": onJudgement(m); break;
    case "miss": onMiss(m); break;
    case "meter": onMeter(m); break;
    case "level": onLevel(m); break;
    case "left": case "back": case "store": onNotice(m); break;
    case "tips": onTips(m); break;
    case "finished": onFinished(m); break;
    case "error": showError(m.error); lobbyMsg(m.error); break;
  }
}
onServerMessage(onMessage);

async function joinRoom(code) {
  code = (code || "").replace(/[\s-]+/g, "").toUpperCase();  // as shown: two halves
  if (!code) { showError("type the room code first"); return; }
  showError("");
  await connect(code);
}

async function init() {
  try { await loadSongs(); } catch (err) { showError(`cannot reach the studio: ${err.message}`); return; }
  $("create").onclick = () => createRoom(joinRoom);
  $("create").disabled = false;
  $("join").onclick = () => joinRoom($("join-code").value);
  $("join-code").onkeydown = (e) => { if (e.key === "Enter") joinRoom($("join-code").value); };
  $("start").onclick = () => { ensureAudio(); send({ type: "start" }); };
  $("again").onclick = () => { location.hash = ""; location.reload(); };
  wirePlay();
  window.addEventListener("keydown", onKey, true);
  // a page reloaded mid-song gets its sound (and the song's recording) back on the first
  // touch or key
  const wake = () => { ensureAudio(); if (S.room && !S.musicFor) prepareMusic(); };
  for (const ev of ["pointerdown", "keydown"]) window.addEventListener(ev, wake, { passive: true });
  // the mixer: raising the guide channel in the lobby loads the song's own drum stems
  sound.mixerPanel($("mixer"), (channel) => { if (channel === "guide") prepareMusic(); });
  const m = location.hash.match(/^#room=([A-Za-z0-9]+)/);
  if (m) joinRoom(m[1]);
  else { show("setup"); if (!S.info.require_code) listRooms(joinRoom); }
}
init();
