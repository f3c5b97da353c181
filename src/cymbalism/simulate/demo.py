"""The demo duet: a simulated expert and beginner play a disco-pop song together.

The song is the built-in "Mirrorball Nights" at 114 BPM (four on the floor, open
hi-hat on the off-beats): the expert plays the full part, the beginner the derived
Beginner part (kick on 1 and 3, snare on 2 and 4, hi-hat on the quarters).
"""

from __future__ import annotations

from dataclasses import dataclass

from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.model.chart import Chart, Level
from cymbalism.simulate.drummer import BEGINNER, EXPERT, DrummerModel, simulate_duet
from cymbalism.songs import get_song

__all__ = ["DemoResult", "demo_chart", "run_demo"]


def demo_chart(bpm: float = 114.0) -> Chart:
    """The built-in disco-pop song ``mirrorball`` (114 BPM) with every level derived."""
    song = get_song("mirrorball")
    written = float(song.tempo_map.bpm[0])
    return song if bpm == written else song.scaled(bpm / written)


@dataclass(frozen=True, eq=False)
class DemoResult:
    """The demo's chart, the two players and what the analysis found."""

    chart: Chart
    models: tuple[DrummerModel, DrummerModel]
    report: AnalysisReport


def run_demo(*, seed: int = 2026, bpm: float = 114.0) -> DemoResult:
    """Simulate the expert and the beginner playing the demo groove, and analyse the duet."""
    chart = demo_chart(bpm)
    expert, beginner = EXPERT, BEGINNER
    a, b = simulate_duet(
        chart, expert, beginner, level_a=Level.EXPERT, level_b=Level.BEGINNER, seed=seed
    )
    report = analyze_players(
        [a, b],
        tempo_map=chart.tempo_map,
        targets=[chart.targets(Level.EXPERT), chart.targets(Level.BEGINNER)],
        names=["expert", "beginner"],
        title=chart.title,
    )
    return DemoResult(chart, (expert, beginner), report)
