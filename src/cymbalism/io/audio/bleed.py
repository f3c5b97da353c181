"""The song heard in a take: a drummer recorded playing along with the music aloud.

A phone or a room microphone records the music from the speakers as well as the kit.
The detector hears the music's bass notes as kicks and its chords as snares and hi-hats:
a take of a song played along aloud reads as many extra hits. When the song's own
recording is known (a built-in song, a song folder's stems), its sound can be found in
the take and taken out before the hits are found:

1. **Where:** the song's recording is lined up with the take by the sound both hold
   (:func:`~cymbalism.io.audio.align.align_signals`: offset and clock drift, to a
   fraction of a sample), which also says where song time zero falls in the take.
2. **How loud, band by band:** the speakers, the room and the microphone colour the
   music. For each frequency bin, the music's gain in the take is a quantile
   (:data:`GAIN_QUANTILE`) of the take's magnitude over the music's, over the frames
   where the music is loud in that bin: where no drum sounds, the take holds only the
   music, so those ratios are the music's own gain; drums only raise the ratio.
3. **Taken out:** a spectral subtraction mask, ``max(floor, sqrt(1 - a |G M|^2 / |X|^2))``
   with over-subtraction ``a`` (:data:`OVER_SUBTRACTION`) and a floor
   (:data:`MASK_FLOOR`), applied to the take's short-time spectrum. A drum stroke
   stands far above the music in its own bins and passes; the music's own onsets sink
   under the floor. The spectra are worked out :data:`STRETCH_SEC` at a time.
4. **Strokes, not the music's remains:** the music heard and the music taken out never
   match exactly, and what is left of the music's notes can still read as onsets. A hit
   found without the music is kept where the take's power over the music's (the drums'
   power, estimated bin by bin) comes within :data:`UNDER_MUSIC_DB` of the music's.
5. **When:** the short-time spectra smear each attack a few milliseconds early, so each
   hit kept takes the time of the take's own hit nearest it (:func:`timed_by`).

The four constants (:data:`GAIN_QUANTILE`, :data:`OVER_SUBTRACTION`, :data:`MASK_FLOOR`,
:data:`UNDER_MUSIC_DB`) were chosen with ``evaluation/music_in_take.py --choose``, on
real drum recordings with the built-in songs' music through a simulated room. The best
settings there form a plateau; of those within 0.001 of the best, these read the built-in
songs rendered with their music best (the tie broken on a second set of takes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cymbalism.errors import InputError, require
from cymbalism.io.audio.align import (
    AGREE_SEC,
    ANALYSIS_RATE,
    ClockAlignment,
    _nearest,
    align_signals,
)
from cymbalism.model.hits import Hits

__all__ = [
    "GAIN_QUANTILE",
    "MASK_FLOOR",
    "OVER_SUBTRACTION",
    "SNAP_SEC",
    "UNDER_MUSIC_DB",
    "Music",
    "MusicInTake",
    "WithoutMusic",
    "find_music",
    "remove_music",
    "timed_by",
]

#: The quantile of take / music magnitude taken as the music's gain in a bin.
GAIN_QUANTILE = 0.2
#: How much more than the music's estimated power is taken out.
OVER_SUBTRACTION = 2.0
#: The least of the take's sound a bin keeps (0.1: -20 dB).
MASK_FLOOR = 0.1
#: Bins where the music is this far under its loudest bin (dB) are not measured: their
#: ratio would be the drums' over the music's faint remains (they take the gain of the
#: nearest bin measured).
MUSIC_RANGE_DB = -60.0
#: A hit found without the music is a stroke when the take's power over the music's comes
#: within this much (dB) of the music's; else it is what is left of the music's notes.
UNDER_MUSIC_DB = -10.0
#: The music is not taken out when it is this far under the take's sound (dB).
QUIETEST_DB = -40.0
#: A hit found without the music takes the time of the take's own hit this near: the
#: spectra smear an attack up to half their window early (11.6 ms), and a little more.
SNAP_SEC = 0.015
#: Short-time spectra: window and hop in samples at 44.1 kHz (scaled for other rates).
_N_FFT, _HOP = 1024, 256
#: The take is treated this many seconds at a time, with this much either side.
STRETCH_SEC = 20.0
_PAD_SEC = 0.5
#: The gains are estimated from at most this many stretches, spread over the take.
_GAIN_STRETCHES = 8


@dataclass(frozen=True)
class Music:
    """A song's recording as it sounds on its own.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,), float32]
        Mono: every stem but the drums (or the full mix, when that is all there is).
    sample_rate : int
    zero_sec : float
        Where song time zero falls in ``samples``, in seconds.
    drums : np.ndarray [shape=(m,), float32] or None
        The song's drum stems, mono, on the same samples: a take recorded to the whole
        song (the original drummer too) holds them, one played along in cymbalism (which
        mutes them) does not. :func:`find_music` tells which.
    """

    samples: np.ndarray
    sample_rate: int
    zero_sec: float = 0.0
    drums: np.ndarray | None = None

    def with_drums(self) -> Music:
        """The whole song: the music and its drum stems together."""
        if self.drums is None:
            return self
        n = max(self.samples.size, self.drums.size)
        whole = np.zeros(n, np.float32)
        whole[: self.samples.size] += self.samples
        whole[: self.drums.size] += self.drums
        return Music(whole, self.sample_rate, self.zero_sec)


@dataclass(frozen=True)
class MusicInTake:
    """The song's recording, found in a take.

    Attributes
    ----------
    clock : ClockAlignment
        The music's clock against the take's: music second ``offset_sec + (1 + drift)
        * t`` sounds at take second ``t``.
    level_db : float
        The music's sound against the whole take's (power, dB): 0 when the music is as
        loud as everything the microphone heard, -20 when it is a tenth of it.
    song_zero_sec : float
        The take second at which song time zero sounds.
    gains : np.ndarray [shape=(n_bins,), float]
        The music's gain in the take per frequency bin of the short-time spectra.
    drums_heard : bool
        The song's own drum stems were heard in the take too (it was recorded to the
        whole song), and are taken out with the music.
    """

    clock: ClockAlignment
    level_db: float
    song_zero_sec: float
    gains: np.ndarray
    drums_heard: bool = False

    def heard(self, music: Music) -> Music:
        """What of ``music`` the take holds: with its drum stems, when they were heard."""
        return music.with_drums() if self.drums_heard else music

    def describe(self) -> str:
        """One line for people."""
        what = (
            "the song's recording, its drums too," if self.drums_heard else "the song's recording"
        )
        return (
            f"{what} was heard in it (at {self.level_db:.0f} dB of the take's whole sound), "
            f"with song time zero at {self.song_zero_sec:.3f} s; it was taken out before the "
            "hits were found"
        )

    def to_dict(self) -> dict[str, float | bool]:
        """JSON-ready."""
        return {
            "level_db": round(self.level_db, 1),
            "song_zero_sec": round(self.song_zero_sec, 4),
            "drift_ppm": round(self.clock.drift_ppm, 2),
            "drums_heard": self.drums_heard,
        }


def _stft_sizes(sample_rate: int) -> tuple[int, int]:
    scale = sample_rate / 44100
    n_fft = int(2 ** round(math.log2(_N_FFT * scale)))
    return n_fft, n_fft // 4


def _music_on_take(
    music: Music, clock: ClockAlignment, start: int, n: int, rate: int
) -> np.ndarray:
    """The music's samples at take samples ``start .. start + n`` (silence outside it)."""
    t = (start + np.arange(n)) / rate
    at = (clock.offset_sec + (1.0 + clock.drift) * t) * music.sample_rate
    src = music.samples
    return np.interp(at, np.arange(src.size), src, left=0.0, right=0.0).astype(np.float32)


def _spectra(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    librosa = require("librosa", "audio")
    return np.asarray(librosa.stft(x, n_fft=n_fft, hop_length=hop), dtype=np.complex64)


def _stretches(n: int, rate: int) -> list[tuple[int, int, int, int]]:
    """``(lo, hi, keep_lo, keep_hi)``: each stretch read with its padding, and the part
    of it kept."""
    step, pad = int(STRETCH_SEC * rate), int(_PAD_SEC * rate)
    out = []
    for keep_lo in range(0, n, step):
        keep_hi = min(n, keep_lo + step)
        out.append((max(0, keep_lo - pad), min(n, keep_hi + pad), keep_lo, keep_hi))
    return out


def find_music(take: np.ndarray, sample_rate: int, music: Music) -> MusicInTake | None:
    """Find a song's recording in a take, or None when it is not heard there.

    Parameters
    ----------
    take : np.ndarray [shape=(n,), float]
        The take, mono.
    sample_rate : int
    music : Music

    Returns
    -------
    MusicInTake or None
        None when the two cannot be lined up by their sound (the take was recorded with
        headphones, or to another recording), or the music is under :data:`QUIETEST_DB`.
    """
    soxr = require("soxr", "audio")
    x = np.asarray(take, dtype=np.float32)
    low = soxr.resample(x, sample_rate, ANALYSIS_RATE)

    def lined_up(samples: np.ndarray) -> ClockAlignment | None:
        heard = soxr.resample(np.asarray(samples, np.float32), music.sample_rate, ANALYSIS_RATE)
        try:
            return align_signals(low, heard, ANALYSIS_RATE)
        except InputError:
            return None

    clock = lined_up(music.samples)
    if clock is None:
        return None
    # the original drummer too: the drum stems line up with the take where the music does
    # (the player's own kit, a different performance, never does to a fraction of a sample)
    drums = None if music.drums is None else lined_up(music.drums)
    with_drums = drums is not None and abs(drums.offset_sec - clock.offset_sec) < AGREE_SEC
    source = music.with_drums() if with_drums else music
    gains, (music_power, take_power) = _gains(x, sample_rate, source, clock)
    if music_power <= 0 or take_power <= 0:
        return None
    level = 10 * math.log10(music_power / take_power)
    if level < QUIETEST_DB:
        return None
    zero = (music.zero_sec - clock.offset_sec) / (1.0 + clock.drift)
    return MusicInTake(
        clock=clock, level_db=level, song_zero_sec=zero, gains=gains, drums_heard=with_drums
    )


def _spread(n: int, rate: int) -> list[tuple[int, int, int, int]]:
    """At most :data:`_GAIN_STRETCHES` stretches, evenly spread over the take."""
    all_ = _stretches(n, rate)
    if len(all_) <= _GAIN_STRETCHES:
        return all_
    pick = np.linspace(0, len(all_) - 1, _GAIN_STRETCHES).round().astype(int)
    return [all_[k] for k in pick]


def _gains(
    x: np.ndarray, rate: int, music: Music, clock: ClockAlignment
) -> tuple[np.ndarray, tuple[float, float]]:
    """The music's gain in the take, per frequency bin (see the module's description),
    and, over the stretches it was measured on, the power of the music as the take holds
    it and of the whole take."""
    n_fft, hop = _stft_sizes(rate)
    takes, musics = [], []
    for lo, hi, _, _ in _spread(x.size, rate):
        takes.append(np.abs(_spectra(x[lo:hi], n_fft, hop)))
        musics.append(np.abs(_spectra(_music_on_take(music, clock, lo, hi - lo, rate), n_fft, hop)))
    a, m = np.concatenate(takes, axis=1), np.concatenate(musics, axis=1)
    take_power = float((a**2).sum())
    level = m.mean(axis=1)
    if not level.max() > 0:
        return np.zeros(a.shape[0]), (0.0, take_power)
    held = level >= level.max() * 10 ** (MUSIC_RANGE_DB / 20)  # bins the music sounds in
    bins, gains = [], []
    for f in np.flatnonzero(held):
        loud = m[f] > np.median(m[f])
        if loud.sum() >= 10:
            bins.append(f)
            gains.append(np.quantile(a[f, loud] / m[f, loud], GAIN_QUANTILE))
    if not bins:
        return np.zeros(a.shape[0]), (0.0, take_power)
    # where the music is too faint to measure (its attacks still reach there), the
    # nearest measured bin's gain: speakers and rooms colour the sound smoothly
    every = np.interp(np.arange(a.shape[0]), bins, gains)
    return every, (float(((every[:, None] * m) ** 2).sum()), take_power)


@dataclass(frozen=True)
class WithoutMusic:
    """A take with the song's recording taken out.

    Attributes
    ----------
    samples : np.ndarray [shape=(n,), float32]
        The take without the music.
    own_power : np.ndarray [shape=(n_frames,), float]
        In each short-time frame, the take's power over the music's, bin by bin: the
        drums' power, estimated.
    music_power : np.ndarray [shape=(n_frames,), float]
        In each frame, the power of the music as the take holds it, estimated.
    hop_sec : float
        Frame ``k`` is centred at ``k * hop_sec``.
    """

    samples: np.ndarray
    own_power: np.ndarray
    music_power: np.ndarray
    hop_sec: float

    def stands_out(self, onset_sec: np.ndarray) -> np.ndarray:
        """Whether each onset is a stroke: in the 30 ms after it, the drums' power
        (:attr:`own_power`) comes within :data:`UNDER_MUSIC_DB` of the music's
        (:attr:`music_power`). What is left of the music's own notes (where the music
        heard and the music taken out differ a little) stays far under it."""
        onset = np.asarray(onset_sec, dtype=np.float64)
        if not onset.size or not self.own_power.size:
            return np.ones(onset.shape, bool)
        first = np.round(onset / self.hop_sec).astype(int)
        last = self.own_power.size - 1
        frames = [np.clip(first + k, 0, last) for k in range(math.ceil(0.03 / self.hop_sec) + 1)]
        own = np.max([self.own_power[f] for f in frames], axis=0)
        music = np.max([self.music_power[f] for f in frames], axis=0)
        return own >= music * 10 ** (UNDER_MUSIC_DB / 10)


def remove_music(
    take: np.ndarray, sample_rate: int, music: Music, found: MusicInTake
) -> WithoutMusic:
    """The take with the song's recording taken out (see the module's description).

    Parameters
    ----------
    take : np.ndarray [shape=(n,), float]
    sample_rate : int
    music : Music
    found : MusicInTake
        As :func:`find_music` found it.

    Returns
    -------
    WithoutMusic
    """
    librosa = require("librosa", "audio")
    x = np.asarray(take, dtype=np.float32)
    n_fft, hop = _stft_sizes(sample_rate)
    gains = found.gains[:, None]
    music = found.heard(music)
    out = np.empty_like(x)
    own_power = np.zeros(x.size // hop + 1)
    music_power = np.zeros(x.size // hop + 1)
    for lo, hi, keep_lo, keep_hi in _stretches(x.size, sample_rate):
        spec = _spectra(x[lo:hi], n_fft, hop)
        heard = gains * np.abs(
            _spectra(_music_on_take(music, found.clock, lo, hi - lo, sample_rate), n_fft, hop)
        )
        power = np.maximum(np.abs(spec) ** 2, 1e-20)
        mask = np.sqrt(np.maximum(0.0, 1.0 - OVER_SUBTRACTION * heard**2 / power))
        y = librosa.istft(spec * np.maximum(MASK_FLOOR, mask), hop_length=hop, length=hi - lo)
        out[keep_lo:keep_hi] = y[keep_lo - lo : keep_hi - lo]
        own = np.maximum(0.0, power - heard**2).sum(axis=0)  # the drums' power, estimated
        at = np.round((lo + np.arange(own.size) * hop) / hop).astype(int)
        kept = (at >= keep_lo // hop) & (at < min(own_power.size, -(-keep_hi // hop)))
        own_power[at[kept]] = own[kept]
        music_power[at[kept]] = (heard**2).sum(axis=0)[kept]
    return WithoutMusic(out, own_power, music_power, hop / sample_rate)


def timed_by(hits: Hits, take_hits: Hits, *, within_sec: float = SNAP_SEC) -> Hits:
    """Hits found in the take without the music, each at the time of the take's own hit
    nearest to it (within ``within_sec``), where there is one.

    Taking the music out works on short-time spectra, which smear a stroke's attack over
    a window (a few milliseconds early); the take as recorded holds the attack where it
    was. Which hits there are, and their drums, come from the take without the music;
    when they sounded, from the take itself.

    Parameters
    ----------
    hits : Hits
        Found in the take without the music.
    take_hits : Hits
        Found in the take as recorded.

    Returns
    -------
    Hits
        ``hits``, re-timed (still in time order).
    """
    if not len(hits) or not len(take_hits):
        return hits
    nearest, distance = _nearest(hits.onset_sec, take_hits.onset_sec)
    # the nearest hit of a sorted list never goes back in time, so neither do these
    onset = np.where(distance <= within_sec, take_hits.onset_sec[nearest], hits.onset_sec)
    return Hits(onset, hits.lane, hits.velocity)
