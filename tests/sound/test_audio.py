"""Song folders and stems placed on song time; bad and broken audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cymbalism.errors import InputError
from cymbalism.songs import get_song
from cymbalism.sound.audio import find_stems, load_song_audio, song_audio_for
from cymbalism.sound.mixer import Mixer
from cymbalism.sound.music import MusicTrack
from cymbalism.sound.render import as_written

SR = 44_100


def click_at(n: int, frames: list[int], value: float = 0.5) -> np.ndarray:
    x = np.zeros((n, 2), np.float32)
    for f in frames:
        x[f] = value
    return x


# ------------------------------------------------------------------ song folders
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A song folder: song.ogg and bass.wav (48 kHz) with a click at 1.25 s, drums.flac."""
    song = click_at(3 * SR, [round(1.25 * SR)])
    sf.write(tmp_path / "song.ogg", song, SR)
    sf.write(tmp_path / "bass.wav", click_at(3 * 48_000, [round(1.25 * 48_000)], 0.3), 48_000)
    sf.write(tmp_path / "drums.flac", click_at(3 * SR, [round(2.0 * SR)], 0.9), SR)
    (tmp_path / "song.ini").write_text("[song]\nname = Test\ndelay = 250\n")
    return tmp_path


def _first_loud(x: np.ndarray, thr: float) -> int:
    return int(np.flatnonzero(np.abs(x[:, 0]) > thr)[0])


def test_stems_start_on_their_sample_with_delay_offset_and_drums_muted(folder: Path) -> None:
    assert set(find_stems(folder)) == {"song", "bass", "drums"}
    audio = load_song_audio(folder, sample_rate=SR)
    assert audio is not None and audio.offset_sec == 0.25 and not audio.drums_in_music
    chart = get_song("click")
    mixer = Mixer(SR, {"music": 1.0})
    track = MusicTrack(audio, mixer, chart_map=chart.tempo_map)
    track.add_bars(as_written(chart)[:2])
    track.finish()
    out = mixer.render_span(0, 3 * SR)
    # the click 1.25 s into the file sounds at song second 1.0, to the sample; the bass
    # stem was at 48 kHz and is resampled (its click lands on the same sample)
    peak = int(np.argmax(np.abs(out[:, 0])))
    assert peak == SR
    assert np.abs(out[:, 0]).max() > 0.55  # both stems at once: more than either alone
    # the drum stem (its hit at 2.0 s in the file: song 1.75 s) is muted
    assert np.abs(out[round(1.75 * SR) - 5 : round(1.75 * SR) + 5]).max() < 1e-3


def test_the_chart_offset_places_audio_when_song_ini_has_no_delay(folder: Path) -> None:
    (folder / "song.ini").write_text("[song]\nname = Test\ndelay = 0\n")
    chart = get_song("click").with_parts({})
    chart = type(chart)(**{**chart.__dict__, "metadata": {"offset_sec": "0.5"}})
    audio = load_song_audio(folder, chart=chart, audio_offset_ms=-100, sample_rate=SR)
    assert audio is not None and audio.offset_sec == pytest.approx(0.4)
    mixer = Mixer(SR, {"music": 1.0})
    track = MusicTrack(audio, mixer, chart_map=chart.tempo_map)
    track.add_bars(as_written(chart)[:2])
    out = mixer.render_span(0, 2 * SR)
    assert int(np.argmax(np.abs(out[:, 0]))) == round((1.25 - 0.4) * SR)


def test_bad_audio_is_said_in_one_line_and_the_rest_plays(folder: Path, tmp_path: Path) -> None:
    (folder / "guitar.mp3").write_bytes(b"ID3 this is not audio at all" * 50)
    audio = load_song_audio(folder, sample_rate=SR)
    assert audio is not None and "song" in audio.sources
    (line,) = [m for m in audio.messages if "guitar.mp3" in m]
    assert "\n" not in line and ".ogg" in line and ".flac" in line
    with pytest.raises(InputError, match=r"guitar\.mp3: cannot decode it"):
        load_song_audio(folder / "guitar.mp3", sample_rate=SR)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.chart").write_text("")
    got, said = song_audio_for(empty / "notes.chart")
    assert got is None and "click" in said[0]


def test_stems_of_the_band_alone_have_no_drums_in_them(tmp_path: Path) -> None:
    sf.write(tmp_path / "guitar.ogg", click_at(SR, [100]), SR)
    audio = load_song_audio(tmp_path, sample_rate=SR)
    assert audio is not None and not audio.drums_in_music and audio.drums is None
    assert not any("full mix" in m for m in audio.messages)
    sf.write(tmp_path / "song.ogg", click_at(SR, [100]), SR)  # the whole song: its drums too
    audio = load_song_audio(tmp_path, sample_rate=SR)
    assert audio is not None and audio.drums_in_music


def test_a_song_whose_audio_cannot_be_read_says_which_file_and_why(tmp_path: Path) -> None:
    (tmp_path / "song.ogg").write_bytes(b"OggS" + bytes(400))
    (tmp_path / "notes.chart").write_text("")
    got, said = song_audio_for(tmp_path / "notes.chart")
    assert got is None
    assert said[0].startswith(f"{tmp_path / 'song.ogg'}: cannot decode it")
    assert said[-1] == f"{tmp_path.name}: no readable audio, so no recording plays"
    # audio asked for by name must be there
    with pytest.raises(InputError, match=r"--audio .*: no readable audio \(.*song\.ogg"):
        song_audio_for("click", audio=tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no readable audio \(no audio files in it\)"):
        song_audio_for("click", audio=empty)


def test_audio_that_breaks_off_keeps_what_was_read(tmp_path: Path) -> None:
    x = (np.random.default_rng(0).normal(size=(10 * SR, 2)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "song.flac", x, SR)
    data = (tmp_path / "song.flac").read_bytes()
    (tmp_path / "song.flac").write_bytes(data[: len(data) // 2])
    audio = load_song_audio(tmp_path, sample_rate=SR)
    assert audio is not None and 2 * SR < audio.music.shape[0] < 8 * SR
    assert any("breaks off at 0:0" in m for m in audio.messages)
    assert any("full mix" in m for m in audio.messages)


def test_an_m4a_for_phones_keeps_its_time_and_headroom(tmp_path: Path) -> None:
    from cymbalism.sound.audio import read_audio_file, write_audio

    x = np.zeros((2 * SR, 2), np.float32)
    x[SR // 2 : SR // 2 + 400] = np.sin(np.arange(400) / 3.0)[:, None]  # a full-scale burst
    path = write_audio(tmp_path / "duet.m4a", x, SR)
    y, broke = read_audio_file(path, SR)
    assert broke is None and abs(y.shape[0] - x.shape[0]) < 2048
    # the burst where it was written, its peak under full scale after lossy coding
    assert abs(int(np.argmax(np.abs(y[:, 0]) > 0.3)) - SR // 2) <= 2
    assert 0.8 < np.abs(y).max() < 1.0
    with pytest.raises(InputError, match=r"\.wav, \.flac, \.ogg or \.m4a"):
        write_audio(tmp_path / "duet.mp3", x, SR)
