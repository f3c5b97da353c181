"""The built-in songs' music: arrangements written as data follow their chords."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.errors import InputError
from cymbalism.songs import get_song
from cymbalism.sound.audio import song_audio_for

SR = 44_100


def test_the_built_in_music_follows_its_chords() -> None:
    import librosa

    from cymbalism.songs.music import arrangement, chord_pitch_classes, parse_chord

    assert parse_chord("D/F#") == (2, (0, 4, 7), 6)
    assert chord_pitch_classes("Am7") == {9, 0, 4, 7}
    with pytest.raises(InputError, match="unknown chord"):
        parse_chord("H7")
    chart = get_song("alley-shuffle")
    notes = arrangement("alley-shuffle")
    assert {n.part for n in notes} == {"bass", "keys", "pad", "lead"}
    audio, _ = song_audio_for("alley-shuffle", chart, sample_rate=22_050)
    assert audio is not None
    # bar 4 of the verse is A7, bar 6 is D7 (a 12-bar blues): the strongest pitch
    # classes of the recording there are the chords'
    for bar, chord in ((5, "A7"), (7, "D7")):
        a = float(chart.tempo_map.qn_to_sec(chart.tempo_map.bar_to_qn(bar)))
        seg = audio.music[round((a + 0.1) * 22_050) : round((a + 2.2) * 22_050)].mean(axis=1)
        c = librosa.feature.chroma_stft(y=seg, sr=22_050, n_fft=4096).mean(axis=1)
        assert set(np.argsort(c)[-2:].tolist()) <= chord_pitch_classes(chord)
