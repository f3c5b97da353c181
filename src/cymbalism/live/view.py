"""The terminal view of a live session (rich): where we are, the beat, what is coming,
each player's lanes, the gap.

Drawn from :meth:`cymbalism.live.engine.Engine.snapshot` only, so the browser studio can
show the same state. Each player's panel starts with the next bars of their part as a
drum tab (``o`` a drum, ``x`` a cymbal, capitals accented, ``.`` a ghost note; ``v``
marks now), as fine as the panel's width allows. The beat is shown too (``●`` on the
beat being played), since a computer without a sound card has a silent click. Colours:
green on time, yellow early, magenta late, red miss, grey extra. Early/late arrows point
the way the player should move: ``<<`` early (wait a touch), ``>>`` late (push).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cymbalism.model.chart import GHOST_MAX_VELOCITY, NORMAL_VELOCITY
from cymbalism.model.lanes import Lane

__all__ = ["Upcoming", "render"]

_CYMBALS = {Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.CRASH, Lane.RIDE}

_STYLE = {
    "on time": "bold green",
    "early": "bold yellow",
    "late": "bold magenta",
    "miss": "bold red",
    "extra": "grey50",
    "roll": "bold cyan",
    "not judged": "grey50",
}
_MARK = {
    "on time": "●",
    "early": "◀",
    "late": "▶",
    "miss": "✗",
    "extra": "+",
    "roll": "≈",
    "not judged": "·",
}
_METER_HALF = 12  # characters each side of the centre
_METER_MS = 50.0  # full scale of the meter


def _verdict_text(fb: dict[str, Any]) -> Text:
    v = fb["verdict"]
    t = Text(f"{_MARK[v]} {v}", style=_STYLE[v])
    if fb.get("error_ms") is not None:
        t.append(f" {round(fb['error_ms']):+d} ms", style=_STYLE[v])
    return t


class Upcoming:
    """A player's next bars as a drum tab, one row per lane, fitted to the width given.

    Parameters
    ----------
    bars : list of dict
        ``snapshot()["players"][i]["upcoming"]``: each bar's number, length in quarter
        notes and notes (quarter notes from its bar line, lane, velocity, and 1 for a
        note under a drum roll, drawn ``~``).
    now_qn : float
        Where now falls in the first bar (quarter notes; negative in the count-in).
    """

    def __init__(self, bars: list[dict[str, Any]], now_qn: float) -> None:
        self.bars = bars
        self.now_qn = now_qn

    @staticmethod
    def _mark(lane: int, velocity: int) -> str:
        if velocity <= GHOST_MAX_VELOCITY:
            return "."
        mark = "x" if Lane(lane) in _CYMBALS else "o"
        return mark.upper() if velocity > NORMAL_VELOCITY else mark

    def _on_grid(self, cells: int) -> bool:
        """Whether every note of the next bar falls on a grid of ``cells`` per beat."""
        notes = self.bars[0]["notes"] if self.bars else []
        return all(abs(n[0] * cells - round(n[0] * cells)) < 1e-6 for n in notes)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = options.max_width
        lanes = sorted({n[1] for b in self.bars for n in b["notes"]})
        if not self.bars:
            yield Text("the song is over", style="dim")
            return
        label = 3

        def fitting(cells: int) -> tuple[list[int], list[int]]:
            spans = [max(1, round(b["length_qn"] * cells)) + 1 for b in self.bars]
            return spans, [k for k in range(1, len(spans) + 1) if label + sum(spans[:k]) <= width]

        # the finest grid (16ths, 8ths, quarters) that shows at least two bars, else one
        for cells in (4, 2, 1):
            spans, fit = fitting(cells)
            if fit and (fit[-1] >= min(2, len(spans)) or cells == 1):
                break
        if cells < 4 and not self._on_grid(cells):
            # that grid would put two notes in one cell (a double kick a 16th after a
            # kick): the next bar alone in 16ths shows every note, and it comes first
            fine_spans, fine_fit = fitting(4)
            if fine_fit:
                cells, spans, fit = 4, fine_spans, fine_fit
        n = fit[-1] if fit else 1
        bars, spans = self.bars[:n], spans[:n]
        head = Text(" " * label)
        cursor = Text(" " * label)
        for b, span in zip(bars, spans, strict=True):
            number = str(b["bar"])[: span - 1]
            head.append("|" + number.ljust(span - 1), style="bold")
        if self.now_qn >= 0:
            at = label + 1 + min(int(self.now_qn * cells), spans[0] - 2)
            cursor = Text(" " * at + "v", style="bold yellow")
        yield head
        yield cursor
        for lane in lanes:
            row = Text(Lane(lane).short.ljust(label), style="bold")
            for b, span in zip(bars, spans, strict=True):
                cells_of_bar = ["-"] * (span - 1)
                for q, ln, vel, *roll in b["notes"]:
                    k = round(q * cells)
                    if ln == lane and 0 <= k < len(cells_of_bar):
                        mark = "~" if roll and roll[0] else self._mark(ln, vel)
                        if cells_of_bar[k] in "-.":  # the louder note of a cell shows
                            cells_of_bar[k] = mark
                row.append("|", style="dim")
                row.append("".join(cells_of_bar), style="cyan")
            yield row
        if not lanes:
            yield Text("   (rests)", style="dim")


def _strip(recent: list[dict[str, Any]]) -> Text:
    t = Text()
    for fb in recent:
        t.append(_MARK[fb["verdict"]], style=_STYLE[fb["verdict"]])
    return t


def _player_panel(p: dict[str, Any], now_qn: float) -> Panel:
    lanes = Table.grid(padding=(0, 1))
    lanes.add_column(width=3, style="bold")
    lanes.add_column()
    for lane, fb in p["lanes"].items():
        lanes.add_row(lane, _verdict_text(fb))
    if not p["lanes"]:
        lanes.add_row("", Text("waiting for the first hit", style="dim"))
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
    parts: list[Any] = []
    if "upcoming" in p:
        parts += [Upcoming(p["upcoming"], now_qn), Text("")]
    body = Group(*parts, lanes, Text(""), _strip(p["recent"]), stats, counts)
    return Panel(
        body,
        title=f"[bold]{p['name']}[/] · {p['level']}",
        border_style="cyan",
    )


def _beat(snap: dict[str, Any]) -> Text:
    """The beat as lights: the one being played lit, bright on the downbeat."""
    per_bar = max(1, int(snap.get("beats_per_bar", 4)))
    now = int(snap["beat"]) - 1
    t = Text("beat ", style="bold")
    for k in range(per_bar):
        lit = k == now % per_bar
        t.append(
            "● " if lit else "○ ",
            style=("bold yellow" if k == 0 else "bold cyan") if lit else "dim",
        )
    return t


def _meter(sync: dict[str, Any], a: str, b: str) -> Group | Text:
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
    # the gauge on one line, the words on the next (a narrow terminal wraps words whole)
    return Group(
        Text.assemble(
            ("sync ", "bold"),
            (f"{a} ahead ", "dim"),
            ("".join(cells), style),
            (f" {b} ahead", "dim"),
        ),
        Text(f"     {words} · spread {spread:.0f} ms"),
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
        (f"  {snap['bpm']:.0f} BPM", "bold"),
        ("  (following you)" if snap["follow"] else "", "italic"),
    )
    panels = Table.grid(padding=(0, 1), expand=True)
    for _ in snap["players"]:
        panels.add_column(ratio=1)
    now_qn = float(snap.get("bar_qn", -1.0))
    panels.add_row(*[_player_panel(p, now_qn) for p in snap["players"]])
    parts: list[Any] = [head, _beat(snap), panels]
    if len(snap["players"]) >= 2:
        parts.append(_meter(snap["sync"], snap["players"][0]["name"], snap["players"][1]["name"]))
    for msg in snap["messages"]:
        parts.append(Text(f"• {msg}", style="yellow"))
    parts.append(Text("Ctrl-C or q stops; everything played is kept", style="dim"))
    return Group(*parts)
