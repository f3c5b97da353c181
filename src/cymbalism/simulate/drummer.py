"""Virtual drummers that play a chart: a solo to the click, or a duet with a partner.

The generative model
--------------------
A drummer keeps time on the chart's beats ``n = 0, 1, ...`` (the tempo map's beat grid,
:meth:`~cymbalism.model.tempo.TempoMap.beat_grid_qn`, up to one beat past the song's
end); the click sounds at ``c(n)``. Each player ``i`` (partner ``j``) follows the linear
phase-correction model of Vorberg & Wing (1996), coupled as in Wing et al. (2014), as
simulated by :func:`cymbalism.simulate.ensemble.simulate_phase_correction`::

    k_i(0)   = c(0) + b_i
    k_i(n+1) = k_i(n) + (c(n+1) - c(n)) + T_i(n)
               - alpha_i   (t_i(n) - c(n) - b_i)        # toward the click
               - beta_i    (t_i(n) - t_j(n))            # toward the partner
    t_i(n)   = k_i(n) + M_i(n)

with timekeeper noise ``T_i(n) ~ N(0, (f_i(c(n)) sigma_T,i)^2)``, motor noise
``M_i(n) ~ N(0, (f_i(c(n)) sigma_M,i)^2)``, all independent; ``alpha_i`` is
``click_gain``, ``beta_i`` is ``partner_gain`` (so the player with the lower partner
gain leads) and ``b_i`` is ``bias_sec``, the player's preferred asynchrony to the click
(negative: ahead). ``t_i(n)`` is when the player plays beat ``n``; in a solo,
``beta_i = 0``. Both players keep time through rests, so the correction uses the
partner's beat even where one of them has no note.

The learning curve ``f_i(t) = r_i + (1 - r_i) exp(-t / L_i)`` scales the noise and the
error rates over the session's time ``t`` (seconds from the first beat), from 1 at the
start to ``r_i`` (``learned_fraction``) with the time constant ``L_i``
(``learning_time_sec``; 0 means no learning: ``f = 1``).

Each note of the player's part at position ``q`` (quarter notes) between beats ``n`` and
``n + 1`` (fraction ``u`` of the way) sounds at

- ``t_i(n)`` when ``u = 0`` (every note of a chord on the beat sounds together), else
- ``k_i(n) + u (k_i(n+1) - k_i(n)) + M`` with fresh motor noise ``M`` as above,

in the note's lane, unless it is missed (probability ``f miss_rate``), or struck on a
wrong lane (probability ``f wrong_lane_rate``; another lane of the part, or a
neighbouring lane for a one-lane part). After each note, with probability
``f extra_rate``, an extra hit on a lane of the part follows at a uniformly random
time 10-45% of a beat later. Velocities are the part's, scaled by ``1 + N(0,
velocity_sd^2)`` and clipped to 1-127. Everything is drawn from one seeded
``numpy.random.Generator``, so a seed gives the same performance every time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.simulate.ensemble import simulate_phase_correction

__all__ = [
    "BEGINNER",
    "EXPERT",
    "DrummerModel",
    "simulate_duet",
    "simulate_performance",
]


@dataclass(frozen=True)
class DrummerModel:
    """How a virtual drummer plays (see the module's equations).

    Attributes
    ----------
    name : str
    timekeeper_sd_sec : float
        SD of the timekeeper noise ``T`` per beat, seconds.
    motor_sd_sec : float
        SD of the motor noise ``M`` per note, seconds.
    click_gain : float
        Phase-correction gain toward the click ``alpha`` (0: ignores it), in [0, 2).
    partner_gain : float
        Phase-correction gain toward the partner ``beta``, in [0, 2).
    bias_sec : float
        Preferred asynchrony to the click (negative: rushes ahead of it).
    miss_rate, extra_rate, wrong_lane_rate : float
        Probabilities per note at the start of the session, in [0, 1].
    velocity_sd : float
        Relative SD of the loudness.
    learning_time_sec : float
        Time constant of the learning curve (0: no learning).
    learned_fraction : float
        What is left of the noise and error rates after learning, in (0, 1].
    seed : int or None
        Seed of a solo performance when none is given.
    """

    name: str = "drummer"
    timekeeper_sd_sec: float = 0.010
    motor_sd_sec: float = 0.005
    click_gain: float = 0.4
    partner_gain: float = 0.0
    bias_sec: float = 0.0
    miss_rate: float = 0.0
    extra_rate: float = 0.0
    wrong_lane_rate: float = 0.0
    velocity_sd: float = 0.1
    learning_time_sec: float = 0.0
    learned_fraction: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for field in ("timekeeper_sd_sec", "motor_sd_sec"):
            v = getattr(self, field)
            if not np.isfinite(v) or v < 0:
                raise InputError(f"{field} must be >= 0 seconds, got {v!r}")
            if v > 0.2:
                raise InputError(f"{field} = {v:g} s is implausible (did you give milliseconds?)")
        if not np.isfinite(self.bias_sec) or abs(self.bias_sec) > 0.2:
            raise InputError(
                f"bias_sec = {self.bias_sec!r} s is implausible (did you give milliseconds?)"
            )
        for field in ("click_gain", "partner_gain"):
            v = getattr(self, field)
            if not 0 <= v < 2:
                raise InputError(f"{field} must lie in [0, 2) for stable timing, got {v!r}")
        for field in ("miss_rate", "extra_rate", "wrong_lane_rate"):
            v = getattr(self, field)
            if not 0 <= v <= 1:
                raise InputError(f"{field} is a probability in [0, 1], got {v!r}")
        if not 0 <= self.velocity_sd <= 1:
            raise InputError(f"velocity_sd must lie in [0, 1], got {self.velocity_sd!r}")
        if not np.isfinite(self.learning_time_sec) or self.learning_time_sec < 0:
            raise InputError(f"learning_time_sec must be >= 0, got {self.learning_time_sec!r}")
        if not 0 < self.learned_fraction <= 1:
            raise InputError(f"learned_fraction must lie in (0, 1], got {self.learned_fraction!r}")

    def practice(self, time_sec: np.ndarray | float) -> np.ndarray:
        """The learning factor ``f(t)`` at each time (1 at the start, falling to the floor)."""
        t = np.maximum(np.asarray(time_sec, dtype=np.float64), 0.0)
        if self.learning_time_sec == 0:
            return np.ones_like(t)
        r = self.learned_fraction
        return r + (1 - r) * np.exp(-t / self.learning_time_sec)

    def with_(self, **changes: object) -> DrummerModel:
        """A copy with some attributes changed (``EXPERT.with_(bias_sec=0)``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


#: A steady professional: small noise, locked to the click, adapts little to the partner.
EXPERT = DrummerModel(
    name="expert",
    timekeeper_sd_sec=0.007,
    motor_sd_sec=0.004,
    click_gain=0.5,
    partner_gain=0.10,
    bias_sec=-0.004,
    miss_rate=0.003,
    extra_rate=0.002,
    wrong_lane_rate=0.002,
    velocity_sd=0.08,
)

#: A first-timer: noisy and late at first, follows the partner, misses a lot, and learns
#: (noise and errors fall to 25% with a time constant of 50 s).
BEGINNER = DrummerModel(
    name="beginner",
    timekeeper_sd_sec=0.040,
    motor_sd_sec=0.020,
    click_gain=0.25,
    partner_gain=0.25,
    bias_sec=0.022,
    miss_rate=0.20,
    extra_rate=0.06,
    wrong_lane_rate=0.10,
    velocity_sd=0.25,
    learning_time_sec=50.0,
    learned_fraction=0.25,
)


def _beats(chart: Chart) -> tuple[np.ndarray, np.ndarray]:
    tm = chart.tempo_map
    grid = tm.beat_grid_qn(chart.end_qn)
    # one more beat past the end so the last notes lie between two beats
    last = float(grid[-1]) if grid.size else 0.0
    beat_qn = np.append(grid, last + float(tm.beat_length_qn(last)))
    return beat_qn, tm.qn_to_sec(beat_qn)


def _play(
    chart: Chart,
    level: Level | str | int,
    model: DrummerModel,
    beat_qn: np.ndarray,
    keeper: np.ndarray,
    onset: np.ndarray,
    rng: np.random.Generator,
) -> Hits:
    """Place one player's notes given their beat timeline (keeper, onset)."""
    part = chart.part(level)
    if len(part) == 0:
        return Hits.empty()
    click = chart.tempo_map.qn_to_sec(beat_qn)
    n = np.clip(np.searchsorted(beat_qn, part.qn + 1e-9, side="right") - 1, 0, beat_qn.size - 2)
    u = (part.qn - beat_qn[n]) / (beat_qn[n + 1] - beat_qn[n])
    on_beat = np.abs(u) < 1e-9
    f = model.practice(click[n] - click[0])
    motor = rng.standard_normal(len(part)) * model.motor_sd_sec * f
    t = np.where(on_beat, onset[n], keeper[n] + u * (keeper[n + 1] - keeper[n]) + motor)
    lane = part.lane.astype(np.int64)
    # wrong lanes: another lane of the part, or a neighbour for a one-lane part
    wrong = rng.random(len(part)) < model.wrong_lane_rate * f
    lanes_used = np.unique(lane)
    pick = rng.integers(0, max(lanes_used.size - 1, 1), len(part))
    if lanes_used.size > 1:
        others = np.array([np.delete(lanes_used, k) for k in range(lanes_used.size)])
        row = np.searchsorted(lanes_used, lane)
        alt = others[row, pick]
    else:
        alt = np.where(lane + 1 < len(Lane), lane + 1, lane - 1)
    lane = np.where(wrong, alt, lane)
    vel = np.clip(
        np.round(part.velocity * (1 + rng.standard_normal(len(part)) * model.velocity_sd)), 1, 127
    )
    # extra hits after some notes
    extra = rng.random(len(part)) < model.extra_rate * f
    beat_sec = click[n + 1] - click[n]
    extra_t = t + rng.uniform(0.10, 0.45, len(part)) * beat_sec
    extra_lane = lanes_used[rng.integers(0, lanes_used.size, len(part))]
    extra_vel = np.clip(np.round(rng.uniform(30, 90, len(part))), 1, 127)
    keep = rng.random(len(part)) >= model.miss_rate * f
    return Hits.from_arrays(
        np.concatenate([t[keep], extra_t[extra]]),
        np.concatenate([lane[keep], extra_lane[extra]]),
        np.concatenate([vel[keep], extra_vel[extra]]),
    )


def _simulate(
    chart: Chart,
    models: list[DrummerModel],
    levels: list[Level | str | int],
    rng: np.random.Generator,
) -> list[Hits]:
    if not isinstance(chart, Chart):
        raise InputError(f"chart must be a Chart, got {type(chart).__name__}")
    for m in models:
        if not isinstance(m, DrummerModel):
            raise InputError(f"a model must be a DrummerModel, got {type(m).__name__}")
    for lv in levels:
        chart.part(lv)  # an unknown level fails before any work
    beat_qn, click = _beats(chart)
    p = len(models)
    coupling = np.zeros((p, p))
    if p == 2:
        coupling[0, 1] = models[0].partner_gain
        coupling[1, 0] = models[1].partner_gain
    factor = np.stack([m.practice(click - click[0]) for m in models], axis=1)
    seed = int(rng.integers(0, 2**63 - 1))
    runs = simulate_phase_correction(
        coupling,
        n_events=click.size,
        sigma_t_sec=factor * np.array([m.timekeeper_sd_sec for m in models]),
        sigma_m_sec=factor * np.array([m.motor_sd_sec for m in models]),
        alpha_click=np.array([m.click_gain for m in models]),
        bias_sec=np.array([m.bias_sec for m in models]),
        click_sec=click,
        seed=seed,
    )
    assert runs.keeper_sec is not None
    out = []
    for i, (model, level) in enumerate(zip(models, levels, strict=True)):
        keeper = runs.keeper_sec[0, :, i]
        onset = runs.onset_sec[0, :, i]
        out.append(_play(chart, level, model, beat_qn, keeper, onset, rng))
    return out


def simulate_performance(
    chart: Chart,
    model: DrummerModel,
    *,
    level: Level | str | int = Level.EXPERT,
    seed: int | None = None,
) -> Hits:
    """One virtual drummer plays a part of ``chart`` to the click.

    Parameters
    ----------
    chart : Chart
    model : DrummerModel
    level : Level, str or int
        Which part to play.
    seed : int, optional
        Defaults to ``model.seed``; the same seed gives the same hits.

    Returns
    -------
    hits : Hits
        Onsets in seconds on the chart's clock (0 = the chart's start).
    """
    rng = np.random.default_rng(model.seed if seed is None else seed)
    return _simulate(chart, [model], [level], rng)[0]


def simulate_duet(
    chart: Chart,
    model_a: DrummerModel,
    model_b: DrummerModel,
    *,
    level_a: Level | str | int = Level.EXPERT,
    level_b: Level | str | int = Level.EXPERT,
    seed: int | None = 0,
) -> tuple[Hits, Hits]:
    """Two virtual drummers play ``chart`` together to the click, each adapting to the other.

    Parameters
    ----------
    chart : Chart
    model_a, model_b : DrummerModel
        The two players (``partner_gain`` is each one's gain toward the other).
    level_a, level_b : Level, str or int
        The part each plays (a beginner may play an easier part of the same song).
    seed : int or None
        The same seed gives the same duet.

    Returns
    -------
    hits_a, hits_b : Hits
        Each player's hits in seconds on the chart's clock.

    Raises
    ------
    NotFoundError
        If the chart has no part at a level.
    InputError
        If an argument is of the wrong kind.
    """
    rng = np.random.default_rng(seed)
    a, b = _simulate(chart, [model_a, model_b], [level_a, level_b], rng)
    return a, b
