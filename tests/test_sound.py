"""What people hear: the kit, song folders on song time, the mixer, stretch and renders.

No sound card: the output callback and the renders are run offline and read back with
cymbalism's own audio reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from cymbalism.errors import InputError
from cymbalism.io.audio import detect_hits
from cymbalism.live.clock import FakeClock
from cymbalism.live.metronome import AudioOutput
from cymbalism.model.chart import Level
from cymbalism.model.lanes import Lane
from cymbalism.model.session import BarLayout, Player, Session, Settings
from cymbalism.songs import get_song
from cymbalism.sound.audio import find_stems, load_song_audio, song_audio_for, write_audio
from cymbalism.sound.kit import LAYER_VELOCITIES, SampleKit, kit_manifest
from cymbalism.sound.mixer import Mixer, Placed, parse_mix
from cymbalism.sound.music import FADE_SEC, MusicTrack
from cymbalism.sound.render import HitVoices, as_written, render_practice, render_session

SR = 44_100


def click_at(n: int, frames: list[int], value: float = 0.5) -> np.ndarray:
    x = np.zeros((n, 2), np.float32)
    for f in frames:
        x[f] = value
    return x


# ------------------------------------------------------------------ the kit
def test_every_lane_has_its_layers_and_the_manifest_names_real_files() -> None:
    manifest = kit_manifest()
    assert manifest["sample_rate"] == SR and manifest["layers"] == list(LAYER_VELOCITIES)
    lanes = manifest["lanes"]
    assert {spec["lane"] for spec in lanes.values()} == {int(x) for x in Lane}
    kit = SampleKit(48_000)
    for lane in Lane:
        soft, _ = kit.voice(lane, 30)
        loud, gain = kit.voice(lane, 127)
        assert gain == 1.0 and np.abs(loud).max() > np.abs(soft).max() > 0
        # each sample starts on its first sound (nothing before the stroke)
        assert np.abs(loud[:48]).max() > 10 * np.abs(loud[:2]).max()
    assert manifest["chokes"] == {"hihat_open": ["hihat_closed", "hihat_pedal"]}


def test_the_pedal_chokes_a_ringing_open_hi_hat_of_the_same_player_only() -> None:
    mixer = Mixer(SR, {"own": 1.0, "partner": 1.0})
    voices = HitVoices(mixer, SampleKit(SR))
    voices.strike(0, Lane.HIHAT_OPEN, 127, player="A")
    voices.strike(0, Lane.HIHAT_OPEN, 127, player="B", channel="partner")
    voices.strike(SR // 4, Lane.HIHAT_PEDAL, 60, player="A")
    out = mixer.render_span(0, 2 * SR)
    open_b = SampleKit(SR).voice(Lane.HIHAT_OPEN, 127)[0]
    # after the pedal (and its own short sound) only B's open hi-hat rings on
    late = slice(SR, SR + 2000)
    np.testing.assert_allclose(out[late, 0], open_b[late], atol=1e-6)


# ------------------------------------------------------------------ the mixer
def test_mix_parses_channels_and_refuses_unknown_ones() -> None:
    gains = parse_mix("music=0.5, click=0")
    assert gains["music"] == 0.5 and gains["click"] == 0.0 and gains["guide"] == 0.0
    with pytest.raises(InputError, match="channels: music"):
        parse_mix("drums=1")
    with pytest.raises(InputError, match="0-2"):
        parse_mix("music=5")


def test_the_callback_is_a_pure_function_of_the_time_line_and_the_block() -> None:
    rng = np.random.default_rng(1)
    sounds = [
        (int(rng.integers(0, 40_000)), rng.normal(size=3000).astype(np.float32)) for _ in range(30)
    ]

    def mix(block: int) -> np.ndarray:
        m = Mixer(SR)
        for start, data in sounds:
            m.add(Placed(start, data, "own", pan=0.3, fade_in=64, fade_out=100))
        return m.render_span(-1000, 45_000, block=block)

    a, b = mix(64), mix(4099)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 0


def test_each_stroke_starts_within_one_block_of_its_stamp_through_the_callback() -> None:
    clock = FakeClock(0)
    out = AudioOutput(clock, players=["Ana", "Ben"], stream=False, sample_rate=SR)
    block, rng = 256, np.random.default_rng(3)
    stamps = sorted(int(x) for x in rng.uniform(0.05, 1.5, 20) * 1e9)
    info = SimpleNamespace(currentTime=5.0, outputBufferDacTime=5.0)  # no output latency
    buf = np.zeros((block, 2), np.float32)
    placed = []
    pending = list(stamps)
    while clock.now_ns() < 1.6e9:
        # strokes arrive a little after their stamp, between callbacks
        while pending and pending[0] <= clock.now_ns():
            t = pending.pop(0)
            out.strike("Ana", int(Lane.SNARE), 100, t_ns=t)
            placed.append((t, out.voices.mixer._incoming[-1].start))
        out.callback(buf, block, info, None)
        clock.advance(block / SR)
    assert len(placed) == len(stamps)
    for t, start in placed:
        assert 0 <= start - out.frame_of_ns(t) <= block


def test_the_output_through_a_real_audio_server_with_no_sound_card() -> None:
    # JACK's dummy driver runs a real audio graph; PortAudio opens AudioOutput's stream on
    # it and a capture stream hears its left channel. It runs in a subprocess with its
    # own named server, so the test process never starts PortAudio.
    import json
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "sound.py"
    run = subprocess.run(
        [sys.executable, str(script), "--device", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout.splitlines()[-1])
    assert res["callbacks"] > 1000 and "sound on" in res["device"]
    # clicks scheduled ahead start on their own frame, and reach the capture spaced
    # exactly as scheduled, to the sample
    assert res["click_frame_error"] == [0] * 6
    assert res["clicks_captured"] == 6
    assert res["capture_spacing_error_samples"] == [0] * 5
    # a stroke sounds as soon as it can: at most the output's lead and a block after it
    # arrived (two blocks, should the callback run between its arrival and its strike)
    bound = res["dac_ahead_ms"] + 2 * res["block_ms"]
    assert len(res["stroke_after_arrival_ms"]) == 4
    assert all(0 <= x <= bound for x in res["stroke_after_arrival_ms"])
    # a song's music at 70%, each bar handed over a quarter of a second ahead as the
    # engine does, stretched in the worker process while the callback plays: the same
    # samples as an offline render (a bar stretched too late on a very busy machine
    # plays on along the last one instead, and is counted)
    assert res["music_seconds"] > 7.5 and res["music_level_dbfs"] > -30
    assert res["music_late"] <= 1
    if res["music_late"] == 0:
        assert res["music_max_difference"] == 0.0


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


def test_audio_that_breaks_off_keeps_what_was_read(tmp_path: Path) -> None:
    x = (np.random.default_rng(0).normal(size=(10 * SR, 2)) * 0.1).astype(np.float32)
    sf.write(tmp_path / "song.flac", x, SR)
    data = (tmp_path / "song.flac").read_bytes()
    (tmp_path / "song.flac").write_bytes(data[: len(data) // 2])
    audio = load_song_audio(tmp_path, sample_rate=SR)
    assert audio is not None and 2 * SR < audio.music.shape[0] < 8 * SR
    assert any("breaks off at 0:0" in m for m in audio.messages)
    assert any("full mix" in m for m in audio.messages)


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


def test_a_practice_track_plays_the_part_over_the_music() -> None:
    chart = get_song("fast-lane")
    audio, said = song_audio_for("fast-lane", chart, sample_rate=SR)
    assert audio is not None and not audio.drums_in_music and said == []
    track = render_practice(chart, "easy", audio)
    assert track.seconds > chart.end_sec and np.abs(track.frames).max() > 0.1


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
        c = librosa.feature.chroma_cqt(y=seg, sr=22_050).mean(axis=1)
        assert set(np.argsort(c)[-2:].tolist()) <= chord_pitch_classes(chord)


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


# ------------------------------------------------------------------ the command line
def test_render_a_practice_track_with_its_stems(tmp_path: Path, capsys) -> None:
    from cymbalism.cli import main

    out, stems = tmp_path / "guide.ogg", tmp_path / "stems"
    code = main(
        ["render", "harbor-waltz", "--level", "easy", "--out", str(out), "--stems", str(stems)]
    )
    said = capsys.readouterr().out
    assert code == 0, said
    assert "wrote" in said and "Easy" in said
    mix, sr = sf.read(out, dtype="float32")
    meta = json.loads((stems / "render.json").read_text())
    assert sr == meta["sample_rate"] == SR and set(meta["stems"]) == {"music", "drums"}
    drums, _ = sf.read(stems / meta["stems"]["drums"], dtype="float32")
    assert drums.shape == mix.shape
    chart = get_song("harbor-waltz")
    notes = chart.part(Level.EASY).to_hits(chart.tempo_map).onset_sec
    assert meta["song_zero_sample"] == round(-meta["start_sec"] * SR)
    err = heard_error(drums, meta["start_sec"], notes)
    assert np.abs(err).max() <= 0.002  # a FLAC stem: each note of the part, to 2 ms


def test_render_a_played_session_and_a_song_folder(tmp_path: Path, capsys) -> None:
    from cymbalism.cli import main
    from cymbalism.io.charts import save_chart
    from cymbalism.store.store import Store

    # a Clone Hero song folder: the chart, song.ini with a delay, and the recording
    folder = tmp_path / "Song"
    folder.mkdir()
    chart = get_song("click")
    save_chart(folder / "notes.chart", chart)
    audio, _ = song_audio_for("click", chart, sample_rate=SR)
    assert audio is not None
    silence = np.zeros((round(0.25 * SR), 2), np.float32)
    write_audio(folder / "song.ogg", np.concatenate([silence, audio.music]), SR)  # in blocks
    (folder / "song.ini").write_text("[song]\nname = Clicks\nartist = Us\ndelay = 250\n")
    db = str(tmp_path / "s.sqlite3")
    play = ["play", str(folder), "-p", "Ana:sim-expert", "--click", "none", "--store", db]
    assert main([*play, "--seconds", "3", "--count-in", "0", "--hit-sounds", "all"]) == 0
    store = Store(db)
    stored = store.load(store.resolve("last"))
    assert stored.chart.metadata["song_path"] == str(folder.resolve())
    store.close()
    capsys.readouterr()
    out = tmp_path / "duet.flac"
    assert main(["render", "last", "--db", db, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "no recording" not in said and "session 1" in said
    frames, _ = sf.read(out, dtype="float32")
    assert 3.0 * SR < frames.shape[0] < 6.0 * SR  # what was played, not the whole song


def test_bad_render_and_play_options_are_one_clear_line(tmp_path: Path, capsys) -> None:
    from cymbalism.cli import main

    wav = str(tmp_path / "x.wav")
    cases = [
        (["render", "mirrorball", "--out", str(tmp_path / "x.mp3")], 2, ".wav, .flac or .ogg"),
        (["render", "mirrorball", "--out", wav, "--mix", "drums=1"], 2, "channels: music"),
        (["render", "mirrorball", "--out", wav, "--level", "hardest"], 2, "unknown level"),
        (["render", "mirrorball", "--out", wav, "--tempo", "5%"], 2, "25%-200%"),
        (["render", "mirrorball", "--out", wav, "--audio", "/no/such.ogg"], 1, "no song folder"),
        (["render", "nosong", "--out", wav], 1, "unknown song"),
        (["render", "7", "--out", wav, "--db", str(tmp_path / "e.db")], 1, "no session 7"),
        (["play", "mirrorball", "-p", "A:sim", "--hit-sounds", "loud"], 2, "--hit-sounds"),
        (["play", "mirrorball", "-p", "A:sim", "--mix", "music"], 2, "CHANNEL=GAIN"),
    ]
    for args, code, words in cases:
        assert main(args) == code, args
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and err.count("\n") == 1, err
