"""The demo duet: a simulated expert and beginner play a disco-pop groove together.

The groove is an original pattern at 114 BPM (four on the floor, open hi-hat on the
off-beats), about three minutes long, with a full part for the expert and a beginner's
part (kick and snare on the beats, hi-hat on the quarters).
"""

from __future__ import annotations

from dataclasses import dataclass

from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.model.chart import Chart, Level
from cymbalism.simulate.drummer import BEGINNER, EXPERT, DrummerModel, simulate_duet
from cymbalism.songs import parse_song

__all__ = ["DemoResult", "demo_chart", "run_demo"]

_SECTIONS = """
[[sections]]
name = "intro"
bars = ["groove*4"]

[[sections]]
name = "verse"
bars = ["groove*19", "fill"]

[[sections]]
name = "chorus"
bars = ["chorus*19", "fill"]

[[sections]]
name = "verse 2"
bars = ["groove*19", "fill"]

[[sections]]
name = "chorus 2"
bars = ["chorus*19", "fill"]

[[sections]]
name = "outro"
bars = ["groove", "end"]
"""

_FULL = """
title = "Demo groove"
artist = "cymbalism"
style = "disco-pop"
bpm = {bpm}
time_signature = "4/4"

[patterns.groove]
HH = "x---x---x---x---"
OH = "--x---x---x---x-"
SD = "----o-------o---"
BD = "o---o---o---o---"

[patterns.chorus]
HH = "x-x-x-x-x-x-x-x-"
OH = "--x---x---x---x-"
SD = "----O--g-g--O---"
BD = "o---o---o---o---"

[patterns.fill]
SD = "o-o-o-o-o-o-oooo"
BD = "o-------o-------"

[patterns.end]
BD = "o---------------"
"""

_EASY = """
title = "Demo groove"
bpm = {bpm}
time_signature = "4/4"

[patterns.groove]
HH = "x---x---x---x---"
SD = "----o-------o---"
BD = "o-------o-------"

[patterns.chorus]
HH = "x---x---x---x---"
SD = "----o-------o---"
BD = "o-------o-------"

[patterns.fill]
SD = "o---o---o---o---"

[patterns.end]
BD = "o---------------"
"""


def demo_chart(bpm: float = 114.0) -> Chart:
    """The demo groove (86 bars: three minutes at 114 BPM) with an Expert and a Beginner part."""
    full = parse_song(_FULL.format(bpm=bpm) + _SECTIONS, name="demo")
    easy_sections = _SECTIONS.replace("bars = [", "crash = false\nbars = [")
    easy = parse_song(_EASY.format(bpm=bpm) + easy_sections, name="demo-easy")
    return full.with_parts({Level.BEGINNER: easy.part(Level.EXPERT)})


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
