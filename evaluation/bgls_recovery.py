"""How well bGLS and plain least squares recover known phase-correction gains.

Simulates duets of the linear phase-correction model
(:func:`cymbalism.simulate.ensemble.simulate_phase_correction`) with known gains
(A toward B 0.25, B toward A 0.10 by default), 200 notes each, timekeeper noise 10 ms
and a motor noise that varies, and fits every run with bGLS and with ordinary least
squares (:func:`cymbalism.analysis.coupling.fit_phase_correction`). Prints the mean
estimate (bias), the mean absolute error of each gain and the error 95% of the runs stay
within, the share of fits flagged as unreadable (:meth:`CouplingFit.problems`), and the
recovered noise.

``--groove`` instead dresses every simulated duet as a groove
(:func:`cymbalism.simulate.ensemble.groove_strokes`: 8ths and 16ths between the beats),
pairs the two players' strokes as a recording without a chart is paired, and fits the
gains on every paired stroke and on the strokes on the beat
(:func:`cymbalism.analysis.coupling.beat_events`), beside the beats alone; at a steady
tempo and for a duet slowing from 120 to 100 BPM.

This is synthetic ground truth, not real data: it checks the estimator, not the players.

Usage::

    .venv/bin/python evaluation/bgls_recovery.py [--runs 200] [--notes 200] [--groove]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from rich.console import Console
from rich.table import Table

from cymbalism.analysis.coupling import beat_events, fit_phase_correction, onset_table_from_onsets
from cymbalism.model.onsets import OnsetTable
from cymbalism.simulate.ensemble import groove_strokes, simulate_phase_correction


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="simulated duets per setting")
    parser.add_argument("--notes", type=int, default=200, help="notes per player")
    parser.add_argument("--gains", type=float, nargs=2, default=(0.25, 0.10))
    parser.add_argument("--groove", action="store_true", help="duets dressed as grooves")
    args = parser.parse_args(argv)
    truth = np.array(args.gains)
    if args.groove:
        Console().print(grooves(truth, runs=args.runs, notes=args.notes))
        return 0
    table = Table(
        title=f"Recovery of gains A->B = {truth[0]}, B->A = {truth[1]} "
        f"({args.runs} duets x {args.notes} notes, timekeeper 10 ms)"
    )
    for col in (
        "motor ms",
        "method",
        "A->B mean",
        "B->A mean",
        "mean |error|",
        "95% |error| within",
        "flagged",
        "sigma_T / sigma_M ms",
    ):
        table.add_column(col, justify="right")
    for motor_ms in (2.0, 5.0, 7.0, 10.0):
        runs = simulate_phase_correction(
            np.array([[0.0, truth[0]], [truth[1], 0.0]]),
            n_events=args.notes,
            sigma_t_sec=0.010,
            sigma_m_sec=motor_ms / 1e3,
            n_runs=args.runs,
            seed=int(motor_ms * 10),
        )
        for method in ("bgls", "ols"):
            gains, noise, flagged = [], [], 0
            for onset in runs.onset_sec:
                fit = fit_phase_correction(
                    OnsetTable.from_columns({"A": onset[:, 0], "B": onset[:, 1]}),
                    method=method,  # type: ignore[arg-type]
                )
                gains.append([fit.gain("A", "B"), fit.gain("B", "A")])
                noise.append([fit.sigma_t_sec.mean(), fit.sigma_m_sec.mean()])
                flagged += bool(fit.problems("A", "B"))
            g, nz = np.array(gains), 1e3 * np.array(noise).mean(axis=0)
            table.add_row(
                f"{motor_ms:g}",
                method,
                f"{g[:, 0].mean():.3f}",
                f"{g[:, 1].mean():.3f}",
                f"{np.abs(g - truth).mean():.3f}",
                f"{np.percentile(np.abs(g - truth), 95):.3f}",
                f"{flagged / len(runs.onset_sec):.0%}",
                f"{nz[0]:.1f} / {nz[1]:.1f}",
            )
    Console().print(table)
    return 0


def grooves(truth: np.ndarray, *, runs: int, notes: int) -> Table:
    """The gains of duets dressed as grooves, on every paired stroke and on the beat."""
    table = Table(
        title=f"Duets dressed as grooves, paired without a chart: gains A->B = {truth[0]}, "
        f"B->A = {truth[1]} ({runs} duets x {notes} beats, timekeeper 10 ms, motor 5 ms)"
    )
    for col in ("tempo", "read on", "events", "A->B mean", "B->A mean", "A->B SD", "B->A SD"):
        table.add_column(col, justify="right")
    gains = np.array([[0.0, truth[0]], [truth[1], 0.0]])
    for tempo in ("steady 120 BPM", "120 to 100 BPM"):
        click = None
        if tempo != "steady 120 BPM":
            beat = np.linspace(0.5, 0.6, notes)
            click = np.concatenate([[0.0], np.cumsum(beat[:-1])])
        sim = simulate_phase_correction(gains, n_events=notes, n_runs=runs, seed=7, click_sec=click)
        rng = np.random.default_rng(7)
        fits: dict[str, list[list[float]]] = {"the beats alone": [], "every stroke": []}
        fits["the strokes on the beat"] = []
        n_events: dict[str, list[int]] = {k: [] for k in fits}
        for onset in sim.onset_sec:
            beats = OnsetTable.from_columns({"A": onset[:, 0], "B": onset[:, 1]})
            strokes = {n: groove_strokes(beats.column(n), seed=rng) for n in ("A", "B")}
            paired = onset_table_from_onsets(strokes)
            for key, t in zip(fits, (beats, paired, beat_events(paired)), strict=True):
                fit = fit_phase_correction(t)
                fits[key].append([fit.gain("A", "B"), fit.gain("B", "A")])
                n_events[key].append(t.n_events)
        for key, g in fits.items():
            a = np.array(g)
            table.add_row(
                tempo,
                key,
                f"{np.mean(n_events[key]):.0f}",
                *(f"{v:.3f}" for v in np.nanmean(a, axis=0)),
                *(f"{v:.3f}" for v in np.nanstd(a, axis=0)),
            )
    return table


if __name__ == "__main__":
    sys.exit(main())
