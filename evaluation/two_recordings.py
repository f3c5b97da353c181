"""Evaluation: two phones, one duet. Lining two recordings up by their sound, on real drums.

The MDB Drums stems (real kits, recorded by other people) make two drummers: the first
four stems played one after another are one drummer's kit, the other four the other's,
each case starting the rotation one stem later. A room is built around them, as two
phones would hear it:

- each phone hears its own kit close (a small room's response, direct sound 10 dB over
  its reverberation) and the other kit from across the room: 6-16 dB quieter, with more
  reverberation (direct and reverberant equal), and ``room`` later (1-15 ms: the kits
  0.3-5 m apart);
- each has its own noise floor, 35 dB under its own kit;
- the second phone runs at 48 kHz on a clock ``drift`` off the first's (-80 to +45 ppm)
  and was started ``offset`` from it (either way, up to a minute);
- both are written as AAC in M4A files, as phones do, and read back from the files.

:func:`cymbalism.io.audio.align.align_recordings` is scored on how far the second
phone's clock, mapped onto the first's, is from the truth at the start, the middle and
the end of the duet, in milliseconds. The baseline, in the same run, is the usual way to
line up two recordings: the lag of the best cross-correlation of their onset strength
envelopes (librosa, 512-sample hops at 22,050 Hz: 23 ms), with no drift. (librosa
cannot decode an M4A itself here: no FFmpeg program is installed for audioread.)

Usage::

    .venv/bin/python evaluation/two_recordings.py [--data DIR] [--seconds 120]
        [--choose-quieter]

Each phone's take also holds the other kit. After the clocks, each player's hits are
scored against the annotated onsets of their own kit (within 30 ms), as read and with
the hits :func:`cymbalism.io.audio.align.other_kit` takes for the other kit left out:
the share of hits that are the player's, and the share of the player's strokes found.
``--choose-quieter`` shows, on the four chosen-on duets only, how ``QUIETER_DB`` was
chosen.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soxr
from rich.console import Console
from rich.table import Table
from scipy.signal import fftconvolve

from cymbalism.errors import InputError
from cymbalism.io.audio.align import QUIETER_DB, align_recordings, other_kit
from cymbalism.io.audio.files import encode_with_ffmpeg
from cymbalism.io.performance import load_performance, on_one_clock

sys.path.insert(0, str(Path(__file__).parent))
from audio import DATA, load_tracks, room_response

SR_A, SR_B = 44100, 48000
#: (offset s, drift ppm, room delay ms, the far kit in dB) per case: the four the
#: thresholds for finding the far kit's peak were chosen on (SUMMED_KIT_SHARE,
#: OVER_THE_REST in cymbalism.io.audio.align) ...
CHOSEN_ON = ((3.217, 45.0, 2.0, -10.0), (-6.5, -80.0, 5.0, -10.0), (41.03, 20.0, 8.0, -10.0),
             (0.75, -15.0, 12.0, -10.0))  # fmt: skip
#: ... and eight drawn at random (seeded) to check them on.
_draw = np.random.default_rng(2026)
CHECKED_ON = tuple(
    (float(_draw.uniform(-30, 60)), float(_draw.uniform(-100, 100)),
     float(_draw.uniform(1, 15)), float(_draw.uniform(-16, -6)))
    for _ in range(8)
)  # fmt: skip


def kit(tracks: list, first: int, seconds: float) -> np.ndarray:
    """Four stems one after another from ``first`` on, cut to ``seconds``."""
    parts = [tracks[(first + i) % len(tracks)].samples for i in range(4)]
    x = np.concatenate(parts).astype(np.float64)
    n = int(seconds * SR_A)
    return np.pad(x, (0, max(0, n - x.size)))[:n]


def heard(
    near: np.ndarray, far: np.ndarray, delay_sec: float, far_db: float, seed: int
) -> np.ndarray:
    """What one phone hears: its own kit close, the other kit from across the room."""
    rng = np.random.default_rng(seed)
    close = fftconvolve(near, room_response(SR_A, 0.3, 10.0, seed))[: near.size]
    across = fftconvolve(far, room_response(SR_A, 0.6, 0.0, seed + 1))[: far.size]
    d = round(delay_sec * SR_A)
    across = np.concatenate([np.zeros(d), across])[: far.size] * 10 ** (far_db / 20)
    y = close + across
    y += rng.standard_normal(y.size) * np.sqrt(np.mean(close**2)) * 10 ** (-35 / 20)
    return y / (np.abs(y).max() * 1.25)


def second_phone(y: np.ndarray, offset_sec: float, drift: float) -> np.ndarray:
    """The second phone's file: its clock ``drift`` fast, started ``offset_sec`` early."""
    x = soxr.resample(y, SR_A, SR_B * (1 + drift))  # true time on the phone's clock
    k = round(offset_sec * SR_B)
    if k >= 0:
        rng = np.random.default_rng(7)
        return np.concatenate([rng.standard_normal(k) * 1e-4, x])
    return x[-k:]


def baseline_lag(a_path: Path, b_path: Path) -> float:
    """The onset-envelope cross-correlation lag (seconds, ``t_b - t_a``), no drift."""
    import librosa
    from scipy.signal import correlate

    from cymbalism.sound.audio import read_audio_file  # librosa.load cannot decode M4A

    hop, sr = 512, 22050
    ya, yb = (read_audio_file(p, sr)[0].mean(axis=1) for p in (a_path, b_path))
    ea = librosa.onset.onset_strength(y=ya, sr=sr, hop_length=hop)
    eb = librosa.onset.onset_strength(y=yb, sr=sr, hop_length=hop)
    c = correlate(eb - eb.mean(), ea - ea.mean(), mode="full", method="fft")
    return (int(np.argmax(c)) - (ea.size - 1)) * hop / sr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA / "mdb_drums")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument(
        "--choose-quieter",
        action="store_true",
        help="on the chosen-on duets, score leaving out the other kit at 0-9 dB quieter",
    )
    args = parser.parse_args()
    tracks = load_tracks(args.data)
    kept = (None, QUIETER_DB)
    sweep = (None, 0.0, 3.0, 6.0, 9.0) if args.choose_quieter else kept
    score(tracks, "chosen on", CHOSEN_ON, 0, args.seconds, sweep)
    score(tracks, "checked on", CHECKED_ON, 100, args.seconds, kept)


def score(
    tracks: list, title: str, cases: tuple, seed0: int, seconds: float, quieter: tuple
) -> None:
    """One table: each case's clock error against the truth, beside the baseline's; then
    each player's hits against their own kit's annotations, with every hit and with the
    other kit left out at each of ``quieter`` (dB; None: nothing left out)."""
    hits_scores: dict[float | None, list[tuple[float, float]]] = {x: [] for x in quieter}
    table = Table(title=f"two phones in a room: {len(cases)} duets of {seconds:.0f} s ({title})")
    for col in ("duet", "truth: offset, drift, room, far kit", "error ms (start/mid/end)",
                "room found", "baseline"):  # fmt: skip
        table.add_column(col, justify="left" if col == "duet" else "right")
    worst, worst_base, failed = 0.0, 0.0, 0
    for i, (offset, ppm, room_ms, far_db) in enumerate(cases):
        k = (i + seed0) % len(tracks)
        a_kit, b_kit = kit(tracks, k, seconds), kit(tracks, k + 4, seconds)
        mic_a = heard(a_kit, b_kit, room_ms / 1000, far_db, seed=seed0 + 10 * i)
        mic_b = heard(b_kit, a_kit, room_ms / 1000, far_db, seed=seed0 + 10 * i + 5)
        mic_b = second_phone(mic_b, offset, ppm * 1e-6)
        t = np.array([1.0, seconds / 2, seconds - 1.0])
        t_b = offset + (1 + ppm * 1e-6) * t  # where the second phone heard true time t
        with tempfile.TemporaryDirectory() as tmp:
            a_path = encode_with_ffmpeg(Path(tmp) / "ana.m4a", mic_a, SR_A)
            b_path = encode_with_ffmpeg(Path(tmp) / "ben.m4a", mic_b, SR_B)
            base = baseline_lag(a_path, b_path)
            try:
                found = align_recordings(a_path, b_path)
            except InputError as exc:
                found, failed = None, failed + 1
                said = str(exc)
            else:
                perfs, clocks = on_one_clock([load_performance(a_path), load_performance(b_path)])
                truths = (annotations(tracks, k, seconds), annotations(tracks, k + 4, seconds))
                for p, (perf, truth) in enumerate(zip(perfs, truths, strict=True)):
                    other = perfs[1 - p].hits
                    for x in quieter:
                        gone = (
                            other_kit(perf.hits, other, clocks[1].room_delay_sec, quieter_db=x)
                            if x is not None
                            else np.zeros(len(perf.hits), bool)
                        )
                        hits_scores[x].append(own_hits(perf.hits.onset_sec[~gone], truth))
        err_base = (t_b - base - t) * 1000
        worst_base = max(worst_base, float(np.abs(err_base).max()))
        truth = f"{offset:+.2f} s, {ppm:+.0f} ppm, {room_ms:.1f} ms, {far_db:.0f} dB"
        base_text = f"{np.abs(err_base).max():.1f} ms"
        if found is None:
            table.add_row(f"{k + 1}", truth, said[:40], "", base_text)
            continue
        err = (found.to_reference(t_b) - t) * 1000
        worst = max(worst, float(np.abs(err).max()))
        room = found.room_delay_sec * 1000
        table.add_row(
            f"{tracks[k].name[:9]} / {tracks[(k + 4) % len(tracks)].name[:9]}",
            truth,
            " / ".join(f"{e:+.2f}" for e in err),
            "none" if np.isnan(room) else f"{room:.1f} ms",
            base_text,
        )
    Console().print(table)
    print(
        f"{title}: largest clock error {worst:.2f} ms (baseline {worst_base:.1f} ms), "
        f"{failed} of {len(cases)} not lined up"
    )
    for x, rows in hits_scores.items():
        precision, recall = np.mean(rows, axis=0)
        what = "every hit kept" if x is None else f"the other kit left out ({x:g} dB quieter)"
        print(
            f"  each player's hits against their own kit's annotations, {what}: "
            f"{precision:.1%} are the player's, {recall:.1%} of the player's strokes found"
        )


def annotations(tracks: list, first: int, seconds: float) -> np.ndarray:
    """The annotated onsets of :func:`kit`'s four stems on the duet's time, within 10 ms
    counted once."""
    times, start = [], 0.0
    for i in range(4):
        track = tracks[(first + i) % len(tracks)]
        times.append(track.ref_sec + start)
        start += track.duration_sec
    t = np.sort(np.concatenate(times))
    t = t[t < seconds]
    keep = np.concatenate([[True], np.diff(t) > 0.010])
    return t[keep]


def own_hits(onset: np.ndarray, truth: np.ndarray, window: float = 0.03) -> tuple[float, float]:
    """The share of hits within ``window`` of an annotated onset of the player's own kit,
    and the share of those onsets with a hit within ``window``."""
    if not onset.size or not truth.size:
        return 0.0, 0.0
    mine = np.array([np.abs(truth - t).min() <= window for t in onset])
    found = np.array([np.abs(onset - t).min() <= window for t in truth])
    return float(mine.mean()), float(found.mean())


if __name__ == "__main__":
    main()
