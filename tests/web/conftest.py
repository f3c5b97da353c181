"""Shared set-up of the studio's browser tests: a studio on a free loopback port and
headless Chromium (Debian's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cymbalism.web.app import create_app
from cymbalism.web.server import Studio, studio_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    db = tmp_path_factory.mktemp("studio") / "sessions.sqlite"
    server = Studio(create_app(studio_config(db=str(db))), port=0).start_in_thread()
    server.db = str(db)  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$CYMBALISM_SCREENSHOTS`` (the README's ``docs/screenshots/``
    when it is set so), else a temporary folder."""
    where = os.environ.get("CYMBALISM_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screens")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is missing: run `make system`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# -- a small song library, as a drummer keeps one (Clone Hero / YARG song folders)

#: Where the preview of the first library song starts in its recording (song.ini, ms).
PREVIEW_MS = 4000
#: Its song.ini delay: song time zero is this far into its recording (ms).
DELAY_MS = 500


def _music(seconds: float, freq: float, sr: int = 44_100) -> Any:
    """A recording the test can recognise: a tone, louder on every beat at 120 BPM."""
    import numpy as np

    t = np.arange(int(seconds * sr)) / sr
    beat = 1.0 + 2.0 * np.exp(-((t % 0.5) * 40.0))
    return (0.1 * beat * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_song_library(root: Path, *, traps: bool = True) -> Path:
    """Two song folders (stems with drums, and a full mix), a folder without a chart and,
    with ``traps``, a file that is no song's and a song folder's link to a file outside
    the library."""
    from cymbalism.io.charts import write_chart_file
    from cymbalism.songs import get_song
    from cymbalism.sound.audio import write_audio

    chart = get_song("mirrorball")
    seconds = chart.end_sec + 2.0
    night = root / "Testers" / "Night Drive"
    write_chart_file(night / "notes.chart", chart)
    (night / "song.ini").write_text(
        "[song]\nname = Night Drive\nartist = The Testers\ncharter = Ana\n"
        f"delay = {DELAY_MS}\npreview_start_time = {PREVIEW_MS}\n",
        encoding="utf-8",
    )
    write_audio(night / "song.ogg", _music(seconds, 220.0), 44_100)
    write_audio(night / "drums.ogg", _music(seconds, 80.0), 44_100)
    if traps:
        (night / "secret.txt").write_text("not a song's file")
        outside = root.parent / "outside.ogg"
        write_audio(outside, _music(1.0, 440.0), 44_100)
        (night / "guitar.ogg").symlink_to(outside)  # a stem that leads out of the library
    mix = root / "Quiet Band" / "Full Mix"
    write_chart_file(mix / "notes.chart", get_song("fast-lane"))
    (mix / "song.ini").write_text("[song]\nname = Full Mix\nartist = Quiet Band\n")
    write_audio(mix / "song.ogg", _music(get_song("fast-lane").end_sec, 330.0), 44_100)
    (root / "Artwork").mkdir()
    (root / "Artwork" / "song.ini").write_text("[song]\nname = Just An Ini\n")
    return root


@pytest.fixture(scope="module")
def song_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small library of song folders (see :func:`write_song_library`)."""
    return write_song_library(tmp_path_factory.mktemp("library") / "Songs")


@pytest.fixture(scope="module")
def library_studio(
    tmp_path_factory: pytest.TempPathFactory, song_library: Path
) -> Iterator[Studio]:
    """The studio serving the built-in songs and the small library."""
    from cymbalism.io.library import scan_library

    db = tmp_path_factory.mktemp("studio") / "sessions.sqlite"
    records = scan_library(song_library, cache=False)
    server = Studio(
        create_app(studio_config(db=str(db), library=records)), port=0
    ).start_in_thread()
    server.db = str(db)  # type: ignore[attr-defined]
    yield server
    server.stop()
