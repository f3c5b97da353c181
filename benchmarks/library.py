"""Scanning a song library: 10,000 synthetic song folders, cold and cached, against a plain parse.

The library is built in a temporary folder (or ``--dir``) as ten shards of song folders
(``shard03/artist17/song-0423``), made from the built-in songs with every level derived,
in the files the games use:

- 55% ``notes.chart`` with guitar and bass sections beside the drums (every difficulty,
  a note per drum note), as a full band chart has;
- 35% ``notes.mid`` with ``PART GUITAR``, ``PART BASS``, ``PART VOCALS`` (notes and
  lyrics) and ``VENUE`` tracks beside ``PART DRUMS`` and ``EVENTS``;
- 10% Rock Band Network style: the MIDI named after the song, not ``notes.mid``.

Each folder also has a ``song.ini`` and audio stems (tiny placeholder files: a scan lists
the audio, it does not decode it). Files are hard links to one copy per song and format,
so ten thousand folders take a few megabytes.

The runs, timed from the call to the last record:

- **plain parse** (the baseline): per folder, list it, read ``song.ini``, and parse the
  chart with mido (``mido.MidiFile``) or by reading, decoding and splitting the text of a
  ``.chart`` -- no drum logic at all; on the first shard;
- **cymbalism, 1 worker, no cache**: :func:`cymbalism.io.library.scan_library` on the
  same shard, every chart read into a Chart and summarised;
- **cymbalism, cold**: the whole library with the default workers, writing the cache;
- **cymbalism, cached**: the same scan again (every folder listed and checked against
  the cache).

Usage::

    .venv/bin/python benchmarks/library.py [--folders 10000] [--dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import mido
from rich.console import Console
from rich.table import Table

from cymbalism import songs
from cymbalism.coaching.simplify import simplify_chart
from cymbalism.io.charts import format_chart_text, write_notes_mid
from cymbalism.io.library import ScanStats, scan_library
from cymbalism.model.chart import Chart

SHARDS = 10
STEMS = ("song.ogg", "drums_1.ogg", "drums_2.ogg", "guitar.ogg", "bass.ogg", "vocals.ogg")


def _band_chart_text(chart: Chart) -> str:
    """The chart's .chart text with guitar and bass sections added before the drums."""
    text = format_chart_text(chart)
    head, sep, drums = text.partition("[EasyDrums]")
    extra = []
    for instrument in ("Single", "DoubleBass"):
        for level in ("Easy", "Medium", "Hard", "Expert"):
            part = chart.part(level)
            ticks = sorted({round(float(q) * 192) for q in part.qn})
            lines = "\n".join(f"  {t} = N {t // 96 % 5} 0" for t in ticks)
            extra.append(f"[{level}{instrument}]\n{{\n  0 = S 2 768\n{lines}\n}}\n")
    return head + "".join(extra) + sep + drums


def _band_mid(chart: Chart, path: Path) -> None:
    """A notes.mid with guitar, bass, vocals and venue tracks beside the drums."""
    write_notes_mid(path, chart)
    mid = mido.MidiFile(str(path))
    qn = sorted({float(q) for q in chart.part("expert").qn})
    tpq = mid.ticks_per_beat
    for name, base in (("PART GUITAR", 96), ("PART BASS", 96), ("PART VOCALS", 60)):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        last = 0
        for k, q in enumerate(qn):
            tick = round(q * tpq)
            if name == "PART VOCALS":
                track.append(mido.MetaMessage("lyrics", text=f"la{k % 7}", time=tick - last))
                last = tick
            note = base + k % 5
            track.append(mido.Message("note_on", note=note, velocity=100, time=tick - last))
            track.append(mido.Message("note_off", note=note, time=tpq // 8))
            last = tick + tpq // 8
        mid.tracks.append(track)
    venue = mido.MidiTrack([mido.MetaMessage("track_name", name="VENUE", time=0)])
    venue += [
        mido.MetaMessage("text", text=f"[lighting (verse{k})]", time=4 * tpq) for k in range(64)
    ]
    mid.tracks.append(venue)
    mid.save(str(path))


def build_library(root: Path, n_folders: int, console: Console) -> None:
    """Write the synthetic library under ``root`` (see the module's docstring)."""
    templates = root / ".templates"
    names = songs.song_names()
    for name in names:
        chart = simplify_chart(songs.get_song(name))
        t = templates / name
        t.mkdir(parents=True, exist_ok=True)
        (t / "notes.chart").write_text(_band_chart_text(chart), encoding="utf-8")
        _band_mid(chart, t / "notes.mid")
        for stem in STEMS:
            (t / stem).write_bytes(b"OggS")
    per_shard = -(-n_folders // SHARDS)
    for k in range(n_folders):
        name = names[k % len(names)]
        folder = root / f"shard{k // per_shard:02d}" / f"artist{k % 97:02d}" / f"{name}-{k:05d}"
        folder.mkdir(parents=True)
        kind = k % 20
        if kind < 11:
            os.link(templates / name / "notes.chart", folder / "notes.chart")
        elif kind < 18:
            os.link(templates / name / "notes.mid", folder / "notes.mid")
        else:
            os.link(templates / name / "notes.mid", folder / f"Artist {k % 97} - {name}.mid")
        (folder / "song.ini").write_text(
            f"[song]\nname = {name.replace('-', ' ').title()} {k}\nartist = Artist {k % 97}\n"
            f"charter = Charter {k % 13}\ndelay = {k % 5 * 10}\npro_drums = True\n"
        )
        for stem in STEMS[: 1 + k % len(STEMS)]:
            os.link(templates / name / stem, folder / stem)
    console.print(f"built {n_folders} song folders in {root}")


def plain_parse(root: Path) -> int:
    """The baseline: list each song folder, read its song.ini, parse its chart with mido
    or read its .chart text; no drum logic. Returns the folders read."""
    n = 0
    for folder, _dirs, files in os.walk(root):
        charts = [f for f in files if f.lower().endswith((".chart", ".mid"))]
        if not charts:
            continue
        n += 1
        (Path(folder) / "song.ini").read_text(encoding="utf-8", errors="replace")
        chart = Path(folder) / charts[0]
        if chart.suffix == ".mid":
            mido.MidiFile(str(chart))
        else:
            chart.read_bytes().decode("utf-8-sig", errors="replace").splitlines()
    return n


def _cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=10_000, help="song folders to build")
    parser.add_argument("--dir", type=Path, default=None, help="build the library here")
    parser.add_argument("--keep", action="store_true", help="keep the library afterwards")
    args = parser.parse_args(argv)
    console = Console(width=120)
    root = args.dir or Path(tempfile.mkdtemp(prefix="cymbalism-library-"))
    if root.exists() and any(root.iterdir()):
        console.print(f"{root} is not empty; give an empty or new --dir")
        return 2
    root.mkdir(parents=True, exist_ok=True)
    cache = root / ".templates" / "cache.sqlite3"
    try:
        t = time.perf_counter()
        build_library(root, args.folders, console)
        console.print(f"  (building took {time.perf_counter() - t:.1f} s)")
        shard = root / "shard00"
        # warm the file cache and the imports so no run is charged for them
        plain_parse(shard)
        scan_library(shard / "artist00", cache=None, workers=1)

        rows: list[tuple[str, int, float, float]] = []
        t, c = time.perf_counter(), _cpu()
        n = plain_parse(shard)
        rows.append(("plain parse (mido, text), 1 process", n, time.perf_counter() - t, _cpu() - c))
        stats = ScanStats()
        t, c = time.perf_counter(), _cpu()
        scan_library(shard, cache=None, workers=1, stats=stats)
        rows.append(
            ("cymbalism, 1 worker, no cache", stats.folders, time.perf_counter() - t, _cpu() - c)
        )
        cold = ScanStats()
        t, c = time.perf_counter(), _cpu()
        records = scan_library(root, cache=cache, stats=cold)
        rows.append(
            (
                f"cymbalism, cold, {os.cpu_count()} workers",
                cold.folders,
                time.perf_counter() - t,
                _cpu() - c,
            )
        )
        warm = ScanStats()
        t, c = time.perf_counter(), _cpu()
        scan_library(root, cache=cache, stats=warm)
        rows.append(("cymbalism, cached", warm.folders, time.perf_counter() - t, _cpu() - c))

        base_wall = rows[0][2] / rows[0][1]
        base_cpu = rows[0][3] / rows[0][1]
        table = Table(
            title=f"Scanning a library of {args.folders} song folders ({os.cpu_count()} CPUs)"
        )
        cols = ("run", "folders", "wall s", "ms/folder", "CPU ms/folder", "x plain (wall)")
        for col in (*cols, "x plain (CPU)"):
            table.add_column(col, justify="left" if col == "run" else "right")
        for label, n_folders, wall, cpu in rows:
            table.add_row(
                label,
                str(n_folders),
                f"{wall:.2f}",
                f"{1e3 * wall / n_folders:.3f}",
                f"{1e3 * cpu / n_folders:.3f}",
                f"{base_wall / (wall / n_folders):.1f}",
                f"{base_cpu / (cpu / n_folders):.1f}",
            )
        console.print(table)
        errors = sum(r.error is not None for r in records)
        levels = sum(len(r.levels) for r in records)
        console.print(
            f"cold scan read {cold.read} folders ({errors} errors, {levels} levels summarised); "
            f"cached scan read {warm.read}. Load average: {os.getloadavg()[0]:.1f}.",
            highlight=False,
        )
        return 1 if errors or warm.read else 0
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
