"""The sampled kit: every lane at its layers, the hi-hat choke."""

from __future__ import annotations

import numpy as np

from cymbalism.model.lanes import Lane
from cymbalism.sound.kit import LAYER_VELOCITIES, SampleKit, kit_manifest
from cymbalism.sound.mixer import Mixer
from cymbalism.sound.render import HitVoices

SR = 44_100


# ------------------------------------------------------------------ the kit
def test_every_lane_has_its_layers_and_the_manifest_names_real_files() -> None:
    manifest = kit_manifest()
    assert manifest["sample_rate"] == SR and manifest["layers"] == list(LAYER_VELOCITIES)
    lanes = manifest["lanes"]
    assert {spec["lane"] for spec in lanes.values()} == {int(x) for x in Lane}
    kit = SampleKit(48_000)
    for lane in Lane:
        soft, _ = kit.voice(lane, 30)
        loud, gain = kit.voice(lane, 127)
        assert gain == 1.0 and np.abs(loud).max() > np.abs(soft).max() > 0
        # each sample starts on its first sound (nothing before the stroke)
        assert np.abs(loud[:48]).max() > 10 * np.abs(loud[:2]).max()
    assert manifest["chokes"] == {"hihat_open": ["hihat_closed", "hihat_pedal"]}


def test_the_pedal_chokes_a_ringing_open_hi_hat_of_the_same_player_only() -> None:
    mixer = Mixer(SR, {"own": 1.0, "partner": 1.0})
    voices = HitVoices(mixer, SampleKit(SR))
    voices.strike(0, Lane.HIHAT_OPEN, 127, player="A")
    voices.strike(0, Lane.HIHAT_OPEN, 127, player="B", channel="partner")
    voices.strike(SR // 4, Lane.HIHAT_PEDAL, 60, player="A")
    out = mixer.render_span(0, 2 * SR)
    open_b = SampleKit(SR).voice(Lane.HIHAT_OPEN, 127)[0]
    # after the pedal (and its own short sound) only B's open hi-hat rings on
    late = slice(SR, SR + 2000)
    np.testing.assert_allclose(out[late, 0], open_b[late], atol=1e-6)
