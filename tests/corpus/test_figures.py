"""The windows the corpus figures are computed over."""

from __future__ import annotations

import numpy as np

from cymbalism.corpus.figures import bar_edges_sec
from cymbalism.model.tempo import TempoMap


def test_bar_edges_cover_the_performance():
    tempo = TempoMap(tempos=[(0.0, 120.0), (16.0, 60.0)])
    edges = bar_edges_sec(tempo, bars=2, end_sec=20.0)
    # Bars of 2 s until qn 16 (8 s), then 4 s bars: windows of 4 s, then of 8 s.
    np.testing.assert_allclose(edges, [0.0, 4.0, 8.0, 16.0, 24.0])
