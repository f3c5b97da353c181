"""Song packages (``.sng``): scanning a library of them, and opening one to play.

A library of synthetic packages is built in a temporary folder: each holds a built-in
song's ``notes.chart`` (every level, as a full chart has), five audio stems of
``--stem-kb`` random bytes each (a scan lists the audio, it does not decode it) and
the ``song.ini`` entries as metadata, masked as the games write them.

The runs, timed from the call to the last record:

- **whole unpack** (the baseline): per package, read its index and every file whole,
  unmasked, and split the chart's text into lines (what a reader that unpacks a package
  to read it does, with no drum logic);
- **cymbalism, cold**: :func:`cymbalism.io.library.scan_library` with one worker and no
  library cache, on a fresh unpacking folder: each package's index is read and only its
  chart and ``song.ini`` are unpacked and read;
- **cymbalism, cached**: the same scan again, with the library cache written by a first
  scan (every package checked by its size and modification time);
- **open to play, first / again**: :func:`cymbalism.io.sng.song_folder` with the audio,
  as ``play`` and the studio open a package: first after the scan (the stems are
  unpacked), then again (nothing is).

Usage::

    .venv/bin/python benchmarks/sng.py [--packages 200] [--stem-kb 1024]

Real packages are larger (a four-minute song's Opus stems are several megabytes each),
which makes the baseline slower and changes nothing for a scan.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from cymbalism import songs
from cymbalism.coaching.simplify import simplify_chart
from cymbalism.io.charts import format_chart_text
from cymbalism.io.library import ScanStats, scan_library
from cymbalism.io.sng import SNG_CACHE_ENV, read_sng, song_folder, write_sng

STEMS = ("song.opus", "drums_1.opus", "drums_2.opus", "guitar.opus", "bass.opus")


def build(root: Path, n: int, stem_bytes: int) -> list[Path]:
    """Write ``n`` packages under ``root`` and return their paths."""
    rng = np.random.default_rng(0)
    charts = {
        name: format_chart_text(simplify_chart(songs.get_song(name))).encode("utf-8")
        for name in songs.song_names()
    }
    names = list(charts)
    stems = {s: rng.integers(0, 256, stem_bytes, dtype=np.uint8).tobytes() for s in STEMS}
    paths = []
    for k in range(n):
        name = names[k % len(names)]
        folder = root / f"artist{k % 37:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"name": f"{name} {k}", "artist": f"Artist {k % 37}", "delay": str(k % 5 * 10)}
        paths.append(
            write_sng(folder / f"{name}-{k:04d}.sng", {"notes.chart": charts[name], **stems}, meta)
        )
    return paths


def whole_unpack(paths: list[Path]) -> int:
    """The baseline: every file of every package read whole and unmasked, and the
    chart's text split into lines."""
    total = 0
    for p in paths:
        package = read_sng(p)
        for name in package.names():
            data = package.read(name)
            if name.endswith(".chart"):
                data.decode("utf-8-sig", errors="replace").splitlines()
            total += len(data)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=200, help="packages to build")
    parser.add_argument("--stem-kb", type=int, default=1024, help="size of each audio stem")
    args = parser.parse_args(argv)
    console = Console(width=120)
    root = Path(tempfile.mkdtemp(prefix="cymbalism-sng-"))
    before = os.environ.get(SNG_CACHE_ENV)
    os.environ[SNG_CACHE_ENV] = str(root / "unpacked")
    try:
        t = time.perf_counter()
        paths = build(root / "Songs", args.packages, args.stem_kb * 1024)
        size = sum(p.stat().st_size for p in paths)
        console.print(
            f"built {len(paths)} packages ({size / 2**20:.0f} MB) in "
            f"{time.perf_counter() - t:.1f} s"
        )
        whole_unpack(paths[:5])  # warm the imports and the file cache
        rows: list[tuple[str, float]] = []
        t = time.perf_counter()
        whole_unpack(paths)
        rows.append(("whole unpack (baseline)", time.perf_counter() - t))
        cold = ScanStats()
        t = time.perf_counter()
        records = scan_library(root / "Songs", cache=None, workers=1, stats=cold)
        rows.append(("cymbalism scan, cold (1 worker)", time.perf_counter() - t))
        cache = root / "library.sqlite3"
        scan_library(root / "Songs", cache=cache, workers=1)
        warm = ScanStats()
        t = time.perf_counter()
        scan_library(root / "Songs", cache=cache, workers=1, stats=warm)
        rows.append(("cymbalism scan, cached", time.perf_counter() - t))
        t = time.perf_counter()
        for p in paths:
            song_folder(p)
        rows.append(("open to play, first (stems unpacked)", time.perf_counter() - t))
        t = time.perf_counter()
        for p in paths:
            song_folder(p)
        rows.append(("open to play, again", time.perf_counter() - t))

        base = rows[0][1]
        table = Table(title=f"{len(paths)} song packages, {args.stem_kb} KB stems x {len(STEMS)}")
        for col in ("run", "wall s", "ms/package", "x baseline"):
            table.add_column(col, justify="left" if col == "run" else "right")
        for label, wall in rows:
            table.add_row(
                label, f"{wall:.2f}", f"{1e3 * wall / len(paths):.2f}", f"{base / wall:.1f}"
            )
        console.print(table)
        errors = sum(r.error is not None for r in records)
        console.print(
            f"cold scan: {cold.folders} packages, {errors} errors; cached scan read {warm.read}. "
            f"Load average: {os.getloadavg()[0]:.1f}.",
            highlight=False,
        )
        return 1 if errors or warm.read or cold.folders != len(paths) else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if before is None:
            os.environ.pop(SNG_CACHE_ENV, None)
        else:
            os.environ[SNG_CACHE_ENV] = before


if __name__ == "__main__":
    sys.exit(main())
