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

The binding holds Python's global lock while it works (70 ms for a 2 s bar), and the
sound card's callback is Python code that needs that lock every few milliseconds. While
a song plays, pieces are therefore stretched in a process of their own
(:class:`StretchProcess`), which gives exactly the same samples.
"""

from __future__ import annotations

import math
import struct
import sys
import threading
from typing import IO

import numpy as np

from cymbalism.errors import DeviceError, InputError, require

__all__ = ["MARGIN_SEC", "PIECE_SEC", "StretchProcess", "Stretcher"]

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


class StretchProcess:
    """A :class:`Stretcher` in a worker process, so that stretching never holds up the
    sound card's callback; the same samples as :class:`Stretcher`.

    The worker (``python -m cymbalism.sound.stretch RATE``) starts at once and reads pieces
    from a pipe: a header (frames, channels, speed) and the samples as float32, and
    answers in kind. :meth:`close` stops it. Calls are serialised.
    """

    def __init__(self, sample_rate: int, channels: int = 2) -> None:
        import subprocess

        require("python_stretch", "audio")
        if channels not in (1, 2):
            raise InputError("the stretcher takes mono or stereo sound")
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "cymbalism.sound.stretch", str(self.sample_rate)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        # it takes a second to start: a first small piece now, so no bar waits for that
        threading.Thread(target=self._warm, daemon=True).start()

    def _warm(self) -> None:
        try:
            self.stretch(np.zeros((64, self.channels), np.float32), 1.0)
        except (OSError, ValueError, DeviceError):  # closed before it was warm
            pass

    def stretch(self, x: np.ndarray, speed: float) -> np.ndarray:
        """As :meth:`Stretcher.stretch` (the calling thread waits; the lock is free)."""
        if not (math.isfinite(speed) and 0.05 <= speed <= 20.0):
            raise InputError(f"a stretch speed of {speed} is not usable (0.05-20)")
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, self.channels)
        with self._lock:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(_HEADER.pack(x.shape[0], self.channels, float(speed)))
            self._proc.stdin.write(x.tobytes())
            self._proc.stdin.flush()
            n, ch, _ = _HEADER.unpack(_read(self._proc.stdout, _HEADER.size))
            data = _read(self._proc.stdout, n * ch * 4)
        return np.frombuffer(data, np.float32).reshape(n, ch).copy()

    def close(self) -> None:
        """Stop the worker process."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=2.0)
        except Exception:
            self._proc.kill()


#: A piece's header on the pipe: frames, channels, speed.
_HEADER = struct.Struct("<qqd")


def _read(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise DeviceError("the stretch process stopped")
    return data


def _serve(sample_rate: int) -> None:
    """The worker: stretch every piece read from stdin, answer on stdout, until EOF."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stretchers: dict[int, Stretcher] = {}
    while True:
        head = stdin.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        n, ch, speed = _HEADER.unpack(head)
        x = np.frombuffer(_read(stdin, n * ch * 4), np.float32).reshape(n, ch)
        if ch not in stretchers:
            stretchers[ch] = Stretcher(sample_rate, int(ch))
        y = np.ascontiguousarray(stretchers[ch].stretch(x, speed), dtype=np.float32)
        stdout.write(_HEADER.pack(y.shape[0], ch, speed))
        stdout.write(y.tobytes())
        stdout.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
