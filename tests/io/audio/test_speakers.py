"""The way from the speakers to a live microphone: found, measured, and taken out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, fftconvolve, sosfilt

from cymbalism.errors import InputError
from cymbalism.io.audio import synthesize_hits
from cymbalism.io.audio.speakers import (
    MAX_LEAD_SEC,
    PRE_RING_SEC,
    Echo,
    EchoStream,
    SpeakerGate,
    SpeakerMemory,
    SpeakerPath,
    played_span,
    speaker_lag,
)
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.sound.kit import SampleKit
from tests.io.audio.test_audio import SR, groove

pytestmark = pytest.mark.usefixtures("kit_dir")


def room(seconds: float, seed: int = 0) -> np.ndarray:
    """A small room's impulse response: the direct sound, an early reflection, and a
    diffuse tail decaying 60 dB over 0.3 s."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    h = rng.standard_normal(n) * np.exp(-np.log(1000.0) * np.arange(n) / n) * 0.05
    h[: round(0.004 * SR)] = 0.0
    h[0] = 1.0
    h[round(0.0023 * SR)] += 0.4
    return h


def partner(seconds: float, bpm: float = 120.0) -> np.ndarray:
    """What the speakers play: a click on every beat and a partner's kick, snare and
    hi-hat from the sampled kit, as the live output sounds them."""
    kit = SampleKit(SR)
    out = np.zeros(round(seconds * SR) + 1)  # as long as synthesize_hits makes it

    def place(t: float, x: np.ndarray, gain: float) -> None:
        i = round(t * SR)
        m = min(out.size - i, x.size)
        out[i : i + m] += gain * x[:m]

    beat = 60.0 / bpm
    for k, t in enumerate(np.arange(0.2, seconds - 0.5, beat / 2)):
        lane = Lane.KICK if k % 4 == 0 else Lane.SNARE if k % 4 == 2 else Lane.HIHAT_CLOSED
        place(t, *kit.voice(lane, 90))
        if k % 2 == 0:
            place(t, kit.click(k % 8 == 0), 0.5)
    return out


def heard_through(played: np.ndarray, lag: int, level: float, seconds: float) -> np.ndarray:
    """``played`` as the microphone hears it: through the room, ``lag`` samples late
    (early, if negative), at ``level`` of its own RMS."""
    y = fftconvolve(played, room(0.3))[: played.size]
    y = np.roll(y, lag)
    if lag > 0:
        y[:lag] = 0.0
    return y * level


def window(played: np.ndarray, start: int, n: int) -> np.ndarray:
    """What :func:`speaker_lag` takes beside the ``n`` samples heard from ``start``."""
    before, m = played_span(n, SR)
    lo = start - round(before * SR)
    out = np.zeros(m)
    src = played[max(lo, 0) : lo + m]
    out[max(-lo, 0) : max(-lo, 0) + src.size] = src
    return out


@pytest.mark.parametrize("lag_ms", [12.0, -7.5])
def test_the_lag_is_found_to_the_sample_under_a_louder_drummer(lag_ms: float) -> None:
    # The microphone is stamped when its samples arrive, so a sound can seem to come
    # before its place on the output's clock: negative lags are found as well.
    seconds = 8.0
    played = partner(seconds)
    lag = round(lag_ms / 1000 * SR)
    drums = synthesize_hits(groove(seconds, bpm=96), SR, duration_sec=seconds, seed=5)
    mic = drums + heard_through(played, lag, 0.3, seconds)
    found = speaker_lag(mic[SR : 7 * SR], window(played, SR, 6 * SR), SR)
    assert found is not None
    assert found[0] == lag
    assert found[1] > 3.0  # the peak stands out
    assert -MAX_LEAD_SEC * SR <= found[0]


def test_a_speaker_wired_the_other_way_round_is_found_too() -> None:
    # A speaker or microphone of the opposite polarity turns the correlation's peak
    # upside down: the lag is where it stands out, either way up.
    seconds = 8.0
    played = partner(seconds)
    lag = round(0.022 * SR)
    drums = synthesize_hits(groove(seconds, bpm=96), SR, duration_sec=seconds, seed=5)
    mic = drums - heard_through(played, lag, 0.3, seconds)
    found = speaker_lag(mic[SR : 7 * SR], window(played, SR, 6 * SR), SR)
    assert found is not None and found[0] == lag


def test_headphones_give_no_path() -> None:
    # The speakers are not heard (headphones): the drums alone are no way from them.
    seconds = 8.0
    played = partner(seconds)
    drums = synthesize_hits(groove(seconds), SR, duration_sec=seconds, seed=5)
    assert speaker_lag(drums[SR : 7 * SR], window(played, SR, 6 * SR), SR) is None
    path = SpeakerPath(SR)
    assert not path.measure(drums[SR : 7 * SR], window(played, SR, 6 * SR), 6.0)
    assert path.now is None
    assert path.describe() == "does not hear the speakers"


def test_the_echo_is_the_response_applied_to_what_was_played() -> None:
    rng = np.random.default_rng(0)
    response = rng.standard_normal(700).astype(np.float32)
    e = Echo(-12, response, SR)
    for n in (128, 1000):
        played = rng.standard_normal(response.size - 1 + n).astype(np.float32)
        got = e.echo(played)
        want = np.convolve(played, response, mode="valid")
        assert got.shape == (n,)
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    assert e.echo(np.zeros(10, np.float32)).size == 0


def test_the_speakers_are_taken_out_and_the_drums_left_when_they_play_together() -> None:
    # The drummer plays in time with the click and the partner (a groove at the same
    # tempo, a person's 8 ms of scatter): a ratio of magnitudes would take the drums for
    # the speakers where they play together; the cross-spectrum does not, so the
    # speakers go and the drums stay.
    seconds = 26.0
    played = partner(seconds)
    rng = np.random.default_rng(4)
    g = groove(seconds - 0.5, bpm=120.0)
    onset = g.onset_sec - 0.3 + rng.normal(0.0, 0.008, len(g))
    ok = onset > 0.1
    drums_hits = Hits.from_arrays(onset[ok], g.lane[ok], rng.integers(70, 120, int(ok.sum())))
    drums = synthesize_hits(drums_hits, SR, duration_sec=seconds, seed=7)
    lag = round(0.015 * SR)
    speakers = heard_through(played, lag, 0.5, seconds)
    mic = drums + speakers
    path = SpeakerPath(SR)
    for end in range(6 * SR, 20 * SR + 1, 2 * SR):  # as the listener measures: 6 s every 2 s
        start = end - 6 * SR
        assert path.measure(mic[start:end], window(played, start, 6 * SR), 2.0)
    assert path.lag_sec == pytest.approx(lag / SR, abs=1 / SR)
    now = path.now
    assert now is not None
    assert now.lag == lag - round(PRE_RING_SEC * SR)
    # the rest of the take, through the path measured on what came before
    lo, hi = 20 * SR, 26 * SR
    src = played[lo - now.lag - (now.span - 1) : hi - now.lag]
    cleaned = mic[lo:hi] - now.echo(src)
    left = cleaned - drums[lo:hi]

    def erle(band: tuple[float, float] | None = None) -> float:
        a, b = speakers[lo:hi], left
        if band is not None:
            sos = butter(4, band, "bandpass", fs=SR, output="sos")
            a, b = sosfilt(sos, a), sosfilt(sos, b)
        return float(10 * np.log10(np.sum(a**2) / np.sum(b**2)))

    # where the speakers are heard over the drums, they are brought down by 15 dB or
    # more; where the drums drown them (the kick's lows, the hi-hat's highs) the way is
    # measured less well, and the whole sound of the speakers comes down by 6 dB or more
    assert erle((300.0, 1000.0)) >= 15.0
    assert erle() >= 6.0
    kept = 10 * np.log10(np.sum(cleaned**2) / np.sum(drums[lo:hi] ** 2))
    assert abs(kept) <= 0.5  # and the drums kept as they were
    assert path.level_db == pytest.approx(
        10 * np.log10(np.sum(speakers[: 20 * SR] ** 2) / np.sum(mic[: 20 * SR] ** 2)), abs=1.5
    )


@pytest.mark.parametrize(("span", "n"), [(700, 128), (100, 128), (128, 128), (300, 64)])
def test_the_echo_block_by_block_equals_the_echo_at_once(span: int, n: int) -> None:
    # Partitioned overlap-save in the audio callback gives what the whole convolution
    # gives, and starts again when the sound played jumps or the way changes.
    rng = np.random.default_rng(span)
    x = rng.standard_normal(30_000).astype(np.float32)

    def read(first: int, count: int) -> np.ndarray:
        out = np.zeros(count, np.float32)
        lo, hi = max(first, 0), min(first + count, x.size)
        out[lo - first : hi - first] = x[lo:hi]
        return out

    stream = EchoStream()
    first = Echo(0, rng.standard_normal(span).astype(np.float32), SR)
    second = Echo(0, rng.standard_normal(span).astype(np.float32), SR)
    steps = [(first, at) for at in range(50, 4000, n)]  # from the stream's start
    steps += [(first, at) for at in range(9000, 11000, n)]  # a jump
    steps += [(second, at) for at in range(11000 + 17, 12000, n)]  # a new way
    for echo, at in steps:
        got = stream.block(echo, at, n, read)
        want = echo.echo(read(at - span + 1, span - 1 + n))
        assert np.abs(got - want).max() <= 1e-5 * max(np.abs(want).max(), 1.0)


def test_the_gate_tells_the_speakers_remains_from_a_stroke() -> None:
    kit = SampleKit(SR)
    kick, _ = kit.voice(Lane.KICK, 100)
    hat = synthesize_hits(Hits.from_arrays([0.05], Lane.HIHAT_CLOSED, 110), SR, duration_sec=0.3)
    n = SR
    heard = np.zeros(n, np.float32)
    heard[SR // 2 : SR // 2 + kick.size] = kick[: n - SR // 2]  # the partner's kick
    gate = SpeakerGate(SR)
    remains = 0.3 * heard  # a third of it left after taking it out: a rest
    for at in range(0, n, 128):
        gate.add(at, remains[at : at + 128], heard[at : at + 128])
    assert gate.speakers_only(SR // 2)
    # the player's hi-hat on the partner's kick: it rises in its own band
    played = remains.copy()
    h0 = SR // 2 - round(0.05 * SR)
    played[h0 : h0 + hat.size] += hat[: n - h0]
    gate = SpeakerGate(SR)
    for at in range(0, n, 128):
        gate.add(at, played[at : at + 128], heard[at : at + 128])
    assert not gate.speakers_only(SR // 2)
    # nothing from the speakers there: a stroke, whatever it is
    assert not gate.speakers_only(SR // 4)


def test_sound_played_that_comes_late_is_taken_out_when_it_comes() -> None:
    # The output hands its newest sound over a few milliseconds after the microphone's
    # block comes: it is silence when first read, and must not stay so.
    rng = np.random.default_rng(1)
    x = rng.standard_normal(20_000).astype(np.float32)
    n, late = 128, round(0.01 * SR)
    now = {"end": 0}

    def read(first: int, count: int) -> np.ndarray:
        out = np.zeros(count, np.float32)
        lo, hi = max(first, 0), min(first + count, x.size, now["end"] - late)
        if hi > lo:
            out[lo - first : hi - first] = x[lo:hi]
        return out

    echo = Echo(0, rng.standard_normal(2000).astype(np.float32), SR)
    stream = EchoStream()
    for at in range(3000, 12000, n):
        now["end"] = at + n  # what has been handed over when this block comes
        got = stream.block(echo, at, n, read)
        want = echo.echo(read(at - echo.span + 1, echo.span - 1 + n))
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()


def player_and_speakers(
    seconds: float, seed: int, flip: float = 1.0, reflection_ms: float = 2.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(what was played, the microphone, the speakers' part of it, the drums' part): a
    groove in time with the partner, the speakers 15 ms late through a room."""
    played = partner(seconds)
    rng = np.random.default_rng(seed)
    g = groove(seconds - 0.5, bpm=120.0)
    onset = g.onset_sec - 0.3 + rng.normal(0.0, 0.008, len(g))
    ok = onset > 0.1
    hits = Hits.from_arrays(onset[ok], g.lane[ok], rng.integers(70, 120, int(ok.sum())))
    drums = synthesize_hits(hits, SR, duration_sec=seconds, seed=seed)
    h = room(0.3)
    h[round(0.0023 * SR)] -= 0.4
    h[round(reflection_ms / 1000 * SR)] += 0.4
    speakers = flip * 0.5 * np.roll(fftconvolve(played, h)[: played.size], round(0.015 * SR))
    return played, drums + speakers, speakers, drums


def test_a_remembered_way_starts_the_next_session_from_where_the_last_left_it(
    tmp_path,
) -> None:
    # One session measures the way over 20 s; the next, with other strokes, starts from
    # it: after its first measurement (2 s, as the listener makes it) the speakers come
    # down much further than from nothing. A way remembered from another room (the
    # speaker wired the other way round, another reflection) adds to what the
    # microphone hears, and is forgotten: the path is measured as from nothing.
    played, mic, _, _ = player_and_speakers(26.0, seed=7)
    first = SpeakerPath(SR)
    for end in range(6 * SR, 20 * SR + 1, 2 * SR):
        first.measure(mic[end - 6 * SR : end], window(played, end - 6 * SR, 6 * SR), 2.0)
    memory = first.memory()
    assert memory is not None and memory.seconds == 16.0  # 8 measurements of 2 s
    memory.save(tmp_path / "way.npz")
    recalled = SpeakerMemory.load(tmp_path / "way.npz")
    assert np.allclose(recalled.s_mp, memory.s_mp, rtol=1e-5, atol=1e-12)

    def first_seconds(flip: float, reflection_ms: float, mem: SpeakerMemory | None):
        played, mic, speakers, drums = player_and_speakers(12.0, 9, flip, reflection_ms)
        path = SpeakerPath(SR, mem)
        assert path.measure(mic[: 2 * SR], window(played, 0, 2 * SR), 2.0)
        now = path.now
        assert now is not None
        lo, hi = 2 * SR, 12 * SR
        src = played[lo - now.lag - (now.span - 1) : hi - now.lag]
        left = mic[lo:hi] - now.echo(src) - drums[lo:hi]
        erle = float(10 * np.log10(np.sum(speakers[lo:hi] ** 2) / np.sum(left**2)))
        return path, erle

    fresh, erle_fresh = first_seconds(1.0, 2.3, None)
    remembered, erle_remembered = first_seconds(1.0, 2.3, recalled)
    assert remembered.remembered and not fresh.remembered
    assert erle_remembered >= erle_fresh + 6.0
    assert remembered.describe().endswith("starting from the last session's way")
    other_room, erle_other = first_seconds(-1.0, 3.1, recalled)
    _, erle_fresh_other = first_seconds(-1.0, 3.1, None)
    assert not other_room.remembered
    assert erle_other == erle_fresh_other
    # a memory at another sample rate is not used at all
    assert not SpeakerPath(48000, recalled).remembered


def test_a_remembered_way_that_cannot_be_read_is_refused(tmp_path) -> None:
    n = SpeakerPath(SR).n_fft // 2 + 1
    good = SpeakerMemory(SR, 12.0, np.ones(n), np.ones(n, complex), np.ones(n))
    good.save(tmp_path / "good.npz")
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "text.npz").write_text("not numbers")
    bad = SpeakerMemory(SR, 12.0, np.full(n, np.nan), np.ones(n, complex), np.ones(n))
    bad.save(tmp_path / "nan.npz")
    SpeakerMemory(SR, 12.0, np.ones(n), np.ones(3, complex), np.ones(n)).save(
        tmp_path / "sizes.npz"
    )
    assert SpeakerMemory.load(tmp_path / "good.npz").seconds == 12.0
    for name in ("cut", "text", "nan", "sizes", "missing"):
        with pytest.raises(InputError, match="not a remembered way from the speakers"):
            SpeakerMemory.load(tmp_path / f"{name}.npz")
