"""Song audio: Clone Hero / YARG song folders, stems, and reading and writing audio files.

A song folder holds the chart (``notes.chart`` / ``notes.mid``), ``song.ini`` and the
recording: ``song.*`` (the backing, or the full mix when it is alone) and stems
(``drums``, ``drums_1``..``drums_4``, ``bass``, ``guitar``, ``rhythm``, ``keys``,
``vocals``, ``vocals_1``/``_2``, ``crowd``) in any of
:data:`cymbalism.io.library.AUDIO_SUFFIXES` (the song library's own list and names). As
in the games, ``drums`` is ignored when numbered drum stems exist, and ``vocals`` when
numbered vocal stems do.

Placing the recording on song time (once, at load)
--------------------------------------------------
Song time ``t`` (seconds from the chart's time zero) sounds at ``t + offset_sec`` in the
recording. ``offset_sec`` is, as YARG reads it (``SongMetadata``: song.ini ``delay`` unless
it is missing or 0, else the chart's ``[Song] Offset``):

- song.ini ``delay`` in milliseconds ("higher = later notes"), or else
- the ``.chart`` file's ``Offset`` in seconds ("a higher value makes the audio start
  sooner"),

plus ``--audio-offset MS`` given by the player (same sign: where song time zero falls in
the audio file). So a recording with 1.5 s of silence before the first beat has
``delay = 1500``.

Drum stems are kept apart from the rest (:attr:`SongAudio.drums`): the players are the
drummers, so the mixer's guide-drum channel is silent unless asked for. A folder with
only ``song.*`` plays it as it is, and says the drums are in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cymbalism.errors import InputError, NotFoundError, require
from cymbalism.io.audio.files import (
    READABLE_FORMATS,
    AudioBrokeOff,
    encode_with_ffmpeg,
    open_sound,
)
from cymbalism.io.charts import read_song_ini
from cymbalism.io.library import AUDIO_ROLES, AUDIO_SUFFIXES
from cymbalism.io.sng import song_folder
from cymbalism.model.chart import Chart

if TYPE_CHECKING:
    from cymbalism.io.audio.bleed import Music

__all__ = [
    "AUDIO_SUFFIXES",
    "DRUM_STEMS",
    "MUSIC_STEMS",
    "WRITABLE_FORMATS",
    "SongAudio",
    "audio_for_chart",
    "builtin_audio_path",
    "find_stems",
    "load_song_audio",
    "music_for_takes",
    "read_audio_file",
    "recording_offset_sec",
    "resample",
    "song_audio_for",
    "song_ini_delay_ms",
    "song_music",
    "with_audio_source",
    "write_audio",
]

#: Stems that are the drums.
DRUM_STEMS = tuple(r for r in AUDIO_ROLES if r.startswith("drums"))
#: Stems that are the band (everything but the drums; a preview clip is no stem).
MUSIC_STEMS = tuple(r for r in AUDIO_ROLES if r not in DRUM_STEMS and r != "preview")
#: The loudest sample written to a lossy file (-1 dBFS): its coding overshoots peaks.
_LOSSY_PEAK = 10 ** (-1 / 20)
#: Said when a file name cannot be written.
WRITABLE_FORMATS = "give a .wav, .flac, .ogg or .m4a file name"
#: Files are decoded this many seconds at a time (a file that breaks off loses at most this).
_BLOCK_SEC = 1.0
#: libsndfile 1.2.2 crashes writing a long OGG in one call: write this many frames at a time.
_WRITE_BLOCK = 1 << 16


def _soundfile():  # type: ignore[no-untyped-def]
    return require("soundfile", "audio")


def resample(x: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """``x`` (frames first) at another sample rate, float32 (soxr, high quality)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if from_hz == to_hz or x.shape[0] == 0:
        return x
    soxr = require("soxr", "audio")
    return np.ascontiguousarray(soxr.resample(x, from_hz, to_hz, quality="HQ"), dtype=np.float32)


def _stereo(x: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] == 1:
        return np.repeat(x, 2, axis=1)
    if x.shape[1] == 2:
        return x
    return np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)


def read_audio_file(path: str | Path, sample_rate: int) -> tuple[np.ndarray, float | None]:
    """Read a recording as stereo float32 frames at ``sample_rate``.

    The file is decoded in blocks; if it breaks off partway (a truncated or corrupt
    file), what was read is kept and the second it broke off at is returned.

    Returns
    -------
    frames : np.ndarray [shape=(n, 2), float32]
    broke_off_sec : float or None
        Where the file stopped being readable, or None if it was read to the end.

    Raises
    ------
    NotFoundError
        If there is no such file.
    InputError
        If it cannot be decoded at all: the message names the file and the formats that
        work.
    """
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"no audio file at {p}")
    snd = open_sound(p)
    blocks: list[np.ndarray] = []
    broke: float | None = None
    with snd:
        sr = snd.sample_rate
        try:
            for block in snd.blocks(max(1, int(_BLOCK_SEC * sr))):
                blocks.append(block)
        except AudioBrokeOff as exc:
            broke = exc.at_sec
    if not blocks:
        if broke is not None:
            raise InputError(f"{p}: cannot decode it; audio that works: {READABLE_FORMATS}")
        return np.zeros((0, 2), np.float32), None
    frames = _stereo(np.concatenate(blocks))
    return resample(frames, sr, sample_rate), broke


def write_audio(
    path: str | Path, frames: np.ndarray, sample_rate: int, *, quality: float = 0.5
) -> Path:
    """Write frames to a WAV, FLAC, OGG (Vorbis) or M4A (AAC) file, chosen by the file name.

    Long files are written in blocks (libsndfile 1.2.2 crashes on a long OGG in one call).
    An M4A (what phones play and share) is encoded by FFmpeg, its peak at most -1 dBFS
    (lossy coding overshoots peaks).

    Parameters
    ----------
    frames : np.ndarray [shape=(n,) or (n, channels), float]
        -1..1; louder samples are clipped.
    quality : float
        Vorbis quality, 0 (smallest) to 1 (best), for OGG; for M4A, 0 is 96 and 1 is
        256 kbit/s.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".m4a":
        kbps = 96 + 160 * float(np.clip(quality, 0.0, 1.0))
        x = np.asarray(frames, dtype=np.float32)
        peak = float(np.abs(x).max()) if x.size else 0.0
        if peak > _LOSSY_PEAK:  # lossy coding overshoots peaks: keep 1 dB of headroom
            x = x * (_LOSSY_PEAK / peak)
        return encode_with_ffmpeg(p, x, sample_rate, codec="aac", bit_rate=int(kbps * 1000))
    sf = _soundfile()
    formats = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
    if suffix not in formats:
        raise InputError(f"cannot write {p.name}: {WRITABLE_FORMATS}")
    x = np.clip(np.asarray(frames, dtype=np.float32), -1.0, 1.0)
    if x.ndim == 1:
        x = x[:, None]
    p.parent.mkdir(parents=True, exist_ok=True)
    fmt, subtype = formats[suffix]
    extra = {"compression_level": float(np.clip(1.0 - quality, 0.0, 1.0))} if fmt == "OGG" else {}
    with sf.SoundFile(
        p, "w", samplerate=sample_rate, channels=x.shape[1], format=fmt, subtype=subtype, **extra
    ) as f:
        for i in range(0, x.shape[0], _WRITE_BLOCK):
            f.write(x[i : i + _WRITE_BLOCK])
    return p


def find_stems(folder: str | Path) -> dict[str, Path]:
    """The audio files of a song folder by stem name (``"song"``, ``"drums_1"``, ...).

    Names are matched without regard to case. ``drums`` is left out when numbered drum
    stems exist, and ``vocals`` when numbered vocal stems do.
    """
    folder = Path(folder)
    found: dict[str, Path] = {}
    by_name = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    for stem in (*MUSIC_STEMS, *DRUM_STEMS):
        for suffix in AUDIO_SUFFIXES:
            p = by_name.get(stem + suffix)
            if p is not None:
                found[stem] = p
                break
    if any(s in found for s in DRUM_STEMS[1:]):
        found.pop("drums", None)
    if "vocals_1" in found or "vocals_2" in found:
        found.pop("vocals", None)
    return found


def song_ini_delay_ms(folder: str | Path) -> float | None:
    """song.ini's ``delay`` (milliseconds), or None if there is none (or it is 0)."""
    ini = Path(folder) / "song.ini"
    if not ini.is_file():
        return None
    try:
        text = read_song_ini(ini).get("delay", "")
        value = float(text)
    except (InputError, ValueError):
        return None
    return value if math.isfinite(value) and value != 0 else None


@dataclass
class SongAudio:
    """A song's recording, placed on song time and split into band and drums.

    Attributes
    ----------
    music : np.ndarray [shape=(n, 2), float32]
        Every stem but the drums, summed (the full mix when that is all there is).
    drums : np.ndarray [shape=(m, 2), float32] or None
        The drum stems, summed; None when the folder has none.
    sample_rate : int
    offset_sec : float
        Song second ``t`` sounds at ``t + offset_sec`` in both arrays.
    drums_in_music : bool
        The music is a full mix with the drums in it (no stems to mute).
    sources : dict of str -> Path
        The files read, by stem.
    messages : list of str
        What the players should be told (a file that broke off, a codec not read, the
        drums being in the mix).
    """

    music: np.ndarray
    drums: np.ndarray | None
    sample_rate: int
    offset_sec: float = 0.0
    drums_in_music: bool = False
    sources: dict[str, Path] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def start_sec(self) -> float:
        """The song second at which the recording starts (negative: before song zero)."""
        return -self.offset_sec

    @property
    def end_sec(self) -> float:
        """The song second at which the longest part of the recording ends."""
        n = max(self.music.shape[0], 0 if self.drums is None else self.drums.shape[0])
        return n / self.sample_rate - self.offset_sec

    def resampled(self, sample_rate: int) -> SongAudio:
        """The same recording at another sample rate (itself if it is at that rate)."""
        if sample_rate == self.sample_rate:
            return self
        drums = None if self.drums is None else resample(self.drums, self.sample_rate, sample_rate)
        return replace(
            self,
            music=resample(self.music, self.sample_rate, sample_rate),
            drums=drums,
            sample_rate=int(sample_rate),
        )

    def frames(self, which: str = "music") -> np.ndarray:
        """``music`` or ``drums`` (silence of the music's length when there are none)."""
        if which == "drums":
            return self.drums if self.drums is not None else np.zeros((0, 2), np.float32)
        return self.music


def _sum(parts: list[np.ndarray]) -> np.ndarray:
    n = max(p.shape[0] for p in parts)
    out = np.zeros((n, 2), np.float32)
    for p in parts:
        out[: p.shape[0]] += p
    return out


def _read_stems(
    files: dict[str, Path], sample_rate: int, messages: list[str], *, strict: bool
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for stem, path in files.items():
        try:
            frames, broke = read_audio_file(path, sample_rate)
        except InputError as exc:
            if strict:
                raise
            messages.append(str(exc))
            continue
        if broke is not None:
            m, s = divmod(broke, 60)
            messages.append(f"{path.name} breaks off at {int(m)}:{s:04.1f}: the music stops there")
        if frames.shape[0]:
            out[stem] = frames
    return out


def load_song_audio(
    source: str | Path | dict[str, Path],
    *,
    chart: Chart | None = None,
    audio_offset_ms: float = 0.0,
    sample_rate: int = 44_100,
    full_mix: bool | None = None,
) -> SongAudio | None:
    """Read a song's recording and place it on song time.

    Parameters
    ----------
    source : str, Path or dict of stem -> Path
        A song folder or ``.sng`` song package, one audio file (``--audio FILE``, taken
        as the full mix), or stems by name.
    chart : Chart, optional
        Its ``Offset`` (``metadata["offset_sec"]``) places the audio when song.ini gives
        no ``delay``.
    audio_offset_ms : float
        Added to the offset (``--audio-offset``): where song time zero falls in the file.
    sample_rate : int
        Everything is resampled to this rate.
    full_mix : bool, optional
        Whether ``song`` has the drums in it; by default, when it is there and there are
        no drum stems (stems of the band alone, a guitar and a bass, have no drums).

    Returns
    -------
    SongAudio or None
        None when no file could be read: the session plays with the click.

    Raises
    ------
    InputError
        A single audio file (not a folder) that cannot be decoded: one line naming it
        and the formats that work.
    """
    return _song_audio(
        source,
        chart=chart,
        audio_offset_ms=audio_offset_ms,
        sample_rate=sample_rate,
        full_mix=full_mix,
    )[0]


def _song_audio(
    source: str | Path | dict[str, Path],
    *,
    chart: Chart | None = None,
    audio_offset_ms: float = 0.0,
    sample_rate: int = 44_100,
    full_mix: bool | None = None,
) -> tuple[SongAudio | None, list[str]]:
    """:func:`load_song_audio`, and what reading it said (why no file could be read,
    when none could)."""
    messages: list[str] = []
    folder: Path | None = None
    strict = False
    if isinstance(source, dict):
        files = dict(source)
    else:
        p = song_folder(source)
        if p.is_dir():
            folder = p
            files = find_stems(p)
        elif p.is_file():
            files, strict = {"song": p}, True
        else:
            raise NotFoundError(f"no song folder or audio file at {p}")
    read = _read_stems(files, sample_rate, messages, strict=strict)
    music = [read[s] for s in MUSIC_STEMS if s in read]
    drums = [read[s] for s in DRUM_STEMS if s in read]
    if not music and not drums:
        return None, messages
    offset = recording_offset_sec(folder, chart, audio_offset_ms=audio_offset_ms)
    if full_mix is None:
        full_mix = "song" in read and not drums and not any(files.get(s) for s in DRUM_STEMS)
    if full_mix:
        messages.append("the recording is a full mix: the drums are in it")
    found = SongAudio(
        music=_sum(music) if music else np.zeros((0, 2), np.float32),
        drums=_sum(drums) if drums else None,
        sample_rate=sample_rate,
        offset_sec=offset,
        drums_in_music=full_mix,
        sources={s: files[s] for s in read},
        messages=messages,
    )
    return found, messages


def recording_offset_sec(
    folder: str | Path | None, chart: Chart | None, *, audio_offset_ms: float = 0.0
) -> float:
    """Where song time zero falls in a song's recording, in seconds (see the module
    docstring): song.ini's ``delay`` in ``folder``, else the chart's ``Offset``, plus
    ``audio_offset_ms``."""
    delay = song_ini_delay_ms(folder) if folder is not None else None
    offset = delay / 1000.0 if delay is not None else _chart_offset(chart)
    return offset + audio_offset_ms / 1000.0


def _chart_offset(chart: Chart | None) -> float:
    if chart is None:
        return 0.0
    try:
        return float(chart.metadata.get("offset_sec", "0") or 0.0)
    except ValueError:
        return 0.0


def builtin_audio_path(name: str) -> Path | None:
    """The shipped recording of a built-in song (``songs/<name>.ogg``), if it has one."""
    p = Path(str(resources.files("cymbalism.songs") / f"{name.strip().lower()}.ogg"))
    return p if p.is_file() else None


def song_audio_for(
    spec: str | Path,
    chart: Chart | None = None,
    *,
    audio: str | Path | None = None,
    audio_offset_ms: float = 0.0,
    sample_rate: int = 44_100,
) -> tuple[SongAudio | None, list[str]]:
    """The recording that goes with anything ``--chart`` takes, and what to tell players.

    ``audio`` (``--audio FILE`` or a folder) wins; otherwise a built-in song's shipped
    recording, a song folder's stems, or the stems beside a chart file.

    Returns
    -------
    audio : SongAudio or None
        None when there is no readable audio: the song plays without its recording.
    messages : list of str

    Raises
    ------
    InputError
        If ``audio`` was given and holds no readable audio: what was asked for is not
        there, and the message says why.
    """
    if audio is not None:
        found, said = _song_audio(
            audio, chart=chart, audio_offset_ms=audio_offset_ms, sample_rate=sample_rate
        )
        if found is None:
            why = "; ".join(said) or "no audio files in it"
            raise InputError(f"--audio {audio}: no readable audio ({why})")
        return found, found.messages
    from cymbalism import songs

    text = str(spec)
    p = Path(text).expanduser()
    if songs.names_song(text):
        path = builtin_audio_path(text)
        if path is None:
            return None, [f"{text} has no recording: playing with the click"]
        got = load_song_audio(
            {"song": path},
            chart=chart,
            audio_offset_ms=audio_offset_ms,
            sample_rate=sample_rate,
            full_mix=False,
        )
        return got, [] if got is None else got.messages
    here = song_folder(p)  # a package's unpacked folder; anything else as it is
    folder = here if here.is_dir() else here.parent
    if not folder.is_dir() or not find_stems(folder):
        return None, [f"no audio beside {p.name}: playing with the click"]
    got, said = _song_audio(
        folder, chart=chart, audio_offset_ms=audio_offset_ms, sample_rate=sample_rate
    )
    if got is None:
        return None, [*said, f"{folder.name}: no readable audio, so no recording plays"]
    return got, got.messages


def song_music(spec: str | Path, chart: Chart) -> Music | None:
    """The song's recording as :func:`song_audio_for` finds it, as a take may hold it
    (played aloud): every stem but the drums (the full mix when that is all there is),
    and the drum stems apart, mono; None when the song has no recording."""
    from cymbalism.io.audio.bleed import Music

    found, _ = song_audio_for(spec, chart)
    if found is None or not found.music.shape[0]:
        return None
    drums = None if found.drums is None else found.drums.mean(axis=1)
    return Music(found.music.mean(axis=1), found.sample_rate, found.offset_sec, drums)


def music_for_takes(
    files: Sequence[str | Path], spec: str | Path | None, chart: Chart
) -> Music | None:
    """The song's recording to look for in the recorded takes among ``files`` (``spec``
    is what ``--chart`` was given); None when none is a recording or the song has no
    recording."""
    from cymbalism.io.audio import AUDIO_SUFFIXES
    from cymbalism.io.performance import split_channel

    if spec is None or not any(
        split_channel(str(f))[0].suffix.lower() in AUDIO_SUFFIXES for f in files
    ):
        return None
    return song_music(spec, chart)


#: Where a chart's recording is, noted in its metadata so that a stored session keeps it:
#: the song folder or chart file it was read from, ``--audio`` and ``--audio-offset``.
_SONG_PATH, _AUDIO_PATH, _AUDIO_OFFSET = "song_path", "audio_path", "audio_offset_ms"


def with_audio_source(
    chart: Chart,
    spec: str | Path,
    *,
    audio: str | Path | None = None,
    audio_offset_ms: float = 0.0,
) -> Chart:
    """The chart with where its recording is noted in its metadata (the store keeps it).

    ``spec`` is what ``--chart`` was given: a built-in song's name is noted already
    (``metadata["name"]``); a chart file or song folder is noted by its full path.
    """
    meta = dict(chart.metadata)
    p = Path(spec).expanduser()
    if p.exists():
        meta[_SONG_PATH] = str(p.resolve())
    if audio is not None:
        meta[_AUDIO_PATH] = str(Path(audio).expanduser().resolve())
    if audio_offset_ms:
        meta[_AUDIO_OFFSET] = repr(float(audio_offset_ms))
    return replace(chart, metadata=meta)


def audio_for_chart(
    chart: Chart,
    *,
    audio: str | Path | None = None,
    audio_offset_ms: float | None = None,
    sample_rate: int = 44_100,
) -> tuple[SongAudio | None, list[str]]:
    """The recording of a stored session's song, as :func:`with_audio_source` noted it.

    ``audio`` and ``audio_offset_ms`` (given now) win over what was noted. A song that
    was a built-in one gets its shipped recording.
    """
    meta = chart.metadata
    spec = meta.get(_SONG_PATH) or meta.get("name") or chart.title
    given = audio is not None
    if audio is None and meta.get(_AUDIO_PATH):
        audio = meta[_AUDIO_PATH]
    if audio_offset_ms is None:
        try:
            audio_offset_ms = float(meta.get(_AUDIO_OFFSET, "0") or 0.0)
        except ValueError:
            audio_offset_ms = 0.0
    if audio is None and not Path(str(spec)).exists():
        from cymbalism import songs

        if not songs.has_song(str(spec)):
            return None, [f"{chart.title}: the recording's place was not kept; give --audio"]
    try:
        return song_audio_for(
            spec, chart, audio=audio, audio_offset_ms=audio_offset_ms, sample_rate=sample_rate
        )
    except NotFoundError as exc:
        if given:
            raise
        # the folder or file noted has moved since
        return None, [f"{exc}: rendering without the recording (give --audio)"]
