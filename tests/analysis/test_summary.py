"""One report for any number of players (``analyze_players``)."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.analysis.summary import analyze_players
from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap


def test_analyze_players_checks_its_arguments():
    hits = Hits.from_arrays([0.5, 1.0], Lane.SNARE)
    tm = TempoMap.constant(120)
    with pytest.raises(InputError, match="nothing to analyse"):
        analyze_players([], tempo_map=tm)
    with pytest.raises(InputError, match="names must differ"):
        analyze_players([hits, hits], tempo_map=tm, names=["x", "x"])
    with pytest.raises(InputError, match="one part per player"):
        analyze_players([hits, hits], tempo_map=tm, targets=[hits])
    report = analyze_players([hits, hits, hits], tempo_map=tm)
    assert len(report.pairs) == 3 and len(report.to_dict()["pairs"]) == 3


def test_came_together_needs_enough_shared_notes_and_both_players_hitting():
    """'Came together' was reported from 5 shared notes at 7-13% hit rates: tight over a
    few notes two players happened to hit says nothing of playing together."""
    from cymbalism.analysis.summary import (
        MIN_TOGETHER_HIT_RATE,
        MIN_TOGETHER_SHARED,
        pair_came_together,
    )
    from cymbalism.analysis.sync import Asynchrony, came_together
    from cymbalism.analysis.timing import TimingStats

    def stats(rate: float) -> TimingStats:
        n = 100
        hit = round(rate * n)
        return TimingStats(n, hit, n - hit, 0, hit / n, 0.0, 0.01, 0.01)

    def asy(n: int) -> Asynchrony:
        t = np.linspace(14.0, 14.0 + 0.5 * (n - 1), n)
        return Asynchrony(t, np.random.default_rng(1).normal(0.0, 0.005, n))

    few = asy(5)
    assert came_together(few) is not None  # the bare rule finds a moment ...
    assert pair_came_together(few, stats(0.07), stats(0.13)) is None  # ... that says nothing
    assert pair_came_together(few, stats(0.95), stats(0.95)) is None  # too few shared notes
    many = asy(MIN_TOGETHER_SHARED + 10)
    low = MIN_TOGETHER_HIT_RATE - 0.05
    assert pair_came_together(many, stats(0.95), stats(low)) is None  # one barely playing
    assert pair_came_together(many, stats(0.95), stats(0.9)) == came_together(many)


def test_why_a_sparse_tight_duet_is_not_told_together():
    """One shared note every 4 s, 3 ms apart at most: no 8 s window holds the four notes
    a spread needs, so no moment is found; the reason said their spread did not stay
    under 30 ms. It says the notes are too far apart to measure it."""
    from cymbalism.analysis.summary import pair_together
    from cymbalism.analysis.sync import Asynchrony
    from cymbalism.analysis.timing import TimingStats

    t = np.arange(40) * 4.0
    asy = Asynchrony(t, np.random.default_rng(2).uniform(-0.003, 0.003, t.size))
    full = TimingStats(40, 40, 0, 0, 1.0, 0.0, 0.003, 0.003)
    when, why = pair_together(asy, full, full, names=("Ana", "Ben"))
    assert when is None and why is not None
    assert "did not stay under" not in why
    assert "too far apart" in why and "4 shared notes within 8 s" in why
