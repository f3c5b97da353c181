"""One way to load a player's performance: a MIDI file or an audio recording.

Every command that takes a performance (``cymbalism analyze``, ``tempo``, ...) goes
through :func:`load_performance`, so a duet can mix an e-kit's MIDI file with a
recording of an acoustic kit. One channel of a multi-channel recording is chosen with a
suffix: ``duet.wav:L`` / ``duet.wav:R`` (or ``:1``, ``:2``, ...), so the two channels of
a stereo file can be two players on one timeline; recordings made on separate devices
(a phone each) are put on one clock by their sound with :func:`on_one_clock`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.hits import Hits

if TYPE_CHECKING:
    from cymbalism.io.audio import AudioPerformance
    from cymbalism.io.audio.align import ClockAlignment
    from cymbalism.io.audio.bleed import Music
    from cymbalism.io.midi import MidiPerformance, NoteOnsets

__all__ = [
    "MIDI_SUFFIXES",
    "default_names",
    "leave_out_other_kits",
    "load_performance",
    "music_agrees",
    "music_start",
    "on_one_clock",
    "split_channel",
]

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
        head, colon, tail = text.rpartition(":")
        if colon and tail.strip() == "0" and Path(head).exists():
            raise InputError(
                f"{text}: channels and parts are numbered from 1 ({head}:1 is the first)"
            )
        return Path(text), None
    ch = m.group("ch").upper()
    return Path(m.group("path")), {"L": 0, "R": 1}.get(ch, int(ch) - 1 if ch.isdigit() else 0)


def default_names(
    performances: Sequence[MidiPerformance | AudioPerformance | NoteOnsets],
) -> list[str]:
    """Player names when none are given: a MIDI drum part's track name (``duet.mid:2``
    read from the track "Ben"), else the file's name without its suffix, with the
    channel or part read (``duet L``); a name that comes twice gets its number.

    Files read whole whose names differ only between words they share (``Nara take 3 -
    Ana.wav``, ``Nara take 3 - Ben.wav``) are named by what differs (``Ana``, ``Ben``).
    """
    from cymbalism.io.midi import MidiPerformance

    whole = [p.path is not None and p.name == p.path.name for p in performances]
    if len(performances) > 1 and all(whole):
        stems = [p.path.stem for p in performances]  # type: ignore[union-attr]
        if len(set(stems)) == len(stems):
            return _what_differs(stems)
    out = []
    for perf in performances:
        if isinstance(perf, MidiPerformance) and perf.part is not None:
            track = perf.drum_parts[perf.part].track.strip()
            if track:
                out.append(track)
                continue
        if perf.path is None:
            out.append(perf.name)
            continue
        which = perf.name.removeprefix(perf.path.name).removeprefix(":")  # L, R, 2, ...
        out.append(f"{perf.path.stem} {which}" if which else perf.path.stem)
    if len(set(out)) != len(out):
        out = [f"{name} ({k + 1})" for k, name in enumerate(out)]
    return out


#: Where a file name's words part: a word shared by all the names ends before one.
_WORD_BREAK = re.compile(r"[\s_\-.,;()\[\]]+")


def _shared_start(names: list[str]) -> str:
    """The characters all ``names`` start with."""
    n = 0
    for chars in zip(*names, strict=False):
        if len(set(chars)) > 1:
            break
        n += 1
    return names[0][:n]


def _what_differs(names: list[str], *, shortest: int = 3) -> list[str]:
    """Distinct names without the words at their start and end that all of them share,
    cut only between words, and only if every name keeps ``shortest`` characters."""
    head = _shared_start(names)
    tail = _shared_start([n[::-1] for n in names])[::-1]
    # cut after the last break within the shared start, before the first in the shared end
    starts = [m.end() for m in _WORD_BREAK.finditer(head)]
    cut_head = starts[-1] if starts else 0
    ends = [m.start() for m in _WORD_BREAK.finditer(tail)]
    cut_tail = len(tail) - ends[0] if ends else 0
    short = [n[cut_head : len(n) - cut_tail] for n in names]
    if all(len(n) >= shortest for n in short) and len(set(short)) == len(short):
        return short
    return list(names)


def music_start(performances: Sequence[object]) -> tuple[str, float] | None:
    """Where song time zero sounds in the first recording that heard the song's recording
    (:attr:`~cymbalism.io.audio.AudioPerformance.music`), with that recording's name; None
    when none did. The performances are taken to share one clock (after
    :func:`on_one_clock`, give only the first: the others' music is on their own clocks)."""
    for perf in performances:
        found = getattr(perf, "music", None)
        if found is not None:
            return perf.name, float(found.song_zero_sec)  # type: ignore[attr-defined]
    return None


#: The song's recording places the song where the hits place it within this much: it
#: measures each player's mean timing against the music, where the hits' place takes it as
#: zero. Further apart, the recording repeats itself and the hits chose the repeat.
MUSIC_AGREES_SEC = 0.15


def music_agrees(music_start_sec: float, hits_start_sec: float) -> bool:
    """Whether the song's place found from its recording (:func:`music_start`) is the one
    the hits choose (within :data:`MUSIC_AGREES_SEC`), not one of its repeats."""
    return abs(music_start_sec - hits_start_sec) <= MUSIC_AGREES_SEC


def load_performance(
    spec: str | Path,
    *,
    kit: str | None = None,
    progress: bool = False,
    music: Music | None = None,
) -> MidiPerformance | AudioPerformance:
    """Read one player's hits from a MIDI file or an audio recording, by its suffix.

    Parameters
    ----------
    spec : str or Path
        A ``.mid`` file, or a recording (WAV, FLAC, Ogg, MP3, M4A, MP4, ...), optionally
        with a channel suffix (``take.wav:L``); for MIDI, a drum part's number
        (``duet.mid:2``: the second kit recorded into the file).
    kit : str, optional
        For MIDI, the e-kit's note map (:func:`cymbalism.io.kits.load_kit`); for audio,
        a calibrated acoustic kit (:func:`cymbalism.io.audio.load_kit_templates`).
    progress : bool
        Show a progress bar while a long recording is analysed.
    music : Music, optional
        For a recording, the song it was played along to: its recording, when heard in
        the take, is taken out before the hits are found (see
        :func:`~cymbalism.io.audio.read_audio`).

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
        If the suffix is neither MIDI nor audio, L or R is asked of a MIDI file, or the
        file cannot be read.
    """
    path, channel = split_channel(spec)
    path = path.expanduser()
    suffix = path.suffix.lower()
    from cymbalism.io.audio import AUDIO_SUFFIXES
    from cymbalism.io.audio.files import READABLE_FORMATS

    if suffix in MIDI_SUFFIXES:
        if channel is not None and not str(spec).rsplit(":", 1)[1].isdigit():
            raise InputError(
                f"{spec}: L and R are a recording's channels; a MIDI file's drum parts are "
                f"numbered ({path.name}:1, {path.name}:2)"
            )
        from cymbalism.io.midi import read_midi

        return read_midi(path, kit=kit, part=channel)
    if suffix in AUDIO_SUFFIXES:
        from cymbalism.io.audio import read_audio

        return read_audio(path, kit=kit, channel=channel, progress=progress, music=music)
    if not path.exists():
        raise NotFoundError(f"no such file: {path}")
    raise InputError(
        f"{path}: cannot tell what {suffix or 'a file without a suffix'} holds; give a MIDI "
        f"file ({', '.join(sorted(MIDI_SUFFIXES))}) or a recording "
        f"({READABLE_FORMATS})"
    )


def on_one_clock(
    performances: Sequence[MidiPerformance | AudioPerformance],
) -> tuple[list[MidiPerformance | AudioPerformance], list[ClockAlignment | None]]:
    """Recordings made on separate devices, put on the first one's clock by their sound.

    Each recording after the first is lined up with it by the sound both microphones
    heard (:func:`cymbalism.io.audio.align.align_recordings`: the offset between the
    starts, the drift between the two clocks, the room between the kits), and its hits
    are moved onto the first recording's clock. Channels of one file share its clock
    already.

    Returns
    -------
    performances : list
        The same performances, each other recording's hits on the first one's clock.
    alignments : list of ClockAlignment or None
        How each was moved (None for the first, and for a channel of the first's file).

    Raises
    ------
    InputError
        If there are fewer than two performances, a performance is a MIDI file (it has
        no sound to line up by), or two recordings share too little sound.
    """
    from cymbalism.io.audio import AudioPerformance
    from cymbalism.io.audio.align import align_recordings, read_mono

    if len(performances) < 2:
        raise InputError("--align lines up two or more recordings: give each player's")
    for perf in performances:
        if not isinstance(perf, AudioPerformance):
            name = perf.path.name if perf.path is not None else "a performance"
            raise InputError(
                f"{name} is a MIDI file: recordings are lined up by their sound, and a MIDI "
                "file has none (an e-kit and a recording need one clock)"
            )
    first = performances[0]
    assert isinstance(first, AudioPerformance)
    out: list[MidiPerformance | AudioPerformance] = [first]
    alignments: list[ClockAlignment | None] = [None]
    sound = None
    for perf in performances[1:]:
        assert isinstance(perf, AudioPerformance)
        if perf.path.resolve() == first.path.resolve():
            out.append(perf)
            alignments.append(None)
            continue
        if sound is None:  # the first recording is read once, however many follow
            sound = read_mono(first.path, first.channel)
        clock = align_recordings(
            first.path,
            perf.path,
            other_channel=perf.channel,
            reference_sound=sound,
        )
        hits = perf.hits
        moved = Hits(clock.to_reference(hits.onset_sec), hits.lane, hits.velocity)
        out.append(replace(perf, hits=moved))
        alignments.append(clock)
    return out, alignments


def leave_out_other_kits(
    performances: Sequence[MidiPerformance | AudioPerformance],
    alignments: Sequence[ClockAlignment | None],
) -> tuple[list[MidiPerformance | AudioPerformance], dict[str, int]]:
    """Take out of each recording the hits that are the other kit, heard across the room.

    Each phone hears the other kit too, the room's delay later and quieter; the detector
    finds those sounds as hits (:func:`cymbalism.io.audio.align.other_kit` tells them).
    Each recording after the first is compared with the first, both with their hits as
    read.

    Parameters
    ----------
    performances, alignments
        As :func:`on_one_clock` returns them.

    Returns
    -------
    performances : list
        The same performances without those hits.
    left_out : dict of str -> int
        How many hits each recording lost, by its name.
    """
    from cymbalism.io.audio.align import other_kit

    drop = [np.zeros(len(p.hits), bool) for p in performances]
    first = performances[0]
    for i, (perf, clock) in enumerate(zip(performances, alignments, strict=True)):
        if clock is None or i == 0:
            continue
        delay = clock.room_delay_sec
        drop[0] |= other_kit(first.hits, perf.hits, delay)
        drop[i] |= other_kit(perf.hits, first.hits, delay)
    out: list[MidiPerformance | AudioPerformance] = []
    left_out: dict[str, int] = {}
    for perf, gone in zip(performances, drop, strict=True):
        if gone.any():
            perf = replace(perf, hits=perf.hits.select(~gone))
            left_out[perf.name] = int(gone.sum())
        out.append(perf)
    return out, left_out
