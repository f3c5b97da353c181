// The highway: each player's lanes scroll towards the "now" line. Beat and bar lines,
// bar numbers, accents, ghosts and cymbals drawn apart from drums; a little of the past.
import { $, S, COLORS, songNowSec } from "./state.js";

// every colour text is drawn in, with the background it is drawn on (WCAG contrast is
// measured on these pairs by the tests)
export const PALETTE = {
  page: "#101216", band: "#171a20", stripe: "#1c2028",
  beat: "#3a404c", bar: "#9aa3b4", barText: "#e4e7ec", laneText: "#c3c8d1",
  now: "#ffd24a", ring: "#ffffff", miss: "#ff6b6b",
  verdict: { "on time": "#3ddc84", early: "#5ab0ff", late: "#ff6b6b", extra: "#aab0bb", "not judged": "#8a919e", roll: "#3ddc84" },
};
export const TEXT_PAIRS = [
  ["bar numbers", PALETTE.barText, PALETTE.band],
  ["lane names", PALETTE.laneText, PALETTE.band],
  ["lane names (stripe)", PALETTE.laneText, PALETTE.stripe],
  ["player 1 name", COLORS[0], PALETTE.band],
  ["player 2 name", COLORS[1], PALETTE.band],
  ["now", PALETTE.now, PALETTE.band],
  ...Object.entries(PALETTE.verdict).map(([k, c]) => [`${k} error`, c, PALETTE.band]),
];
S.palette = { TEXT_PAIRS };

const PAST_SEC = 0.6;
// the bands shown: every player, or only this device's when "only my part" is on
function shownPlayers() {
  const all = S.players.map((_, i) => i);
  if (!S.onlyMine || !S.mine.size) return all;
  return all.filter((i) => S.mine.has(i));
}
// band heights: on a phone a player's own part is large and the partner's small
function bandHeights(shown, H, phone) {
  const gap = 10;
  if (shown.length === 1) return [H];
  const own = shown.filter((i) => S.mine.has(i)).length;
  if (phone && own === 1) {
    const big = Math.round((H - gap) * 0.68);
    return shown.map((i) => (S.mine.has(i) ? big : H - gap - big));
  }
  return shown.map(() => (H - gap * (shown.length - 1)) / shown.length);
}

// the canvas fills what is left of the screen above the readouts and the fixed pads
function canvasHeight(cv) {
  const pads = $("pads");
  const padsH = pads.classList.contains("fixed") ? pads.offsetHeight : 0;
  const below = $("readouts").offsetHeight + $("keyhelp").offsetHeight + 28;
  const top = cv.getBoundingClientRect().top + window.scrollY;
  return Math.round(Math.max(220, Math.min(560, window.innerHeight - top - below - padsH)));
}

function noteShape(ctx, x, y, r, lane, vel, color) {
  const info = S.info.lanes[lane], v = S.info.velocity;
  const ghost = vel <= v.ghost_max, accent = vel >= v.accent_min;
  const rr = ghost ? r * 0.62 : accent ? r * 1.22 : r;
  ctx.beginPath();
  if (info.cymbal) { // cymbals: diamonds
    ctx.moveTo(x, y - rr * 1.15); ctx.lineTo(x + rr * 1.15, y); ctx.lineTo(x, y + rr * 1.15); ctx.lineTo(x - rr * 1.15, y); ctx.closePath();
  } else if (lane === 0) { // the kick: a wide bar
    ctx.roundRect(x - rr * 0.55, y - rr * 1.1, rr * 1.1, rr * 2.2, rr * 0.3);
  } else ctx.arc(x, y, rr, 0, 2 * Math.PI);
  if (ghost) { ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.stroke(); }
  else { ctx.fillStyle = color; ctx.fill(); }
  if (accent) { ctx.strokeStyle = PALETTE.ring; ctx.lineWidth = 2; ctx.stroke(); }
}

export function draw() {
  if (!S.players.length || S.finished) return;
  requestAnimationFrame(draw);
  const nowSec = songNowSec();
  if (nowSec === null) return; // a tab back mid-song waits for its clock
  const cv = $("lanes"), ctx = cv.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  const W = cv.clientWidth || 1200, H = canvasHeight(cv);
  if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) {
    cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); cv.style.height = `${H}px`;
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = PALETTE.page; ctx.fillRect(0, 0, W, H);
  const phone = W < 640;
  const ahead = phone ? 2.6 : 3.2;
  const labelW = phone ? 34 : 96;
  const hitX = labelW + (W - labelW) * (PAST_SEC / (PAST_SEC + ahead));
  const xOf = (s) => hitX + ((s - nowSec) / ahead) * (W - hitX - 6);
  const inView = (s) => s >= nowSec - PAST_SEC && s <= nowSec + ahead && xOf(s) >= labelW;
  countIn(nowSec);
  const shown = shownPlayers(), heights = bandHeights(shown, H, phone);
  let y0 = 0;
  shown.forEach((i, k) => {
    drawBand(ctx, i, y0, heights[k], W, { xOf, inView, labelW, phone });
    y0 += heights[k] + 10;
  });
  ctx.strokeStyle = PALETTE.now; ctx.lineWidth = 3;
  ctx.beginPath(); ctx.moveTo(hitX, 0); ctx.lineTo(hitX, H); ctx.stroke();
  if (S.flash && performance.now() < S.flash.until) {
    ctx.fillStyle = PALETTE.now; ctx.font = `bold ${phone ? 15 : 18}px system-ui`;
    ctx.fillText(S.flash.text, Math.min(hitX + 12, W - 260), heights[0] - 8);
  }
  position(nowSec);
}

function drawBand(ctx, i, y0, bandH, W, { xOf, inView, labelW, phone }) {
  const p = S.players[i], lanes = S.lanes, head = 22;
  const rowH = (bandH - head - 4) / Math.max(lanes.length, 1);
  const yOf = (lane) => y0 + head + (lanes.indexOf(lane) + 0.5) * rowH;
  ctx.fillStyle = PALETTE.band; ctx.fillRect(0, y0, W, bandH);
  lanes.forEach((lane, k) => {
    if (k % 2) { ctx.fillStyle = PALETTE.stripe; ctx.fillRect(0, y0 + head + k * rowH, W, rowH); }
  });
  // beat lines, then bar lines with their numbers above the lanes
  ctx.strokeStyle = PALETTE.beat; ctx.lineWidth = 1;
  for (const b of S.beats) {
    if (!inView(b)) continue;
    const x = Math.round(xOf(b)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, y0 + head); ctx.lineTo(x, y0 + bandH); ctx.stroke();
  }
  const title = `${p.name} · ${p.level}`, titleFont = `bold ${phone ? 13 : 15}px system-ui`;
  ctx.font = titleFont;
  const titleW = ctx.measureText(title).width + 14;
  ctx.font = `bold ${phone ? 12 : 13}px system-ui`;
  for (const b of S.bars) {
    if (!inView(b.sec)) continue;
    const x = Math.round(xOf(b.sec));
    ctx.strokeStyle = PALETTE.bar; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, y0 + head - 4); ctx.lineTo(x, y0 + bandH); ctx.stroke();
    // the number stays clear of the player's name
    if (x + 4 > titleW) { ctx.fillStyle = PALETTE.barText; ctx.fillText(String(b.bar), x + 4, y0 + head - 7); }
  }
  ctx.fillStyle = PALETTE.band; ctx.fillRect(0, y0 + head, labelW, bandH - head);
  ctx.fillRect(0, y0, titleW, head);
  ctx.fillStyle = COLORS[i]; ctx.font = titleFont;
  ctx.fillText(title, 6, y0 + 16);
  const small = rowH < 16;
  ctx.font = `${small ? 11 : phone ? 12 : 13}px system-ui`;
  lanes.forEach((lane) => {
    if (small && rowH < 11) return;
    ctx.fillStyle = PALETTE.laneText;
    ctx.fillText(phone ? S.info.lanes[lane].short : S.info.lanes[lane].label, 6, yOf(lane) + 4);
  });
  const r = Math.max(3, Math.min(rowH * 0.36, 11));
  // a drum roll: a lane joining its notes on each drum, as the games draw it
  ctx.fillStyle = COLORS[i]; ctx.globalAlpha = 0.28;
  const lastRoll = {};
  for (let n = 0; n < p.sec.length; n++) {
    if (!p.roll[n]) continue;
    const s = p.sec[n], prev = lastRoll[p.lane[n]];
    lastRoll[p.lane[n]] = s;
    // two notes of a drum under a roll are joined when the judge's reach of a roll stroke
    // spans the gap between them
    if (prev === undefined || s - prev > 2 * S.info.roll_reach_sec || !(inView(s) || inView(prev))) continue;
    ctx.fillRect(xOf(prev), yOf(p.lane[n]) - r * 0.7, xOf(s) - xOf(prev), r * 1.4);
  }
  ctx.globalAlpha = 1;
  for (let n = 0; n < p.sec.length; n++) {
    const s = p.sec[n];
    if (!inView(s)) continue;
    ctx.globalAlpha = s < songNowSec() - 0.05 ? 0.4 : 1;
    noteShape(ctx, xOf(s), yOf(p.lane[n]), r, p.lane[n], p.vel[n], COLORS[i]);
  }
  ctx.globalAlpha = 1;
  ctx.strokeStyle = PALETTE.miss; ctx.lineWidth = 2;
  for (const ms of S.misses[i]) {
    if (!inView(ms.target_sec)) continue;
    const x = xOf(ms.target_sec), y = yOf(ms.lane), c = Math.max(4, r * 0.7);
    ctx.beginPath(); ctx.moveTo(x - c, y - c); ctx.lineTo(x + c, y + c); ctx.moveTo(x + c, y - c); ctx.lineTo(x - c, y + c); ctx.stroke();
  }
  for (const j of S.judged[i]) {
    // a stroke on a drum the song has no row for (the hi-hat pedal, say) is not drawn
    if (!inView(j.hit_sec) || !lanes.includes(j.lane)) continue;
    const x = xOf(j.hit_sec), y = yOf(j.lane);
    const col = PALETTE.verdict[j.verdict] || PALETTE.verdict.extra;
    ctx.strokeStyle = col; ctx.fillStyle = col; ctx.lineWidth = 3;
    ctx.beginPath(); ctx.moveTo(x, y - r - 3); ctx.lineTo(x, y + r + 3); ctx.stroke();
    if (j.error_ms !== null && rowH >= 14) {
      ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(xOf(j.target_sec), y); ctx.lineTo(x, y); ctx.stroke();
      ctx.font = "bold 12px system-ui";
      ctx.fillText(j.verdict === "on time" ? "✓" : `${j.error_ms > 0 ? "+" : ""}${j.error_ms.toFixed(0)}`, x - 9, y - r - 5);
    }
  }
}

function countIn(nowSec) {
  if (nowSec < 0) {
    const k = S.countClicks.filter((c) => c <= nowSec + 0.02).length;
    $("countin").textContent = k ? String(k) : "";
  } else $("countin").textContent = nowSec < 0.8 ? "play!" : "";
}

// where the song is: bar, time through the loop, tempo (from the bars the engine laid out)
function position(nowSec) {
  let cur = null;
  for (const b of S.bars) { if (b.sec <= nowSec + 1e-6) cur = b; else break; }
  const meter = S.meter;
  if (!cur) { $("song-pos").textContent = "count-in"; return; }
  const parts = [`bar ${cur.bar}`];
  if (meter && meter.section && meter.bar === cur.bar) parts.push(meter.section);
  if (S.loopOf > 1) parts.push(`loop ${cur.pass}/${S.loopOf}`);
  if (cur.tempo !== 100) parts.push(`${Math.round(cur.tempo)}%`);
  $("song-pos").textContent = parts.join(" · ");
}
