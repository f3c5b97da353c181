"""Keys - drums asynchrony of real jazz duos playing over an artificial network delay.

Data: ``../shared/data/jazz_duos`` (Cheston, Cross & Harrison, Music Perception 2024):
for each trial, block and condition, the pianist's and the drummer's quarter-note beat
onsets as two MIDI files on one timeline, with a network delay (LAT, ms) and a jitter
scale (JIT) added between the players.

For every performance the script reads both files' note onsets (every note, whatever its
channel or number: the files hold beats, not drum lanes), keeps the 7-101 s of the
original analysis, matches the keys' beats to the drums' beats one to one within
±250 ms (half a beat at 120 BPM) with :func:`cymbalism.analysis.sync.asynchrony_unaligned`
and summarises the asynchrony keys - drums with
:func:`cymbalism.analysis.sync.sync_stats`. It then prints, per delay (and per delay and
jitter), the mean and median over performances of the SD of the asynchrony, and tests
whether that SD grows with the delay (Spearman's rank correlation over performances).

It also fits the linear phase-correction model by bGLS
(:func:`cymbalism.analysis.coupling.fit_phase_correction`) to the same matched beats:
how strongly the pianist corrects toward the drummer (keys -> drums) and the drummer
toward the pianist (drums -> keys), per performance, then per delay, with Spearman's
rho of each gain against the delay. The files hold what each musician played on one
clock; each heard the other ``LAT`` ms late (plus jitter). A constant delay only shifts
the mean asynchrony, which the model absorbs, so the gains are the gains toward the
partner as heard, up to the jitter.

Usage::

    .venv/bin/python evaluation/jazz_duos.py [--data DIR] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.stats
from rich.console import Console
from rich.table import Table

from cymbalism.analysis.coupling import fit_phase_correction, lead_lag, onset_table_from_onsets
from cymbalism.analysis.sync import asynchrony_unaligned, sync_stats
from cymbalism.io.midi import read_note_onsets
from cymbalism.model.hits import Hits

REPO = Path(__file__).resolve().parents[1]
#: ``../shared/data`` beside the repository (or beside the folder that holds the checkout).
DATA = next(
    (b / "shared" / "data" for b in REPO.parents if (b / "shared" / "data").is_dir()),
    REPO.parent / "shared" / "data",
)
#: The span of the original analysis, after the 8 s count-in.
START_SEC, END_SEC = 7.0, 101.0
#: Largest |keys - drums| of a matched pair of beats: half a beat at 120 BPM.
PAIR_WINDOW_SEC = 0.25
_NAME = re.compile(r"Condition (\d+) - (\d+) (\d+) - Drums-glued\.mid$")


def beats(path: Path) -> Hits:
    """The note onsets of one file within the analysed span, as lane-less hits."""
    onset = np.unique(read_note_onsets(path).onset_sec)
    onset = onset[(onset >= START_SEC) & (onset <= END_SEC)]
    return Hits.from_arrays(onset, 0)


def evaluate(data: Path) -> list[dict]:
    """One row per performance: trial, block, condition, delay, jitter and the figures."""
    folder = data / "jazz_duos"
    rows = []
    for drums in sorted(folder.glob("trial_*/block_*/*Drums-glued.mid")):
        m = _NAME.search(drums.name)
        keys = drums.with_name(drums.name.replace("Drums-glued", "Keys-glued"))
        if m is None or not keys.exists():
            continue
        k, d = beats(keys), beats(drums)
        asy = asynchrony_unaligned(k, d, window_sec=PAIR_WINDOW_SEC, lane_blind=True)
        st = sync_stats(asy)
        table = onset_table_from_onsets(
            {"keys": k.onset_sec, "drums": d.onset_sec}, window_sec=PAIR_WINDOW_SEC, merge_sec=0.0
        )
        fit = fit_phase_correction(table)
        rows.append(
            {
                "trial": drums.parts[-3],
                "block": drums.parts[-2],
                "condition": int(m[1]),
                "latency_ms": int(m[2]),
                "jitter": int(m[3]) / 10,
                "keys_beats": len(k),
                "drums_beats": len(d),
                "n": st.n,
                "mean_ms": st.mean_sec * 1e3,
                "sd_ms": st.sd_sec * 1e3,
                "mean_abs_ms": st.mean_abs_sec * 1e3,
                "alpha_keys_drums": fit.gain("keys", "drums"),
                "alpha_drums_keys": fit.gain("drums", "keys"),
                "bgls_problems": fit.problems("keys", "drums"),
                "leader": None if fit.problems("keys", "drums") else fit.leader("keys", "drums"),
                "lead_lag_leader": lead_lag(table, "keys", "drums").xcorr_leader,
            }
        )
    if not rows:
        raise SystemExit(f"no duo performances in {folder} (give --data DIR)")
    return rows


def _nanmean(values) -> float:  # type: ignore[no-untyped-def]
    finite = [v for v in values if v == v]
    return statistics.fmean(finite) if finite else float("nan")


def by_latency(rows: list[dict], keys: tuple[str, ...] = ("latency_ms",)) -> list[dict]:
    """Mean and median over performances of each group's figures."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in keys)].append(r)
    out = []
    for key in sorted(groups):
        g = groups[key]
        sds = [r["sd_ms"] for r in g]
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                "performances": len(g),
                "mean_sd_ms": statistics.fmean(sds),
                "median_sd_ms": statistics.median(sds),
                "mean_asynchrony_ms": statistics.fmean(r["mean_ms"] for r in g),
                "matched_share": sum(r["n"] for r in g)
                / sum(max(r["keys_beats"], r["drums_beats"]) for r in g),
                "mean_alpha_keys_drums": _nanmean(r["alpha_keys_drums"] for r in g),
                "mean_alpha_drums_keys": _nanmean(r["alpha_drums_keys"] for r in g),
                "readable": sum(not r["bgls_problems"] for r in g),
                "drums_lead": sum(r["leader"] == "drums" for r in g),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    rows = evaluate(args.data)
    lat = by_latency(rows)
    lat_jit = by_latency(rows, ("latency_ms", "jitter"))
    rho, p = scipy.stats.spearmanr([r["latency_ms"] for r in rows], [r["sd_ms"] for r in rows])
    means = [g["mean_sd_ms"] for g in lat]
    grows = all(b > a for a, b in itertools.pairwise(means))
    coupling = {}
    for col in ("alpha_keys_drums", "alpha_drums_keys"):
        ok = [r for r in rows if r[col] == r[col]]
        c_rho, c_p = scipy.stats.spearmanr([r["latency_ms"] for r in ok], [r[col] for r in ok])
        coupling[col] = {"spearman_rho": c_rho, "spearman_p": c_p, "n": len(ok)}
    if args.json:
        print(json.dumps({"by_latency": lat, "by_latency_jitter": lat_jit,
                          "spearman_rho": rho, "spearman_p": p, "sd_grows": grows,
                          "coupling_vs_latency": coupling,
                          "performances": rows}, indent=1))  # fmt: skip
        return 0
    console = Console()
    for title, groups, cols in (
        ("Keys - drums asynchrony by network delay (7-101 s)", lat, ("latency_ms",)),
        ("... by delay and jitter", lat_jit, ("latency_ms", "jitter")),
    ):
        table = Table(title=title)
        heads = [*cols, "performances", "mean SD ms", "median SD ms", "mean asy ms", "matched"]
        for h in heads:
            table.add_column(h.replace("_ms", " ms"), justify="right")
        for g in groups:
            table.add_row(
                *[f"{g[c]:g}" for c in cols],
                str(g["performances"]),
                f"{g['mean_sd_ms']:.1f}",
                f"{g['median_sd_ms']:.1f}",
                f"{g['mean_asynchrony_ms']:+.1f}",
                f"{100 * g['matched_share']:.1f}%",
            )
        console.print(table)
    table = Table(title="Phase correction by bGLS (gain toward the partner), by network delay")
    heads = (
        "latency ms",
        "performances",
        "keys -> drums",
        "drums -> keys",
        "readable",
        "drums lead",
    )
    for h in heads:
        table.add_column(h, justify="right")
    for g in lat:
        table.add_row(
            f"{g['latency_ms']:g}",
            str(g["performances"]),
            f"{g['mean_alpha_keys_drums']:.3f}",
            f"{g['mean_alpha_drums_keys']:.3f}",
            f"{g['readable']}/{g['performances']}",
            f"{g['drums_lead']}/{g['readable']}",
        )
    console.print(table)
    labels = {"alpha_keys_drums": "keys -> drums", "alpha_drums_keys": "drums -> keys"}
    for col, label in labels.items():
        c = coupling[col]
        console.print(
            f"Spearman's rho (delay, {label} gain) = {c['spearman_rho']:.3f}, "
            f"p = {c['spearman_p']:.2g} (n = {c['n']})",
            highlight=False,
        )
    console.print(
        f"{len(rows)} performances. Spearman's rho (delay, SD) = {rho:.3f}, p = {p:.2g}. "
        f"The mean SD {'grows' if grows else 'does NOT grow'} at every step of the delay.",
        highlight=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
