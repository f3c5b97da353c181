"""Shared test set-up, and the fixtures that tests of more than one package use."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from cymbalism import songs
from cymbalism.io.midi import write_hits
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Session
from cymbalism.model.tempo import TempoMap
from cymbalism.simulate import BEGINNER, EXPERT, simulate_duet
from cymbalism.store import LevelStep

# PortAudio connects to any running JACK server when it starts, and if that server goes
# away before the process ends, PortAudio's exit handler aborts the process (pa_jack.c:
# "Terminate: Assertion `err == 0' failed"). So the test process never starts PortAudio
# (sound devices are faked at the boundary, see _no_portaudio_here), and should anything
# start it anyway, it finds no JACK server to connect to. Tests that use a real audio
# server start their own, named, in a subprocess (benchmarks/mic.py, benchmarks/sound.py).
os.environ.setdefault("JACK_NO_START_SERVER", "1")
os.environ["JACK_DEFAULT_SERVER"] = "cymbalism-tests-no-server"
# Song packages (.sng) are unpacked into a folder of the test run's own, not the user's cache.
os.environ["CYMBALISM_SNG_CACHE"] = tempfile.mkdtemp(prefix="cymbalism-sng-")
atexit.register(shutil.rmtree, os.environ["CYMBALISM_SNG_CACHE"], ignore_errors=True)

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
def _own_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test makes cymbalism keep (kits, the ends of unsaved sessions) goes to its
    temporary folder, never the user's data folder."""
    monkeypatch.setenv("CYMBALISM_DATA_DIR", str(tmp_path / "data"))


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


# -- shared by the store's and the command line's tests


@pytest.fixture
def groove_chart() -> Chart:
    """Four bars of 8th-note groove at 120 BPM with an easier part: kick, snare, hats."""
    beats = [float(q) for q in range(16)]
    eighths = [q / 2 for q in range(32)]
    full = Part.from_arrays(
        beats + eighths, [0 if int(q) % 2 == 0 else 1 for q in beats] + [2] * len(eighths), 100
    )
    easy = Part.from_arrays([float(q) for q in range(16)], 0, 100)
    return Chart(
        "Four on the floor",
        TempoMap.constant(120.0),
        {Level.EXPERT: full, Level.BEGINNER: easy},
        sections=((0.0, "intro"), (8.0, "verse")),
        artist="cymbalism",
    )


# -- a simulated duet, shared by the report's and the command line's tests

#: When the beginner of :func:`_duet` moves up from Beginner to Easy, seconds.
PROMOTED_AT_SEC = 40.0


def _duet(seed: int, *, beginner=BEGINNER) -> tuple[Session, dict[str, tuple[LevelStep, ...]]]:  # type: ignore[no-untyped-def]
    """An expert and a beginner on a built-in song; the beginner moves up to Easy at 40 s."""
    chart = songs.get_song("mirrorball")
    a, b_first = simulate_duet(chart, EXPERT, beginner, level_b=Level.BEGINNER, seed=seed)
    _, b_then = simulate_duet(chart, EXPERT, beginner, level_b=Level.EASY, seed=seed)
    b = Hits.concat(
        [b_first.between(-np.inf, PROMOTED_AT_SEC), b_then.between(PROMOTED_AT_SEC, np.inf)]
    )
    session = Session(
        chart,
        (
            Player("Shigeru", Level.EXPERT, input="TD-27", hits=a),
            Player("Jae", Level.BEGINNER, hits=b),
        ),
    )
    steps = {"Jae": (LevelStep(PROMOTED_AT_SEC, Level.BEGINNER, Level.EASY, "90% for 8 bars"),)}
    return session, steps


@pytest.fixture(scope="session")
def duet() -> tuple[Session, dict[str, tuple[LevelStep, ...]]]:
    """The duet of :func:`_duet` with seed 11, simulated once for the whole run."""
    return _duet(11)


# -- a corpus of MIDI takes, shared by the corpus' and the command line's tests

#: The tempo of the corpus' takes, BPM.
BPM = 100.0
#: Each drummer's known offset from the click, seconds.
OFFSETS = {"alice": 0.010, "bob": -0.006}


def _groove(offset_sec: float, seed: int) -> Hits:
    """Two bars of 8ths on the hi-hat, kick and snare on the beats, shifted by ``offset_sec``."""
    tempo = TempoMap.constant(BPM)
    rng = np.random.default_rng(seed)
    qn = np.arange(0, 64, 0.5)
    hats = tempo.qn_to_sec(qn) + offset_sec + rng.normal(0, 0.002, qn.size)
    beats = tempo.qn_to_sec(np.arange(0, 64, 1.0)) + offset_sec + rng.normal(0, 0.002, 64)
    lanes = np.where(np.arange(64) % 2 == 0, Lane.KICK, Lane.SNARE)
    return Hits.from_arrays(
        np.concatenate([hats, beats]) + 2.4,  # one bar of count-in at 100 BPM
        np.concatenate([np.full(qn.size, Lane.HIHAT_CLOSED), lanes]),
    )


@pytest.fixture
def corpus(tmp_path):
    """Two drummers' takes in a folder each, one broken MIDI file, and a stray text file."""
    root = tmp_path / "corpus"
    tempo = TempoMap.constant(BPM)
    for k, (name, offset) in enumerate(OFFSETS.items()):
        (root / name).mkdir(parents=True)
        for take in range(2):
            write_hits(root / name / f"take{take}.mid", _groove(offset, 10 * k + take), tempo)
    (root / "bob" / "broken.mid").write_bytes(b"MThd not really a MIDI file")
    (root / "notes.txt").write_text("not part of the corpus")
    return root


# -- kit templates, for the tests of hits from audio


@pytest.fixture
def kit_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kits learned or saved during a test go to its temporary data folder."""
    monkeypatch.setenv("CYMBALISM_DATA_DIR", str(tmp_path / "data"))


# -- a small library of song folders, shared by the io's and the command line's tests

# 120 BPM for 4 quarter notes (2 s), then 60 BPM to the end event at quarter note 8 (6 s).
CHART_WITH_EVERYTHING = """\
[Song]
{
  Name = "Chart Title"
  Resolution = 192
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
  768 = B 60000
}
[Events]
{
  0 = E "section Intro"
  768 = E "section Verse"
  1536 = E "end"
}
[ExpertSingle]
{
  0 = N 0 0
}
[ExpertDrums]
{
  0 = N 0 0
  0 = N 2 0
  0 = N 66 0
  192 = N 1 0
  384 = N 0 0
  480 = N 32 0
  576 = N 1 0
  768 = N 0 0
  768 = N 4 0
  768 = N 68 0
  960 = N 3 0
  1152 = N 2 0
}
[EasyDrums]
{
  0 = N 0 0
  192 = N 1 0
  768 = N 0 0
}
"""
EXPERT_LANES = {"kick": 3, "snare": 2, "hihat_closed": 1, "tom_high": 1, "tom_mid": 1, "crash": 1}
_INI = "[Song]\nname = Night Drive\nartist = The Testers\ncharter = Ana\ndelay = 250\n"
_INI += "preview_start_time = 30000\n"


@pytest.fixture
def shelf(tmp_path) -> Path:
    """A small library: two good songs (one nested deep, one a Rock Band Network MIDI),
    a folder whose chart has no drums, one without a chart, and folders that are not songs."""
    root = tmp_path / "Songs"
    a = root / "The Testers" / "Night Drive"
    a.mkdir(parents=True)
    (a / "notes.chart").write_text(CHART_WITH_EVERYTHING)
    (a / "song.ini").write_text(_INI)
    for name in ("song.ogg", "drums_1.ogg", "Drums_2.ogg", "crowd.opus", "intro.wav", "album.png"):
        (a / name).write_bytes(b"x")
    b = root / "Other" / "Album" / "Disc 1" / "Bossa"
    b.mkdir(parents=True)
    tm = TempoMap([(0.0, 100.0)], [(0.0, 4, 4), (2.0, 3, 4)])  # a 3/4 change inside bar 0
    part = Part.from_arrays([0.0, 1.0, 2.0], [Lane.KICK, Lane.SNARE, Lane.RIDE])
    from cymbalism.io.charts import write_notes_mid

    write_notes_mid(b / "Bossa Band - Bossa.mid", Chart("bossa", tm, {Level.HARD: part}))
    (b / "song.ini").write_bytes("[song]\nname = Bossa Caf\xe9\n".encode("latin-1"))
    broken = root / "Broken"
    broken.mkdir()
    (broken / "notes.chart").write_text("[ExpertSingle]\n{\n  0 = N 0 0\n}\n")
    (root / "No Chart").mkdir()
    (root / "No Chart" / "song.ini").write_text("[song]\nname = Just An Ini\n")
    (root / "Artwork").mkdir()
    (root / "Artwork" / "cover.png").write_bytes(b"x")
    (root / ".git").mkdir()
    (root / ".git" / "notes.chart").write_text(CHART_WITH_EVERYTHING)
    return root
