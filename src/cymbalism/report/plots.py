"""The report's plots (matplotlib, drawn off-screen with Agg): timing, lanes, sync, tempo, levels.

Every plot reads a :class:`~cymbalism.report.analysis.SessionAnalysis`; nothing is
recomputed here except unit changes for people (ms instead of seconds, m:ss clocks).
Each player keeps one colour in every plot and on the share card.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from cymbalism.analysis.sync import TOGETHER_SD_SEC
from cymbalism.errors import InputError
from cymbalism.model.chart import LADDER, Level
from cymbalism.model.lanes import Lane
from cymbalism.report.analysis import PlayerAnalysis, SessionAnalysis
from cymbalism.report.format import clock, ms

__all__ = [
    "PLAYER_COLOURS",
    "PLOTS",
    "clock",
    "figure_bytes",
    "player_colour",
    "plot_asynchrony",
    "plot_lanes",
    "plot_levels",
    "plot_tempo",
    "plot_timing",
    "render_plots",
    "save_plots",
]

#: Colour-blind-safe colours (Okabe-Ito): blue, vermillion, bluish green, reddish purple.
PLAYER_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
TOGETHER = "#2E7D32"
INK = "#222222"
GRID = "#DDDDDD"
_RC: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
}


def player_colour(i: int) -> str:
    """The colour of the player in seat ``i``."""
    return PLAYER_COLOURS[i % len(PLAYER_COLOURS)]


_CLOCK = FuncFormatter(lambda x, _pos: clock(x))
_STEPS_SEC = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


def _time_axis(ax, end_sec: float) -> None:  # type: ignore[no-untyped-def]
    """m:ss ticks on round steps (10 s, 30 s, 1 min, 5 min ...), at most about 10."""
    from matplotlib.ticker import MultipleLocator

    step = next((s for s in _STEPS_SEC if end_sec / s <= 10), _STEPS_SEC[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(_CLOCK)
    ax.set_xlim(0, max(end_sec, 1.0))  # a session stopped at once still gets a second


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    rc: Any = matplotlib.rcParams  # its stubs allow only literal keys
    rc.update(_RC)
    return Figure(figsize=(width, height), dpi=100)


def _margins(
    fig: Figure,
    *,
    left_in: float = 1.05,
    right_in: float = 0.25,
    top_in: float = 0.45,
    bottom_in: float = 0.65,
    hspace_in: float = 0.0,
    wspace_in: float = 0.0,
    rows: int = 1,
    cols: int = 1,
) -> None:
    """Fixed margins in inches (much faster than a constrained layout for big scatters)."""
    w, h = fig.get_size_inches()
    inner_h = h - top_in - bottom_in - hspace_in * (rows - 1)
    inner_w = w - left_in - right_in - wspace_in * (cols - 1)
    fig.subplots_adjust(
        left=left_in / w,
        right=1 - right_in / w,
        top=1 - top_in / h,
        bottom=bottom_in / h,
        hspace=hspace_in / (inner_h / rows) if rows > 1 else 0.2,
        wspace=wspace_in / (inner_w / cols) if cols > 1 else 0.2,
    )


def _style(ax, *, xlabel: str = "song time (m:ss)") -> None:  # type: ignore[no-untyped-def]
    ax.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if xlabel:
        ax.set_xlabel(xlabel)


def _level_lines(ax, p: PlayerAnalysis, colour: str) -> None:  # type: ignore[no-untyped-def]
    for step in p.level_changes:
        ax.axvline(step.at_sec, color=colour, linestyle=":", linewidth=1.4)
        arrow = "▲" if step.to_level > step.from_level else "▼"
        ax.annotate(
            f"{arrow} {step.to_level.label}",
            (step.at_sec, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            va="top",
            fontsize=9,
            color=colour,
        )


def _legend_above(ax) -> None:  # type: ignore[no-untyped-def]
    """The legend in one row above the plot's right end, off the data."""
    n = len(ax.get_legend_handles_labels()[0])
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=n, frameon=False,
              markerscale=3, borderaxespad=0.1, fontsize=9.5, columnspacing=1.2)  # fmt: skip


def plot_timing(analysis: SessionAnalysis) -> Figure:
    """Each player's timing error over the song: every note, the rolling mean and spread."""
    n = len(analysis.players)
    fig = _figure(11, 2.9 * n + 0.4)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    _margins(fig, left_in=1.15, top_in=0.75, hspace_in=0.8, rows=n)
    lim_ms = analysis.window_sec * 1000
    for i, (ax, p) in enumerate(zip(axes, analysis.players, strict=True)):
        colour = player_colour(i)
        al = p.alignment
        m = al.timed  # the notes under a drum roll are not early or late
        t = al.targets.onset_sec[m]
        e = al.error_sec[m] * 1000
        ax.scatter(t, e, s=5, color=colour, alpha=0.25, linewidths=0, rasterized=True,
                   label="each note hit")  # fmt: skip
        w = p.windowed
        mean = w.mean_error_sec * 1000
        sd = w.sd_error_sec * 1000
        ax.fill_between(w.time_sec, mean - sd, mean + sd, color=colour, alpha=0.18,
                        linewidth=0, label="±1 SD")  # fmt: skip
        ax.plot(w.time_sec, mean, color=colour, linewidth=2.2, label="mean over 8 s")
        ax.axhline(0, color=INK, linewidth=0.9)
        _level_lines(ax, p, colour)
        ax.set_ylim(-lim_ms * 1.05, lim_ms * 1.05)
        ax.set_ylabel("timing error (ms)\n← early · late →")
        ax.set_title(
            _timing_title(p),
            loc="left",
            color=colour,
            pad=22,
        )
        _style(ax, xlabel="song time (m:ss)" if i == n - 1 else "")
        _time_axis(ax, analysis.duration_sec)
        _legend_above(ax)
    return fig


def _timing_title(p: PlayerAnalysis) -> str:
    """``Ana: 93% of notes hit, average +4 ms, spread 12 ms`` (no figure that is not there)."""
    s = p.stats
    if s.n_notes == 0:
        return f"{p.name}: no notes to play"
    if s.n_hit == 0:
        return f"{p.name}: none of {s.n_notes} notes hit"
    spread = f", spread {ms(s.sd_error_sec)}" if np.isfinite(s.sd_error_sec) else ""
    return (
        f"{p.name}: {s.hit_rate:.0%} of notes hit, average "
        f"{ms(s.mean_error_sec, signed=True)}{spread}"
    )


def _lanes_played(analysis: SessionAnalysis) -> list[Lane]:
    used: set[int] = set()
    for p in analysis.players:
        used.update(int(x) for x in np.unique(p.alignment.targets.lane[p.alignment.matched]))
    return [Lane(x) for x in sorted(used)]


def plot_lanes(analysis: SessionAnalysis) -> Figure:
    """Histograms of the timing error per lane, one colour per player."""
    lanes = _lanes_played(analysis)
    if not lanes:  # nothing hit: no drum to show
        fig = _figure(11, 2.0)
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no notes were hit: no timing per drum", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
        return fig
    cols = min(3, len(lanes))
    rows = -(-len(lanes) // cols)
    fig = _figure(11, 2.7 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    _margins(fig, left_in=0.8, top_in=0.35, bottom_in=0.7, hspace_in=0.95, wspace_in=0.45,
             rows=rows, cols=cols)  # fmt: skip
    lim_ms = analysis.window_sec * 1000
    bins = np.linspace(-lim_ms, lim_ms, round(2 * lim_ms / 5) + 1)
    for ax, lane in zip(axes, lanes, strict=False):
        for i, p in enumerate(analysis.players):
            al = p.alignment
            mine = al.timed & (al.targets.lane == int(lane))
            e = al.error_sec[mine] * 1000
            if not e.size:
                continue
            stats = p.by_lane.get(lane)
            label = f"{p.name}: {e.size} notes"
            if stats is not None:
                label += f", mean {ms(stats.mean_error_sec, signed=True)}"
            ax.hist(e, bins=bins, histtype="stepfilled", facecolor=player_colour(i) + "73",
                    edgecolor=player_colour(i), linewidth=1.4, label=label)  # fmt: skip
        ax.axvline(0, color=INK, linewidth=0.9)
        ax.set_title(lane.label, loc="left")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.45)  # room for the legend above the bars
        if ax.get_legend_handles_labels()[0]:  # a drum nobody hit has no legend
            ax.legend(frameon=False, loc="upper left", fontsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        _style(ax, xlabel="timing error (ms), early ← → late")
    for ax in axes[len(lanes) :]:
        ax.set_visible(False)
    axes[0].set_ylabel("notes")
    return fig


def plot_asynchrony(
    analysis: SessionAnalysis, *, threshold_ms: float = TOGETHER_SD_SEC * 1000.0
) -> Figure:
    """The gap between the two players over the song, and when they came together."""
    fig = _figure(11, 4.1)
    ax = fig.subplots()
    _margins(fig, left_in=1.15, top_in=0.75)
    if analysis.asynchrony is None or len(analysis.asynchrony) == 0:
        ax.text(0.5, 0.5, "no shared notes: nothing to compare", ha="center",
                transform=ax.transAxes)  # fmt: skip
        _style(ax)
        return fig
    a, b = analysis.players[0].name, analysis.players[1].name
    asy = analysis.asynchrony
    x = asy.asynchrony_sec * 1000
    ax.axhspan(-threshold_ms, threshold_ms, color=TOGETHER, alpha=0.07, linewidth=0,
               label=f"within ±{threshold_ms:.0f} ms")  # fmt: skip
    ax.scatter(asy.time_sec, x, s=5, color="#555555", alpha=0.25, linewidths=0,
               rasterized=True, label="shared notes")  # fmt: skip
    w = analysis.windowed_sync
    if w is not None:
        mean = w.mean_sec * 1000
        sd = w.sd_sec * 1000
        ax.fill_between(w.time_sec, mean - sd, mean + sd, color="#6A3D9A", alpha=0.2,
                        linewidth=0, label="±1 SD")  # fmt: skip
        ax.plot(w.time_sec, mean, color="#6A3D9A", linewidth=2.2, label="mean over 8 s")
    ax.axhline(0, color=INK, linewidth=0.9)
    t = analysis.came_together_sec
    if t is not None:
        ax.axvline(t, color=TOGETHER, linewidth=2.2)
        ax.annotate(
            f"came together at {clock(t)}",
            (t, 0.97),
            xycoords=("data", "axes fraction"),
            xytext=(6, 0),
            textcoords="offset points",
            va="top",
            color=TOGETHER,
            fontweight="bold",
        )
    lim = max(60.0, float(np.nanpercentile(np.abs(x), 99)) * 1.1)
    ax.set_ylim(-lim, lim)
    ax.set_ylabel(f"gap (ms)\n{b} later ← · → {a} later")
    _time_axis(ax, analysis.duration_sec)
    s = analysis.sync
    assert s is not None
    ax.set_title(
        f"{a} − {b}: mean gap {ms(s.mean_sec, signed=True)}, spread {ms(s.sd_sec)}",
        loc="left",
        pad=22,
    )
    _legend_above(ax)
    _style(ax)
    return fig


def plot_tempo(analysis: SessionAnalysis) -> Figure:
    """Both players' tempo over the song, against the chart's tempo."""
    fig = _figure(11, 3.6)
    ax = fig.subplots()
    _margins(fig, left_in=1.15)
    if analysis.chart_tempo is not None:
        t, bpm = analysis.chart_tempo
        ax.step(t, bpm, where="post", color=INK, linestyle="--", linewidth=1.3, zorder=5,
                label="the song's tempo")  # fmt: skip
    for i, p in enumerate(analysis.players):
        if p.tempo is None or not len(p.tempo.time_sec):
            continue
        label = p.name
        if p.drift_bpm_per_min is not None and np.isfinite(p.drift_bpm_per_min):
            label += f" (drift {p.drift_bpm_per_min:+.1f} BPM/min)"
        sure = np.isfinite(p.tempo.bpm)
        if not sure.any():  # no window was sure of a tempo: say so, draw nothing
            ax.plot([], [], color=player_colour(i), linewidth=2, label=f"{p.name}: tempo unsure")
            continue
        if not sure.all():  # unsure windows are gaps, not dips
            label += "; gaps where unsure"
        ax.plot(p.tempo.time_sec, p.tempo.bpm, color=player_colour(i), linewidth=2, label=label)
        # a sure window between two unsure ones has no line to draw: mark it
        alone = sure & ~np.r_[False, sure[:-1]] & ~np.r_[sure[1:], False]
        ax.plot(p.tempo.time_sec[alone], p.tempo.bpm[alone], "o", color=player_colour(i), ms=4)
    ax.set_ylabel("tempo (BPM)")
    ax.set_title("Tempo each player kept", loc="left")
    _time_axis(ax, analysis.duration_sec)
    ax.legend(loc="best", framealpha=0.9)
    _style(ax)
    return fig


def plot_levels(analysis: SessionAnalysis) -> Figure:
    """The level of each player's part over the song (the beginner's path)."""
    fig = _figure(11, 2.6)
    ax = fig.subplots()
    _margins(fig, left_in=1.15)
    end = analysis.duration_sec
    for i, p in enumerate(analysis.players):
        times = [0.0] + [s.at_sec for s in p.level_changes] + [end]
        levels = [int(p.start_level)] + [int(s.to_level) for s in p.level_changes]
        levels.append(levels[-1])
        offset = (i - (len(analysis.players) - 1) / 2) * 0.06
        ax.step(times, np.asarray(levels) + offset, where="post", color=player_colour(i),
                linewidth=2.4, label=p.name)  # fmt: skip
    played = {int(p.start_level) for p in analysis.players}
    shown = [lv for lv in Level if lv in LADDER or int(lv) in played]
    ax.set_yticks([int(lv) for lv in shown], [lv.label for lv in shown])
    ax.set_ylim(-0.5, len(shown) - 0.5)
    ax.set_title("Level of each part", loc="left")
    _time_axis(ax, end)
    ax.legend(loc="lower right", framealpha=0.9)
    _style(ax)
    return fig


#: The report's plots, in the order they are shown: (file stem, title, function).
PLOTS: tuple[tuple[str, str, Callable[[SessionAnalysis], Figure]], ...] = (
    ("timing", "Timing of each player", plot_timing),
    ("lanes", "Timing per drum", plot_lanes),
    ("sync", "The gap between the players", plot_asynchrony),
    ("tempo", "Tempo", plot_tempo),
    ("levels", "Levels", plot_levels),
)


def figure_bytes(fig: Figure, fmt: str = "png", *, dpi: int = 100) -> bytes:
    """A figure as PNG or SVG bytes."""
    if fmt not in {"png", "svg"}:
        raise InputError(f"unknown image format {fmt!r}; use png or svg")
    buf = io.BytesIO()
    extra: dict[str, Any] = {"pil_kwargs": {"compress_level": 3}} if fmt == "png" else {}
    fig.savefig(buf, format=fmt, dpi=dpi, facecolor=fig.get_facecolor(), **extra)
    return buf.getvalue()


def render_plots(
    analysis: SessionAnalysis, *, formats: Iterable[str] = ("png",), dpi: int = 100
) -> dict[str, dict[str, bytes]]:
    """Every plot the session has, as ``{stem: {format: bytes}}``.

    The levels plot is left out when no player's level changed.
    """
    out: dict[str, dict[str, bytes]] = {}
    formats = tuple(formats)
    for stem, _title, fn in PLOTS:
        if stem == "levels" and not any(p.level_changes for p in analysis.players):
            continue
        if stem == "sync" and analysis.asynchrony is None:
            continue
        fig = fn(analysis)
        out[stem] = {fmt: figure_bytes(fig, fmt, dpi=dpi) for fmt in formats}
    return out


def save_plots(
    analysis: SessionAnalysis, folder: str | Path, *, formats: Iterable[str] = ("png", "svg")
) -> list[Path]:
    """Write each plot as ``<folder>/<stem>.png`` and ``.svg``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, images in render_plots(analysis, formats=formats).items():
        for fmt, data in images.items():
            path = folder / f"{stem}.{fmt}"
            path.write_bytes(data)
            paths.append(path)
    return paths
