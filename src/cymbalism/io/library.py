"""A library of song folders as drummers keep them: found, summarised and cached.

Clone Hero, YARG and Rock Band custom songs live one song per folder: a chart
(``notes.chart``, ``notes.mid`` or a MIDI file named after the song), a ``song.ini``
with the title, artist and charter, and the recording as one file or as stems
(``song.ogg``, ``drums_1.ogg`` ...), or as the same folder packed into one ``.sng``
file (:mod:`cymbalism.io.sng`). A library is a folder of such folders and packages,
nested as people like; a large one holds ten thousand.

:func:`scan_library` walks a library and returns one :class:`SongRecord` per song
folder: title, artist, charter, length, tempo range, the levels with their notes per
lane, the sections and the audio files found. Records are cached by folder, keyed by
the path, modification time and size of every file that goes into the record, in a
SQLite file under the user's cache folder; a second scan reads only what changed.
Folders are read in parallel by a pool of worker processes when there are many to read.
A folder that cannot be read becomes a record with its ``error``; the scan goes on.

:func:`song_record` gives the same record for one folder, chart file or built-in song.

The records are plain data (:meth:`SongRecord.to_dict` gives JSON), for the command
line, a song list in the browser, or a player that needs the audio files.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import CymbalismError, InputError, NotFoundError
from cymbalism.io.charts import CHART_SUFFIXES
from cymbalism.io.sng import PACKAGE_SUFFIXES, is_sng, read_sng, unpack_sng
from cymbalism.model.chart import Chart
from cymbalism.model.lanes import Lane

__all__ = [
    "AUDIO_ROLES",
    "AUDIO_SUFFIXES",
    "CACHE_ENV",
    "AudioFile",
    "LevelSummary",
    "ScanStats",
    "SongRecord",
    "chart_record",
    "default_cache_path",
    "find_song_folders",
    "scan_library",
    "song_record",
]

#: Audio files a song folder may hold (the games also play Opus).
AUDIO_SUFFIXES = (".ogg", ".opus", ".mp3", ".wav", ".flac", ".oga", ".aif", ".aiff")
#: The file names (without suffix) the games give the recording and its stems.
AUDIO_ROLES = (
    "song", "guitar", "bass", "rhythm", "keys", "vocals", "vocals_1", "vocals_2",
    "drums", "drums_1", "drums_2", "drums_3", "drums_4", "crowd", "preview",
)  # fmt: skip
_INI = "song.ini"
#: The cache file's location can be set with this environment variable.
CACHE_ENV = "CYMBALISM_LIBRARY_CACHE"
#: Bump when what a record holds or how charts are read changes: old entries are read again.
_RECORD_VERSION = 4
#: Below this many folders to read, a pool of processes costs more than it saves.
_PARALLEL_FROM = 48


@dataclass(frozen=True)
class LevelSummary:
    """One playable level of a chart: its name, its notes, and its notes per lane."""

    name: str
    notes: int
    lanes: dict[str, int]


@dataclass(frozen=True)
class AudioFile:
    """An audio file of a song folder and what it holds (``song``, ``drums_1``, ...,
    or ``other`` for a name the games do not give a stem)."""

    name: str
    role: str


@dataclass(frozen=True)
class SongRecord:
    """What a song folder holds, in a form to list, search and send.

    Attributes
    ----------
    path : str
        The song folder (or, for a built-in song, its name).
    chart_file : str
        The chart read, by name within the folder ("" for a built-in song).
    format : str
        ``"chart"``, ``"notes.mid"``, ``"midi"`` or ``"built-in"``.
    title, artist, album, genre, year, charter : str
        From ``song.ini``, else from the chart.
    length_sec : float
        From the chart's start to its end (its ``end`` event, else a bar after the last note).
    bpm_min, bpm_max : float
        The tempo range over the song.
    time_signature : str
        The first time signature, such as ``"4/4"``.
    levels : tuple of LevelSummary
        Easiest first; ``Expert+`` after Expert when the chart has double-kick notes.
    sections : tuple of (seconds, name)
    audio : tuple of AudioFile
    delay_sec : float
        The recording's offset from ``song.ini`` (``delay``, in ms there) unless it is 0,
        else the chart's (``Offset``): where the song's audio is placed.
    preview_start_sec : float or None
        Where a preview of the song starts (``song.ini`` ``preview_start_time``).
    pads : bool
        The chart was made for four pads (:data:`~cymbalism.model.chart.PADS`): either
        drum of a pad plays its notes.
    five_lane : bool
        The chart is read as a five-lane kit (:attr:`~cymbalism.model.chart.Chart.five_lane`):
        yellow and orange are cymbals, blue and green toms.
    error : str or None
        Why the folder could not be read; the other fields hold what was found.
    """

    path: str
    chart_file: str = ""
    format: str = ""
    title: str = ""
    artist: str = ""
    album: str = ""
    genre: str = ""
    year: str = ""
    charter: str = ""
    length_sec: float = 0.0
    bpm_min: float = 0.0
    bpm_max: float = 0.0
    time_signature: str = ""
    levels: tuple[LevelSummary, ...] = ()
    sections: tuple[tuple[float, str], ...] = ()
    audio: tuple[AudioFile, ...] = ()
    delay_sec: float = 0.0
    preview_start_sec: float | None = None
    pads: bool = False
    five_lane: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        doc = asdict(self)
        doc["sections"] = [{"sec": sec, "name": name} for sec, name in self.sections]
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> SongRecord:
        """The record :meth:`to_dict` gave."""
        return cls(
            **{
                **doc,
                "levels": tuple(LevelSummary(**lv) for lv in doc.get("levels", ())),
                "sections": tuple((s["sec"], s["name"]) for s in doc.get("sections", ())),
                "audio": tuple(AudioFile(**a) for a in doc.get("audio", ())),
            }
        )

    def level(self, name: str) -> LevelSummary | None:
        """The level called ``name`` (``"Expert"``, ``"Expert+"``), case-insensitively."""
        return next((lv for lv in self.levels if lv.name.lower() == name.lower()), None)


# ---------------------------------------------------------------------------- one folder
def _audio_files(names: Sequence[str]) -> tuple[AudioFile, ...]:
    found = []
    for name in sorted(names, key=str.lower):
        stem, suffix = os.path.splitext(name)
        if suffix.lower() in AUDIO_SUFFIXES:
            role = stem.lower() if stem.lower() in AUDIO_ROLES else "other"
            found.append(AudioFile(name, role))
    return tuple(found)


def _levels(chart: Chart) -> tuple[LevelSummary, ...]:
    def summary(name: str, lanes: np.ndarray) -> LevelSummary:
        counts = np.bincount(lanes.astype(np.int64), minlength=len(Lane))
        per_lane = {Lane(k).name.lower(): int(n) for k, n in enumerate(counts) if n}
        return LevelSummary(name, int(lanes.size), per_lane)

    return tuple(summary(lv.label, chart.part(lv).lane) for lv in chart.part_levels)


def _number(text: str | None, scale: float = 1.0) -> float | None:
    try:
        value = float(text) * scale if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or np.isfinite(value) else None


def chart_record(chart: Chart, **fields: Any) -> SongRecord:
    """The record of a chart (a song folder adds its path, files and ``song.ini``)."""
    tm = chart.tempo_map
    in_song = tm.change_qn < chart.end_qn
    bpm = tm.bpm[in_song] if in_song.any() else tm.bpm[:1]
    _, num, den = tm.time_signatures[0]
    sections = tuple((round(float(tm.qn_to_sec(q)), 6), name) for q, name in chart.sections)
    meta = chart.metadata
    base: dict[str, Any] = {
        "title": chart.title,
        "artist": chart.artist,
        "album": meta.get("album", ""),
        "genre": meta.get("genre", ""),
        "year": meta.get("year", ""),
        "charter": meta.get("charter", ""),
        "length_sec": round(chart.end_sec, 6),
        "bpm_min": round(float(bpm.min()), 6),
        "bpm_max": round(float(bpm.max()), 6),
        "time_signature": f"{num}/{den}",
        "levels": _levels(chart),
        "sections": sections,
        "delay_sec": _number(meta.get("offset_sec")) or 0.0,
        "pads": chart.four_pads,
        "five_lane": chart.five_lane,
    }
    return SongRecord(**{**base, **fields})


def _folder_record(folder: str, names: Sequence[str]) -> SongRecord:
    """The record of one song folder whose files are ``names``.

    Raises
    ------
    CymbalismError
        If the folder holds no chart with drums, or its chart cannot be read.
    """
    from cymbalism.io.charts import apply_song_ini, pick_chart_file, read_game_chart

    p = Path(folder)
    ini = _song_ini(p, names)
    chart_file = pick_chart_file(p, [n for n in names if n.lower().endswith(CHART_SUFFIXES)])
    chart = apply_song_ini(read_game_chart(chart_file, song=ini), ini)
    fields: dict[str, Any] = {
        "path": folder,
        "chart_file": chart_file.name,
        "format": chart.metadata.get("source_format", ""),
        "audio": _audio_files(names),
        "charter": ini.get("charter") or ini.get("frets") or chart.metadata.get("charter", ""),
        "preview_start_sec": _number(ini.get("preview_start_time"), 1e-3),
    }
    delay = _number(ini.get("delay"), 1e-3)
    if delay:  # a delay of 0 leaves the chart's Offset to place the audio, as in the games
        fields["delay_sec"] = delay
    return chart_record(chart, **fields)


def _song_ini(folder: Path, names: Sequence[str]) -> dict[str, str]:
    from cymbalism.io.charts import read_song_ini

    found = next((n for n in names if n.lower() == _INI), None)
    return {} if found is None else read_song_ini(folder / found)


def _package_record(path: str) -> SongRecord:
    """The record of a ``.sng`` song package: its charts and ``song.ini`` are unpacked
    (:func:`cymbalism.io.sng.unpack_sng`) and read as a song folder's; its audio files
    are listed from its index, and unpacked only when the song is played."""
    package = read_sng(path)
    folder = unpack_sng(package, audio=False)
    record = _folder_record(str(folder), _file_names(folder))
    return replace(record, path=path, audio=_audio_files(package.names()))


def _record_of(path: str, names: Sequence[str]) -> SongRecord:
    return _package_record(path) if is_sng(path) else _folder_record(path, names)


def _what_ini_says(path: str, names: Sequence[str]) -> dict[str, str]:
    """The ``song.ini`` entries of a folder, or a package's metadata; {} if unreadable."""
    try:
        return read_sng(path).metadata if is_sng(path) else _song_ini(Path(path), names)
    except (CymbalismError, OSError):
        return {}


def _read_folder(folder: str, names: Sequence[str]) -> SongRecord:
    """The record of one song folder or package; one that cannot be read gives a record
    with its ``error`` and what could be found (the title and artist of its ``song.ini``)."""
    from cymbalism.io.charts import ChartWarning

    try:
        with warnings.catch_warnings():  # a listing says nothing of lines the games skip too
            warnings.simplefilter("ignore", ChartWarning)
            return _record_of(folder, names)
    except (CymbalismError, OSError) as exc:
        message = str(exc) if isinstance(exc, CymbalismError) else f"cannot read it: {exc}"
    ini = _what_ini_says(folder, names)
    return SongRecord(
        path=folder,
        title=ini.get("name") or Path(folder).name,
        artist=ini.get("artist", ""),
        charter=ini.get("charter") or ini.get("frets", ""),
        audio=_audio_files(names),
        error=message,
    )


def _read_folders(batch: Sequence[tuple[str, Sequence[str]]]) -> list[SongRecord]:
    """The records of several folders (one task of a parallel scan)."""
    return [_read_folder(folder, names) for folder, names in batch]


def _file_names(folder: Path) -> list[str]:
    with os.scandir(folder) as listing:
        return [e.name for e in listing if e.is_file()]


def song_record(spec: str | Path) -> SongRecord:
    """The record of one song: a song folder, a ``.sng`` song package, a chart file, or
    a built-in song's name.

    Raises
    ------
    NotFoundError
        If ``spec`` is none of these.
    InputError
        If the chart cannot be read.
    """
    from cymbalism import songs

    if songs.names_song(spec):
        return chart_record(songs.get_song(str(spec)), path=str(spec), format="built-in")
    p = Path(spec).expanduser()
    if p.is_dir():
        return _folder_record(str(p.resolve()), _file_names(p))
    if p.is_file() and is_sng(p):
        return _package_record(str(p.resolve()))
    if p.is_file():
        from cymbalism.io.charts import read_chart

        chart = read_chart(p)
        folder = p.resolve().parent
        names = _file_names(folder)
        return chart_record(
            chart,
            path=str(folder),
            chart_file=p.name,
            format=chart.metadata.get("source_format", ""),
            audio=_audio_files(names) if (folder / _INI).is_file() else (),
        )
    raise NotFoundError(f"no song folder, chart file or built-in song {str(spec)!r}")


# ---------------------------------------------------------------------------- walking
def find_song_folders(root: str | Path) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Every song folder under ``root`` (``root`` included), with its files.

    A song folder holds a chart file (``.chart``, ``.mid``) or a ``song.ini``; a ``.sng``
    song package is a song folder of its own (yielded as its path, with itself as its
    one file). Folders are walked depth first in name order; hidden folders (``.git``)
    are skipped.
    """
    stack = [str(Path(root).expanduser())]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue
        files = [e for e in entries if e.is_file()]
        if any(e.name.lower() == _INI or e.name.lower().endswith(CHART_SUFFIXES) for e in files):
            yield folder, files
        for e in files:
            if e.name.lower().endswith(PACKAGE_SUFFIXES):
                yield e.path, [e]
        stack += [e.path for e in reversed(entries) if e.is_dir() and not e.name.startswith(".")]


def _signature(files: Sequence[os.DirEntry[str]]) -> str:
    """What a record depends on: the name, size and modification time of the folder's
    charts, song.ini and audio files."""
    parts = []
    for e in files:
        name = e.name.lower()
        if name == _INI or name.endswith((*CHART_SUFFIXES, *AUDIO_SUFFIXES, *PACKAGE_SUFFIXES)):
            st = e.stat()
            parts.append(f"{e.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


# ---------------------------------------------------------------------------- the cache
def default_cache_path() -> Path:
    """Where records are cached: ``$CYMBALISM_LIBRARY_CACHE``, else ``library.sqlite3``
    in the user's cache folder."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("cymbalism", appauthor=False)) / "library.sqlite3"


class _Cache:
    """Records by folder, with the signature they were read under. Scans that run at the
    same time wait for each other's writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30.0)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS songs (folder TEXT PRIMARY KEY, "
                "signature TEXT NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise InputError(
                f"cannot use the library cache {path}: {exc} (set ${CACHE_ENV} to another "
                "file, or scan without the cache)"
            ) from None

    def load(self) -> dict[str, tuple[str, str]]:
        try:
            rows = self.db.execute(
                "SELECT folder, signature, record FROM songs WHERE version = ?",
                (_RECORD_VERSION,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"cannot read the library cache {self.path}: {exc}") from None
        return {folder: (sig, record) for folder, sig, record in rows}

    def save(self, rows: Sequence[tuple[str, str, str]], gone: Sequence[str]) -> None:
        try:
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO songs (folder, signature, version, record) "
                    "VALUES (?, ?, ?, ?)",
                    [(folder, sig, _RECORD_VERSION, record) for folder, sig, record in rows],
                )
                self.db.executemany("DELETE FROM songs WHERE folder = ?", [(f,) for f in gone])
        except sqlite3.Error as exc:
            raise InputError(f"cannot write the library cache {self.path}: {exc}") from None

    def close(self) -> None:
        self.db.close()


@dataclass
class ScanStats:
    """What a scan did: song folders found, folders read (new or changed since they were
    cached), folders with an error, and the seconds it took."""

    folders: int = 0
    read: int = 0
    errors: int = 0
    seconds: float = 0.0


def scan_library(
    root: str | Path,
    *,
    cache: str | Path | bool | None = True,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    stats: ScanStats | None = None,
) -> list[SongRecord]:
    """Every song folder under ``root``, as records, in folder order.

    Parameters
    ----------
    root : str or Path
        The library: a folder of song folders (a song folder itself is a library of one).
    cache : path, True, False or None
        Where to cache the records: a SQLite file, ``True`` for
        :func:`default_cache_path`, or ``False``/``None`` to read every folder.
    workers : int, optional
        Processes that read folders (default: every CPU); 1 reads in this process.
    on_progress : callable(done, total), optional
        Called as folders are read (only the folders that are not cached count).
    stats : ScanStats, optional
        Filled with what the scan did.

    Returns
    -------
    records : list of SongRecord
        One per song folder; a folder that cannot be read has its ``error`` set.

    Raises
    ------
    NotFoundError
        If ``root`` is not a folder.
    """
    started = time.perf_counter()
    base = Path(root).expanduser()
    if not base.is_dir():
        raise NotFoundError(f"no song library at {base}: it is not a folder")
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers < 1:
        raise InputError(f"workers must be 1 or more, got {workers}")
    store = None
    if cache is not None and cache is not False:
        store = _Cache(default_cache_path() if cache is True else Path(cache))
    try:
        known = store.load() if store is not None else {}
        found: list[tuple[str, str, list[str]]] = []
        for folder, files in find_song_folders(base.resolve()):
            found.append((folder, _signature(files), [e.name for e in files]))
        records: dict[str, SongRecord] = {}
        todo: list[tuple[str, list[str]]] = []
        for folder, sig, names in found:
            hit = known.get(folder)
            if hit is not None and hit[0] == sig:
                records[folder] = SongRecord.from_dict(json.loads(hit[1]))
            else:
                todo.append((folder, names))
        fresh = _read_all(todo, n_workers, on_progress)
        records.update({r.path: r for r in fresh})
        if store is not None:
            signature = {folder: sig for folder, sig, _ in found}
            prefix = str(base.resolve())
            here = {folder for folder, _, _ in found}
            gone = [
                f for f in known if f not in here and (f == prefix or f.startswith(prefix + os.sep))
            ]
            store.save([(r.path, signature[r.path], json.dumps(r.to_dict())) for r in fresh], gone)
    finally:
        if store is not None:
            store.close()
    out = [records[folder] for folder, _, _ in found]
    if stats is not None:
        stats.folders = len(out)
        stats.read = len(todo)
        stats.errors = sum(r.error is not None for r in out)
        stats.seconds = time.perf_counter() - started
    return out


def _read_all(
    todo: Sequence[tuple[str, list[str]]],
    n_workers: int,
    on_progress: Callable[[int, int], None] | None,
) -> list[SongRecord]:
    report = on_progress or (lambda _d, _t: None)
    total = len(todo)
    report(0, total)
    if n_workers == 1 or total < _PARALLEL_FROM:
        out = []
        for k, (folder, names) in enumerate(todo):
            out.append(_read_folder(folder, names))
            if (k + 1) % 16 == 0 or k + 1 == total:
                report(k + 1, total)
        return out
    # About 8 batches per worker: enough to balance and show progress, few enough that
    # sending work to the processes costs little next to reading the charts.
    size = max(1, min(256, total // (8 * n_workers)))
    batches = [todo[k : k + size] for k in range(0, total, size)]
    out = []
    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        for batch, records in zip(batches, pool.map(_read_folders, batches), strict=True):
            out += records
            report(len(out), total)
            del batch
    return out
