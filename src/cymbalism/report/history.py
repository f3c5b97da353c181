"""A player's sessions over time: hit rate, accuracy, precision, level, when duets came together.

Figures come from each session's analysis (:func:`cymbalism.report.analysis.analyse_stored`);
they are cached in the store the first time a finished session is looked at, so a long
history lists fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import CymbalismError, NotFoundError
from cymbalism.model.chart import Level
from cymbalism.report.analysis import analyse_stored
from cymbalism.report.format import clock, counted, date_time, ms, narrow_table, sparkline
from cymbalism.report.plots import TOGETHER, _figure, _margins, _style, figure_bytes
from cymbalism.store import SessionInfo, Store, skip_unreadable

__all__ = [
    "HistoryRow",
    "player_history",
    "print_history",
    "session_summaries",
    "sparkline",
    "write_history_plot",
]


def session_summaries(store: Store, infos: list[SessionInfo]) -> list[SessionInfo]:
    """The sessions with their figures, computing (and caching) any that are missing.

    A session that cannot be read is left out, with one
    :class:`~cymbalism.store.StoreWarning` that names it.
    """
    out = []
    for info in infos:
        if info.has_summary:
            out.append(info)
            continue
        try:
            analysis = analyse_stored(store.load(info.id))
        except (CymbalismError, ValueError) as exc:  # one bad session hides no other
            skip_unreadable(info.id, exc)
            continue
        if info.status == "finished" or info.cut_short:  # a reopened one forgets them
            store.save_summary(
                info.id, {p.name: p.summary for p in analysis.players}, analysis.duet
            )
            out.append(store.info(info.id))
        else:  # still being played: show, but do not cache
            from dataclasses import replace

            seats = tuple(replace(s, summary=analysis.player(s.name).summary) for s in info.players)
            out.append(replace(info, players=seats, duet=analysis.duet))
    return out


@dataclass(frozen=True)
class HistoryRow:
    """One session of a player's history (seconds; error = played - target)."""

    session_id: int
    started_at: datetime
    title: str
    partners: tuple[str, ...]
    level: Level
    level_reached: Level
    hit_rate: float
    mean_error_sec: float
    sd_error_sec: float
    came_together_sec: float | None
    sync_sd_sec: float | None
    status: str


def player_history(store: Store, player: str) -> list[HistoryRow]:
    """Every session ``player`` played, oldest first.

    Raises
    ------
    NotFoundError
        If the store has no player of that name.
    """
    if player not in store.players():
        known = ", ".join(store.players()[:20]) or "none yet"
        raise NotFoundError(f"no player {player!r} in {store.url} (players: {known})")
    rows = []
    for info in session_summaries(store, store.sessions(player=player)):
        seat = next(s for s in info.players if s.name == player)
        summary = seat.summary
        assert summary is not None
        duet = info.duet
        rows.append(
            HistoryRow(
                session_id=info.id,
                started_at=info.started_at,
                title=info.title,
                partners=tuple(n for n in info.player_names if n != player),
                level=seat.level,
                level_reached=summary.level_reached,
                hit_rate=summary.hit_rate,
                mean_error_sec=summary.mean_error_sec,
                sd_error_sec=summary.sd_error_sec,
                came_together_sec=None if duet is None else duet.came_together_sec,
                sync_sd_sec=None if duet is None else duet.sd_sec,
                status="cut short" if info.cut_short else info.status,
            )
        )
    return rows


def _series(rows: list[HistoryRow], attr: str, scale: float = 1.0) -> np.ndarray:
    return np.array(
        [np.nan if getattr(r, attr) is None else getattr(r, attr) * scale for r in rows],
        dtype=np.float64,
    )


def _trend(values: np.ndarray, fmt: str) -> str:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return "–"
    return f"{fmt.format(finite[0])} → {fmt.format(finite[-1])}"


def print_history(player: str, rows: list[HistoryRow], console: Any) -> None:
    """Print a player's history: a table of sessions and sparkline trends."""
    if not rows:
        console.print(f"{player} has no sessions yet.")
        return
    rows_cells: list[tuple[str, ...]] = []
    for r in rows:
        part = r.level.label + (f" → {r.level_reached.label}" if r.level_reached != r.level else "")
        together = (
            clock(r.came_together_sec)
            if r.came_together_sec is not None
            else ("not yet" if r.partners else "–")
        )
        timing = (
            f"{ms(r.mean_error_sec, signed=True).removesuffix(' ms')} ± {ms(r.sd_error_sec)}"
            if np.isfinite(r.sd_error_sec)
            else ms(r.mean_error_sec, signed=True)
        )
        cells = (
            str(r.session_id),
            date_time(r.started_at),
            r.title,
            ", ".join(r.partners) or "solo",
            part + ("" if r.status == "finished" else f" ({r.status})"),
            f"{r.hit_rate:.0%}" if np.isfinite(r.hit_rate) else "–",
            timing,
            ms(r.sync_sd_sec),
            together,
        )
        rows_cells.append(cells)
    table = narrow_table(
        {
            "#": "figure",
            "Date": "date",
            "Song": "words",
            "With": "words",
            "Part": "words",
            "Hit": "figure",
            "Timing": "figure",
            "Gap SD": "figure",
            "Together": "figure",
        },
        rows_cells,
        width=console.width,
        title=f"{player}: {counted(len(rows), 'session')}",
        caption="Timing: accuracy (mean; + is late) ± precision (SD); Gap SD: to the partner",
    )
    console.print(table)
    rate = _series(rows, "hit_rate", 100)
    sd = _series(rows, "sd_error_sec", 1000)
    gap = _series(rows, "sync_sd_sec", 1000)
    levels = np.array([int(r.level_reached) for r in rows], dtype=np.float64)
    top = max(float(Level.EXPERT), float(levels.max()))  # Expert+ only when reached
    console.print(f"hit rate        {sparkline(rate, low=0, high=100)}  {_trend(rate, '{:.0f}%')}")
    console.print(f"precision (SD)  {sparkline(-sd)}  {_trend(sd, '{:.0f} ms')} (lower is tighter)")
    if np.isfinite(gap).any():
        console.print(f"gap to partner  {sparkline(-gap)}  {_trend(gap, '{:.0f} ms')} (SD)")
    console.print(
        f"level reached   {sparkline(levels, low=0, high=top)}  "
        f"{Level(int(levels[0])).label} → {Level(int(levels[-1])).label}"
    )


def write_history_plot(player: str, rows: list[HistoryRow], path: str | Path) -> Path:
    """A PNG of the trends: hit rate, precision, and when each duet came together."""
    fig = _figure(10, 7.5)
    axes = fig.subplots(3, 1, sharex=True)
    _margins(fig, left_in=1.5, bottom_in=0.95, hspace_in=0.25, rows=3)
    x = np.arange(1, len(rows) + 1)
    panels = (
        (_series(rows, "hit_rate", 100), "notes hit (%)", "#0072B2"),
        (_series(rows, "sd_error_sec", 1000), "precision: SD of\ntiming error (ms)", "#D55E00"),
        (_series(rows, "came_together_sec"), "came together\n(m:ss into the song)", TOGETHER),
    )
    for ax, (y, label, colour) in zip(axes, panels, strict=True):
        ax.plot(x, y, marker="o", color=colour, linewidth=2)
        ax.set_ylabel(label)
        _style(ax, xlabel="")
    from matplotlib.ticker import FuncFormatter

    axes[0].set_ylim(0, 105)
    axes[2].yaxis.set_major_formatter(FuncFormatter(lambda v, _p: clock(v)))
    axes[0].set_title(f"{player}: sessions over time", loc="left")
    axes[-1].set_xticks(x, [r.started_at.strftime("%d %b") + f"\n#{r.session_id}" for r in rows])
    axes[-1].set_xlabel("session (date, number)")
    path = Path(path)
    path.write_bytes(figure_bytes(fig, "png"))
    return path
