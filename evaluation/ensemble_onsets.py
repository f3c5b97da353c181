"""Pairwise asynchrony between the players of real ensembles (onsetsync's definition).

For every piece of the IEMP ensemble onsets in ``../shared/data/ensemble_onsets`` (Cuban
son and salsa, Asere, a guitar + tabla duo) and every pair of instruments A, B, prints
the number of grid slots where both played (N), the mean signed asynchrony A - B, its
SD (onsetsync's "pairwise asynchronization") and the mean absolute asynchrony, all in ms.

The figures come from cymbalism's own reader and sync statistics
(:func:`cymbalism.io.tables.read_wide`, :func:`cymbalism.corpus.figures.pair_figures`).
The script checks every pair against a direct computation from the CSV text with the
``csv`` module (the row-wise difference of two columns where both are filled), and exits
with an error if any figure differs by more than 1e-9 ms.

For every pair it also fits the linear phase-correction model by bGLS
(:func:`cymbalism.analysis.coupling.fit_phase_correction`): A's correction gain toward B
and B's toward A, over each player's successive onsets measured against the
isochronous grid (``Isochronous.SD.Time``), where the partner played at the same slot;
the player who adapts less leads. Pairs with too few shared slots get no gains.

Usage::

    .venv/bin/python evaluation/ensemble_onsets.py [--data DIR] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cymbalism.corpus.figures import all_pairs, pair_figures
from cymbalism.io.tables import read_wide

REPO = Path(__file__).resolve().parents[1]
#: ``../shared/data`` beside the repository (or beside the folder that holds the checkout).
DATA = next(
    (b / "shared" / "data" for b in REPO.parents if (b / "shared" / "data").is_dir()),
    REPO.parent / "shared" / "data",
)


def direct_figures(path: Path, a: str, b: str) -> tuple[int, float, float, float]:
    """N, mean, SD (n - 1) and mean |A - B| in ms, straight from the CSV text."""
    diffs = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            x, y = row[a].strip(), row[b].strip()
            if x and y and x.upper() != "NA" and y.upper() != "NA":
                diffs.append((float(x) - float(y)) * 1000.0)
    n = len(diffs)
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    sd = statistics.stdev(diffs) if n > 1 else math.nan
    return n, statistics.fmean(diffs), sd, statistics.fmean(abs(d) for d in diffs)


def evaluate(data: Path) -> list[dict]:
    """The figures of every pair of every piece, checked against the direct computation."""
    folder = data / "ensemble_onsets"
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no onset tables in {folder} (give --data DIR)")
    rows = []
    for path in files:
        table = read_wide(path)
        for a, b in all_pairs(table):
            fig = pair_figures(table, a, b)
            n, mean, sd, mean_abs = direct_figures(path, a, b)
            ours = [fig["mean_ms"], fig["sd_ms"], fig["mean_abs_ms"]]
            for got, want in zip(ours, (mean, sd, mean_abs), strict=True):
                same = (got is None and math.isnan(want)) or (
                    got is not None and abs(got - round(want, 3)) <= 1e-9
                )
                if fig["n"] != n or not same:
                    raise SystemExit(
                        f"{path.name} {a}-{b}: {fig} differs from the CSV: {n, mean, sd}"
                    )
            rows.append({"piece": path.stem, **fig})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    rows = evaluate(args.data)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    console = Console()
    table = Table(title="Pairwise asynchrony A - B (onsetsync), ms")
    for col in ("piece", "A", "B", "N", "mean", "SD", "mean |A-B|", "A->B", "B->A", "leads"):
        table.add_column(col, justify="left" if col in {"piece", "A", "B"} else "right")

    def fmt(v: float | None, spec: str = ".1f") -> str:
        return "-" if v is None else format(v, spec)

    for r in rows:
        table.add_row(
            r["piece"], r["a"], r["b"], str(r["n"]), fmt(r["mean_ms"]), fmt(r["sd_ms"]),
            fmt(r["mean_abs_ms"]), fmt(r["alpha_ab"], ".2f"), fmt(r["alpha_ba"], ".2f"),
            r["bgls_leader"] or ("?" if r["bgls_problems"] else "-"),
        )  # fmt: skip
    console.print(table)
    summary = Table(title="Per piece: pairs, and the median over pairs")
    for col in ("piece", "pairs", "slots with both (sum N)", "median SD", "median mean |A-B|"):
        summary.add_column(col, justify="left" if col == "piece" else "right")
    for piece in dict.fromkeys(r["piece"] for r in rows):
        mine = [r for r in rows if r["piece"] == piece and r["n"] > 1]
        summary.add_row(
            piece,
            str(len(mine)),
            str(sum(r["n"] for r in mine)),
            fmt(statistics.median(r["sd_ms"] for r in mine)),
            fmt(statistics.median(r["mean_abs_ms"] for r in mine)),
        )
    console.print(summary)
    console.print(f"{len(rows)} pairs; every figure equals a direct computation from the CSV text.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
