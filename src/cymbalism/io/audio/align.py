"""Putting two recordings on one clock by the sound both microphones heard.

Two drummers each filmed by their own phone: the recordings start seconds apart, and
two devices' sample clocks run apart by tens of parts per million (50 ppm is 30 ms
after ten minutes: as much as the gap between two good drummers). Each microphone hears
both kits, so the files share sound, and the shared sound says how their clocks relate:

``t_other = offset_sec + (1 + drift) * t_reference``

How it is found:

1. Both files are decoded to mono at :data:`ANALYSIS_RATE`.
2. **Coarse:** stretches of the shorter recording are searched for over the whole of
   the other at a low rate, so the files may start minutes apart, in either order; a
   groove's repeating bars do not fool it, as the waveform's detail does not repeat.
3. **Fine:** in windows of :data:`WINDOW_SEC` through the shorter recording, the
   generalised cross-correlation with phase transform (GCC-PHAT: the cross-spectrum
   whitened, so every band's phase counts, not the loudest band's energy) gives the lag
   to a fraction of a sample, searched near the coarse lag.
4. **The room:** each kit reaches the far microphone later than its own, by the distance
   between them (about 3 ms a metre). Where both kits are heard in a window, its
   correlation has two peaks, one per kit, on either side of the clocks' lag by that
   delay: the lag is taken halfway between them, and the delay is reported.
5. **The fit:** offset and drift are a robust line (Theil-Sen) through the windows'
   lags; windows that disagree with it by more than :data:`AGREE_SEC` (a silent window,
   a loud sound only one microphone heard) are left out and counted.

:func:`align_recordings` returns a :class:`ClockAlignment`, which maps the other file's
times onto the reference's (:meth:`ClockAlignment.to_reference`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError, require
from cymbalism.io.audio.detector import VELOCITY_PER_DB
from cymbalism.io.audio.files import AudioBrokeOff, open_sound
from cymbalism.model.hits import Hits

__all__ = [
    "ANALYSIS_RATE",
    "ClockAlignment",
    "align_recordings",
    "align_signals",
    "heard_from_across",
    "other_kit",
    "read_mono",
]

#: Both files are compared at this rate (the lag is interpolated well below a sample).
ANALYSIS_RATE = 8000
#: Each fine estimate looks at this much of the shorter recording (a third of it, when
#: that is less).
WINDOW_SEC = 12.0
#: The shortest recording that is lined up.
SHORTEST_SEC = 10.0
#: A window's lag further than this from the fitted line is left out of the fit.
AGREE_SEC = 0.002
#: Two clocks are never further apart in rate than this (0.05%: 1.8 s an hour; sound
#: cards and phones are within 0.01%).
MAX_DRIFT = 5e-4
#: The far kit reaches a microphone at most this much later than the near one (10 m).
MAX_ROOM_DELAY_SEC = 0.03
#: In one window, a second peak counts as the other kit when it is at least this share
#: of the first.
SECOND_KIT_SHARE = 0.35
#: Summed over the windows (where chance peaks stay low), the second peak counts as the
#: other kit when it is at least this share of the first, and this many times any other.
SUMMED_KIT_SHARE = 0.2
OVER_THE_REST = 1.5
#: Files longer than this are compared over their first this many seconds.
LONGEST_SEC = 3 * 3600.0
#: A hit heard the room's delay after one of the other player's is the other kit's when it
#: is this much quieter (each against its recording's typical hit). Chosen on the four
#: duets ``evaluation/two_recordings.py`` chooses on, checked on its other eight.
QUIETER_DB = 3.0
#: The first search, for where one file is in the other, runs at this rate, over this
#: many stretches of the reference this long.
_COARSE_RATE = 2000
_COARSE_STRETCHES = 5
_COARSE_STRETCH_SEC = 30.0
#: Each window's lag is searched this far either side of the first search's line.
_FINE_MARGIN_SEC = 0.04


@dataclass(frozen=True)
class ClockAlignment:
    """How another recording's clock relates to a reference's.

    Attributes
    ----------
    offset_sec : float
        The other file's time at the reference's time zero (positive: the other file
        was started first).
    drift : float
        The other clock's rate minus the reference's, as a fraction (1e-6 is 1 ppm).
    windows : int
        Windows whose lag agrees with the fit.
    windows_total : int
        Windows looked at.
    room_delay_sec : float
        How much later each kit reached the far microphone, where both were heard
        (NaN when no window heard both kits apart).
    spread_sec : float
        The median distance of the agreeing windows' lags from the fit.
    """

    offset_sec: float
    drift: float
    windows: int
    windows_total: int
    room_delay_sec: float = math.nan
    spread_sec: float = 0.0

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    @property
    def agreement(self) -> float:
        """The share of windows that agree with the fit, 0-1."""
        return self.windows / self.windows_total if self.windows_total else 0.0

    def to_reference(self, t_other: np.ndarray | float) -> np.ndarray:
        """Times in the other file, in seconds of the reference file."""
        return (np.asarray(t_other, dtype=np.float64) - self.offset_sec) / (1.0 + self.drift)

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready (the room delay None when not heard)."""
        return {
            "offset_sec": round(self.offset_sec, 6),
            "drift_ppm": round(self.drift_ppm, 2),
            "windows": self.windows,
            "windows_total": self.windows_total,
            "spread_ms": round(self.spread_sec * 1000, 3),
            "room_delay_ms": (
                round(self.room_delay_sec * 1000, 2) if math.isfinite(self.room_delay_sec) else None
            ),
        }

    def describe(self) -> str:
        """One line for people: where, how fast, how sure."""
        sign = "after" if self.offset_sec < 0 else "before"
        room = (
            f", the kits {self.room_delay_sec * 1000:.1f} ms apart in the room"
            if math.isfinite(self.room_delay_sec)
            else ""
        )
        return (
            f"started {abs(self.offset_sec):.3f} s {sign} the first; its clock runs "
            f"{self.drift_ppm:+.0f} ppm; {self.windows} of {self.windows_total} stretches "
            f"agree within {self.spread_sec * 1000:.2f} ms{room}"
        )


def read_mono(path: str | Path, channel: int | None = None) -> np.ndarray:
    """A sound file as mono float32 at :data:`ANALYSIS_RATE` (its first three hours)."""
    soxr = require("soxr", "audio")
    blocks: list[np.ndarray] = []
    with open_sound(path) as snd:
        if channel is not None and not 0 <= channel < snd.channels:
            raise InputError(f"{path} has no channel {channel + 1}")
        stream = soxr.ResampleStream(snd.sample_rate, ANALYSIS_RATE, 1, dtype="float32")
        longest = int(LONGEST_SEC * snd.sample_rate)
        read = 0
        try:
            for block in snd.blocks(snd.sample_rate * 10):
                x = block[:, channel] if channel is not None else block.mean(axis=1)
                read += x.size
                last = read >= longest
                blocks.append(stream.resample_chunk(np.ascontiguousarray(x), last=last))
                if last:
                    break
            else:
                blocks.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
        except AudioBrokeOff:
            blocks.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    return np.concatenate([np.zeros(0, np.float32), *blocks]).astype(np.float32)


def align_recordings(
    reference: str | Path,
    other: str | Path,
    *,
    reference_channel: int | None = None,
    other_channel: int | None = None,
    reference_sound: np.ndarray | None = None,
) -> ClockAlignment:
    """How ``other``'s clock relates to ``reference``'s, from the sound both heard.

    Parameters
    ----------
    reference, other : str or Path
        Two recordings of one performance, each from its own device.
    reference_channel, other_channel : int, optional
        One channel of a file (0 = left); all channels mixed by default.
    reference_sound : np.ndarray, optional
        The reference as :func:`read_mono` reads it, when it is already read (to line
        several recordings up with one).

    Returns
    -------
    ClockAlignment

    Raises
    ------
    InputError
        If the files share too little sound to line up (see :func:`align_signals`).
    """
    a = reference_sound if reference_sound is not None else read_mono(reference, reference_channel)
    b = read_mono(other, other_channel)
    try:
        return align_signals(a, b, ANALYSIS_RATE)
    except InputError as exc:
        raise InputError(f"{Path(other).name} and {Path(reference).name}: {exc}") from None


def align_signals(reference: np.ndarray, other: np.ndarray, sample_rate: int) -> ClockAlignment:
    """:func:`align_recordings` on two mono signals at ``sample_rate`` (best at
    :data:`ANALYSIS_RATE`).

    The shorter signal is the one cut into windows and looked for in the longer, so a
    phone started late or stopped early lines up as well as one that ran throughout.

    Raises
    ------
    InputError
        If either signal is shorter than :data:`SHORTEST_SEC`, or fewer than three
        windows (and fewer than half of them) agree on one line: the recordings do not
        share enough sound (different performances, or a microphone that heard nothing).
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    if min(a.size, b.size) < SHORTEST_SEC * sample_rate:
        raise InputError(
            f"too short to line up: each recording needs {SHORTEST_SEC:.0f} s of sound or more"
        )
    if b.size >= a.size:
        return _align(a, b, sample_rate)
    found = _align(b, a, sample_rate)  # t_a = offset + (1 + drift) t_b: turned around
    return replace(
        found,
        offset_sec=-found.offset_sec / (1 + found.drift),
        drift=1 / (1 + found.drift) - 1,
    )


def _align(a: np.ndarray, b: np.ndarray, sample_rate: int) -> ClockAlignment:
    """``b``'s clock against ``a``'s, ``a`` cut into windows (the shorter signal)."""
    win = int(min(WINDOW_SEC, a.size / sample_rate / 3) * sample_rate)
    guess = _coarse_line(a, b, sample_rate)
    if guess is None:
        raise _unaligned(0, _COARSE_STRETCHES)
    windows: list[_Window] = []
    margin = int(_FINE_MARGIN_SEC * sample_rate)
    total = 0
    for start in range(0, a.size - win + 1, win // 2):
        centre = (start + win / 2) / sample_rate
        at = start + round((guess[0] + guess[1] * centre) * sample_rate)
        lo, hi = at - margin, at + win + margin
        seg_a = a[start : start + win]
        if lo < 0 or hi > b.size or not np.any(seg_a):
            continue
        total += 1
        found = _window(seg_a, b[lo:hi], sample_rate, centre, (lo - start) / sample_rate)
        if found is not None:
            windows.append(found)
    return _fit(windows, total, sample_rate)


@dataclass(frozen=True)
class _Window:
    """One window's correlation: ``r[j]`` is at lag ``first + j / rate`` seconds."""

    centre: float
    first: float
    r: np.ndarray
    peaks: tuple[float, ...]  # the strongest lag, and the other kit's where it stands out


def _window(
    seg_a: np.ndarray, seg_b: np.ndarray, sample_rate: int, centre: float, first: float
) -> _Window | None:
    """GCC-PHAT of a reference window against a longer stretch of the other signal
    (None when no lag stands out)."""
    n = 1 << math.ceil(math.log2(seg_a.size + seg_b.size))
    r = _gcc_phat(np.fft.rfft(seg_b, n), seg_a, n)[: seg_b.size - seg_a.size + 1]
    if r.size < 3:
        return None
    k = int(np.argmax(r))
    if r[k] < 6.0 * (np.median(np.abs(r)) + 1e-12):
        return None
    peaks = [first + (k + _parabola(r, k)) / sample_rate]
    j = _second_peak(r, k, sample_rate)
    if j is not None and r[j] >= SECOND_KIT_SHARE * r[k]:
        peaks.append(first + (j + _parabola(r, j)) / sample_rate)
    return _Window(centre, first, r / r[k], tuple(peaks))


def _gcc_phat(fb: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    """The generalised cross-correlation with phase transform of ``seg`` (tapered)
    against the signal whose ``n``-point spectrum is ``fb``: ``r[k]`` is the match of
    ``seg`` starting ``k`` samples into it (circular)."""
    cross = fb * np.conj(np.fft.rfft(seg * np.hanning(seg.size), n))
    cross /= np.abs(cross) + 1e-12 * np.abs(cross).max()
    return np.fft.irfft(cross, n)


def _second_peak(r: np.ndarray, k: int, sample_rate: int) -> int | None:
    """The highest local maximum of ``r`` within twice the largest room delay of ``k``,
    and more than 1.5 ms from it."""
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(r)
    gap = np.abs(peaks - k)
    peaks = peaks[(gap >= 0.0015 * sample_rate) & (gap <= 2 * MAX_ROOM_DELAY_SEC * sample_rate)]
    return int(peaks[np.argmax(r[peaks])]) if peaks.size else None


def _parabola(r: np.ndarray, k: int) -> float:
    if k <= 0 or k >= r.size - 1:
        return 0.0
    y0, y1, y2 = r[k - 1], r[k], r[k + 1]
    d = y0 - 2 * y1 + y2
    return 0.0 if d == 0 else float(0.5 * (y0 - y2) / d)


def _line(centres: np.ndarray, lags: np.ndarray) -> tuple[float, float]:
    from scipy.stats import theilslopes

    if centres.size < 2 or np.ptp(centres) == 0:
        return float(np.median(lags)), 0.0
    slope, intercept, _, _ = theilslopes(lags, centres)
    return float(intercept), float(np.clip(slope, -MAX_DRIFT, MAX_DRIFT))


def _room_delay(
    windows: list[_Window], line: tuple[float, float], rate: int
) -> tuple[float, float]:
    """The windows' correlations summed along ``line``: (how far the line is from halfway
    between the two kits' peaks, the room delay), or (from the one peak, NaN)."""
    reach = int(2 * MAX_ROOM_DELAY_SEC * rate)
    grid = np.arange(-reach, reach + 1)
    total = np.zeros(grid.size)
    for w in windows:
        at = (line[0] + line[1] * w.centre - w.first) * rate
        total += np.interp(at + grid, np.arange(w.r.size), w.r, left=0.0, right=0.0)
    k = int(np.argmax(total))
    j = _second_peak(total, k, rate)
    if j is None or not _stands_out(total, k, j, rate):
        return float(grid[k] + _parabola(total, k)) / rate, math.nan
    pk, pj = grid[k] + _parabola(total, k), grid[j] + _parabola(total, j)
    return float(pk + pj) / 2 / rate, float(abs(pk - pj)) / 2 / rate


def _stands_out(total: np.ndarray, k: int, j: int, rate: int) -> bool:
    """Whether the summed correlation's second peak ``j`` is the other kit: at least
    :data:`SUMMED_KIT_SHARE` of the first, and :data:`OVER_THE_REST` times any other
    peak (summed over the windows, chance peaks stay low)."""
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(total)
    rest = peaks[(np.abs(peaks - k) >= 0.0015 * rate) & (np.abs(peaks - j) >= 0.0015 * rate)]
    third = float(total[rest].max()) if rest.size else 0.0
    return total[j] >= SUMMED_KIT_SHARE * total[k] and total[j] >= OVER_THE_REST * third


def _fit(windows: list[_Window], total: int, rate: int) -> ClockAlignment:
    """The clocks' line through the windows' lags, each kit's peak moved by the room."""
    if len(windows) < 3:
        raise _unaligned(len(windows), total)
    centres = np.array([w.centre for w in windows])
    line = _line(centres, np.array([w.peaks[0] for w in windows]))
    shift, room = _room_delay(windows, line, rate)
    line = (line[0] + shift, line[1])
    tau = 0.0 if math.isnan(room) else room
    lags = np.zeros(len(windows))
    for _ in range(3):  # each window's lag: whichever reading of its peaks the line favours
        for i, w in enumerate(windows):
            expect = line[0] + line[1] * w.centre
            readings = [p + s for p in w.peaks for s in ((-tau, tau) if tau else (0.0,))]
            if len(w.peaks) == 2:
                readings.append((w.peaks[0] + w.peaks[1]) / 2)
            lags[i] = min(readings, key=lambda x: abs(x - expect))
        line = _line(centres, lags)
    resid = lags - (line[0] + line[1] * centres)
    keep = np.abs(resid) <= AGREE_SEC
    if keep.sum() < 3 or keep.sum() < 0.5 * total:
        raise _unaligned(int(keep.sum()), total)
    slope, intercept = np.polyfit(centres[keep], lags[keep], 1)
    resid = lags - (intercept + slope * centres)
    # t_b = t_a + lag(t_a) = intercept + (1 + slope) t_a
    return ClockAlignment(
        offset_sec=float(intercept),
        drift=float(slope),
        windows=int(keep.sum()),
        windows_total=int(total),
        room_delay_sec=room,
        spread_sec=float(np.median(np.abs(resid[keep]))),
    )


def _coarse_line(a: np.ndarray, b: np.ndarray, sample_rate: int) -> tuple[float, float] | None:
    """A first offset and drift: stretches of ``a`` found anywhere in ``b`` at a low rate.

    Each of :data:`_COARSE_STRETCHES` stretches of the reference is searched for over
    the whole other signal (GCC-PHAT at :data:`_COARSE_RATE`): the waveform's detail
    does not repeat the way a groove's bars do, so the right lag stands out. The stretches
    that stand out give the line; fewer than three give the offset of the clearest, with
    no drift.
    """
    from scipy.signal import resample_poly
    from scipy.stats import theilslopes

    step = max(1, sample_rate // _COARSE_RATE)
    rate = sample_rate / step
    la = resample_poly(a, 1, step) if step > 1 else a
    lb = resample_poly(b, 1, step) if step > 1 else b
    n = min(la.size // 2, int(_COARSE_STRETCH_SEC * rate))
    size = 1 << math.ceil(math.log2(lb.size + n))
    fb = np.fft.rfft(lb, size)
    points = []
    for start in np.unique(np.linspace(0, la.size - n, _COARSE_STRETCHES).astype(int)):
        seg = la[start : start + n]
        if not np.any(seg):
            continue
        r = _gcc_phat(fb, seg, size)
        k = int(np.argmax(r))
        if r[k] < 8.0 * (np.median(np.abs(r)) + 1e-12):
            continue
        shift = k if k < size - n else k - size  # a negative shift wraps around
        points.append(((start + n / 2) / rate, (shift - start) / rate, float(r[k])))
    if not points:
        return None
    if len(points) < 3:
        return max(points, key=lambda p: p[2])[1], 0.0
    centre, lag, _ = (np.asarray(x) for x in zip(*points, strict=True))
    slope, intercept, _, _ = theilslopes(lag, centre)
    return float(intercept), float(np.clip(slope, -MAX_DRIFT, MAX_DRIFT))


def heard_from_across(
    onset_sec: np.ndarray,
    other_onset_sec: np.ndarray,
    room_delay_sec: float,
    *,
    tolerance_sec: float = 0.0015,
) -> np.ndarray:
    """Which hits of one recording fall the room's delay after one of the other's.

    On one clock, the other kit's sound reaches this phone ``room_delay_sec`` after it
    reached its own: a hit found that long after one of the other recording's (within
    ``tolerance_sec``) may be that sound rather than this player's own stroke
    (:func:`other_kit` decides by how loud it is).

    Parameters
    ----------
    onset_sec, other_onset_sec : np.ndarray [seconds, sorted]
        Both recordings' hits on one clock.
    room_delay_sec : float
        :attr:`ClockAlignment.room_delay_sec` (NaN: nothing is marked).

    Returns
    -------
    np.ndarray [shape=onset_sec.shape, bool]
    """
    onset = np.asarray(onset_sec, dtype=np.float64)
    other = np.asarray(other_onset_sec, dtype=np.float64)
    if not math.isfinite(room_delay_sec) or not other.size or not onset.size:
        return np.zeros(onset.shape, bool)
    _, distance = _nearest(onset - room_delay_sec, other)
    return distance <= tolerance_sec


def other_kit(
    hits: Hits, other: Hits, room_delay_sec: float, *, quieter_db: float = QUIETER_DB
) -> np.ndarray:
    """Which hits of one recording are the other kit's sound, heard from across the room.

    A hit is the other kit's when it falls the room's delay after one of the other
    player's (:func:`heard_from_across`) and is at least ``quieter_db`` quieter, against
    the recording's typical hit, than that hit was against the other recording's typical
    hit (each recording's median velocity, so the phones' own gains cancel out). A
    player who strikes just then, as loud as usual, keeps the stroke.

    Parameters
    ----------
    hits, other : Hits
        Both recordings' hits on one clock.
    room_delay_sec : float
        :attr:`ClockAlignment.room_delay_sec` (NaN: nothing is marked).

    Returns
    -------
    np.ndarray [shape=(len(hits),), bool]
    """
    across = heard_from_across(hits.onset_sec, other.onset_sec, room_delay_sec)
    if not across.any():
        return across
    j, _ = _nearest(hits.onset_sec - room_delay_sec, other.onset_sec)
    mine = hits.velocity - np.median(hits.velocity)
    theirs = other.velocity[j] - np.median(other.velocity)
    return across & (mine <= theirs - quieter_db * VELOCITY_PER_DB)


def _nearest(at: np.ndarray, sorted_sec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each time in ``at``, the index of the nearest of ``sorted_sec`` (not empty),
    and how far it is."""
    i = np.searchsorted(sorted_sec, at)
    lo = np.clip(i - 1, 0, sorted_sec.size - 1)
    hi = np.clip(i, 0, sorted_sec.size - 1)
    j = np.where(np.abs(at - sorted_sec[lo]) <= np.abs(at - sorted_sec[hi]), lo, hi)
    return j, np.abs(at - sorted_sec[j])


def _unaligned(agree: int, total: int) -> InputError:
    return InputError(
        f"cannot line the recordings up by their sound ({agree} of {total} stretches "
        "agree): are they of the same performance, and did each microphone hear both kits?"
    )
