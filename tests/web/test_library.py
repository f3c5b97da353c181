"""The studio's song library (``serve --songs DIR``): the list the page searches, a
library song's files as the page plays them, and nothing else of the disk served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from cymbalism.cli import main
from cymbalism.io.library import scan_library
from cymbalism.web.app import create_app
from cymbalism.web.library import SONGS_ENV, SongShelf, library_id, library_roots
from cymbalism.web.server import studio_config
from tests.web.conftest import DELAY_MS, PREVIEW_MS


@pytest.fixture(scope="module")
def client(song_library: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    records = scan_library(song_library, cache=False)
    db = tmp_path_factory.mktemp("db") / "s.sqlite"
    return TestClient(create_app(studio_config(db=str(db), library=records)))


def _night(song_library: Path) -> str:
    return library_id(song_library / "Testers" / "Night Drive")


def test_the_list_has_the_built_in_songs_then_the_librarys(client: TestClient) -> None:
    assert client.get("/api/info").json()["library"] == 2
    listing = client.get("/api/library").json()
    songs = listing["songs"]
    built_in = client.get("/api/songs").json()
    assert listing["total"] == len(built_in) + 2 == len(songs)
    assert [s["name"] for s in songs[: len(built_in)]] == [s["name"] for s in built_in]
    assert {s["source"] for s in songs[: len(built_in)]} == {"built-in"}
    full_mix, night = songs[len(built_in) :]  # by artist: Quiet Band, The Testers
    assert (night["title"], night["artist"], night["charter"]) == (
        "Night Drive",
        "The Testers",
        "Ana",
    )
    assert night["source"] == "library" and night["name"].startswith("lib-")
    mirrorball = next(s for s in built_in if s["name"] == "mirrorball")
    assert night["length_sec"] == pytest.approx(mirrorball["length_sec"], abs=0.1)
    assert night["bpm_min"] == night["bpm_max"] == pytest.approx(mirrorball["bpm"], abs=0.1)
    assert night["levels"] == ["Easy", "Medium", "Hard", "Expert"]  # as charted
    assert night["has_music"] and night["drum_stems"]
    assert night["preview_sec"] == PREVIEW_MS / 1000
    assert full_mix["title"] == "Full Mix" and full_mix["has_music"] and not full_mix["drum_stems"]
    assert full_mix["preview_sec"] is None


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("testers", ["Night Drive"]),
        ("DRIVE ana", ["Night Drive"]),  # every word, any case, title and charter
        ("night", ["Mirrorball Nights", "Night Drive"]),
        ("quiet mix", ["Full Mix"]),
        ("drive quiet", []),
    ],
)
def test_search_finds_every_word(client: TestClient, query: str, titles: list[str]) -> None:
    res = client.get("/api/library", params={"q": query}).json()
    assert [s["title"] for s in res["songs"]] == titles and res["total"] == len(titles)


def test_the_list_comes_in_pages_and_bad_asks_are_refused(client: TestClient) -> None:
    total = client.get("/api/library").json()["total"]
    pages = [client.get("/api/library", params={"offset": k, "limit": 4}).json() for k in (0, 4, 8)]
    assert [len(p["songs"]) for p in pages] == [4, 4, total - 8]
    names = [s["name"] for p in pages for s in p["songs"]]
    assert len(set(names)) == total
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"q": "x" * 201}):
        r = client.get("/api/library", params=params)
        assert r.status_code == 422 and r.json()["status"] == 422, params


def test_a_library_song_is_read_when_chosen_and_plays_in_a_room(
    client: TestClient, song_library: Path
) -> None:
    name = _night(song_library)
    song = client.get(f"/api/songs/{name}").json()
    mirrorball = client.get("/api/songs/mirrorball").json()
    assert song["title"] == "Night Drive" and song["artist"] == "The Testers"
    assert song["bars"] == mirrorball["bars"]
    assert song["levels"][0] == "Beginner"  # made from the expert part: no file format has it
    assert [s["name"] for s in song["sections"]] == [s["name"] for s in mirrorball["sections"]]
    room = client.post(
        "/api/rooms",
        json={"song": name, "players": ["Ana", "Bo"], "levels": ["expert", "beginner"]},
    )
    assert room.status_code == 200 and room.json()["title"] == "Night Drive"
    for bad in ("lib-0000000000000000", "lib-" + "f" * 64, "..", "Night Drive"):
        r = client.post(
            "/api/rooms", json={"song": bad, "players": ["A", "B"], "levels": ["easy", "easy"]}
        )
        assert r.status_code == 404 and r.json()["error"].startswith("no song"), bad


def test_a_library_songs_recording_is_its_stems_placed_by_its_delay(
    client: TestClient, song_library: Path
) -> None:
    name = _night(song_library)
    folder = song_library / "Testers" / "Night Drive"
    info = client.get(f"/api/songs/{name}/audio").json()
    assert info["music"] == [f"/api/songs/{name}/audio/song"]
    assert info["drums"] == [f"/api/songs/{name}/audio/drums"]
    assert info["offset_sec"] == DELAY_MS / 1000 and not info["full_mix"]
    # the guitar stem is a link out of the song folder: not offered, and said
    assert info["messages"] == ["guitar.ogg: not played (it lies outside the song folder)"]
    for url, file in ((info["music"][0], "song.ogg"), (info["drums"][0], "drums.ogg")):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "audio/ogg"
        assert r.content == (folder / file).read_bytes()
    # a part of the file, as a media element asks for it to seek
    part = client.get(info["music"][0], headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == (folder / "song.ogg").read_bytes()[100:200]
    mix = library_id(song_library / "Quiet Band" / "Full Mix")
    assert client.get(f"/api/songs/{mix}/audio").json()["full_mix"] is True


@pytest.mark.parametrize(
    "path",
    [
        "{night}/audio/guitar",  # a stem the folder has, but a link out of it
        "{night}/audio/secret",
        "{night}/audio/notes",
        "{night}/audio/song.ini",
        "{night}/audio/..%2F..%2Foutside",
        "{night}/audio/%2e%2e",
        "lib-0000000000000000/audio/song",
        "lib-0000000000000000/audio",
        "..%2F..%2Fetc%2Fpasswd/audio",
        "%2Ftmp/audio/song",
    ],
)
def test_nothing_else_of_the_disk_is_served(
    client: TestClient, song_library: Path, path: str
) -> None:
    r = client.get("/api/songs/" + path.format(night=_night(song_library)))
    assert r.status_code == 404 and set(r.json()) == {"error", "status"}, r.text


def test_the_shelf_takes_only_readable_songs_with_drums(song_library: Path) -> None:
    records = scan_library(song_library, cache=False)
    assert len(records) == 3  # the folder with a song.ini and no chart is one
    shelf = SongShelf(records)
    assert len(shelf.library) == 2 and len(shelf) == len(shelf.builtin) + 2
    assert shelf.folder("mirrorball") is None
    assert shelf.folder(_night(song_library)) == song_library / "Testers" / "Night Drive"
    chart = shelf.chart(_night(song_library))
    assert chart.metadata["song_path"] == str((song_library / "Testers" / "Night Drive").resolve())
    assert shelf.chart(_night(song_library)) is chart  # kept once read


def test_the_libraries_come_from_the_option_else_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(SONGS_ENV, f"{tmp_path / 'a'}:{tmp_path / 'b'}:")
    assert library_roots(None) == [tmp_path / "a", tmp_path / "b"]
    assert library_roots([tmp_path / "c"]) == [tmp_path / "c"]
    monkeypatch.delenv(SONGS_ENV)
    assert library_roots(None) == []


def test_serve_scans_the_library_and_says_what_it_found(
    song_library: Path, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CYMBALISM_LIBRARY_CACHE", str(tmp_path / "cache.sqlite3"))
    args = ["serve", "--port", "0", "--db", str(tmp_path / "s.sqlite"), "--stop-after", "0.2"]
    assert main([*args, "--songs", str(song_library)]) == 0
    out = capsys.readouterr()
    assert "song library: 2 songs with drums (3 read, 0 from the cache" in out.out
    assert "1 of 3 song folders cannot be played" in out.err
    monkeypatch.setenv(SONGS_ENV, str(song_library))
    assert main(args) == 0  # the setting, and the cache
    assert "song library: 2 songs with drums (0 read, 3 from the cache" in capsys.readouterr().out
    assert main([*args, "--songs", str(tmp_path / "nowhere")]) == 1
    assert "no song library at" in capsys.readouterr().err


def test_a_song_package_is_listed_chosen_and_its_stems_served(tmp_path: Path) -> None:
    from cymbalism.io.sng import read_sng
    from tests.io.test_sng import DELAY_MS as PACKED_DELAY_MS
    from tests.io.test_sng import _package

    root = tmp_path / "Songs"
    root.mkdir()
    pkg = _package(root / "Packed.sng")
    records = scan_library(root, cache=False)
    app = TestClient(create_app(studio_config(db=str(tmp_path / "s.sqlite"), library=records)))
    name = library_id(pkg)
    listed = app.get("/api/library", params={"q": "packers"}).json()["songs"]
    assert [(s["name"], s["title"], s["drum_stems"]) for s in listed] == [
        (name, "Packed Song", True)
    ]
    assert app.get(f"/api/songs/{name}").json()["title"] == "Packed Song"
    info = app.get(f"/api/songs/{name}/audio").json()
    assert info["offset_sec"] == PACKED_DELAY_MS / 1000 and info["messages"] == []
    package = read_sng(pkg)
    for url, file in ((info["music"][0], "song.opus"), (info["drums"][0], "drums.opus")):
        r = app.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "audio/ogg"
        assert r.content == package.read(file)
    assert app.get(f"/api/songs/{name}/audio/album").status_code == 404
    room = app.post(
        "/api/rooms", json={"song": name, "players": ["Ana", "Bo"], "levels": ["expert", "easy"]}
    )
    assert room.status_code == 200 and room.json()["title"] == "Packed Song"
