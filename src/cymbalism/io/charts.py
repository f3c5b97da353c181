"""Drum charts as drummers have them: Clone Hero ``.chart``, Rock Band ``notes.mid``, GM MIDI.

This module and :mod:`cymbalism.io.midi` are the only places that know about ticks.
Everything they return is a :class:`~cymbalism.model.chart.Chart` in quarter notes.
The game formats are read as Clone Hero and YARG read them: a file the game plays is
read here, with the same notes on every difficulty.

Formats
-------
Clone Hero ``.chart`` (text)
    ``[Song]`` gives ``Resolution`` (ticks per quarter note) and ``Offset`` (the audio's
    offset in seconds, kept in ``metadata["offset_sec"]``). ``[SyncTrack]`` holds tempos
    (``B`` in thousandths of a BPM; any positive tempo) and time signatures (``TS num
    [exp]``, the denominator being ``2**exp``, 4 when absent). ``[Events]`` holds
    ``section NAME`` and ``end``. ``[EasyDrums]`` .. ``[ExpertDrums]`` hold notes
    ``tick = N pad length``: pad 0 kick, 1 red, 2 yellow, 3 blue, 4 green (orange in
    five-lane charts), 5 green of five-lane charts, 32 the Expert+ kick (double kick),
    66/67/68 the cymbal markers of yellow/blue/green, 34-38 accents and 40-44 ghost notes
    of pads 1-5, 109 a flam; ``tick = S 65 length`` a drum roll and ``S 66`` a cymbal
    swell (see Drum rolls below). ``[ExpertDoubleDrums]`` holds a whole Expert+ part. Every
    other section (guitar, bass, keys, vocals, ``[ExpertEnhancedGuitar]``, star power
    and lyrics, sections no game knows) is skipped unread, as the games skip them. The
    text's encoding is decided by its byte-order mark and by what decodes cleanly
    (:func:`cymbalism.io.text.decode_text`).
Rock Band / Clone Hero ``notes.mid`` (a Standard MIDI file)
    The track ``PART DRUMS`` holds the four difficulties at notes 60-64 (Easy), 72-76
    (Medium), 84-88 (Hard) and 96-100 (Expert) as kick, red, yellow, blue, green; 95 is
    the Expert+ kick. Pads are cymbals unless a tom marker (110 yellow, 111 blue,
    112 green) is held over them. With the text event ``[ENABLE_CHART_DYNAMICS]``,
    velocity 1 marks a ghost note and 127 an accent. A ``PART DRUMS_2X`` track beside
    ``PART DRUMS`` holds the Expert+ part as its Expert. A track with fifth-lane notes
    (65, 77, 89, 101) is a five-lane (Guitar Hero) kit, read as a five-lane ``.chart``
    is: red, blue and green toms, yellow and orange cymbals. FoFiX names the track
    ``PART DRUM``. The ``EVENTS`` track holds
    ``[section NAME]`` / ``[prc_NAME]`` and ``[end]``. The tempo map is the first track's.
    Other tracks are not read.
Drum rolls (both game formats)
    A roll lane (``S 65`` / ``S 66`` in a ``.chart`` drum section, notes 126 / 127 held
    in ``PART DRUMS`` for Expert, and for Hard too at velocity 41-50) marks a roll too
    fast to count over the notes written under it. It is kept as a
    :class:`~cymbalism.model.chart.Roll` on the drums the games give it (never the kick;
    a drum roll on the drum of its first note struck alone, a swell on the two drums it
    plays most), and written back when a chart is saved.
Disco flip (both game formats)
    A drum mix event ``[mix N drumsCd]`` (in a ``.chart`` drum section as ``E mix N
    drumsCd``, in ``PART DRUMS`` as a text event) turns disco flip on for difficulty N
    (0 Easy .. 3 Expert, and Expert+) until the next mix event of that difficulty. A
    disco beat is charted with the hi-hat on red and the snare on yellow, so that each
    hand keeps its side of the game's highway; pro drums play the real drums there, and
    so does cymbalism: red is the hi-hat and yellow (cymbal or tom) the snare. The
    setting ``dnoflip`` moves no note. Five-lane charts are never flipped.
Plain Standard MIDI drum track (General MIDI or an e-kit map)
    Read through :func:`cymbalism.io.midi.read_midi` and used as the Expert part.

Expert+
-------
Expert+ is the Expert part with its double-kick notes: kicks too fast for one pedal,
charted on a separate note so that a drummer with one pedal can leave them out. Clone
Hero shows them only with its "2x kick" option, YARG as the Expert+ difficulty. They
are never part of Hard or Expert. A chart keeps them in
:attr:`~cymbalism.model.chart.Chart.expert_plus`, which a player plays as the level
``Level.EXPERT_PLUS`` (``chart.part(Level.EXPERT_PLUS)``).

Pads to lanes (pro drums)
-------------------------
=========  ===============  ============
pad        tom              cymbal
=========  ===============  ============
kick       kick             --
red        snare            --
yellow     high tom         hi-hat
blue       mid tom          ride
green      floor tom        crash
=========  ===============  ============

A pad without a cymbal marker is a tom, as Clone Hero reads pro drums; an old
four-lane chart without markers therefore reads as toms only. Such a chart, made for
four pads (a ``.chart`` with no cymbal marker, a ``notes.mid`` with no tom marker, and
no ``pro_drums = True`` in its ``song.ini``), names pads, not drums: it is marked with
:data:`~cymbalism.model.chart.PADS`, and a hit on either drum of a pad (the hi-hat or
the high tom for yellow) hits its notes, as the games judge a four-lane chart. Flams are
read as single notes.

Writing
-------
The game formats hold one note per pad and moment, no open hi-hat, no hi-hat pedal and
no Beginner level. :func:`save_chart` never loses a note silently: an open hi-hat is
written as the hi-hat, a tom that shares its pad with a cymbal moves to a free tom
pad, and whatever still does not fit (a hi-hat pedal, a second note on a pad, a
Beginner part when the Easy slot is taken) is counted in the :class:`Folds` it returns.
A plain ``.mid`` holds every note of one level.
"""

from __future__ import annotations

import configparser
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn

import numpy as np

from cymbalism.errors import CymbalismWarning, InputError, NotFoundError
from cymbalism.io.text import decode_text
from cymbalism.model.chart import (
    ACCENT_VELOCITY,
    FIVE_LANE,
    GHOST_MAX_VELOCITY,
    GHOST_VELOCITY,
    NORMAL_VELOCITY,
    PADS,
    Chart,
    Level,
    Part,
    Roll,
)
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

__all__ = [
    "CHART_LEVELS",
    "CHART_SUFFIXES",
    "EXPERT_PLUS",
    "ChartWarning",
    "Folds",
    "SavedChart",
    "apply_song_ini",
    "find_chart_file",
    "format_chart_text",
    "load_chart",
    "parse_chart_text",
    "pick_chart_file",
    "read_chart",
    "read_chart_file",
    "read_game_chart",
    "read_gm_midi",
    "read_notes_mid",
    "read_song_ini",
    "save_chart",
    "write_chart_file",
    "write_notes_mid",
]

#: The suffixes of chart files (a song folder's ``.chart`` or MIDI chart).
CHART_SUFFIXES = (".chart", ".mid", ".midi")
#: The four difficulties of Clone Hero and Rock Band, with their names in each format.
CHART_LEVELS: Mapping[Level, str] = {
    Level.EASY: "Easy",
    Level.MEDIUM: "Medium",
    Level.HARD: "Hard",
    Level.EXPERT: "Expert",
}
#: How people and the games name the Expert part with its double-kick notes.
EXPERT_PLUS = Level.EXPERT_PLUS.label
_MID_BASE: Mapping[Level, int] = {
    Level.EASY: 60,
    Level.MEDIUM: 72,
    Level.HARD: 84,
    Level.EXPERT: 96,
}
_MID_EXPERT_PLUS_KICK = 95
_MID_TOM_MARKERS = {110: 2, 111: 3, 112: 4}  # marker note -> pad
_MID_DYNAMICS = "[ENABLE_CHART_DYNAMICS]"
_MID_MAX_MSPQ = 0xFFFFFF  # microseconds per quarter note: 3.58 BPM is the slowest tempo
_MID_DRUM_TRACKS = ("PART DRUMS", "PART DRUMS_2X", "PART REAL_DRUMS_PS", "PART DRUM")
_MID_EXPERT_PLUS_TRACK = "PART DRUMS_2X"

# Pads: 0 kick, 1 red, 2 yellow, 3 blue, 4 green (orange in five-lane), 5 five-lane green.
_KICK, _RED, _YELLOW, _BLUE, _GREEN = range(5)
_FIVE_LANE_GREEN = 5
#: pad -> lane of a tom (or the kick and snare); pad -> lane of a cymbal
_TOM_LANE = np.array(
    [Lane.KICK, Lane.SNARE, Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR, Lane.TOM_FLOOR],
    dtype=np.int8,
)
_CYMBAL_LANE = np.array(
    [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.RIDE, Lane.CRASH, Lane.TOM_FLOOR],
    dtype=np.int8,
)
#: lane -> (pad, is cymbal); lanes missing here have no pad.
_LANE_PAD: Mapping[Lane, tuple[int, bool]] = {
    Lane.KICK: (_KICK, False),
    Lane.SNARE: (_RED, False),
    Lane.HIHAT_CLOSED: (_YELLOW, True),
    Lane.HIHAT_OPEN: (_YELLOW, True),
    Lane.TOM_HIGH: (_YELLOW, False),
    Lane.TOM_MID: (_BLUE, False),
    Lane.TOM_FLOOR: (_GREEN, False),
    Lane.RIDE: (_BLUE, True),
    Lane.CRASH: (_GREEN, True),
}
#: Where a tom goes when a cymbal holds its pad at that moment: its own pad, then the
#: nearest free tom pads.
_TOM_PADS: Mapping[Lane, tuple[int, ...]] = {
    Lane.TOM_HIGH: (_YELLOW, _BLUE, _GREEN),
    Lane.TOM_MID: (_BLUE, _GREEN, _YELLOW),
    Lane.TOM_FLOOR: (_GREEN, _BLUE, _YELLOW),
}

# .chart note numbers
_CH_EXPERT_PLUS_KICK = 32
_CH_CYMBAL = range(66, 69)  # pads 2-4
_CH_ACCENT = range(34, 39)  # pads 1-5
_CH_GHOST = range(40, 45)
_CH_DRUM_SECTIONS = {f"{label}Drums": level for level, label in CHART_LEVELS.items()}
_CH_EXPERT_PLUS_SECTION = "ExpertDoubleDrums"
_CH_READ = {"Song", "SyncTrack", "Events", _CH_EXPERT_PLUS_SECTION, *_CH_DRUM_SECTIONS}


# ---------------------------------------------------------------------------- gems
@dataclass(frozen=True)
class _Gems:
    """The notes of one difficulty before lanes are decided, as arrays in ticks.

    ``pad`` is 0-5; ``cymbal``, ``ghost`` and ``accent`` are the markers on each gem.
    """

    tick: np.ndarray
    pad: np.ndarray
    cymbal: np.ndarray
    ghost: np.ndarray
    accent: np.ndarray

    def part(self, ticks_per_qn: int) -> Part:
        """The gems as a Part: pads and markers to lanes, ghost before accent."""
        if self.tick.size == 0:
            return Part.empty()
        lane = np.where(self.cymbal, _CYMBAL_LANE[self.pad], _TOM_LANE[self.pad])
        velocity = np.where(
            self.ghost, GHOST_VELOCITY, np.where(self.accent, ACCENT_VELOCITY, NORMAL_VELOCITY)
        )
        return Part.from_arrays(self.tick / ticks_per_qn, lane, velocity)

    def select(self, keep: np.ndarray) -> _Gems:
        return _Gems(
            self.tick[keep], self.pad[keep], self.cymbal[keep], self.ghost[keep], self.accent[keep]
        )


def _unique_gems(tick: np.ndarray, pad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One gem per tick and pad (a chart may repeat a note line)."""
    key = np.unique(tick * 8 + pad)
    return key // 8, key % 8


def _marked(tick: np.ndarray, pad: np.ndarray, mark_tick: np.ndarray, mark_pad: np.ndarray):  # type: ignore[no-untyped-def]
    """Which gems carry a marker given as (tick, pad) pairs."""
    return np.isin(tick * 8 + pad, mark_tick * 8 + mark_pad)


#: A drum mix event (``[mix 3 drums0d]``): the difficulty (0 Easy .. 3 Expert), the
#: drum stems' layout, and a setting, ``d`` turning disco flip on.
_MIX_EVENT = re.compile(r"mix[ _]*([0-3])[ _]*drums[ _]*[0-5][ _]*(\w*)")
_MIX_DIFFICULTY: Mapping[Level, int] = {
    Level.EASY: 0,
    Level.MEDIUM: 1,
    Level.HARD: 2,
    Level.EXPERT: 3,
    Level.EXPERT_PLUS: 3,
}


def _disco_spans(events: Iterable[tuple[int, str]], level: Level) -> list[tuple[int, int]]:
    """The spans in ticks, ``[start, end)``, over which a drum track's mix events turn
    disco flip on for ``level``: from a ``[mix N drumsCd]`` of its difficulty to the next
    mix event of that difficulty (``drumsC`` alone, or ``dnoflip``, turns it off)."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for tick, text in sorted(events, key=lambda e: e[0]):
        m = _MIX_EVENT.fullmatch(_event_text(_unquote(text)))
        if m is None or int(m.group(1)) != _MIX_DIFFICULTY[level]:
            continue
        if m.group(2) == "d" and start is None:
            start = tick
        elif m.group(2) != "d" and start is not None:
            spans.append((start, tick))
            start = None
    if start is not None:
        spans.append((start, np.iinfo(np.int64).max))
    return spans


def _disco_flipped(gems: _Gems, spans: list[tuple[int, int]]) -> _Gems:
    """The gems with disco flip undone where it is on, as pro drums play them: a disco
    beat is charted with the hi-hat on the red pad and the snare on yellow, so that the
    hand that plays each stays on its side; red is the hi-hat there and yellow the snare."""
    if not spans or gems.tick.size == 0:
        return gems
    inside = np.zeros(gems.tick.size, dtype=bool)
    for start, end in spans:
        inside |= (gems.tick >= start) & (gems.tick < end)
    red, yellow = inside & (gems.pad == _RED), inside & (gems.pad == _YELLOW)
    pad = np.where(red, _YELLOW, np.where(yellow, _RED, gems.pad))
    cymbal = np.where(red, True, np.where(yellow, False, gems.cymbal))
    return _Gems(gems.tick, pad, cymbal, gems.ghost, gems.accent)


def _tempo_map(
    tempos: list[tuple[int, float]],
    sigs: list[tuple[int, int, int]],
    ticks_per_qn: int,
    where: str,
) -> TempoMap:
    """Build a TempoMap from tick positions, as the games do: the last change at a tick
    wins, 120 BPM and 4/4 until the first change, any positive tempo, and a time
    signature inside a bar starts a new bar."""
    tempo_at = dict(sorted(tempos, key=lambda t: t[0]))
    sig_at = {t: (n, d) for t, n, d in sorted(sigs, key=lambda s: s[0])}
    tempo_at.setdefault(0, 120.0)  # the default of both formats
    sig_at.setdefault(0, (4, 4))
    for tick, bpm in tempo_at.items():
        if not (np.isfinite(bpm) and bpm > 0):
            raise InputError(f"{where}: the tempo {bpm:g} BPM at tick {tick} is not usable")
    return TempoMap(
        [(t / ticks_per_qn, tempo_at[t]) for t in sorted(tempo_at)],
        [(t / ticks_per_qn, *sig_at[t]) for t in sorted(sig_at)],
    )


def _finish_chart(
    *,
    title: str,
    artist: str,
    tempo_map: TempoMap,
    parts: dict[Level, Part],
    sections: list[tuple[float, str]],
    end_qn: float,
    metadata: dict[str, str],
    where: str,
    found: Iterable[str],
    expert_plus: Part | None = None,
    rolls: dict[Level, tuple[Roll, ...]] | None = None,
    hint: str = "",
    ticks_per_qn: int | None = None,
) -> Chart:
    parts = {lv: p for lv, p in parts.items() if len(p)}
    if not parts:
        have = ", ".join(found) or "nothing"
        raise InputError(f"{where}: the chart has no drum part (it has: {have}){hint}")
    # a stray tick hours past the music (a typo) would have every command lay out
    # millions of bars: one error names it instead
    every = {**parts, **({Level.EXPERT_PLUS: expert_plus} if expert_plus else {})}
    last = [(f"the {lv.label} part has a note", float(p.qn.max())) for lv, p in every.items()]
    for what, qn in [*last, ("its end event is", end_qn)]:
        sec = float(tempo_map.qn_to_sec(qn))
        if sec > _MAX_SONG_SEC:
            at = f", at tick {round(qn * ticks_per_qn)}" if ticks_per_qn else ""
            raise InputError(
                f"{where}: {what} {sec / 3600:,.0f} hours into the song{at}; a chart runs "
                f"at most {_MAX_SONG_SEC / 3600:g} hours (is that tick mistyped?)"
            )
    return Chart(
        title=title,
        tempo_map=tempo_map,
        parts=parts,
        sections=tuple(sections),
        end_qn=end_qn,
        artist=artist,
        metadata=metadata,
        expert_plus=expert_plus,
        rolls={lv: r for lv, r in (rolls or {}).items() if lv in parts},
    )


#: A single-lane roll (a drum roll) and a double-lane roll (a cymbal swell between two
#: cymbals): ``S 65`` and ``S 66`` in a ``.chart`` drum section, notes 126 and 127 in
#: ``PART DRUMS``.
_CH_ROLL = {65: 1, 66: 2}
_MID_ROLL = {126: 1, 127: 2}
#: A roll note in ``PART DRUMS`` holds for Expert; at these velocities for Hard too.
_MID_ROLL_HARD_VELOCITY = range(41, 51)


def _rolls(part: Part, spans: Iterable[tuple[float, float, int]]) -> tuple[Roll, ...]:
    """The rolls of ``part`` over ``spans`` (start and end in quarter notes, 1 or 2 lanes),
    on the drums the part plays there, as the games decide them: never the kick; a
    single-lane roll on the drum of its first note struck alone (not in a chord with
    another drum), a swell on the two drums it plays most. A span with no drum under it
    is no roll."""
    rolls = []
    for start, end, n_lanes in spans:
        at = part.span(start, end)
        qn, lane = part.qn[at], part.lane[at]
        keep = lane != int(Lane.KICK)
        qn, lane = qn[keep], lane[keep]
        if not lane.size:
            continue
        if n_lanes == 1:
            _, first, count = np.unique(qn, return_index=True, return_counts=True)
            alone = first[count == 1]
            drums: tuple[Lane, ...] = (Lane(int(lane[alone[0] if alone.size else 0])),)
        else:
            kinds, count = np.unique(lane, return_counts=True)
            most = kinds[np.argsort(-count, kind="stable")[:2]]
            drums = tuple(Lane(int(x)) for x in sorted(most.tolist()))
        rolls.append(Roll(float(start), float(end), drums))
    return tuple(rolls)


def _event_text(event: str) -> str:
    """A text event as the games read it: without its square brackets (``[end]``)."""
    text = event.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    return text


#: A rich-text tag in a section's name (``<b>``, ``<color=#ff0000>``), which Clone Hero
#: draws as formatting.
_RICH_TEXT_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def _section_name(event: str) -> str | None:
    """The name of a section event (``section Verse 1``, ``[section verse_1]``,
    ``[prc_verse_1]``), or None for other events."""
    text = _event_text(event)
    for prefix in ("section ", "section_", "prc_"):
        if text.lower().startswith(prefix):
            return _RICH_TEXT_TAG.sub("", text[len(prefix) :]).strip()
    return None


def _is_end(event: str) -> bool:
    return event.strip().lower() in {"end", "[end]"}


#: A chart with no end event runs to the last event of any of its tracks (the guitar's
#: outro after the drums stop), if that comes within this long (a full-album chart runs
#: an hour or more; a stray tick far beyond is not music).
_MAX_SONG_SEC = 3 * 3600.0


def _song_end_qn(tempo_map: TempoMap, last_qn: float) -> float:
    """Where a chart with no end event ends: the end of the bar of its last event, as a
    chart ends one bar after its last note (0, for that, if the event is unusable)."""
    if not 0 < last_qn < np.inf or float(tempo_map.qn_to_sec(last_qn)) > _MAX_SONG_SEC:
        return 0.0
    bar, _ = tempo_map.qn_to_bar_beat(np.float64(last_qn))
    return float(tempo_map.bar_to_qn(int(bar) + 1))


# ---------------------------------------------------------------------------- .chart
# A section starts with its name in brackets on a line of its own and an opening brace.
_CH_HEADER = re.compile(r"^[ \t]*\[([^\]\r\n]*)\][ \t]*\r?\n\s*\{[ \t]*\r?$", re.M)
_CH_CLOSE = re.compile(r"^[ \t]*\}[ \t]*\r?$", re.M)
_CH_EVENT_LINE = re.compile(r"^[ \t]*(\d+)[ \t]*=[ \t]*(\S+)[ \t]*([^\r\n]*)", re.M)
# the first line that is neither blank nor ``tick = event``
_CH_NOT_EVENT = re.compile(r"^(?![ \t]*\d+[ \t]*=[ \t]*\S)[ \t]*\S", re.M)
_CH_NOTE = re.compile(r"^[ \t]*(\d+)[ \t]*=[ \t]*N[ \t]+(\d+)", re.M)
_CH_KEY_VALUE = re.compile(r"^\s*(\S+?)\s*=\s*(.*?)\s*$")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


@dataclass(frozen=True)
class _Section:
    name: str
    body: str
    line: int  # the line number of the body's first line


def _split_sections(text: str, source: str) -> list[_Section]:
    """The file's sections, in order; anything outside a section is an error that names
    its line (found by :func:`_structure_error`)."""
    out: list[_Section] = []
    pos = 0
    while True:
        head = _CH_HEADER.search(text, pos)
        if head is None:
            break
        if text[pos : head.start()].strip():
            _structure_error(text, source)
        body_start = head.end() + 1
        # the closing brace: the next "}" that stands alone on its line
        close = text.find("}", body_start)
        while close >= 0:
            m = _CH_CLOSE.match(text, text.rfind("\n", 0, close) + 1)
            if m is not None:
                break
            close = text.find("}", close + 1)
        if close < 0:
            _structure_error(text, source)
        line_start = text.rfind("\n", 0, close) + 1
        body = text[body_start:line_start] if line_start > body_start else ""
        line = text.count("\n", 0, body_start) + 1
        out.append(_Section(head.group(1).strip(), body, line))
        pos = m.end() if m is not None else len(text)
    if text[pos:].strip():
        _structure_error(text, source)
    return out


def _structure_error(text: str, source: str) -> NoReturn:
    """Raise the error that says where a .chart's section structure breaks."""
    current: str | None = None
    in_braces = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{source}, line {lineno}"
        if not line:
            continue
        if line.startswith("[") and line.endswith("]") and not in_braces:
            current = line[1:-1].strip()
        elif line.startswith("[") and line.endswith("]"):
            raise InputError(f"{where}: section {line} starts before the last one closed")
        elif line == "{":
            if current is None or in_braces:
                raise InputError(f"{where}: unexpected '{{'")
            in_braces = True
        elif line == "}":
            if not in_braces:
                raise InputError(f"{where}: unexpected '}}'")
            in_braces, current = False, None
        elif not in_braces:
            raise InputError(f"{where}: {line[:40]!r} is outside any [section] {{ ... }}")
    if in_braces:
        raise InputError(f"{source}: the file ends inside a section (a '}}' is missing)")
    raise InputError(f"{source}: the sections are not laid out as [Name] {{ ... }}")


class ChartWarning(CymbalismWarning):
    """Lines of a chart that cannot be read were skipped, as the games skip them."""


@dataclass
class _Skipped:
    """The lines of a chart skipped as unreadable: (line number, text)."""

    lines: list[tuple[int, str]] = field(default_factory=list)

    def add(self, line: int, text: str) -> None:
        self.lines.append((line, text.strip()))

    def warn(self, source: str) -> None:
        """Say once, naming the first few, which lines were skipped."""
        if not self.lines:
            return
        shown = [f"line {n} {text[:40]!r}" for n, text in sorted(self.lines)[:3]]
        more = len(self.lines) - len(shown)
        named = ", ".join(shown) + (f" and {more} more" if more else "")
        count = f"{len(self.lines)} line{'s' if len(self.lines) > 1 else ''}"
        warnings.warn(
            f"{source}: {count} that cannot be read {'were' if len(self.lines) > 1 else 'was'} "
            f"skipped, as Clone Hero and YARG skip them ({named})",
            ChartWarning,
            stacklevel=3,
        )


def _readable(section: _Section, skipped: _Skipped) -> _Section:
    """The section with every line that is not ``tick = event`` blanked (a comment, a
    negative or broken tick), each noted in ``skipped``; line numbers stay as they were."""
    if _CH_NOT_EVENT.search(section.body) is None:
        return section
    lines = section.body.split("\n")
    for k, raw in enumerate(lines):
        if _CH_NOT_EVENT.match(raw):
            skipped.add(section.line + k, raw)
            lines[k] = ""
    return replace(section, body="\n".join(lines))


_CH_NOTE_END = re.compile(r"^[ \t]*(\d+)[ \t]*=[ \t]*(?:N[ \t]+\d+[ \t]+(\d+))?", re.M)


def _last_tick(sections: Iterable[_Section]) -> int:
    """The last tick any section's events reach (a note's with its sustain)."""
    last = 0
    for section in sections:
        for tick, sustain in _CH_NOTE_END.findall(section.body):
            last = max(last, int(tick) + (int(sustain) if sustain else 0))
    return last


def _event_rows(section: _Section) -> list[tuple[str, str, str]]:
    """``tick = TYPE values`` lines as (tick, type, values)."""
    return [(t, k, v.strip()) for t, k, v in _CH_EVENT_LINE.findall(section.body)]


def _line_of(section: _Section, tick: str, value: str) -> int:
    """The line number of the first line of a section with this tick and value."""
    for k, raw in enumerate(section.body.splitlines()):
        m = _CH_EVENT_LINE.match(raw)
        if m and m.group(1) == tick and f"{m.group(2)} {m.group(3)}".split() == value.split():
            return section.line + k
    return section.line


def _plain_notes(body: str) -> np.ndarray | None:
    """The notes of a drum section whose every line is ``tick = N|S number length`` (as
    chart editors write them), read from its words at once; None for any other section."""
    words = body.split()
    rows = len(words) // 5
    if len(words) != 5 * rows or body.count("\n") != rows or set(words[1::5]) != {"="}:
        return None
    kinds = words[2::5]
    if not set(kinds) <= {"N", "S"}:
        return None
    try:
        table = np.array([words[0::5], words[3::5], words[4::5]], dtype=np.int64)
    except (ValueError, OverflowError):
        return None
    if (table < 0).any():
        return None
    is_note = np.array(kinds) == "N"
    return np.ascontiguousarray(table[:2, is_note].T)


#: A number of 19 digits or more may not fit in 64 bits.
_LONG_NUMBER = re.compile(r"\d{19}")


def _section_notes(section: _Section, source: str) -> np.ndarray:
    """The ``N`` lines of a drum section as rows of (tick, note number); other lines are
    not notes (the section's unreadable lines were blanked by :func:`_readable`)."""
    plain = _plain_notes(section.body)
    if plain is not None:
        return plain
    rows = _CH_NOTE.findall(section.body)
    digits = " ".join(map(" ".join, rows))
    if _LONG_NUMBER.search(digits) is None:  # every number fits in 64 bits: parse fast
        return np.fromstring(digits, dtype=np.int64, sep=" ").reshape(-1, 2)
    try:
        return np.array(rows, dtype=np.int64).reshape(-1, 2)
    except OverflowError:
        tick, number = next(r for r in rows if max(map(int, r)) > np.iinfo(np.int64).max)
        at = re.search(rf"^[ \t]*{tick}[ \t]*=[ \t]*N[ \t]+{number}\b", section.body, re.M)
        line = section.line + section.body.count("\n", 0, at.start() if at else 0)
        where = f"{source}, line {line}"
        big = tick if int(tick) > int(number) else number
        raise InputError(f"{where}: {big} is too large for a tick or a note number") from None


def _drum_gems(notes: np.ndarray, *, five_lane: bool, plus: bool) -> _Gems:
    """The gems of one drum section; N 32 is a kick only in an Expert+ part (``plus``)."""
    tick, number = notes[:, 0], notes[:, 1]
    is_gem = number <= _FIVE_LANE_GREEN
    if plus:
        is_gem |= number == _CH_EXPERT_PLUS_KICK
    gem_tick, gem_pad = _unique_gems(
        tick[is_gem], np.where(number[is_gem] == _CH_EXPERT_PLUS_KICK, _KICK, number[is_gem])
    )
    if five_lane:
        # five-lane: yellow (2) and orange (4) are cymbals, blue (3) and green (5) toms
        cymbal = (gem_pad == _YELLOW) | (gem_pad == _GREEN)
    else:
        m = (number >= _CH_CYMBAL.start) & (number < _CH_CYMBAL.stop)
        cymbal = _marked(gem_tick, gem_pad, tick[m], number[m] - 64)
    m = (number >= _CH_ACCENT.start) & (number < _CH_ACCENT.stop)
    accent = _marked(gem_tick, gem_pad, tick[m], number[m] - 33)
    m = (number >= _CH_GHOST.start) & (number < _CH_GHOST.stop)
    ghost = _marked(gem_tick, gem_pad, tick[m], number[m] - 39)
    # flams (109), open notes and other markers carry nothing kept here
    return _Gems(gem_tick, gem_pad, cymbal, ghost, accent)


def _double_kicks(notes: np.ndarray) -> np.ndarray:
    """The ticks of the Expert+ kicks (N 32) of a drum section."""
    return np.unique(notes[notes[:, 1] == _CH_EXPERT_PLUS_KICK, 0])


def parse_chart_text(text: str, *, source: str = "<chart>", five_lane: bool | None = None) -> Chart:
    """Parse the text of a Clone Hero ``.chart`` file.

    Parameters
    ----------
    text : str
        The whole file.
    source : str
        A name for the text (its path), used in error messages.
    five_lane : bool, optional
        Read the drums as a five-lane (Guitar Hero) kit, or as four-lane, whatever the
        notes say (a ``song.ini``'s ``five_lane_drums``); by default, five-lane when a
        fifth lane's notes (``N 5``) are there.

    Returns
    -------
    chart : Chart
        One part per drum difficulty present, the Expert+ part if there is one, sections
        from ``[Events]``. Sections that hold no drums are skipped unread.

    Raises
    ------
    InputError
        If the section structure is broken, a tempo is not positive, a number is too
        large, or the chart has no drum notes.

    Warns
    -----
    ChartWarning
        Once, naming the first few, if lines of the sections read cannot be read (a
        comment, a negative or broken tick, a tempo that is not a number): they are
        skipped, as Clone Hero and YARG skip them.
    """
    sections: dict[str, _Section] = {}
    found: list[str] = []
    every = _split_sections(text.lstrip("\ufeff"), source)
    drum_names = (*_CH_DRUM_SECTIONS, _CH_EXPERT_PLUS_SECTION)
    for section in every:
        # named in the error of a chart without drums, where a drum section has no notes
        found.append(f"[{section.name}]" + (" without notes" if section.name in drum_names else ""))
        if section.name in _CH_READ:
            sections[section.name] = section  # as the games do, the last one wins
    skipped = _Skipped()
    for key, section in sections.items():
        if key != "Song":
            sections[key] = _readable(section, skipped)

    song: dict[str, str] = {}
    song_line: dict[str, int] = {}
    if "Song" in sections:
        for k, raw in enumerate(sections["Song"].body.splitlines()):
            line = raw.strip()
            if not line:
                continue
            m = _CH_KEY_VALUE.match(line)
            if m is None:
                skipped.add(sections["Song"].line + k, line)
                continue
            key = m.group(1).lower()  # editors differ in case: Resolution
            song[key], song_line[key] = m.group(2), sections["Song"].line + k
    try:
        resolution = int(_unquote(song.get("resolution", "192")))
    except ValueError:
        raise InputError(
            f"{source}: [Song] Resolution {song['resolution']!r} is not a number"
        ) from None
    if resolution <= 0:
        raise InputError(f"{source}: [Song] Resolution must be positive, got {resolution}")

    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    if "SyncTrack" in sections:
        sync = sections["SyncTrack"]
        for tick_text, kind, values in _event_rows(sync):
            tick, fields = int(tick_text), values.split()
            try:
                if kind == "B":
                    tempos.append((tick, int(fields[0]) / 1000.0))
                elif kind == "TS":
                    num = int(fields[0])
                    exp = int(fields[1]) if len(fields) > 1 else 2
                    if num < 1 or not 0 <= exp <= 6:
                        raise ValueError
                    sigs.append((tick, num, 2**exp))
                elif kind != "A":  # A: an anchor for chart editors; no musical meaning
                    raise ValueError
            except (IndexError, ValueError):  # the games skip it too
                at = _line_of(sync, tick_text, f"{kind} {values}")
                skipped.add(at, f"{tick_text} = {kind} {values}")
    tempo_map = _tempo_map(tempos, sigs, resolution, source)

    section_marks: list[tuple[float, str]] = []
    end_qn = 0.0
    if "Events" in sections:
        for tick_text, kind, values in _event_rows(sections["Events"]):
            if kind != "E" or not values:
                continue
            event = _unquote(values)
            name = _section_name(event)
            if name is not None:
                section_marks.append((int(tick_text) / resolution, name))
            elif _is_end(event):
                end_qn = int(tick_text) / resolution

    notes = {
        name: _section_notes(sections[name], source)
        for name in (*_CH_DRUM_SECTIONS, _CH_EXPERT_PLUS_SECTION)
        if name in sections
    }
    if five_lane is None:
        five_lane = any((n[:, 1] == _FIVE_LANE_GREEN).any() for n in notes.values())

    def gems(name: str, level: Level, *, plus: bool) -> _Gems:
        found = _drum_gems(notes[name], five_lane=five_lane, plus=plus)
        if five_lane or "mix" not in sections[name].body:  # flips only four-lane (pro) drums
            return found
        mixes = [(int(t), v) for t, k, v in _event_rows(sections[name]) if k == "E"]
        return _disco_flipped(found, _disco_spans(mixes, level))

    parts = {
        level: gems(name, level, plus=False).part(resolution)
        for name, level in _CH_DRUM_SECTIONS.items()
        if name in notes
    }
    expert_plus: Part | None = None
    if _CH_EXPERT_PLUS_SECTION in notes:
        plus = gems(_CH_EXPERT_PLUS_SECTION, Level.EXPERT_PLUS, plus=True)
        expert_plus = plus.part(resolution)
        if Level.EXPERT not in parts:
            # an Expert+ part alone: without its N 32 kicks it is the Expert part too
            double = _double_kicks(notes[_CH_EXPERT_PLUS_SECTION])
            single = ~np.isin(plus.tick, double) | (plus.pad != _KICK)
            parts[Level.EXPERT] = plus.select(single).part(resolution)
    elif "ExpertDrums" in notes and (notes["ExpertDrums"][:, 1] == _CH_EXPERT_PLUS_KICK).any():
        expert_plus = gems("ExpertDrums", Level.EXPERT_PLUS, plus=True).part(resolution)

    def roll_spans(name: str) -> list[tuple[float, float, int]]:
        spans = []
        for tick, kind, values in _event_rows(sections[name]):
            fields = values.split()
            if kind == "S" and len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                lanes = _CH_ROLL.get(int(fields[0]))
                if lanes and int(fields[1]) > 0:
                    spans.append(
                        (int(tick) / resolution, (int(tick) + int(fields[1])) / resolution, lanes)
                    )
        return spans

    roll_sections = {level: name for name, level in _CH_DRUM_SECTIONS.items() if name in notes}
    if Level.EXPERT not in roll_sections and _CH_EXPERT_PLUS_SECTION in notes:
        roll_sections[Level.EXPERT] = _CH_EXPERT_PLUS_SECTION
    rolls = {
        level: _rolls(parts[level], roll_spans(name))
        for level, name in roll_sections.items()
        if level in parts and " S 6" in sections[name].body
    }

    metadata = {
        key: _unquote(value)
        for key, value in song.items()
        if key not in {"name", "artist", "resolution", "offset"}
    }
    if "year" in metadata:  # chart editors write ", 1986", to follow the album's name
        metadata["year"] = metadata["year"].lstrip(", ").strip()
    offset = _unquote(song.get("offset", "0"))
    try:
        metadata["offset_sec"] = str(float(offset))
    except ValueError:  # the games read no offset
        metadata["offset_sec"] = "0.0"
        skipped.add(song_line["offset"], f"Offset = {song['offset']}")
    metadata["source_format"] = "chart"
    marked = any(np.isin(n[:, 1], list(_CH_CYMBAL)).any() for n in notes.values())
    if five_lane:
        metadata[FIVE_LANE] = "true"
    elif not marked:
        metadata[PADS] = "toms"  # made for four pads: read as toms, judged by pad
    drumlike = [f"[{x.name}]" for x in every if "drum" in x.name.lower() and x.name not in _CH_READ]
    hint = (
        "; drum sections are [EasyDrums], [MediumDrums], [HardDrums], [ExpertDrums] and "
        "[ExpertDoubleDrums]"
        if drumlike
        else ""
    )
    chart = _finish_chart(
        title=_unquote(song.get("name", "")) or Path(source).stem,
        artist=_unquote(song.get("artist", "")),
        tempo_map=tempo_map,
        parts=parts,
        sections=section_marks,
        end_qn=end_qn or _song_end_qn(tempo_map, _last_tick(every) / resolution),
        metadata=metadata,
        where=source,
        found=found,
        expert_plus=expert_plus,
        rolls=rolls,
        hint=hint,
        ticks_per_qn=resolution,
    )
    skipped.warn(source)
    return chart


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no {what} at {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a {what}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def read_chart_file(path: str | Path, *, five_lane: bool | None = None) -> Chart:
    """Read a Clone Hero ``.chart`` file; see :func:`parse_chart_text`.

    The encoding is decided by the file's byte-order mark and by what decodes cleanly:
    UTF-8, UTF-16, Windows-1252 or Latin-1 (:func:`cymbalism.io.text.decode_text`).
    """
    p = Path(path)
    raw = _read_bytes(p, "chart file")
    return parse_chart_text(decode_text(raw, source=str(p)), source=str(p), five_lane=five_lane)


# ---------------------------------------------------------------------------- notes.mid
def _mid_five_lane(events) -> bool:  # type: ignore[no-untyped-def]
    """Whether a drum track is five-lane (Guitar Hero's kit): it has a fifth lane's notes."""
    return bool(np.isin(events.on_note, [b + _FIVE_LANE_GREEN for b in _MID_BASE.values()]).any())


def _mid_gems(events, level: Level, *, dynamics: bool, plus: bool, five_lane: bool) -> _Gems:  # type: ignore[no-untyped-def]
    """The gems of one difficulty of a drum track (Expert+ adds note 95 as a kick)."""
    base = _MID_BASE[level]
    note, tick, velocity = events.on_note, events.on_tick, events.on_velocity
    pad = note - base
    is_gem = (pad >= 0) & (pad <= (_FIVE_LANE_GREEN if five_lane else _GREEN))
    if plus:
        is_gem |= note == _MID_EXPERT_PLUS_KICK
        pad = np.where(note == _MID_EXPERT_PLUS_KICK, _KICK, pad)
    tick, pad, velocity = tick[is_gem], pad[is_gem], velocity[is_gem]
    # one gem per tick and pad; the last note-on at a tick gives its velocity
    key = tick * 8 + pad
    last = len(key) - 1 - np.unique(key[::-1], return_index=True)[1]
    tick, pad, velocity = tick[last], pad[last], velocity[last]
    ghost = dynamics & (velocity == 1) & (pad != _KICK)
    accent = dynamics & (velocity == 127) & (pad != _KICK)
    if five_lane:  # as in a .chart: yellow and orange are cymbals, the rest toms
        cymbal = (pad == _YELLOW) | (pad == _GREEN)
        return _Gems(tick, pad, cymbal, ghost, accent)
    tom = np.zeros(tick.size, dtype=bool)
    for marker, marked_pad in _MID_TOM_MARKERS.items():
        starts, ends = _held(events, marker)
        if starts.size:
            i = np.searchsorted(starts, tick, side="right") - 1
            inside = (i >= 0) & (tick < ends[np.clip(i, 0, None)])
            tom |= (pad == marked_pad) & inside
    cymbal = (pad >= _YELLOW) & ~tom
    return _Gems(tick, pad, cymbal, ghost, accent)


def _held(events, note: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The spans (start, end) in ticks over which a marker note is held: a note-on opens
    a span, the next note-off of that note closes it, a span never closed runs past the
    end of the track."""
    ons = events.on_tick[events.on_note == note].tolist()
    offs = events.off_tick[events.off_note == note].tolist()
    spans: list[tuple[int, int]] = []
    k = 0
    for start in ons:
        if spans and start < spans[-1][1]:
            continue  # struck again while held: the span goes on
        while k < len(offs) and offs[k] < start:
            k += 1
        end = offs[k] if k < len(offs) else events.end_tick + 1
        k += 1
        spans.append((start, end))
    a = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return a[:, 0], a[:, 1]


def _mid_drum_track(names: list[str]) -> int | None:
    for wanted in _MID_DRUM_TRACKS:
        if wanted in names:
            return names.index(wanted)
    return None


def read_notes_mid(path: str | Path, *, five_lane: bool | None = None) -> Chart:
    """Read a Rock Band / Clone Hero ``notes.mid`` (the ``PART DRUMS`` track).

    Parameters
    ----------
    path : str or Path
    five_lane : bool, optional
        Read the drum track as a five-lane kit or as four-lane, whatever its notes say
        (a ``song.ini``'s ``five_lane_drums``); by default, five-lane when it holds
        fifth-lane notes.

    Returns
    -------
    chart : Chart
        One part per difficulty present, the Expert+ part if the chart has double-kick
        notes (95) or a ``PART DRUMS_2X`` track; sections from the ``EVENTS`` track; the
        title from the first track's name.

    Raises
    ------
    NotFoundError
        If there is no file.
    InputError
        If the file is not MIDI or has no ``PART DRUMS`` track with notes.
    """
    from cymbalism.io.midi import scan_track, track_chunks, track_name

    p = Path(path)
    label = str(p)
    data = _read_bytes(p, "MIDI file")
    tpq, chunks = track_chunks(data, label)
    names = [track_name(c) for c in chunks]
    index = _mid_drum_track(names)
    if index is None:
        listing = ", ".join(repr(n) for n in names) or "none"
        raise InputError(f"{p}: no drum part (no 'PART DRUMS' track; tracks: {listing})")

    tempo_track = scan_track(chunks[0], label=label)
    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    for tick, kind, payload in tempo_track.meta:
        if kind == 0x51 and len(payload) == 3:
            mspq = int.from_bytes(payload, "big")
            if mspq == 0:
                raise InputError(f"{p} is corrupt: it sets a tempo of 0 microseconds per quarter")
            tempos.append((tick, 60_000_000 / mspq))
        elif kind == 0x58 and len(payload) >= 2 and payload[0] >= 1:
            sigs.append((tick, payload[0], 2 ** min(payload[1], 6)))
    tempo_map = _tempo_map(tempos, sigs, tpq, label)

    sections: list[tuple[float, str]] = []
    end_qn = 0.0
    last_tick = tempo_track.end_tick  # without an [end] event: the last event read
    for chunk, name in zip(chunks, names, strict=True):
        if name != "EVENTS":
            continue
        events = scan_track(chunk, label=label)
        last_tick = max(last_tick, events.end_tick)
        for tick, text in events.texts(1, 6):
            section = _section_name(text)
            if section is not None:
                sections.append((tick / tpq, section.replace("_", " ")))
            elif _is_end(text):
                end_qn = tick / tpq

    def parts_of(track, levels: Iterable[Level], *, plus: bool) -> dict[Level, Part]:  # type: ignore[no-untyped-def]
        texts = track.texts(1, 6)
        dynamics = any(text.strip() == _MID_DYNAMICS for _, text in texts)
        five = _mid_five_lane(track) if five_lane is None else five_lane
        out = {}
        for level in levels:
            found = _mid_gems(track, level, dynamics=dynamics, plus=plus, five_lane=five)
            if not five:  # the games flip only four-lane (pro) drums
                found = _disco_flipped(found, _disco_spans(texts, level))
            out[level] = found.part(tpq)
        return out

    drums = scan_track(chunks[index], label=label)
    parts = parts_of(drums, _MID_BASE, plus=False)
    expert_plus: Part | None = None
    if names[index] == "PART DRUMS" and _MID_EXPERT_PLUS_TRACK in names:
        two = scan_track(chunks[names.index(_MID_EXPERT_PLUS_TRACK)], label=label)
        expert_plus = parts_of(two, [Level.EXPERT], plus=True)[Level.EXPERT]  # its Expert
    elif (drums.on_note == _MID_EXPERT_PLUS_KICK).any():
        expert_plus = parts_of(drums, [Level.EXPERT], plus=True)[Level.EXPERT]

    spans: dict[Level, list[tuple[float, float, int]]] = {Level.EXPERT: [], Level.HARD: []}
    for note, lanes in _MID_ROLL.items():
        starts, ends = _held(drums, note)
        on = drums.on_note == note
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            span = (start / tpq, end / tpq, lanes)
            spans[Level.EXPERT].append(span)
            velocity = drums.on_velocity[on & (drums.on_tick == start)]
            if velocity.size and int(velocity[0]) in _MID_ROLL_HARD_VELOCITY:
                spans[Level.HARD].append(span)
    rolls = {lv: _rolls(parts[lv], sp) for lv, sp in spans.items() if sp and lv in parts}

    title = names[0]
    if title.startswith("PART ") or title in {"EVENTS", ""}:
        title = p.parent.name if p.stem.lower() == "notes" else p.stem
    metadata = {"source_format": "notes.mid"}
    five = _mid_five_lane(drums) if five_lane is None else five_lane
    if five:
        metadata[FIVE_LANE] = "true"
    elif not np.isin(drums.on_note, list(_MID_TOM_MARKERS)).any():
        metadata[PADS] = "cymbals"  # made for four pads: read as cymbals, judged by pad
    return _finish_chart(
        title=title,
        artist="",
        tempo_map=tempo_map,
        parts=parts,
        sections=sections,
        end_qn=end_qn or _song_end_qn(tempo_map, max(last_tick, drums.end_tick) / tpq),
        metadata=metadata,
        where=label,
        found=[f"{names[index]} without notes"],
        expert_plus=expert_plus,
        rolls=rolls,
        ticks_per_qn=tpq,
    )


# ---------------------------------------------------------------------------- GM MIDI
def read_gm_midi(path: str | Path, *, kit: str | None = None) -> Chart:
    """Read a plain Standard MIDI drum track (General MIDI or a kit map) as an Expert part.

    The notes keep their exact positions on the file's tick grid, so a drummer's
    recorded microtiming stays in the part; marker events become sections.
    """
    from cymbalism.io.midi import read_midi

    p = Path(path)
    perf = read_midi(p, kit=kit)
    part = Part.from_arrays(perf.onset_qn, perf.hits.lane, perf.hits.velocity)
    return _finish_chart(
        title=p.stem,
        artist="",
        tempo_map=perf.tempo_map,
        parts={Level.EXPERT: part},
        sections=list(perf.sections),
        end_qn=float(perf.tempo_map.sec_to_qn(perf.end_sec)),
        metadata={"source_format": "midi", "kit": perf.kit},
        where=str(p),
        found=[],
    )


# ---------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class Folds:
    """The notes a chart format could not hold as they were, counted per level.

    Attributes
    ----------
    format : str
        The format written (``".chart"``, ``"notes.mid"``, ``"MIDI"``).
    moved : dict of str to dict of str to int
        Per level (``"Expert"``, ``"Expert+"``, ...): notes written on another drum than
        their own, per kind (``"open hi-hat as hi-hat"``).
    dropped : dict of str to dict of str to int
        Per level: notes not written, per kind (``"hi-hat pedal (no pad)"``).
    levels_left_out : dict of str to int
        Whole parts the format has no slot for (a Beginner part beside an Easy one),
        with their numbers of notes.
    tempos_changed : int
        Tempo changes the format cannot hold as they are (a MIDI file holds 3.58 BPM and
        faster), written as the nearest tempo it holds. Not notes, so not in ``total``.
    """

    format: str
    moved: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    dropped: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    levels_left_out: Mapping[str, int] = field(default_factory=dict)
    tempos_changed: int = 0

    def n_moved(self, level: str | None = None) -> int:
        """Notes written on another drum (on ``level``, or on every level)."""
        return _tally(self.moved, level)

    def n_dropped(self, level: str | None = None) -> int:
        """Notes not written (on ``level``, or on every level), whole parts excluded."""
        return _tally(self.dropped, level)

    @property
    def total(self) -> int:
        """Every note not written as it was: moved, dropped, and those of parts left out."""
        return self.n_moved() + self.n_dropped() + sum(self.levels_left_out.values())

    def __bool__(self) -> bool:
        return self.total > 0 or self.tempos_changed > 0

    def describe(self) -> str:
        """One paragraph for people: what was folded, per level, and how to keep it."""
        tempos = (
            f"; {self.tempos_changed} tempos written as the nearest the format holds"
            if self.tempos_changed
            else ""
        )
        if not self.total:
            return f"every note fits in the {self.format} file{tempos}"
        said: list[str] = []
        for verb, table in (("moved", self.moved), ("left out", self.dropped)):
            for level, kinds in table.items():
                items = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
                said.append(f"{level}: {verb} {items}")
        for level, n in self.levels_left_out.items():
            said.append(f"the {level} part ({n} notes) left out: the format has no slot for it")
        return (
            f"folded {self.total} notes to fit the {self.format} format ({'; '.join(said)}); "
            f"a .mid file keeps every note of one level{tempos}"
        )


def _tally(table: Mapping[str, Mapping[str, int]], level: str | None) -> int:
    rows = [table.get(level, {})] if level is not None else list(table.values())
    return sum(sum(kinds.values()) for kinds in rows)


class SavedChart(os.PathLike):  # type: ignore[type-arg]
    """A written chart file: its path (usable wherever a path is) and its :class:`Folds`."""

    __slots__ = ("folds", "path")

    def __init__(self, path: Path, folds: Folds) -> None:
        self.path = Path(path)
        self.folds = folds

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"SavedChart({str(self.path)!r}, folded={self.folds.total})"


_Row = tuple[int, int, bool, str]  # tick, pad, cymbal, dynamics


class _FoldTally:
    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.moved: dict[str, Counter[str]] = {}
        self.dropped: dict[str, Counter[str]] = {}
        self.left_out: dict[str, int] = {}
        self.tempos_changed = 0
        # toms written elsewhere, by (level, tick, pad): their own lane and the kind of move
        self.toms: dict[tuple[str, int, int], tuple[Lane, str]] = {}

    def move(self, level: str, kind: str) -> None:
        self.moved.setdefault(level, Counter())[kind] += 1

    def move_tom(
        self, level: str, tick: int, pad: int, own: Lane, why: str, *, cymbal: bool = False
    ) -> None:
        """A tom of lane ``own`` written on ``pad`` (as that pad's cymbal if ``cymbal``);
        a tom moved twice counts once."""
        where = Lane(int(_CYMBAL_LANE[pad])) if cymbal else _PAD_TOM[pad]
        self.toms[(level, tick, pad)] = (own, f"{own.label} as {where.label} ({why})")

    def tom_at(self, level: str, tick: int, pad: int) -> Lane:
        """The tom written on ``pad`` at ``tick`` (its own lane, before any move), which is
        about to move again: its earlier move is forgotten."""
        own, _ = self.toms.pop((level, tick, pad), (_PAD_TOM[pad], ""))
        return own

    def drop(self, level: str, kind: str) -> None:
        self.dropped.setdefault(level, Counter())[kind] += 1

    def folds(self) -> Folds:
        moved = {lv: Counter(c) for lv, c in self.moved.items()}
        for (level, _, _), (_, kind) in self.toms.items():
            moved.setdefault(level, Counter())[kind] += 1
        return Folds(
            self.format,
            {lv: dict(c) for lv, c in moved.items()},
            {lv: dict(c) for lv, c in self.dropped.items()},
            dict(self.left_out),
            self.tempos_changed,
        )


def _velocity_flag(velocity: int) -> str:
    if velocity <= GHOST_MAX_VELOCITY:
        return "ghost"
    if velocity >= ACCENT_VELOCITY:
        return "accent"
    return ""


_PAD_TOM = {_YELLOW: Lane.TOM_HIGH, _BLUE: Lane.TOM_MID, _GREEN: Lane.TOM_FLOOR}


def _layout(part: Part, ticks_per_qn: int, level: str, tally: _FoldTally) -> list[_Row]:
    """The rows (tick, pad, cymbal, dynamics) of a part in a game format, one note per pad
    and tick. Cymbals, the kick and the snare take their pads first, then the toms; a tom
    whose pad a cymbal holds moves to the nearest free tom pad. Whatever cannot be placed
    is tallied."""
    ticks = np.rint(part.qn * ticks_per_qn).astype(np.int64)
    lanes = [Lane(int(x)) for x in part.lane]
    taken: dict[tuple[int, int], tuple[Lane, bool, str]] = {}
    waiting: list[int] = []
    order = sorted(range(len(lanes)), key=lambda k: lanes[k] in _TOM_PADS)
    for k in order:
        lane, tick = lanes[k], int(ticks[k])
        if lane not in _LANE_PAD:
            tally.drop(level, f"{lane.label} (no pad)")
            continue
        own, cymbal = _LANE_PAD[lane]
        holder = taken.get((tick, own))
        if holder is None:
            dyn = _velocity_flag(int(part.velocity[k])) if own != _KICK else ""
            taken[(tick, own)] = (lane, cymbal, dyn)
            if lane == Lane.HIHAT_OPEN:
                tally.move(level, "open hi-hat as hi-hat")
        elif _LANE_PAD[holder[0]] == (own, cymbal):
            tally.drop(level, f"{lane.label} (merged with the same drum at that moment)")
        elif lane in _TOM_PADS:
            waiting.append(k)
        else:
            tally.drop(level, f"{lane.label} (its pad was taken at that moment)")
    for k in waiting:  # toms whose pad a cymbal holds
        lane, tick = lanes[k], int(ticks[k])
        pad = next((x for x in _TOM_PADS[lane] if (tick, x) not in taken), None)
        if pad is None:
            tally.drop(level, f"{lane.label} (no free tom pad at that moment)")
            continue
        taken[(tick, pad)] = (lane, False, _velocity_flag(int(part.velocity[k])))
        tally.move_tom(level, tick, pad, lane, "a cymbal held its pad")
    return [(t, p, c, d) for (t, p), (_, c, d) in sorted(taken.items())]


def _game_levels(chart: Chart, tally: _FoldTally) -> dict[Level, Part]:
    """The parts the four-difficulty formats can hold (Beginner only in a free Easy slot)."""
    parts = {lv: p for lv, p in chart.parts.items() if lv in CHART_LEVELS}
    if Level.BEGINNER in chart.parts:
        if Level.EASY not in parts:
            parts[Level.EASY] = chart.parts[Level.BEGINNER]
        else:
            tally.left_out[Level.BEGINNER.label] = len(chart.parts[Level.BEGINNER])
    return dict(sorted(parts.items()))


@dataclass(frozen=True)
class _GameChart:
    """A chart laid out for a game format: rows per level, and the Expert+ part as extra
    kicks on the Expert rows (``double_kicks``) or, when it differs from Expert in more
    than kicks, whole (``expert_plus_rows``). ``plus_layout`` is the Expert+ part's rows
    either way (None without one)."""

    rows: dict[Level, list[_Row]]
    double_kicks: list[int]
    expert_plus_rows: list[_Row] | None
    plus_layout: list[_Row] | None
    tally: _FoldTally


def _game_chart(chart: Chart, ticks_per_qn: int, fmt: str) -> _GameChart:
    tally = _FoldTally(fmt)
    rows = {
        lv: _layout(part, ticks_per_qn, lv.label, tally)
        for lv, part in _game_levels(chart, tally).items()
    }
    double: list[int] = []
    whole: list[_Row] | None = None
    plus: list[_Row] | None = None
    if chart.expert_plus is not None:
        plus = _layout(chart.expert_plus, ticks_per_qn, EXPERT_PLUS, tally)
        expert = set(rows.get(Level.EXPERT, []))
        extra = [r for r in plus if r not in expert]
        if Level.EXPERT in rows and expert <= set(plus) and all(r[1] == _KICK for r in extra):
            double = [r[0] for r in extra]
        else:
            whole = plus
    return _GameChart(rows, double, whole, plus, tally)


def _one_marker_per_moment(rows: dict[str, list[_Row]], tally: _FoldTally) -> dict[str, list[_Row]]:
    """In a MIDI chart a tom marker covers a pad at a moment in every difficulty. Where
    one difficulty has a tom and another a cymbal on the same pad at the same moment,
    the tom moves to a free tom pad of its difficulty; with none free, it is written
    under the cymbal and reads back as that cymbal (tallied either way). ``rows`` are
    keyed by the levels' names."""
    cymbals = {(t, p) for rs in rows.values() for t, p, c, _ in rs if c}
    out: dict[str, list[_Row]] = {}
    for level, rs in rows.items():
        used = {(t, p) for t, p, _, _ in rs}
        fixed: list[_Row] = []
        for t, p, c, d in rs:
            if c or p < _YELLOW or (t, p) not in cymbals:
                fixed.append((t, p, c, d))
                continue
            tom = tally.tom_at(level, t, p)
            free = [x for x in _TOM_PADS[tom] if (t, x) not in used and (t, x) not in cymbals]
            if free:
                used.add((t, free[0]))
                fixed.append((t, free[0], False, d))
                tally.move_tom(level, t, free[0], tom, "a cymbal held its pad on another level")
            else:
                fixed.append((t, p, True, d))
                tally.move_tom(level, t, p, tom, "no free tom pad", cymbal=True)
        out[level] = sorted(fixed)
    return out


def _tick(qn: float, ticks_per_qn: int) -> int:
    return round(float(qn) * ticks_per_qn)


def _roll_ticks(chart: Chart, level: Level, resolution: int) -> list[tuple[int, int, int]]:
    """The rolls of ``level`` as (start tick, end tick, 1 for a drum roll or 2 for a swell)."""
    return [
        (_tick(r.start_qn, resolution), _tick(r.end_qn, resolution), len(r.lanes))
        for r in chart.rolls.get(level, ())
    ]


def _chart_text(chart: Chart, resolution: int) -> tuple[str, Folds]:
    if resolution <= 0:
        raise InputError(f"resolution must be a positive number of ticks, got {resolution}")

    def q(text: str) -> str:
        return '"' + text.replace('"', "'") + '"'

    lines = ["[Song]", "{", f"  Name = {q(chart.title)}"]
    if chart.artist:
        lines.append(f"  Artist = {q(chart.artist)}")
    offset = chart.metadata.get("offset_sec", "0")
    lines += [f"  Offset = {float(offset):g}", f"  Resolution = {resolution}"]
    for key, value in chart.metadata.items():
        if key in {"offset_sec", "source_format", "name", "artist", "resolution", "offset"}:
            continue
        if key == FIVE_LANE:  # written as pro drums: no longer five-lane
            continue
        if not key.isidentifier():
            continue
        lines.append(f"  {key.capitalize()} = {q(str(value))}")
    lines += ["}", "[SyncTrack]", "{"]
    tm = chart.tempo_map
    sync: list[tuple[int, int, str]] = []
    for qn, num, den in tm.time_signatures:
        exp = int(den).bit_length() - 1
        sync.append((_tick(qn, resolution), 0, f"TS {num}" + (f" {exp}" if den != 4 else "")))
    for qn, bpm in tm.tempos:
        sync.append((_tick(qn, resolution), 1, f"B {max(1, round(bpm * 1000))}"))
    lines += [f"  {t} = {ev}" for t, _, ev in sorted(sync)]
    lines += ["}", "[Events]", "{"]
    events = [(_tick(qn, resolution), f'E "section {name}"') for qn, name in chart.sections]
    events.append((_tick(chart.end_qn, resolution), 'E "end"'))
    lines += [f"  {t} = {ev}" for t, ev in sorted(events, key=lambda x: x[0])]
    lines.append("}")
    game = _game_chart(chart, resolution, ".chart")

    def section(name: str, rows: list[_Row], double: list[int], level: Level) -> list[str]:
        out = [f"[{name}]", "{"]
        for tick, pad, cymbal, dyn in sorted([*rows, *((t, 32, False, "") for t in double)]):
            out.append(f"  {tick} = N {pad} 0")
            if cymbal:
                out.append(f"  {tick} = N {64 + pad} 0")
            if dyn == "accent":
                out.append(f"  {tick} = N {33 + pad} 0")
            elif dyn == "ghost":
                out.append(f"  {tick} = N {39 + pad} 0")
        for start, end, kind in _roll_ticks(chart, level, resolution):
            out.append(f"  {start} = S {64 + kind} {end - start}")
        return [*out, "}"]

    for level, rows in game.rows.items():
        double = game.double_kicks if level == Level.EXPERT else []
        lines += section(f"{CHART_LEVELS[level]}Drums", rows, double, level)
    if game.expert_plus_rows is not None:
        lines += section(_CH_EXPERT_PLUS_SECTION, game.expert_plus_rows, [], Level.EXPERT)
    return "\n".join(lines) + "\n", game.tally.folds()


def format_chart_text(chart: Chart, *, resolution: int = 192) -> str:
    """Write a chart as the text of a Clone Hero ``.chart`` file (pro drums).

    Parameters
    ----------
    chart : Chart
    resolution : int
        Ticks per quarter note; 192 holds 16ths, 32nds and triplets exactly.

    Returns
    -------
    text : str
        What :func:`write_chart_file` writes; it tells what was folded to fit.
    """
    return _chart_text(chart, resolution)[0]


def write_chart_file(path: str | Path, chart: Chart, *, resolution: int = 192) -> SavedChart:
    """Write a chart to a Clone Hero ``.chart`` file; see :func:`format_chart_text`.

    Returns
    -------
    saved : SavedChart
        The path written and the :class:`Folds` of the notes the format could not hold.
    """
    p = Path(path)
    text, folds = _chart_text(chart, resolution)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return SavedChart(p, folds)


def _mido():  # type: ignore[no-untyped-def]
    import mido

    return mido


def write_notes_mid(path: str | Path, chart: Chart, *, ticks_per_qn: int = 480) -> SavedChart:
    """Write a chart as a Rock Band / Clone Hero ``notes.mid`` (pro drums, with dynamics).

    The file has a tempo track (named after the song), ``PART DRUMS`` with every
    difficulty the format holds, tom markers and the Expert+ kicks (95), and ``EVENTS``
    with the sections. An Expert+ part that differs from Expert in more than kicks is
    written whole, as the Expert of a ``PART DRUMS_2X`` track.

    Returns
    -------
    saved : SavedChart
        The path written and the :class:`Folds` of the notes the format could not hold.
    """
    mido = _mido()
    p = Path(path)
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_qn)

    def track(name: str, events: list[tuple[int, int, object]]):  # type: ignore[no-untyped-def]
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=name, time=0))
        last = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            tr.append(msg.copy(time=tick - last))  # type: ignore[attr-defined]
            last = tick
        tr.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(tr)

    tm = chart.tempo_map
    game = _game_chart(chart, ticks_per_qn, "notes.mid")
    tempo_ev: list[tuple[int, int, object]] = []
    for qn, num, den in tm.time_signatures:
        tempo_ev.append(
            (
                _tick(qn, ticks_per_qn),
                0,
                mido.MetaMessage("time_signature", numerator=num, denominator=den),
            )
        )
    for qn, bpm in tm.tempos:
        mspq = round(60_000_000 / bpm)
        if not 1 <= mspq <= _MID_MAX_MSPQ:
            game.tally.tempos_changed += 1
            mspq = min(max(1, mspq), _MID_MAX_MSPQ)
        tempo_ev.append((_tick(qn, ticks_per_qn), 1, mido.MetaMessage("set_tempo", tempo=mspq)))
    track(chart.title or "cymbalism", tempo_ev)

    by_name = {lv.label: rs for lv, rs in game.rows.items()}
    if game.double_kicks and game.plus_layout is not None:
        # Expert+ is the Expert rows and its kicks: whatever moves in Expert moves in it
        by_name[EXPERT_PLUS] = game.plus_layout
    fixed = _one_marker_per_moment(by_name, game.tally)
    rows = {lv: fixed[lv.label] for lv in game.rows}
    plus_rows = game.expert_plus_rows
    if plus_rows is not None:
        plus_rows = _one_marker_per_moment({EXPERT_PLUS: plus_rows}, game.tally)[EXPERT_PLUS]
    gem_len = max(1, ticks_per_qn // 8)

    def drum_events(rows: Mapping[Level, list[_Row]], double: list[int]):  # type: ignore[no-untyped-def]
        events: list[tuple[int, int, object]] = []
        if any(dyn for rs in rows.values() for *_, dyn in rs):
            events.append((0, 0, mido.MetaMessage("text", text=_MID_DYNAMICS)))
        tom_ticks: dict[int, set[int]] = {pad: set() for pad in (_YELLOW, _BLUE, _GREEN)}
        notes = [
            (tick, _MID_BASE[level] + pad, {"ghost": 1, "accent": 127}.get(dyn, 100))
            for level, rs in rows.items()
            for tick, pad, cymbal, dyn in rs
        ]
        notes += [(tick, _MID_EXPERT_PLUS_KICK, 100) for tick in double]
        for rs in rows.values():
            for tick, pad, cymbal, _ in rs:
                if pad in tom_ticks and not cymbal:
                    tom_ticks[pad].add(tick)
        for marker, pad in _MID_TOM_MARKERS.items():
            # one tick long: the marker covers this moment only, in every difficulty
            notes += [(tick, marker, 100) for tick in tom_ticks[pad]]
        for tick, note, vel in notes:
            length = 1 if note in _MID_TOM_MARKERS else gem_len
            events.append((tick, 2, mido.Message("note_on", channel=9, note=note, velocity=vel)))
            events.append((tick + length, 1, mido.Message("note_off", channel=9, note=note)))
        return events

    drums = drum_events(rows, game.double_kicks)
    hard = set(_roll_ticks(chart, Level.HARD, ticks_per_qn))
    for start, end, kind in _roll_ticks(chart, Level.EXPERT, ticks_per_qn):
        note = 125 + kind  # 126 a drum roll, 127 a swell; at 41-50 for Hard too
        vel = _MID_ROLL_HARD_VELOCITY.start if (start, end, kind) in hard else 100
        drums.append((start, 2, mido.Message("note_on", channel=9, note=note, velocity=vel)))
        drums.append((end, 1, mido.Message("note_off", channel=9, note=note)))
    track("PART DRUMS", drums)
    if plus_rows is not None:
        track(_MID_EXPERT_PLUS_TRACK, drum_events({Level.EXPERT: plus_rows}, []))

    events: list[tuple[int, int, object]] = [
        (
            _tick(qn, ticks_per_qn),
            0,
            mido.MetaMessage("text", text=f"[section {name.replace(' ', '_')}]"),
        )
        for qn, name in chart.sections
    ]
    events.append((_tick(chart.end_qn, ticks_per_qn), 1, mido.MetaMessage("text", text="[end]")))
    track("EVENTS", events)
    p.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(p))
    return SavedChart(p, game.tally.folds())


# ---------------------------------------------------------------------------- song folders
_CH_DRUM_HEADER = re.compile(r"^[ \t]*\[(?:Easy|Medium|Hard|Expert)(?:Double)?Drums\]", re.M)


def _has_drum_part(path: Path) -> bool:
    """Whether a chart file holds a drum part: a .mid a drum track, a .chart a drum section."""
    raw = _read_bytes(path, "chart file")
    if path.suffix.lower() == ".chart":
        return bool(_CH_DRUM_HEADER.search(decode_text(raw, source=str(path))))
    from cymbalism.io.midi import track_chunks, track_name

    try:
        _, chunks = track_chunks(raw, str(path))
    except InputError:
        return False
    return _mid_drum_track([track_name(c) for c in chunks]) is not None


def find_chart_file(folder: str | Path) -> Path:
    """The drum chart of a song folder, found as the games find a chart.

    ``notes.mid``, ``notes.midi`` and ``notes.chart`` come first, in that order, as YARG
    takes them (a folder that holds both plays the MIDI chart); then any other
    ``.chart`` with a drum section or ``.mid`` with a drum track (Rock Band Network and
    Rock Band 3 customs keep their MIDI under the song's name), by name. When a folder
    holds one chart file only, it is taken without reading it first.

    Raises
    ------
    NotFoundError
        If the folder holds no chart file.
    InputError
        If it holds chart files but none with a drum part.
    """
    p = Path(folder)
    try:
        names = [f.name for f in p.iterdir() if f.is_file()]
    except FileNotFoundError:
        raise NotFoundError(f"no song folder at {p}") from None
    except OSError as exc:
        raise InputError(f"cannot list {p}: {exc.strerror}") from None
    return pick_chart_file(p, names)


def pick_chart_file(folder: Path, names: Iterable[str]) -> Path:
    """The drum chart among the files ``names`` of a song folder (see :func:`find_chart_file`)."""
    files = [n for n in names if Path(n).suffix.lower() in CHART_SUFFIXES]
    if not files:
        raise NotFoundError(f"{folder} is a folder without a chart (no .chart or .mid file)")
    rank = {"notes.mid": 0, "notes.midi": 1, "notes.chart": 2}
    files.sort(key=lambda n: (rank.get(n.lower(), 3), n.lower()))
    if len(files) == 1:
        return folder / files[0]
    for name in files:
        if _has_drum_part(folder / name):
            return folder / name
    plain = next((n for n in files if _is_drum_performance(folder / n)), None)
    hint = (
        f"; {plain} is a plain drum MIDI file, a song of its own: give the file itself "
        f"({folder / plain})"
        if plain is not None
        else ""
    )
    raise InputError(f"{folder}: none of its charts has a drum part ({', '.join(files)}){hint}")


def _is_drum_performance(path: Path) -> bool:
    """Whether a file is a plain drum MIDI file (General MIDI or an e-kit's), not a chart."""
    if path.suffix.lower() not in {".mid", ".midi"}:
        return False
    from cymbalism.errors import CymbalismError
    from cymbalism.io.midi import read_midi

    try:
        return len(read_midi(path).hits) > 0
    except CymbalismError:
        return False


def read_song_ini(path: str | Path) -> dict[str, str]:
    """The ``[song]`` entries of a Clone Hero ``song.ini``, keys in lower case.

    Read as the games read it: any encoding (:func:`cymbalism.io.text.decode_text`),
    the section name in any case, lines that are not ``key = value`` skipped, and a file
    without a section header read as the song's entries.

    Raises
    ------
    NotFoundError
        If there is no file.
    """
    p = Path(path)
    text = decode_text(_read_bytes(p, "song.ini"), source=str(p))
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, allow_no_value=True, comment_prefixes=(";", "#", "//")
    )
    parser.optionxform = str.lower  # type: ignore[assignment,method-assign]
    if not re.match(r"\s*\[", text):
        text = "[song]\n" + text
    try:
        parser.read_string(text, source=str(p))
    except configparser.ParsingError:
        pass  # the lines that could be read are kept
    except configparser.Error as exc:
        raise InputError(f"{p}: cannot read it ({exc.message.splitlines()[0]})") from None
    section = next((parser[n] for n in parser.sections() if n.strip().lower() == "song"), None)
    if section is None:
        return {}
    return {k: (v or "").strip() for k, v in section.items()}


def _ini_flag(song: Mapping[str, str], key: str) -> bool:
    """Whether a ``song.ini`` entry says yes (``True`` or ``1``, in any case)."""
    return song.get(key, "").strip().lower() in {"true", "1"}


def apply_song_ini(chart: Chart, song: Mapping[str, str]) -> Chart:
    """The chart with the title, artist and credits of a ``song.ini`` (from
    :func:`read_song_ini`) in place of its own; with ``pro_drums = True`` its pads are
    the drums it reads (not a chart made for four pads, :data:`~cymbalism.model.chart.PADS`)."""
    if not song:
        return chart
    extra = {k: song[k] for k in ("charter", "genre", "year", "album") if song.get(k)}
    metadata = {**chart.metadata, **extra}
    if _ini_flag(song, "pro_drums"):
        metadata.pop(PADS, None)
    return replace(
        chart,
        title=song.get("name") or chart.title,
        artist=song.get("artist") or chart.artist,
        metadata=metadata,
    )


def _song_ini_at(ini: Path) -> dict[str, str]:
    """The entries of a Clone Hero ``song.ini``, or none when there is no such file."""
    return read_song_ini(ini) if ini.is_file() else {}


def _five_lane(song: Mapping[str, str]) -> bool | None:
    """``song.ini``'s ``five_lane_drums = True`` makes the drums five-lane, as the games
    read it; otherwise the notes decide."""
    return True if _ini_flag(song, "five_lane_drums") else None


def read_game_chart(path: str | Path, *, song: Mapping[str, str] | None = None) -> Chart:
    """A chart file of a song folder: a ``.chart``, or a MIDI chart with a drum track
    (a MIDI file without one is an error here, not a drum performance). ``song`` (the
    folder's ``song.ini`` entries) can say the drums are five-lane (``five_lane_drums``);
    the chart's own title and credits are kept (see :func:`apply_song_ini`)."""
    p = Path(path)
    five_lane = _five_lane(song or {})
    if p.suffix.lower() == ".chart":
        return read_chart_file(p, five_lane=five_lane)
    try:
        return read_notes_mid(p, five_lane=five_lane)
    except InputError as exc:
        if not _is_drum_performance(p):  # no chart, and no drums either
            raise
        raise InputError(
            f"{exc}; it is a plain drum MIDI file, a song of its own: give the file itself ({p})"
        ) from None


def read_chart(path: str | Path, *, kit: str | None = None) -> Chart:
    """Read a chart file of any supported kind, chosen by extension and content.

    ``.chart`` is Clone Hero; ``.mid``/``.midi`` with a ``PART DRUMS`` track is a
    Rock Band / Clone Hero ``notes.mid``; any other MIDI file is a drum performance
    whose notes become the Expert part. A Clone Hero ``song.ini`` beside the file gives
    the title, artist and credits (and, with ``five_lane_drums = True``, says the drums
    are a five-lane kit). A song folder is read through the chart that
    :func:`find_chart_file` finds in it, and a ``.sng`` song package through the song
    folder it holds (:func:`cymbalism.io.sng.song_folder`).
    """
    from cymbalism.io.sng import is_sng, song_folder

    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"no chart file at {p}")
    if is_sng(p) and p.is_file():
        p = song_folder(p, audio=False)
    if p.is_dir():
        song = _song_ini_at(p / "song.ini")
        return apply_song_ini(read_game_chart(find_chart_file(p), song=song), song)
    suffix = p.suffix.lower()
    song = _song_ini_at(p.parent / "song.ini")
    if suffix == ".chart":
        chart = read_chart_file(p, five_lane=_five_lane(song))
    elif suffix in {".mid", ".midi"}:
        if _has_drum_part(p):
            chart = read_notes_mid(p, five_lane=_five_lane(song))
        else:
            chart = read_gm_midi(p, kit=kit)
    else:
        raise InputError(
            f"{p}: unknown chart format {suffix!r} (use .chart, notes.mid, .mid, .sng "
            "or a song folder)"
        )
    return apply_song_ini(chart, song)


def save_chart(path: str | Path, chart: Chart, *, level: Level | str | None = None) -> SavedChart:
    """Write a chart in the format its file name asks for, and say what had to be folded.

    ``*.chart`` writes Clone Hero and ``notes.mid`` a Rock Band / Clone Hero MIDI chart,
    both with every difficulty they hold and the Expert+ part. Any other ``.mid``/``.midi``
    name writes one part (``level``, the hardest by default) as a General MIDI drum file
    that a DAW or an e-kit plays, through :func:`cymbalism.io.midi.write_chart`: it holds
    every note of that part.

    Returns
    -------
    saved : SavedChart
        Usable as the path written; ``saved.folds`` counts, per level, the notes the
        format could not hold as they were (see :class:`Folds`).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".chart":
        return write_chart_file(p, chart)
    if p.name.lower() == "notes.mid":
        return write_notes_mid(p, chart)
    if suffix in {".mid", ".midi"}:
        from cymbalism.io.midi import write_chart

        p.parent.mkdir(parents=True, exist_ok=True)
        return SavedChart(write_chart(p, chart, level=level), Folds("MIDI"))
    raise InputError(f"cannot write {p}: use a .chart or .mid file name")


def load_chart(
    spec: str | Path | Chart, *, kit: str | None = None, derive_levels: bool = True
) -> Chart:
    """The one chart resolver: a built-in song name, or a chart file.

    Parameters
    ----------
    spec : str, Path or Chart
        A built-in song (``cymbalism songs`` lists them), a ``.chart``, ``notes.mid``
        or ``.mid`` file, a song folder or a ``.sng`` song package. A Chart is returned
        as it is. A song's name means the song unless a chart by that name is here
        (:func:`cymbalism.songs.names_song`).
    kit : str, optional
        The kit map of a plain MIDI performance.
    derive_levels : bool
        Fill in the levels the file lacks (a plain MIDI file has only the Expert part;
        no file format has Beginner) with :func:`cymbalism.coaching.simplify.simplify_chart`.

    Raises
    ------
    NotFoundError
        If ``spec`` is neither a built-in song nor an existing file.
    """
    if isinstance(spec, Chart):
        return spec
    # The resolver sits above the readers: it also knows the built-in library and the
    # simplifier, imported here so that reading a file needs neither.
    from cymbalism import songs
    from cymbalism.coaching.simplify import simplify_chart
    from cymbalism.io.sng import PACKAGE_SUFFIXES

    text = str(spec)
    p = Path(text).expanduser()
    if songs.names_song(text):
        return songs.get_song(text)
    if p.exists():
        chart = read_chart(p, kit=kit)
        return simplify_chart(chart) if derive_levels else chart
    if p.suffix.lower() in (*CHART_SUFFIXES, *PACKAGE_SUFFIXES) or p.parent != Path("."):
        raise NotFoundError(f"no chart file at {p}")
    raise NotFoundError(
        f"unknown song {text!r}: not a built-in song ({', '.join(songs.song_names())}) "
        "and not a file"
    )
