"""Who adapts to whom: linear phase correction estimated by bGLS, windowed, and lead/lag.

Conventions
-----------
The data is an :class:`~cymbalism.model.onsets.OnsetTable`: one row per shared event
(beat, grid slot, chart position), one column per source (a player, or the click), NaN
where a source has no onset. Asynchrony of player ``i`` to source ``j`` is
``A_ij(k) = t_i(k) - t_j(k)`` (positive: ``i`` is late), as everywhere in cymbalism.

The model (Vorberg & Wing 1996; Vorberg & Schulze 2002; for ensembles Wing, Endo, Bradbury
& Vorberg 2014) is, for each player ``i`` with timekeeper noise ``T_i`` and motor noise
``M_i``::

    t_i(k+1) - t_i(k) = d(k) + tau_i - sum_j alpha_ij (A_ij(k) - mu_ij)
                        + T_i(k) + M_i(k+1) - M_i(k)

where ``d(k)`` is the nominal interval between the events (the reference grid's, else a
constant folded into ``tau_i``), ``alpha_ij`` the gain with which ``i`` corrects its phase
toward ``j`` (0: ignores ``j``; 1: closes the whole asynchrony at once) and ``mu_ij`` the
mean asynchrony. The error term ``T_i(k) + M_i(k+1) - M_i(k)`` is a moving average of order
one: variance ``sigma_T^2 + 2 sigma_M^2``, lag-one autocovariance ``-sigma_M^2``. The
motor noise ``M_i(k)`` also sits inside ``A_ij(k)``, so plain least squares is biased (it
over-estimates ``alpha`` as ``sigma_M`` grows).

bGLS (Jacoby, Tishby, Repp, Ahissar & Keller 2015) removes the bias: it alternates a
generalised least-squares fit of the gains under the MA(1) covariance with a re-estimate
of that covariance from the residuals, bounded so that ``sigma_M^2 >= 0`` and
``sigma_T^2 >= sigma_M^2`` (the bounds of the authors' reference implementation). The
covariance is tridiagonal, so each step is a banded solve, linear in the number of events;
events where the sequence breaks (a missed note) simply get no covariance with their
neighbours.

A player "leads" a pair when it adapts less to the partner than the partner adapts to it
(``alpha_ab < alpha_ba``: a leads b), by more than the 95% interval of the difference
(:meth:`CouplingFit.leader`); gains that differ by less name no leader. That is the
only sense of "leads" in cymbalism; the lagged cross-correlation of the intervals
(:func:`lead_lag`) is a second, model-free view, reported under its own name.

A fit is read only when it can be: a gain outside the stable range 0-2 (below 0 the
player moves away from the source; above 2 every correction overshoots by more than the
gap) does not describe players correcting toward each other, and fewer than
:data:`MIN_RELIABLE_INTERVALS` intervals per source leave a gain too uncertain to tell
who adapts more. :meth:`CouplingFit.problems` says which, in words; each gain's standard
error (:meth:`CouplingFit.gain_se`) says how sure it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.special

from cymbalism.analysis.align import Alignment, match_events
from cymbalism.analysis.sync import _positions as chart_positions
from cymbalism.errors import InputError, require
from cymbalism.model.onsets import OnsetTable
from cymbalism.model.validate import validate_times

__all__ = [
    "CHORD_SEC",
    "MIN_RELIABLE_INTERVALS",
    "PAIR_WINDOW_SEC",
    "STABLE_GAIN",
    "CouplingFit",
    "LeadLag",
    "WindowedCoupling",
    "beat_events",
    "fit_phase_correction",
    "gls_phase_correction",
    "lead_lag",
    "merge_chords",
    "onset_table_from_alignments",
    "onset_table_from_onsets",
    "windowed_phase_correction",
]

Method = Literal["bgls", "ols"]

#: Fewest usable events (intervals with every source present) for a fit, per source.
MIN_EVENTS_PER_SOURCE = 20
#: Where a phase-correction gain describes correction toward a source: 0 (ignores it) up
#: to 2 (beyond, each correction overshoots by more than the gap, which then grows).
STABLE_GAIN = (0.0, 2.0)
#: Fewest intervals per source for a gain worth reading. On simulated duets (gains 0.25
#: and 0.10, timekeeper 10 ms, motor 7 ms; ``evaluation/bgls_recovery.py``) 95% of the
#: estimates of a gain lie within ±0.39 of it with 20 intervals (the fewest fitted) and
#: ±0.21 with 50: from 50 on, a player who follows (0.25) is told from one who does not.
MIN_RELIABLE_INTERVALS = 50
#: Without a reference grid the nominal interval is taken as constant, so an interval
#: longer than this many times the player's median one (a beat skipped, a pause), or
#: shorter (a stroke between), is not a nominal interval and is left out of the fit.
BREAK_FACTOR = 1.5
#: Default pairing window for onsets without a chart: a quarter of a beat at 150 BPM.
PAIR_WINDOW_SEC = 0.100
#: Default gap under which one player's consecutive onsets are one stroke (a chord, a flam).
CHORD_SEC = 0.030
#: :func:`beat_events`: how far from a beat (a share of the beat) the players' event may
#: lie and be that beat's. The off-beat 16th lies a quarter of a beat away.
BEAT_REACH = 0.15
#: :func:`beat_events`: a table whose intervals between events are this share or more
#: within :data:`STEADY_TOLERANCE` of their median is steady already (a table of beats,
#: a part of even 8ths) and is left whole: its nominal interval is one constant.
STEADY_SHARE = 0.8
#: :func:`beat_events`: see :data:`STEADY_SHARE` (a share of the median interval).
STEADY_TOLERANCE = 0.25
#: :func:`beat_events`: unsteady events are a groove's strokes, to be thinned to the
#: beat, only when the tracked beat is at least this many times their median interval.
#: A groove of 8ths has two strokes a beat; a table of unsteady beats (every third one
#: dragged) may be tracked at a level of 3:2, whose ratio is 1.5, and is left whole.
GROOVE_RATIO = 1.75
#: :func:`beat_events`: the frame rate of the strokes' envelope the beat is tracked on.
_BEAT_FPS = 200


@dataclass(frozen=True)
class _Single:
    alpha: np.ndarray
    sigma_t_sec: float
    sigma_m_sec: float
    n_iter: int
    alpha_se: np.ndarray  # standard error of each gain, from the GLS covariance


def gls_phase_correction(
    iti_dev_sec: np.ndarray,
    asynchrony_sec: np.ndarray,
    *,
    adjacent: np.ndarray | None = None,
    method: Method = "bgls",
    max_iter: int = 20,
    tol: float = 1e-4,
) -> tuple[np.ndarray, float, float, int]:
    """Fit one player's phase-correction gains from its intervals and asynchronies.

    Parameters
    ----------
    iti_dev_sec : np.ndarray [shape=(n,), float64, seconds]
        The player's interval from event ``k`` to ``k+1``, minus the nominal interval when
        there is one. Centred here.
    asynchrony_sec : np.ndarray [shape=(n, p), float64, seconds]
        The player's asynchrony to each of ``p`` sources at event ``k``. Centred here.
    adjacent : np.ndarray [shape=(n - 1,), bool], optional
        Whether rows ``k`` and ``k+1`` are consecutive intervals (share a motor-noise
        term). Default: all are.
    method : {"bgls", "ols"}
        bGLS, or plain least squares (biased; for comparison).
    max_iter : int
        Most bGLS iterations.
    tol : float
        Stop when the gains change by less than this in total.

    Returns
    -------
    alpha : np.ndarray [shape=(p,), float64]
        Correction gain toward each source.
    sigma_t_sec, sigma_m_sec : float
        Timekeeper and motor noise (standard deviations, seconds).
    n_iter : int
        Iterations used (1 for least squares).

    Raises
    ------
    InputError
        If the shapes disagree, a value is not finite, or there are too few rows.
    """
    res = _gls(iti_dev_sec, asynchrony_sec, adjacent, method=method, max_iter=max_iter, tol=tol)
    return res.alpha, res.sigma_t_sec, res.sigma_m_sec, res.n_iter


def _gls(
    iti_dev_sec: np.ndarray,
    asynchrony_sec: np.ndarray,
    adjacent: np.ndarray | None,
    *,
    method: Method,
    max_iter: int,
    tol: float,
) -> _Single:
    """:func:`gls_phase_correction`, with the gains' standard errors."""
    b = np.asarray(iti_dev_sec, dtype=np.float64)
    x = np.asarray(asynchrony_sec, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if b.ndim != 1 or x.ndim != 2 or x.shape[0] != b.size:
        raise InputError(
            f"iti_dev_sec has shape {b.shape} and asynchrony_sec {x.shape}; "
            "expected (n,) and (n, p)"
        )
    if not (np.isfinite(b).all() and np.isfinite(x).all()):
        raise InputError("intervals and asynchronies must be finite (drop missing events first)")
    n, p = x.shape
    if n < p + 3:
        raise InputError(f"{n} intervals are too few to fit {p} gains and two noise terms")
    if method not in ("bgls", "ols"):
        raise InputError(f"unknown method {method!r}; use 'bgls' or 'ols'")
    adj = np.ones(n - 1, dtype=bool) if adjacent is None else np.asarray(adjacent, dtype=bool)
    if adj.shape != (n - 1,):
        raise InputError(f"adjacent has shape {adj.shape}, expected ({n - 1},)")
    b = b - b.mean()
    x = x - x.mean(axis=0)
    return _bgls(b, x, adj, max_iter=1 if method == "ols" else max_iter, tol=tol)


def _bgls(b: np.ndarray, x: np.ndarray, adj: np.ndarray, *, max_iter: int, tol: float) -> _Single:
    n, p = x.shape
    k11, k12 = 1.0, 0.0
    z_old = np.full(p, np.inf)
    z = np.zeros(p)
    n_iter = 0
    rhs = np.column_stack([x, b])

    def solve(k11: float, k12: float, rhs: np.ndarray) -> np.ndarray:
        """The covariance's inverse times ``rhs``, up to a constant factor where k12 is 0
        (k11 on the diagonal, k12 between consecutive intervals: tridiagonal)."""
        if k12 == 0.0:
            return rhs
        ab = np.empty((2, n))
        ab[1] = k11
        ab[0, 0] = 0.0
        ab[0, 1:] = k12 * adj
        return scipy.linalg.solveh_banded(ab, rhs, check_finite=False)

    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is used after the loop)
        sol = solve(k11, k12, rhs)
        ci_x, ci_b = sol[:, :p], sol[:, p]
        z = np.linalg.lstsq(x.T @ ci_x, x.T @ ci_b, rcond=None)[0]
        k11, k12 = _residual_acvf(x @ z - b, adj)
        if np.abs(z - z_old).sum() < tol:
            break
        z_old = z
    sigma_m2 = abs(k12)  # k12 <= 0 by the bounds; abs() also avoids a -0.0
    # the gains' covariance under the fitted noise: (X' S^-1 X)^-1
    with np.errstate(all="ignore"):
        # no noise left (a perfectly regular take): the data cannot say how sure the gains are
        scale = np.nan if k11 <= 0.0 else (k11 if k12 == 0.0 else 1.0)
        info = x.T @ (solve(k11, k12, x) / scale)
        try:
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            cov = np.full((p, p), np.nan)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return _Single(
        alpha=-z,
        sigma_t_sec=float(np.sqrt(max(k11 - 2.0 * sigma_m2, 0.0))),
        sigma_m_sec=float(np.sqrt(sigma_m2)),
        n_iter=n_iter,
        alpha_se=se,
    )


def _residual_acvf(d: np.ndarray, adj: np.ndarray) -> tuple[float, float]:
    """Lag-0 and lag-1 autocovariance of residuals over consecutive pairs, bounded."""
    first, second = d[:-1][adj], d[1:][adj]
    if first.size < 3:
        k11, k12 = float(np.var(d, ddof=1)), 0.0
    else:
        cov = np.cov(first, second)
        k11, k12 = float((cov[0, 0] + cov[1, 1]) / 2.0), float(cov[0, 1])
    k12 = min(k12, 0.0)  # motor variance -k12 >= 0
    k11 = max(k11, -3.0 * k12)  # timekeeper variance k11 - 2 sm^2 >= sm^2
    return k11, k12


@dataclass(frozen=True)
class CouplingFit:
    """Phase-correction gains and noise of the players of an ensemble.

    Attributes
    ----------
    sources : tuple of str [shape=(n_sources,)]
        Everything a player may correct toward (the players, and the click if used).
    players : tuple of str [shape=(n_players,)]
        The players fitted (rows of ``alpha``).
    alpha : np.ndarray [shape=(n_players, n_sources), float64]
        ``alpha[i, j]``: the gain with which player ``i`` corrects toward source ``j``;
        NaN for a player's own column and where the fit was impossible.
    sigma_t_sec, sigma_m_sec : np.ndarray [shape=(n_players,), float64, seconds]
        Timekeeper and motor noise of each player.
    n_events : np.ndarray [shape=(n_players,), int64]
        Intervals used in each player's fit.
    n_iter : np.ndarray [shape=(n_players,), int64]
    method : str
        ``"bgls"`` or ``"ols"``.
    alpha_se : np.ndarray [shape=(n_players, n_sources), float64], optional
        The standard error of each gain, from the fitted noise (GLS covariance).
    """

    sources: tuple[str, ...]
    players: tuple[str, ...]
    alpha: np.ndarray
    sigma_t_sec: np.ndarray
    sigma_m_sec: np.ndarray
    n_events: np.ndarray
    n_iter: np.ndarray
    method: str
    alpha_se: np.ndarray | None = None

    def gain_se(self, player: str, source: str) -> float:
        """The standard error of :meth:`gain` (NaN when unknown)."""
        if self.alpha_se is None:
            return float("nan")
        self.gain(player, source)  # a clear error for unknown names
        return float(self.alpha_se[self.players.index(player), self.sources.index(source)])

    def gain(self, player: str, source: str) -> float:
        """The gain with which ``player`` corrects toward ``source``."""
        if player not in self.players:
            raise InputError(f"{player!r} was not fitted; players: {', '.join(self.players)}")
        if source not in self.sources:
            raise InputError(f"no source {source!r}; sources: {', '.join(self.sources)}")
        return float(self.alpha[self.players.index(player), self.sources.index(source)])

    def leader(self, a: str, b: str) -> str | None:
        """The one of two players who adapts less to the other (who leads), or None if
        unknown, or if the two gains differ by no more than the 95% interval of their
        difference (:meth:`gain_se`): neither clearly adapts less, and a leader named
        from a difference that noise alone makes would be a coin toss. Read it only
        when :meth:`problems` finds none."""
        ab, ba = self.gain(a, b), self.gain(b, a)
        if not (np.isfinite(ab) and np.isfinite(ba)) or ab == ba:
            return None
        half = 1.96 * float(np.hypot(self.gain_se(a, b), self.gain_se(b, a)))
        if np.isfinite(half) and abs(ab - ba) <= half:
            return None
        return a if ab < ba else b

    def problems(self, a: str, b: str) -> list[str]:
        """Why the gains of ``a`` and ``b`` toward each other cannot be read, in words
        (empty when they can): a gain that could not be fitted, one whose 95% interval
        lies wholly outside the stable range :data:`STABLE_GAIN`, or one that rests on
        fewer than :data:`MIN_RELIABLE_INTERVALS` intervals per source."""
        out = []
        lo, hi = STABLE_GAIN
        per_source = len(self.sources) - 1
        for p, q in ((a, b), (b, a)):
            g = self.gain(p, q)
            n = int(self.n_events[self.players.index(p)])
            if not np.isfinite(g):
                need = MIN_EVENTS_PER_SOURCE * per_source
                out.append(
                    f"{p}'s gain toward {q} could not be fitted ({n} intervals, "
                    f"at least {need} needed)"
                )
                continue
            half = 1.96 * self.gain_se(p, q)
            if np.isfinite(half) and (g + half < lo or g - half > hi):
                out.append(
                    f"{p}'s gain toward {q} is {g:.2f} ±{half:.2f}, outside the stable "
                    f"range {lo:g}-{hi:g}"
                )
            if n < MIN_RELIABLE_INTERVALS * per_source:
                out.append(
                    f"{p}'s gain toward {q} rests on too few intervals ({n}; at least "
                    f"{MIN_RELIABLE_INTERVALS * per_source} needed to read it)"
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (noise in ms, gains unitless)."""
        out = []
        for i, name in enumerate(self.players):
            out.append(
                {
                    "name": name,
                    "alpha": {
                        s: _num(self.alpha[i, j]) for j, s in enumerate(self.sources) if s != name
                    },
                    "alpha_se": {s: _num(self.gain_se(name, s)) for s in self.sources if s != name},
                    "sigma_t_ms": _num(self.sigma_t_sec[i] * 1e3),
                    "sigma_m_ms": _num(self.sigma_m_sec[i] * 1e3),
                    "n": int(self.n_events[i]),
                }
            )
        return {"method": self.method, "players": out}


def _num(value: float) -> float | None:
    value = float(value)
    return round(value, 6) if np.isfinite(value) else None


def _player_design(
    onset: np.ndarray, ref: np.ndarray | None, i: int, others: Sequence[int], rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Intervals, asynchronies and adjacency of player ``i``, from events in ``rows``.

    Each interval runs from one of the player's onsets to its next one. Without a
    reference grid the nominal interval is a constant, the player's usual one (the
    median): an interval more than :data:`BREAK_FACTOR` times longer or shorter spans a
    skipped beat or a pause, or ends on a stroke between, and is left out. A player who
    plays every other event (a beginner on half notes beside a partner's beats) has their
    own usual interval. With a grid, the player may skip events (a sparse part on a fine
    grid) and the nominal interval comes from the grid. Two intervals share a
    motor-noise term (are adjacent) when one ends where the next starts.
    """
    own = np.flatnonzero(np.isfinite(onset[:, i]))
    start, end = own[:-1], own[1:]
    keep = np.isin(start, rows)
    if ref is None and keep.any():
        span = onset[end, i] - onset[start, i]
        usual = float(np.median(span[keep]))
        keep &= (span <= BREAK_FACTOR * usual) & (span * BREAK_FACTOR >= usual)
    start, end = start[keep], end[keep]
    iti = onset[end, i] - onset[start, i]
    if ref is not None:
        iti = iti - (ref[end] - ref[start])
    asy = onset[start, i][:, None] - onset[np.ix_(start, np.asarray(others, dtype=np.int64))]
    ok = np.isfinite(asy).all(axis=1)
    start, end, iti, asy = start[ok], end[ok], iti[ok], asy[ok]
    adjacent = start[1:] == end[:-1]
    return start, iti, asy, adjacent


def fit_phase_correction(
    table: OnsetTable,
    *,
    players: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    method: Method = "bgls",
    rows: np.ndarray | None = None,
    max_iter: int = 20,
    tol: float = 1e-4,
) -> CouplingFit:
    """Estimate every player's phase-correction gains toward every other source.

    Parameters
    ----------
    table : OnsetTable
        Onsets at shared events. If it has ``reference_sec``, each interval (from a
        player's onset to its next one, which may skip events) is measured against the
        nominal interval of the grid, so tempo changes and sparse parts are allowed;
        without it only intervals between consecutive events are used. Add the click as a
        source with ``table.with_reference_as("click")``.
    players : sequence of str, optional
        Whom to fit (default: every column except one named ``"click"``).
    sources : sequence of str, optional
        Toward whom they may correct (default: every column).
    method : {"bgls", "ols"}
        bGLS (unbiased), or plain least squares for comparison.
    rows : np.ndarray [shape=(m,), int], optional
        Only the intervals starting at these events (used by windowed estimation).
    max_iter, tol
        bGLS iteration limits (see :func:`gls_phase_correction`).

    Returns
    -------
    fit : CouplingFit
        NaN for a player with too few usable events (fewer than
        ``MIN_EVENTS_PER_SOURCE`` per source), rather than an error.

    Raises
    ------
    InputError
        If a name is unknown or fewer than two sources are given.
    """
    src = tuple(table.names if sources is None else sources)
    if players is None:
        players = [n for n in table.names if n.lower() != "click"]
    fitted = tuple(players)
    if len(src) < 2:
        raise InputError(f"phase correction needs at least two sources, got {list(src)}")
    src_idx = [table.index(s) for s in src]
    onset = table.onset_sec
    ref = table.reference_sec
    all_rows = np.arange(table.n_events) if rows is None else np.asarray(rows, dtype=np.int64)
    n_p, n_s = len(fitted), len(src)
    alpha = np.full((n_p, n_s), np.nan)
    alpha_se = np.full((n_p, n_s), np.nan)
    st, sm = np.full(n_p, np.nan), np.full(n_p, np.nan)
    n_used = np.zeros(n_p, dtype=np.int64)
    n_iter = np.zeros(n_p, dtype=np.int64)
    for r, name in enumerate(fitted):
        i = table.index(name)
        cols = [j for j in src_idx if j != i]
        _, iti, asy, adj = _player_design(onset, ref, i, cols, all_rows)
        n_used[r] = iti.size
        if iti.size < MIN_EVENTS_PER_SOURCE * len(cols):
            continue
        res = _gls(iti, asy, adj, method=method, max_iter=max_iter, tol=tol)
        for jj, j in enumerate(cols):
            alpha[r, src_idx.index(j)] = res.alpha[jj]
            alpha_se[r, src_idx.index(j)] = res.alpha_se[jj]
        st[r], sm[r], n_iter[r] = res.sigma_t_sec, res.sigma_m_sec, res.n_iter
    return CouplingFit(
        sources=src,
        players=fitted,
        alpha=alpha,
        sigma_t_sec=st,
        sigma_m_sec=sm,
        n_events=n_used,
        n_iter=n_iter,
        method=method,
        alpha_se=alpha_se,
    )


@dataclass(frozen=True)
class WindowedCoupling:
    """Phase-correction fits over consecutive windows of a session.

    Attributes
    ----------
    start_sec, end_sec : np.ndarray [shape=(n_windows,), float64, seconds]
    fits : tuple of CouplingFit [shape=(n_windows,)]
    """

    start_sec: np.ndarray
    end_sec: np.ndarray
    fits: tuple[CouplingFit, ...]

    def gain(self, player: str, source: str) -> np.ndarray:
        """The gain of ``player`` toward ``source`` in each window (NaN where unknown)."""
        return np.array([f.gain(player, source) for f in self.fits])

    def leaders(self, a: str, b: str) -> list[str | None]:
        """Who led (adapted less) in each window; None where unknown."""
        return [f.leader(a, b) for f in self.fits]

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready list of windows."""
        return [
            {"start_sec": round(float(s), 6), "end_sec": round(float(e), 6), **f.to_dict()}
            for s, e, f in zip(self.start_sec, self.end_sec, self.fits, strict=True)
        ]


def windowed_phase_correction(
    table: OnsetTable,
    *,
    edges_sec: np.ndarray,
    players: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    method: Method = "bgls",
) -> WindowedCoupling:
    """Fit phase correction separately in each window (e.g. every few bars).

    Parameters
    ----------
    table : OnsetTable
    edges_sec : np.ndarray [shape=(n_windows + 1,), float64, seconds, increasing]
        Window boundaries; an interval belongs to the window of its first event, timed by
        ``table.event_time_sec()``.
    players, sources, method
        As for :func:`fit_phase_correction`.

    Returns
    -------
    windowed : WindowedCoupling
        Windows with too few events hold NaN gains.

    Raises
    ------
    InputError
        If the edges are not increasing or fewer than two.
    """
    edges = np.asarray(edges_sec, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or (np.diff(edges) <= 0).any():
        raise InputError(
            f"window edges must be at least two increasing times in seconds, got {edges[:5]}..."
        )
    when = table.event_time_sec()
    which = np.searchsorted(edges, when, side="right") - 1
    fits = []
    for w in range(edges.size - 1):
        rows = np.flatnonzero(which == w)
        fits.append(
            fit_phase_correction(table, players=players, sources=sources, method=method, rows=rows)
        )
    return WindowedCoupling(start_sec=edges[:-1], end_sec=edges[1:], fits=tuple(fits))


@dataclass(frozen=True)
class LeadLag:
    """How two players' inter-onset intervals follow each other.

    Attributes
    ----------
    a, b : str
        The two players.
    lags : np.ndarray [shape=(2 * max_lag + 1,), int64]
        ``-max_lag .. max_lag``.
    xcorr : np.ndarray [shape=(2 * max_lag + 1,), float64]
        Pearson correlation of ``a``'s interval ``k`` with ``b``'s interval ``k + lag``. A
        high value at lag +1 means b copies a's last interval (b follows a).
    n : int
        Intervals where both players have one.
    granger_a_to_b_p, granger_b_to_a_p : float
        p-values of F-tests that one player's past intervals improve the prediction of the
        other's beyond its own past (NaN if too few data).
    order : int
        Lags used in the Granger tests.
    """

    a: str
    b: str
    lags: np.ndarray
    xcorr: np.ndarray
    n: int
    granger_a_to_b_p: float
    granger_b_to_a_p: float
    order: int

    def r(self, lag: int) -> float:
        """The cross-correlation at ``lag``."""
        return float(self.xcorr[int(np.flatnonzero(self.lags == lag)[0])])

    @property
    def xcorr_leader(self) -> str | None:
        """The player whose intervals the other copies more one event later (``a`` if
        r(+1) > r(-1)), None if unknown. Not "who leads" (that is the bGLS gains'), but a
        model-free view that may disagree with it."""
        fwd, back = self.r(1), self.r(-1)
        if not (np.isfinite(fwd) and np.isfinite(back)) or fwd == back:
            return None
        return self.a if fwd > back else self.b

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "xcorr": {str(int(k)): _num(v) for k, v in zip(self.lags, self.xcorr, strict=True)},
            "granger_a_to_b_p": _num(self.granger_a_to_b_p),
            "granger_b_to_a_p": _num(self.granger_b_to_a_p),
            "xcorr_leader": self.xcorr_leader,
        }


def lead_lag(table: OnsetTable, a: str, b: str, *, max_lag: int = 3, order: int = 2) -> LeadLag:
    """Lagged cross-correlation of two players' intervals, and Granger-style F-tests.

    Parameters
    ----------
    table : OnsetTable
        Intervals are taken between consecutive events where the player has both onsets
        (against the nominal interval if the table has ``reference_sec``) and centred.
    a, b : str
        The two players.
    max_lag : int
        Largest lag (in events) of the cross-correlation.
    order : int
        Past intervals used by the Granger tests.

    Returns
    -------
    lead_lag : LeadLag

    Raises
    ------
    InputError
        If a player is unknown, or ``max_lag``/``order`` is not positive.
    """
    if max_lag < 1 or order < 1:
        raise InputError(f"max_lag and order must be positive, got {max_lag} and {order}")
    ia, ib = table.index(a), table.index(b)
    onset = table.onset_sec
    x = np.diff(onset[:, ia])
    y = np.diff(onset[:, ib])
    if table.reference_sec is not None:
        d = np.diff(table.reference_sec)
        x, y = x - d, y - d
    both = np.isfinite(x) & np.isfinite(y)
    x = x - np.nanmean(x[both]) if both.any() else x
    y = y - np.nanmean(y[both]) if both.any() else y
    lags = np.arange(-max_lag, max_lag + 1)
    xc = np.array([_lagged_r(x, y, int(lag)) for lag in lags])
    return LeadLag(
        a=a,
        b=b,
        lags=lags,
        xcorr=xc,
        n=int(both.sum()),
        granger_a_to_b_p=_granger_p(cause=x, effect=y, order=order),
        granger_b_to_a_p=_granger_p(cause=y, effect=x, order=order),
        order=order,
    )


def _lagged_r(x: np.ndarray, y: np.ndarray, lag: int) -> float:
    """Pearson r of x[k] with y[k + lag] over the pairs where both are finite."""
    if lag >= 0:
        u, v = x[: x.size - lag], y[lag:]
    else:
        u, v = x[-lag:], y[: y.size + lag]
    ok = np.isfinite(u) & np.isfinite(v)
    if ok.sum() < 3 or np.std(u[ok]) == 0 or np.std(v[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(u[ok], v[ok])[0, 1])


def _granger_p(*, cause: np.ndarray, effect: np.ndarray, order: int) -> float:
    """p-value of the F-test that ``cause``'s past adds to ``effect``'s own past."""
    n = effect.size
    if n <= order:
        return float("nan")
    rows = np.arange(order, n)
    own = np.column_stack([effect[rows - k] for k in range(1, order + 1)])
    other = np.column_stack([cause[rows - k] for k in range(1, order + 1)])
    target = effect[rows]
    ok = np.isfinite(target) & np.isfinite(own).all(axis=1) & np.isfinite(other).all(axis=1)
    m = int(ok.sum())
    dof = m - 2 * order - 1
    if dof < 5:
        return float("nan")
    ones = np.ones((m, 1))
    restricted = np.hstack([ones, own[ok]])
    full = np.hstack([restricted, other[ok]])
    rss_r = _rss(restricted, target[ok])
    rss_f = _rss(full, target[ok])
    if rss_f <= 0:
        return float("nan")
    f_stat = max((rss_r - rss_f) / order, 0.0) / (rss_f / dof)
    return float(scipy.special.fdtrc(order, dof, f_stat))  # F survival function


def _rss(design: np.ndarray, target: np.ndarray) -> float:
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    resid = target - design @ coef
    return float(resid @ resid)


def merge_chords(onset_sec: np.ndarray, *, merge_sec: float = CHORD_SEC) -> np.ndarray:
    """One onset per stroke: onsets closer than ``merge_sec`` to the previous become one.

    A drummer's kick and hi-hat struck together (or a flam) are one event for timing
    between players; its onset is the mean of the merged onsets.

    Parameters
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    merge_sec : float
        Gap below which consecutive onsets are one event (0 merges nothing).

    Returns
    -------
    event_sec : np.ndarray [shape=(m,), float64, seconds, sorted], m <= n
    """
    try:
        onset = validate_times(np.asarray(onset_sec, dtype=np.float64), "onset_sec")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if onset.size == 0 or merge_sec <= 0:
        return onset.copy()
    group = np.concatenate([[0], np.cumsum(np.diff(onset) >= merge_sec)])
    return np.bincount(group, weights=onset) / np.bincount(group)


def onset_table_from_onsets(
    onsets: Mapping[str, np.ndarray],
    *,
    window_sec: float = PAIR_WINDOW_SEC,
    merge_sec: float = CHORD_SEC,
) -> OnsetTable:
    """Pair several players' onsets (no chart) into an onset table.

    Each player's onsets are first merged into strokes (:func:`merge_chords`). The first
    player's strokes are the events; every other player's strokes are matched one to one
    to them within ``window_sec`` (:func:`~cymbalism.analysis.align.match_events`).
    Strokes of the others that match none are left out.

    Parameters
    ----------
    onsets : mapping of str to np.ndarray [shape=(n,), float64, seconds, sorted]
        At least two players.
    window_sec : float
        Largest distance of a pair, seconds.
    merge_sec : float
        See :func:`merge_chords`.

    Returns
    -------
    table : OnsetTable
        No reference times (there is no grid).
    """
    names = list(onsets)
    if len(names) < 2:
        raise InputError(f"pairing onsets needs at least two players, got {names}")
    events = {n: merge_chords(onsets[n], merge_sec=merge_sec) for n in names}
    base = events[names[0]]
    columns = {names[0]: base}
    for name in names[1:]:
        col = np.full(base.size, np.nan)
        ia, ib = match_events(base, events[name], window_sec=window_sec)
        col[ia] = events[name][ib]
        columns[name] = col
    return OnsetTable.from_columns(columns)


def beat_events(table: OnsetTable, *, bpm: float | None = None) -> OnsetTable:
    """The events of a table without a grid that fall on the players' beat.

    Pairing two players' strokes without a chart (:func:`onset_table_from_onsets`) gives
    every stroke of a groove: 8ths and 16ths, whose intervals differ from one to the
    next. Without a grid the phase-correction model takes every interval's nominal
    length as one constant, and on a groove that sends the gains toward zero (gains of
    0.25 and 0.10 read as 0.08 and 0.05). From beat to beat the constant holds, as it
    does for a table of beats.

    The beat is tracked on the events (:func:`librosa.beat.beat_track`, dynamic
    programming) at the local tempo of :func:`~cymbalism.analysis.tempo.tempo_curve`,
    so it follows a duo that drifts (within a major third of the whole take's tempo:
    from 128 to 100 BPM, not to 88). Each tracked beat takes the event nearest it within
    :data:`BEAT_REACH` of a beat.

    Parameters
    ----------
    table : OnsetTable
    bpm : float, optional
        The beat level to follow (by default :func:`~cymbalism.analysis.tempo.
        estimate_tempo` of the events; the drums and accents of the hits give a better
        one).

    Returns
    -------
    table : OnsetTable
        The events on the beat, in order. The table itself when it has a grid, fewer
        than 16 events or no tempo to follow, or when its events are steady already
        (:data:`STEADY_SHARE`) or about as many as the beats (:data:`GROOVE_RATIO`): a
        table of beats is analysed as it is.
    """
    from cymbalism.analysis.tempo import tempo_curve

    when_all = table.event_time_sec()
    rows = np.flatnonzero(np.isfinite(when_all))
    if table.reference_sec is not None or rows.size < 16:
        return table
    rows = rows[np.argsort(when_all[rows], kind="stable")]
    when = when_all[rows]
    ioi = np.diff(when)
    median = float(np.median(ioi))
    if median > 0 and np.mean(np.abs(ioi / median - 1.0) <= STEADY_TOLERANCE) >= STEADY_SHARE:
        return table  # steady already: one nominal interval
    try:
        curve = tempo_curve(when, reference_bpm=bpm)
    except InputError:
        return table  # too few or too scattered to show a tempo
    sure = np.isfinite(curve.bpm)
    if not sure.any():
        return table
    librosa = require("librosa", "audio")  # only a groove's strokes need the beat tracked
    start = float(when[0]) - 1.0
    n_frames = int((float(when[-1]) - start + 1.0) * _BEAT_FPS) + 1
    env = np.zeros(n_frames)
    np.add.at(env, np.round((when - start) * _BEAT_FPS).astype(np.int64), 1.0)
    env = scipy.ndimage.gaussian_filter1d(env, sigma=0.010 * _BEAT_FPS)  # 10 ms
    frame_sec = start + np.arange(n_frames) / _BEAT_FPS
    local_bpm = np.interp(frame_sec, curve.time_sec[sure], curve.bpm[sure])
    _, beats = librosa.beat.beat_track(
        onset_envelope=env, sr=_BEAT_FPS, hop_length=1, bpm=local_bpm, trim=False, units="time"
    )
    beats = np.asarray(beats, dtype=np.float64) + start
    if beats.size < 4 or float(np.median(np.diff(beats))) < GROOVE_RATIO * median:
        return table  # as many events as beats: a table of beats, however unsteady
    # each beat's nearest event, if near enough; an event is one beat's at most
    j = np.clip(np.searchsorted(when, beats), 1, when.size - 1)
    j = np.where(np.abs(when[j - 1] - beats) <= np.abs(when[j] - beats), j - 1, j)
    near = np.abs(when[j] - beats) <= BEAT_REACH * np.gradient(beats)
    return table.rows(np.unique(rows[j[near]]))


def onset_table_from_alignments(
    alignments: Mapping[str, Alignment],
) -> OnsetTable:
    """An onset table of players aligned to (parts of) one chart.

    One row per chart position (target time, to the microsecond) of any player's part;
    a player's onset there is the mean of its matched hits at that position (a chord counts
    once, as in :func:`cymbalism.analysis.sync.asynchrony`), NaN where it missed or its part
    has no note there. The chart times are the table's reference.

    Parameters
    ----------
    alignments : mapping of str to Alignment
        Player name to that player's alignment.

    Returns
    -------
    table : OnsetTable
    """
    if not alignments:
        raise InputError("no players to tabulate")
    for name, al in alignments.items():
        if not isinstance(al, Alignment):
            raise InputError(f"{name}: expected an Alignment, got {type(al).__name__}")
    target_sec = np.concatenate([al.targets.onset_sec for al in alignments.values()])
    all_keys, first = np.unique(np.round(target_sec * 1e6).astype(np.int64), return_index=True)
    columns = {}
    for name, al in alignments.items():
        keys, _, mean_onset = chart_positions(al)
        col = np.full(all_keys.size, np.nan)
        col[np.searchsorted(all_keys, keys)] = mean_onset
        columns[name] = col
    return OnsetTable.from_columns(columns, reference_sec=target_sec[first])
