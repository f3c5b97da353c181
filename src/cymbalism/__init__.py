"""cymbalism: two drummers, one song, in sync.

Capture every hit of two players, judge each against their part, and measure the
duet: the gap between the players, who leads, tempo drift, and when they came
together.
"""

from cymbalism.errors import CymbalismError, DeviceError, InputError, NotFoundError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

__version__ = "0.1.0"

__all__ = [
    "Chart",
    "CymbalismError",
    "DeviceError",
    "Hits",
    "InputError",
    "Lane",
    "Level",
    "NotFoundError",
    "Part",
    "TempoMap",
    "__version__",
]
