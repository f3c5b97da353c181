"""The terminal view of a live session (rich): where we are, each player's lanes, the gap.

Drawn from :meth:`cymbalism.live.engine.Engine.snapshot` only, so the browser studio can
show the same state. Colours: green on time, yellow early, magenta late, red miss,
grey extra. Early/late arrows point the way the player should move: ``<<`` early
(wait a touch), ``>>`` late (push).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

__all__ = ["render"]

_STYLE = {
    "on time": "bold green",
    "early": "bold yellow",
    "late": "bold magenta",
    "miss": "bold red",
    "extra": "grey50",
}
_MARK = {"on time": "●", "early": "◀", "late": "▶", "miss": "✗", "extra": "+"}
_METER_HALF = 12  # characters each side of the centre
_METER_MS = 50.0  # full scale of the meter


def _verdict_text(fb: dict[str, Any]) -> Text:
    v = fb["verdict"]
    t = Text(f"{_MARK[v]} {v:<7}", style=_STYLE[v])
    if fb.get("error_ms") is not None:
        t.append(f" {round(fb['error_ms']):+4d} ms", style=_STYLE[v])
    return t


def _strip(recent: list[dict[str, Any]]) -> Text:
    t = Text()
    for fb in recent:
        t.append(_MARK[fb["verdict"]], style=_STYLE[fb["verdict"]])
    return t


def _player_panel(p: dict[str, Any]) -> Panel:
    lanes = Table.grid(padding=(0, 1))
    lanes.add_column(width=3, style="bold")
    lanes.add_column(width=22)
    for lane, fb in p["lanes"].items():
        lanes.add_row(lane, _verdict_text(fb))
    if not p["lanes"]:
        lanes.add_row("", Text("waiting for the first hit…", style="dim"))
    rate = "–" if p["hit_rate"] is None else f"{p['hit_rate'] * 100:.0f}%"
    mean = p["mean_error_ms"]
    if mean is None:
        err = "–"
    elif abs(mean) < 2.5:
        err = "on time"
    else:
        err = f"{abs(mean):.0f} ms {'late' if mean > 0 else 'early'}"
    stats = Text.assemble(("hit ", "dim"), (rate, "bold"), ("  ", ""), (err, "bold"))
    counts = Text.assemble(
        ("miss ", "dim"),
        (str(p["misses"]), "bold red" if p["misses"] else "bold"),
        ("  extra ", "dim"),
        (str(p["extras"]), "bold"),
    )
    body = Group(lanes, Text(""), _strip(p["recent"]), stats, counts)
    return Panel(
        body,
        title=f"[bold]{p['name']}[/] · {p['level']}",
        border_style="cyan",
    )


def _meter(sync: dict[str, Any], a: str, b: str) -> Text:
    if not sync["n"]:
        return Text("sync  waiting for notes you both play…", style="dim")
    mean = float(sync["mean_ms"])
    pos = round(max(-1.0, min(1.0, mean / _METER_MS)) * _METER_HALF)
    cells = ["─"] * (2 * _METER_HALF + 1)
    cells[_METER_HALF] = "┼"
    cells[_METER_HALF + pos] = "◆"
    spread = float(sync["sd_ms"] or 0.0)
    style = "green" if spread < 20 and abs(mean) < 15 else "yellow" if spread < 40 else "red"
    lead = b if mean > 0 else a
    words = "together" if abs(mean) < 5 else f"{lead} ahead by {abs(mean):.0f} ms"
    return Text.assemble(
        ("sync ", "bold"),
        (f"{a} ahead ", "dim"),
        ("".join(cells), style),
        (f" {b} ahead", "dim"),
        f"  {words} · spread {spread:.0f} ms",
    )


def render(snap: dict[str, Any]) -> Group:
    """The whole screen for one snapshot."""
    bar = snap["bar"]
    where = "count-in" if bar == 0 else f"bar {bar}/{snap['n_bars']}"
    if snap["section"] and bar:
        where += f" · {snap['section']}"
    head = Text.assemble(
        (f"{snap['song']}  ", "bold"),
        (where, "bold cyan"),
        (f"  beat {int(snap['beat'])}", "cyan"),
        (f"  {snap['bpm']:.0f} BPM", "bold"),
        ("  (following you)" if snap["follow"] else "", "italic"),
    )
    panels = Table.grid(padding=(0, 1), expand=True)
    for _ in snap["players"]:
        panels.add_column(ratio=1)
    panels.add_row(*[_player_panel(p) for p in snap["players"]])
    parts: list[Any] = [head, panels]
    if len(snap["players"]) >= 2:
        parts.append(_meter(snap["sync"], snap["players"][0]["name"], snap["players"][1]["name"]))
    for msg in snap["messages"]:
        parts.append(Text(f"• {msg}", style="yellow"))
    parts.append(Text("Ctrl-C or q stops; everything played is kept", style="dim"))
    return Group(*parts)
