"""Tempo from hits alone: the tempo of a performance, its curve over time, and its drift.

Conventions
-----------
- Input is onset times in seconds (sorted, finite), optionally weighted: the velocity
  of each hit is a good weight, because accents fall on the beat more often than not.
  Tempo events, click tracks and charts are never used: only when the hits sounded.
- BPM means quarter-note beats per minute, as everywhere in cymbalism. From hits alone
  the beat level is a guess (a listener might tap 70 or 140 to the same groove); the
  estimator prefers the level whose beats have regular multiples and subdivisions and
  leans, through a broad prior, toward the tempos most music is played at.

Method
------
1. The onsets become an accent envelope: one impulse per hit (its weight), sampled at
   200 Hz and smoothed with a 15 ms Gaussian, about the spread of a good drummer.
2. Its autocorrelation ``A(lag)`` (normalised for the overlap at each lag, so short
   performances are not biased toward short lags) shows how strongly the playing
   repeats after each lag.
3. The metrical salience of a beat period ``T`` is the mean of ``A`` at ``T``, ``2T`` and
   ``4T`` (the beat, half bar and bar of a 4/4 groove, where they fit in the
   performance), times ``max(A(T/2), 0.8 A(T/3)) ** 0.25``: a beat should divide into
   two (or, a little less likely, three). This suppresses periods of three eighth
   notes, which syncopated grooves repeat. A beat with nothing played inside it cannot
   divide: it is credited instead with how evenly it repeats (``A(T) ** 10``), so that
   a plain pulse is read at the level the prior prefers, not always at half its rate.
4. A log-Gaussian prior centred on 120 BPM with a one-octave standard deviation weighs
   the salience; the peak, refined by parabolic interpolation, is the tempo.

The local tempo (:func:`tempo_curve`) repeats steps 1-3 in sliding windows, searching
within a major third of the whole performance's tempo, so the curve cannot jump to
double or half time. The drift is the slope of a straight line through the curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy.ndimage import gaussian_filter1d

from cymbalism.errors import InputError
from cymbalism.model.tempo import MAX_BPM, MIN_BPM, TempoMap
from cymbalism.model.validate import validate_times

__all__ = [
    "TempoCurve",
    "click_grid",
    "estimate_tempo",
    "tempo_curve",
    "tempo_drift",
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
#: own rate and keep an eighth-note groove whose tempo drifts at its quarter notes; no
#: Groove MIDI estimate changes for any power from 6 to 24.
_UNDIVIDED_POWER = 10.0
#: Resolution of the tempo grid searched, as a ratio between neighbours (0.2%).
_GRID_STEP = 1.002
#: How far the local tempo may stray from the whole performance's tempo (a major third).
_LOCAL_RANGE = 2.0 ** (1.0 / 3.0)


@dataclass(frozen=True, eq=False)
class TempoCurve:
    """The local tempo of a performance over time.

    Attributes
    ----------
    time_sec : np.ndarray [shape=(m,), float64, seconds]
        The centre of each window.
    bpm : np.ndarray [shape=(m,), float64, BPM]
        The tempo in each window; NaN where the window held too few hits.
    window_sec : float
        The length of each window.
    """

    time_sec: np.ndarray
    bpm: np.ndarray
    window_sec: float

    def __len__(self) -> int:
        return int(self.time_sec.size)

    @property
    def drift_bpm_per_min(self) -> float:
        """The slope of a least-squares line through the curve, in BPM per minute.

        Positive when the player sped up. NaN when fewer than two windows have a tempo.
        """
        ok = np.isfinite(self.bpm)
        if ok.sum() < 2:
            return float("nan")
        slope_per_sec = np.polyfit(self.time_sec[ok], self.bpm[ok], 1)[0]
        return float(slope_per_sec * 60.0)


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


def _check_range(min_bpm: float, max_bpm: float) -> None:
    if not (np.isfinite(min_bpm) and np.isfinite(max_bpm) and 0 < min_bpm < max_bpm):
        raise InputError(
            f"the tempo range must be 0 < min_bpm < max_bpm, got {min_bpm:g}-{max_bpm:g}"
        )


def _enough(onset: np.ndarray, w: np.ndarray, what: str) -> None:
    n = int(np.count_nonzero(w > 0))
    span = float(onset[-1] - onset[0]) if onset.size else 0.0
    if n < MIN_ONSETS or span <= 0.0:
        raise InputError(
            f"{what} needs at least {MIN_ONSETS} weighted hits spread over time; "
            f"got {n} over {span:.3g} s"
        )


# ---------------------------------------------------------------------------- the method


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


def _peak(bpm: np.ndarray, score: np.ndarray) -> float:
    """The grid point of the highest score, refined by a parabola through its neighbours."""
    i = int(np.argmax(score))
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


def tempo_salience(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    min_bpm: float = 30.0,
    max_bpm: float = 300.0,
) -> tuple[np.ndarray, np.ndarray]:
    """How strongly the hits support each tempo (before any prior): a tempo spectrum.

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


def estimate_tempo(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    min_bpm: float = 30.0,
    max_bpm: float = 300.0,
    prior_bpm: float = 120.0,
    prior_octaves: float = 1.0,
) -> float:
    """The tempo of a performance, from its hits alone.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
        When each hit sounded; at least four hits.
    weight : np.ndarray [shape=(n,), float64], optional
        The accent of each hit; pass the velocities (``hits.velocity``) when you have
        them. Equal weights by default.
    min_bpm, max_bpm : float
        The range of tempos considered.
    prior_bpm : float
        The centre of the prior over tempos: where the estimator leans when the hits
        fit several metrical levels equally well.
    prior_octaves : float
        The width (standard deviation) of the prior, in octaves; ``inf`` for none.

    Returns
    -------
    bpm : float
        Quarter-note beats per minute.

    Raises
    ------
    InputError
        If the onsets are not sorted, finite seconds, there are fewer than four, or an
        option is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> round(estimate_tempo(np.arange(32) * 0.5))  # a hit every half second
    120
    """
    onset, w = _check_onsets(onset_sec, weight)
    _check_range(min_bpm, max_bpm)
    if not (prior_bpm > 0 and prior_octaves > 0):
        raise InputError(
            f"prior_bpm and prior_octaves must be positive, got {prior_bpm:g}, {prior_octaves:g}"
        )
    _enough(onset, w, "a tempo estimate")
    bpm = _bpm_grid(min_bpm, max_bpm)
    prior = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
    return _peak(bpm, _salience(onset, w, bpm) * prior)


def tempo_curve(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
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
        ``hop_sec``; a window with fewer than four hits has a NaN tempo. A performance
        shorter than one window gives a single window over all of it.
    """
    onset, w = _check_onsets(onset_sec, weight)
    if not (np.isfinite(window_sec) and np.isfinite(hop_sec) and window_sec > 0 and hop_sec > 0):
        raise InputError(
            f"window_sec and hop_sec must be positive seconds, got {window_sec:g}, {hop_sec:g}"
        )
    _enough(onset, w, "a tempo curve")
    ref = estimate_tempo(onset, weight=w) if reference_bpm is None else float(reference_bpm)
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
    if centres.size == 1:
        bpm[0] = _peak(bpm_grid, _salience(onset, w, bpm_grid))
        return TempoCurve(time_sec=centres, bpm=bpm, window_sec=float(window_sec))
    lo = np.searchsorted(onset, centres - half, side="left")
    hi = np.searchsorted(onset, centres + half, side="left")
    weighted = np.concatenate([[0], np.cumsum(w > 0)])
    enough = (weighted[hi] - weighted[lo]) >= MIN_ONSETS
    if enough.any():
        sal = _window_salience(onset, w, centres[enough] - half, 2 * half, bpm_grid)
        bpm[enough] = [_peak(bpm_grid, row) for row in sal]
    return TempoCurve(time_sec=centres, bpm=bpm, window_sec=float(window_sec))


def tempo_drift(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    window_sec: float = 12.0,
    hop_sec: float = 2.0,
) -> float:
    """How fast the tempo changed over a performance, in BPM per minute.

    The slope of a straight line fitted to :func:`tempo_curve`; positive when the
    player sped up. NaN when the performance is too short for two windows.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    weight : np.ndarray [shape=(n,), float64], optional
    window_sec, hop_sec : float
        As for :func:`tempo_curve`.

    Returns
    -------
    drift : float
        BPM per minute.
    """
    curve = tempo_curve(onset_sec, weight=weight, window_sec=window_sec, hop_sec=hop_sec)
    return curve.drift_bpm_per_min


def click_grid(
    onset_sec: np.ndarray,
    *,
    weight: np.ndarray | None = None,
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
    bpm : float, optional
        The tempo, if known.

    Returns
    -------
    TempoMap
    """
    onset, w = _check_onsets(onset_sec, weight)
    if bpm is None:
        bpm = estimate_tempo(onset, weight=w)
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
