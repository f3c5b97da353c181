"""The song's recording heard in a take: found, placed and taken out before the hits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cymbalism.io.audio import (
    Music,
    detect_hits,
    find_music,
    hits_without_music,
    read_audio,
    synthesize_hits,
)
from cymbalism.io.audio.bleed import SNAP_SEC, timed_by
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from tests.io.audio.test_audio import SR, groove

pytestmark = pytest.mark.usefixtures("kit_dir")

#: Where the take starts in the song's recording, and how its clock runs against it.
START_SEC, DRIFT = 3.0, 30e-6


def band(seconds: float, bpm: float = 100.0, seed: int = 0) -> np.ndarray:
    """A band without drums: bass notes on the off-beats and chords between the beats,
    each with a sharp attack (what a detector takes for a kick or a snare)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n)
    beat = 60.0 / bpm
    for k, t in enumerate(np.arange(0.25 * beat, seconds - 1.0, beat / 2)):
        pitch = rng.choice([55.0, 65.4, 73.4, 82.4]) if k % 2 else rng.choice([196.0, 233.1, 261.6])
        m = int(0.35 * SR)
        u = np.arange(m) / SR
        tone = sum(np.sin(2 * np.pi * pitch * h * u) / h for h in range(1, 9))
        if k % 2 == 0:  # a chord: the third and fifth too
            tone = tone + sum(np.sin(2 * np.pi * pitch * r * u) for r in (1.26, 1.5))
        start = int(t * SR)
        seg = tone * np.exp(-u / 0.12)
        out[start : start + m] += seg[: n - start]
    return (0.25 * out / np.abs(out).max()).astype(np.float32)


def take_with_music(drums: Hits, seconds: float, level_db: float) -> tuple[np.ndarray, Music]:
    """The drums as recorded with the band heard from a speaker: the take starts
    ``START_SEC`` into the band's recording, whose clock runs ``DRIFT`` apart."""
    music = band(seconds + START_SEC + 1.0)
    n = int(seconds * SR)
    kit = synthesize_hits(drums, SR, duration_sec=seconds, seed=1)[:n]
    at = (START_SEC + (1 + DRIFT) * np.arange(n) / SR) * SR
    heard = np.interp(at, np.arange(music.size), music)
    heard *= np.sqrt(np.mean(kit**2) / np.mean(heard**2)) * 10 ** (level_db / 20)
    return (kit + heard).astype(np.float32), Music(music, SR, zero_sec=1.0)


def near(found: Hits, truth: Hits, within: float = 0.02) -> np.ndarray:
    """For each found hit, whether a struck drum lies within ``within``."""
    return np.array([np.abs(truth.onset_sec - t).min() <= within for t in found.onset_sec])


def test_the_song_heard_in_a_take_is_found_placed_and_taken_out() -> None:
    truth = groove(30.0)
    take, music = take_with_music(truth, 30.0, 0.0)
    as_is = detect_hits(take, SR)
    extra_as_is = int((~near(as_is, truth)).sum())
    assert extra_as_is >= 15  # the band's notes read as drums
    found, hits = hits_without_music(take, SR, music)
    assert found is not None
    # song time zero (1.0 s into the recording) sounds where the take started 3.0 s in
    assert found.song_zero_sec == pytest.approx((1.0 - START_SEC) / (1 + DRIFT), abs=2e-4)
    assert found.clock.drift_ppm == pytest.approx(30.0, abs=3.0)
    assert -6.0 < found.level_db < 0.0  # as loud as the drums: half of all, or less
    extra = int((~near(hits, truth)).sum())
    assert extra <= extra_as_is // 3
    # the strokes are found as well as with the music left in, at their own attacks

    def found_strokes(h: Hits) -> float:
        strokes = np.unique(truth.onset_sec)
        return float(np.mean([np.abs(h.onset_sec - t).min() < 0.01 for t in strokes]))

    assert found_strokes(hits) >= max(0.95, found_strokes(as_is))
    alone = detect_hits(synthesize_hits(truth, SR, duration_sec=30.0, seed=1), SR)
    own = np.array([np.abs(alone.onset_sec - t).min() for t in hits.onset_sec[near(hits, truth)]])
    assert np.median(own) < 0.0005  # as the drums alone give them
    # the drums: the snares as the drums alone read, and most of the band's bass notes
    # no longer read as kicks

    def count(h: Hits, lane: Lane) -> int:
        return int((h.lane == lane).sum())

    assert abs(count(hits, Lane.SNARE) - count(alone, Lane.SNARE)) <= 2
    excess = count(as_is, Lane.KICK) - count(alone, Lane.KICK)
    assert excess >= 20 and count(hits, Lane.KICK) - count(alone, Lane.KICK) <= excess // 2


def test_a_take_without_the_music_is_read_as_it_is() -> None:
    truth = groove(20.0)
    kit = synthesize_hits(truth, SR, duration_sec=20.0, seed=1)
    found, hits = hits_without_music(kit, SR, Music(band(25.0), SR))
    assert found is None
    np.testing.assert_array_equal(hits.onset_sec, detect_hits(kit, SR).onset_sec)
    assert find_music(kit, SR, Music(band(25.0), SR)) is None


def test_a_file_read_with_the_song_says_what_it_found(tmp_path: Path) -> None:
    truth = groove(24.0)
    take, music = take_with_music(truth, 24.0, -6.0)
    path = tmp_path / "take.wav"
    sf.write(path, take, SR)
    plain = read_audio(path)
    heard = read_audio(path, music=music, block_sec=5.0)
    assert plain.music is None and heard.music is not None
    assert heard.music.to_dict()["song_zero_sec"] == pytest.approx(-2.0, abs=1e-3)
    assert (~near(heard.hits, truth)).sum() < (~near(plain.hits, truth)).sum()
    _, direct = hits_without_music(take, SR, music)
    np.testing.assert_allclose(heard.hits.onset_sec, direct.onset_sec, atol=1e-9)


def test_hits_take_the_time_of_the_takes_own_attack_nearby() -> None:
    clean = Hits.from_arrays([1.000, 2.000, 3.000], [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED])
    recorded = Hits.from_arrays([1.004, 1.990, 2.0125, 3.5], Lane.SNARE)
    out = timed_by(clean, recorded)
    # the nearest within the window; none near 3.0, which keeps its own time
    np.testing.assert_allclose(out.onset_sec, [1.004, 1.990, 3.000])
    assert out.lane.tolist() == [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED]
    assert timed_by(clean, recorded, within_sec=0.002).onset_sec.tolist() == [1.0, 2.0, 3.0]
    # re-timed hits stay in time order
    crossed = timed_by(Hits.from_arrays([1.0, 1.005], Lane.KICK), Hits.from_arrays([1.012], 1))
    assert np.all(np.diff(crossed.onset_sec) >= 0) and SNAP_SEC > 0.012


def test_the_songs_own_drums_are_taken_out_when_the_take_holds_them() -> None:
    """A take recorded to the whole song, its original drummer too (a drum cover over the
    record): the song's drum stems are found in it and taken out with the music; a take
    of the same pattern played to the music alone does not hold them."""
    seconds = 30.0
    rng = np.random.default_rng(4)
    original = groove(seconds)  # the record's drummer, with an extra kick the player skips
    offbeat = original.onset_sec[original.lane == Lane.SNARE] + 0.15
    original = Hits.concat([original, Hits.from_arrays(offbeat, Lane.KICK)])
    player = groove(seconds)
    player = Hits.from_arrays(
        player.onset_sec + rng.normal(0.004, 0.004, len(player)), player.lane, 90
    )
    n = int(seconds * SR)
    stem = synthesize_hits(original, SR, duration_sec=seconds + START_SEC + 1.0, seed=7)
    band_only, music = take_with_music(player, seconds, -6.0)
    music = Music(music.samples, SR, zero_sec=1.0, drums=np.roll(stem, int(START_SEC * SR)))
    at = (START_SEC + (1 + DRIFT) * np.arange(n) / SR) * SR
    record = np.interp(at, np.arange(music.drums.size), music.drums)
    whole = (band_only + 0.5 * record).astype(np.float32)
    found, hits = hits_without_music(whole, SR, music)
    assert found is not None and found.drums_heard
    assert found.to_dict()["drums_heard"] is True and "its drums too" in found.describe()
    extra_kicks = [np.abs(hits.onset_sec - t).min() < 0.02 for t in offbeat]
    as_is = detect_hits(whole, SR)
    assert np.mean([np.abs(as_is.onset_sec - t).min() < 0.02 for t in offbeat]) > 0.8
    assert np.mean(extra_kicks) < 0.2  # the record's kicks, not the player's, are gone
    # the player's strokes stay (where the record's stroke falls a few ms from the
    # player's, the time kept can be the record's attack: within 20 ms)
    strokes = np.unique(player.onset_sec)
    assert np.mean([np.abs(hits.onset_sec - t).min() < 0.02 for t in strokes]) >= 0.95
    # played to the music alone: the player's own kit is not the record's drums
    found, _ = hits_without_music(band_only, SR, music)
    assert found is not None and not found.drums_heard
