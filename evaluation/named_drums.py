"""Drums a kit has no template for, named by the part: how much of a song it saves.

Run: ``.venv/bin/python evaluation/named_drums.py [--songs lanterns,alley-shuffle]``

The default templates (``cymbalism.io.audio.default_kit``) have no ride and no mid tom,
so the detector names a ride stroke the hi-hat and a mid tom the high tom. Against a
chart, ``analyze``, ``import`` and live microphones name such a stroke by the part's note
it plays (:func:`cymbalism.analysis.align.name_heard_drums`). This script measures what
that changes on the built-in songs' Expert parts, played with a seeded timing spread
(SD 8 ms) and rendered as audio by:

- cymbalism's own drum synthesizer (``synthesize_hits``);
- acoustic kits of the FluidR3 General MIDI soundfont, when ``fluidsynth`` and
  ``/usr/share/sounds/sf2/FluidR3_GM.sf2`` are installed (Debian: ``fluidsynth
  fluid-soundfont-gm``). The default templates were built from these kits and the
  synthesizer (``scripts/default_kit.py``), but never from a ride; so the figures for
  the other drums are not those of an unseen kit.

Each take is read with the default templates and placed on the song at its known
start, then judged against the Expert part as heard (each stroke named by its
template) and as named by the part. Printed per song and source: the share of the
notes hit, the ride's and the mid tom's, and the extra hits.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from cymbalism.analysis.align import Alignment, align, name_heard_drums
from cymbalism.io import audio
from cymbalism.io.charts import load_chart
from cymbalism.io.midi import write_hits
from cymbalism.model.chart import Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.report.analysis import played_hits

SR = 44100
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
#: FluidR3's acoustic kits (bank 128): standard, room, power, jazz, brush.
KITS = {"standard": 0, "room": 8, "power": 16, "jazz": 32, "brush": 40}
LEAD_SEC = 1.0


def _played(notes: Hits, seed: int) -> Hits:
    rng = np.random.default_rng(seed)
    t = notes.onset_sec + LEAD_SEC + rng.normal(0.0, 0.008, len(notes))
    order = np.argsort(t, kind="stable")
    return Hits(t[order], notes.lane[order], notes.velocity[order])


def _soundfont(hits: Hits, program: int, workdir: Path) -> np.ndarray:
    """``hits`` played by one of the soundfont's kits."""
    from cymbalism.model.tempo import TempoMap

    mid = write_hits(workdir / "take.mid", hits, TempoMap.constant(120.0))
    midi = mido.MidiFile(mid)
    for track in midi.tracks:  # the kit: the drum channel's program
        for i, msg in enumerate(track):
            if msg.type == "program_change":
                track[i] = msg.copy(program=program)
    midi.save(mid)
    wav = workdir / "take.wav"
    subprocess.run(
        ["fluidsynth", "-ni", "-q", "-F", str(wav), "-r", str(SR), "-g", "0.5", str(SOUNDFONT),
         str(mid)],
        check=True,
    )  # fmt: skip
    y, sr = sf.read(wav, dtype="float32", always_2d=True)
    assert sr == SR
    return y.mean(axis=1)


def _rate(al: Alignment, lane: Lane) -> str:
    mask = al.targets.lane == lane
    return f"{np.mean(al.hit_index[mask] >= 0):.0%}" if mask.any() else "-"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", default="lanterns,alley-shuffle,harbor-waltz,sunday-funk")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sources", default="synth," + ",".join(KITS), help="synth and soundfont kits")
    args = ap.parse_args(argv)
    sources = [x.strip() for x in args.sources.split(",") if x.strip()]
    if set(sources) - {"synth"} and not (shutil.which("fluidsynth") and SOUNDFONT.is_file()):
        print(f"(no fluidsynth or {SOUNDFONT}: the synthesizer alone)")
        sources = ["synth"]
    kit = audio.default_kit()
    told = (
        f"{d.label} heard as {' or '.join(h.label for h in hs)}" for d, hs in kit.heard_as.items()
    )
    print(f"default kit: {', '.join(told)}")
    head = f"{'song':14} {'source':9} {'notes':>5}  {'hit as heard':>12} {'named':>6}  "
    print(head + f"{'ride':>11}  {'mid tom':>11}  {'extra':>9}")
    for song in args.songs.split(","):
        chart = load_chart(song.strip())
        notes = chart.targets(Level.EXPERT)
        rolled = chart.roll_mask(Level.EXPERT)
        take = _played(notes, args.seed)
        for source in sources:
            if source == "synth":
                y = audio.synthesize_hits(take, SR, seed=args.seed + 1)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    y = _soundfont(take, KITS[source], Path(tmp))
            heard = audio.detect_hits(y, SR).shifted(-LEAD_SEC)
            named = name_heard_drums(heard, notes, kit.heard_as)
            judged = [
                align(played_hits(h, Level.EXPERT, chart=chart), notes, roll=rolled)
                for h in (heard, named)
            ]
            a, b = judged
            print(
                f"{song:14} {source:9} {len(notes):5d}  {a.hit_rate:12.1%} {b.hit_rate:6.1%}  "
                f"{_rate(a, Lane.RIDE):>4} -> {_rate(b, Lane.RIDE):>4}  "
                f"{_rate(a, Lane.TOM_MID):>4} -> {_rate(b, Lane.TOM_MID):>4}  "
                f"{a.n_extra:3d} -> {b.n_extra:3d}"
            )


if __name__ == "__main__":
    main()
