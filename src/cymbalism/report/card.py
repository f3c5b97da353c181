"""The share card: one image of a duet for posting (1200 x 630 px, the usual link-preview size).

It shows the song, both players with their hit rates, the sync they achieved (the
spread of the gap between them) and when they came together, over a small curve of
the gap's spread along the song.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from cymbalism.report.analysis import SessionAnalysis
from cymbalism.report.format import clock, ms
from cymbalism.report.plots import figure_bytes, player_colour
from cymbalism.report.text import TOGETHER_MS

__all__ = ["CARD_SIZE_PX", "render_card", "write_card"]

#: Width and height of the card in pixels.
CARD_SIZE_PX = (1200, 630)
_BG = "#16161D"
_FG = "#F4F4F6"
_DIM = "#A0A0AE"
_GREEN = "#7BD389"


def _card_figure(analysis: SessionAnalysis) -> Figure:
    w, h = CARD_SIZE_PX
    fig = Figure(figsize=(w / 100, h / 100), dpi=100, facecolor=_BG)
    text = fig.text
    title = analysis.title if len(analysis.title) <= 34 else analysis.title[:33] + "…"
    text(0.05, 0.86, title, color=_FG, fontsize=40, fontweight="bold", va="center")
    sub = analysis.artist + " · " if analysis.artist else ""
    sub += analysis.started_at.strftime("%-d %b %Y") + f" · {clock(analysis.duration_sec)} long"
    text(0.05, 0.77, sub, color=_DIM, fontsize=18, va="center")
    for i, p in enumerate(analysis.players[:2]):
        y = 0.62 - i * 0.11
        colour = player_colour(i)
        fig.patches.append(
            Ellipse((0.062, y), 0.021, 0.04, transform=fig.transFigure, color=colour)
        )
        name = p.name if len(p.name) <= 18 else p.name[:17] + "…"
        text(0.09, y, name, color=_FG, fontsize=26, fontweight="bold", va="center")
        rate = p.stats.hit_rate
        hit = f"{rate:.0%} of notes" if p.stats.n_notes else "no notes to play"
        detail = f"{hit} · {p.start_level.label.lower()} part"
        if p.level_reached != p.start_level:
            detail += f" → {p.level_reached.label.lower()}"
        text(0.09, y - 0.05, detail, color=_DIM, fontsize=15, va="center")
    if analysis.sync is not None and analysis.sync.n:
        text(0.60, 0.62, "in sync within", color=_DIM, fontsize=18, va="center")
        text(0.60, 0.52, f"±{ms(analysis.sync.sd_sec)}", color=_FG, fontsize=46,
             fontweight="bold", va="center")  # fmt: skip
        t = analysis.came_together_sec
        words = f"came together at {clock(t)}" if t is not None else "still finding each other"
        text(0.60, 0.41, words, color=_GREEN if t is not None else "#E0A030", fontsize=20,
             fontweight="bold", va="center")  # fmt: skip
        if analysis.leader is not None:
            text(0.60, 0.345, f"{analysis.leader} led", color=_DIM, fontsize=16, va="center")
    w_sync = analysis.windowed_sync
    if w_sync is not None and len(w_sync.time_sec):
        ax = fig.add_axes((0.05, 0.08, 0.90, 0.20), facecolor=_BG)
        sd = w_sync.sd_sec * 1000
        ax.fill_between(w_sync.time_sec, 0, sd, color="#6A3D9A", alpha=0.55, linewidth=0)
        ax.plot(w_sync.time_sec, sd, color="#B39DDB", linewidth=2)
        ax.axhline(TOGETHER_MS, color=_GREEN, linewidth=1.2, linestyle="--")
        ax.text(analysis.duration_sec, TOGETHER_MS, f"{TOGETHER_MS:.0f} ms ", color=_GREEN,
                fontsize=11, ha="right", va="bottom")  # fmt: skip
        if analysis.came_together_sec is not None:
            ax.axvline(analysis.came_together_sec, color=_GREEN, linewidth=2.5)
        top = float(np.nanmax(sd)) if np.isfinite(sd).any() else TOGETHER_MS
        ax.set_ylim(0, max(top, TOGETHER_MS) * 1.15)
        ax.set_xlim(0, analysis.duration_sec)
        ax.set_axis_off()
        text(0.05, 0.30, "spread of the gap between them, over the song", color=_DIM,
             fontsize=13, va="bottom")  # fmt: skip
    text(0.95, 0.035, "cymbalism", color=_DIM, fontsize=14, ha="right", va="center",
         fontstyle="italic")  # fmt: skip
    return fig


def render_card(analysis: SessionAnalysis) -> bytes:
    """The share card as PNG bytes (:data:`CARD_SIZE_PX`)."""
    return figure_bytes(_card_figure(analysis), "png", dpi=100)


def write_card(analysis: SessionAnalysis, path: str | Path) -> Path:
    """Write the share card to ``path`` (PNG); return it."""
    path = Path(path)
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_card(analysis))
    return path
