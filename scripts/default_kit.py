"""Build the default kit's templates from many recorded drum kits and cymbalism's own synth.

The templates a hit is fitted to when no kit was calibrated
(``src/cymbalism/io/audio/default_kit.json``, read by ``cymbalism.io.audio.default_kit``)
are what many kits have in common, not one kit's sound:

1. Every acoustic drum kit of the FluidR3 General MIDI soundfont (MIT licence; Debian's
   ``fluid-soundfont-gm``, rendered with ``fluidsynth``) -- standard, room, power, jazz
   and brush kits, 28 in all -- and cymbalism's own drum synthesizer play each drum of
   the default kit (kick, snare, closed and pedal hi-hat, high and mid toms, floor toms,
   crashes) at four velocities, one hit at a time.
2. The detector itself measures the spectrum each hit added
   (``cymbalism.io.audio.onset_spectra``), over the files' lane window and over the
   live one.
3. Per drum, the hits' square-root spectra are clustered (k-means, eight clusters, the
   best of ten seeded starts by inertia): each cluster centre is one template of that
   drum, so a hit is fitted by the variant of the drum nearest it.

Nothing here looks at MDB Drums or any other evaluation recording. Needs ``fluidsynth``
and ``/usr/share/sounds/sf2/FluidR3_GM.sf2`` (Debian: ``fluidsynth fluid-soundfont-gm``);
the result is committed, so nothing of this is needed to use cymbalism.

Usage::

    .venv/bin/python scripts/default_kit.py [--out src/cymbalism/io/audio/default_kit.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from cymbalism.io import audio
from cymbalism.io.audio.templates import DEFAULT_KIT_PATH
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: The soundfont's acoustic kits (bank 128): standard, room, power, jazz and brush.
KITS = (*range(0, 20), *range(32, 37), 40, 41, 42)
#: The drums of the default kit, and the General MIDI notes that play them.
NOTES: dict[Lane, tuple[int, ...]] = {
    Lane.KICK: (35, 36),
    Lane.SNARE: (38, 40),
    Lane.HIHAT_CLOSED: (42, 44),
    Lane.TOM_HIGH: (45, 47, 48, 50),
    Lane.TOM_FLOOR: (41, 43),
    Lane.CRASH: (49, 57),
}
#: The synthesizer's drums that stand for each lane of the default kit.
SYNTH: dict[Lane, tuple[Lane, ...]] = {
    Lane.KICK: (Lane.KICK,),
    Lane.SNARE: (Lane.SNARE,),
    Lane.HIHAT_CLOSED: (Lane.HIHAT_CLOSED, Lane.HIHAT_PEDAL),
    Lane.TOM_HIGH: (Lane.TOM_HIGH, Lane.TOM_MID),
    Lane.TOM_FLOOR: (Lane.TOM_FLOOR,),
    Lane.CRASH: (Lane.CRASH,),
}
VELOCITIES = (50, 80, 110, 127)
SAMPLE_RATE = 44100
GAP_SEC = 1.5
CLUSTERS = 8
STARTS = 10


def _render_kit(program: int, workdir: Path) -> tuple[np.ndarray, list[tuple[float, Lane]]]:
    """One soundfont kit playing every note of :data:`NOTES` at every velocity."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000))  # 960 ticks per second
    track.append(mido.Message("program_change", channel=9, program=program, time=0))
    hits, now, tick = [], 0, 480
    for lane, notes in NOTES.items():
        for note in notes:
            for velocity in VELOCITIES:
                hits.append((tick / 960.0, lane))
                track.append(
                    mido.Message(
                        "note_on", channel=9, note=note, velocity=velocity, time=tick - now
                    )
                )
                track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=240))
                now = tick + 240
                tick += round(GAP_SEC * 960)
    mid, wav = workdir / f"kit{program}.mid", workdir / f"kit{program}.wav"
    midi.save(mid)
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-F",
            str(wav),
            "-r",
            str(SAMPLE_RATE),
            "-g",
            "0.5",
            str(SOUNDFONT),
            str(mid),
        ],
        check=True,
    )
    y, sr = sf.read(wav, dtype="float32", always_2d=True)
    assert sr == SAMPLE_RATE
    return y.mean(axis=1), hits


def _synth_kit() -> tuple[np.ndarray, list[tuple[float, Lane]]]:
    """cymbalism's own synthesizer playing each drum of :data:`SYNTH` at every velocity."""
    onset, lanes, vels, hits = [], [], [], []
    t = 0.5
    for lane, sounds in SYNTH.items():
        for sound in sounds:
            for velocity in VELOCITIES:
                onset.append(t)
                lanes.append(sound)
                vels.append(velocity)
                hits.append((t, lane))
                t += GAP_SEC
    y = audio.synthesize_hits(Hits.from_arrays(onset, lanes, vels), SAMPLE_RATE, seed=2026)
    return y, hits


def _added_spectra(
    y: np.ndarray, hits: list[tuple[float, Lane]], config: audio.DetectorConfig
) -> list[tuple[Lane, np.ndarray]]:
    """The spectrum each hit added, found by the detector within 20 ms of where it was played."""
    onset, added = audio.onset_spectra(y, SAMPLE_RATE, config=config)
    out = []
    for t, lane in hits:
        near = np.abs(onset - t)
        if near.size and near.min() < 0.02:
            out.append((lane, added[int(np.argmin(near))]))
    return out


def _kmeans(points: np.ndarray, k: int) -> np.ndarray:
    """Cluster centres of ``points`` (k-means, the best of :data:`STARTS` seeded starts)."""
    best, best_inertia = points[:k], np.inf
    for seed in range(STARTS):
        rng = np.random.default_rng(seed)
        centres = points[rng.choice(len(points), k, replace=False)]
        for _ in range(100):
            label = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), axis=1)
            new = np.array(
                [points[label == j].mean(0) if (label == j).any() else centres[j] for j in range(k)]
            )
            if np.allclose(new, centres):
                break
            centres = new
        inertia = float(((points - centres[label]) ** 2).sum())
        if inertia < best_inertia:
            best, best_inertia = centres, inertia
    return best


def _templates(spectra: list[tuple[Lane, np.ndarray]]) -> tuple[list[Lane], np.ndarray]:
    lanes, rows = [], []
    for lane in NOTES:
        x = np.array([s for x, s in spectra if x is lane], dtype=np.float64)
        x = x[x.sum(axis=1) > 0]
        x /= x.sum(axis=1, keepdims=True)
        for centre in _kmeans(np.sqrt(x), CLUSTERS):
            t = np.maximum(centre, 0.0) ** 2
            lanes.append(lane)
            rows.append(t / t.sum())
    return lanes, np.array(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_KIT_PATH)
    args = ap.parse_args()
    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        raise SystemExit(
            f"needs fluidsynth and {SOUNDFONT} (Debian: fluidsynth fluid-soundfont-gm)"
        )
    file_cfg, live_cfg = audio.DetectorConfig(), audio.LIVE_CONFIG
    takes = []
    with tempfile.TemporaryDirectory() as tmp:
        takes += [_render_kit(program, Path(tmp)) for program in KITS]
    file_spectra = [s for y, hits in takes for s in _added_spectra(y, hits, file_cfg)]
    live_spectra = [s for y, hits in takes for s in _added_spectra(y, hits, live_cfg)]
    lanes, templates = _templates(file_spectra)
    live_lanes, live_templates = _templates(live_spectra)
    assert lanes == live_lanes
    kit = audio.KitTemplates("default", tuple(lanes), templates, live_templates=live_templates)
    data = kit.to_json()
    data["source"] = (
        f"scripts/default_kit.py: {len(file_spectra)} hits of {len(takes)} FluidR3 GM "
        f"acoustic kits, {CLUSTERS} templates per drum"
    )
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(file_spectra)} hits -> {len(lanes)} templates written to {args.out}")


if __name__ == "__main__":
    main()
