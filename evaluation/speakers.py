"""Hits from a live microphone that hears the session's speakers too.

A drummer on a microphone plays with the song, the click and the partner's strokes from
the room's speakers, and the microphone hears them. ``cymbalism.live.speakers`` takes
what the speakers played out of each block before the detector reads it, through the
way from speakers to microphone that it measures as the session goes on
(``cymbalism.io.audio.speakers``). This script scores that on real drum recordings:

- the player: the eight ``mdb_drums`` stems (``../shared/data/mdb_drums``), with their
  annotated onsets and drums;
- the speakers: a built-in song's practice track (``render_practice``: its recording
  without the drums, the click, and the full part played from the sampled kit, as a
  partner playing along would sound), one song per stem in turn, starting
  :data:`START_SEC` into the track;
- the room: ``evaluation/audio.py``'s statistical room response (RT60 0.5 s), the sound
  reaching the microphone :data:`LAG_SEC` after its place on the clock (buffers and
  air), at three levels against the drums (RMS): -12, -6 and 0 dB.

The microphone is read block by block as the live input reads it
(:class:`~cymbalism.live.speakers.SpeakerListener`, then the live detector,
``LIVE_CONFIG``), with the sound played written to a
:class:`~cymbalism.live.speakers.PlayedSound` as the output does: the way is measured
on the microphone's last 6 s every 2 s, from nothing, so the first seconds of each take
pass with the speakers in them. For each take: onsets under the strict protocol
(``evaluation/audio.py``) and the mean kick / snare / hi-hat F, for the drums alone, the
microphone as it is, and with the speakers taken out, and onset F from the 10th second
on (once the way is measured); the lag found; and how far the
speakers' sound was brought down after the first 10 s (the echo return loss
enhancement, ERLE, in dB).

Run: ``.venv/bin/python evaluation/speakers.py``
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from scipy.signal import fftconvolve

from cymbalism.io.audio.detector import LIVE_CONFIG, StreamingDetector
from cymbalism.io.charts import load_chart
from cymbalism.live.speakers import PlayedSound, SpeakerListener
from cymbalism.model.hits import Hits
from cymbalism.songs import list_songs
from cymbalism.sound.audio import song_audio_for
from cymbalism.sound.render import render_practice

sys.path.insert(0, str(Path(__file__).parent))
from audio import CLASSES, DATA, Track, class_counts, f_of, load_tracks, onset_scores, room_response
from music_in_take import by_level

#: The take starts this far into the practice track.
START_SEC = 5.0
#: The speakers reach the microphone this long after their place on the clock.
LAG_SEC = 0.012
#: The speakers' level against the drums' (RMS, dB).
LEVELS_DB = (-12.0, -6.0, 0.0)
#: Samples per block, as the sound device hands them over (the hits do not depend on it).
BLOCK = 2048
#: The speakers' sound is measured as brought down after this long.
SETTLED_SEC = 10.0

console = Console()


@dataclass
class Take:
    track: Track
    song: str
    level_db: float
    mic: np.ndarray  # what the microphone heard
    speakers: np.ndarray  # the speakers' part of it
    played: np.ndarray  # what was played, from START_SEC on the clock - max lag


def practice_tracks(sample_rate: int) -> list[tuple[str, np.ndarray]]:
    out = []
    for song in list_songs():
        if song.free_play:  # the click alone
            continue
        chart = load_chart(song.name)
        audio, _ = song_audio_for(song.name, chart, sample_rate=sample_rate)
        r = render_practice(chart, "expert", audio, click=True, sample_rate=sample_rate)
        out.append((song.name, r.frames.mean(axis=1).astype(np.float64)))
    return out


def make_takes(tracks: list[Track]) -> list[Take]:
    rates = {tr.sample_rate for tr in tracks}
    assert len(rates) == 1, rates
    sr = rates.pop()
    songs = practice_tracks(sr)
    takes = []
    for k, tr in enumerate(tracks):
        name, track = songs[k % len(songs)]
        n = tr.samples.size
        start = round(START_SEC * sr)
        played = np.zeros(n)
        seg = track[start : start + n]
        played[: seg.size] = seg
        heard = fftconvolve(played, room_response(sr, 0.5, 3.0, seed=k))[:n]
        d = round(LAG_SEC * sr)
        heard = np.concatenate([np.zeros(d), heard[: n - d]])
        drums_rms = np.sqrt(np.mean(tr.samples.astype(np.float64) ** 2))
        heard *= drums_rms / max(np.sqrt(np.mean(heard**2)), 1e-12)
        for level in LEVELS_DB:
            part = heard * 10 ** (level / 20)
            mic = (tr.samples + part).astype(np.float32)
            takes.append(Take(tr, name, level, mic, part.astype(np.float32), played))
    return takes


def scores(tr: Track, hits: Hits) -> tuple[float, float, float]:
    """Strict onset F, mean KD / SD / HH F, and strict onset F from :data:`SETTLED_SEC` on."""
    est = np.unique(hits.onset_sec)
    counts = class_counts(tr, hits)
    settled = onset_scores(tr.ref_sec[tr.ref_sec >= SETTLED_SEC], est[est >= SETTLED_SEC])
    return (
        onset_scores(tr.ref_sec, est)["f50"],
        float(np.nanmean([f_of(counts[c]) for c in CLASSES])),
        settled["f50"],
    )


def live(take: Take, *, cancel: bool) -> tuple[Hits, np.ndarray, SpeakerListener]:
    """The take read block by block as the live input reads it: the hits, the blocks the
    detector read, and the listener."""
    sr = take.track.sample_rate
    speakers = PlayedSound(sr)
    listener = SpeakerListener(speakers, sr)
    det = StreamingDetector(sr, config=LIVE_CONFIG)
    out, read = [], []
    for i in range(0, take.mic.size, BLOCK):
        # the output has played up to here (it plays ahead of what the microphone hears)
        speakers.played(i, take.played[i : i + BLOCK])
        x = take.mic[i : i + BLOCK]
        if cancel:
            x = listener.cleaned(x, i / sr)
            listener.join()  # as if the measurement kept up with the sound
        read.append(x)
        out.append(listener.keeps(det.process(x)) if cancel else det.process(x))
    if cancel:  # the last samples, if any still wait for the sound played over them
        read.append(listener.flush())
        out.append(listener.keeps(det.process(read[-1])))
    out.append(listener.keeps(det.finish()) if cancel else det.finish())
    return Hits.concat(out), np.concatenate(read), listener


def main() -> None:
    tracks = load_tracks(DATA / "mdb_drums")
    takes = make_takes(tracks)
    console.print(
        f"{len(takes)} takes: {len(tracks)} mdb_drums stems, each with a built-in song's "
        f"practice track at {', '.join(f'{v:+.0f}' for v in LEVELS_DB)} dB"
    )
    rows: dict[str, list] = {"alone": [], "as is": [], "taken out": []}
    alone: dict[str, tuple[float, float, float]] = {}
    lags, erle = [], []
    with console.status("reading") as status:
        for j, tk in enumerate(takes):
            status.update(f"take {j + 1} of {len(takes)}: {tk.track.name} with {tk.song}")
            sr = tk.track.sample_rate
            if tk.track.name not in alone:
                alone[tk.track.name] = scores(tk.track, _alone(tk))
            rows["alone"].append(alone[tk.track.name])
            rows["as is"].append(scores(tk.track, live(tk, cancel=False)[0]))
            hits, read, listener = live(tk, cancel=True)
            rows["taken out"].append(scores(tk.track, hits))
            lags.append(listener.path.lag_sec)
            s = round(SETTLED_SEC * sr)
            left = read[s:] - tk.track.samples[s:]
            erle.append(
                10
                * np.log10(
                    np.sum(tk.speakers[s:].astype(np.float64) ** 2)
                    / max(np.sum(left.astype(np.float64) ** 2), 1e-20)
                )
            )
    table = by_level(
        [tk.level_db for tk in takes],
        rows,
        title="a live microphone that hears the speakers",
        heard="speakers",
        last=f"onset F after {SETTLED_SEC:.0f} s",
        last_format=".3f",
    )
    console.print(table)
    lag = np.array(lags) * 1000
    console.print(
        f"lag found in {np.isfinite(lag).sum()} of {lag.size} takes: "
        f"{np.nanmin(lag):.2f}-{np.nanmax(lag):.2f} ms (true {1000 * LAG_SEC:.1f} ms); "
        f"the speakers brought down by {np.median(erle):.1f} dB after the first "
        f"{SETTLED_SEC:.0f} s (median; {np.min(erle):.1f}-{np.max(erle):.1f})"
    )


def _alone(tk: Take) -> Hits:
    det = StreamingDetector(tk.track.sample_rate, config=LIVE_CONFIG)
    return Hits.concat([det.process(tk.track.samples), det.finish()])


if __name__ == "__main__":
    main()
