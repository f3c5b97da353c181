"""Shared test set-up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# PortAudio looks for a JACK server when it starts; tests never want it to start one.
os.environ.setdefault("JACK_NO_START_SERVER", "1")

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
