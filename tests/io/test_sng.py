"""Song packages (.sng): read, written, unpacked, and played as the song folder they hold."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.charts import format_chart_text, load_chart, parse_chart_text, read_chart
from cymbalism.io.library import AudioFile, scan_library, song_record
from cymbalism.io.sng import SNG_CACHE_ENV, read_sng, sng_cache_folder, song_folder, write_sng
from cymbalism.songs import get_song
from cymbalism.sound.audio import song_audio_for

MASK = bytes(range(7, 7 + 16 * 13, 13))
SR = 48_000
DELAY_MS = 120


def _tone(hz: float, seconds: float) -> bytes:
    """An Opus file of a sine at ``hz`` (the codec Clone Hero's packages carry)."""
    from io import BytesIO

    t = np.arange(int(seconds * SR)) / SR
    buf = BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * hz * t), SR, format="OGG", subtype="OPUS")
    return buf.getvalue()


def _package(path: Path, song: str = "mirrorball", **extra: bytes) -> Path:
    chart = get_song(song)
    files = {
        "notes.chart": format_chart_text(chart).encode("utf-8"),
        "song.opus": _tone(220.0, 3.0),
        "drums.opus": _tone(80.0, 3.0),
        "album.jpg": b"\xff\xd8 not really a picture",
        **extra,
    }
    meta = {"name": "Packed Song", "artist": "The Packers", "charter": "Ana",
            "delay": str(DELAY_MS), "preview_start_time": "1500"}  # fmt: skip
    return write_sng(path, files, meta, mask=MASK)


def _peak_hz(x: np.ndarray, sample_rate: int) -> float:
    mono = x.mean(axis=1) if x.ndim == 2 else x
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    return float(np.argmax(spectrum) * sample_rate / mono.size)


# ---------------------------------------------------------------------- the format
def test_the_files_are_masked_as_the_format_says(tmp_path: Path) -> None:
    content = bytes(np.random.default_rng(1).integers(0, 256, 1000, dtype=np.uint8))
    p = write_sng(tmp_path / "a.sng", {"notes.chart": content}, {"name": "A"}, mask=MASK)
    raw = p.read_bytes()
    assert raw[:6] == b"SNGPKG" and struct.unpack("<I", raw[6:10])[0] == 1
    assert raw[10:26] == MASK
    entry = read_sng(p).entry("NOTES.CHART")  # names are found in any case
    stored = raw[entry.offset : entry.offset + entry.size]
    # byte i is XOR-ed with mask[i % 16] ^ (i % 256), written out here by hand
    assert bytes(b ^ MASK[i % 16] ^ (i % 256) for i, b in enumerate(stored)) == content
    assert stored != content
    assert raw.endswith(stored) and struct.unpack("<Q", raw[-1008:-1000])[0] == 1000


_NAMES = st.from_regex(r"[A-Za-z0-9 _()-]{1,20}\.(chart|mid|ogg|opus|png)", fullmatch=True)


@given(
    files=st.dictionaries(_NAMES, st.binary(max_size=700), max_size=5),
    meta=st.dictionaries(
        st.text("abcdefghij_", min_size=1, max_size=12), st.text(max_size=30), max_size=6
    ),
)
def test_what_is_written_reads_back(tmp_path_factory, files, meta) -> None:  # type: ignore[no-untyped-def]
    lowered = {}
    for name, data in files.items():  # names differ in more than case in a package
        lowered.setdefault(name.lower(), (name, data))
    files = dict(lowered.values())
    p = write_sng(tmp_path_factory.mktemp("p") / "x.sng", files, meta)
    package = read_sng(p)
    assert package.names() == list(files)
    assert {n: package.read(n) for n in files} == files
    assert package.metadata == {k.lower(): v for k, v in meta.items()}


def test_a_large_file_unpacks_across_its_chunks(tmp_path: Path) -> None:
    content = bytes(np.random.default_rng(2).integers(0, 256, 2_500_123, dtype=np.uint8))
    p = write_sng(tmp_path / "big.sng", {"a.bin": b"12345", "song.ogg": content}, mask=MASK)
    out = read_sng(p).extract("song.ogg", tmp_path / "out.ogg")
    assert out.read_bytes() == content
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".part")] == []


def _corrupt(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    good = write_sng(tmp_path / "good.sng", {"notes.chart": b"x" * 50}, {"name": "A"}, mask=MASK)
    bad = tmp_path / "bad.sng"
    bad.write_bytes(change(good.read_bytes()))
    return bad


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda b: b"PKSNGG" + b[6:], "not a song package"),
        (lambda b: b[:40], "truncated"),
        (lambda b: b[:-10], "truncated"),
        (lambda b: b.replace(b"notes.chart", b"../notes.ch"), "not a plain file name"),
        (lambda b: b.replace(b"notes.chart", b"/etc/passwd"), "not a plain file name"),
        (lambda b: b[:26] + struct.pack("<QQ", 8, 2**60) + b[42:], "claims"),
        (lambda b: b.replace(b"name", b"\xff\xfe\xfd\xfc"), "not UTF-8"),
        (lambda b: b"", "not a song package"),
    ],
)
def test_a_broken_package_gets_one_clear_error(tmp_path: Path, change, says) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=says):
        read_sng(_corrupt(tmp_path, change))


def test_a_package_that_is_not_there_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_sng(tmp_path / "gone.sng")
    with pytest.raises(InputError, match="not a plain file name"):
        write_sng(tmp_path / "x.sng", {"../up.chart": b""})


# ---------------------------------------------------------------------- a song in one file
def test_a_package_is_a_song_folder_for_every_reader(tmp_path: Path) -> None:
    pkg = _package(tmp_path / "Packed.sng")
    chart = load_chart(pkg)
    # the notes of the chart packed, as a song folder's notes.chart gives them
    expected = parse_chart_text(format_chart_text(get_song("mirrorball")))
    assert (chart.title, chart.artist) == ("Packed Song", "The Packers")
    assert chart.metadata["charter"] == "Ana"
    for level, part in expected.parts.items():
        np.testing.assert_allclose(chart.parts[level].qn, part.qn)
        np.testing.assert_array_equal(chart.parts[level].lane, part.lane)

    record = song_record(pkg)
    assert record.path == str(pkg.resolve()) and record.error is None
    assert (record.title, record.chart_file) == ("Packed Song", "notes.chart")
    assert record.format == "chart"
    assert record.audio == (AudioFile("drums.opus", "drums"), AudioFile("song.opus", "song"))
    assert record.delay_sec == DELAY_MS / 1000 and record.preview_start_sec == 1.5

    audio, messages = song_audio_for(pkg, chart)
    assert messages == [] and audio is not None
    assert audio.offset_sec == pytest.approx(DELAY_MS / 1000)
    assert _peak_hz(audio.music, audio.sample_rate) == pytest.approx(220.0, abs=2.0)
    assert audio.drums is not None
    assert _peak_hz(audio.drums, audio.sample_rate) == pytest.approx(80.0, abs=2.0)
    folder = song_folder(pkg)
    assert folder.parent == sng_cache_folder() and oct(folder.stat().st_mode)[-3:] == "700"
    assert "name = Packed Song" in (folder / "song.ini").read_text()


def test_a_scan_unpacks_the_charts_only_and_a_changed_package_is_read_again(
    tmp_path: Path,
) -> None:
    root = tmp_path / "Songs"
    (root / "Packs").mkdir(parents=True)
    pkg = _package(root / "Packs" / "One.sng")
    (root / "Packs" / "Broken.sng").write_bytes(b"SNGPKG\x01\x00")
    cache = tmp_path / "library.sqlite3"
    records = scan_library(root, cache=cache)
    assert [Path(r.path).name for r in records] == ["Broken.sng", "One.sng"]
    broken, one = records
    assert broken.error is not None and "truncated" in broken.error
    assert one.error is None and one.level("expert") is not None
    unpacked = song_folder(pkg, audio=False)
    assert sorted(f.name for f in unpacked.iterdir() if not f.name.startswith(".")) == [
        "notes.chart", "song.ini",
    ]  # fmt: skip
    # the package is replaced by another song: the scan reads it again, and nothing of
    # the old song is left where it was unpacked
    _package(pkg, song="fast-lane")
    os.utime(pkg, ns=(1, 1))  # however quickly it was rewritten, it is another file
    again = scan_library(root, cache=cache)[1]
    assert again.length_sec == pytest.approx(get_song("fast-lane").end_sec)
    assert read_chart(pkg).end_qn == get_song("fast-lane").end_qn
    assert sorted(f.name for f in song_folder(pkg).iterdir() if not f.name.startswith(".")) == [
        "album.jpg", "drums.opus", "notes.chart", "song.ini", "song.opus",
    ]  # fmt: skip


def test_a_package_without_drums_or_a_cache_to_unpack_into_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guitar = write_sng(tmp_path / "g.sng", {"notes.chart": b"[ExpertSingle]\n{\n  0 = N 0 0\n}\n"})
    with pytest.raises(InputError, match="no drum"):
        load_chart(guitar)
    pkg = _package(tmp_path / "p.sng")
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv(SNG_CACHE_ENV, str(blocked / "sng"))
    with pytest.raises(InputError, match=f"cannot unpack p.sng.*{SNG_CACHE_ENV}"):
        song_folder(pkg)


def test_threads_that_unpack_one_package_at_once_get_whole_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv(SNG_CACHE_ENV, str(tmp_path / "cache"))
    pkg = _package(tmp_path / "p.sng")
    with ThreadPoolExecutor(4) as pool:
        folders = list(pool.map(lambda _: song_folder(pkg), range(8)))
    assert len(set(folders)) == 1
    package = read_sng(pkg)
    for name in package.names():
        assert (folders[0] / name).read_bytes() == package.read(name)
    assert [f.name for f in folders[0].iterdir() if f.name.endswith(".part")] == []


def test_a_packers_hidden_leftovers_are_left_out(tmp_path: Path) -> None:
    pkg = _package(tmp_path / "p.sng", **{".DS_Store": b"\x00\x00\x00\x01Bud1"})
    assert ".DS_Store" not in read_sng(pkg).names()
    assert not (song_folder(pkg) / ".DS_Store").exists()
    assert load_chart(pkg).title == "Packed Song"


def test_an_encrypted_yarg_package_is_refused_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "Songs"
    root.mkdir()
    (root / "Locked.yargsong").write_bytes(b"YARGSONG" + bytes(64))
    _package(root / "Open.sng")
    locked, opened = scan_library(root, cache=False)
    assert locked.error is not None and "encrypted" in locked.error
    assert locked.title == "Locked.yargsong" and opened.error is None
    with pytest.raises(InputError, match="encrypted"):
        load_chart(root / "Locked.yargsong")
    with pytest.raises(NotFoundError):
        load_chart(root / "Gone.yargsong")


def test_the_unpacked_folder_keeps_to_its_budget_and_forgets_gone_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from cymbalism.io import sng

    monkeypatch.setenv(SNG_CACHE_ENV, str(tmp_path / "cache"))
    a, b, c = (_package(tmp_path / f"{name}.sng") for name in "abc")
    one = sum(e.size for e in read_sng(a).entries)
    monkeypatch.setattr(sng, "UNPACKED_BUDGET_BYTES", int(2.5 * one))
    fa, fb = song_folder(a), song_folder(b)
    # a is used again (it is now the most recent), then c is played: b goes, a stays
    os.utime(fa / ".cymbalism-sng", (1, 1))
    os.utime(fb / ".cymbalism-sng", (2, 2))
    song_folder(a)
    fc = song_folder(c)
    assert fa.is_dir() and fc.is_dir() and not fb.exists()
    # a package that is gone takes its unpacked folder with it at the next unpacking
    a.unlink()
    song_folder(b)
    assert not fa.exists() and fc.is_dir()
    assert load_chart(b).title == "Packed Song"
