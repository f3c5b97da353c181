"""A session's report as one self-contained HTML file: no CDN, images inline as PNG.

The page opens with the session in plain words, then tables of each player's figures
(overall and per drum), then the plots. The exact figures are also embedded as JSON
(``<script type="application/json" id="cymbalism-figures">``) for anyone who wants
the numbers behind the page.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from cymbalism import __version__
from cymbalism.report.analysis import SessionAnalysis
from cymbalism.report.format import clock, ms
from cymbalism.report.plots import PLOTS, player_colour, render_plots
from cymbalism.report.text import TOGETHER_MS, player_table_rows, summary_sentences

__all__ = ["figures_dict", "render_html", "write_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #222; background: #fafafa; line-height: 1.45; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 28px; } h2 { margin-top: 36px; font-size: 20px; }
.sub { color: #666; margin: 0 0 18px; }
.summary { background: #fff; border-left: 5px solid #6A3D9A; padding: 12px 18px;
           font-size: 17px; border-radius: 4px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.summary p { margin: 6px 0; }
.cards { display: flex; gap: 14px; flex-wrap: wrap; margin: 18px 0; }
.card { background: #fff; border-radius: 6px; padding: 10px 16px; min-width: 150px;
        box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.card .v { font-size: 26px; font-weight: 650; } .card .k { color: #666; font-size: 13px; }
table { border-collapse: collapse; background: #fff; margin: 8px 0; font-size: 14px; }
th, td { padding: 6px 12px; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.dot { display: inline-block; width: 11px; height: 11px; border-radius: 50%;
       margin-right: 6px; vertical-align: -1px; }
figure { margin: 12px 0 28px; background: #fff; padding: 8px; border-radius: 6px;
         box-shadow: 0 1px 3px rgba(0,0,0,.08); }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 14px; padding: 6px 4px 0; }
footer { color: #888; font-size: 12px; margin-top: 40px; }
"""

_CAPTIONS = {
    "timing": "Each dot is one note a player hit: above the line is late, below is early. "
    "The thick line is the mean over 8 seconds around each moment, the band its "
    "spread (±1 SD). "
    "Dotted lines mark level changes.",
    "lanes": "How early or late each drum was played, per player (5 ms bins).",
    "sync": "Each dot is the gap between the players on a note both played. The green "
    f"band is ±{TOGETHER_MS:.0f} ms; the green line marks when the spread of the gap fell "
    f"below {TOGETHER_MS:.0f} ms and stayed there.",
    "tempo": "The tempo each player kept (from the notes they hit, against where those "
    "notes lie in the song), beside the song's tempo.",
    "levels": "The part each player was given: the beginner moves up as they succeed.",
}


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _stats_dict(s: Any) -> dict[str, Any]:
    return {
        "n_notes": s.n_notes,
        "n_hit": s.n_hit,
        "n_miss": s.n_miss,
        "n_extra": s.n_extra,
        "hit_rate": _num(s.hit_rate),
        "mean_error_sec": _num(s.mean_error_sec),
        "sd_error_sec": _num(s.sd_error_sec),
        "mean_abs_error_sec": _num(s.mean_abs_error_sec),
    }


def figures_dict(analysis: SessionAnalysis) -> dict[str, Any]:
    """The session's figures as plain JSON-ready values (seconds, fractions)."""
    out: dict[str, Any] = {
        "session_id": analysis.session_id,
        "title": analysis.title,
        "artist": analysis.artist,
        "started_at": analysis.started_at.isoformat(),
        "duration_sec": analysis.duration_sec,
        "window_sec": analysis.window_sec,
        "players": [
            {
                "name": p.name,
                "start_level": p.start_level.name.lower(),
                "level_reached": p.level_reached.name.lower(),
                "level_changes": [
                    {
                        "at_sec": s.at_sec,
                        "from": s.from_level.name.lower(),
                        "to": s.to_level.name.lower(),
                        "reason": s.reason,
                    }
                    for s in p.level_changes
                ],
                "hits": len(p.hits),
                **_stats_dict(p.stats),
                "lanes": {lane.short: _stats_dict(s) for lane, s in p.by_lane.items()},
                "tempo_bpm": _num(p.tempo_bpm),
                "drift_bpm_per_min": _num(p.drift_bpm_per_min),
            }
            for p in analysis.players
        ],
        "sync": None,
    }
    if analysis.sync is not None:
        s = analysis.sync
        out["sync"] = {
            "n": s.n,
            "mean_sec": _num(s.mean_sec),
            "sd_sec": _num(s.sd_sec),
            "mean_abs_sec": _num(s.mean_abs_sec),
            "came_together_sec": _num(analysis.came_together_sec),
            "bgls_leader": analysis.leader,
            "bgls_problems": analysis.coupling_problems,
        }
        if analysis.coupling is not None:
            out["coupling"] = analysis.coupling.to_dict()
    return out


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cards(analysis: SessionAnalysis) -> str:
    cards = []
    for i, p in enumerate(analysis.players):
        s = p.stats
        rate = f"{s.hit_rate:.0%}" if math.isfinite(s.hit_rate) else "–"
        cards.append(
            f'<div class="card"><div class="v" style="color:{player_colour(i)}">{rate}</div>'
            f'<div class="k">{_e(p.name)}: notes hit</div></div>'
        )
    if analysis.sync is not None and analysis.sync.n:
        cards.append(
            f'<div class="card"><div class="v">{ms(analysis.sync.sd_sec)}</div>'
            '<div class="k">spread of the gap between them</div></div>'
        )
        t = analysis.came_together_sec
        cards.append(
            f'<div class="card"><div class="v">{clock(t) if t is not None else "not yet"}</div>'
            '<div class="k">came together</div></div>'
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _player_table(analysis: SessionAnalysis) -> str:
    rows = player_table_rows(analysis)
    head = "".join(f"<th>{_e(k)}</th>" for k in rows[0])
    body = []
    for i, row in enumerate(rows):
        cells = list(row.values())
        first = f'<span class="dot" style="background:{player_colour(i)}"></span>{_e(cells[0])}'
        body.append(
            "<tr><td>" + first + "</td>" + "".join(f"<td>{_e(c)}</td>" for c in cells[1:]) + "</tr>"
        )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _lane_table(analysis: SessionAnalysis) -> str:
    head = (
        "<tr><th>Player</th><th>Drum</th><th>Notes</th><th>Hit</th><th>Accuracy (mean)</th>"
        "<th>Precision (SD)</th><th>Mean |error|</th></tr>"
    )
    body = []
    for i, p in enumerate(analysis.players):
        for lane, s in p.by_lane.items():
            if s.n_notes == 0:
                continue
            rate = f"{s.hit_rate:.0%}" if math.isfinite(s.hit_rate) else "–"
            body.append(
                f'<tr><td><span class="dot" style="background:{player_colour(i)}"></span>'
                f"{_e(p.name)}</td><td>{_e(lane.label)}</td><td>{s.n_notes}</td><td>{rate}</td>"
                f"<td>{ms(s.mean_error_sec, signed=True)}</td><td>{ms(s.sd_error_sec)}</td>"
                f"<td>{ms(s.mean_abs_error_sec)}</td></tr>"
            )
    return f"<table>{head}{''.join(body)}</table>"


def render_html(
    analysis: SessionAnalysis, *, images: dict[str, dict[str, bytes]] | None = None
) -> str:
    """The report as one HTML string (plots rendered unless ``images`` are given)."""
    images = images if images is not None else render_plots(analysis, formats=("png",))
    title = analysis.title + (f" — {analysis.artist}" if analysis.artist else "")
    who = " & ".join(p.name for p in analysis.players)
    sid = f"Session {analysis.session_id} · " if analysis.session_id is not None else ""
    sub = f"{sid}{who} · {analysis.started_at.strftime('%-d %b %Y, %H:%M UTC')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} · cymbalism report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(sub)}</p>',
        '<section class="summary">',
        *(f"<p>{_e(s)}</p>" for s in summary_sentences(analysis)),
        "</section>",
        _cards(analysis),
        "<h2>Players</h2>",
        "<p>Timing error is played − target: positive is late, negative early. Accuracy is "
        "the mean error, precision its standard deviation (smaller is tighter).</p>",
        _player_table(analysis),
        "<h2>Per drum</h2>",
        _lane_table(analysis),
    ]
    for stem, heading, _fn in PLOTS:
        if stem not in images or "png" not in images[stem]:
            continue
        data = base64.b64encode(images[stem]["png"]).decode("ascii")
        parts += [
            f"<h2>{_e(heading)}</h2>",
            f'<figure><img alt="{_e(heading)}" src="data:image/png;base64,{data}">',
            f"<figcaption>{_e(_CAPTIONS[stem])}</figcaption></figure>",
        ]
    figures = json.dumps(figures_dict(analysis), indent=1).replace("</", "<\\/")
    parts += [
        f'<script type="application/json" id="cymbalism-figures">{figures}</script>',
        f"<footer>Made with cymbalism {__version__}. Matching window "
        f"±{analysis.window_sec * 1000:.0f} ms.</footer>",
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write_html(analysis: SessionAnalysis, path: str | Path, **kwargs: Any) -> Path:
    """Write the report to ``path``; return it."""
    path = Path(path)
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(analysis, **kwargs), encoding="utf-8")
    return path
