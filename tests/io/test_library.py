"""A library of song folders: found, summarised by hand-checkable figures, and cached."""

from __future__ import annotations

import os
import sqlite3

import pytest

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io import library
from cymbalism.io.library import (
    AudioFile,
    LevelSummary,
    ScanStats,
    SongRecord,
    default_cache_path,
    scan_library,
    song_record,
)
from tests.conftest import CHART_WITH_EVERYTHING as CHART
from tests.conftest import EXPERT_LANES as EXPERT


def test_a_scan_finds_every_song_folder_and_summarises_it(shelf, tmp_path):
    stats = ScanStats()
    records = scan_library(shelf, cache=tmp_path / "cache.sqlite3", stats=stats)
    assert [os.path.relpath(r.path, shelf) for r in records] == [
        "Broken", "No Chart", "Other/Album/Disc 1/Bossa", "The Testers/Night Drive",
    ]  # fmt: skip
    assert (stats.folders, stats.read, stats.errors) == (4, 4, 2)
    broken, no_chart, bossa, night = records
    assert broken.error is not None and "no drum part" in broken.error
    assert no_chart.error is not None and "without a chart" in no_chart.error
    assert no_chart.title == "Just An Ini"

    assert night.error is None
    assert (night.title, night.artist, night.charter) == ("Night Drive", "The Testers", "Ana")
    assert (night.chart_file, night.format) == ("notes.chart", "chart")
    assert night.length_sec == 6.0 and (night.bpm_min, night.bpm_max) == (60.0, 120.0)
    assert night.time_signature == "4/4"
    assert night.levels == (
        LevelSummary("Easy", 3, {"kick": 2, "snare": 1}),
        LevelSummary("Expert", 9, EXPERT),
        LevelSummary("Expert+", 10, {**EXPERT, "kick": 4}),
    )
    assert night.sections == ((0.0, "Intro"), (2.0, "Verse"))
    assert night.audio == (
        AudioFile("crowd.opus", "crowd"),
        AudioFile("drums_1.ogg", "drums_1"),
        AudioFile("Drums_2.ogg", "drums_2"),
        AudioFile("intro.wav", "other"),
        AudioFile("song.ogg", "song"),
    )
    assert night.delay_sec == 0.25 and night.preview_start_sec == 30.0

    assert (bossa.title, bossa.format) == ("Bossa Caf\xe9", "notes.mid")
    assert bossa.chart_file == "Bossa Band - Bossa.mid"
    assert bossa.levels == (LevelSummary("Hard", 3, {"kick": 1, "snare": 1, "ride": 1}),)
    assert bossa.time_signature == "4/4" and bossa.audio == ()
    # records travel as JSON and come back equal
    for r in records:
        assert SongRecord.from_dict(r.to_dict()) == r


def test_the_cache_reads_only_what_changed(shelf, tmp_path):
    cache = tmp_path / "cache.sqlite3"
    first = scan_library(shelf, cache=cache)
    again = ScanStats()
    assert scan_library(shelf, cache=cache, stats=again) == first
    assert again.read == 0
    night = shelf / "The Testers" / "Night Drive"
    # a new stem and an edited chart: that folder is read again, the others come cached
    (night / "drums_3.ogg").write_bytes(b"x")
    (night / "notes.chart").write_text(CHART.replace("  1152 = N 2 0\n", ""))
    stats = ScanStats()
    records = scan_library(shelf, cache=cache, stats=stats)
    assert stats.read == 1
    changed = records[-1]
    assert changed.level("expert").notes == 8
    assert "drums_3.ogg" in [a.name for a in changed.audio]
    # a folder that is gone leaves the cache; a scan of part of the library keeps the rest
    for f in (shelf / "Broken").iterdir():
        f.unlink()
    (shelf / "Broken").rmdir()
    assert len(scan_library(shelf, cache=cache)) == 3
    scan_library(night, cache=cache)
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT COUNT(*) FROM songs").fetchone() == (3,)
    # a cache that cannot be opened is one clear error
    with pytest.raises(InputError, match="cannot use the library cache"):
        scan_library(shelf, cache=tmp_path)  # a folder, not a file
    # no cache: every folder is read
    fresh = ScanStats()
    assert scan_library(shelf, cache=None, stats=fresh) == scan_library(shelf, cache=cache)
    assert fresh.read == 3


def test_many_folders_are_read_in_parallel_with_the_same_records(tmp_path, monkeypatch):
    root = tmp_path / "big"
    template = tmp_path / "notes.chart"
    template.write_text(CHART)
    n = library._PARALLEL_FROM + 12
    for k in range(n):
        folder = root / f"song{k:03d}"
        folder.mkdir(parents=True)
        os.link(template, folder / "notes.chart")
    progress: list[tuple[int, int]] = []
    parallel = scan_library(root, cache=None, workers=2, on_progress=lambda *a: progress.append(a))
    serial = scan_library(root, cache=None, workers=1)
    assert parallel == serial and len(parallel) == n
    assert progress[0] == (0, n) and progress[-1] == (n, n)
    assert all(r.level("Expert+").notes == 10 for r in parallel)


def test_one_song_record_for_a_folder_a_chart_or_a_built_in_song(shelf, tmp_path):
    night = shelf / "The Testers" / "Night Drive"
    from_scan = scan_library(night, cache=None)
    assert song_record(night) == from_scan[0]
    by_file = song_record(night / "notes.chart")
    assert by_file.title == "Night Drive" and by_file.chart_file == "notes.chart"
    assert len(by_file.audio) == 5
    built_in = song_record("mirrorball")
    assert (built_in.format, built_in.bpm_min, built_in.time_signature) == (
        "built-in",
        114.0,
        "4/4",
    )
    assert [lv.name for lv in built_in.levels] == ["Beginner", "Easy", "Medium", "Hard", "Expert"]
    with pytest.raises(NotFoundError, match="no song folder, chart file or built-in song"):
        song_record(tmp_path / "nowhere")
    with pytest.raises(NotFoundError, match="without a chart"):
        song_record(shelf / "No Chart")
    with pytest.raises(InputError, match="no drum part"):
        song_record(shelf / "Broken")
    with pytest.raises(NotFoundError, match="not a folder"):
        scan_library(night / "notes.chart", cache=None)


def test_a_delay_of_0_leaves_the_charts_offset_to_place_the_audio(tmp_path):
    from cymbalism.io.charts import load_chart
    from cymbalism.sound.audio import recording_offset_sec

    folder = tmp_path / "Offset"
    folder.mkdir()
    chart = "[Song]\n{\n  Resolution = 192\n  Offset = 0.5\n}\n[ExpertDrums]\n{\n  0 = N 0 0\n}\n"
    (folder / "notes.chart").write_text(chart)
    for ini, placed in (("delay = 0", 0.5), ("delay = 250", 0.25), ("name = x", 0.5)):
        (folder / "song.ini").write_text(f"[song]\n{ini}\n")
        record = song_record(folder)
        assert record.delay_sec == placed, ini
        assert recording_offset_sec(folder, load_chart(folder)) == placed, ini


def test_the_cache_lives_in_the_user_cache_folder_or_where_the_environment_says(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(library.CACHE_ENV, str(tmp_path / "mine.sqlite3"))
    assert default_cache_path() == tmp_path / "mine.sqlite3"
    monkeypatch.delenv(library.CACHE_ENV)
    assert default_cache_path().name == "library.sqlite3"
    assert "cymbalism" in str(default_cache_path())
