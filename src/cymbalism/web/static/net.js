// The WebSocket to the studio: connect, send, keep the clock in step.
import { $, S, showError } from "./state.js";

let handler = () => {};
export function onServerMessage(fn) { handler = fn; }

export function connect(code) {
  return new Promise((resolve) => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const host = savedHost(code);  // the opener may start and stop without playing
    const query = host ? `?host=${encodeURIComponent(host)}` : "";
    const ws = new WebSocket(`${proto}://${location.host}/ws/${encodeURIComponent(code)}${query}`);
    S.ws = ws;
    ws.onopen = () => {
      $("conn-status").textContent = "connected"; $("clock-status").hidden = false;
      syncBurst(8); resolve();
    };
    ws.onmessage = (ev) => handler(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      $("conn-status").textContent = "disconnected";
      if (S.ws === ws && ev.code !== 1000 && ev.code !== 1005 && !S.finished)
        showError(`disconnected: ${ev.reason || "the studio went away"} (code ${ev.code}); reload the page to rejoin`);
      resolve();
    };
  });
}
export function send(msg) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify(msg));
}
// clock round trips: a burst at the start, then one every 2 s (also during play)
export function syncBurst(n) {
  for (let i = 0; i < n; i++) setTimeout(() => send({ type: "ping", client_ms: performance.now() }), i * 60);
}
setInterval(() => send({ type: "ping", client_ms: performance.now() }), 2000);

export function onPong(m) {
  send({ type: "sync", send_ms: m.client_ms, server_sec: m.server_sec, recv_ms: performance.now() });
}
export function onClock(m) {
  S.offsetSec = m.offset_sec; S.rttMs = m.rtt_ms;
  $("clock-status").textContent = `clock: synced ±${(m.rtt_ms / 2).toFixed(1)} ms`;
  // a tab that came back mid-song learns where the song is once its clock is known
  if (S.startServerSec !== null && S.startLocalMs === null) S.startLocalMs = (S.startServerSec - S.offsetSec) * 1000;
}

// the host token of a room this browser opened, kept across reloads
const HOST = (code) => `cymbalism.host.${code}`;
export function savedHost(code) {
  try { return localStorage.getItem(HOST(code)); } catch (e) { return null; }
}
export function saveHost(code, token) {
  try { localStorage.setItem(HOST(code), token); } catch (e) { /* private mode */ }
}

// the seats this browser holds, per room: {player: {seat, input}}, kept across reloads
const SEATS = (code) => `cymbalism.seats.${code}`;
export function savedSeats(code) {
  try { return JSON.parse(localStorage.getItem(SEATS(code)) || "{}"); } catch (e) { return {}; }
}
export function saveSeat(code, player, seat, input) {
  const all = savedSeats(code);
  all[player] = { seat, input };
  try { localStorage.setItem(SEATS(code), JSON.stringify(all)); } catch (e) { /* private mode */ }
}
