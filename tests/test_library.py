"""A library of song folders: found, summarised by hand-checkable figures, and cached."""

from __future__ import annotations

import os
import sqlite3

import pytest

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io import library
from cymbalism.io.charts import write_notes_mid
from cymbalism.io.library import (
    AudioFile,
    LevelSummary,
    ScanStats,
    SongRecord,
    default_cache_path,
    scan_library,
    song_record,
)
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

# 120 BPM for 4 quarter notes (2 s), then 60 BPM to the end event at quarter note 8 (6 s).
CHART = """\
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
EXPERT = {"kick": 3, "snare": 2, "hihat_closed": 1, "tom_high": 1, "tom_mid": 1, "crash": 1}
INI = "[Song]\nname = Night Drive\nartist = The Testers\ncharter = Ana\ndelay = 250\n"
INI += "preview_start_time = 30000\n"


@pytest.fixture
def shelf(tmp_path):
    """A small library: two good songs (one nested deep, one a Rock Band Network MIDI),
    a folder whose chart has no drums, one without a chart, and folders that are not songs."""
    root = tmp_path / "Songs"
    a = root / "The Testers" / "Night Drive"
    a.mkdir(parents=True)
    (a / "notes.chart").write_text(CHART)
    (a / "song.ini").write_text(INI)
    for name in ("song.ogg", "drums_1.ogg", "Drums_2.ogg", "crowd.opus", "intro.wav", "album.png"):
        (a / name).write_bytes(b"x")
    b = root / "Other" / "Album" / "Disc 1" / "Bossa"
    b.mkdir(parents=True)
    tm = TempoMap([(0.0, 100.0)], [(0.0, 4, 4), (2.0, 3, 4)])  # a 3/4 change inside bar 0
    part = Part.from_arrays([0.0, 1.0, 2.0], [Lane.KICK, Lane.SNARE, Lane.RIDE])
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
    (root / ".git" / "notes.chart").write_text(CHART)
    return root


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


def test_the_cache_lives_in_the_user_cache_folder_or_where_the_environment_says(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(library.CACHE_ENV, str(tmp_path / "mine.sqlite3"))
    assert default_cache_path() == tmp_path / "mine.sqlite3"
    monkeypatch.delenv(library.CACHE_ENV)
    assert default_cache_path().name == "library.sqlite3"
    assert "cymbalism" in str(default_cache_path())


def test_the_songs_command_lists_a_library_and_shows_one_song(shelf, tmp_path, capsys, monkeypatch):
    import json

    from cymbalism.cli import main

    monkeypatch.setenv(library.CACHE_ENV, str(tmp_path / "cli-cache.sqlite3"))
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["songs", "--dir", str(shelf)]) == 0
    captured = capsys.readouterr()
    assert "Night Drive" in captured.out and "Bossa Caf\xe9" in captured.out
    assert "E X X+" in captured.out and "60-120" in captured.out and "0:06" in captured.out
    assert "2 songs in 4 song folders; 4 read, 0 from the cache" in captured.out
    assert "cannot read:" in captured.err and "no drum part" in captured.err
    assert main(["songs", "--dir", str(shelf)]) == 0
    assert "4 read" not in capsys.readouterr().out  # the second time, from the cache
    assert main(["songs", "--dir", str(shelf), "--json", "--no-cache"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["title"] for d in docs] == ["Broken", "Just An Ini", "Bossa Caf\xe9", "Night Drive"]
    night = shelf / "The Testers" / "Night Drive"
    assert main(["songs", "show", str(night), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert SongRecord.from_dict(doc) == song_record(night)
    assert doc["levels"][1] == {"name": "Expert", "notes": 9, "lanes": EXPERT}
    assert doc["sections"] == [{"sec": 0.0, "name": "Intro"}, {"sec": 2.0, "name": "Verse"}]
    assert [a["role"] for a in doc["audio"]] == ["crowd", "drums_1", "drums_2", "other", "song"]
    assert main(["songs", "show", str(shelf / "Broken"), "--json"]) == 2
    assert main(["songs", "--dir", str(tmp_path / "nowhere")]) == 1
