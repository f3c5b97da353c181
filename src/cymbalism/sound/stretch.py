"""Time-stretch without changing pitch: Signalsmith Stretch, through ``python-stretch``.

Signalsmith Stretch (MIT) is a real library for changing the speed of music while
keeping its pitch; ``python-stretch`` (MIT) is its Python binding. Rubber Band, the other
library of that class, is GPL (or a paid licence), which an MIT project cannot ship.

``python-stretch`` 0.3.1 (the release on PyPI) stretches one buffer per call: it primes
the stretcher with the buffer's start, processes it and flushes the tail, so each call
is aligned on its own (output sample ``j`` is input sample ``j * speed``). cymbalism
therefore stretches a recording piece by piece, each piece a bar (or up to
:data:`PIECE_SEC` of it) with :data:`MARGIN_SEC` of context on both sides, and
:mod:`cymbalism.sound.music` joins the pieces with short crossfades.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from cymbalism.errors import InputError, require

__all__ = ["MARGIN_SEC", "PIECE_SEC", "Stretcher"]

#: Context stretched on each side of a piece and dropped (so each piece starts warm).
MARGIN_SEC = 0.15
#: The longest stretch of output made in one call.
PIECE_SEC = 4.0


class Stretcher:
    """Stretch stereo pieces of a recording at any speed, the pitch kept.

    Parameters
    ----------
    sample_rate : int
    channels : int
        1 or 2.

    Notes
    -----
    One instance may be used from several threads; calls are serialised.
    """

    def __init__(self, sample_rate: int, channels: int = 2) -> None:
        ps = require("python_stretch", "audio")
        if channels not in (1, 2):
            raise InputError("the stretcher takes mono or stereo sound")
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self._stretch = ps.Signalsmith.Stretch(0)  # a fixed seed: the same output every run
        self._stretch.preset(channels, float(sample_rate))
        self._lock = threading.Lock()

    def stretch(self, x: np.ndarray, speed: float) -> np.ndarray:
        """``x`` played at ``speed`` times its speed, the pitch kept.

        Parameters
        ----------
        x : np.ndarray [shape=(n, channels), float32]
        speed : float
            0.7 plays 70% as fast (the output is ``n / 0.7`` frames long).

        Returns
        -------
        y : np.ndarray [shape=(round(n / speed), channels), float32]
            ``y[j]`` corresponds to ``x[j * speed]``.
        """
        if not (math.isfinite(speed) and 0.05 <= speed <= 20.0):
            raise InputError(f"a stretch speed of {speed} is not usable (0.05-20)")
        x = np.asarray(x, dtype=np.float32)
        if x.shape[0] == 0:
            return np.zeros((0, self.channels), np.float32)
        with self._lock:
            self._stretch.timeFactor = float(speed)
            y = self._stretch.process(np.ascontiguousarray(x.T))
        return np.ascontiguousarray(np.asarray(y, dtype=np.float32).T)
