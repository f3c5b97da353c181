"""Recordings from phones, cameras and browsers: M4A, MP4, MOV, WebM and MKV files.

Each file is encoded here by FFmpeg (PyAV), as a phone or a camera would write it, from
drums synthesized at known times; reading it must find those hits at those times (the
encoder's priming samples placed as the container says), and a file that is cut short
must keep the hits before the cut.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cymbalism.cli import main
from cymbalism.corpus.analyze import discover
from cymbalism.errors import InputError
from cymbalism.io.audio import AudioWarning, calibrate_kit, read_audio, synthesize_hits
from cymbalism.io.audio.files import (
    FFMPEG_SUFFIXES,
    AudioBrokeOff,
    encode_with_ffmpeg,
    open_sound,
)
from cymbalism.io.performance import load_performance
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.sound.audio import load_song_audio
from tests.io.audio.test_audio import DEFAULT_LANES, isolated_hits, matched

av = pytest.importorskip("av")

SR = 44100
pytestmark = pytest.mark.usefixtures("kit_dir")


def encode(
    path: Path,
    codec: str,
    channels: np.ndarray,
    rate: int = SR,
    *,
    video: bool = False,
    faststart: bool = False,
) -> Path:
    """Write ``channels`` (shape ``(n_channels, n)``, at ``rate``) with FFmpeg's ``codec``,
    timestamps and all, as a recorder would."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        layout = "stereo" if channels.shape[0] == 2 else "mono"
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if video:
            picture = out.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
            for k in range(int(10 * channels.shape[1] / rate)):
                img = av.VideoFrame.from_ndarray(np.full((48, 64, 3), k, np.uint8), format="rgb24")
                img.pts = k
                out.mux(picture.encode(img))
            out.mux(picture.encode(None))
        for i in range(0, channels.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(channels[:, i : i + 1024], dtype=np.float32),
                format="fltp",
                layout=layout,
            )
            frame.sample_rate, frame.pts = rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _signal(truth: Hits, rate: int = SR) -> np.ndarray:
    return synthesize_hits(truth, rate).astype(np.float32)


@pytest.mark.parametrize(
    "name,codec,rate,video,lossy",
    [
        ("memo.m4a", "aac", SR, False, True),  # a phone's voice memo
        ("lossless.m4a", "alac", SR, False, False),  # a phone's lossless memo
        ("camera.mov", "aac", 48000, True, True),  # a camera's video
        ("phone.mp4", "aac", 48000, True, True),
        ("browser.webm", "libopus", 48000, False, True),  # a browser's MediaRecorder
        ("take.mkv", "flac", SR, False, False),
    ],
)
def test_recordings_in_phone_camera_and_browser_formats_keep_their_hits(
    tmp_path: Path, name: str, codec: str, rate: int, video: bool, lossy: bool
) -> None:
    truth = isolated_hits(DEFAULT_LANES, n=20)
    y = _signal(truth, rate)
    stereo = np.stack([y, 0.5 * y])
    path = encode(tmp_path / name, codec, stereo, rate, video=video)
    wav = tmp_path / "same.wav"
    sf.write(wav, stereo.T, rate, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)  # a whole file: nothing to warn of
        perf = read_audio(path)
    reference = read_audio(wav)
    assert perf.sample_rate == rate and perf.duration_sec == pytest.approx(y.size / rate, abs=0.05)
    # the same hits on the same drums as the same sound read from a WAV file: exactly when
    # the codec is lossless; a lossy codec's pre-echo (noise smeared before an attack that
    # is instant here, the hardest case) moves onsets by a few milliseconds
    assert np.array_equal(perf.hits.lane, reference.hits.lane)
    shift = np.abs(perf.hits.onset_sec - reference.hits.onset_sec)
    if lossy:
        assert shift.max() < 0.012 and np.median(shift) < 0.005
    else:
        assert shift.max() < 1e-4
    assert len(matched(truth, perf.hits, 0.012)) == len(truth) == len(perf.hits)


def test_open_sound_places_the_first_sample_at_time_zero(tmp_path: Path) -> None:
    click = np.zeros(SR, np.float32)
    click[SR // 2 : SR // 2 + 64] = 0.9
    path = encode(tmp_path / "click.m4a", "aac", click[None, :])
    with open_sound(path) as snd:
        assert snd.decoder == "ffmpeg" and snd.channels == 1 and snd.frames == SR
        x = np.concatenate(list(snd.blocks(1000)))
    assert x.dtype == np.float32 and x.shape[1] == 1
    # AAC puts 1024 priming samples first; the file's edit list drops them
    assert abs(int(np.argmax(np.abs(x[:, 0]) > 0.3)) - SR // 2) <= 2
    sf.write(tmp_path / "same.flac", click, SR)
    with open_sound(tmp_path / "same.flac") as snd:
        assert snd.decoder == "libsndfile" and snd.frames == SR
        assert [b.shape[0] for b in snd.blocks(16000)] == [16000, 16000, 12100]


def test_two_players_on_the_channels_of_a_phone_recording(tmp_path: Path) -> None:
    ana = isolated_hits((Lane.KICK, Lane.TOM_HIGH), n=12, seed=1)
    ben = isolated_hits((Lane.SNARE, Lane.HIHAT_CLOSED), n=12, seed=2)
    ya, yb = _signal(ana), _signal(ben)
    n = max(ya.size, yb.size)
    both = np.zeros((2, n), np.float32)
    both[0, : ya.size], both[1, : yb.size] = ya, yb
    path = encode(tmp_path / "duet.m4a", "aac", both)
    for spec, truth in ((f"{path}:L", ana), (f"{path}:R", ben)):
        got = load_performance(spec).hits
        assert len(matched(truth, got, 0.012)) == len(truth) == len(got)


def test_a_recording_cut_short_keeps_the_hits_before_the_cut(tmp_path: Path) -> None:
    truth = isolated_hits(DEFAULT_LANES, n=24)
    path = encode(tmp_path / "cut.m4a", "aac", _signal(truth)[None, :], faststart=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    said = r"cut\.m4a breaks off at 0:\d\d\.\d.*hits before it are kept"
    with pytest.warns(AudioWarning, match=said):
        perf = read_audio(path)
    assert 0 < len(perf.hits) < len(truth)
    early = truth.select(truth.onset_sec < perf.duration_sec - 0.1)
    assert len(matched(early, perf.hits, 0.012)) == len(early) > 4
    with open_sound(path) as snd, pytest.raises(AudioBrokeOff) as caught:
        for _ in snd.blocks(SR):
            pass
    assert 0 < caught.value.at_sec < len(truth) * 0.6


def test_a_wav_cut_short_says_so_though_its_reader_sees_a_shorter_file(tmp_path: Path) -> None:
    """libsndfile reads a WAV cut short as a shorter file; its header still says how long
    it was, and the hits after the cut are lost: said, the hits before it kept."""
    import soundfile as sf

    truth = isolated_hits(DEFAULT_LANES, n=24)
    path = tmp_path / "cut.wav"
    sf.write(path, _signal(truth), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(AudioWarning, match=r"cut\.wav breaks off at 0:\d\d\.\d"):
        perf = read_audio(path)
    early = truth.select(truth.onset_sec < perf.duration_sec - 0.1)
    assert len(matched(early, perf.hits, 0.012)) == len(early) > 4
    whole = tmp_path / "whole.wav"
    sf.write(whole, _signal(truth), SR, subtype="PCM_24")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)  # a whole file: nothing to say
        assert len(read_audio(whole).hits) >= len(truth)


def test_what_is_not_a_recording_says_so(tmp_path: Path) -> None:
    silent_video = tmp_path / "silent.mp4"
    with av.open(str(silent_video), "w") as out:
        picture = out.add_stream("mpeg4", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        for k in range(5):
            img = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            img.pts = k
            out.mux(picture.encode(img))
        out.mux(picture.encode(None))
    with pytest.raises(InputError, match="a video without sound"):
        read_audio(silent_video)
    garbage = tmp_path / "memo.m4a"
    garbage.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(InputError, match=r"memo\.m4a: cannot decode it.*\.m4a, \.mp4"):
        read_audio(garbage)
    assert set(FFMPEG_SUFFIXES) >= {".m4a", ".mp4", ".mov", ".webm", ".mkv"}


def test_a_phone_recording_is_music_to_play_along_to(tmp_path: Path) -> None:
    song = np.zeros((2, 3 * SR), np.float32)
    song[0, SR : SR + 100] = song[1, SR : SR + 100] = 0.8
    path = encode(tmp_path / "band.m4a", "aac", song)
    audio = load_song_audio(path, sample_rate=48000)
    assert audio is not None and audio.music.shape == (pytest.approx(3 * 48000, abs=2048), 2)
    assert abs(int(np.argmax(np.abs(audio.music[:, 0]))) - 48000) <= 40


def test_the_command_line_and_a_corpus_read_phone_recordings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = isolated_hits(DEFAULT_LANES, n=10)
    path = encode(tmp_path / "memo.m4a", "aac", _signal(truth)[None, :])
    (tmp_path / "notes.txt").write_text("not a take")
    out = tmp_path / "memo.mid"
    assert main(["transcribe", str(path), "--out", str(out), "--json"]) == 0
    assert '"hits": 10' in capsys.readouterr().out and out.is_file()
    assert [job.file for job in discover(tmp_path)] == ["memo.m4a", "memo.mid"]


def test_a_kit_is_calibrated_from_a_phone_memo(tmp_path: Path) -> None:
    order = (Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.TOM_HIGH, Lane.CRASH)
    onset = [0.5 + 3.1 * d + 0.4 * k for d in range(len(order)) for k in range(4)]
    lane = [x for x in order for _ in range(4)]
    y = synthesize_hits(Hits.from_arrays(onset, lane, 100), SR, seed=5).astype(np.float32)
    kit = calibrate_kit(encode(tmp_path / "kit.m4a", "aac", y[None, :]), name="phone", order=order)
    assert kit.lanes == order and kit.calibrated
    # the kit names each drum of a take played on it
    solo = isolated_hits(order, n=20, seed=9)
    found = read_audio(encode(tmp_path / "take.m4a", "aac", _signal(solo)[None, :]), kit=kit)
    pairs = matched(solo, found.hits, 0.012)
    assert len(pairs) == len(solo) == len(found.hits)
    assert all(found.hits.lane[j] == solo.lane[i] for i, j in pairs)


@pytest.mark.parametrize("name,codec", [("raw.aac", "aac"), ("old.wma", "wmav2")])
def test_a_format_that_does_not_say_where_its_sound_starts_is_read_with_a_warning(
    tmp_path: Path, name: str, codec: str
) -> None:
    # no container to say where the encoder's delay ends (and a raw AAC stream's length
    # is estimated from its bit rate: a whole file must not be said to break off)
    truth = isolated_hits(DEFAULT_LANES, n=12)
    y = _signal(truth)
    path = encode_with_ffmpeg(tmp_path / name, y, SR, codec=codec)
    with pytest.warns(AudioWarning, match="does not say where its encoder's delay ends") as said:
        perf = read_audio(path)
    assert not any("breaks off" in str(w.message) for w in said)
    # the hits are there, tens of milliseconds off (23 ms late for FFmpeg's raw AAC,
    # 46 ms early for its WMA, with the codec's smearing on top)
    assert len(matched(truth, perf.hits, 0.1)) >= len(truth) - 1
