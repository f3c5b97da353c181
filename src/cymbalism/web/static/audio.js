// Sound in Web Audio: the click, the backing and the calibration clicks, scheduled ahead.
import { S } from "./state.js";

export function ensureAudio() {
  if (!S.audio) {
    try { S.audio = new AudioContext({ latencyHint: "interactive" }); } catch (e) { S.audio = null; }
  }
  if (S.audio && S.audio.state === "suspended") S.audio.resume();
}
// local performance.now() ms -> AudioContext time (s)
function perfToAudio(ms) {
  const ts = S.audio.getOutputTimestamp ? S.audio.getOutputTimestamp() : null;
  if (ts && ts.performanceTime) return ts.contextTime + (ms - ts.performanceTime) / 1000;
  return S.audio.currentTime + (ms - performance.now()) / 1000;
}
function blip(at, freq, gain, dur) {
  const o = S.audio.createOscillator(), g = S.audio.createGain();
  o.frequency.value = freq; o.connect(g); g.connect(S.audio.destination);
  g.gain.setValueAtTime(gain, at); g.gain.exponentialRampToValueAtTime(0.0001, at + dur);
  o.start(at); o.stop(at + dur + 0.01);
}
let noiseBuf = null;
function noise(at, gain, dur, hp) {
  if (!noiseBuf) {
    noiseBuf = S.audio.createBuffer(1, S.audio.sampleRate * 0.5, S.audio.sampleRate);
    const d = noiseBuf.getChannelData(0);
    for (let k = 0; k < d.length; k++) d[k] = Math.random() * 2 - 1;
  }
  const src = S.audio.createBufferSource(), f = S.audio.createBiquadFilter(), g = S.audio.createGain();
  src.buffer = noiseBuf; f.type = "highpass"; f.frequency.value = hp;
  src.connect(f); f.connect(g); g.connect(S.audio.destination);
  g.gain.setValueAtTime(gain, at); g.gain.exponentialRampToValueAtTime(0.0001, at + dur);
  src.start(at); src.stop(at + dur + 0.01);
}
function drum(at, lane, gain) {
  if (lane === 0) blip(at, 55, gain * 1.4, 0.18);
  else if (lane === 1) { noise(at, gain, 0.14, 1200); blip(at, 190, gain * 0.5, 0.08); }
  else if (lane >= 5 && lane <= 7) blip(at, [200, 150, 105][lane - 5], gain, 0.22);
  else if (lane === 8) noise(at, gain * 0.8, 0.6, 4000);
  else noise(at, gain * 0.6, lane === 3 ? 0.25 : 0.05, 7000);
}
// Events carry either ms (this page's clock) or sec (song seconds, placed once the
// song's start is known on this clock). Every 25 ms, play what falls in the next 150 ms.
export function enqueue(events) {
  for (const e of events) S.queue.push(e);
  if (!S.sched) S.sched = setInterval(pump, 25);
}
function due(e) { return e.ms !== undefined ? e.ms : S.startLocalMs === null ? Infinity : S.startLocalMs + e.sec * 1000; }
function pump() {
  const now = performance.now(), horizon = now + 150;
  if (!S.queue.length) return;
  S.queue.sort((a, b) => due(a) - due(b));
  while (S.queue.length && due(S.queue[0]) < horizon) {
    const e = S.queue.shift(), ms = due(e);
    if (!S.audio || ms < now - 5) continue;
    const at = perfToAudio(ms);
    if (e.kind === "accent" || e.kind === "click") { if (S.clickOn || e.always) blip(at, e.kind === "accent" ? 1760 : 1320, 0.35, 0.05); }
    else if (S.backingOn) drum(at, e.lane, 0.12 * (e.velocity || 100) / 100);
  }
}
