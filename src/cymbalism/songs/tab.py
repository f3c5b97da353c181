"""Drum tablature: one row per lane, one character per step, bars between ``|``.

The same notation is read (the built-in songs are written in it) and printed
(``cymbalism songs show``)::

    CR |x---------------|
    HH |--x-x-x-x-x-x-x-|
    SD |----o--g----o---|
    BD |o-------o-o-----|

A step is ``-`` or ``.`` (rest), ``x`` or ``o`` (a note), ``X`` or ``O`` (an accent) or
``g`` (a ghost note); a game chart's notes under a drum roll are printed ``~`` (the
drummer rolls there, at their own rate). Rows are named by the lanes' short names
(``BD``, ``SD``, ``HH``, ``OH``, ``HP``, ``T1``, ``T2``, ``FT``, ``CR``, ``RD``). A bar's
steps divide it evenly:
16 steps in a 4/4 bar are 16th notes, 12 are 8th-note triplets.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.chart import (
    ACCENT_VELOCITY,
    GHOST_MAX_VELOCITY,
    GHOST_VELOCITY,
    NORMAL_VELOCITY,
    Chart,
    Part,
)
from cymbalism.model.lanes import Lane

__all__ = ["TAB_ORDER", "format_tab", "parse_bar"]

#: The order of rows in printed tablature, top to bottom (cymbals, toms, snare, feet).
TAB_ORDER = (
    Lane.CRASH,
    Lane.RIDE,
    Lane.HIHAT_OPEN,
    Lane.HIHAT_CLOSED,
    Lane.TOM_HIGH,
    Lane.TOM_MID,
    Lane.SNARE,
    Lane.TOM_FLOOR,
    Lane.KICK,
    Lane.HIHAT_PEDAL,
)
_STEP_VELOCITY = {
    "x": NORMAL_VELOCITY,
    "o": NORMAL_VELOCITY,
    "X": ACCENT_VELOCITY,
    "O": ACCENT_VELOCITY,
    "g": GHOST_VELOCITY,
}
_REST = {"-", "."}
_CYMBALS = {Lane.CRASH, Lane.RIDE, Lane.HIHAT_OPEN, Lane.HIHAT_CLOSED, Lane.HIHAT_PEDAL}
_GRIDS = (1, 2, 4, 8, 16, 32, 3, 6, 12, 24, 48)  # steps per whole note tried, simplest first


def parse_bar(
    rows: Mapping[str, str], *, start_qn: float, bar_qn: float, where: str = "tab"
) -> tuple[list[float], list[int], list[int]]:
    """Read one bar of tablature.

    Parameters
    ----------
    rows : Mapping[str, str]
        Lane short name -> the bar's steps, such as ``{"BD": "o---o---"}``.
    start_qn : float
        Where the bar starts, in quarter notes.
    bar_qn : float
        The bar's length in quarter notes.
    where : str
        Where the bar comes from, for error messages.

    Returns
    -------
    qn, lane, velocity : lists
        One entry per note, unsorted.
    """
    qn: list[float] = []
    lanes: list[int] = []
    vel: list[int] = []
    for name, steps in rows.items():
        try:
            lane = Lane.parse(name)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        steps = steps.strip()
        if not steps:
            continue
        step_qn = bar_qn / len(steps)
        for i, ch in enumerate(steps):
            if ch in _REST:
                continue
            if ch not in _STEP_VELOCITY:
                raise InputError(f"{where}: row {name} has {ch!r} at step {i + 1}; use - x X o O g")
            qn.append(start_qn + i * step_qn)
            lanes.append(int(lane))
            vel.append(_STEP_VELOCITY[ch])
    return qn, lanes, vel


def _step_char(lane: Lane, velocity: int) -> str:
    base = "x" if lane in _CYMBALS else "o"
    if velocity <= GHOST_MAX_VELOCITY:
        return "g"
    if velocity >= ACCENT_VELOCITY:
        return base.upper()
    return base


#: Longer than any bar (in quarter notes): how far past a song's end its last bar line is
#: looked for.
_LONGEST_BAR_QN = 64.0

#: How far from a step a note may sit and still be drawn on it, in steps: a community
#: chart's note a tick off its 16th (1/192 of a beat: 0.02 of a 16th) stays on the 16th
#: grid, while a triplet (a third of a step off) or a 32nd (half a step) does not.
_ON_STEP = 0.05


def _bar_grid(offsets_qn: np.ndarray, bar_qn: float) -> int:
    """The fewest even steps of a bar that hold every offset (48 per whole note at most)."""
    whole = bar_qn / 4.0
    for per_whole in sorted(_GRIDS):
        n = max(1, round(per_whole * whole))
        pos = offsets_qn / bar_qn * n
        if np.all(np.abs(pos - np.round(pos)) < _ON_STEP):
            return n
    return max(1, round(48 * whole))


def format_tab(
    chart: Chart,
    part: Part,
    *,
    bars_per_line: int = 4,
    min_steps: int = 8,
    roll: np.ndarray | None = None,
) -> str:
    """Print a part as drum tablature, section by section.

    Parameters
    ----------
    chart : Chart
        The song (for its bars and sections).
    part : Part
        The part to print (one of ``chart.parts``, or a simplified one).
    bars_per_line : int
        Bars per system before wrapping.
    min_steps : int
        The fewest steps a 4/4 bar is drawn with, so sparse bars stay readable.
    roll : np.ndarray [shape=(len(part),), bool], optional
        The notes under a drum roll (:meth:`~cymbalism.model.chart.Chart.roll_mask`),
        printed ``~``.

    Returns
    -------
    text : str
        Notes off every grid up to 48 steps a bar are drawn at the nearest step.
    """
    tm = chart.tempo_map
    bar_lines = tm.bar_lines_qn(chart.end_qn)
    if bar_lines.size == 0:
        return ""
    lanes_used = [lane for lane in TAB_ORDER if np.any(part.lane == lane)]
    # the last bar is drawn whole, though the song may end before its bar line
    after = tm.bar_lines_qn(chart.end_qn + _LONGEST_BAR_QN)
    after = after[after > bar_lines[-1] + 1e-9]
    bounds = np.append(
        bar_lines, max(float(after[0]), chart.end_qn) if after.size else chart.end_qn
    )
    bars: list[dict[Lane, str]] = []
    for start, stop in pairwise(bounds):
        bar_qn = float(stop - start)
        at = part.span(float(start), float(stop))
        notes = part.select(at)
        rolled = np.zeros(len(notes), dtype=bool) if roll is None else roll[at]
        offsets = notes.qn - start
        n = _bar_grid(offsets, bar_qn)
        while n < min_steps * bar_qn / 4.0:
            n *= 2  # a multiple of the grid keeps every note on a step
        rows = {lane: ["-"] * n for lane in lanes_used}
        steps = np.clip(np.round(offsets / bar_qn * n).astype(int), 0, n - 1)
        for step, lane, vel, r in zip(steps, notes.lane, notes.velocity, rolled, strict=True):
            rows[Lane(int(lane))][step] = "~" if r else _step_char(Lane(int(lane)), int(vel))
        bars.append({lane: "".join(r) for lane, r in rows.items()})

    # group bars into sections, then lines of bars_per_line
    # a section starts at the bar it starts in (a pickup's section, mid-bar)
    starts = [0]
    names = [chart.section_at(float(bar_lines[0])) or "start"]
    for i, (q, stop) in enumerate(pairwise(bounds)):
        for sq, name in chart.sections:
            if q - 1e-9 <= sq < stop - 1e-9 and i > 0:
                if starts[-1] == i:  # two sections start in one bar: the later names it
                    names[-1] = name
                else:
                    starts.append(i)
                    names.append(name)
    starts.append(len(bars))
    out: list[str] = []
    for name, a, b in zip(names, starts[:-1], starts[1:], strict=True):
        if a >= b:
            continue
        head = f"[{name}] bars {a + 1}-{b}"
        if not any(bar[lane].strip("-") for bar in bars[a:b] for lane in lanes_used):
            out.append(f"{head}: rests")  # a section the drums sit out: one line
            continue
        if out and out[-1]:
            out.append("")
        out.append(head)
        for line_start in range(a, b, bars_per_line):
            chunk = bars[line_start : min(b, line_start + bars_per_line)]
            in_line = [lane for lane in lanes_used if any(bar[lane].strip("-") for bar in chunk)]
            for lane in in_line:
                out.append(f"{lane.short} |" + "|".join(bar[lane] for bar in chunk) + "|")
            if in_line:
                out.append("")
    return "\n".join(out).rstrip() + "\n"
