// The first screen: pick a song (a built-in one, or one from the song list of library.js),
// the players and how to practise it; or join a room.
import { $, S, api, showError, songClock } from "./state.js";
import { wireLibrary } from "./library.js";
import { saveHost } from "./net.js";

export async function loadSongs() {
  S.info = await api("/api/info");
  S.songs = await api("/api/songs");
  const sel = $("song");
  for (const s of S.songs) {
    const o = document.createElement("option");
    o.value = s.name; o.textContent = `${s.title}${s.artist ? " – " + s.artist : ""} (${s.bpm} BPM)`;
    sel.appendChild(o);
  }
  sel.onchange = songChanged; songChanged();
  wireLibrary(songChanged);
  $("practice-mode").onchange = practiceChanged; practiceChanged();
  $("section").onchange = sectionChanged;
}

function currentSong() { return S.songs.find((x) => x.name === $("song").value); }

function songChanged() {
  const s = currentSong();
  if (!s) return;
  $("song-info").textContent = `${s.bars} bars, ${songClock(s.length_sec)} at full tempo; parts: ${s.levels.join(", ")}`
    + (s.pads ? ". Made for four pads: the hi-hat or the high tom plays yellow, the ride or the mid tom blue, the crash or the floor tom green." : "")
    + (s.five_lane ? ". A five-lane kit: yellow and orange are cymbals, blue and green toms." : "");
  for (const [i, id] of ["level0", "level1"].entries()) {
    const el = $(id), keep = el.value;
    el.innerHTML = "";
    for (const lv of s.levels) {
      const o = document.createElement("option"); o.value = lv;
      o.textContent = lv === "Expert+" ? "Expert+ (double kick)" : lv; el.appendChild(o);
    }
    // by default the first player takes the full part (Expert+, the double-kick part, is
    // only for one who asks for it), the second the easiest
    const ladder = s.levels.filter((lv) => lv !== "Expert+");
    el.value = s.levels.includes(keep) ? keep : (i === 0 ? ladder[ladder.length - 1] : ladder[0]);
  }
  const sec = $("section"); sec.innerHTML = "";
  for (const x of s.sections || []) {
    const o = document.createElement("option");
    o.value = `${x.first_bar}-${x.last_bar}`;
    o.textContent = `${x.name} (bars ${x.first_bar}–${x.last_bar})`;
    sec.appendChild(o);
  }
  if (!(s.sections || []).length) {
    const o = document.createElement("option");
    o.value = `1-${s.bars}`; o.textContent = `the whole song (bars 1–${s.bars}; no sections named)`;
    sec.appendChild(o);
  }
  for (const id of ["loop-a", "loop-b", "bar-to"]) $(id).max = s.bars;
  sectionChanged();
}

function sectionChanged() {
  const [a, b] = $("section").value.split("-").map(Number);
  $("loop-a").value = a; $("loop-b").value = b;
}

function practiceChanged() {
  const mode = $("practice-mode").value;
  $("section-row").hidden = !(mode === "from" || mode === "loop-section");
  $("bars-row").hidden = mode !== "loop-bars";
  $("loop-row").hidden = !mode.startsWith("loop");
  $("bar-to-row").hidden = mode.startsWith("loop");
}

// the room request the form describes
export function roomRequest() {
  const body = {
    song: $("song").value, players: [$("name0").value, $("name1").value],
    levels: [$("level0").value, $("level1").value],
    tempo_percent: Number($("tempo").value) || 100, lesson: $("lesson").checked,
  };
  const mode = $("practice-mode").value;
  const [secA, secB] = $("section").value.split("-").map(Number);
  if (mode === "from") body.start_bar = secA;
  if (mode === "loop-section") body.loop_bars = [secA, secB];
  if (mode === "loop-bars") body.loop_bars = [Number($("loop-a").value), Number($("loop-b").value)];
  if (mode.startsWith("loop")) {
    body.loop_repeats = Number($("repeats").value) || 4;
    body.ramp_percent = Number($("ramp").value) || 0;
    body.ramp_to_percent = Number($("ramp-to").value) || 100;
  } else if ($("bar-to").value) body.last_bar = Number($("bar-to").value);
  return body;
}

export async function createRoom(join) {
  showError("");
  try {
    const room = await api("/api/rooms", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(roomRequest()),
    });
    saveHost(room.code, room.host_token);
    await join(room.code);
  } catch (err) { showError(err.message); }
}

export async function listRooms(join) {
  try {
    const rooms = await api("/api/rooms");
    const box = $("open-rooms"); box.innerHTML = "";
    for (const r of rooms) {
      const b = document.createElement("button");
      b.textContent = `${r.code}: ${r.title} (${r.players.map((p) => p.name).join(" & ")})`;
      b.onclick = () => join(r.code);
      box.appendChild(b);
    }
  } catch (err) { /* listing is a convenience */ }
}
