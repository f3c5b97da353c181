"""The bare linear phase-correction model of an ensemble, many runs at once.

This is the generative model that :mod:`cymbalism.analysis.coupling` estimates, without
anything else a drummer does (no misses, no parts, no learning): each player ``i`` has a
timekeeper with noise ``T_i`` (SD ``sigma_t``) and a motor delay with noise ``M_i`` (SD
``sigma_m``), and corrects the phase of its next interval by ``alpha_ij`` times its last
asynchrony to every source ``j`` (the other players, and the click)::

    k_i(n+1) = k_i(n) + d(n) + T_i(n) - sum_j alpha_ij (t_i(n) - t_j(n))
                                      - alpha_click_i (t_i(n) - c(n) - b_i)
    t_i(n)   = k_i(n) + M_i(n),    k_i(0) = c(0) + b_i

with the click ``c(n)`` (isochronous, ``n * period``, unless ``click_sec`` gives it), its
intervals ``d(n) = c(n+1) - c(n)`` and each player's preferred asynchrony to the click
``b_i`` (``bias_sec``, 0 by default), so
``t_i(n+1) - t_i(n) = d(n) + T_i(n) - sum_j alpha_ij A_ij(n) - ... + M_i(n+1) - M_i(n)``
(Vorberg & Wing 1996; Wing, Endo, Bradbury & Vorberg 2014). Runs are simulated together as
arrays, so thousands of runs cost about as much as one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cymbalism.errors import InputError

__all__ = ["EnsembleRuns", "groove_strokes", "simulate_phase_correction"]


@dataclass(frozen=True)
class EnsembleRuns:
    """Simulated onsets of an ensemble.

    Attributes
    ----------
    onset_sec : np.ndarray [shape=(n_runs, n_events, n_players), float64, seconds]
    click_sec : np.ndarray [shape=(n_events,), float64, seconds]
        The click (the grid): ``n * period_sec``, or the ``click_sec`` given.
    keeper_sec : np.ndarray [shape=(n_runs, n_events, n_players), float64, seconds]
        The timekeeper's times ``k_i(n)`` (the onsets without the motor noise).
    """

    onset_sec: np.ndarray
    click_sec: np.ndarray
    keeper_sec: np.ndarray | None = None


def simulate_phase_correction(
    alpha: np.ndarray,
    *,
    n_events: int,
    period_sec: float = 0.5,
    sigma_t_sec: float | np.ndarray = 0.010,
    sigma_m_sec: float | np.ndarray = 0.005,
    alpha_click: np.ndarray | None = None,
    n_runs: int = 1,
    seed: int | None = 0,
    click_sec: np.ndarray | None = None,
    bias_sec: float | np.ndarray = 0.0,
) -> EnsembleRuns:
    """Simulate players who correct their phase toward each other (and a click).

    Parameters
    ----------
    alpha : np.ndarray [shape=(n_players, n_players)]
        ``alpha[i, j]``: gain of player ``i`` toward player ``j`` (diagonal ignored).
    n_events : int
        Onsets per player.
    period_sec : float
        The nominal interval.
    sigma_t_sec, sigma_m_sec : float or np.ndarray [shape=(n_players,) or (n_events, n_players)]
        Timekeeper and motor noise SDs, in seconds; per event too, for players whose
        noise changes over time (a learning curve).
    alpha_click : np.ndarray [shape=(n_players,)], optional
        Gain of each player toward the click (default: no click correction).
    n_runs : int
        Independent runs.
    seed : int or None
    click_sec : np.ndarray [shape=(n_events,), float64, seconds, increasing], optional
        The click (a tempo map's beats); overrides ``period_sec``.
    bias_sec : float or np.ndarray [shape=(n_players,)]
        Each player's preferred asynchrony to the click (negative: ahead of it), the
        target of the click correction and the first onset's offset.

    Returns
    -------
    runs : EnsembleRuns

    Raises
    ------
    InputError
        If a shape is wrong, a gain lies outside [0, 2), a noise is negative or looks
        like milliseconds.
    """
    a = np.array(alpha, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise InputError(f"alpha must be a square (n_players, n_players) matrix, got {a.shape}")
    p = a.shape[0]
    np.fill_diagonal(a, 0.0)
    ac = np.zeros(p) if alpha_click is None else np.asarray(alpha_click, dtype=np.float64)
    if ac.shape != (p,):
        raise InputError(f"alpha_click must have shape ({p},), got {ac.shape}")
    if (a < 0).any() or (a >= 2).any() or (ac < 0).any() or (ac >= 2).any():
        raise InputError("phase-correction gains must lie in [0, 2) for a stable ensemble")
    if click_sec is not None:
        click = np.asarray(click_sec, dtype=np.float64)
        if click.ndim != 1 or click.size < 2 or not (np.diff(click) > 0).all():
            raise InputError("click_sec must be at least two increasing times in seconds")
        n_events = click.size
        period_sec = float(np.diff(click).min())
    else:
        click = np.arange(n_events, dtype=np.float64) * float(period_sec)
    try:
        st = np.broadcast_to(np.asarray(sigma_t_sec, dtype=np.float64), (n_events, p))
        sm = np.broadcast_to(np.asarray(sigma_m_sec, dtype=np.float64), (n_events, p))
        bias = np.broadcast_to(np.asarray(bias_sec, dtype=np.float64), (p,))
    except ValueError:
        raise InputError(
            f"noise SDs must be scalars, ({p},) or ({n_events}, {p}) and bias_sec ({p},)"
        ) from None
    if (st < 0).any() or (sm < 0).any():
        raise InputError("noise SDs must be >= 0")
    if np.abs(bias).max() > 0.5 * period_sec:
        raise InputError(
            f"a bias of {np.abs(bias).max()} s is implausible for a {period_sec} s period "
            "(did you give milliseconds?)"
        )
    if max(st.max(), sm.max()) > 0.5 * period_sec:
        raise InputError(
            f"noise SDs {st.max()}, {sm.max()} s are implausible for a {period_sec} s period "
            "(did you give milliseconds?)"
        )
    if n_events < 2 or n_runs < 1 or period_sec <= 0:
        raise InputError("need n_events >= 2, n_runs >= 1 and a positive period")
    rng = np.random.default_rng(seed)
    timer = rng.standard_normal((n_events, n_runs, p)) * st[:, None, :]
    motor = rng.standard_normal((n_events, n_runs, p)) * sm[:, None, :]
    interval = np.diff(click)
    keeper = np.zeros((n_events, n_runs, p))
    onset = np.zeros((n_events, n_runs, p))
    keeper[0] = click[0] + bias
    onset[0] = keeper[0] + motor[0]
    for n in range(n_events - 1):
        t = onset[n]  # (runs, p)
        asy = t[:, :, None] - t[:, None, :]  # asy[r, i, j] = t_i - t_j
        correction = np.einsum("ij,rij->ri", a, asy) + ac * (t - click[n] - bias)
        keeper[n + 1] = keeper[n] + interval[n] + timer[n] - correction
        onset[n + 1] = keeper[n + 1] + motor[n + 1]
    return EnsembleRuns(
        onset_sec=np.ascontiguousarray(onset.transpose(1, 0, 2)),
        click_sec=click,
        keeper_sec=np.ascontiguousarray(keeper.transpose(1, 0, 2)),
    )


def groove_strokes(
    beat_sec: np.ndarray, *, sigma_sec: float = 0.008, seed: int | np.random.Generator | None = 0
) -> np.ndarray:
    """A groove played around a player's beats: the strokes a drummer adds between them.

    After every beat but the last, the 8th note half-way to the next beat; after every
    other beat (the 1st, 3rd, ...), the 16ths a quarter and three quarters of the way too.
    Each added stroke has a timing noise of its own; the beats are kept as they are. The
    intervals then differ from one stroke to the next, as a groove's do.

    Parameters
    ----------
    beat_sec : np.ndarray [shape=(n,), float64, seconds, increasing]
        The player's beats (a column of :attr:`EnsembleRuns.onset_sec`).
    sigma_sec : float
        SD of the added strokes' timing noise.
    seed : int or np.random.Generator or None

    Returns
    -------
    strokes_sec : np.ndarray [shape=(n + 2 * ceil((n - 1) / 2) + n - 1,), float64, sorted]
    """
    beats = np.asarray(beat_sec, dtype=np.float64)
    if beats.ndim != 1 or (np.diff(beats) <= 0).any():
        raise InputError("beats must be increasing times in seconds")
    rng = np.random.default_rng(seed)
    d = np.diff(beats)
    parts = [
        beats,
        beats[:-1] + 0.5 * d,
        beats[:-1:2] + 0.25 * d[::2],
        beats[:-1:2] + 0.75 * d[::2],
    ]
    added = np.concatenate(parts[1:])
    strokes = np.concatenate([beats, added + rng.normal(0.0, sigma_sec, added.size)])
    return np.sort(strokes)
