"""Hits from a take played along with the song aloud: the music found and taken out.

A drummer who plays along with the music from speakers records the music too, and the
detector hears its bass notes and chords as drums. ``cymbalism.io.audio.bleed`` finds the
song's recording in the take and takes it out before the hits are found. This script
scores that on real drum recordings with real music beside them:

- the drums: the eight ``mdb_drums`` stems (``../shared/data/mdb_drums``), with their
  annotated onsets and drums;
- the music: the built-in songs' recordings (every stem but drums), one per stem in
  turn, starting :data:`MUSIC_START_SEC` into the song, its clock running
  :data:`DRIFT_PPM` apart from the take's, through a room (``evaluation/audio.py``'s
  statistical room response, RT60 0.5 s) and a few milliseconds of distance, at three
  levels against the drums (RMS): -12, -6 and 0 dB.

For each take: onsets under the strict protocol (``evaluation/audio.py``: annotated
onsets within 10 ms count once, F per take, then the mean) and the mean kick / snare /
hi-hat F with the default templates, for the drums alone, the take with the music read
as it is, and the take with the music taken out. The music's place is checked too:
where song time zero was found against where it was put.

``--choose`` chooses the bleed's four constants (``GAIN_QUANTILE``,
``OVER_SUBTRACTION``, ``MASK_FLOOR``, ``UNDER_MUSIC_DB``) on all the takes, and scores
the way they are chosen by leaving each stem's takes out in turn (choosing on the other
seven stems' takes, scoring on the one left out).

Run: ``.venv/bin/python evaluation/music_in_take.py [--choose]``
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soxr
from rich.console import Console
from rich.table import Table
from scipy.signal import fftconvolve

from cymbalism.io.audio import bleed, detect_hits, hits_without_music
from cymbalism.io.audio.bleed import Music
from cymbalism.io.charts import load_chart
from cymbalism.model.hits import Hits
from cymbalism.songs import list_songs
from cymbalism.sound.audio import song_music

sys.path.insert(0, str(Path(__file__).parent))
from audio import CLASSES, DATA, Track, class_counts, f_of, load_tracks, onset_scores, room_response

#: The music starts this far into the song when the take starts.
MUSIC_START_SEC = 5.0
#: The music's clock against the take's (a phone's against a laptop's).
DRIFT_PPM = 40.0
#: The speakers' distance from the microphone, as a delay.
DISTANCE_SEC = 0.006
#: The music's level against the drums' (RMS, dB).
LEVELS_DB = (-12.0, -6.0, 0.0)
#: ``--choose`` chooses among these.
QUANTILE_GRID = (0.2, 0.3, 0.5)
OVER_GRID = (1.0, 2.0, 4.0)
FLOOR_GRID = (0.02, 0.05, 0.1)
UNDER_GRID = (-20.0, -15.0, -10.0, -6.0, -3.0)

console = Console()


@dataclass
class Take:
    track: Track
    song: str
    level_db: float
    samples: np.ndarray
    music: Music
    zero_sec: float  # where song time zero sounds in the take


def songs_music() -> list[tuple[str, Music]]:
    out = []
    for name in (song.name for song in list_songs() if not song.free_play):  # not the click
        found = song_music(name, load_chart(name))
        if found is not None:
            out.append((name, found))
    return out


def make_takes(tracks: list[Track], music: list[tuple[str, Music]]) -> list[Take]:
    takes = []
    for k, tr in enumerate(tracks):
        name, m = music[k % len(music)]
        sr = tr.sample_rate
        src = soxr.resample(m.samples, m.sample_rate, sr)
        n = tr.samples.size
        # music second MUSIC_START_SEC + (1 + drift) t sounds at take second t
        t = np.arange(n) / sr
        at = (MUSIC_START_SEC + (1 + DRIFT_PPM * 1e-6) * t) * sr
        heard = np.interp(at, np.arange(src.size), src, left=0.0, right=0.0)
        heard = fftconvolve(heard, room_response(sr, 0.5, 3.0, seed=k))[:n]
        d = round(DISTANCE_SEC * sr)
        heard = np.concatenate([np.zeros(d), heard[: n - d]])
        drums_rms = np.sqrt(np.mean(tr.samples.astype(np.float64) ** 2))
        heard *= drums_rms / max(np.sqrt(np.mean(heard**2)), 1e-12)
        zero = (m.zero_sec - MUSIC_START_SEC) / (1 + DRIFT_PPM * 1e-6) + DISTANCE_SEC
        for level in LEVELS_DB:
            x = tr.samples + heard * 10 ** (level / 20)
            takes.append(Take(tr, name, level, x.astype(np.float32), m, zero))
    return takes


def scores(tr: Track, hits: Hits) -> tuple[float, float, float]:
    """Strict onset F, mean KD / SD / HH F, mean timing error (ms)."""
    est = np.unique(hits.onset_sec)
    s = onset_scores(tr.ref_sec, est)
    counts = class_counts(tr, hits)
    return s["f50"], float(np.nanmean([f_of(counts[c]) for c in CLASSES])), s["bias_ms"]


def run(takes: list[Take]) -> dict[str, list]:
    rows: dict[str, list] = {"alone": [], "as is": [], "taken out": [], "zero": []}
    alone: dict[str, tuple[float, float, float]] = {}
    for tk in takes:
        tr = tk.track
        if tr.name not in alone:
            alone[tr.name] = scores(tr, detect_hits(tr.samples, tr.sample_rate))
        rows["alone"].append(alone[tr.name])
        rows["as is"].append(scores(tr, detect_hits(tk.samples, tr.sample_rate)))
        found, hits = hits_without_music(tk.samples, tr.sample_rate, tk.music)
        rows["taken out"].append(scores(tr, hits))
        rows["zero"].append(np.nan if found is None else found.song_zero_sec - tk.zero_sec)
    return rows


def by_level(
    level_of: list[float],
    rows: dict[str, list],
    *,
    title: str,
    heard: str,
    last: str,
    last_format: str,
) -> Table:
    """Onset F, drum F and a third figure (``last``), for the drums alone, the take as
    it is and the ``heard`` sound taken out, at each level and over all the takes."""
    table = Table(title=title)
    for col in (heard, "takes", "read", "onset F strict", "KD/SD/HH F", last):
        table.add_column(col, justify="right")
    for level in (*sorted(set(level_of)), None):
        pick = [i for i, lv in enumerate(level_of) if level is None or lv == level]
        label = "all" if level is None else f"{level:+.0f} dB"
        for what in ("alone", "as is", "taken out"):
            v = np.array([rows[what][i] for i in pick])
            table.add_row(
                label if what == "alone" else "",
                str(len(pick)) if what == "alone" else "",
                "drums alone" if what == "alone" else f"{heard} {what}",
                f"{v[:, 0].mean():.3f}",
                f"{v[:, 1].mean():.3f}",
                f"{v[:, 2].mean():{last_format}}",
            )
    return table


def report(takes: list[Take], rows: dict[str, list], title: str) -> None:
    levels = [tk.level_db for tk in takes]
    console.print(
        by_level(levels, rows, title=title, heard="music", last="mean error ms", last_format="+.1f")
    )
    zero = np.array(rows["zero"], dtype=float)
    found = np.isfinite(zero)
    for tk, z in zip(takes, zero, strict=True):
        if not np.isfinite(z):
            console.print(
                f"not found: {tk.track.name} ({tk.track.duration_sec:.0f} s) with {tk.song} "
                f"at {tk.level_db:+.0f} dB"
            )
    placed = found & (np.abs(np.nan_to_num(zero)) <= 0.002)
    console.print(
        f"music found in {found.sum()} of {zero.size} takes; song time zero placed within "
        f"2 ms in {placed.sum()} (median error {np.median(np.abs(zero[placed])) * 1000:.2f} "
        f"ms, largest {np.abs(zero[placed]).max() * 1000:.2f} ms)"
        + "".join(
            f"; in {tk.track.name} with {tk.song} at {tk.level_db:+.0f} dB, {z:+.1f} s away "
            "(the song repeats itself there)"
            for tk, z, ok in zip(takes, zero, found & ~placed, strict=True)
            if ok
        )
    )


def choose(takes: list[Take]) -> None:
    names = sorted({tk.track.name for tk in takes})
    scored: dict[tuple[float, ...], list[float]] = {}
    settings = list(itertools.product(QUANTILE_GRID, OVER_GRID, FLOOR_GRID))
    first = [
        (
            detect_hits(tk.samples, tk.track.sample_rate),
            bleed.find_music(tk.samples, tk.track.sample_rate, tk.music),
        )
        for tk in takes
    ]
    with console.status("choosing") as status:
        for k, (q, a, f) in enumerate(settings):
            status.update(f"setting {k + 1} of {len(settings)}: quantile {q}, over {a}, floor {f}")
            bleed.GAIN_QUANTILE, bleed.OVER_SUBTRACTION, bleed.MASK_FLOOR = q, a, f
            per: dict[float, list[float]] = {under: [] for under in UNDER_GRID}
            for tk, (recorded, found) in zip(takes, first, strict=True):
                if found is None:
                    for under in UNDER_GRID:
                        per[under].append(np.mean(scores(tk.track, recorded)[:2]))
                    continue
                sr = tk.track.sample_rate  # the same place, the gains of this quantile
                gains, _ = bleed._gains(tk.samples, sr, tk.music, found.clock)
                found = replace(found, gains=gains)
                without = bleed.remove_music(tk.samples, sr, tk.music, found)
                clean = detect_hits(without.samples, sr)
                for under in UNDER_GRID:
                    bleed.UNDER_MUSIC_DB = under
                    kept = clean.select(without.stands_out(clean.onset_sec))
                    per[under].append(np.mean(scores(tk.track, bleed.timed_by(kept, recorded))[:2]))
            for under in UNDER_GRID:
                scored[(q, a, f, under)] = per[under]
    as_is = [
        float(np.mean(scores(tk.track, rec)[:2])) for tk, (rec, _) in zip(takes, first, strict=True)
    ]
    track_of = np.array([names.index(tk.track.name) for tk in takes])

    def mean(setting: tuple[float, ...], pick: np.ndarray) -> float:
        return float(np.mean(np.asarray(scored[setting])[pick]))

    held_out, picks = [], []
    for t in range(len(names)):  # leave one stem's takes out, choose on the rest
        best = max(scored, key=lambda s: mean(s, track_of != t))
        picks.append(best)
        held_out.extend(np.asarray(scored[best])[track_of == t])
    everything = np.ones(len(takes), bool)
    final = max(scored, key=lambda s: mean(s, everything))
    table = Table(title="mean of onset F (strict) and KD/SD/HH F over the takes")
    for col in ("quantile", "over", "floor", "under music dB", "all takes"):
        table.add_column(col, justify="right")
    for s in sorted(scored, key=lambda s: -mean(s, everything))[:8]:
        table.add_row(*(f"{v:g}" for v in s), f"{mean(s, everything):.4f}")
    console.print(table)
    console.print(
        f"music read as it is: {np.mean(as_is):.4f}; taken out, constants chosen leaving "
        f"each stem out and scored on it: {np.mean(held_out):.4f} (chosen "
        f"{len(set(picks))} ways: {', '.join(str(p) for p in sorted(set(picks)))}); "
        f"chosen on all the takes: {final}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose", action="store_true", help="choose the four constants")
    args = parser.parse_args()
    tracks = load_tracks(DATA / "mdb_drums")
    music = songs_music()
    takes = make_takes(tracks, music)
    console.print(
        f"{len(takes)} takes: {len(tracks)} mdb_drums stems, each with one of "
        f"{len(music)} built-in songs ({', '.join(n for n, _ in music)}) at "
        f"{', '.join(f'{v:+.0f}' for v in LEVELS_DB)} dB"
    )
    if args.choose:
        choose(takes)
        return
    report(takes, run(takes), "the song's recording in the take")


if __name__ == "__main__":
    main()
