"""The tempo follower: the click follows the tempo the duo agrees on.

Once a bar, the follower looks at the timing errors of both players since the last bar
(played - click, positive = the duo is late, i.e. slower than the click) and corrects the
click like a drummer who listens: a **phase correction** moves the next bar line a
fraction ``alpha`` of the mean error toward the duo, and a **period correction** changes
the bar length by a fraction ``beta`` of the error (the linear phase/period correction
model of Vorberg & Wing, and of Repp & Keller's adaptive metronome). The period stays
within ``max_deviation`` (about 8%) of the song's tempo, so the band never runs away.
"""

from __future__ import annotations

from collections.abc import Sequence

from cymbalism.errors import InputError

__all__ = ["TempoFollower"]


class TempoFollower:
    """Phase and period correction of the click toward the duo, bounded.

    Parameters
    ----------
    alpha : float
        Phase-correction gain (0-1): the share of the mean error the next bar line moves.
    beta : float
        Period-correction gain (0-1): the share of the mean error, relative to the bar's
        length, by which the tempo changes.
    max_deviation : float
        The most the tempo may move away from the song's, as a fraction (0.08 = 8%).
    min_hits : int
        Fewer hits than this in a bar leave the click alone.

    Attributes
    ----------
    stretch : float
        The current bar length relative to the song's (1.05 = 5% slower).
    """

    def __init__(
        self,
        *,
        alpha: float = 0.5,
        beta: float = 0.25,
        max_deviation: float = 0.08,
        min_hits: int = 2,
    ) -> None:
        if not (0.0 <= alpha <= 1.0 and 0.0 <= beta <= 1.0):
            raise InputError(f"gains must lie in 0-1, got alpha={alpha}, beta={beta}")
        if not 0.0 <= max_deviation < 0.5:
            raise InputError(f"max_deviation {max_deviation} is not a fraction below 0.5")
        self.alpha = alpha
        self.beta = beta
        self.max_deviation = max_deviation
        self.min_hits = min_hits
        self.stretch = 1.0

    @property
    def tempo_ratio(self) -> float:
        """The click's tempo relative to the song's (0.95 = 5% slower)."""
        return 1.0 / self.stretch

    def update(self, error_sec: Sequence[float], *, bar_sec: float) -> tuple[float, float]:
        """Correct the click for the next bar.

        Parameters
        ----------
        error_sec : sequence of float
            Timing errors (played - click, seconds) of both players since the last bar.
        bar_sec : float
            The next bar's length at the song's tempo, in seconds.

        Returns
        -------
        stretch : float
            The next bar's length relative to the song's.
        phase_sec : float
            How much later (positive) the next bar line falls than planned.
        """
        if bar_sec <= 0:
            raise InputError(f"a bar of {bar_sec} s is not a bar")
        if len(error_sec) < self.min_hits:
            return self.stretch, 0.0
        mean = sum(error_sec) / len(error_sec)
        lo, hi = 1.0 / (1.0 + self.max_deviation), 1.0 / (1.0 - self.max_deviation)
        self.stretch = min(hi, max(lo, self.stretch + self.beta * mean / bar_sec))
        return self.stretch, self.alpha * mean
