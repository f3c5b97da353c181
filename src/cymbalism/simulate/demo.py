"""The demo duet: a simulated expert and beginner play a disco-pop song together.

The song is the built-in "Mirrorball Nights" at 114 BPM (four on the floor, open
hi-hat on the off-beats), played through twice (3:26): the expert plays the full part,
the beginner the derived Beginner part (kick on 1 and 3, snare on 2 and 4, hi-hat on the
quarters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.simulate.drummer import BEGINNER, EXPERT, DrummerModel, simulate_duet
from cymbalism.songs import get_song

__all__ = ["DemoResult", "demo_chart", "run_demo"]


#: The demo session lasts at least this long: the song is played through again until then.
DEMO_MIN_SEC = 180.0


def demo_chart(bpm: float = 114.0) -> Chart:
    """The built-in disco-pop song ``mirrorball`` (114 BPM) with every level derived."""
    song = get_song("mirrorball")
    written = float(song.tempo_map.bpm[0])
    return song if bpm == written else song.scaled(bpm / written)


def _played_through(song: Chart, min_sec: float) -> Chart:
    """The song repeated until it lasts ``min_sec`` (songs with one tempo and metre only)."""
    tm = song.tempo_map
    times = math.ceil(min_sec / song.end_sec)
    if times <= 1 or not tm.is_constant or len(tm.time_signatures) > 1:
        return song
    length = song.end_qn
    parts = {
        level: Part.from_arrays(
            np.concatenate([part.qn + k * length for k in range(times)]),
            np.tile(part.lane, times),
            np.tile(part.velocity, times),
        )
        for level, part in song.parts.items()
    }
    sections = tuple(
        (q + k * length, name if k == 0 else f"{name} ({k + 1})")
        for k in range(times)
        for q, name in song.sections
    )
    return replace(song, parts=parts, sections=sections, end_qn=times * length)


@dataclass(frozen=True, eq=False)
class DemoResult:
    """The demo's chart, the two players and what the analysis found."""

    chart: Chart
    models: tuple[DrummerModel, DrummerModel]
    report: AnalysisReport


def run_demo(*, seed: int = 2026, bpm: float = 114.0) -> DemoResult:
    """Simulate the expert and the beginner playing the demo song (twice through, so for
    over three minutes), and analyse the duet."""
    chart = _played_through(demo_chart(bpm), DEMO_MIN_SEC)
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
