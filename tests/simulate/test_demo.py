"""The demo duet: the song played through twice, past three minutes."""

from __future__ import annotations

import numpy as np
import pytest


def test_the_demo_plays_the_song_through_until_three_minutes():
    from cymbalism.model.chart import Level
    from cymbalism.simulate.demo import demo_chart, run_demo

    song, result = demo_chart(), run_demo(seed=1)
    played = result.chart
    assert played.end_sec >= 180 and played.end_sec == pytest.approx(2 * song.end_sec)
    for level in (Level.EXPERT, Level.BEGINNER):
        once, twice = song.part(level), played.part(level)
        assert len(twice) == 2 * len(once)
        np.testing.assert_allclose(twice.qn[len(once) :], once.qn + song.end_qn)
    assert len(played.sections) == 2 * len(song.sections)
    assert result.report.players[0].stats.n_notes == len(played.part(Level.EXPERT))
