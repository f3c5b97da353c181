"""The recording along the bar layout: practice tempo (pitch kept), loops, late bars."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.model.session import BarLayout
from cymbalism.songs import get_song
from cymbalism.sound.audio import song_audio_for
from cymbalism.sound.mixer import Mixer
from cymbalism.sound.music import FADE_SEC, MusicTrack
from cymbalism.sound.render import as_written

SR = 44_100


@pytest.mark.slow
def test_at_70_percent_the_music_keeps_its_pitch_and_lasts_1_over_0_7() -> None:
    import librosa

    chart = get_song("harbor-waltz")
    audio, _ = song_audio_for("harbor-waltz", chart, sample_rate=SR)
    assert audio is not None
    renders = {}
    for tempo in (1.0, 0.7):
        mixer = Mixer(SR, {"music": 1.0})
        track = MusicTrack(audio, mixer, chart_map=chart.tempo_map, tempo_scale=tempo)
        track.add_bars(as_written(chart)[:12])
        renders[tempo] = mixer.render_span(0, mixer.last_frame())
    n100, n70 = renders[1.0].shape[0], renders[0.7].shape[0]
    assert n70 == pytest.approx(n100 / 0.7, abs=SR * 0.011)
    chroma = {
        t: librosa.feature.chroma_stft(y=r.mean(axis=1), sr=SR, n_fft=8192).mean(axis=1)
        for t, r in renders.items()
    }
    a, b = chroma[1.0], chroma[0.7]
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.98
    assert set(np.argsort(a)[-3:]) == set(np.argsort(b)[-3:])


def test_a_loop_jumps_back_without_a_click() -> None:
    chart = get_song("click")
    audio, _ = song_audio_for("click", chart, sample_rate=SR)
    assert audio is not None
    mixer = Mixer(SR, {"music": 1.0})
    bars = as_written(chart)
    bar_sec = 2.4
    loop = [bars[0], bars[1], BarLayout(bars[0].start_qn, bars[0].end_qn, 1.0, 2 * bar_sec)]
    MusicTrack(audio, mixer, chart_map=chart.tempo_map).add_bars(loop)
    out = mixer.render_span(0, round(3 * bar_sec * SR)).mean(axis=1)
    # the third bar is the first again, sample for sample after the crossfade
    j = round(2 * bar_sec * SR)
    np.testing.assert_allclose(out[j + 600 : j + SR], out[600:SR], atol=1e-6)
    # and the join has no jump bigger than the music's own steps
    assert np.abs(np.diff(out[j - 500 : j + 500])).max() <= 1.5 * np.abs(np.diff(out)).max()


def test_a_bar_laid_out_late_plays_on_and_joins_where_it_can() -> None:
    # Live, each bar's music goes on half a second along its line. A bar that comes
    # after the sound card has passed its start (a busy machine) finds music still
    # playing there, and joins it a fade after where the card has got to.
    chart = get_song("fast-lane")
    audio, _ = song_audio_for("fast-lane", chart, sample_rate=SR)
    assert audio is not None
    base = chart.tempo_map.scaled(0.7)
    bars = as_written(chart)
    bar_frames = round(float(base.qn_to_sec(bars[1].start_qn)) * SR)

    def play(late: bool, loop: bool) -> tuple[np.ndarray, np.ndarray]:
        mixer = Mixer(SR, {"music": 1.0})
        track = MusicTrack(audio, mixer, chart_map=chart.tempo_map, tempo_scale=0.7, ahead_sec=0.5)
        track.add_bar(bars[0])
        head = mixer.render_span(0, bar_frames + 2000 if late else bar_frames - 2000)
        second = bars[0] if loop else bars[1]
        if loop:  # bar 1 again, right after itself
            second = BarLayout(second.start_qn, second.end_qn, 1.0, bar_frames / SR)
        track.add_bar(second)
        rest = mixer.render_span(mixer.rendered_until or 0, 2 * bar_frames)
        return head[:, 0], rest[:, 0]

    on_time = np.concatenate(play(late=False, loop=False))
    head, rest = play(late=True, loop=False)
    # carrying on as it goes: the late bar changes nothing
    np.testing.assert_allclose(np.concatenate([head, rest]), on_time, atol=1e-6)
    head, rest = play(late=True, loop=True)
    # a jump back that came late: music until the join, then the loop's start
    assert np.abs(head[-2000:]).max() > 0.01  # no silence where the bar line passed
    joined = rest[round(FADE_SEC * SR) * 2 :]
    k = bar_frames + 2000 + round(FADE_SEC * SR) * 2 - bar_frames  # into the loop
    np.testing.assert_allclose(joined[:4000], on_time[k : k + 4000], atol=1e-6)
