"""One report for any number of players (``analyze_players``)."""

from __future__ import annotations

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
