// The song's recording: fetched and decoded in the lobby (what plays is said there), and
// started with the song along the bars the engine lays out.
import { $, S } from "./state.js";
import { sound } from "./audio.js";
import { savedGains } from "./sound/mixer.js";

// the song's drum stems are loaded only when the guide channel is up (muted by default)
function guideOn() { return (sound.mixer ? sound.mixer.gains.guide : savedGains().guide) > 0; }
// a room that will not play at 100% gets its stretch worklet made here, not mid-song
function willStretch(room) { return room.tempo_percent !== 100 || !!(room.practice && room.practice.ramp_percent); }

function musicText(st, guide) {
  if (!st.hasMusic) return "Music: none for this song, the click plays alone.";
  if (st.fullMix) return "Music: the song's recording, a full mix: its drums are in it.";
  if (!st.hasDrums) return "Music: the song's recording, drums muted (you are the drums).";
  return guide ? "Music: the song's recording, drums muted; its own drum stems on the guide channel."
    : "Music: the song's recording, drums muted (raise Guide drums in the mixer to hear its own drums).";
}

export async function prepareMusic() {
  const el = $("music-status"), room = S.room;
  if (!room || room.state === "finished") return;
  const guide = guideOn();
  const want = `${room.code}|${room.song}|${guide}`;
  if (S.musicFor === want) return;
  S.musicFor = want;
  if (!sound.ctx) { el.textContent = "Music: loads when you pick “Play here”."; S.musicFor = null; return; }
  el.textContent = "Music: loading the song's recording…";
  try {
    const st = await sound.prepareSong(room.song, { guide, stretch: willStretch(room), key: S.key });
    if (S.musicFor !== want) return;
    S.musicStatus = st;
    const say = st.messages.filter((t) => !/full mix|click plays alone/.test(t));
    el.textContent = musicText(st, guide) + (say.length ? ` ${say.join("; ")}` : "");
    // decoded after the song began (a slow file, a tab that came back): join in now
    if (S.room.state === "playing" && !S.finished && !sound.music) startMusic();
  } catch (err) { el.textContent = `Music: ${err.message}`; S.musicFor = null; }
}

// the recording starts (or, for a tab that came back mid-song, starts where the song is)
// once it is decoded; until this page's clock knows the song's start nothing is placed
export function startMusic() {
  if (sound.startSong(() => S.startLocalMs, S.countInSec) && S.musicMaps.length) sound.addBars(S.musicMaps);
}
