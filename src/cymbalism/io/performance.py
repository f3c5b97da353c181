"""One way to load a player's performance: a MIDI file or an audio recording.

Every command that takes a performance (``cymbalism analyze``, ``tempo``, ...) goes
through :func:`load_performance`, so a duet can mix an e-kit's MIDI file with a
recording of an acoustic kit. One channel of a multi-channel recording is chosen with a
suffix: ``duet.wav:L`` / ``duet.wav:R`` (or ``:1``, ``:2``, ...), so the two channels of
a stereo file can be two players on one timeline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from cymbalism.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from cymbalism.io.audio import AudioPerformance
    from cymbalism.io.midi import MidiPerformance

__all__ = ["MIDI_SUFFIXES", "load_performance", "split_channel"]

#: File suffixes read as Standard MIDI Files.
MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf"})

_CHANNEL = re.compile(r"^(?P<path>.+):(?P<ch>[LlRr]|[1-9][0-9]?)$")


def split_channel(spec: str | Path) -> tuple[Path, int | None]:
    """Split ``"take.wav:R"`` into the path and a 0-based channel (``None`` if no suffix).

    A name that exists as given is never split, so files whose names contain a colon
    still load.
    """
    text = str(spec)
    m = _CHANNEL.match(text)
    if m is None or Path(text).exists():
        return Path(text), None
    ch = m.group("ch").upper()
    return Path(m.group("path")), {"L": 0, "R": 1}.get(ch, int(ch) - 1 if ch.isdigit() else 0)


def load_performance(
    spec: str | Path,
    *,
    kit: str | None = None,
    progress: bool = False,
) -> MidiPerformance | AudioPerformance:
    """Read one player's hits from a MIDI file or an audio recording, by its suffix.

    Parameters
    ----------
    spec : str or Path
        A ``.mid`` file, or a recording (WAV, FLAC, Ogg, MP3, M4A, MP4, ...), optionally
        with a channel suffix (``take.wav:L``).
    kit : str, optional
        For MIDI, the e-kit's note map (:func:`cymbalism.io.kits.load_kit`); for audio,
        a calibrated acoustic kit (:func:`cymbalism.io.audio.load_kit_templates`).
    progress : bool
        Show a progress bar while a long recording is analysed.

    Returns
    -------
    MidiPerformance or AudioPerformance
        Both have ``hits`` (:class:`~cymbalism.model.hits.Hits`), ``tempo_map`` (``None``
        for recordings, which carry none) and ``path``.

    Raises
    ------
    NotFoundError
        If the file does not exist.
    InputError
        If the suffix is neither MIDI nor audio, a channel is asked of a MIDI file, or
        the file cannot be read.
    """
    path, channel = split_channel(spec)
    path = path.expanduser()
    suffix = path.suffix.lower()
    from cymbalism.io.audio import AUDIO_SUFFIXES
    from cymbalism.io.audio.files import READABLE_FORMATS

    if suffix in MIDI_SUFFIXES:
        if channel is not None:
            raise InputError(f"{spec}: a channel suffix applies to audio recordings, not MIDI")
        from cymbalism.io.midi import read_midi

        return read_midi(path, kit=kit)
    if suffix in AUDIO_SUFFIXES:
        from cymbalism.io.audio import read_audio

        return read_audio(path, kit=kit, channel=channel, progress=progress)
    if not path.exists():
        raise NotFoundError(f"no such file: {path}")
    raise InputError(
        f"{path}: cannot tell what {suffix or 'a file without a suffix'} holds; give a MIDI "
        f"file ({', '.join(sorted(MIDI_SUFFIXES))}) or a recording "
        f"({READABLE_FORMATS})"
    )
