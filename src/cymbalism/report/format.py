"""Figures as people read them: milliseconds, m:ss clocks, counts and sparklines.

The report (HTML, share card, plots), the terminal and the studio format figures with
these, so a figure reads the same wherever it is shown. numpy only: importing this does
not load matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "BARS",
    "clock",
    "counted",
    "date_time",
    "listed",
    "ms",
    "narrow_table",
    "sentence",
    "sparkline",
]

#: The eight heights of a sparkline, lowest first.
BARS = "▁▂▃▄▅▆▇█"


def ms(sec: float | None, *, signed: bool = False) -> str:
    """Seconds as whole milliseconds for people (``0.0123`` -> ``"12 ms"``)."""
    if sec is None or not np.isfinite(sec):
        return "–"
    whole = round(sec * 1000)  # an int: -0.4 ms is "0 ms", never "-0 ms"
    return f"{whole:+d} ms" if signed and whole else f"{whole:d} ms"


def listed(items: Sequence[str], last: str = "and") -> str:
    """Items as a list for people: ``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def sentence(clause: str) -> str:
    """A clause as a sentence for people: ``"they never came together"`` -> ``"They never
    came together."``; ``""`` stays empty."""
    return f"{clause[:1].upper()}{clause[1:]}." if clause else ""


def clock(sec: float, *, decimals: int = 0) -> str:
    """Seconds as a clock for people: ``83.4`` -> ``"1:23"`` (``"1:23.4"`` with one decimal)."""
    if not np.isfinite(sec):
        return "–"
    sign = "-" if sec < 0 else ""
    scale = 10**decimals
    minutes, rest = divmod(round(abs(sec) * scale), 60 * scale)
    width = 2 + (decimals + 1 if decimals else 0)
    return f"{sign}{minutes}:{rest / scale:0{width}.{decimals}f}"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``counted(1, "song")`` -> ``"1 song"``,
    ``counted(3, "song")`` -> ``"3 songs"``, ``counted(2, "hit", "hits")``; the plural is
    ``noun + "s"`` unless given."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def sparkline(values: Any, *, low: float | None = None, high: float | None = None) -> str:
    """A row of unicode bars for a series (a space where a value is missing).

    ``low`` and ``high`` (default: the series' own range) get the lowest and the highest
    bar; values outside them are drawn at the nearest end.
    """
    x = np.asarray(values, dtype=np.float64)
    if not x.size:
        return ""
    finite = x[np.isfinite(x)]
    if not finite.size:
        return " " * x.size
    lo = float(finite.min()) if low is None else low
    hi = float(finite.max()) if high is None else high
    span = hi - lo
    out = []
    for v in x:
        if not np.isfinite(v):
            out.append(" ")
            continue
        k = 0 if span <= 0 else round((v - lo) / span * (len(BARS) - 1))
        out.append(BARS[min(max(k, 0), len(BARS) - 1)])
    return "".join(out)


def narrow_table(
    columns: dict[str, str],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    title: str,
    caption: str | None = None,
) -> Any:
    """A rich table (of sessions, songs) that reads at 80 columns.

    Parameters
    ----------
    columns : dict[str, str]
        Each header and its kind: ``"figure"`` (right-aligned, never wrapped or cut),
        ``"key"`` (a name to type: left-aligned, never wrapped or cut while every figure
        and key fits the width; else folded, never cut), ``"date"`` (a
        date and time, on three lines on a narrow screen) or ``"words"`` (wrapped at
        words; a word longer than its column folds, never cut).
    rows : sequence of sequences of str
        The cells, one per column (rich markup allowed).
    width : int
        The console's width.
    title, caption : str
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=title, caption=caption, box=box.SIMPLE_HEAD, collapse_padding=True, show_edge=False
    )
    cells = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    longest = [
        max([len(header), *(Text.from_markup(v).cell_len for v in values)])
        for header, values in zip(columns, cells, strict=True)
    ]
    kept = [n for n, kind in zip(longest, columns.values(), strict=True) if kind != "words"]
    keys_fit = sum(kept) + 2 * len(kept) <= width  # else a long key folds, never cut
    for (header, kind), n in zip(columns.items(), longest, strict=True):
        if kind == "figure" or (kind == "key" and keys_fit):
            table.add_column(
                header, justify="right" if kind == "figure" else "left", no_wrap=True, min_width=n
            )
        elif kind == "key":
            table.add_column(header, overflow="fold", min_width=len(header))
        elif kind == "date":  # "16 Dec" / "2026" / "19:33"
            table.add_column(header, max_width=6 if width < 100 else None)
        else:
            table.add_column(header, overflow="fold", min_width=6)
    for row in rows:
        table.add_row(*row)
    return table


def date_time(when: Any) -> str:
    """A datetime as people read it in a table: ``6 Dec 2026 19:33``."""
    return f"{when.day} {when:%b %Y %H:%M}"
