"""Tempo from hits alone: the tempo of a performance, how sure it is, its curve and drift.

Conventions
-----------
- Input is onset times in seconds (sorted, finite), optionally weighted (the velocity of
  each hit) and labelled with drum lanes. Tempo events, click tracks and charts are never
  used: only when, how hard and on what the hits sounded.
- BPM means quarter-note beats per minute, as everywhere in cymbalism. From hits alone
  the beat level is a judgement (a listener might tap 70 or 140 to the same groove), so
  every estimate comes with a confidence: the probability the model gives the level it
  chose, against the other levels the hits allow.

Method
------
1. **Pulse.** The onsets become an accent envelope (one 15 ms Gaussian per hit, weighted
   by velocity, sampled at 200 Hz). Its autocorrelation ``A`` (normalised for the overlap
   at each lag) gives the salience of each beat period ``T``: the mean of ``A`` at ``T``,
   ``2T`` and ``4T`` (beat, half bar, bar), times ``max(A(T/2), 0.8 A(T/3)) ** 0.25`` (a
   beat divides into two or three; a beat with nothing played inside it is credited
   instead with how evenly it repeats, ``A(T) ** 10``, so a plain pulse is a candidate at
   its own rate). Every local peak of the salience within a tenth of the highest is a
   candidate beat period: the metrical levels the hits allow.
2. **Which level is the beat** is what drummers know, measured at each candidate ``T``
   on a beat grid that follows the playing (the phase is tracked in 8-beat windows):

   - *backbeat*: the snare on beats 2 and 4 and not on 1 and 3 (the best of the four
     ways to place the bar line), from all snare hits and from the louder half alone
     (the backbeat without the ghost notes around it), and the kick anchoring beats 1
     and 3 at that bar line; the hi-hat pedal on 2 and 4 (a jazz drummer's backbeat);
   - *subdivision*: the share of the hits on the beat's 16th-note grid and on its
     8th-note-triplet grid (a beat divides into two, four or three; a slower reading
     puts hits on 32nds, which drummers rarely play), and the hi-hat and ride hits per
     beat (two or four for most grooves), as a log and its square;
   - *density*: hits per beat (a groove plays a handful per beat, not one per bar or a
     dozen per beat), as a log and its square;
   - *the bar*: how the kick and snare pattern repeats after one beat, two and four
     (it repeats after a bar, seldom after a beat), and how the hi-hat and ride repeat
     after half a beat, one and two (the autocorrelation of each lane group's envelope);
     and, for a short take (a fill), how close it spans one bar of four beats;
   - the pulse's salience, and a log-normal prior over tempos.

   A linear score of these, turned into probabilities over the candidates (softmax), picks
   the level; its probability is the confidence. The weights were fitted on the training
   split of the Groove MIDI Dataset only (``evaluation/groove_midi.py --fit`` prints
   them, with the accuracy of leaving one drummer out at a time, the figure a change to
   the model is judged by); the validation split was kept for checking.

The local tempo (:func:`tempo_curve`) follows one level: in each window it finds the peak
of the same salience near the whole performance's tempo (within a major third). A window
whose salience stays low there (hits too sparse to show a pulse, such as a beginner's
part or a break), or peaks only at the edge of the range searched, is unsure: NaN, never a
dip to the bottom of the range. The drift is the slope of a straight line through the
sure windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy.ndimage import gaussian_filter1d

from cymbalism.errors import InputError
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import MAX_BPM, MIN_BPM, TempoMap
from cymbalism.model.validate import validate_times

__all__ = [
    "LEVEL_FEATURES",
    "MetricalLevels",
    "TempoCurve",
    "TempoEstimate",
    "click_grid",
    "estimate_tempo",
    "metrical_levels",
    "players_clicks",
    "refine_on_grid",
    "tempo_curve",
    "tempo_drift",
    "tempo_estimate",
    "tempo_salience",
]

#: Sampling rate of the accent envelope (5 ms steps).
ENVELOPE_RATE_HZ = 200.0
#: Smoothing of each onset in the envelope: about a good drummer's timing spread.
SMOOTHING_SEC = 0.015
#: Longest lag the autocorrelation looks at (two bars of 4/4 at 80 BPM).
MAX_LAG_SEC = 6.0
#: The share of a performance's length that the longest usable lag may span.
MAX_LAG_SHARE = 0.6
#: Fewest onsets from which a tempo is estimated.
MIN_ONSETS = 4
#: Multiples of the beat whose periodicity supports a beat period (beat, half bar, bar).
_MULTIPLES = (1.0, 2.0, 4.0)
#: Weight of a division into three against a division into two.
_TRIPLE = 0.8
#: Exponent of the subdivision term (a beat divides into two or three).
_SUBDIVISION_POWER = 0.25
#: The lags searched for playing between the beats: from this share of the beat period
#: after one beat to the same share before the next (a 32nd note of a 4/4 beat is 1/8)...
_INNER_EDGE = 1.0 / 8.0
#: ...and at least this far from either beat (the width of a smoothed onset).
_INNER_MIN_LAG_SEC = 4 * SMOOTHING_SEC
#: A beat with nothing played inside it is credited ``A(T) ** _UNDIVIDED_POWER`` as its
#: division: about 1 for a plain pulse of even hits, little for an accented train whose
#: accents mark a slower beat. 8-12 read plain pulses (even or jittered by 8 ms) at their
#: own rate and keep an eighth-note groove whose tempo drifts at its quarter notes.
_UNDIVIDED_POWER = 10.0
#: Resolution of the tempo grid searched, as a ratio between neighbours (0.2%).
_GRID_STEP = 1.002
#: How far the local tempo may stray from the whole performance's tempo (a major third).
_LOCAL_RANGE = 2.0 ** (1.0 / 3.0)

#: A salience peak within this share of the highest is a candidate beat period.
_CANDIDATE_SHARE = 0.1
#: The beat grid's phase is tracked in windows of this many beats (half-overlapping).
_PHASE_WINDOW_BEATS = 8.0
#: Bins per beat of the phase histogram, and the von Mises concentration that smooths it
#: (a spread of about 1/24 beat).
_PHASE_BINS = 48
_PHASE_KAPPA = 8.0
#: A hit is on a beat when it lies within this share of a beat of it.
_ON_BEAT = 0.125
#: A hit is on the 16th (triplet) grid when within 1/24 beat of one of its lines.
_GRID_TOLERANCE_BEATS = 1.0 / 24.0
#: The lanes that keep time in a groove (the hi-hat's and the ride's subdivision).
_CYMBALS = (Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.RIDE)
#: Fewest snare hits from which a backbeat is judged.
_MIN_BACKBEAT_HITS = 4
#: A short take (a fill) spans about this many beats (mean, spread): a bar of four
#: beats, less the last hit's own length; read off the training takes' spans.
_FILL_SPAN_BEATS = (3.4, 0.6)

#: What each candidate level is scored by (the columns of :attr:`MetricalLevels.features`).
LEVEL_FEATURES = (
    "pulse",  # log of the salience, relative to the highest
    "backbeat",  # snare on 2 and 4, not on 1 and 3 (-1 to 1)
    "kick_1_3",  # kick on 1 and 3 rather than 2 and 4, at the backbeat's bar line (-1 to 1)
    "grid_16th",  # share of the weight on the beat's 16th-note grid
    "grid_triplet",  # share of the weight on the beat's 8th-note-triplet grid
    "hits_per_beat",  # log2 of the hits per beat
    "hits_per_beat_sq",  # its square
    "bar_span",  # how close the take's span is to one bar (a fill), 0 to 1
    "backbeat_accents",  # as backbeat, from the louder half of the snare hits (no ghosts)
    "pedal_2_4",  # the hi-hat pedal on 2 and 4 rather than 1 and 3 (-1 to 1)
    "cymbal_per_beat",  # log2 of the hi-hat and ride hits per beat (0 with too few)
    "cymbal_per_beat_sq",  # its square
    "kick_snare_beat",  # how the kick and snare pattern repeats after one beat...
    "kick_snare_half_bar",  # ...after two beats...
    "kick_snare_bar",  # ...and after a bar of four (autocorrelation, 0 to 1)
    "cymbal_half_beat",  # how the hi-hat and ride repeat after half a beat...
    "cymbal_beat",  # ...after a beat...
    "cymbal_two_beats",  # ...and after two beats
)

#: A short take (at most this many beats from its first hit to its last) has its tempo
#: refined on the grid its hits fall on: its pulse salience peaks too broadly to place
#: the tempo within a few percent.
_SHORT_TAKE_BEATS = 16.0
#: The refinement looks this far (natural log of the ratio, about 4%) either side of the
#: level chosen, prefers tempos near it (a log-normal of this width, about 6%), and tries
#: these divisions of the beat: 16ths, 8th-note triplets and 16th-note triplets. Chosen on
#: the Groove MIDI train split (``evaluation/groove_midi.py --choose-refinement``).
_REFINE_SPAN = 0.04
_REFINE_WIDTH = 0.06
_REFINE_DIVISIONS = (4, 3, 6)
_REFINE_STEPS = 161
#: A fill is played ahead of its click: drummers rush it, so the grid its hits fall on
#: runs faster than the song's tempo. On the Groove MIDI train split the refined tempo of
#: a take spanning up to 6 beats runs 0.9-1.4% fast at the median, one of 6-16 beats 0.2%
#: and a longer one 0.03%. The tempo refined from a take of at most
#: :data:`_AHEAD_MAX_BEATS` is multiplied by :data:`_SHORT_TAKE_AHEAD`. Both were chosen
#: on the train split (``evaluation/groove_midi.py --choose-refinement``).
_SHORT_TAKE_AHEAD = 0.99
_AHEAD_MAX_BEATS = 6.0

# The fitted model (``evaluation/groove_midi.py --fit``: the Groove MIDI train split, 832
# takes with a candidate within 4% of the click). The prior is log-normal, with its
# centre and width in octaves; the weights multiply the features above in that order.
PRIOR_BPM = 109.4
PRIOR_OCTAVES = 0.382
_WEIGHTS = np.array(
    [
        *(2.891, 0.207, 0.413, 3.617, 1.571, 0.757, -0.255, 2.744, 1.336, 1.009),
        *(0.144, 0.101, 0.166, -0.366, 1.420, 0.510, 1.804, -0.073),
    ]
)


@dataclass(frozen=True, eq=False)
class TempoCurve:
    """The local tempo of a performance over time.

    Attributes
    ----------
    time_sec : np.ndarray [shape=(m,), float64, seconds]
        The centre of each window.
    bpm : np.ndarray [shape=(m,), float64, BPM]
        The tempo in each window; NaN where it is unsure (too few hits, or hits that do
        not repeat at a period near the tempo followed).
    window_sec : float
        The length of each window.
    song_bpm : np.ndarray [shape=(m,), float64, BPM] or None
        For a tempo kept against a part (:func:`~cymbalism.analysis.timing.kept_tempo`):
        the song's own tempo over the same notes in each window, which the drift is
        measured against. None for a tempo from the hits alone.
    """

    time_sec: np.ndarray
    bpm: np.ndarray
    window_sec: float
    song_bpm: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.time_sec.size)

    @property
    def drift_bpm_per_min(self) -> float:
        """The slope of a least-squares line through the curve, in BPM per minute: through
        the tempo less the song's (:attr:`song_bpm`) when the curve has it, so a player
        who follows a song's tempo changes does not drift.

        Positive when the player sped up. NaN when fewer than two windows have a tempo.
        """
        bpm = self.bpm if self.song_bpm is None else self.bpm - self.song_bpm
        ok = np.isfinite(bpm)
        if ok.sum() < 2:
            return float("nan")
        slope_per_sec = np.polyfit(self.time_sec[ok], bpm[ok], 1)[0]
        return float(slope_per_sec * 60.0)


@dataclass(frozen=True)
class TempoEstimate:
    """A tempo from hits alone, with how sure it is.

    Attributes
    ----------
    bpm : float
        Quarter-note beats per minute.
    confidence : float
        The probability (0 to 1) the model gives this metrical level against the other
        levels the hits allow. On Groove MIDI, estimates with a confidence of 0.8 or more
        are right far more often than those under 0.5 (see the README).
    alternatives : tuple of (float, float)
        The other levels as ``(bpm, probability)``, most likely first.
    """

    bpm: float
    confidence: float
    alternatives: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, eq=False)
class MetricalLevels:
    """The candidate beat periods of a performance and what each is scored by.

    Attributes
    ----------
    bpm : np.ndarray [shape=(m,), float64, BPM]
        The candidate tempos (peaks of the pulse salience), slowest first.
    features : np.ndarray [shape=(m, len(LEVEL_FEATURES)), float64]
        One row per candidate, one column per name in :data:`LEVEL_FEATURES`.
    """

    bpm: np.ndarray
    features: np.ndarray


# ---------------------------------------------------------------------------- validation


def _check_onsets(
    onset_sec: np.ndarray, weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    try:
        onset = validate_times(onset_sec, "onset_sec")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if weight is None:
        w = np.ones(onset.size)
    else:
        w = np.asarray(weight, dtype=np.float64)
        if w.shape != onset.shape:
            raise InputError(
                f"weight must have one value per onset: got shape {w.shape} for {onset.size} onsets"
            )
        if not np.isfinite(w).all() or (w < 0).any():
            raise InputError(
                "weight must be finite and not negative (velocities are a good weight)"
            )
    return onset, w


def _check_lanes(lane: np.ndarray | None, n: int) -> np.ndarray | None:
    if lane is None:
        return None
    arr = np.asarray(lane)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(
            f"lane must hold one integer lane per onset: got shape {arr.shape} "
            f"({arr.dtype}) for {n} onsets"
        )
    return arr


def _check_range(min_bpm: float, max_bpm: float) -> None:
    if not (np.isfinite(min_bpm) and np.isfinite(max_bpm) and 0 < min_bpm < max_bpm):
        raise InputError(
            f"the tempo range must be 0 < min_bpm < max_bpm, got {min_bpm:g}-{max_bpm:g}"
        )


def _check_prior(prior_bpm: float, prior_octaves: float) -> None:
    if not (prior_bpm > 0 and prior_octaves > 0):
        raise InputError(
            f"prior_bpm and prior_octaves must be positive, got {prior_bpm:g}, {prior_octaves:g}"
        )


def _enough(onset: np.ndarray, w: np.ndarray, what: str) -> None:
    n = int(np.count_nonzero(w > 0))
    span = float(onset[-1] - onset[0]) if onset.size else 0.0
    if n < MIN_ONSETS or span <= 0.0:
        raise InputError(
            f"{what} needs at least {MIN_ONSETS} weighted hits spread over time; "
            f"got {n} over {span:.3g} s"
        )


# ---------------------------------------------------------------------------- the pulse


_PAD = int(np.ceil(4 * SMOOTHING_SEC * ENVELOPE_RATE_HZ))
#: Windows whose autocorrelations are computed in one batch (bounds the memory used).
_BATCH = 256


def _envelope(onset: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The accent envelope: weighted impulses at sub-sample positions, smoothed.

    Sample ``_PAD`` is the first onset; the envelope ends ``_PAD`` samples after the last.
    """
    pos = (onset - onset[0]) * ENVELOPE_RATE_HZ
    n = int(np.ceil(pos[-1])) + 2 * _PAD + 2
    idx = np.floor(pos).astype(np.int64) + _PAD
    frac = pos + _PAD - idx
    x = np.zeros(n)
    np.add.at(x, idx, w * (1.0 - frac))
    np.add.at(x, idx + 1, w * frac)
    return gaussian_filter1d(x, SMOOTHING_SEC * ENVELOPE_RATE_HZ, mode="constant")


def _autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation along the last axis for lags 0..max_lag, normalised by the overlap
    at each lag and to 1 at lag 0."""
    n = x.shape[-1]
    # zero-padding to n + max_lag keeps every lag up to max_lag free of wrap-around
    size = sp_fft.next_fast_len(n + max_lag + 1, real=True)
    spec = sp_fft.rfft(x, size, axis=-1)
    acf = sp_fft.irfft(spec * np.conj(spec), size, axis=-1)[..., : max_lag + 1]
    acf = acf * (n / (n - np.arange(max_lag + 1)))
    zero = acf[..., :1]
    return np.divide(acf, zero, out=np.zeros_like(acf), where=zero > 0)


def _sample(acf: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """``acf`` (along its last axis) at fractional lags, linearly interpolated; NaN
    beyond its end."""
    last = acf.shape[-1] - 1
    ok = lag <= last
    at = np.where(ok, lag, 0.0)
    i = np.minimum(np.floor(at).astype(np.int64), last - 1)
    frac = at - i
    out = acf[..., i] * (1.0 - frac) + acf[..., i + 1] * frac
    return np.where(ok, out, np.nan)


def _within_beat(acf: np.ndarray, period: np.ndarray) -> np.ndarray:
    """The strongest periodicity at lags inside each beat period (away from its ends):
    near 0 when nothing is played between the beats."""
    edge = np.maximum(period * _INNER_EDGE, _INNER_MIN_LAG_SEC * ENVELOPE_RATE_HZ)
    lo = np.ceil(edge).astype(np.int64)
    hi = np.floor(period - edge).astype(np.int64) + 1
    last = acf.shape[-1]
    ok = (lo < hi) & (hi <= last)
    lo, hi = np.where(ok, lo, 0), np.where(ok, hi, 1)
    bounds = np.stack([lo, hi], axis=-1).ravel()
    # reduceat over [lo, hi) pairs; the odd slices [hi, next lo) are dropped
    inner = np.maximum.reduceat(acf, np.minimum(bounds, last - 1), axis=-1)[..., ::2]
    return np.where(ok, inner, np.nan)


def _metrical_salience(acf: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    period = 60.0 * ENVELOPE_RATE_HZ / bpm
    rows = np.array([_sample(acf, k * period) for k in _MULTIPLES])
    have = np.isfinite(rows)
    support = np.where(have, rows, 0.0).sum(0) / np.maximum(have.sum(0), 1)
    divide = np.fmax(_sample(acf, period / 2.0), _TRIPLE * _sample(acf, period / 3.0))
    # A beat that repeats evenly with nothing played inside it (a plain pulse) is not
    # penalised for not dividing: there the prior chooses the level.
    even = np.clip(np.nan_to_num(rows[0], nan=0.0), 0.0, None) ** _UNDIVIDED_POWER
    divide = np.fmax(divide, even * (1.0 - _within_beat(acf, period)))
    divide = np.clip(np.nan_to_num(divide, nan=0.0), 0.0, None)
    return np.clip(support, 0.0, None) * divide**_SUBDIVISION_POWER


def _bpm_grid(min_bpm: float, max_bpm: float) -> np.ndarray:
    n = int(np.ceil(np.log(max_bpm / min_bpm) / np.log(_GRID_STEP))) + 1
    return np.exp(np.linspace(np.log(min_bpm), np.log(max_bpm), n))


def _refine(bpm: np.ndarray, score: np.ndarray, i: int) -> float:
    """Grid point ``i`` refined by a parabola through its neighbours' scores."""
    if 0 < i < score.size - 1:
        a, b, c = score[i - 1], score[i], score[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            shift = 0.5 * (a - c) / denom
            step = np.log(bpm[i + 1]) - np.log(bpm[i])
            return float(np.exp(np.log(bpm[i]) + shift * step))
    return float(bpm[i])


def _max_lag(n_samples: int) -> int:
    return max(2, min(int(MAX_LAG_SEC * ENVELOPE_RATE_HZ), int(MAX_LAG_SHARE * (n_samples - 1))))


def _salience(onset: np.ndarray, w: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    x = _envelope(onset, w)
    return _metrical_salience(_autocorrelation(x, _max_lag(x.size)), bpm)


def tempo_salience(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    min_bpm: float = 30.0,
    max_bpm: float = 300.0,
) -> tuple[np.ndarray, np.ndarray]:
    """How strongly the hits support each tempo as a pulse: a tempo spectrum.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    weight : np.ndarray [shape=(n,), float64], optional
        The accent of each hit, such as its velocity. Equal weights by default.
    min_bpm, max_bpm : float
        The range of tempos to score.

    Returns
    -------
    bpm : np.ndarray [shape=(m,), float64, BPM]
        A grid of tempos, 0.2% apart.
    salience : np.ndarray [shape=(m,), float64]
        The metrical salience of each tempo, 0 (no support) to about 1.
    """
    onset, w = _check_onsets(onset_sec, weight)
    _check_range(min_bpm, max_bpm)
    _enough(onset, w, "a tempo spectrum")
    bpm = _bpm_grid(min_bpm, max_bpm)
    return bpm, _salience(onset, w, bpm)


# ------------------------------------------------------------------ which level is the beat


def _candidates(bpm: np.ndarray, salience: np.ndarray) -> np.ndarray:
    """Indices of the salience's local peaks within a tenth of its highest."""
    s = salience
    inner = np.flatnonzero((s[1:-1] >= s[:-2]) & (s[1:-1] > s[2:])) + 1
    keep = inner[s[inner] >= _CANDIDATE_SHARE * s.max()]
    return keep if keep.size else np.array([int(np.argmax(s))])


def _beat_coordinates(t: np.ndarray, w: np.ndarray, period: float) -> np.ndarray:
    """Each hit's place in beats on a grid of ``period`` whose phase follows the playing.

    The phase in each window of :data:`_PHASE_WINDOW_BEATS` beats (half-overlapping) is
    the mode of the hits' weighted phases (a smoothed histogram: the accents fall on the
    beat), unwrapped from window to window and interpolated at each hit.
    """
    hop = _PHASE_WINDOW_BEATS / 2.0 * period
    n_windows = int(t[-1] // hop) + 2
    first = np.minimum((t // hop).astype(np.int64), n_windows - 2)
    bins = (np.floor((t / period % 1.0) * _PHASE_BINS).astype(np.int64)) % _PHASE_BINS
    hist = np.zeros((n_windows, _PHASE_BINS))
    np.add.at(hist, (first, bins), w)
    np.add.at(hist, (first + 1, bins), w)
    angle = 2 * np.pi * np.arange(_PHASE_BINS) / _PHASE_BINS
    kernel = np.exp(_PHASE_KAPPA * (np.cos(angle) - 1.0))
    smooth = sp_fft.irfft(sp_fft.rfft(hist, axis=1) * sp_fft.rfft(kernel), _PHASE_BINS, axis=1)
    have = hist.sum(1) > 0
    phase = (np.argmax(smooth, axis=1) + 0.5) / _PHASE_BINS
    # window k covers [(k - 1) hop, (k + 1) hop): its phase holds at its centre k * hop
    centre = np.arange(n_windows) * hop
    unwrapped = np.unwrap(phase[have] * 2 * np.pi) / (2 * np.pi)
    return t / period - np.interp(t, centre[have], unwrapped)


#: Row r lists the four beats of a bar whose first beat is beat r of the grid.
_BAR_ROLLS = (np.arange(4)[:, None] + np.arange(4)[None, :]) % 4


def _backbeat(
    beat: np.ndarray, w: np.ndarray, snare: np.ndarray, kick: np.ndarray
) -> tuple[float, float]:
    """(snare on 2 and 4 rather than 1 and 3, kick on 1 and 3 rather than 2 and 4)."""
    if np.count_nonzero(snare) < _MIN_BACKBEAT_HITS:
        return 0.0, 0.0
    k = np.round(beat)
    on = np.abs(beat - k) < _ON_BEAT
    place = (k % 4).astype(np.int64)
    s_hist = np.bincount(place[snare & on], weights=w[snare & on], minlength=4)[_BAR_ROLLS]
    k_hist = np.bincount(place[kick & on], weights=w[kick & on], minlength=4)[_BAR_ROLLS]
    # the bar line that puts the most snare on 2 and 4 (the first of equals)
    score = 2.0 * np.minimum(s_hist[:, 1], s_hist[:, 3]) - s_hist[:, 0] - s_hist[:, 2]
    best_roll = int(np.argmax(score))
    backbeat = score[best_roll] / w[snare].sum()
    kick_total = w[kick].sum()
    if kick_total <= 0:
        return float(backbeat), 0.0
    h = k_hist[best_roll]
    return float(backbeat), float((h[0] + h[2] - h[1] - h[3]) / kick_total)


def _on_grid(beat: np.ndarray, w: np.ndarray, divisions: int) -> float:
    """Share of the weight within 1/24 beat of a line dividing the beat ``divisions`` ways."""
    x = beat * divisions
    near = np.abs(x - np.round(x)) < _GRID_TOLERANCE_BEATS * divisions
    return float(w[near].sum() / w.sum())


def _lane_periodicity(t: np.ndarray, w: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """The autocorrelation of the envelopes of some lanes, each normalised and then
    averaged by its energy: how the pattern these drums play repeats at each lag.

    ``t`` starts at 0 (the take's first hit, of any lane); each group is a mask of hits.
    All zeros where the groups hold fewer than :data:`MIN_ONSETS` hits.
    """
    n = int(np.ceil(t[-1] * ENVELOPE_RATE_HZ)) + 2 * _PAD + 2
    max_lag = _max_lag(n)
    rows = []
    for mask in groups:
        if np.count_nonzero(mask) < MIN_ONSETS:
            continue
        # a weightless hit at 0 keeps every lane on the take's time line
        x = _envelope(np.concatenate([[0.0], t[mask]]), np.concatenate([[0.0], w[mask]]))
        rows.append(np.pad(x, (0, max(0, n - x.size)))[:n])
    if not rows:
        return np.zeros(max_lag + 1)
    envelopes = np.array(rows)
    energy = (envelopes**2).sum(axis=1)
    acf = _autocorrelation(envelopes, max_lag)
    return (acf * energy[:, None]).sum(axis=0) / energy.sum()


def _level_features(
    onset: np.ndarray, w: np.ndarray, lane: np.ndarray | None, bpm: np.ndarray, pulse: np.ndarray
) -> np.ndarray:
    t = onset - onset[0]
    span = float(t[-1])
    w = w / w.max()
    lanes = np.full(t.size, -1) if lane is None else lane
    snare, kick, pedal = lanes == Lane.SNARE, lanes == Lane.KICK, lanes == Lane.HIHAT_PEDAL
    cymbal = np.isin(lanes, _CYMBALS)
    # the louder half of the snare hits: the backbeat without the ghost notes around it
    accents = snare & (w >= np.median(w[snare])) if snare.any() else snare
    kick_snare = _lane_periodicity(t, w, [kick, snare])
    cymbals = _lane_periodicity(t, w, [cymbal])
    n_cymbals = np.count_nonzero(cymbal)
    lag = (60.0 * ENVELOPE_RATE_HZ / bpm)[:, None]
    ks = np.nan_to_num(_sample(kick_snare, lag * [1.0, 2.0, 4.0]), nan=0.0)
    cy = np.nan_to_num(_sample(cymbals, lag * [0.5, 1.0, 2.0]), nan=0.0)
    out = np.empty((bpm.size, len(LEVEL_FEATURES)))
    for row, b in enumerate(bpm.tolist()):
        period = 60.0 / b
        beat = _beat_coordinates(t, w, period)
        backbeat, kick_1_3 = _backbeat(beat, w, snare, kick)
        beats = max(span / period, 1.0)
        per_beat = np.log2(t.size / beats)
        cymbal_per_beat = np.log2(n_cymbals / beats) if n_cymbals >= MIN_ONSETS else 0.0
        out[row] = (
            pulse[row],
            backbeat,
            kick_1_3,
            _on_grid(beat, w, 4),
            _on_grid(beat, w, 3),
            per_beat,
            per_beat**2,
            np.exp(-0.5 * ((span / period - _FILL_SPAN_BEATS[0]) / _FILL_SPAN_BEATS[1]) ** 2),
            _backbeat(beat, w, accents, kick)[0],
            _backbeat(beat, w, pedal, kick)[0],
            cymbal_per_beat,
            cymbal_per_beat**2,
            *ks[row],
            *cy[row],
        )
    return out


def metrical_levels(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    lane: np.ndarray | None = None,
    min_bpm: float = 30.0,
    max_bpm: float = 300.0,
) -> MetricalLevels:
    """The beat periods the hits allow, and what a drummer would judge each by.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    weight : np.ndarray [shape=(n,), float64], optional
        The accent of each hit (velocities); equal weights by default.
    lane : np.ndarray [shape=(n,), int], optional
        The :class:`~cymbalism.model.lanes.Lane` of each hit. Without lanes the features
        of the lanes (backbeat, kick, pedal, cymbals, their periodicity) are 0 and the
        level is judged on the rest.
    min_bpm, max_bpm : float
        The range of tempos considered.

    Returns
    -------
    MetricalLevels
    """
    onset, w = _check_onsets(onset_sec, weight)
    lanes = _check_lanes(lane, onset.size)
    _check_range(min_bpm, max_bpm)
    _enough(onset, w, "a tempo estimate")
    grid = _bpm_grid(min_bpm, max_bpm)
    salience = _salience(onset, w, grid)
    if not salience.max() > 0.0:
        raise InputError(
            f"the hits repeat at no tempo from {min_bpm:g} to {max_bpm:g} BPM: they span "
            f"{onset[-1] - onset[0]:.2f} s, too short for a beat to return"
        )
    idx = _candidates(grid, salience)
    bpm = np.array([_refine(grid, salience, int(i)) for i in idx])
    pulse = np.log(salience[idx] / salience.max() + 1e-3)
    used = w > 0
    features = _level_features(
        onset[used], w[used], None if lanes is None else lanes[used], bpm, pulse
    )
    return MetricalLevels(bpm=bpm, features=features)


def refine_on_grid(
    onset_sec: np.ndarray,
    bpm: float,
    *,
    weight: np.ndarray | None = None,
    span: float = _REFINE_SPAN,
    width: float = _REFINE_WIDTH,
    divisions: tuple[int, ...] = _REFINE_DIVISIONS,
) -> float:
    """The tempo near ``bpm`` whose grid of beat divisions the hits fall on best.

    For each tempo within ``span`` (log ratio) of ``bpm`` and each division of its beat,
    the hits' weighted phases on that grid are averaged as unit vectors; the length of the
    mean (1 when every hit lies on the grid, near 0 when they fall anywhere), times a
    log-normal of width ``width`` around ``bpm``, scores the tempo. The best tempo over
    all divisions wins. This places the tempo of a short take (a bar or two of a fill),
    whose pulse salience peaks too broadly, to a fraction of a percent.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    bpm : float
        The tempo to refine: the metrical level is kept.
    weight : np.ndarray [shape=(n,), float64], optional
        The accent of each hit.
    span, width : float
        How far to look, and how strongly to prefer tempos near ``bpm``.
    divisions : tuple of int
        The divisions of the beat tried (4: 16ths, 3: 8th-note triplets).

    Returns
    -------
    bpm : float
    """
    onset, w = _check_onsets(onset_sec, weight)
    if not (np.isfinite(bpm) and bpm > 0):
        raise InputError(f"the tempo to refine must be a positive number of BPM, got {bpm}")
    return _on_grid_tempo(onset, w, bpm, span, width, divisions)


def _on_grid_tempo(
    onset: np.ndarray,
    w: np.ndarray,
    bpm: float,
    span: float = _REFINE_SPAN,
    width: float = _REFINE_WIDTH,
    divisions: tuple[int, ...] = _REFINE_DIVISIONS,
) -> float:
    """:func:`refine_on_grid` of checked onsets and weights."""
    used = w > 0
    if used.sum() < MIN_ONSETS:
        return float(bpm)
    t, w = onset[used] - onset[used][0], w[used]
    tempo = bpm * np.exp(np.linspace(-span, span, _REFINE_STEPS))
    near = np.exp(-0.5 * (np.log(tempo / bpm) / width) ** 2)
    best, best_score = float(bpm), -np.inf
    for d in divisions:
        phase = (2 * np.pi * d / 60.0) * np.outer(tempo, t)
        fit = np.hypot(np.cos(phase) @ w, np.sin(phase) @ w) / w.sum() * near
        i = int(np.argmax(fit))
        if fit[i] > best_score:
            best, best_score = float(tempo[i]), float(fit[i])
    return best


def _short_take_tempo(
    onset: np.ndarray,
    w: np.ndarray,
    bpm: float,
    span: float = _REFINE_SPAN,
    width: float = _REFINE_WIDTH,
    divisions: tuple[int, ...] = _REFINE_DIVISIONS,
    ahead: float = _SHORT_TAKE_AHEAD,
    ahead_beats: float = _AHEAD_MAX_BEATS,
) -> float:
    """``bpm`` refined on the hits' grid (:func:`refine_on_grid`) when the take spans
    :data:`_SHORT_TAKE_BEATS` or fewer at that tempo, and then times ``ahead`` when it
    spans ``ahead_beats`` or fewer (a fill, played ahead of the click); else
    ``bpm`` as it is: what :func:`tempo_estimate` does with the level it chose."""
    beats = (onset[-1] - onset[0]) * bpm / 60.0
    if beats > _SHORT_TAKE_BEATS:
        return float(bpm)
    refined = _on_grid_tempo(onset, w, bpm, span, width, divisions)
    return ahead * refined if beats <= ahead_beats else refined


def _level_scores(levels: MetricalLevels, prior_bpm: float, prior_octaves: float) -> np.ndarray:
    prior = -0.5 * (np.log2(levels.bpm / prior_bpm) / prior_octaves) ** 2
    return levels.features @ _WEIGHTS + prior


def tempo_estimate(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    lane: np.ndarray | None = None,
    min_bpm: float = 30.0,
    max_bpm: float = 300.0,
    prior_bpm: float = PRIOR_BPM,
    prior_octaves: float = PRIOR_OCTAVES,
    refine: bool = True,
) -> TempoEstimate:
    """The tempo of a performance from its hits alone, with a confidence.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
        When each hit sounded; at least four hits.
    weight : np.ndarray [shape=(n,), float64], optional
        The accent of each hit; pass the velocities (``hits.velocity``) when you have
        them. Equal weights by default.
    lane : np.ndarray [shape=(n,), int], optional
        The drum of each hit (``hits.lane``): the backbeat, the hi-hat's subdivision and
        the bar the lanes' pattern repeats at tell the beat level.
    min_bpm, max_bpm : float
        The range of tempos considered.
    prior_bpm, prior_octaves : float
        The centre and width (in octaves) of the log-normal prior over tempos; ``inf``
        width for none. The defaults were fitted with the model's weights.
    refine : bool
        Refine the tempo of a short take (16 beats or fewer) on the grid its hits fall
        on (:func:`refine_on_grid`); a take of 6 beats or fewer (a fill) is then taken
        1% slower than that grid, as drummers play a fill ahead of the click.

    Returns
    -------
    TempoEstimate

    Raises
    ------
    InputError
        If the onsets are not sorted, finite seconds, there are fewer than four, the
        lanes or weights do not match them, an option is out of range, or the hits span
        too short a time for any tempo in range to return (a ruff of five strokes).
    """
    _check_prior(prior_bpm, prior_octaves)
    levels = metrical_levels(onset_sec, weight=weight, lane=lane, min_bpm=min_bpm, max_bpm=max_bpm)
    score = _level_scores(levels, prior_bpm, prior_octaves)
    p = np.exp(score - score.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    best = int(order[0])
    others = tuple((float(levels.bpm[i]), float(p[i])) for i in order[1:].tolist())
    bpm = float(levels.bpm[best])
    if refine:
        bpm = _short_take_tempo(*_check_onsets(onset_sec, weight), bpm)
    return TempoEstimate(bpm=bpm, confidence=float(p[best]), alternatives=others)


def estimate_tempo(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    lane: np.ndarray | None = None,
    min_bpm: float = 30.0,
    max_bpm: float = 300.0,
    prior_bpm: float = PRIOR_BPM,
    prior_octaves: float = PRIOR_OCTAVES,
) -> float:
    """The tempo of a performance, from its hits alone: :func:`tempo_estimate`'s BPM.

    Parameters are those of :func:`tempo_estimate`.

    Returns
    -------
    bpm : float
        Quarter-note beats per minute.

    Examples
    --------
    A rock beat at 120 BPM (kick on 1 and 3, snare on 2 and 4, 8th-note hi-hat):

    >>> import numpy as np
    >>> from cymbalism.model.lanes import Lane
    >>> eighths = np.arange(64) * 0.25
    >>> drum = np.tile([Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE, Lane.HIHAT_CLOSED], 16)
    >>> round(estimate_tempo(eighths, lane=drum))
    120
    """
    return tempo_estimate(
        onset_sec,
        weight=weight,
        lane=lane,
        min_bpm=min_bpm,
        max_bpm=max_bpm,
        prior_bpm=prior_bpm,
        prior_octaves=prior_octaves,
    ).bpm


# --------------------------------------------------------------------------- over time


#: A window is sure of its tempo when its salience peaks at least this high (0 to about
#: 1) near the tempo followed. Chosen on the Groove MIDI train split (12 s windows of
#: beats played to a click): 7% of the windows below it were more than 2% off the click,
#: 0.4% of those above.
CURVE_MIN_SALIENCE = 0.3


def _window_salience(
    onset: np.ndarray, w: np.ndarray, start_sec: np.ndarray, length_sec: float, bpm: np.ndarray
) -> np.ndarray:
    """The salience in each window ``[start, start + length)`` of one envelope, in batches.

    Returns
    -------
    salience : np.ndarray [shape=(n_windows, n_bpm)]
    """
    x = _envelope(onset, w)
    n = round(length_sec * ENVELOPE_RATE_HZ)
    first = np.rint((start_sec - onset[0]) * ENVELOPE_RATE_HZ).astype(np.int64) + _PAD
    before, after = max(0, -int(first.min())), max(0, int(first.max()) + n - x.size)
    x = np.concatenate([np.zeros(before), x, np.zeros(after)])
    frames = np.lib.stride_tricks.sliding_window_view(x, n)
    max_lag = _max_lag(n)
    out = np.empty((first.size, bpm.size))
    for a in range(0, first.size, _BATCH):
        rows = frames[first[a : a + _BATCH] + before]
        out[a : a + _BATCH] = _metrical_salience(_autocorrelation(rows, max_lag), bpm)
    return out


def _sure_peak(bpm: np.ndarray, salience: np.ndarray) -> float:
    """The tempo of the highest salience; NaN if it is low or at the edge of the range."""
    i = int(np.argmax(salience))
    if salience[i] < CURVE_MIN_SALIENCE or i in (0, salience.size - 1):
        return float("nan")
    return _refine(bpm, salience, i)


def tempo_curve(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    lane: np.ndarray | None = None,
    window_sec: float = 12.0,
    hop_sec: float = 2.0,
    reference_bpm: float | None = None,
) -> TempoCurve:
    """The local tempo of a performance in sliding windows.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    weight : np.ndarray [shape=(n,), float64], optional
        The accent of each hit (velocities); equal weights by default.
    lane : np.ndarray [shape=(n,), int], optional
        The drum of each hit; used only to find the tempo to follow.
    window_sec : float
        The length of each window; it should span a few bars.
    hop_sec : float
        The step between windows.
    reference_bpm : float, optional
        The beat level to follow; the local tempo is searched within a major third of it.
        By default :func:`estimate_tempo` of the whole performance.

    Returns
    -------
    curve : TempoCurve
        Windows are centred from ``onset_sec[0] + window_sec / 2`` in steps of
        ``hop_sec``. A window is NaN (unsure) with fewer than four hits, or when its
        salience near the reference stays under :data:`CURVE_MIN_SALIENCE` or peaks at
        the edge of the range searched. A performance shorter than one window gives a
        single window over all of it.
    """
    onset, w = _check_onsets(onset_sec, weight)
    if not (np.isfinite(window_sec) and np.isfinite(hop_sec) and window_sec > 0 and hop_sec > 0):
        raise InputError(
            f"window_sec and hop_sec must be positive seconds, got {window_sec:g}, {hop_sec:g}"
        )
    _enough(onset, w, "a tempo curve")
    ref = (
        estimate_tempo(onset, weight=w, lane=lane)
        if reference_bpm is None
        else float(reference_bpm)
    )
    _check_range(ref / _LOCAL_RANGE, ref * _LOCAL_RANGE)
    bpm_grid = _bpm_grid(ref / _LOCAL_RANGE, ref * _LOCAL_RANGE)
    start, stop = float(onset[0]), float(onset[-1])
    if stop - start <= window_sec:
        centres = np.array([(start + stop) / 2.0])
        half = (stop - start) / 2.0 + 1e-9
    else:
        centres = np.arange(start + window_sec / 2.0, stop - window_sec / 2.0 + 1e-9, hop_sec)
        half = window_sec / 2.0
    bpm = np.full(centres.size, np.nan)
    lo = np.searchsorted(onset, centres - half, side="left")
    hi = np.searchsorted(onset, centres + half, side="right")
    weighted = np.concatenate([[0], np.cumsum(w > 0)])
    enough = (weighted[hi] - weighted[lo]) >= MIN_ONSETS
    if enough.any():
        salience = _window_salience(onset, w, centres[enough] - half, 2 * half, bpm_grid)
        bpm[enough] = [_sure_peak(bpm_grid, row) for row in salience]
    return TempoCurve(time_sec=centres, bpm=bpm, window_sec=float(window_sec))


def tempo_drift(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    lane: np.ndarray | None = None,
    window_sec: float = 12.0,
    hop_sec: float = 2.0,
) -> float:
    """How fast the tempo changed over a performance, in BPM per minute.

    The slope of a straight line fitted to the sure windows of :func:`tempo_curve`;
    positive when the player sped up. NaN when fewer than two windows are sure.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    weight : np.ndarray [shape=(n,), float64], optional
    lane : np.ndarray [shape=(n,), int], optional
    window_sec, hop_sec : float
        As for :func:`tempo_curve`.

    Returns
    -------
    drift : float
        BPM per minute.
    """
    curve = tempo_curve(onset_sec, weight=weight, lane=lane, window_sec=window_sec, hop_sec=hop_sec)
    return curve.drift_bpm_per_min


def click_grid(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    lane: np.ndarray | None = None,
    bpm: float | None = None,
) -> TempoMap:
    """The steady click a performance most likely followed, as a tempo map.

    For a recording with no tempo map of its own (audio of an acoustic kit): the
    tempo from :func:`estimate_tempo` (or ``bpm``); the phase of its 16th notes from
    the weighted circular mean of the onsets modulo a 16th, and which 16th is the beat
    from where the weight (the accents) falls. The map's first quarter note
    is stretched (a quarter to one and a quarter beats long) so that the beats after
    it fall on that phase.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    weight : np.ndarray [shape=(n,), float64], optional
        Velocities are a good weight.
    lane : np.ndarray [shape=(n,), int], optional
        The drum of each hit, for the tempo estimate.
    bpm : float, optional
        The tempo, if known.

    Returns
    -------
    TempoMap
    """
    onset, w = _check_onsets(onset_sec, weight)
    if bpm is None:
        bpm = estimate_tempo(onset, weight=w, lane=lane)
    if not MIN_BPM <= bpm <= MAX_BPM / 4:
        raise InputError(f"a click at {bpm:g} BPM is outside {MIN_BPM:g}-{MAX_BPM / 4:g} BPM")
    beat_sec = 60.0 / bpm
    if onset.size == 0 or w.sum() <= 0:
        return TempoMap.constant(bpm)
    # the 16th-note phase (every subdivision agrees on it), then the one of its four
    # beats-apart candidates on which the weight falls most (accents are on the beat)
    sixteenth = beat_sec / 4
    angle = np.angle(np.sum(w * np.exp(2j * np.pi * onset / sixteenth)))
    candidates = ((angle / (2 * np.pi)) % 1.0 + np.arange(4)) * sixteenth
    score = [float(np.sum(w * np.cos(2 * np.pi * (onset - c) / beat_sec))) for c in candidates]
    phase_sec = float(candidates[int(np.argmax(score))]) % beat_sec
    if phase_sec < 1e-6 or abs(phase_sec - beat_sec) < 1e-6:
        return TempoMap.constant(bpm)
    lead_sec = phase_sec if phase_sec >= 0.25 * beat_sec else phase_sec + beat_sec
    return TempoMap([(0.0, 60.0 / lead_sec), (1.0, bpm)])


def players_clicks(
    hits: Sequence[Hits], tempo_maps: Sequence[TempoMap | None]
) -> tuple[list[TempoMap], float | None]:
    """Each player's click: their own tempo map (a MIDI file's), or, for a recording
    (which has none), the first player's that has one, or else the click all the
    recordings' hits follow together (:func:`click_grid`).

    Returns
    -------
    clicks : list of TempoMap
        One per player.
    bpm : float or None
        The tempo found from the hits, or None when a tempo map gave it.
    """
    known = [m for m in tempo_maps if m is not None]
    bpm = None
    if not known:
        heard = Hits.concat(hits)
        weight = heard.velocity.astype(float)
        bpm = estimate_tempo(heard.onset_sec, weight=weight, lane=heard.lane)
        known = [click_grid(heard.onset_sec, weight=weight, lane=heard.lane, bpm=bpm)]
    return [m if m is not None else known[0] for m in tempo_maps], bpm
