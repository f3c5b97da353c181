"""The studio's songs: the built-in ones and the song folders of libraries.

``cymbalism serve --songs DIR`` (or ``$CYMBALISM_SONGS``) points the studio at Clone Hero
/ YARG libraries; they are scanned once at start with :func:`cymbalism.io.library.scan_library`
(cached, so a second start reads only what changed). :class:`SongShelf` then holds:

- the built-in songs, by name (``mirrorball``);
- each song folder or ``.sng`` song package the scan could read, by an id made from its
  path (``lib-`` and 16 hex digits of its SHA-256); a package is unpacked into the
  user's cache when its song is chosen or previewed (:func:`cymbalism.io.sng.song_folder`).
  The page only ever sends ids back; an id the shelf does not hold is not found, so no
  path from a client reaches the file system.

Its charts are read when a song is chosen (a few kept in memory), with where the
recording is noted (:func:`cymbalism.sound.audio.with_audio_source`), so a stored
session of a library song can be rendered later. Only audio files the scan found, lying
in the song folder the scan found, are served (:meth:`SongShelf.audio_path`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.library import SongRecord
from cymbalism.io.sng import song_folder
from cymbalism.model.chart import Chart

__all__ = ["SONGS_ENV", "LibrarySong", "SongShelf", "library_id", "library_roots"]

#: Song libraries the studio serves unless ``--songs`` is given (``os.pathsep`` apart).
SONGS_ENV = "CYMBALISM_SONGS"
#: The id of a library song: ``lib-`` and 16 hex digits.
_ID_PREFIX = "lib-"
#: Charts of library songs kept read.
_CHARTS_KEPT = 16
#: At most this many songs in one answer to a search.
MAX_LIMIT = 200


def library_id(folder: str | Path) -> str:
    """The id of the song folder ``folder`` (its resolved path, hashed)."""
    digest = hashlib.sha256(str(Path(folder).resolve()).encode("utf-8", "surrogateescape"))
    return _ID_PREFIX + digest.hexdigest()[:16]


def library_roots(given: Iterable[str | Path] | None) -> list[Path]:
    """The libraries to serve: ``given`` (``--songs``), else ``$CYMBALISM_SONGS``."""
    if given:
        return [Path(p).expanduser() for p in given]
    env = os.environ.get(SONGS_ENV, "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


@dataclass(frozen=True)
class LibrarySong:
    """A song the studio offers: its id, its record, and its song folder (None for a
    built-in song, whose recording ships with cymbalism)."""

    id: str
    record: SongRecord
    folder: Path | None

    def summary(self) -> dict[str, Any]:
        """The song as the library list shows it."""
        r = self.record
        if self.folder is None:
            from cymbalism.sound.audio import builtin_audio_path

            has_music, drum_stems = builtin_audio_path(self.id) is not None, False
        else:
            music = [a for a in r.audio if a.role not in ("other", "preview", "crowd")]
            has_music = any(not a.role.startswith("drums") for a in music)
            drum_stems = any(a.role.startswith("drums") for a in music)
        return {
            "name": self.id,
            "source": "built-in" if self.folder is None else "library",
            "title": r.title,
            "artist": r.artist,
            "charter": r.charter,
            "length_sec": round(r.length_sec, 1),
            "bpm_min": round(r.bpm_min, 1),
            "bpm_max": round(r.bpm_max, 1),
            "levels": [lv.name for lv in r.levels],
            "has_music": has_music,
            "drum_stems": drum_stems,
            "preview_sec": r.preview_start_sec,
            "pads": r.pads,
            "five_lane": r.five_lane,
        }


class SongShelf:
    """Every song the studio offers, by name: built-in songs and library songs.

    Parameters
    ----------
    records : sequence of SongRecord
        What the scans of the libraries found (those with an error, or no drums, are
        left out).
    builtin : bool
        Offer the built-in songs too.
    """

    def __init__(self, records: Sequence[SongRecord] = (), *, builtin: bool = True) -> None:
        from cymbalism.io.library import song_record
        from cymbalism.songs import song_names

        self.builtin = song_names() if builtin else []
        self._builtin = set(self.builtin)
        self.library: dict[str, LibrarySong] = {}
        for r in records:
            if r.error is None and r.levels:
                song = LibrarySong(library_id(r.path), r, Path(r.path))
                self.library.setdefault(song.id, song)
        shelf = sorted(
            self.library.values(),
            key=lambda s: (s.record.artist.casefold(), s.record.title.casefold(), s.id),
        )
        # the built-in songs first, then the libraries' by artist and title
        self._order = [LibrarySong(n, song_record(n), None) for n in self.builtin] + shelf
        self._text = [
            f"{s.record.title} {s.record.artist} {s.record.charter} {s.record.album}".casefold()
            for s in self._order
        ]
        self._charts: OrderedDict[str, Chart] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ names
    def names(self) -> list[str]:
        """The built-in songs (the library's are found by :meth:`search`)."""
        return list(self.builtin)

    def song(self, name: str) -> LibrarySong:
        """The library song ``name``.

        Raises
        ------
        NotFoundError
            If the shelf holds no library song by that id.
        """
        song = self.library.get(name)
        if song is None:
            raise NotFoundError(f"no song {name[:80]!r}")
        return song

    def folder(self, name: str) -> Path | None:
        """The song folder of a library song (a ``.sng`` package's unpacked, on first
        use); None for a built-in song.

        Raises
        ------
        NotFoundError
            If the shelf holds no such song.
        InputError
            If its package can no longer be unpacked.
        """
        if name in self._builtin:
            return None
        found = self.song(name).folder
        return None if found is None else song_folder(found)

    def __len__(self) -> int:
        return len(self._order)

    # ------------------------------------------------------------------ charts
    def chart(self, name: str) -> Chart:
        """The chart of any song on the shelf (a library song's read on first use).

        Raises
        ------
        NotFoundError
            If there is no such song.
        InputError
            If a library song's chart can no longer be read.
        """
        if name in self._builtin:
            from cymbalism.songs import get_song

            return get_song(name)
        song = self.song(name)
        with self._lock:
            chart = self._charts.get(name)
            if chart is not None:
                self._charts.move_to_end(name)
                return chart
        from cymbalism.io.charts import load_chart
        from cymbalism.sound.audio import with_audio_source

        folder = song.folder
        if folder is None:  # a library song always has one; a record without is unreadable
            raise InputError(f"{name!r}: its song folder is not known")
        chart = with_audio_source(load_chart(folder), folder)
        with self._lock:
            self._charts[name] = chart
            while len(self._charts) > _CHARTS_KEPT:
                self._charts.popitem(last=False)
        return chart

    def audio_path(self, name: str, path: Path) -> Path:
        """``path`` if it may be served as audio of library song ``name``: a file the scan
        found in the song's folder, and lying in that folder (not a link out of it).

        Raises
        ------
        NotFoundError
            Otherwise.
        """
        song = self.song(name)
        found = {a.name for a in song.record.audio}
        real = path.resolve()
        where = self.folder(name)
        folder = where.resolve() if where is not None else None
        if path.name not in found or real.parent != folder or not real.is_file():
            raise NotFoundError(f"this song has no audio file {path.name!r}")
        return path

    def keep_servable(self, name: str, info: Any) -> None:
        """Leave out of ``info`` (a :class:`cymbalism.web.music.SongAudioInfo` of library
        song ``name``) every file :meth:`audio_path` would not serve, saying so."""
        for stems in (info.music, info.drums):
            for stem, path in list(stems.items()):
                try:
                    self.audio_path(name, path)
                except NotFoundError:
                    del stems[stem]
                    info.messages.insert(
                        0, f"{path.name}: not played (it lies outside the song folder)"
                    )

    # ------------------------------------------------------------------ search
    def search(self, query: str = "", *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        """Songs whose title, artist, charter or album hold every word of ``query`` (any
        case): the built-in songs first, then the libraries' by artist and title, as
        ``{"total", "offset", "songs"}`` with at most ``limit`` (up to MAX_LIMIT) songs."""
        words = query.casefold().split()
        found = [
            s
            for s, text in zip(self._order, self._text, strict=True)
            if all(w in text for w in words)
        ]
        offset = max(0, offset)
        limit = max(1, min(MAX_LIMIT, limit))
        return {
            "total": len(found),
            "offset": offset,
            "songs": [s.summary() for s in found[offset : offset + limit]],
        }
