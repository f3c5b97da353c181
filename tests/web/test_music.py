"""What the studio serves for the page's sound: the kit, each song's recording, renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from cymbalism.errors import NotFoundError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.songs import get_song
from cymbalism.sound.audio import write_audio
from cymbalism.sound.kit import KIT_DIR
from cymbalism.web.app import StudioConfig, create_app
from cymbalism.web.music import song_audio_info

SR = 44_100


def _chart(offset_sec: float = 0.0) -> Chart:
    part = Part.from_arrays(np.arange(0.0, 8.0), int(Lane.SNARE), 100)
    return Chart(
        "Stems",
        TempoMap.constant(120.0),
        {Level.EXPERT: part},
        metadata={"offset_sec": str(offset_sec)},
    )


def _tone(sec: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(sec * sr)) / sr
    return (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _folder(tmp_path: Path, files: dict[str, int], ini: str | None = None) -> Path:
    folder = tmp_path / "song"
    folder.mkdir()
    for name, sr in files.items():
        write_audio(folder / name, _tone(1.0, sr), sr)
    if ini is not None:
        (folder / "song.ini").write_text(ini, encoding="utf-8")
    return folder


def test_stems_are_split_into_music_and_drums_and_placed_by_delay(tmp_path: Path) -> None:
    # a stem at another sample rate is offered all the same (the browser resamples it)
    folder = _folder(
        tmp_path,
        {"song.ogg": SR, "bass.wav": 48_000, "drums_1.flac": SR, "drums_2.flac": SR},
        "[song]\ndelay = 1500\n",
    )
    info = song_audio_info("x", _chart(offset_sec=0.25), folder)
    assert set(info.music) == {"song", "bass"} and set(info.drums) == {"drums_1", "drums_2"}
    assert info.offset_sec == pytest.approx(1.5)  # song.ini's delay wins over the chart's
    assert not info.full_mix and info.messages == []
    # without a delay, the chart's Offset places it
    (folder / "song.ini").unlink()
    assert song_audio_info("x", _chart(offset_sec=0.25), folder).offset_sec == pytest.approx(0.25)


def test_a_full_mix_no_audio_and_an_unreadable_file_are_said(tmp_path: Path) -> None:
    info = song_audio_info("x", _chart(), _folder(tmp_path, {"song.ogg": SR}))
    assert info.full_mix and info.messages == ["the recording is a full mix: its drums are in it"]
    (tmp_path / "song" / "song.ogg").write_bytes(b"OggS but not really")
    info = song_audio_info("x", _chart(), tmp_path / "song")
    assert not info.has_music
    assert info.messages[0].startswith("song.ogg: not an audio file that can be read")
    assert info.messages[-1] == "no readable audio for this song: the click plays alone"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert song_audio_info("x", _chart(), empty).messages == [
        "no readable audio for this song: the click plays alone"
    ]


def _client(tmp_path: Path) -> TestClient:
    folder = _folder(tmp_path, {"song.ogg": SR, "drums.ogg": SR})

    def load(name: str) -> Chart:
        if name == "mirrorball":
            return get_song(name)
        if name == "stems":
            return _chart()
        raise NotFoundError(f"no song {name!r}")

    config = StudioConfig(
        load_song=load,
        list_songs=lambda: ["mirrorball", "stems"],
        engine_factory=lambda room, start: None,  # type: ignore[arg-type,return-value]
        song_folder=lambda name: folder if name == "stems" else None,
    )
    return TestClient(create_app(config))


def test_the_page_gets_the_kit_and_each_songs_files(tmp_path: Path) -> None:
    client = _client(tmp_path)
    kit = client.get("/kit/kit.json").json()
    assert kit["lanes"]["kick"]["files"][1] == "kick-90.flac"
    flac = client.get("/kit/kick-90.flac")
    assert flac.status_code == 200 and flac.content == (KIT_DIR / "kick-90.flac").read_bytes()
    # the page loads the kit in two requests: its description, and every file in one body
    spec = client.get("/api/kit").json()
    pack = client.get("/api/kit/pack").content
    assert spec["lanes"] == kit["lanes"] and spec["clicks"] == kit["clicks"]
    files = [f for lane in kit["lanes"].values() for f in lane["files"]] + list(
        kit["clicks"].values()
    )
    assert set(spec["pack"]) == set(files)
    for name, (offset, length) in spec["pack"].items():
        assert pack[offset : offset + length] == (KIT_DIR / name).read_bytes(), name
    assert len(pack) == sum(length for _, length in spec["pack"].values())
    assert client.get("/static/vendor/signalsmith-stretch/LICENSE.txt").text.startswith("MIT")
    mjs = client.get("/static/vendor/signalsmith-stretch/SignalsmithStretch.mjs")
    assert "javascript" in mjs.headers["content-type"]  # module scripts need a JS type

    built_in = client.get("/api/songs/mirrorball/audio").json()
    assert built_in["music"] == ["/api/songs/mirrorball/audio/song"] and built_in["drums"] == []
    assert built_in["has_music"] and not built_in["full_mix"]
    ogg = client.get(built_in["music"][0])
    assert ogg.status_code == 200 and ogg.headers["content-type"] == "audio/ogg"
    stems = client.get("/api/songs/stems/audio").json()
    assert stems["drums"] == ["/api/songs/stems/audio/drums"]
    # only the song's stems are served: nothing else of the folder, no path tricks
    (tmp_path / "song" / "notes.chart").write_text("secret")
    for bad in ("notes", "..%2Fsong%2Fnotes.chart", "guitar"):
        r = client.get(f"/api/songs/stems/audio/{bad}")
        assert r.status_code == 404, bad
    assert client.get("/api/songs/nope/audio").json() == {"error": "no song 'nope'", "status": 404}


def test_a_render_waits_for_the_end_of_the_duet(tmp_path: Path) -> None:
    client = _client(tmp_path)
    code = client.post(
        "/api/rooms", json={"song": "stems", "players": ["A", "B"], "levels": ["expert", "expert"]}
    ).json()["code"]
    r = client.get("/api/sessions/1/render", params={"key": code})
    assert r.status_code == 404 and "keeps no sessions" in r.json()["error"]
