// The end: the summary, tips, the stored session's report and each player's history.
import { $, S, COLORS, api, escapeHtml, show } from "./state.js";
import { setRoom } from "./lobby.js";
import { sound } from "./audio.js";

export async function onFinished(m) {
  S.finished = true;
  S.queue = [];
  sound.stopSong(m.result && m.result.stopped ? 0.3 : 2.0);
  // the duet as audio: the music at the tempo played, each player's strokes panned apart
  const r0 = m.result || {};
  const renderable = r0.session_id !== null && r0.session_id !== undefined && S.info.renders;
  $("render-box").hidden = !renderable;
  const link = () => `/api/sessions/${encodeURIComponent(r0.session_id)}/render?key=${encodeURIComponent(S.key)}&format=${$("render-format").value}`;
  if (renderable) $("render-link").href = link();
  $("render-format").onchange = () => { if (renderable) $("render-link").href = link(); };
  setRoom(m.room);
  show("report");
  const r = m.result || {};
  const lines = (r.summary || []).map((t) => `<p>${escapeHtml(t)}</p>`);
  $("summary").innerHTML = lines.join("") || "<p>The session is stored.</p>";
  const tips = (r.tips || []).filter((t) => t.tips.length);
  $("end-tips").innerHTML = tips.length ? `<h3>Tips</h3>` + tips.map((t) => {
    const i = m.room.players.findIndex((p) => p.name === t.name);
    return `<p><b style="color:${COLORS[i] || "inherit"}">${escapeHtml(t.name)}</b>: ${t.tips.map(escapeHtml).join("; ")}</p>`;
  }).join("") : "";
  const has = r.session_id !== undefined && r.session_id !== null && S.info.reports;
  $("report-frame").hidden = !has; $("report-link").hidden = !has;
  if (has) {
    const url = `/api/sessions/${encodeURIComponent(r.session_id)}/report?key=${encodeURIComponent(S.key)}`;
    $("report-wait").hidden = false;
    $("report-frame").onload = () => {
      $("report-wait").hidden = true;
      // an end kept aside for a busy database: the history is read again once the
      // report (made only of the whole session) has come
      if (r.kept_aside) showHistory(m.room.players);
    };
    $("report-frame").src = url; $("report-link").href = url;
  }
  await showHistory(m.room.players);
}

async function showHistory(players) {
  const rows = [];
  for (const p of players) {
    try {
      const h = await api(`/api/players/${encodeURIComponent(p.name)}/history?key=${encodeURIComponent(S.key)}`);
      rows.push(historyHtml(p.name, h));
    } catch (err) { rows.push(`<p class="hint">${escapeHtml(p.name)}: ${escapeHtml(err.message)}</p>`); }
  }
  $("history").innerHTML = rows.join("");
}

function historyHtml(name, h) {
  const ms = (x) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(0)} ms`);
  const heads = ["when", "song", "with", "level reached", "hit rate", "mean error", "spread", "came together"];
  // each cell carries its column's name: a narrow screen shows a session as a card of
  // named lines (studio.css) instead of a table wider than the screen
  const cell = (i, text) => `<td data-label="${heads[i]}">${escapeHtml(text)}</td>`;
  const rows = (h.sessions || []).map((s) => "<tr>" + [
    s.when, s.song, s.partner, s.level,
    s.hit_rate === null ? "–" : (100 * s.hit_rate).toFixed(0) + "%",
    ms(s.mean_error_ms),
    s.sd_error_ms === null ? "–" : s.sd_error_ms.toFixed(0) + " ms",
    s.came_together_sec === null ? "–" : "after " + s.came_together_sec.toFixed(0) + " s",
  ].map((x, i) => cell(i, x)).join("") + "</tr>");
  return `<h3>${escapeHtml(name)}</h3><div class="table-wrap"><table class="history"><tr>${heads.map((x) => `<th>${x}</th>`).join("")}</tr>${rows.join("")}</table></div>`;
}
