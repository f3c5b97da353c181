"""The built-in songs' music: an arrangement of our own, written as data beside the drums.

A song file's ``[music]`` table gives the instruments and, per section of the song,
the chords and how each instrument plays them. Everything is original writing::

    [music]
    key = "A minor"
    instruments = { bass = 38, keys = 4, pad = 48, lead = 80 }   # General MIDI programs

    [music.sections.verse]
    chords = ["Am7", "Dm7", "G7", "Cmaj7"]    # one chord per bar, cycled over the section
    bass = "R.8.R.8.R.8.R.8."                 # one bar (or several, split by |), cycled
    keys = "--x.--x.--x.--x."
    lead = "E5 - - - D5 - C5 - | A4 - - - . . . ."

A section of the song (``verse 2``) takes the music of its own name, else of its name
without the number (``verse``), else ``default``. Steps divide a bar evenly (16 in 4/4
are 16th notes, 12 are 8th-note triplets, 6 in 3/4 are 8th notes).

- ``chords``: a root (``A``, ``F#``, ``Bb``), a quality (none for major, ``m``, ``7``,
  ``m7``, ``maj7``, ``6``, ``m6``, ``9``, ``m9``, ``maj9``, ``add9``, ``sus2``,
  ``sus4``, ``7sus4``, ``dim``, ``aug``, ``5`` for a power chord) and an optional bass
  note (``D/F#``). Two chords in one bar share it: ``"Am G"``.
- ``bass``: per step ``R`` the root (or the slash bass), ``2 3 4 5 6 7`` the chord's
  second, third, fourth, fifth, sixth and seventh above it, ``8`` the root an octave up,
  ``-`` hold, ``.`` silence.
- ``keys``, ``pad``: ``x`` strikes the chord (voiced close to the last one), ``-`` holds
  it, ``.`` releases it.
- ``lead``: one token per step: a note (``E5``, ``C#4``), ``-`` hold, ``.`` rest.

``ending`` sections ring on a bar past the end of the song.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from cymbalism.errors import InputError

__all__ = [
    "MusicNote",
    "arrangement",
    "arrangement_midi",
    "chord_pitch_classes",
    "has_music",
    "parse_chord",
]

_PARTS = {"bass": 0, "keys": 1, "pad": 2, "lead": 3}
_VELOCITY = {"bass": 92, "keys": 72, "pad": 58, "lead": 88}
_QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "m": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "m7": (0, 3, 7, 10),
    "maj7": (0, 4, 7, 11),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 14),
    "m9": (0, 3, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "add9": (0, 4, 7, 14),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "7sus4": (0, 5, 7, 10),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "5": (0, 7, 12),
}
_NOTE = re.compile(r"^([A-G])([#b]?)(-?\d)?$")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True, slots=True)
class MusicNote:
    """One note of the arrangement: ``part`` plays ``pitch`` from ``qn`` for ``dur_qn``."""

    part: str
    qn: float
    dur_qn: float
    pitch: int
    velocity: int


def _pc(letter: str, accidental: str) -> int:
    return (_PC[letter] + {"#": 1, "b": -1, "": 0}[accidental]) % 12


def parse_chord(symbol: str) -> tuple[int, tuple[int, ...], int]:
    """A chord symbol as (root pitch class, intervals above the root, bass pitch class).

    Raises
    ------
    InputError
        If the symbol is not one this module knows (the message lists the qualities).
    """
    m = re.fullmatch(r"([A-G])([#b]?)([a-z0-9]*)(?:/([A-G])([#b]?))?", symbol.strip())
    if m is None or m.group(3) not in _QUALITIES:
        raise InputError(
            f"unknown chord {symbol!r}: a root A-G (with # or b), then one of "
            f"{', '.join(repr(q) for q in _QUALITIES)}, then optionally /BASS"
        )
    root = _pc(m.group(1), m.group(2))
    bass = _pc(m.group(4), m.group(5)) if m.group(4) else root
    return root, _QUALITIES[m.group(3)], bass


def chord_pitch_classes(symbol: str) -> set[int]:
    """The pitch classes a chord sounds (its bass note included)."""
    root, intervals, bass = parse_chord(symbol)
    return {(root + i) % 12 for i in intervals} | {bass}


def _note_number(token: str) -> int:
    m = _NOTE.match(token)
    if m is None or m.group(3) is None:
        raise InputError(f"unknown note {token!r} in a lead line (write E5, C#4, Bb3)")
    return 12 * (int(m.group(3)) + 1) + _PC[m.group(1)] + {"#": 1, "b": -1, "": 0}[m.group(2)]


def _bass_pitch(char: str, root: int, intervals: tuple[int, ...], bass: int) -> int:
    base = 28 + (root - 28) % 12  # the root between E1 and D#2
    if char == "R":
        return 28 + (bass - 28) % 12
    if char == "8":
        return base + 12
    third = next((i for i in intervals if i in (3, 4)), 4 if 5 not in intervals else 5)
    fifth = next((i for i in intervals if i in (6, 7, 8)), 7)
    seventh = next((i for i in intervals if i in (10, 11)), 10)
    step = {"2": 2, "3": third, "4": 5, "5": fifth, "6": 9, "7": seventh}.get(char)
    if step is None:
        raise InputError(f"unknown bass step {char!r} (use R 2 3 4 5 6 7 8 - .)")
    return base + step


def _voice(pcs: list[int], previous: list[int] | None) -> list[int]:
    """A close voicing of the pitch classes near the last chord (or around middle C)."""
    target = float(np.mean(previous)) if previous else 62.0
    best: list[int] = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        for low in range(52, 68):
            if low % 12 != order[0]:
                continue
            notes = [low]
            for pc in order[1:]:
                nxt = notes[-1] + 1
                while nxt % 12 != pc:
                    nxt += 1
                notes.append(nxt)
            if not best or abs(np.mean(notes) - target) < abs(np.mean(best) - target):
                best = notes
    return best


def _bars(spec: str) -> list[list[str]]:
    """A pattern split into bars of steps (characters, or tokens for a lead line)."""
    out = []
    for bar in spec.split("|"):
        bar = bar.strip()
        steps = bar.split() if " " in bar else list(bar)
        if steps:
            out.append(steps)
    return out


def _events(steps: list[str], start_qn: float, bar_qn: float) -> list[tuple[float, float, str]]:
    """(qn, duration, token) for each sounding step; ``-`` holds, ``.`` and the bar end stop."""
    step = bar_qn / len(steps)
    out: list[tuple[float, float, str]] = []
    for i, tok in enumerate(steps):
        if tok in {"-", "."}:
            continue
        j = i + 1
        while j < len(steps) and steps[j] == "-":
            j += 1
        out.append((start_qn + i * step, (j - i) * step, tok))
    return out


def _section_music(sections: dict[str, Any], name: str) -> dict[str, Any]:
    key = name.strip().lower()
    for candidate in (key, re.sub(r"\s*\d+$", "", key), "default"):
        if candidate in sections:
            return dict(sections[candidate])
    raise InputError(f"the music has nothing for the section {name!r} (nor a default)")


def _song_doc(name: str) -> dict[str, Any]:
    from cymbalism.songs import _song_files

    files = _song_files()
    if name not in files:
        raise InputError(f"no built-in song {name!r}")
    return tomllib.loads(files[name].read_text(encoding="utf-8"))


def has_music(name: str) -> bool:
    """Whether a built-in song has an arrangement (a ``[music]`` table)."""
    return "music" in _song_doc(name)


@cache
def arrangement(name: str) -> tuple[MusicNote, ...]:
    """Every note of a built-in song's arrangement, in quarter notes, sorted.

    Raises
    ------
    InputError
        If the song has no ``[music]`` table or it cannot be read.
    """
    from cymbalism.songs import get_song

    doc = _song_doc(name)
    if "music" not in doc:
        raise InputError(f"the song {name!r} has no [music]")
    music = doc["music"]
    chart = get_song(name)
    tm = chart.tempo_map
    parts = [p for p in _PARTS if p in music.get("instruments", {})]
    sections = [(float(q), n) for q, n in chart.sections] or [(0.0, "default")]
    bounds = [q for q, _ in sections[1:]] + [chart.end_qn]
    notes: list[MusicNote] = []
    voicing: dict[str, list[int] | None] = {p: None for p in parts}
    for (q_start, sname), q_end in zip(sections, bounds, strict=True):
        spec = _section_music(music.get("sections", {}), sname)
        chords = [str(c) for c in spec.get("chords", [])]
        ring = float(tm.bar_length_qn(0)) if sname.strip().lower().startswith("end") else 0.0
        first_bar = int(tm.qn_to_bar_beat(np.float64(q_start))[0])
        last_bar = int(tm.qn_to_bar_beat(np.float64(q_end - 1e-6))[0])
        for k, bar in enumerate(range(first_bar, last_bar + 1)):
            b0 = float(tm.bar_to_qn(bar))
            bar_qn = float(tm.bar_length_qn(bar))
            last = bar == last_bar
            symbols = chords[k % len(chords)].split() if chords else []
            for part in parts:
                pattern = _bars(str(spec.get(part, "")))
                if not pattern:
                    continue
                steps = pattern[k % len(pattern)]
                for qn, dur, tok in _events(steps, b0, bar_qn):
                    if last and ring and qn + dur >= b0 + bar_qn - 1e-9:
                        dur += ring
                    if part == "lead":
                        pitches = [_note_number(tok)]
                    else:
                        if not symbols:
                            continue
                        sym = symbols[min(int((qn - b0) / bar_qn * len(symbols)), len(symbols) - 1)]
                        root, intervals, bass = parse_chord(sym)
                        if part == "bass":
                            pitches = [_bass_pitch(tok, root, intervals, bass)]
                        elif tok.lower() == "x":
                            pcs = [(root + i) % 12 for i in intervals if i < 12]
                            pcs = list(dict.fromkeys(pcs))
                            pitches = _voice(pcs, voicing[part])
                            voicing[part] = pitches
                        else:
                            raise InputError(f"{name}, {part}: unknown step {tok!r} (x - .)")
                    accent = 8 if abs((qn - b0) % bar_qn) < 1e-9 else 0
                    for pitch in pitches:
                        notes.append(
                            MusicNote(part, qn, dur, int(pitch), min(127, _VELOCITY[part] + accent))
                        )
    notes.sort(key=lambda n: (n.qn, n.part, n.pitch))
    return tuple(notes)


def arrangement_midi(name: str) -> Any:
    """The arrangement as a mido ``MidiFile`` (one track and channel per instrument)."""
    import mido

    from cymbalism.songs import get_song

    tm = get_song(name).tempo_map
    programs = _song_doc(name)["music"].get("instruments", {})
    tpq = 480
    mid = mido.MidiFile(ticks_per_beat=tpq)
    meta = mido.MidiTrack()
    mid.tracks.append(meta)
    events: list[tuple[int, Any]] = []
    for q, bpm in tm.tempos:
        events.append((round(q * tpq), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for q, num, den in tm.time_signatures:
        events.append(
            (round(q * tpq), mido.MetaMessage("time_signature", numerator=num, denominator=den))
        )
    _append(meta, events)
    notes = arrangement(name)
    for part, channel in _PARTS.items():
        if part not in programs:
            continue
        track = mido.MidiTrack()
        mid.tracks.append(track)
        ev: list[tuple[int, Any]] = [
            (0, mido.Message("program_change", channel=channel, program=int(programs[part])))
        ]
        for n in notes:
            if n.part != part:
                continue
            on = round(n.qn * tpq)
            off = max(on + 1, round((n.qn + n.dur_qn) * tpq) - 2)  # a hair of space
            ev.append(
                (on, mido.Message("note_on", channel=channel, note=n.pitch, velocity=n.velocity))
            )
            ev.append((off, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
        _append(track, ev)
    return mid


def _append(track: Any, events: list[tuple[int, Any]]) -> None:
    import mido

    # note-offs before note-ons at the same tick, so a re-struck note is not cut
    events.sort(key=lambda e: (e[0], 0 if e[1].type == "note_off" else 1))
    now = 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
