"""What the studio page plays: the sampled kit, each song's recording, and renders.

The page decodes and plays the sound itself (Web Audio); the server only says which
files make up a song's recording and where song time zero falls in them, and serves
those files as they are. The page sums the stems, decodes them at its own sample rate
(the browser resamples), mutes the drum stems unless guide drums are asked for, and
places the recording on song time with the bar layout the engine sends.

- :func:`song_audio_info` describes a song's recording for the page
  (``GET /api/songs/{name}/audio``): the music stems, the drum stems, the offset
  (song.ini ``delay``, else the chart's ``Offset``, as :mod:`cymbalism.sound.audio` reads
  them), whether the music is a full mix with the drums in it, and what to tell people.
- :func:`audio_file` finds one of those files by its stem name
  (``GET /api/songs/{name}/audio/{stem}``); nothing else of a song folder is served.
- :func:`render_session_file` renders a stored session (``cymbalism render``) for the
  end screen's download.
- :func:`kit_pack` gives the sampled kit as the page loads it: its description and every
  sample's file in one body (one request rather than thirty; each studio address has a
  rate of requests).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import Chart

__all__ = [
    "RENDER_FORMATS",
    "SongAudioInfo",
    "audio_file",
    "kit_pack",
    "render_session_file",
    "song_audio_info",
    "song_audio_sources",
]

#: Files the end screen offers, by suffix, with their media type.
RENDER_FORMATS = {
    "ogg": "audio/ogg",
    "m4a": "audio/mp4",
    "flac": "audio/flac",
    "wav": "audio/wav",
}


@dataclass
class SongAudioInfo:
    """A song's recording as the page loads it.

    Attributes
    ----------
    music : dict of str -> Path
        The stems that are the band (``song``, ``guitar``, ...), by stem name.
    drums : dict of str -> Path
        The drum stems (``drums``, ``drums_1``, ...).
    offset_sec : float
        Song second ``t`` sounds at ``t + offset_sec`` in every file.
    full_mix : bool
        The music is one file with the drums in it (nothing to mute).
    messages : list of str
        What the page should say (no recording, a file that cannot be read).
    """

    music: dict[str, Path] = field(default_factory=dict)
    drums: dict[str, Path] = field(default_factory=dict)
    offset_sec: float = 0.0
    full_mix: bool = False
    messages: list[str] = field(default_factory=list)

    @property
    def has_music(self) -> bool:
        return bool(self.music or self.drums)

    def public(self, url: Callable[[str], str]) -> dict[str, Any]:
        """JSON for the page; ``url(stem)`` gives the address of a stem's file."""
        return {
            "music": [url(stem) for stem in self.music],
            "drums": [url(stem) for stem in self.drums],
            "offset_sec": round(self.offset_sec, 6),
            "full_mix": self.full_mix,
            "has_music": self.has_music,
            "messages": list(self.messages),
        }


def song_audio_sources(name: str, folder: Path | None) -> dict[str, Path]:
    """The audio files of a song by stem: a built-in song's shipped recording, or the
    stems of its song folder (``folder``)."""
    from cymbalism.sound.audio import builtin_audio_path, find_stems

    if folder is None:
        path = builtin_audio_path(name)
        return {} if path is None else {"song": path}
    return find_stems(folder) if folder.is_dir() else {}


def _readable(path: Path) -> str | None:
    """Why the file cannot be played, or None (only its header is read)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):
        return f"{path.name}: not an audio file that can be read (.ogg, .opus, .mp3, .wav, .flac)"
    if info.frames == 0:
        return f"{path.name}: holds no sound"
    return None


def song_audio_info(
    name: str, chart: Chart, folder: Path | None = None, *, audio_offset_ms: float = 0.0
) -> SongAudioInfo:
    """Describe the recording of a song for the page.

    Parameters
    ----------
    name : str
        The song's name in the studio (a built-in song when ``folder`` is None).
    chart : Chart
        Its ``Offset`` places the recording when song.ini gives no ``delay``.
    folder : Path, optional
        The song folder of a song from a library.
    audio_offset_ms : float
        Added to the offset.

    Returns
    -------
    SongAudioInfo
        With no files (and a message saying the click plays alone) when the song has no
        readable audio.
    """
    from cymbalism.sound.audio import DRUM_STEMS, recording_offset_sec

    files = song_audio_sources(name, folder)
    messages = []
    readable = {}
    for stem, path in files.items():
        why = _readable(path)
        if why is None:
            readable[stem] = path
        else:
            messages.append(why)
    drums = {s: p for s, p in readable.items() if s in DRUM_STEMS}
    music = {s: p for s, p in readable.items() if s not in DRUM_STEMS}
    info = SongAudioInfo(
        music=music,
        drums=drums,
        offset_sec=recording_offset_sec(folder, chart, audio_offset_ms=audio_offset_ms),
        full_mix=folder is not None and bool(music) and not any(s in files for s in DRUM_STEMS),
        messages=messages,
    )
    if not info.has_music:
        info.messages.append("no readable audio for this song: the click plays alone")
    elif info.full_mix:
        info.messages.append("the recording is a full mix: its drums are in it")
    return info


def audio_file(info: SongAudioInfo, stem: str) -> Path:
    """The file of one stem of ``info``.

    Raises
    ------
    NotFoundError
        If the song has no such stem.
    """
    path = info.music.get(stem) or info.drums.get(stem)
    if path is None:
        raise NotFoundError(f"this song has no {stem!r} audio")
    return path


def render_session_file(
    session: Any, audio: Any, fmt: str, *, gains: dict[str, float] | None = None
) -> Path:
    """Render a stored session to a temporary file (``render`` from the sound package).

    Parameters
    ----------
    session : cymbalism.model.session.Session
    audio : cymbalism.sound.audio.SongAudio or None
    fmt : str
        ``ogg``, ``m4a``, ``flac`` or ``wav``.
    gains : dict, optional
        Channel gains (the page's mixer).

    Returns
    -------
    Path
        The file; the caller removes it.
    """
    from cymbalism.sound.audio import write_audio
    from cymbalism.sound.render import render_session

    if fmt not in RENDER_FORMATS:
        raise InputError(f"a render is one of {', '.join(RENDER_FORMATS)}, got {fmt!r}")
    rendered = render_session(session, audio, gains=gains)
    handle, name = tempfile.mkstemp(suffix=f".{fmt}", prefix="cymbalism-duet-")
    import os

    os.close(handle)
    return write_audio(name, rendered.frames, rendered.sample_rate)


def kit_pack() -> tuple[dict[str, Any], bytes]:
    """The sampled kit in one piece: ``kit.json`` with ``pack`` (each file's
    ``[offset, length]`` in the body, by name) and the body, the files one after another
    as they are (FLAC)."""
    from cymbalism.sound.kit import KIT_DIR, kit_manifest

    spec = kit_manifest()
    names = [f for lane in spec["lanes"].values() for f in lane["files"]]  # type: ignore[attr-defined]
    names += list(spec["clicks"].values())  # type: ignore[attr-defined]
    body, where = bytearray(), {}
    for name in dict.fromkeys(names):
        data = (KIT_DIR / name).read_bytes()
        where[name] = [len(body), len(data)]
        body += data
    return {**spec, "pack": where}, bytes(body)
