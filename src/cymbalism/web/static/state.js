// The page's shared state and small helpers. Every other module imports from here.

export const $ = (id) => document.getElementById(id);
export const COLORS = ["#4fb3ff", "#ff9f43"];

export const S = {
  info: null, songs: [], room: null, ws: null, conn: null,
  offsetSec: null, rttMs: null, mine: new Set(),   // player indices played on this tab
  startServerSec: null, startLocalMs: null, countInSec: 0,
  players: [], judged: [[], []], misses: [[], []], meter: null,
  bars: [], beats: [], countClicks: [], lanes: [], queue: [],
  audio: null, sched: null, seq: 0, calib: null, finished: false,
  judgements: [], latencies: [], paintLatencies: [], // for tests and the latency benchmark
  midiAccess: null, midiInputFor: [null, null], inputs: ["keys1", "keys2"],
  pending: new Map(), strokes: [[], []], clickOn: true, backingOn: true,
  onlyMine: false, notices: [], tips: [],
  musicMaps: [],            // the engine's bars as stretches of the recording
  library: new Map(),       // songs the song list has shown, by name
  kitSound: [true, true],   // a Web MIDI player's kit makes its own sound (not sounded here)
  key: null,  // the room's key: reads its report and its players' histories
};
window.studio = S;

export async function api(path, opts) {
  const r = await fetch(path, opts);
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Error(body && body.error ? body.error : `HTTP ${r.status}`);
  return body;
}
export function showError(text) {
  const e = $("error");
  e.textContent = text; e.hidden = !text;
}
export function show(panel) {
  for (const id of ["setup", "lobby", "play", "report"]) $(id).hidden = id !== panel;
}
export function fmtMs(ms) { return `${Math.abs(ms).toFixed(0)} ms`; }
export function songClock(sec) {
  const s = Math.max(0, Math.floor(sec));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
export function escapeHtml(t) {
  return String(t).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
// where the song is now on this page's clock (song seconds; null before the clock is known)
export function songNowSec() {
  return S.startLocalMs === null ? null : (performance.now() - S.startLocalMs) / 1000;
}
