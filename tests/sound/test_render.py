"""Renders of a duet and of practice tracks, read back with cymbalism's own reader."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.io.audio import detect_hits
from cymbalism.model.chart import Level
from cymbalism.model.session import Player, Session, Settings
from cymbalism.songs import get_song
from cymbalism.sound.audio import song_audio_for
from cymbalism.sound.render import render_practice, render_session

SR = 44_100


# ------------------------------------------------------------------ renders
def duet(song: str, tempo_scale: float) -> Session:
    """A perfect duet: the expert and the beginner part, every note on its time."""
    chart = get_song(song)
    base = chart.tempo_map.scaled(tempo_scale)
    players = tuple(
        Player(name, level, hits=chart.part(level).to_hits(base))
        for name, level in (("Ana", Level.EXPERT), ("Ben", Level.BEGINNER))
    )
    return Session(chart, players, Settings(tempo_scale=tempo_scale))


def heard_error(frames: np.ndarray, start_sec: float, notes: np.ndarray) -> np.ndarray:
    """For each distinct note time, the reader's nearest onset in ``frames`` minus it."""
    found = np.unique(detect_hits(frames.mean(axis=1), SR).onset_sec) + start_sec
    notes = np.unique(np.round(notes, 6))
    k = np.clip(np.searchsorted(found, notes), 1, found.size - 1)
    near = np.stack([found[k - 1], found[k]])
    return near[np.argmin(np.abs(near - notes), axis=0), np.arange(notes.size)] - notes


@pytest.mark.slow
@pytest.mark.parametrize("tempo", [1.0, 0.7])
def test_a_rendered_perfect_duet_is_heard_on_the_chart_s_notes(tempo: float) -> None:
    session = duet("harbor-waltz", tempo)
    audio, _ = song_audio_for("harbor-waltz", session.chart, sample_rate=SR)
    rendered = render_session(session, audio, gains={"music": 0.25}, stems=True)
    assert rendered.start_sec < 0  # the count-in
    assert set(rendered.stems) == {"music", "drums-Ana", "drums-Ben"}
    summed = sum(rendered.stems.values())
    np.testing.assert_allclose(rendered.frames, np.clip(summed, -1, 1), atol=1e-6)
    # each player's drums on their own: every note of the part heard within 2 ms
    for player in session.players:
        stem = rendered.stems[f"drums-{player.name}"]
        err = heard_error(stem, rendered.start_sec, player.hits.onset_sec)
        assert np.abs(err).max() <= 0.002, (player.name, np.sort(np.abs(err))[-5:])
    # the whole mix, both players over the music: measured 98.7% (100%) and 100% (70%)
    everyone = np.concatenate([p.hits.onset_sec for p in session.players])
    err = heard_error(rendered.frames, rendered.start_sec, everyone)
    assert np.mean(np.abs(err) <= 0.002) >= 0.97


def test_a_practice_track_plays_the_part_over_the_music() -> None:
    chart = get_song("fast-lane")
    audio, said = song_audio_for("fast-lane", chart, sample_rate=SR)
    assert audio is not None and not audio.drums_in_music and said == []
    track = render_practice(chart, "easy", audio)
    assert track.seconds > chart.end_sec and np.abs(track.frames).max() > 0.1


def test_the_first_bars_of_a_song_stop_the_music_where_they_end() -> None:
    """A duet of a song's first bars (the studio's "stop after bar") renders the music
    to their end, as the room heard it; the whole song played to its end lets the
    recording ring on."""
    from cymbalism.web.app import first_bars

    whole = duet("harbor-waltz", 1.0)
    part = first_bars(whole.chart, 4)
    base = part.tempo_map
    players = tuple(
        Player(p.name, p.level, hits=part.part(p.level).to_hits(base)) for p in whole.players
    )
    audio, _ = song_audio_for("harbor-waltz", part, sample_rate=SR)
    rendered = render_session(Session(part, players), audio, stems=True)
    music = np.abs(rendered.stems["music"]).max(axis=1)
    last_sec = np.nonzero(music > 1e-4)[0][-1] / SR + rendered.start_sec
    end_sec = float(base.qn_to_sec(part.end_qn))
    assert end_sec - 0.05 < last_sec <= end_sec + 0.05  # to the end of bar 4, and no further
    assert first_bars(whole.chart, whole.chart.n_bars) is whole.chart  # the whole song


def test_a_chart_whose_first_bar_is_a_pickup_is_counted_in_with_a_whole_bar() -> None:
    """A community chart writes ``0 = TS 4`` and ``192 = TS 4``: its first bar is one beat.
    The live engine and the render both count in a whole 4/4 bar, four clicks a beat
    apart, and agree on where the song starts."""
    from cymbalism.io.charts import parse_chart_text
    from cymbalism.live.clock import FakeClock
    from cymbalism.live.engine import Engine
    from cymbalism.sound.render import click_times

    notes = "\n".join(f"  {192 * (k + 1)} = N {k % 2} 0" for k in range(12))
    chart = parse_chart_text(
        "[Song]\n{\n  Resolution = 192\n}\n"
        "[SyncTrack]\n{\n  0 = TS 4\n  0 = B 146000\n  192 = TS 4\n}\n"
        f"[ExpertDrums]\n{{\n{notes}\n}}\n"
    )
    beat = 60.0 / 146.0
    assert float(chart.tempo_map.bar_length_qn(0)) == 1.0  # the pickup
    engine = Engine(chart, [Player("Ana")], Settings(count_in_bars=1), FakeClock())
    assert engine.count_in_sec == pytest.approx(4 * beat)
    track = render_practice(chart, "expert", None, click=True, count_in_bars=1, sample_rate=SR)
    assert track.start_sec == pytest.approx(-4 * beat, abs=1.0 / SR)
    from cymbalism.model.session import BarLayout

    tm = chart.tempo_map
    layouts = [
        BarLayout(float(tm.bar_to_qn(bar)), float(tm.bar_to_qn(bar + 1))) for bar in range(3)
    ]
    times, accent = click_times(layouts, tm, count_in_bars=1)
    count = times[times < 0]
    np.testing.assert_allclose(count, -4 * beat + np.arange(4) * beat, atol=1e-9)
    assert accent[: count.size].tolist() == [True, False, False, False]
