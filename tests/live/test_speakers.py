"""What the speakers played, kept for the microphones, and taken out of what they hear."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.io.audio import synthesize_hits
from cymbalism.io.audio.detector import LIVE_CONFIG, StreamingDetector
from cymbalism.io.audio.speakers import SpeakerMemory
from cymbalism.live.clock import FakeClock
from cymbalism.live.metronome import AudioOutput
from cymbalism.live.speakers import KEEP_SEC, PlayedSound, SpeakerListener
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from tests.io.audio.test_audio import SR, groove
from tests.io.audio.test_speakers import heard_through, partner

pytestmark = pytest.mark.usefixtures("kit_dir")


def test_what_was_played_is_read_back_by_clock_time() -> None:
    played = PlayedSound(1000)
    x = np.arange(1, 301, dtype=np.float32)
    played.played(5000, np.stack([x, x], axis=1)[:100])  # stereo: kept as mono
    played.played(5100, np.stack([x, x], axis=1)[100:])
    assert np.array_equal(played.between(5.0, 300, 1000), x)
    # before the first sound and after the last: silence
    got = played.between(4.99, 20, 1000)
    assert np.array_equal(got[:10], np.zeros(10)) and np.array_equal(got[10:], x[:10])
    assert not played.between(5.3, 10, 1000).any()
    # at another rate, read between the samples
    assert np.allclose(played.between(5.0, 200, 2000)[2:198:2], x[1:99], atol=1e-4)


def test_a_jump_of_the_mixer_frame_does_not_move_what_was_played() -> None:
    # The output takes up a lasting difference from the clock by jumping its frame count,
    # but the device played on sample by sample: so does what is kept.
    played = PlayedSound(1000)
    played.played(0, np.ones((100, 2), np.float32))
    played.played(250, 2 * np.ones((100, 2), np.float32))  # the mixer jumped 150 frames
    got = played.between(0.0, 200, 1000)
    assert np.array_equal(got, np.r_[np.ones(100), 2 * np.ones(100)])


def test_only_the_last_seconds_are_kept() -> None:
    played = PlayedSound(1000)
    n = round(KEEP_SEC * 1000)
    played.played(0, np.ones(n, np.float32))
    played.played(n, 2 * np.ones(500, np.float32))
    assert not played.between(0.0, 500, 1000).any()  # forgotten
    assert np.array_equal(
        played.between(n / 1000 - 0.1, 600, 1000), np.r_[np.ones(100), 2 * np.ones(500)]
    )


def test_the_output_keeps_what_it_played() -> None:
    clock = FakeClock()
    out = AudioOutput(clock, sample_rate=SR, block_size=256, stream=False)
    out.schedule([])
    buf = np.zeros((256, 2), np.float32)
    from cymbalism.live.metronome import CLICK, Sound

    out.schedule([Sound(0, CLICK)])
    blocks = []
    for _ in range(40):
        out.callback(buf, 256, None, None)
        blocks.append(buf.mean(axis=1).copy())
    played = out.played.between(0.0, 40 * 256, SR)
    assert np.abs(played).max() > 0.1  # the click
    assert np.array_equal(played, np.concatenate(blocks))


def lined_up(found: Hits, truth: Hits, within: float = 0.025) -> tuple[int, int]:
    """(strokes of ``truth`` found with their drum, hits found that were not played)."""
    hit = 0
    for t, lane in zip(truth.onset_sec, truth.lane, strict=True):
        near = np.abs(found.onset_sec - t) <= within
        hit += bool(np.any(near & (found.lane == lane)))
    extra = 0
    for t, lane in zip(found.onset_sec, found.lane, strict=True):
        near = np.abs(truth.onset_sec - t) <= within
        extra += not np.any(near & (truth.lane == lane))
    return hit, extra


def test_the_partners_strokes_from_the_speakers_are_not_the_players() -> None:
    # A drummer on a microphone plays a groove with the click and a partner whose kit
    # comes out of the speakers (kick, snare, hi-hat), two bars on and two bars off, as
    # a beginner might; the partner plays on. As it is, the
    # microphone reads the partner's strokes as this player's; with what the speakers
    # played taken out (measured as the session goes on), after the first seconds it
    # reads the player's own strokes, as well as it reads them alone.
    seconds, block = 26.0, 512
    played = partner(seconds)
    rng = np.random.default_rng(4)
    g = groove(seconds - 0.5, bpm=120.0)
    onset = g.onset_sec - 0.3 + rng.normal(0.0, 0.008, len(g))
    ok = (onset > 0.1) & (onset % 8.0 < 4.0)  # two bars played, two bars rested
    truth = Hits.from_arrays(onset[ok], g.lane[ok], rng.integers(70, 120, int(ok.sum())))
    drums = synthesize_hits(truth, SR, duration_sec=seconds, seed=7).astype(np.float64)
    lag = round(0.015 * SR)
    mic = (drums + heard_through(played, lag, 0.5, seconds)).astype(np.float32)

    found: list[object] = []

    def read(x: np.ndarray, listen: bool) -> tuple[Hits, SpeakerListener]:
        speakers = PlayedSound(SR)
        listener = SpeakerListener(speakers, SR, on_found=found.append)
        det = StreamingDetector(SR, config=LIVE_CONFIG)
        out = []
        for i in range(0, x.size, block):
            speakers.played(i, played[i : i + block])  # played just before it is heard
            b = x[i : i + block]
            if listen:
                b = listener.cleaned(b, i / SR)
                listener.join()
            out.append(listener.keeps(det.process(b)))
        out.append(listener.keeps(det.process(listener.flush())))
        out.append(listener.keeps(det.finish()))
        return Hits.concat(out), listener

    late = truth.select(truth.onset_sec >= 8.0)  # once the way has been measured

    def after(h: Hits) -> Hits:
        return h.select(h.onset_sec >= 8.0)

    alone, _ = read(drums.astype(np.float32), listen=False)
    as_is, _ = read(mic, listen=False)
    taken_out, listener = read(mic, listen=True)
    assert listener.path.lag_sec == pytest.approx(lag / SR, abs=1 / SR)
    assert found == [listener.path]  # the player is told once, when it is first found
    assert listener.path.describe().startswith("hears the speakers 15 ms after the output")
    hit_alone, extra_alone = lined_up(after(alone), late)
    _, extra_as_is = lined_up(after(as_is), late)
    hit_out, extra_out = lined_up(after(taken_out), late)
    assert extra_as_is >= 40  # the partner's strokes, read as the player's
    assert extra_out <= extra_alone + 5  # gone
    assert hit_out >= hit_alone - 3  # and the player's own strokes kept


#: The faked microphone's block, and the clock stamp of its first sample.
BLOCK = 128
ORIGIN_NS = 5_000_000_000 - round(BLOCK / SR * 1e9)


def through_a_microphone(
    monkeypatch: pytest.MonkeyPatch, played: np.ndarray, heard: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """A session of a :class:`MicInput` in a room whose speakers play ``played`` and
    whose microphone hears ``heard``, on a faked sound device that gives each block after
    the output played it: the hits' times (seconds from the first sample), and what the
    input said."""
    from cymbalism.live import microphone
    from cymbalism.live.inputs import MicInput
    from tests.live.test_microphone import FakeSoundDevice, FakeStream

    speakers = PlayedSound(SR)

    class FeedingStream(FakeStream):
        def start(self) -> None:
            listener = mic._audio._listener
            assert listener is not None
            for i in range(0, heard.size, self.blocksize):
                speakers.played(round(ORIGIN_NS * SR / 1e9) + i, played[i : i + self.blocksize])
                self.deliver(heard[i : i + self.blocksize])
                listener.join()  # each measurement done before the next block

    class FeedingDevice(FakeSoundDevice):
        InputStream = FeedingStream

    monkeypatch.setattr(microphone, "_sounddevice", lambda: FeedingDevice)
    clock = FakeClock(start_ns=5_000_000_000)
    mic = MicInput("Ana", clock=clock, device="usb", channel=1, speakers=speakers)
    assert mic._audio.block_size == BLOCK
    mic.start()
    mic.stop()
    got = np.array([(h.t_ns - ORIGIN_NS) / 1e9 for h in mic.poll(clock.now_ns())])
    return np.unique(got), [m.text for m in mic.status()]


def test_a_microphone_remembers_the_way_from_the_speakers_for_its_next_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two sessions on the same microphone in the same room. The player rests from the
    # 3rd to the 8th second, while the partner plays on through the speakers. In the
    # first session the way is measured from nothing and its first estimates leave
    # some of the partner's strokes as this player's; the second starts from where the
    # first left the way (a file in the data folder), and reads the rest as a rest. A
    # file that cannot be read is said so, and the way is measured anew.
    from cymbalism.live.inputs import speaker_memory_path

    seconds, lag = 16.0, round(0.015 * SR)
    played = partner(seconds)

    def session(seed: int) -> tuple[int, int, list[str]]:
        """(hits in the rest, of the player's strokes outside it those found, messages)."""
        rng = np.random.default_rng(seed)
        g = groove(seconds - 0.5, bpm=120.0)
        onset = g.onset_sec - 0.3 + rng.normal(0.0, 0.008, len(g))
        ok = (onset > 0.1) & ((onset < 3.0) | (onset >= 8.0))
        truth = Hits.from_arrays(onset[ok], g.lane[ok], rng.integers(70, 120, int(ok.sum())))
        drums = synthesize_hits(truth, SR, duration_sec=seconds, seed=seed)
        heard = (drums + heard_through(played, lag, 0.5, seconds)).astype(np.float32)
        got, said = through_a_microphone(monkeypatch, played, heard)
        in_rest = int(np.count_nonzero((got >= 3.0) & (got < 8.0)))
        later = truth.onset_sec[truth.onset_sec >= 8.0]
        found = int(sum(np.min(np.abs(got - t)) <= 0.025 for t in later))
        return in_rest, found, said

    path = speaker_memory_path("usb", 1)
    assert not path.exists()
    rest_first, found_first, said_first = session(4)
    assert path.is_file()  # kept when the session stopped
    rest_second, found_second, said_second = session(5)
    assert any("starting from the last session's way" in s for s in said_second)
    assert not any("last session" in s for s in said_first)
    assert rest_first >= 3  # the first estimates leave some of the partner's strokes
    assert rest_second <= 1  # the remembered way takes them out from the start
    assert found_second >= found_first - 2  # and the player's own strokes are kept
    path.write_bytes(b"PK\x03\x04 cut short")
    _, found_third, said_third = session(6)
    assert any("not a remembered way from the speakers" in s for s in said_third)
    assert "measured anew" in said_third[0]
    assert found_third >= found_first - 3  # and the session plays on
    assert SpeakerMemory.load(path).seconds > 0  # written again whole at its end


@pytest.mark.parametrize("hold", [True, False])
def test_the_count_in_comes_out_once_the_way_is_measured(
    hold: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The speakers play two bars of count-in clicks, then the partner comes in. The
    # player plays the hi-hat between the clicks, then a groove. The way from the
    # speakers is first measured two seconds in; until then the microphone's samples
    # are held back, then cleaned with it: no click is read as the player's, and the
    # player's strokes in those seconds are all found. Given back as heard (holding
    # nothing back), the clicks are read as the player's hits.
    from cymbalism.live import speakers as live_speakers
    from cymbalism.sound.kit import SampleKit

    if not hold:
        monkeypatch.setattr(live_speakers, "HOLD_SEC", 0.0)
    seconds, count_in, lag = 10.0, 4.0, round(0.015 * SR)
    played = partner(seconds)
    played[: round(count_in * SR)] = 0.0
    kit = SampleKit(SR)
    for k, t in enumerate(np.arange(0.2, count_in, 0.5)):  # a click on every beat
        click, at = kit.click(k % 4 == 0), round(t * SR)
        played[at : at + click.size] += 0.5 * click[: played.size - at]
    rng = np.random.default_rng(8)
    g = groove(seconds - 0.5, bpm=120.0)
    between = np.arange(0.45, count_in - 0.3, 0.5)  # the hi-hat between the clicks
    after = g.onset_sec >= count_in - 0.3
    onset = np.r_[between, g.onset_sec[after]] + rng.normal(0.0, 0.008, between.size + after.sum())
    lane = np.r_[np.full(between.size, Lane.HIHAT_CLOSED), g.lane[after]]
    truth = Hits.from_arrays(onset, lane, rng.integers(70, 120, onset.size))
    drums = synthesize_hits(truth, SR, duration_sec=seconds, seed=8)
    heard = (drums + heard_through(played, lag, 0.5, seconds)).astype(np.float32)
    got, _ = through_a_microphone(monkeypatch, played, heard)

    counting = got[got < count_in - 0.1]
    extra = int(sum(np.min(np.abs(truth.onset_sec - t)) > 0.025 for t in counting))
    if hold:
        assert extra == 0  # no click read as a hit
        held = truth.onset_sec[truth.onset_sec < live_speakers.MEASURE_EVERY_SEC]
        assert all(np.min(np.abs(got - t)) <= 0.025 for t in held)  # every stroke found
    else:
        assert extra >= 4  # the clicks, read as the player's


@pytest.mark.parametrize("late_blocks", [0, 2])
def test_a_sample_waits_for_the_sound_played_over_it(
    late_blocks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through a real audio server the output's callback can hand over what it played a
    # block or two after the microphone heard it (the microphone is stamped 8 ms ahead
    # of the output's clock here, as through JACK). A sample waits for it, so the
    # speakers come out as well as when the output is in time; without the wait, the
    # newest samples of every block keep all of the speakers. Every sample comes back
    # once, in order, and the last ones when the microphone stops; those heard before
    # the way was first measured were held back, and come back cleaned with it.
    from cymbalism.live import speakers as live_speakers

    seconds, block = 10.0, 128
    played = partner(seconds).astype(np.float32)
    lag = round(-0.008 * SR)
    heard = heard_through(played, lag, 0.5, seconds).astype(np.float32)

    def erle(wait_sec: float) -> tuple[float, int]:
        monkeypatch.setattr(live_speakers, "WAIT_SEC", wait_sec)
        speakers = PlayedSound(SR)
        listener = SpeakerListener(speakers, SR)
        given = 0
        out = []
        for i in range(0, heard.size, block):
            # the output has handed over what it played up to `late_blocks` blocks ago
            j = i - late_blocks * block - lag
            if j >= 0:
                k = (j - given) // block * block
                speakers.played(given, played[given : given + k])
                given += k
            out.append(listener.cleaned(heard[i : i + block], i / SR))
            listener.join()
        # catching up on the samples held back, a block gives back a few chunks at most
        assert max(x.size for x in out) <= (1 + live_speakers.CATCH_UP_CHUNKS) * block
        out.append(listener.flush())
        cleaned = np.concatenate(out)
        assert cleaned.size == heard.size

        def db(lo: int, hi: int) -> float:
            left = np.sum(cleaned[lo:hi].astype(float) ** 2)
            return float(10 * np.log10(np.sum(heard[lo:hi].astype(float) ** 2) / left))

        # once the way has been measured, and before it (held back until it was)
        return db(4 * SR, heard.size), db(0, 2 * SR), listener.path.now is not None

    waited, first, found = erle(live_speakers.WAIT_SEC)
    assert found
    assert waited >= 25.0  # no drums: the speakers all but gone, late or in time
    assert first >= 15.0  # the first seconds too, held back until the way was measured
    if late_blocks:
        unwaited, _, _ = erle(0.0)
        assert unwaited <= waited - 15.0


def test_a_microphone_is_ready_before_the_count_in(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first detector of a process loads and compiles for seconds. A session warms it
    # up before its clock's start is fixed, or a microphone player's count-in and first
    # bars would pass unheard (4.7 s of them through JACK, before).
    from cymbalism.live import microphone
    from cymbalism.live.clock import FakeClock
    from cymbalism.live.engine import LiveOptions
    from cymbalism.live.run import LiveSetup, PlayerSpec, run_live
    from cymbalism.model.chart import Level
    from cymbalism.model.session import Settings
    from cymbalism.songs import get_song
    from tests.live.test_microphone import FakeSoundDevice, FakeStream

    clock = FakeClock()
    warmed: list[int] = []

    def warm_up() -> None:  # as long as the real one takes, on the session's clock
        clock.sleep_until(clock.now_ns() + 4_000_000_000)
        warmed.append(clock.now_ns())

    FakeStream.signal = np.zeros(SR, np.float32)
    monkeypatch.setattr(microphone, "_sounddevice", lambda: FakeSoundDevice)
    monkeypatch.setattr(microphone, "warm_up", warm_up)
    specs = [PlayerSpec("Ana", "mic", Level.EXPERT), PlayerSpec("Ben", "sim-expert")]
    setup = LiveSetup(specs, Settings(count_in_bars=1), LiveOptions(), click="none")
    setup.store_url, setup.max_sec = "none", 3.0
    engines = []
    run_live(get_song("lanterns"), setup, clock=clock, on_start=engines.append)
    assert len(warmed) == 1
    assert engines[0].start_ns >= warmed[0] + 400_000_000  # the count-in after it


def test_with_a_microphone_in_the_room_both_speakers_play_the_same() -> None:
    # The partner is panned to one side; a microphone would hear the two speakers by two
    # ways, and one way is what is measured. With a microphone player the output plays
    # both speakers the mean of the two channels, and keeps exactly that.
    from cymbalism.live.engine import LiveOptions
    from cymbalism.live.metronome import CLICK, Sound
    from cymbalism.live.run import LiveSetup, PlayerSpec, sound_options
    from cymbalism.model.chart import Level
    from cymbalism.model.lanes import Lane
    from cymbalism.model.session import Settings
    from cymbalism.songs import get_song

    def render(mono: bool) -> tuple[np.ndarray, np.ndarray]:
        clock = FakeClock()
        out = AudioOutput(
            clock, players=["Ana", "Ben"], sample_rate=SR, block_size=256, stream=False, mono=mono
        )
        out.schedule([Sound(0, CLICK)])
        out.strike("Ben", int(Lane.SNARE), 100, t_ns=10_000_000)
        blocks = []
        for _ in range(40):
            buf = np.zeros((256, 2), np.float32)
            out.callback(buf, 256, None, None)
            blocks.append(buf)
        both = np.concatenate(blocks)
        return both, out.played.between(0.0, both.shape[0], SR)

    stereo, _ = render(False)
    assert np.abs(stereo[:, 0] - stereo[:, 1]).max() > 0.05  # Ben's snare is panned
    mono, kept = render(True)
    assert np.array_equal(mono[:, 0], mono[:, 1])
    np.testing.assert_allclose(mono[:, 0], stereo.mean(axis=1), atol=1e-6)
    assert np.array_equal(kept, mono[:, 0])

    chart = get_song("lanterns")
    keys = [PlayerSpec("Ana", "keys", Level.EXPERT), PlayerSpec("Ben", "sim-expert")]
    mic = [PlayerSpec("Ana", "mic", Level.EXPERT), PlayerSpec("Ben", "sim-expert")]
    options = LiveOptions()
    assert not sound_options(LiveSetup(keys, Settings(), options, click="audio"), chart)["mono"]
    assert sound_options(LiveSetup(mic, Settings(), options, click="audio"), chart)["mono"]


def test_two_speakers_by_two_ways_are_taken_out_when_they_play_the_same() -> None:
    # A room's two speakers reach the microphone by two ways (the right one 1.4 m
    # further). The output plays the click, the partner panned to one side, and a wide
    # stereo mix (sound unlike on the two sides, as a recording's). In stereo, one way
    # cannot describe what the microphone hears; in mono, the sum of the two ways does.
    from scipy.signal import butter, fftconvolve, sosfilt

    from cymbalism.live.metronome import ACCENT, CLICK, Sound
    from cymbalism.model.lanes import Lane
    from cymbalism.sound.mixer import Placed
    from tests.io.audio.test_speakers import room

    seconds, block = 14.0, 256
    left, right = room(0.3, seed=1), np.roll(room(0.3, seed=2), round(0.004 * SR))
    rng = np.random.default_rng(0)
    sos = butter(2, [100, 4000], "bandpass", fs=SR, output="sos")
    n = round(seconds * SR) // block * block
    wide = (0.05 * sosfilt(sos, rng.standard_normal((n, 2)), axis=0)).astype(np.float32)

    def taken_out(mono: bool) -> float:
        out = AudioOutput(
            FakeClock(), players=["Ana", "Ben"], sample_rate=SR, block_size=block, mono=mono,
            stream=False,
        )  # fmt: skip
        beats = np.arange(0.2, seconds - 1, 0.25)
        out.schedule(
            [
                Sound(round(t * 1e9), ACCENT if k % 8 == 0 else CLICK)
                for k, t in enumerate(beats[::2])
            ]
        )
        for k, t in enumerate(beats):
            lane = (Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE, Lane.HIHAT_CLOSED)[k % 4]
            out.strike("Ben", int(lane), 100, t_ns=round(t * 1e9))
        out.mixer.add(Placed(0, wide, "music"))  # the song's recording, as the mixer holds it
        y = np.zeros((n, 2), np.float32)
        for i in range(0, n, block):
            out.callback(y[i : i + block], block, None, None)
        lag = round(0.012 * SR)
        heard = fftconvolve(y[:, 0], left)[:n] + fftconvolve(y[:, 1], right)[:n]
        mic = (0.5 * np.r_[np.zeros(lag), heard[: n - lag]]).astype(np.float32)
        speakers = PlayedSound(SR)  # as the output keeps it, block by block
        listener = SpeakerListener(speakers, SR)
        cleaned = []
        for i in range(0, n, block):
            speakers.played(i, y[i : i + block])
            cleaned.append(listener.cleaned(mic[i : i + block], i / SR))
            listener.join()
        c = np.concatenate([*cleaned, listener.flush()]).astype(np.float64)
        lo = 6 * SR  # once the way has settled
        return float(10 * np.log10(np.sum(mic[lo:].astype(np.float64) ** 2) / np.sum(c[lo:] ** 2)))

    stereo, mono = taken_out(False), taken_out(True)
    assert mono >= 20.0
    assert stereo <= mono - 8.0
