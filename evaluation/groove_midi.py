"""Evaluate cymbalism on the Groove MIDI Dataset (Gillick et al., ICML 2019, CC BY 4.0).

Ten professional drummers played a Roland TD-11 to a click; each file's tempo event is
the click, and ``info.csv`` gives its tempo (``bpm``) and whether the take is a groove
(``beat``) or a short ``fill``.

1. **Tempo from hits alone.** :func:`cymbalism.analysis.tempo.tempo_estimate` sees only
   the hits (onset times, velocities and drums), never the tempo event. Scored as in the
   MIREX tempo task: Acc1 = share within 4% of ``bpm``; Acc2 = share within 4% of
   ``bpm`` times 1, 2, 1/2, 3 or 1/3 (the right tempo at another metrical level).
   Shown for beats and fills, per split of ``info.csv`` (train, validation and, where
   present, test), beside two earlier methods measured in the same run: the previous
   drum-aware model (its weights over the first eight level features, among the same
   candidates) and the first method, the pulse salience
   (:func:`~cymbalism.analysis.tempo.tempo_salience`, velocities only) times a
   one-octave log-normal prior around 120 BPM. The model's constants are chosen on the
   train split only: ``--fit`` fits them there and prints them, with the Acc1 of leaving
   one drummer out at a time (for the current features and the previous model's).
   A take of 16 beats or fewer then has its tempo refined on the grid its hits fall on
   (:func:`~cymbalism.analysis.tempo.refine_on_grid`); the table shows Acc1 before that
   step too; the refined tempo of a take of 6 beats or fewer is then taken 1% slower, as
   drummers play a fill ahead of the click. ``--choose-refinement`` shows how these
   settings were chosen, on the train split only.
2. **Tempo curve and drift.** Every take was played to a steady click, so the local
   tempo of a groove should stay on the click and its drift should be near 0. Checked
   on the beats of 30 s or more whose estimate is right at some metrical level: the
   local tempo's error, and the share of windows the curve calls unsure (NaN).
3. **Microtiming against the click.** Each hit is matched (one to one, within 75 ms) to
   the nearest line of the click's grid: 16ths or 8th-note triplets
   (:func:`cymbalism.analysis.align.grid_targets` and ``align``). The error is played -
   grid (positive = late); the mean and SD per drummer and lane are pooled over all of
   that drummer's files. Measured against the nearest line, an error can never exceed
   half the grid spacing, so the SD slightly understates very loose playing.

Usage::

    .venv/bin/python evaluation/groove_midi.py [--data DIR] [--limit N] [--json OUT]
        [--fit | --choose-refinement]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table
from scipy.optimize import minimize

from cymbalism.analysis import tempo as tempo_model
from cymbalism.analysis.align import align, grid_targets
from cymbalism.analysis.tempo import (
    LEVEL_FEATURES,
    MetricalLevels,
    metrical_levels,
    tempo_curve,
    tempo_estimate,
    tempo_salience,
)
from cymbalism.analysis.windows import moments
from cymbalism.errors import InputError
from cymbalism.io.midi import read_midi
from cymbalism.model.lanes import Lane

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TOLERANCE = 0.04
METRICAL_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
WINDOW_SEC = 0.075
#: Beats at least this long get a tempo curve check (a few 12 s windows).
MIN_CURVE_SEC = 30.0
SPLITS = ("train", "validation", "test")
#: Strength of the L2 penalty when fitting the level weights (on standardised features).
FIT_L2 = 1.0
#: Confidence bins of the calibration table.
CONFIDENCE_BINS = (0.0, 0.5, 0.8, 1.0)

console = Console(width=max(Console().width, 120))


def tempo_scores(estimated: float, reference: float) -> tuple[bool, bool]:
    """(Acc1, Acc2) of one estimate: within 4%, and within 4% at a related metrical level."""
    acc1 = abs(estimated - reference) <= TOLERANCE * reference
    acc2 = any(
        abs(estimated - f * reference) <= TOLERANCE * f * reference for f in METRICAL_FACTORS
    )
    return acc1, acc2


def first_method(onset_sec: np.ndarray, weight: np.ndarray) -> float:
    """The first estimator cymbalism used, before drums were listened to: the pulse salience
    times a one-octave log-normal prior around 120 BPM, its peak refined by a parabola."""
    bpm, salience = tempo_salience(onset_sec, weight=weight)
    score = salience * np.exp(-0.5 * np.log2(bpm / 120.0) ** 2)
    return tempo_model._refine(bpm, score, int(np.argmax(score)))


#: The drum-aware model before the lanes' patterns were added (fitted on the train split
#: in the same way): its prior and its weights over the first eight level features.
PREVIOUS_PRIOR = (108.3, 0.385)
PREVIOUS_WEIGHTS = np.array([3.288, 1.307, 0.543, 3.923, 1.765, 0.832, -0.289, 2.567])


def previous_model(levels: MetricalLevels) -> float:
    """The level the previous drum-aware model chose among the same candidates: backbeat,
    kick on 1 and 3, subdivision grids, density and a bar's span, without the accented
    backbeat, the hi-hat pedal, the cymbals' subdivision or the lanes' periodicity."""
    centre, octaves = PREVIOUS_PRIOR
    prior = -0.5 * (np.log2(levels.bpm / centre) / octaves) ** 2
    score = levels.features[:, : PREVIOUS_WEIGHTS.size] @ PREVIOUS_WEIGHTS + prior
    return float(levels.bpm[int(np.argmax(score))])


def _rows(data: Path, limit: int | None) -> list[dict[str, str]]:
    info = data / "groove_midi" / "info.csv"
    if not info.is_file():
        sys.exit(f"no Groove MIDI Dataset at {info.parent} (use --data DIR)")
    with info.open(newline="") as fh:
        return list(csv.DictReader(fh))[:limit]


def evaluate(data: Path, limit: int | None) -> dict:
    tempo_rows = []
    curves: list[dict] = []
    errors: dict[str, dict[int, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    for row in track(_rows(data, limit), description="groove_midi", console=console):
        perf = read_midi(data / "groove_midi" / row["midi_filename"])
        hits = perf.hits
        reference = float(row["bpm"])
        weight = hits.velocity.astype(np.float64)
        try:
            first = first_method(hits.onset_sec, weight)
            old = previous_model(metrical_levels(hits.onset_sec, weight=weight, lane=hits.lane))
            est = tempo_estimate(hits.onset_sec, weight=weight, lane=hits.lane, refine=False)
            coarse, confidence = est.bpm, est.confidence
            bpm = tempo_model._short_take_tempo(hits.onset_sec, weight, coarse)  # as by default
        except InputError:  # fewer than four hits: the estimate is missing, scored wrong
            first = old = bpm = confidence = coarse = float("nan")
        acc1, acc2 = tempo_scores(bpm, reference)
        old1, old2 = tempo_scores(old, reference)
        first1, first2 = tempo_scores(first, reference)
        tempo_rows.append(
            {
                "file": row["midi_filename"],
                "kind": row["beat_type"],
                "split": row["split"],
                "bpm": reference,
                "estimate": bpm,
                "confidence": confidence,
                "acc1": acc1,
                "acc2": acc2,
                "unrefined_acc1": tempo_scores(coarse, reference)[0],
                "previous": old,
                "previous_acc1": old1,
                "previous_acc2": old2,
                "first": first,
                "first_acc1": first1,
                "first_acc2": first2,
            }
        )
        if row["beat_type"] == "beat" and acc2 and hits.duration_sec >= MIN_CURVE_SEC:
            curves.append(_curve_check(hits, bpm, reference))
        alignment = align(hits, grid_targets(hits, perf.tempo_map), window_sec=WINDOW_SEC)
        for lane in np.unique(alignment.targets.lane).tolist():
            sel = alignment.targets.lane == lane
            errors[row["drummer"]][lane].append(alignment.error_sec[sel])
    return {"tempo": tempo_rows, "curve": curves, "microtiming": _pool(errors)}


def _curve_check(hits, bpm: float, reference: float) -> dict:
    """The local tempo of a take played to a steady click, against that click.

    The curve is followed at the metrical level the estimate chose and scaled back to
    the click's level, so it measures how steady the curve is, not the octave choice.
    """
    level = min(METRICAL_FACTORS, key=lambda f: abs(bpm - f * reference))
    weight = hits.velocity.astype(np.float64)
    curve = tempo_curve(hits.onset_sec, weight=weight, reference_bpm=bpm)
    sure = np.isfinite(curve.bpm)
    local = curve.bpm[sure] / level
    return {
        "abs_error_pct": (np.abs(local - reference) / reference * 100).tolist(),
        "unsure": int((~sure).sum()),
        "windows": int(sure.size),
        "drift_bpm_per_min": curve.drift_bpm_per_min / level,
    }


def _level_takes(data: Path, limit: int | None) -> list[dict]:
    """Each train take's candidate levels: features plus the prior's terms, which are right
    (within 4% of the click), and its drummer and kind."""
    takes = []
    for row in track(_rows(data, limit), description="features (train)", console=console):
        if row["split"] != "train":
            continue
        hits = read_midi(data / "groove_midi" / row["midi_filename"]).hits
        try:
            levels = metrical_levels(
                hits.onset_sec, weight=hits.velocity.astype(np.float64), lane=hits.lane
            )
        except InputError:
            continue
        octave = np.log2(levels.bpm / 120.0)
        takes.append(
            {
                "x": np.column_stack([levels.features, octave, octave**2]),
                "right": np.abs(levels.bpm - float(row["bpm"])) <= TOLERANCE * float(row["bpm"]),
                "drummer": row["drummer"],
                "kind": row["beat_type"],
            }
        )
    return takes


def _fit_softmax(takes: list[dict]) -> np.ndarray:
    """Weights of the softmax over each take's candidates (the right ones as one outcome),
    L2 penalty :data:`FIT_L2` on standardised features, L-BFGS. Takes with no right
    candidate carry no information and are left out."""
    used = [t for t in takes if t["right"].any()]
    every = np.vstack([t["x"] for t in used])
    mean, sd = every.mean(0), every.std(0) + 1e-12
    scaled = [((t["x"] - mean) / sd, t["right"]) for t in used]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = FIT_L2 * float(w @ w), 2 * FIT_L2 * w
        for x, right in scaled:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            p_right = p[right].sum()
            total -= np.log(p_right)
            grad -= (np.where(right, p, 0.0) / p_right - p) @ x
        return total, grad

    return minimize(loss, np.zeros(every.shape[1]), jac=True, method="L-BFGS-B").x / sd


def fit_level_weights(data: Path, limit: int | None) -> dict[str, object]:
    """Fit the level model's prior and weights on the train split (both kinds of take),
    and measure it there by leaving one drummer out at a time.

    The cross-validated Acc1 (each drummer's takes chosen by a model fitted on the other
    drummers' takes) is the figure any change to the model is judged by, so that the
    validation split stays unseen.
    """
    takes = _level_takes(data, limit)
    w = _fit_softmax(takes)
    a, b = w[-2], w[-1]  # a log2(bpm / 120) + b log2(bpm / 120) ** 2, b < 0
    # the previous model's family: its eight features and the prior
    previous = np.r_[: PREVIOUS_WEIGHTS.size, -2, -1]
    return {
        "takes": sum(bool(t["right"].any()) for t in takes),
        "prior_bpm": float(120.0 * 2.0 ** (-a / (2 * b))),
        "prior_octaves": float(np.sqrt(-1.0 / (2 * b))),
        "weights": dict(zip(LEVEL_FEATURES, w[:-2].tolist(), strict=True)),
        "leave_one_drummer_out_acc1": _leave_one_drummer_out(takes),
        "leave_one_drummer_out_acc1_previous_features": _leave_one_drummer_out(
            [{**t, "x": t["x"][:, previous]} for t in takes]
        ),
    }


def _leave_one_drummer_out(takes: list[dict]) -> dict[str, float]:
    """Acc1 per kind of take, each drummer's takes chosen by a model fitted on the others'
    (nothing with fewer than two drummers)."""
    right: dict[str, list[bool]] = {"beat": [], "fill": []}
    drummers = sorted({t["drummer"] for t in takes})
    for drummer in drummers if len(drummers) > 1 else []:
        w = _fit_softmax([t for t in takes if t["drummer"] != drummer])
        for t in takes:
            if t["drummer"] == drummer:
                right[t["kind"]].append(bool(t["right"][int(np.argmax(t["x"] @ w))]))
    return {kind: float(np.mean(ok)) for kind, ok in right.items() if ok}


#: The settings of :func:`~cymbalism.analysis.tempo.refine_on_grid` tried by
#: ``--choose-refinement``: span and width (log ratio), and the beat divisions.
REFINE_SPANS = (0.04, 0.06, 0.08)
REFINE_WIDTHS = (0.04, 0.06, float("inf"))
REFINE_DIVISIONS = ((4,), (4, 3), (4, 3, 6))
#: How far ahead of its click a fill may be played, tried by ``--choose-refinement`` with
#: the grid's settings chosen: the refined tempo of a take of at most so many beats is
#: multiplied by the factor. The span in use is the longest whose takes run ahead (the
#: span table: over 0.5% fast at the median), as Acc1 ties over these spans.
REFINE_AHEAD = tuple(np.round(np.arange(0.98, 1.0001, 0.0025), 4).tolist())
AHEAD_LIMITS = (4.0, 6.0, 8.0, 10.0, 16.0)
#: The spans (beats) over which ``--choose-refinement`` shows how far ahead takes run.
AHEAD_SPANS = ((0, 2.5), (2.5, 4), (4, 6), (6, 10), (10, 16), (16, 32), (32, np.inf))


def choose_refinement(data: Path, limit: int | None) -> tuple[Table, Table, Table]:
    """How the short-take refinement's settings were chosen: Acc1 on the train split only
    (beats and fills of 16 beats or fewer refined, as ``tempo_estimate`` does), for each
    setting of the grid, best first, with the tempo taken as the grid's; then, with the
    grid's settings in use, how far ahead of the click takes of each span run, and Acc1 for
    each allowance for a fill played ahead of its click. The validation split is not
    read."""
    takes = []
    for row in track(_rows(data, limit), description="train takes", console=console):
        if row["split"] != "train":
            continue
        hits = read_midi(data / "groove_midi" / row["midi_filename"]).hits
        weight = hits.velocity.astype(np.float64)
        try:
            coarse = tempo_estimate(hits.onset_sec, weight=weight, lane=hits.lane, refine=False)
        except InputError:
            coarse = None
        takes.append((row, hits.onset_sec, weight, None if coarse is None else coarse.bpm))
    scored = []
    for span, width, divisions in itertools.product(REFINE_SPANS, REFINE_WIDTHS, REFINE_DIVISIONS):
        right: dict[str, list[bool]] = {"beat": [], "fill": []}
        for row, onset, weight, bpm in takes:
            if bpm is not None:
                bpm = tempo_model._short_take_tempo(
                    onset, weight, bpm, span, width, divisions, ahead=1.0
                )
            right[row["beat_type"]].append(
                bpm is not None and tempo_scores(bpm, float(row["bpm"]))[0]
            )
        scored.append((span, width, divisions, right))
    unrefined: dict[str, list[bool]] = {"beat": [], "fill": []}
    for row, _, _, bpm in takes:
        unrefined[row["beat_type"]].append(
            bpm is not None and tempo_scores(bpm, float(row["bpm"]))[0]
        )
    scored.sort(key=lambda s: -sum(map(sum, s[3].values())))
    table = Table(title="Refining short takes on their grid: Acc1 on the train split, best first")
    for col in ("span", "width", "divisions", "beats Acc1", "fills Acc1", "right"):
        table.add_column(col, justify="right")
    table.add_row("unrefined", "", "", _pct(unrefined["beat"]), _pct(unrefined["fill"]),
                  str(sum(map(sum, unrefined.values()))), style="dim")  # fmt: skip
    for span, width, divisions, right in scored:
        table.add_row(
            f"{span:.2f}", f"{width:.2f}", ",".join(map(str, divisions)),
            _pct(right["beat"]), _pct(right["fill"]), str(sum(map(sum, right.values()))),
        )  # fmt: skip
    # how far ahead of the click the grid of a take at the right level runs, by its span
    fast: dict[str, list[float]] = defaultdict(list)
    for row, onset, weight, bpm in takes:
        if bpm is None:
            continue
        grid = tempo_model._short_take_tempo(onset, weight, bpm, ahead=1.0)
        octave = np.log2(grid / float(row["bpm"]))
        if abs(octave - np.round(octave)) < 0.1:
            beats = (onset[-1] - onset[0]) * grid / 60.0
            label = next(f"{lo:g}-{hi:g}" for lo, hi in AHEAD_SPANS if beats < hi)
            fast[label].append((2.0 ** (octave - np.round(octave)) - 1.0) * 100)
    spans = Table(
        title="How far ahead of the click a take at the right level is played: the tempo of "
        "its grid against the click, by its span (train split)"
    )
    for col in ("span (beats)", "takes", "median % fast", "IQR"):
        spans.add_column(col, justify="right")
    for lo, hi in AHEAD_SPANS:
        x = np.array(fast.get(f"{lo:g}-{hi:g}", [np.nan]))
        q1, q2, q3 = np.percentile(x, [25, 50, 75])
        spans.add_row(f"{lo:g}-{hi:g}", str(np.isfinite(x).sum()), f"{q2:+.2f}",
                      f"{q1:+.2f} to {q3:+.2f}")  # fmt: skip
    ahead = Table(
        title="A fill played ahead of its click: Acc1 on the train split, by the factor "
        "the refined tempo of a take of at most so many beats is multiplied by, best first"
    )
    for col in ("at most (beats)", "factor", "beats Acc1", "fills Acc1", "right"):
        ahead.add_column(col, justify="right")
    tried = []
    for most, factor in itertools.product(AHEAD_LIMITS, REFINE_AHEAD):
        right = {"beat": [], "fill": []}
        for row, onset, weight, bpm in takes:
            if bpm is not None:
                bpm = tempo_model._short_take_tempo(
                    onset, weight, bpm, ahead=factor, ahead_beats=most
                )
            right[row["beat_type"]].append(
                bpm is not None and tempo_scores(bpm, float(row["bpm"]))[0]
            )
        tried.append((most, factor, right))
    tried.sort(key=lambda s: -sum(map(sum, s[2].values())))
    for most, factor, right in tried[:12]:
        in_use = (most, factor) == (
            tempo_model._AHEAD_MAX_BEATS, tempo_model._SHORT_TAKE_AHEAD
        )  # fmt: skip
        ahead.add_row(
            f"{most:g}", f"{factor:.4f}{' (in use)' if in_use else ''}",
            _pct(right["beat"]), _pct(right["fill"]), str(sum(map(sum, right.values()))),
        )  # fmt: skip
    return table, spans, ahead


def _pool(errors: dict[str, dict[int, list[np.ndarray]]]) -> dict:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for drummer in sorted(errors, key=lambda d: int(d.removeprefix("drummer") or 0)):
        per_lane = {}
        everything = []
        for lane in sorted(errors[drummer]):
            err = np.concatenate(errors[drummer][lane])
            everything.append(err)
            m = moments(err)
            per_lane[Lane(lane).short] = {"n": m.n, "mean_ms": m.mean * 1e3, "sd_ms": m.sd * 1e3}
        m = moments(np.concatenate(everything))
        per_lane["all"] = {"n": m.n, "mean_ms": m.mean * 1e3, "sd_ms": m.sd * 1e3}
        out[drummer] = per_lane
    return out


def _pct(values: list[bool]) -> str:
    return f"{np.mean(values) * 100:.1f}%"


def tempo_table(rows: list[dict]) -> Table:
    table = Table(
        title="Tempo from hits alone vs info.csv bpm (MIREX Acc1 / Acc2, 4%): the first "
        "method (salience x prior), the previous drum-aware model, the current one before "
        "short takes are refined on their grid, and the current one, same run"
    )
    columns = ["takes", "split", "files", "first Acc1", "first Acc2", "previous Acc1"]
    columns += ["previous Acc2", "unrefined Acc1", "Acc1", "Acc2"]
    for col in columns:
        table.add_column(col, justify="left" if col in {"takes", "split"} else "right")
    for kind in ("beat", "fill"):
        for split in SPLITS:
            sel = [r for r in rows if r["kind"] == kind and r["split"] == split]
            if not sel:
                continue
            table.add_row(
                kind,
                split,
                str(len(sel)),
                _pct([r["first_acc1"] for r in sel]),
                _pct([r["first_acc2"] for r in sel]),
                _pct([r["previous_acc1"] for r in sel]),
                _pct([r["previous_acc2"] for r in sel]),
                _pct([r["unrefined_acc1"] for r in sel]),
                _pct([r["acc1"] for r in sel]),
                _pct([r["acc2"] for r in sel]),
                style="bold" if split != "train" else "dim",
            )
    return table


def confidence_table(rows: list[dict]) -> Table:
    """Acc1 of the model by its confidence, on the takes it was not fitted on."""
    unseen = [r for r in rows if r["split"] != "train" and np.isfinite(r["confidence"])]
    table = Table(title="Acc1 by confidence (validation and test takes)")
    for col in ("confidence", "beats", "Acc1 (beats)", "fills", "Acc1 (fills)"):
        table.add_column(col, justify="left" if col == "confidence" else "right")
    for lo, hi in itertools.pairwise(CONFIDENCE_BINS):
        cells = [f"{lo:.1f}-{hi:.1f}"]
        for kind in ("beat", "fill"):
            sel = [
                r["acc1"]
                for r in unseen
                if r["kind"] == kind and lo <= r["confidence"] < hi + (hi == 1.0)
            ]
            cells += [str(len(sel)), _pct(sel) if sel else ""]
        table.add_row(*cells)
    return table


def microtiming_table(pooled: dict, key: str, title: str) -> Table:
    """One figure (``mean_ms`` or ``sd_ms``) per drummer and lane."""
    lanes = [lane.short for lane in Lane if any(lane.short in d for d in pooled.values())]
    table = Table(title=title)
    table.add_column("drummer")
    table.add_column("hits", justify="right")
    for col in ["all", *lanes]:
        table.add_column(col, justify="right")
    for drummer, per_lane in pooled.items():
        cells = []
        for col in ["all", *lanes]:
            s = per_lane.get(col)
            ok = s is not None and s["n"] > 1
            cells.append(
                f"{s[key]:+.1f}" if ok and key == "mean_ms" else f"{s[key]:.1f}" if ok else ""
            )
        table.add_row(drummer, f"{per_lane['all']['n']:,}", *cells)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N files")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "--fit", action="store_true", help="fit the tempo model on the train split and print it"
    )
    parser.add_argument(
        "--choose-refinement",
        action="store_true",
        help="show how the short-take refinement's settings were chosen (train split only)",
    )
    args = parser.parse_args(argv)

    if args.choose_refinement:
        for table in choose_refinement(args.data, args.limit):
            console.print(table)
        return
    if args.fit:
        fitted = fit_level_weights(args.data, args.limit)
        console.print_json(data=fitted)
        return
    results = evaluate(args.data, args.limit)
    console.print(tempo_table(results["tempo"]))
    console.print(confidence_table(results["tempo"]))
    wrong = [r for r in results["tempo"] if not r["acc2"]]
    fills = sum(r["kind"] == "fill" for r in wrong)
    console.print(
        f"{len(wrong)} of {len(results['tempo'])} estimates are wrong at every metrical "
        f"level; {fills} of them are fills (median fill: about one bar)."
    )
    pooled = results["microtiming"]
    console.print(
        microtiming_table(
            pooled, "mean_ms", "Microtiming against the click: mean error in ms (+ = late)"
        )
    )
    console.print(microtiming_table(pooled, "sd_ms", "Microtiming: SD of the error in ms"))
    curves = results["curve"]
    if curves:
        err = np.concatenate([c["abs_error_pct"] for c in curves])
        unsure = sum(c["unsure"] for c in curves)
        windows = sum(c["windows"] for c in curves)
        drift = np.abs([c["drift_bpm_per_min"] for c in curves])
        console.print(
            f"Tempo curve on {len(curves)} beats of 30 s or more, played to a steady click: "
            f"local tempo (12 s windows) within {np.median(err):.2f}% of the click (median; "
            f"95th percentile {np.percentile(err, 95):.2f}%, {err.size} sure windows; "
            f"{unsure} of {windows} windows unsure); |drift| {np.nanmedian(drift):.2f} "
            f"BPM/min (median; 95th percentile {np.nanpercentile(drift, 95):.2f})."
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
        console.print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
