// Sound in Web Audio (the sound/ modules): the click, the backing and the calibration
// clicks, scheduled ahead on the audio clock; the song's recording and every stroke.
import { S } from "./state.js";
import { sound } from "./sound/index.js";

export { sound };

export function ensureAudio() { S.audio = sound.ensure(); }

// Events carry either ms (this page's clock) or sec (song seconds, placed once the
// song's start is known on this clock). Every 25 ms, start what is heard within the next
// 150 ms plus the output latency (a sound is started that much before it is heard: with
// Bluetooth headphones, a quarter of a second).
export function enqueue(events) {
  for (const e of events) S.queue.push(e);
  if (!S.sched) S.sched = setInterval(pump, 25);
}
function due(e) { return e.ms !== undefined ? e.ms : S.startLocalMs === null ? Infinity : S.startLocalMs + e.sec * 1000; }
function pump() {
  const now = performance.now(), horizon = now + 150 + sound.outputLatencyMs();
  if (!S.queue.length) return;
  S.queue.sort((a, b) => due(a) - due(b));
  while (S.queue.length && due(S.queue[0]) < horizon) {
    const e = S.queue.shift(), ms = due(e);
    if (!S.audio || ms < now - 5) continue;
    if (e.kind === "accent" || e.kind === "click") { if (S.clickOn || e.always) sound.click(ms, e.kind === "accent"); }
    else if (S.backingOn) sound.drum(ms, e.lane, e.velocity || 100);
  }
}
