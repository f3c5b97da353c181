// The song list: every song the studio offers (the built-in ones, then those of the song
// libraries it was started with, `serve --songs DIR`), searched on the studio, with a
// short preview of each recording through the mixer's music channel. Choosing one puts it
// in the new duet's song list.
import { $, S, api, escapeHtml, songClock } from "./state.js";
import { sound } from "./audio.js";

const PAGE = 40;
let shown = 0, query = "", total = 0, asked = 0;

function tempoText(s) {
  const lo = Math.round(s.bpm_min), hi = Math.round(s.bpm_max);
  return lo === hi ? `${lo} BPM` : `${lo}–${hi} BPM`;
}
// levels as `songs --dir` marks them (the full names in a tooltip)
const MARK = { Beginner: "B", Easy: "E", Medium: "M", Hard: "H", Expert: "X", "Expert+": "X+" };
function levelsHtml(levels) {
  return `<span class="levels" title="levels: ${levels.map(escapeHtml).join(", ")}">${levels.map((l) => MARK[l] || escapeHtml(l)).join(" ")}</span>`;
}
function musicText(s) {
  if (!s.has_music) return `<span class="no-music">no music: click only</span>`;
  return s.drum_stems ? "music (drum stems muted)" : s.source === "library" ? "music (a full mix)" : "music";
}
function rowHtml(s) {
  const who = [s.artist, s.charter && `charted by ${s.charter}`].filter(Boolean).map(escapeHtml).join(" · ");
  return `<li class="song-row" data-song="${escapeHtml(s.name)}">
    <div class="song-main"><b>${escapeHtml(s.title)}</b>${who ? `<span class="hint"> ${who}</span>` : ""}
      <div class="song-meta">${songClock(s.length_sec)} · ${tempoText(s)} · ${levelsHtml(s.levels)} · ${musicText(s)}${s.pads ? ` · <span title="made for four pads: either drum of a pad plays its notes">four pads</span>` : ""}${s.five_lane ? ` · <span title="read as a five-lane kit: yellow and orange are cymbals, blue and green toms">five-lane</span>` : ""}${s.source === "built-in" ? " · built-in" : ""}</div></div>
    <div class="song-actions">
      ${s.has_music ? `<button data-preview aria-label="Preview ${escapeHtml(s.title)}">▶ Preview</button>` : ""}
      <button data-choose>Choose</button>
    </div></li>`;
}

async function search(more = false) {
  const q = query, ask = ++asked;
  if (!more) shown = 0;
  try {
    const res = await api(`/api/library?q=${encodeURIComponent(q)}&offset=${shown}&limit=${PAGE}`);
    if (ask !== asked) return;  // a newer search is on its way
    total = res.total;
    const list = $("library-list");
    if (!more) list.innerHTML = "";
    list.insertAdjacentHTML("beforeend", res.songs.map(rowHtml).join(""));
    for (const s of res.songs) S.library.set(s.name, s);
    shown += res.songs.length;
    $("library-msg").textContent = total ? (q ? `${total} ${total === 1 ? "song matches" : "songs match"} “${q}”` : "") : `no song matches “${q}”`;
    $("library-more").hidden = shown >= total;
  } catch (err) { $("library-msg").textContent = err.message; }
}

async function preview(name, button) {
  const s = S.library.get(name);
  if (sound.previewing && sound.previewing.name === name) { sound.stopPreview(); button.textContent = "▶ Preview"; return; }
  for (const b of document.querySelectorAll("[data-preview]")) b.textContent = "▶ Preview";
  button.textContent = "■ Stop";
  try {
    const got = await sound.preview(name, s.preview_sec);
    if (!got) { button.textContent = "▶ Preview"; return; }
    setTimeout(() => { if (!sound.previewing || sound.previewing.name !== name) button.textContent = "▶ Preview"; }, got.sec * 1000 + 100);
  } catch (err) { button.textContent = "▶ Preview"; $("library-msg").textContent = err.message; }
}

// the chosen song joins the new duet's song list (its bars, levels and sections read now)
async function choose(name, onChosen) {
  sound.stopPreview();
  try {
    let s = S.songs.find((x) => x.name === name);
    if (!s) {
      s = await api(`/api/songs/${encodeURIComponent(name)}`);
      S.songs.push(s);
      let group = $("song").querySelector("optgroup[data-library]");
      if (!group) {
        group = document.createElement("optgroup");
        group.label = "From the library"; group.dataset.library = "";
        $("song").appendChild(group);
      }
      const o = document.createElement("option");
      o.value = s.name; o.textContent = `${s.title}${s.artist ? " – " + s.artist : ""} (${s.bpm} BPM)`;
      group.appendChild(o);
    }
    $("song").value = name;
    onChosen();
    $("song").scrollIntoView({ block: "center" });
  } catch (err) { $("library-msg").textContent = `${S.library.get(name)?.title || name}: ${err.message}`; }
}

export function wireLibrary(onChosen) {
  S.library = new Map();
  const n = S.info.library || 0, builtIn = S.songs.length;
  $("library-card").hidden = false;
  $("library-count").textContent = n ? `${builtIn} built-in, ${n.toLocaleString()} from your library` : `${builtIn} built-in`;
  let timer = null;
  $("library-q").oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { query = $("library-q").value.trim(); search(); }, 200);
  };
  $("library-more").onclick = () => search(true);
  $("library-list").onclick = (ev) => {
    const row = ev.target.closest("[data-song]");
    if (!row) return;
    if (ev.target.closest("[data-preview]")) preview(row.dataset.song, ev.target.closest("[data-preview]"));
    else if (ev.target.closest("[data-choose]")) choose(row.dataset.song, onChosen);
  };
  search();
}
