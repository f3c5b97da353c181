"""Corpus analysis of the whole Groove MIDI folder: 1 worker, 2 workers, a local Dask cluster.

Every MIDI file under ``../shared/data/groove_midi`` (1,021 performances) goes through
:func:`cymbalism.corpus.analyze.run_corpus`: read, align to its click grid, timing
figures, tempo and drift from the hits, bGLS phase correction toward the click. The runs:

- **1 worker**: in this process, no Dask (the baseline);
- **2 workers**: a local pool of two processes (Dask's multiprocessing scheduler), the
  default of ``cymbalism corpus analyze``;
- **Dask cluster**: a fresh ``distributed.LocalCluster`` of two worker processes
  (``--scheduler local``), the same code path as a remote cluster; its start-up is
  timed separately and included in the total.

Each run is timed from the call to the last row, including starting worker processes,
and shown as a speed-up against the 1-worker run of the same invocation. The per-file
overhead of a parallel run is the extra CPU time (this process and its worker processes,
including their start-up and imports) it spends per file beyond the serial run:
``(CPU - serial CPU) / files``; unlike wall time it does not depend on what else the
machine is doing. All runs must give the same rows.

Usage::

    .venv/bin/python benchmarks/corpus.py [--data DIR] [--limit N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cymbalism.corpus.analyze import discover, run_corpus

REPO = Path(__file__).resolve().parents[1]
DATA = next(
    (b / "shared" / "data" for b in REPO.parents if (b / "shared" / "data").is_dir()),
    REPO.parent / "shared" / "data",
)


def _comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _same(a: list[dict], b: list[dict]) -> bool:
    """Rows equal, NaN equal to NaN."""
    if len(a) != len(b):
        return False
    for x, y in zip(_comparable(a), _comparable(b), strict=True):
        if x.keys() != y.keys():
            return False
        for k in x:
            u, v = x[k], y[k]
            if u != v and not (isinstance(u, float) and isinstance(v, float) and u != u and v != v):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (best is kept)")
    args = parser.parse_args(argv)
    jobs = discover(args.data / "groove_midi")[: args.limit]
    n = len(jobs)
    console = Console()
    console.print(f"{n} files, {os.cpu_count()} CPUs")
    # Warm the imports and the file cache so the baseline is not charged for them.
    run_corpus(jobs[:20], workers=1)

    def cpu_sec() -> float:
        """CPU time of this process and of its finished children (the worker processes)."""
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + kids.ru_utime + kids.ru_stime

    cpu: dict[str, float] = {}

    def best(label: str, **kw: object) -> tuple[float, list[dict]]:
        times, rows = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), cpu_sec()
            rows = run_corpus(jobs, **kw)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t)
            cpu[label] = min(cpu.get(label, float("inf")), cpu_sec() - c)
            console.print(f"  {label}: {times[-1]:.2f} s wall")
        return min(times), rows

    serial_sec, serial_rows = best("1 worker", workers=1)
    pool_sec, pool_rows = best("2 workers", workers=2)
    distributed = __import__("distributed")
    t, c = time.perf_counter(), cpu_sec()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    start_sec = time.perf_counter() - t
    try:
        run_sec, dask_rows = best("Dask cluster", scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
        time.sleep(1.0)  # let the worker processes exit so their CPU time is counted
    cpu["Dask cluster"] = cpu_sec() - c
    dask_sec = start_sec + run_sec
    errors = sum(1 for r in serial_rows if r["error"])
    table = Table(title=f"Corpus analysis of groove_midi ({n} files, {errors} error rows)")
    cols = ("run", "wall s", "files/s", "speed-up vs 1 worker", "CPU s", "CPU overhead ms/file")
    for col in cols:
        table.add_column(col, justify="left" if col == "run" else "right")
    per_file_ms = 1e3 * serial_sec / n
    base_cpu = cpu["1 worker"]
    table.add_row(
        "1 worker (baseline)",
        f"{serial_sec:.2f}",
        f"{n / serial_sec:.0f}",
        "1.00",
        f"{base_cpu:.1f}",
        "-",
    )
    for label, key, sec in (
        ("2 workers (process pool)", "2 workers", pool_sec),
        (f"Dask LocalCluster, 2 workers (start {start_sec:.1f} s)", "Dask cluster", dask_sec),
    ):
        overhead = 1e3 * (cpu[key] - base_cpu) / n
        table.add_row(
            label,
            f"{sec:.2f}",
            f"{n / sec:.0f}",
            f"{serial_sec / sec:.2f}",
            f"{cpu[key]:.1f}",
            f"{overhead:.2f}",
        )
    console.print(table)
    same = _same(serial_rows, pool_rows) and _same(serial_rows, dask_rows)
    console.print(
        f"serial work per file: {per_file_ms:.2f} ms; "
        f"Dask cluster without its start-up: {run_sec:.2f} s "
        f"({serial_sec / run_sec:.2f}x). "
        f"Same rows in every run: {same}",
        highlight=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
