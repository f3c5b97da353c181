"""Shared test set-up."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# PortAudio connects to any running JACK server when it starts, and if that server goes
# away before the process ends, PortAudio's exit handler aborts the process (pa_jack.c:
# "Terminate: Assertion `err == 0' failed"). So the test process never starts PortAudio
# (sound devices are faked at the boundary, see _no_portaudio_here), and should anything
# start it anyway, it finds no JACK server to connect to. Tests that use a real audio
# server start their own, named, in a subprocess (benchmarks/mic.py, benchmarks/sound.py).
os.environ.setdefault("JACK_NO_START_SERVER", "1")
os.environ["JACK_DEFAULT_SERVER"] = "cymbalism-tests-no-server"

settings.register_profile(
    "cymbalism", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cymbalism"))


def _find_shared_data() -> Path:
    """``../shared/data`` beside the repository, or beside a folder that holds it."""
    repo = Path(__file__).resolve().parents[1]
    for base in repo.parents:
        if (base / "shared" / "data").is_dir():
            return base / "shared" / "data"
    return repo.parent / "shared" / "data"


#: The shared real-data folder, beside the repository (or beside a folder of checkouts).
SHARED_DATA = _find_shared_data()


@pytest.fixture
def shared_data() -> Path:
    """The folder of real recordings and annotations (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the shared data folder {SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_portaudio_here(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that starts PortAudio (imports sounddevice) in the test process."""
    before = "sounddevice" in sys.modules
    yield
    if not before and "sounddevice" in sys.modules:
        pytest.fail(
            f"{request.node.name} imported sounddevice (started PortAudio) in the test "
            "process: fake the device at the boundary (the module's _sounddevice), or use a "
            "real audio server in a subprocess"
        )
