"""Virtual drummers: timekeeper and motor noise, phase correction, errors and learning.

See :mod:`cymbalism.simulate.drummer` for the generative equations and
:mod:`cymbalism.simulate.ensemble` for the bare phase-correction model underneath.
"""

from cymbalism.simulate.drummer import (
    BEGINNER,
    EXPERT,
    DrummerModel,
    simulate_duet,
    simulate_performance,
)

__all__ = ["BEGINNER", "EXPERT", "DrummerModel", "simulate_duet", "simulate_performance"]
