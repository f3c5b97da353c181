"""The mixer: channel gains, and the callback as a pure function of (time line, block)."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.errors import InputError
from cymbalism.sound.mixer import Mixer, Placed, parse_mix

SR = 44_100


# ------------------------------------------------------------------ the mixer
def test_mix_parses_channels_and_refuses_unknown_ones() -> None:
    gains = parse_mix("music=0.5, click=0")
    assert gains["music"] == 0.5 and gains["click"] == 0.0 and gains["guide"] == 0.0
    with pytest.raises(InputError, match="channels: music"):
        parse_mix("drums=1")
    with pytest.raises(InputError, match="0-2"):
        parse_mix("music=5")


def test_the_callback_is_a_pure_function_of_the_time_line_and_the_block() -> None:
    rng = np.random.default_rng(1)
    sounds = [
        (int(rng.integers(0, 40_000)), rng.normal(size=3000).astype(np.float32)) for _ in range(30)
    ]

    def mix(block: int) -> np.ndarray:
        m = Mixer(SR)
        for start, data in sounds:
            m.add(Placed(start, data, "own", pan=0.3, fade_in=64, fade_out=100))
        return m.render_span(-1000, 45_000, block=block)

    a, b = mix(64), mix(4099)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 0
