// Playing: the start, what the engine lays out, judgements, the meter, notices and tips.
import { $, S, COLORS, escapeHtml, fmtMs, show, songNowSec } from "./state.js";
import { send } from "./net.js";
import { enqueue, sound } from "./audio.js";
import { startMusic } from "./songmusic.js";
import { buildPads, keyHelpHtml } from "./keys.js";
import { draw } from "./highway.js";
import { setRoom } from "./lobby.js";

export function onStart(m) {
  setRoom(m.room);
  S.finished = false; S.countInSec = m.count_in_sec; S.lanes = m.lanes;
  S.players = m.players.map((p) => ({ name: p.name, level: p.level, sec: [], lane: [], vel: [], roll: [] }));
  S.judged = [[], []]; S.misses = [[], []]; S.meter = null; S.bars = []; S.beats = []; S.countClicks = [];
  S.queue = []; S.tips = []; S.notices = [];
  const practice = m.room.practice || {};
  S.loopOf = practice.loop_bars ? practice.loop_repeats : 1;
  // the server's start time on this page's clock (known once the clock is synced)
  S.startServerSec = m.start_server_sec;
  S.startLocalMs = S.offsetSec === null ? null : (m.start_server_sec - S.offsetSec) * 1000;
  S.clickOn = $("click").checked; S.backingOn = $("backing").checked;
  // the song's recording along the bars the engine lays out (heard from song zero)
  S.musicMaps = [];
  startMusic();
  show("play");
  $("notice").hidden = true; $("tips").hidden = true;
  $("meter-left").textContent = `${S.players[0].name} ahead`;
  $("meter-right").textContent = S.players[1] ? `${S.players[1].name} ahead` : "";
  S.players.forEach((p, i) => {
    const r = $(`readout${i}`);
    r.querySelector(".pname").textContent = p.name;
    r.querySelector(".level-badge").textContent = p.level;
    $(`last-p${i}`).textContent = "–"; $(`last-p${i}`).className = "last";
    r.querySelector(".stats").textContent = "";
  });
  $("readout1").hidden = S.players.length < 2;
  $("keyhelp").innerHTML = keyHelpHtml(S.players.map((p) => p.name));
  $("only-mine-row").hidden = S.mine.size === 0 || S.mine.size === S.players.length;
  buildPads(S.lanes);
  requestAnimationFrame(draw);
}

// what the engine laid out: sounds to play, bar lines, each player's notes
export function onLayout(m) {
  enqueue(m.sounds.map(([sec, kind, lane, velocity]) => ({ sec, kind, lane, velocity })));
  for (const [sec, kind] of m.sounds) {
    if (kind === "drum") continue;
    if (sec < 0) S.countClicks.push(sec); else S.beats.push(sec);
  }
  for (const [sec, bar, pass, tempo] of m.bars) S.bars.push({ sec, bar, pass: pass || 1, tempo: tempo || 100 });
  if (m.music) { S.musicMaps.push(...m.music); sound.addBars(m.music); }
  m.targets.forEach((t, i) => {
    const p = S.players[i];
    for (let k = 0; k < t.sec.length; k++) {
      p.sec.push(t.sec[k]); p.lane.push(t.lane[k]); p.vel.push(t.vel ? t.vel[k] : 100);
      p.roll.push(t.roll ? t.roll[k] === 1 : false);
    }
  });
}

// a partner's stroke from another device sounds when its judgement arrives, if it is
// fresh (not one replayed to a tab that came back, nor one held up on the network)
const FRESH_SEC = 0.3;
function soundRemote(m) {
  if (S.mine.has(m.player) || m.hit_sec === null) return;
  const now = songNowSec();
  if (now !== null && Math.abs(now - m.hit_sec) < FRESH_SEC) sound.remoteHit(m.player, m.lane, m.velocity || 100);
}

export function onJudgement(m) {
  soundRemote(m);
  S.judged[m.player].push(m);
  // a stroke no note asks for (the hi-hat pedal on a game chart) sounds and is drawn, unjudged
  if (m.verdict !== "not judged") showVerdict(m);
  const t = performance.now();
  const sentMs = S.pending.get(m.seq);
  if (sentMs !== undefined && S.mine.has(m.player)) {
    S.latencies.push(t - sentMs); S.pending.delete(m.seq);
    requestAnimationFrame(() => S.paintLatencies.push(performance.now() - sentMs));
  }
  S.judgements.push({ ...m, shown_ms: t });
}

function showVerdict(m) {
  // a hit stamped before its note was called missed, but delivered after: the note is hit
  if (m.target_sec !== null) S.misses[m.player] = S.misses[m.player].filter(
    (x) => !(x.lane === m.target_lane && Math.abs(x.target_sec - m.target_sec) < 1e-6));
  const el = $(`last-p${m.player}`);
  const cls = { "on time": "good", early: "early", late: "late", extra: "extra", roll: "good" }[m.verdict] || "";
  const text = m.verdict === "extra" ? "extra hit" : m.verdict === "roll" ? "roll" :
    `${m.verdict} ${m.error_ms >= 0 ? "+" : "−"}${fmtMs(m.error_ms)}`;
  el.className = `last ${cls}`; el.textContent = text; el.dataset.seq = m.seq;
}

export function onMiss(m) { S.misses[m.player].push(m); }

export function onMeter(m) {
  S.meter = m;
  const sy = m.sync;
  if (sy && sy.n) {
    const a = sy.mean_ms, x = Math.max(-60, Math.min(60, a));
    $("meter-dot").style.left = `${50 + (x / 60) * 50}%`;
    $("meter-dot").style.background = Math.abs(a) <= 20 ? "var(--good)" : Math.abs(a) <= 40 ? "var(--accent)" : "var(--late)";
    const who = Math.abs(a) < 3 ? `in step (${fmtMs(a)} apart)` : a < 0 ? `${S.players[0].name} ahead by ${fmtMs(a)}` : `${S.players[1].name} ahead by ${fmtMs(a)}`;
    $("meter-text").textContent = `${who} · spread ${sy.sd_ms.toFixed(0)} ms`;
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
}

export function onLevel(m) {
  const p = S.players[m.player];
  p.level = m.level;
  $(`readout${m.player}`).querySelector(".level-badge").textContent = `${m.level} ${m.up ? "▲" : "▼"}`;
  S.flash = { text: `${p.name} ${m.up ? "moves up" : "moves down"} to ${m.level} from bar ${m.bar}`, until: performance.now() + 3000 };
}

// a partner's tab went away mid-song, or came back; the database refused the hits (they
// wait on the server), or took them again
export function onNotice(m) {
  S.notices.push(m);
  const box = $("notice");
  const good = m.type === "back" || (m.type === "store" && !m.busy);
  box.hidden = false;
  box.className = `notice ${good ? "back" : m.type}`;
  $("notice-text").textContent = m.text;
  $("notice-actions").hidden = m.type !== "left" || S.mine.has(m.player);
  if (good) setTimeout(() => { if ($("notice-text").textContent === m.text) box.hidden = true; }, 4000);
}

// advice in words after each time through a loop
export function onTips(m) {
  S.tips.push(m);
  const rows = m.players.map((p, i) => `<p><b style="color:${COLORS[i]}">${escapeHtml(p.name)}</b>: ${
    p.tips.length ? p.tips.map(escapeHtml).join("; ") : "not enough notes to say"}</p>`);
  const next = m.pass < m.of ? ` Next: time ${m.pass + 1} of ${m.of} at ${m.next_tempo_percent}%.` : "";
  $("tips").innerHTML = `<h3>After time ${m.pass} of ${m.of}.${escapeHtml(next)}</h3>${rows.join("")}`;
  $("tips").hidden = false;
}

export function wirePlay() {
  $("stop").onclick = () => send({ type: "stop" });
  $("notice-end").onclick = () => send({ type: "stop" });
  $("notice-on").onclick = () => { $("notice").hidden = true; };
  $("only-mine").onchange = () => { S.onlyMine = $("only-mine").checked; };
  $("click").onchange = () => { S.clickOn = $("click").checked; };
  $("backing").onchange = () => { S.backingOn = $("backing").checked; };
}
