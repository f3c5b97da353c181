"""Summary moments of a list of times or errors, whole and in sliding windows.

One place computes the mean, SD and mean absolute value that timing and sync
statistics report, so every figure in cymbalism is computed the same way:

- the mean of an empty set is NaN;
- the SD is the sample SD (``ddof=1``, as R's ``sd`` in onsetsync), NaN below two values.

Sliding windows are centred on a regular grid: window ``k`` is centred at
``t0 + k * hop_sec`` for ``k = 0, 1, ...`` up to the last event time, and holds the
events with ``centre - window_sec / 2 <= time < centre + window_sec / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cymbalism.errors import InputError

__all__ = [
    "Moments",
    "WindowedMoments",
    "grouped_moments",
    "moments",
    "window_centres",
    "windowed_moments",
]


@dataclass(frozen=True)
class Moments:
    """Count, mean, sample SD and mean absolute value of some values (seconds)."""

    n: int
    mean: float
    sd: float
    mean_abs: float


def moments(values: np.ndarray) -> Moments:
    """The :class:`Moments` of the finite-or-NaN ``values`` (NaN entries are ignored).

    Parameters
    ----------
    values : np.ndarray [shape=(n,), float64]

    Returns
    -------
    moments : Moments
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Moments(0, float("nan"), float("nan"), float("nan"))
    mean = float(np.add.reduce(x)) / n
    dev = x - mean
    sd = math.sqrt(float(np.add.reduce(dev * dev)) / (n - 1)) if n > 1 else float("nan")
    return Moments(n, mean, sd, float(np.add.reduce(np.abs(x))) / n)


def grouped_moments(
    values: np.ndarray, group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The moments of ``values`` in each group at once (the definitions of :func:`moments`).

    Parameters
    ----------
    values : np.ndarray [shape=(n,), float64]
        NaN entries are ignored.
    group : np.ndarray [shape=(n,), int]
        The group of each value, in ``0 .. n_groups - 1``.
    n_groups : int

    Returns
    -------
    n : np.ndarray [shape=(n_groups,), int64]
    mean, sd, mean_abs : np.ndarray [shape=(n_groups,), float64]
        NaN where a group has too few values.
    """
    x = np.asarray(values, dtype=np.float64)
    g = np.asarray(group, dtype=np.intp)
    keep = ~np.isnan(x)
    x, g = x[keep], g[keep]
    n = np.bincount(g, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=x, minlength=n_groups) / n
        dev = x - mean[g]
        ss = np.bincount(g, weights=dev * dev, minlength=n_groups)
        sd = np.where(n > 1, np.sqrt(ss / (n - 1)), np.nan)
        mean_abs = np.bincount(g, weights=np.abs(x), minlength=n_groups) / n
    return n.astype(np.int64), mean, sd, mean_abs


def _check_positive(value: float, name: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be a positive number of seconds, got {value!r}")
    if v > 24 * 3600:
        raise InputError(f"{name} = {v:g} s is longer than a day (milliseconds given as seconds?)")
    return v


def window_centres(time_sec: np.ndarray, *, hop_sec: float) -> np.ndarray:
    """Window centres ``t0, t0 + hop, ...`` up to the last of ``time_sec`` (sorted)."""
    hop = _check_positive(hop_sec, "hop_sec")
    t = np.asarray(time_sec, dtype=np.float64)
    if t.size == 0:
        return np.empty(0)
    n = int(np.floor((t[-1] - t[0]) / hop + 1e-9)) + 1
    return t[0] + hop * np.arange(n)


@dataclass(frozen=True, eq=False)
class WindowedMoments:
    """Moments of the values in each sliding window.

    Attributes
    ----------
    time_sec : np.ndarray [shape=(k,), float64, seconds]
        Window centres.
    n, mean, sd, mean_abs : np.ndarray [shape=(k,)]
        Per window (``n`` int64, the rest float64 seconds, NaN when undefined).
    lo, hi : np.ndarray [shape=(k,), int64]
        Each window holds the events ``lo[k] <= i < hi[k]``.
    """

    time_sec: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    mean_abs: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def windowed_moments(
    time_sec: np.ndarray, values: np.ndarray, *, window_sec: float, hop_sec: float
) -> WindowedMoments:
    """Moments of ``values`` in windows sliding over the sorted event times ``time_sec``.

    Parameters
    ----------
    time_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    values : np.ndarray [shape=(n,), float64]
        NaN values (misses) count as events of the window but not in the moments.
    window_sec, hop_sec : float
        Window length and the step between window centres.

    Returns
    -------
    windows : WindowedMoments
    """
    w = _check_positive(window_sec, "window_sec")
    t = np.asarray(time_sec, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    if t.shape != x.shape:
        raise InputError(f"time_sec and values differ in shape: {t.shape} vs {x.shape}")
    centres = window_centres(t, hop_sec=hop_sec)
    lo = np.searchsorted(t, centres - w / 2, side="left")
    hi = np.searchsorted(t, centres + w / 2, side="left")
    k = centres.size
    n = np.zeros(k, dtype=np.int64)
    mean, sd, mean_abs = np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan)
    for i in range(k):
        m = moments(x[lo[i] : hi[i]])
        n[i], mean[i], sd[i], mean_abs[i] = m.n, m.mean, m.sd, m.mean_abs
    return WindowedMoments(centres, n, mean, sd, mean_abs, lo.astype(np.int64), hi.astype(np.int64))
