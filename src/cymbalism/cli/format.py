"""How the terminal shows figures: milliseconds, percentages, clocks, sparklines, and the
tables of an analysis (``analyze``, ``demo`` and ``play`` print the same ones).

Clocks, whole milliseconds and sparklines are the report's own
(:mod:`cymbalism.report.format`), so the terminal and the report read alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cymbalism.analysis.summary import AnalysisReport, pair_together
from cymbalism.analysis.sync import TOGETHER_GAP_SEC, TOGETHER_SD_SEC, Asynchrony
from cymbalism.cli.common import console
from cymbalism.model.chart import Chart, Level
from cymbalism.model.lanes import Lane
from cymbalism.report.analysis import PartFit
from cymbalism.report.format import clock, counted, ms, sparkline

__all__ = [
    "clock",
    "counted",
    "finite",
    "ms",
    "number",
    "percent",
    "plain_ms",
    "print_pads_note",
    "print_report",
    "signed_ms",
    "sparkline",
    "tempo_sparkline",
    "window_hint",
]

#: The together threshold in whole ms, as the terminal says it.
_TOGETHER = f"{TOGETHER_SD_SEC * 1000:.0f} ms"
_GAP = f"{TOGETHER_GAP_SEC * 1000:.0f} ms"
#: The spread (ms) drawn as the highest bar of the spread chart.
_SPREAD_TOP_MS = 60.0


def print_pads_note(chart: Chart) -> None:
    """Tell the player how a game chart's pads read: made for four pads
    (:data:`~cymbalism.model.chart.PADS`) or a five-lane kit
    (:data:`~cymbalism.model.chart.FIVE_LANE`)."""
    if chart.four_pads:
        console.print(
            "[yellow]made for four pads (no pro-drums markers): yellow takes the hi-hat or "
            "the high tom, blue the ride or the mid tom, green the crash or the floor tom[/]",
            highlight=False,
        )
    elif chart.five_lane:
        console.print(
            "[yellow]read as a five-lane kit (a note on the fifth pad, or song.ini's "
            "five_lane_drums): yellow and orange are cymbals, blue and green toms[/]",
            highlight=False,
        )


def signed_ms(value: float | None, unit: str = "") -> str:
    """``4.2 late`` / ``1.0 early`` (ms), as a drummer says it."""
    if value is None:
        return "-"
    if abs(value) < 0.05:
        return "on time"
    return f"{abs(value):.1f}{unit} {'late' if value > 0 else 'early'}"


def plain_ms(value: float | None, unit: str = "") -> str:
    """A figure in ms to a tenth (``-`` for none)."""
    return "-" if value is None else f"{value:.1f}{unit}"


def percent(value: float | None) -> str:
    """A fraction as a percentage to a tenth (``0.953`` -> ``95.3%``)."""
    return "-" if value is None else f"{100 * value:.1f}%"


def number(value: object, spec: str = ".1f") -> str:
    """A figure with a format spec (``-`` for none)."""
    return "-" if value is None else format(value, spec)


def finite(value: float, digits: int | None = None) -> float | None:
    """The value (rounded to ``digits`` if given), or None if it is not finite."""
    if not math.isfinite(value):
        return None
    return float(value) if digits is None else round(float(value), digits)


def tempo_sparkline(bpm: np.ndarray) -> str:
    """The local tempo as one line of blocks, lowest to highest, with its range."""
    ok = np.isfinite(bpm)
    if not ok.any():
        return "(too few hits)"
    lo, hi = float(np.min(bpm[ok])), float(np.max(bpm[ok]))
    span = max(hi - lo, 1.0)  # a range under 1 BPM is drawn flat, not magnified
    return f"{sparkline(bpm, low=lo, high=lo + span)} ({lo:.1f}-{hi:.1f} BPM)"


def print_report(report: AnalysisReport) -> None:
    """The people's view of an analysis: one table per player, then the duet."""
    from rich.table import Table

    data = report.to_dict()
    against = "the chart" if report.judged_against == "chart" else "the click grid"
    title = f"{report.title} " if report.title else ""
    console.print(
        f"[bold]{title}[/]{round(data['tempo_bpm'], 1):g} BPM, judged against {against} "
        f"(window ±{data['window_ms']:g} ms)",
        highlight=False,
    )
    for player in data["players"]:
        table = Table(
            title=f"{player['name']}: {player['hits']} hits, {percent(player['hit_rate'])} "
            f"of {player['notes']} notes",
            title_justify="left",
        )
        for col in ("lane", "notes", "hit", "miss", "extra", "mean ms", "SD ms", "|error| ms"):
            table.add_column(col, justify="left" if col == "lane" else "right", no_wrap=True)
        rows = [(Lane[k.upper()].label, v) for k, v in player["lanes"].items()]
        rows.append(("[bold]all[/]", player))
        for label, v in rows:
            table.add_row(
                label,
                str(v["notes"]),
                percent(v["hit_rate"]),
                str(v["miss"]),
                str(v["extra"]),
                signed_ms(v["mean_error_ms"]),
                plain_ms(v["sd_error_ms"]),
                plain_ms(v["mean_abs_error_ms"]),
            )
        console.print(table)
    for pair in report.pairs:
        s = pair.to_dict()
        if s["n"] == 0:
            console.print(f"[bold]{pair.a} vs {pair.b}[/]: no shared notes to compare")
            continue
        mean = s["mean_ms"] or 0.0
        if abs(mean) < 0.05:  # prints as 0.0: neither ahead nor behind
            said = f"{pair.a} and {pair.b} play level on average"
        else:
            where = "ahead of" if mean < 0 else "behind"
            said = f"{pair.a} plays {abs(mean):.1f} ms {where} {pair.b} on average"
        console.print(
            f"[bold]{pair.a} - {pair.b}[/] at {s['n']} shared notes: {said}; spread (SD) "
            f"{plain_ms(s['sd_ms'], ' ms')}, typical gap {plain_ms(s['mean_abs_ms'], ' ms')}",
            highlight=False,
        )
        when = s["came_together_sec"]
        if when is None:
            stats = {p.name: p.stats for p in report.players}
            _, why = pair_together(
                pair.asynchrony, stats[pair.a], stats[pair.b], names=(pair.a, pair.b)
            )
            console.print(f"  {why}", highlight=False)
        else:
            console.print(
                f"  [green]came together at {clock(when, decimals=1)}[/]: from then on their "
                f"gap stayed within {_GAP}, its spread under {_TOGETHER} (SD), to the end",
                highlight=False,
            )
        _print_spread_over_time(pair.asynchrony, when)


def window_hint(report: AnalysisReport) -> str | None:
    """A hint to widen ``--window-ms`` when the matching window found nothing: a player
    who played but hit none of their notes, or two players who played but share none."""
    lost = [
        p.name
        for p in report.players
        if len(p.alignment.hits) and p.stats.n_notes and not p.stats.n_hit
    ]
    played = {p.name for p in report.players if len(p.alignment.hits)}
    apart = [f"{q.a} and {q.b}" for q in report.pairs if not q.stats.n and {q.a, q.b} <= played]
    return no_match_hint(lost, apart, report.window_sec)


def no_match_hint(lost: list[str], apart: list[str], window_sec: float) -> str | None:
    """``hint: ...`` when ``lost`` players matched no note or the ``apart`` pairs shared
    none within ``window_sec``; None otherwise."""
    if not lost and not apart:
        return None
    what = []
    if lost:
        what.append(f"no hit of {' or '.join(lost)} lies within it of a note")
    if apart:
        what.append(f"{' nor '.join(apart)} share no note within it")
    return (
        f"hint: the matching window is ±{window_sec * 1000:g} ms and {'; '.join(what)}. "
        "If a player was delayed (a network, a late recording), widen it with --window-ms."
    )


def _print_spread_over_time(asy: Asynchrony, came_sec: float | None) -> None:
    """A one-line chart of the spread of the asynchrony, every 10 s: green while they are
    together, red while they are not."""
    from cymbalism.analysis.sync import windowed_sync

    if len(asy) < 8:
        return
    w = windowed_sync(asy, window_sec=10.0, hop_sec=10.0)
    bars = sparkline(w.sd_sec * 1000, low=0.0, high=_SPREAD_TOP_MS)
    cells = []
    for t, mean, sd, bar in zip(w.time_sec, w.mean_sec, w.sd_sec, bars, strict=True):
        if not np.isfinite(sd):
            cells.append(" ")
            continue
        close = sd < TOGETHER_SD_SEC and abs(mean) < TOGETHER_GAP_SEC
        together = close or (came_sec is not None and t >= came_sec - 5)
        colour = "green" if together else "red"
        cells.append(f"[{colour}]{bar}[/]")
    console.print(f"  spread every 10 s (0-{_SPREAD_TOP_MS:.0f} ms): {''.join(cells)}")


def fitted_part_sentence(name: str, chosen: PartFit, full: PartFit) -> str:
    """What to say of a player judged against the part their hits fit best
    (:func:`~cymbalism.report.analysis.fitting_part`), not the full part."""
    return (
        f"{name} is judged against the {chosen.level.label} part, which their hits fit "
        f"best: {chosen.hit_rate:.0%} of its {chosen.n_notes} notes hit, where the "
        f"{full.level.label} part would have {full.hit_rate:.0%} of {full.n_notes} "
        "(--levels names the parts)."
    )


def two_kits_hint(spec: str, performance: object) -> str | None:
    """``hint: ...`` for one MIDI file read whole whose drums are two kits or more (a
    duet recorded into one file): each may be read as a player of its own."""
    from cymbalism.io.midi import MidiPerformance

    if not isinstance(performance, MidiPerformance) or performance.part is not None:
        return None
    whole_kits = performance.kits
    kits = [(k + 1, p) for k, p in enumerate(performance.drum_parts) if p in whole_kits]
    if len(kits) < 2:
        return None
    listing = ", ".join(f"{p.label(k)} {p.n_notes} notes" for k, p in kits)
    players = " ".join(f"{spec}:{k}" for k, _ in kits)
    return (
        f"hint: {spec} holds {len(kits)} drum parts that each play a kit ({listing}), "
        f"read here as one player; if each is a drummer, give {players} to judge them "
        "as players of their own"
    )


def swapped_parts_hint(names: Sequence[str], levels: Sequence[Level]) -> str:
    """``hint: ...`` for two players whose hits fit each other's parts far better
    (:func:`~cymbalism.report.analysis.parts_swapped`): files in the other order."""
    a, b = names
    given = ",".join(lv.label.lower() for lv in levels)
    other = ",".join(lv.label.lower() for lv in reversed(levels))
    return (
        f"hint: {a}'s hits fit the {levels[1].label} part and {b}'s the {levels[0].label} "
        f"part far better than the parts given (--levels {given}). Were the files given in "
        f"the other order? Then give --levels {other}."
    )
