"""The live view's drum tab of the bars to come, at the widths a terminal gives it."""

from __future__ import annotations

import pytest
from rich.console import Console

from cymbalism.live.view import Upcoming
from cymbalism.model.lanes import Lane

K, S = int(Lane.KICK), int(Lane.SNARE)


def _tab(bars: list[dict], width: int) -> list[str]:
    console = Console(width=width, color_system=None, record=True)
    console.print(Upcoming(bars, 0.5))
    return console.export_text().splitlines()


def _bar(number: int, notes: list[tuple[float, int]]) -> dict:
    return {"bar": number, "length_qn": 4.0, "notes": [(q, lane, 100) for q, lane in notes]}


@pytest.mark.parametrize("width", [36, 40])
def test_a_double_kick_a_sixteenth_after_a_kick_gets_its_own_cell(width):
    # in eighths two bars would fit, but the kick a 16th after the kick would share its cell
    double = [(0.0, K), (0.25, K), (1.0, S), (2.0, K), (2.25, K), (3.0, S)]
    lines = _tab([_bar(7, double), _bar(8, [(0.0, K), (1.0, S)])], width)
    kicks = next(line for line in lines if line.startswith("BD "))
    assert kicks.startswith("BD |oo------oo------")  # the next bar in 16ths, each kick seen
    assert all(len(line) <= width for line in lines)


def test_a_part_on_eighths_keeps_two_bars_in_eighths():
    eighths = [(0.0, K), (0.5, K), (1.0, S), (2.0, K), (3.0, S)]
    lines = _tab([_bar(7, eighths), _bar(8, eighths)], 36)
    assert "BD |oo--o---|oo--o---" in lines
