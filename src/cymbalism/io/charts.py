"""Drum charts as drummers have them: Clone Hero ``.chart``, Rock Band ``notes.mid``, GM MIDI.

This module and :mod:`cymbalism.io.midi` are the only places that know about ticks.
Everything they return is a :class:`~cymbalism.model.chart.Chart` in quarter notes.

Formats
-------
Clone Hero ``.chart`` (text)
    ``[Song]`` gives ``Resolution`` (ticks per quarter note) and ``Offset`` (the audio's
    offset in seconds, kept in ``metadata["offset_sec"]``). ``[SyncTrack]`` holds tempos
    (``B`` in thousandths of a BPM) and time signatures (``TS num [exp]``, the denominator
    being ``2**exp``, 4 when absent). ``[Events]`` holds ``section NAME`` and ``end``.
    ``[EasyDrums]`` .. ``[ExpertDrums]`` hold notes ``tick = N pad length``: pad 0 kick,
    1 red, 2 yellow, 3 blue, 4 green (orange in five-lane charts), 5 green of five-lane
    charts, 32 the second kick of double-kick (Expert+) charts, 66/67/68 the cymbal
    markers of yellow/blue/green, 34-38 accents and 40-44 ghost notes of pads 1-5,
    109 a flam.
Rock Band / Clone Hero ``notes.mid`` (a Standard MIDI file)
    The track ``PART DRUMS`` holds the four difficulties at notes 60-64 (Easy), 72-76
    (Medium), 84-88 (Hard) and 96-100 (Expert) as kick, red, yellow, blue, green; 95 is
    the Expert+ second kick. Pads are cymbals unless a tom marker (110 yellow, 111 blue,
    112 green) is held over them. With the text event ``[ENABLE_CHART_DYNAMICS]``,
    velocity 1 marks a ghost note and 127 an accent. The ``EVENTS`` track holds
    ``[section NAME]`` / ``[prc_NAME]`` and ``[end]``.
Plain Standard MIDI drum track (General MIDI or an e-kit map)
    Read through :func:`cymbalism.io.midi.read_midi` and used as the Expert part.

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
four-lane chart without markers therefore reads as toms only. The open hi-hat is written as the
yellow cymbal and the hi-hat pedal is not written (neither format has a pad for it);
flams are read as single notes.

Neither format has a Beginner difficulty: a chart's Beginner part is written in the
Easy slot when the chart has no Easy part, and left out otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import (
    ACCENT_VELOCITY,
    GHOST_MAX_VELOCITY,
    GHOST_VELOCITY,
    NORMAL_VELOCITY,
    Chart,
    Level,
    Part,
)
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

__all__ = [
    "CHART_LEVELS",
    "format_chart_text",
    "load_chart",
    "parse_chart_text",
    "read_chart",
    "read_chart_file",
    "read_gm_midi",
    "read_notes_mid",
    "save_chart",
    "write_chart_file",
    "write_notes_mid",
]

#: The four difficulties of Clone Hero and Rock Band, with their names in each format.
CHART_LEVELS: Mapping[Level, str] = {
    Level.EASY: "Easy",
    Level.MEDIUM: "Medium",
    Level.HARD: "Hard",
    Level.EXPERT: "Expert",
}
_MID_BASE: Mapping[Level, int] = {
    Level.EASY: 60,
    Level.MEDIUM: 72,
    Level.HARD: 84,
    Level.EXPERT: 96,
}
_MID_EXPERT_PLUS_KICK = 95
_MID_TOM_MARKERS = {110: 2, 111: 3, 112: 4}  # marker note -> pad
_MID_DYNAMICS = "[ENABLE_CHART_DYNAMICS]"

# Pads: 0 kick, 1 red, 2 yellow, 3 blue, 4 green (orange in five-lane), 5 five-lane green.
_KICK, _RED, _YELLOW, _BLUE, _GREEN = range(5)
_FIVE_LANE_GREEN = 5
_TOM_LANE = {
    _YELLOW: Lane.TOM_HIGH,
    _BLUE: Lane.TOM_MID,
    _GREEN: Lane.TOM_FLOOR,
    _FIVE_LANE_GREEN: Lane.TOM_FLOOR,
}
_CYMBAL_LANE = {_YELLOW: Lane.HIHAT_CLOSED, _BLUE: Lane.RIDE, _GREEN: Lane.CRASH}
#: lane -> (pad, is cymbal); lanes missing here cannot be written.
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

# .chart note numbers
_CH_EXPERT_PLUS_KICK = 32
_CH_CYMBAL = {66: _YELLOW, 67: _BLUE, 68: _GREEN}
_CH_ACCENT = range(34, 39)  # pads 1-5
_CH_GHOST = range(40, 45)
_CH_FLAM = 109

_GUITAR_TRACKS = (
    "Single",
    "DoubleGuitar",
    "DoubleBass",
    "DoubleRhythm",
    "Keyboard",
    "GHLGuitar",
    "GHLBass",
    "GHLRhythm",
    "GHLCoop",
)
_KNOWN_SECTIONS = (
    {"Song", "SyncTrack", "Events"}
    | {f"{d}Drums" for d in CHART_LEVELS.values()}
    | {f"{d}{t}" for d in CHART_LEVELS.values() for t in _GUITAR_TRACKS}
)


@dataclass
class _Note:
    """One gem while reading: its pad and flags, before lanes are decided."""

    pad: int
    cymbal: bool = False
    accent: bool = False
    ghost: bool = False


def _gems_to_part(gems: Mapping[int, dict[int, _Note]], ticks_per_qn: int) -> Part:
    """Turn ``{tick: {pad: note}}`` into a Part."""
    qn: list[float] = []
    lanes: list[int] = []
    vel: list[int] = []
    for tick in sorted(gems):
        for pad, note in sorted(gems[tick].items()):
            if pad == _KICK:
                lane = Lane.KICK
            elif pad == _RED:
                lane = Lane.SNARE
            else:
                lane = (_CYMBAL_LANE if note.cymbal else _TOM_LANE)[pad]
            qn.append(tick / ticks_per_qn)
            lanes.append(int(lane))
            if note.ghost:
                vel.append(GHOST_VELOCITY)
            elif note.accent:
                vel.append(ACCENT_VELOCITY)
            else:
                vel.append(NORMAL_VELOCITY)
    if not qn:
        return Part.empty()
    return Part.from_arrays(qn, lanes, vel)


def _tempo_map(
    tempos: list[tuple[int, float]],
    sigs: list[tuple[int, int, int]],
    ticks_per_qn: int,
    where: str,
) -> TempoMap:
    """Build a TempoMap from tick positions; a bad change names its tick."""
    tempos = sorted(dict(sorted(tempos)).items())  # the last change at a tick wins
    sigs_d = {t: (n, d) for t, n, d in sorted(sigs)}
    if not tempos or tempos[0][0] != 0:
        tempos.insert(0, (0, 120.0))  # the default of both formats
    if 0 not in sigs_d:
        sigs_d[0] = (4, 4)
    tick_ts = sorted(sigs_d)
    for prev, tick in pairwise(tick_ts):
        n, d = sigs_d[prev]
        bar_ticks = n * 4 * ticks_per_qn / d
        if (tick - prev) % bar_ticks > 1e-6 * ticks_per_qn:
            num, den = sigs_d[tick]
            raise InputError(
                f"{where}: the time signature {num}/{den} at tick {tick} is not on a bar "
                f"line of the {n}/{d} before it (bars are {bar_ticks:g} ticks long there)"
            )
    for tick, bpm in tempos:
        if not 1.0 <= bpm <= 1000.0:
            raise InputError(f"{where}: the tempo {bpm:g} BPM at tick {tick} is not usable")
    return TempoMap(
        [(t / ticks_per_qn, b) for t, b in tempos],
        [(t / ticks_per_qn, sigs_d[t][0], sigs_d[t][1]) for t in tick_ts],
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
) -> Chart:
    parts = {lv: p for lv, p in parts.items() if len(p)}
    if not parts:
        have = ", ".join(found) or "nothing"
        raise InputError(f"{where}: the chart has no drum part (it has: {have})")
    return Chart(
        title=title,
        tempo_map=tempo_map,
        parts=parts,
        sections=tuple(sections),
        end_qn=end_qn,
        artist=artist,
        metadata=metadata,
    )


# ---------------------------------------------------------------------------- .chart
_LINE_RE = re.compile(r"^\s*(\S+)\s*=\s*(.*?)\s*$")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _section_name(event: str) -> str | None:
    """The name of a section event (``section Verse 1``, ``[section verse_1]``,
    ``[prc_verse_1]``), or None for other events."""
    text = event.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    for prefix in ("section ", "section_", "prc_"):
        if text.lower().startswith(prefix):
            return text[len(prefix) :].strip()
    return None


def parse_chart_text(text: str, *, source: str = "<chart>") -> Chart:
    """Parse the text of a Clone Hero ``.chart`` file.

    Parameters
    ----------
    text : str
        The whole file.
    source : str
        A name for the text (its path), used in error messages.

    Returns
    -------
    chart : Chart
        One part per drum difficulty present, sections from ``[Events]``.

    Raises
    ------
    InputError
        If a line cannot be read (naming its line number), a section is unknown, a tick
        is not a non-negative integer, or the chart has no drum notes.
    """
    sections: dict[str, list[tuple[int, int, str, str]]] = {}
    current: str | None = None
    in_braces = False
    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"{source}, line {lineno}"
        if line.startswith("[") and line.endswith("]"):
            if in_braces:
                raise InputError(f"{where}: section {line} starts before the last one closed")
            name = line[1:-1].strip()
            if name not in _KNOWN_SECTIONS:
                raise InputError(
                    f"{where}: unknown section [{name}] (drum sections are [EasyDrums], "
                    "[MediumDrums], [HardDrums] and [ExpertDrums])"
                )
            if name in sections:
                raise InputError(f"{where}: section [{name}] appears twice")
            current = name
            sections[name] = []
            continue
        if line == "{":
            if current is None or in_braces:
                raise InputError(f"{where}: unexpected '{{'")
            in_braces = True
            continue
        if line == "}":
            if not in_braces:
                raise InputError(f"{where}: unexpected '}}'")
            in_braces = False
            current = None
            continue
        if not in_braces or current is None:
            raise InputError(f"{where}: {line[:40]!r} is outside any [section] {{ ... }}")
        m = _LINE_RE.match(line)
        if m is None:
            raise InputError(f"{where}: expected 'key = value', got {line[:40]!r}")
        key, value = m.group(1), m.group(2)
        if current == "Song":
            sections[current].append((lineno, 0, key, value))
            continue
        try:
            tick = int(key)
        except ValueError:
            raise InputError(
                f"{where}: broken tick {key!r} (a tick is a whole number of ticks)"
            ) from None
        if tick < 0:
            raise InputError(f"{where}: negative tick {tick}")
        sections[current].append((lineno, tick, key, value))
    if in_braces:
        raise InputError(f"{source}: the file ends inside a section (a '}}' is missing)")

    song = {key: value for _, _, key, value in sections.get("Song", [])}
    try:
        resolution = int(_unquote(song.get("Resolution", "192")))
    except ValueError:
        raise InputError(
            f"{source}: [Song] Resolution {song['Resolution']!r} is not a number"
        ) from None
    if resolution <= 0:
        raise InputError(f"{source}: [Song] Resolution must be positive, got {resolution}")

    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    for lineno, tick, _, value in sections.get("SyncTrack", []):
        where = f"{source}, line {lineno}"
        fields = value.split()
        try:
            if fields[0] == "B":
                tempos.append((tick, int(fields[1]) / 1000.0))
            elif fields[0] == "TS":
                num = int(fields[1])
                exp = int(fields[2]) if len(fields) > 2 else 2
                if num < 1 or not 0 <= exp <= 6:
                    raise ValueError
                sigs.append((tick, num, 2**exp))
            elif fields[0] == "A":
                continue  # an anchor for chart editors; no musical meaning
            else:
                raise InputError(f"{where}: unknown [SyncTrack] event {fields[0]!r}")
        except (IndexError, ValueError):
            raise InputError(f"{where}: cannot read [SyncTrack] event {value!r}") from None
    tempo_map = _tempo_map(tempos, sigs, resolution, source)

    section_marks: list[tuple[float, str]] = []
    end_qn = 0.0
    for _, tick, _, value in sections.get("Events", []):
        fields = value.split(None, 1)
        if not fields or fields[0] != "E" or len(fields) < 2:
            continue
        event = _unquote(fields[1])
        name = _section_name(event)
        if name is not None:
            section_marks.append((tick / resolution, name))
        elif event.strip().lower() in {"end", "[end]"}:
            end_qn = tick / resolution

    five_lane = any(
        value.split()[:2] == ["N", "5"]
        for name, rows in sections.items()
        if name.endswith("Drums")
        for _, _, _, value in rows
    )
    parts: dict[Level, Part] = {}
    for level, label in CHART_LEVELS.items():
        rows = sections.get(f"{label}Drums")
        if rows is None:
            continue
        gems: dict[int, dict[int, _Note]] = {}
        flags: list[tuple[int, int]] = []  # (tick, marker number)
        for lineno, tick, _, value in rows:
            fields = value.split()
            if not fields or fields[0] != "N":
                continue  # star power (S), local events (E)
            try:
                number = int(fields[1])
            except (IndexError, ValueError):
                raise InputError(f"{source}, line {lineno}: cannot read note {value!r}") from None
            if number == _CH_EXPERT_PLUS_KICK:
                number = _KICK
            if 0 <= number <= 5:
                # five-lane charts: yellow (2) and orange (4) are cymbals, green (5) a tom;
                # four-lane pads are toms until a cymbal marker says otherwise
                cymbal = five_lane and number in (_YELLOW, _GREEN)
                gems.setdefault(tick, {})[number] = _Note(number, cymbal=cymbal)
            else:
                flags.append((tick, number))
        for tick, number in flags:
            at = gems.get(tick, {})
            if number in _CH_CYMBAL and not five_lane:
                if _CH_CYMBAL[number] in at:
                    at[_CH_CYMBAL[number]].cymbal = True
            elif number in _CH_ACCENT and number - 33 in at:
                at[number - 33].accent = True
            elif number in _CH_GHOST and number - 39 in at:
                at[number - 39].ghost = True
            # flams (109), open notes and other markers carry nothing we keep
        parts[level] = _gems_to_part(gems, resolution)

    metadata = {
        key.lower(): _unquote(value)
        for key, value in song.items()
        if key not in {"Name", "Artist", "Resolution", "Offset"}
    }
    offset = _unquote(song.get("Offset", "0"))
    try:
        metadata["offset_sec"] = str(float(offset))
    except ValueError:
        raise InputError(f"{source}: [Song] Offset {offset!r} is not a number of seconds") from None
    metadata["source_format"] = "chart"
    return _finish_chart(
        title=_unquote(song.get("Name", "")) or Path(source).stem,
        artist=_unquote(song.get("Artist", "")),
        tempo_map=tempo_map,
        parts=parts,
        sections=section_marks,
        end_qn=end_qn,
        metadata=metadata,
        where=source,
        found=[f"[{n}]" for n in sections],
    )


def read_chart_file(path: str | Path) -> Chart:
    """Read a Clone Hero ``.chart`` file; see :func:`parse_chart_text`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no chart file at {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from None
    for encoding in ("utf-8-sig", "utf-16", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return parse_chart_text(text, source=str(p))


def _velocity_flag(velocity: int) -> str:
    if velocity <= GHOST_MAX_VELOCITY:
        return "ghost"
    if velocity >= ACCENT_VELOCITY:
        return "accent"
    return ""


def _writable_parts(chart: Chart) -> dict[Level, Part]:
    """The parts the four-difficulty formats can hold (Beginner only in a free Easy slot)."""
    parts = {lv: p for lv, p in chart.parts.items() if lv in CHART_LEVELS}
    if Level.BEGINNER in chart.parts and Level.EASY not in parts:
        parts[Level.EASY] = chart.parts[Level.BEGINNER]
    return dict(sorted(parts.items()))


def _pad_rows(part: Part, ticks_per_qn: int) -> list[tuple[int, int, bool, str]]:
    """(tick, pad, cymbal, dynamics) per writable note; one gem per pad and tick,
    cymbals winning over toms on a shared pad."""
    chosen: dict[tuple[int, int], tuple[bool, str]] = {}
    for qn, lane, vel in zip(part.qn, part.lane, part.velocity, strict=True):
        lane = Lane(int(lane))
        if lane not in _LANE_PAD:
            continue
        pad, cymbal = _LANE_PAD[lane]
        key = (round(float(qn) * ticks_per_qn), pad)
        if key in chosen and chosen[key][0] and not cymbal:
            continue
        chosen[key] = (cymbal, _velocity_flag(int(vel)) if pad != _KICK else "")
    return [(t, p, c, d) for (t, p), (c, d) in sorted(chosen.items())]


def _tick(qn: float, ticks_per_qn: int) -> int:
    return round(float(qn) * ticks_per_qn)


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
    """
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
        sync.append((_tick(qn, resolution), 1, f"B {round(bpm * 1000)}"))
    lines += [f"  {t} = {ev}" for t, _, ev in sorted(sync)]
    lines += ["}", "[Events]", "{"]
    events = [(_tick(qn, resolution), f'E "section {name}"') for qn, name in chart.sections]
    events.append((_tick(chart.end_qn, resolution), 'E "end"'))
    lines += [f"  {t} = {ev}" for t, ev in sorted(events, key=lambda x: x[0])]
    lines.append("}")
    for level, part in _writable_parts(chart).items():
        lines += [f"[{CHART_LEVELS[level]}Drums]", "{"]
        for tick, pad, cymbal, dyn in _pad_rows(part, resolution):
            lines.append(f"  {tick} = N {pad} 0")
            if cymbal:
                lines.append(f"  {tick} = N {64 + pad} 0")
            if dyn == "accent":
                lines.append(f"  {tick} = N {33 + pad} 0")
            elif dyn == "ghost":
                lines.append(f"  {tick} = N {39 + pad} 0")
        lines.append("}")
    return "\n".join(lines) + "\n"


def write_chart_file(path: str | Path, chart: Chart, *, resolution: int = 192) -> Path:
    """Write a chart to a Clone Hero ``.chart`` file; see :func:`format_chart_text`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(format_chart_text(chart, resolution=resolution), encoding="utf-8")
    return p


# ---------------------------------------------------------------------------- notes.mid
def _mido():  # type: ignore[no-untyped-def]
    import mido

    return mido


def _open_midi(path: Path):  # type: ignore[no-untyped-def]
    mido = _mido()
    try:
        return mido.MidiFile(str(path))
    except FileNotFoundError:
        raise NotFoundError(f"no MIDI file at {path}") from None
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise InputError(f"{path} is not a readable MIDI file ({exc})") from None


def _track_name(track) -> str:  # type: ignore[no-untyped-def]
    for msg in track:
        if msg.type == "track_name":
            return str(msg.name).strip()
    return str(getattr(track, "name", "")).strip()


def _drum_track(mid):  # type: ignore[no-untyped-def]
    names = [_track_name(t) for t in mid.tracks]
    for wanted in ("PART DRUMS", "PART DRUMS_2X", "PART REAL_DRUMS_PS"):
        if wanted in names:
            return mid.tracks[names.index(wanted)]
    return None


def read_notes_mid(path: str | Path) -> Chart:
    """Read a Rock Band / Clone Hero ``notes.mid`` (the ``PART DRUMS`` track).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    chart : Chart
        One part per difficulty present; sections from the ``EVENTS`` track; the title
        from ``metadata`` of the first track's name.

    Raises
    ------
    InputError
        If the file is not MIDI or has no ``PART DRUMS`` track with notes.
    """
    p = Path(path)
    mid = _open_midi(p)
    if mid.type == 2:
        raise InputError(f"{p}: MIDI type 2 (independent patterns) cannot hold a song chart")
    tpq = int(mid.ticks_per_beat)
    if tpq <= 0:
        raise InputError(f"{p}: the MIDI file uses SMPTE time, not ticks per quarter note")
    track = _drum_track(mid)
    if track is None:
        names = ", ".join(repr(_track_name(t)) for t in mid.tracks) or "none"
        raise InputError(f"{p}: no drum part (no 'PART DRUMS' track; tracks: {names})")

    tempos: list[tuple[int, float]] = []
    sigs: list[tuple[int, int, int]] = []
    sections: list[tuple[float, str]] = []
    end_qn = 0.0
    for tr in mid.tracks:
        tick = 0
        is_events = _track_name(tr) == "EVENTS"
        for msg in tr:
            tick += msg.time
            if msg.type == "set_tempo":
                tempos.append((tick, 60_000_000 / msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((tick, msg.numerator, msg.denominator))
            elif is_events and msg.type in {"text", "marker"}:
                name = _section_name(msg.text)
                if name is not None:
                    sections.append((tick / tpq, name.replace("_", " ")))
                elif msg.text.strip().lower() == "[end]":
                    end_qn = tick / tpq
    tempo_map = _tempo_map(tempos, sigs, tpq, str(p))

    dynamics = False
    ons: list[tuple[int, int, int]] = []  # (tick, note, velocity)
    toms: dict[int, list[tuple[int, int]]] = {pad: [] for pad in _MID_TOM_MARKERS.values()}
    open_marker: dict[int, int] = {}
    tick = 0
    for msg in track:
        tick += msg.time
        if msg.type in {"text", "marker"} and msg.text.strip() == _MID_DYNAMICS:
            dynamics = True
        elif msg.type == "note_on" and msg.velocity > 0:
            if msg.note in _MID_TOM_MARKERS:
                open_marker.setdefault(msg.note, tick)
            else:
                ons.append((tick, msg.note, msg.velocity))
        elif msg.type in {"note_off", "note_on"} and msg.note in open_marker:
            toms[_MID_TOM_MARKERS[msg.note]].append((open_marker.pop(msg.note), tick))
    for note, start in open_marker.items():  # a marker never closed runs to the end
        toms[_MID_TOM_MARKERS[note]].append((start, tick + 1))

    def is_tom(pad: int, at: int) -> bool:
        return any(a <= at < b for a, b in toms.get(pad, ()))

    parts: dict[Level, Part] = {}
    for level, base in _MID_BASE.items():
        gems: dict[int, dict[int, _Note]] = {}
        for at, note, velocity in ons:
            pad = note - base
            if level == Level.EXPERT and note == _MID_EXPERT_PLUS_KICK:
                pad = _KICK
            if not 0 <= pad <= _GREEN:
                continue
            cymbal = pad in (_YELLOW, _BLUE, _GREEN) and not is_tom(pad, at)
            gems.setdefault(at, {})[pad] = _Note(
                pad,
                cymbal=cymbal,
                ghost=dynamics and velocity == 1 and pad != _KICK,
                accent=dynamics and velocity == 127 and pad != _KICK,
            )
        parts[level] = _gems_to_part(gems, tpq)

    title = _track_name(mid.tracks[0]) if mid.tracks else ""
    if title.startswith("PART ") or title in {"EVENTS", ""}:
        title = p.parent.name if p.stem == "notes" else p.stem
    return _finish_chart(
        title=title,
        artist="",
        tempo_map=tempo_map,
        parts=parts,
        sections=sections,
        end_qn=end_qn,
        metadata={"source_format": "notes.mid"},
        where=str(p),
        found=["PART DRUMS without notes"],
    )


def write_notes_mid(path: str | Path, chart: Chart, *, ticks_per_qn: int = 480) -> Path:
    """Write a chart as a Rock Band / Clone Hero ``notes.mid`` (pro drums, with dynamics).

    The file has a tempo track (named after the song), ``PART DRUMS`` with every
    difficulty the format holds and tom markers, and ``EVENTS`` with the sections.
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
        tempo_ev.append(
            (_tick(qn, ticks_per_qn), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
        )
    track(chart.title or "cymbalism", tempo_ev)

    drums: list[tuple[int, int, object]] = []
    gem_len = max(1, ticks_per_qn // 8)
    parts = _writable_parts(chart)
    rows = {lv: _pad_rows(part, ticks_per_qn) for lv, part in parts.items()}
    if any(dyn for rs in rows.values() for *_, dyn in rs):
        drums.append((0, 0, mido.MetaMessage("text", text=_MID_DYNAMICS)))
    tom_ticks: dict[int, set[int]] = {pad: set() for pad in (_YELLOW, _BLUE, _GREEN)}
    for level, rs in rows.items():
        for tick, pad, cymbal, dyn in rs:
            vel = {"ghost": 1, "accent": 127}.get(dyn, 100)
            note = _MID_BASE[level] + pad
            drums.append((tick, 2, mido.Message("note_on", channel=9, note=note, velocity=vel)))
            drums.append((tick + gem_len, 1, mido.Message("note_off", channel=9, note=note)))
            if pad in tom_ticks and not cymbal:
                tom_ticks[pad].add(tick)
    for marker, pad in _MID_TOM_MARKERS.items():
        for tick in sorted(tom_ticks[pad]):
            drums.append((tick, 2, mido.Message("note_on", channel=9, note=marker, velocity=100)))
            # one tick long: the marker covers this moment only, in every difficulty
            drums.append((tick + 1, 1, mido.Message("note_off", channel=9, note=marker)))
    track("PART DRUMS", drums)

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
    return p


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


# ---------------------------------------------------------------------------- dispatch
def _has_part_drums(path: Path) -> bool:
    return _drum_track(_open_midi(path)) is not None


def read_chart(path: str | Path, *, kit: str | None = None) -> Chart:
    """Read a chart file of any supported kind, chosen by extension and content.

    ``.chart`` is Clone Hero; ``.mid``/``.midi`` with a ``PART DRUMS`` track is a
    Rock Band / Clone Hero ``notes.mid``; any other MIDI file is a drum performance
    whose notes become the Expert part. A Clone Hero ``song.ini`` beside the file gives
    the title, artist and credits. A folder is read through its ``notes.chart`` or
    ``notes.mid``.
    """
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"no chart file at {p}")
    if p.is_dir():
        for name in ("notes.chart", "notes.mid"):
            if (p / name).exists():
                return read_chart(p / name, kit=kit)
        raise NotFoundError(f"{p} is a folder without notes.chart or notes.mid")
    suffix = p.suffix.lower()
    if suffix == ".chart":
        chart = read_chart_file(p)
    elif suffix in {".mid", ".midi"}:
        chart = read_notes_mid(p) if _has_part_drums(p) else read_gm_midi(p, kit=kit)
    else:
        raise InputError(f"{p}: unknown chart format {suffix!r} (use .chart, notes.mid or .mid)")
    return _with_song_ini(chart, p.parent / "song.ini")


def _with_song_ini(chart: Chart, ini: Path) -> Chart:
    """Take the title, artist and credits from a Clone Hero ``song.ini`` beside the chart."""
    if not ini.is_file():
        return chart
    import configparser

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(ini.read_bytes().decode("utf-8-sig", errors="replace"))
    except configparser.Error as exc:
        raise InputError(f"{ini}: cannot read it ({exc.message.splitlines()[0]})") from None
    section = next((parser[name] for name in parser.sections() if name.lower() == "song"), None)
    if section is None:
        return chart
    extra = {k: section[k] for k in ("charter", "genre", "year", "album") if section.get(k)}
    return replace(
        chart,
        title=section.get("name") or chart.title,
        artist=section.get("artist") or chart.artist,
        metadata={**chart.metadata, **extra},
    )


def save_chart(path: str | Path, chart: Chart, *, level: Level | str | None = None) -> Path:
    """Write a chart in the format its file name asks for.

    ``*.chart`` writes Clone Hero and ``notes.mid`` a Rock Band / Clone Hero MIDI chart,
    both with every difficulty they hold. Any other ``.mid``/``.midi`` name writes one
    part (``level``, the hardest by default) as a General MIDI drum file that a DAW or
    an e-kit plays, through :func:`cymbalism.io.midi.write_chart`.
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
        return write_chart(p, chart, level=level)
    raise InputError(f"cannot write {p}: use a .chart or .mid file name")


def load_chart(
    spec: str | Path | Chart, *, kit: str | None = None, derive_levels: bool = True
) -> Chart:
    """The one chart resolver: a built-in song name, or a chart file.

    Parameters
    ----------
    spec : str, Path or Chart
        A built-in song (``cymbalism songs`` lists them), a ``.chart``, ``notes.mid``
        or ``.mid`` file, or a folder holding ``notes.chart``/``notes.mid``. A Chart is
        returned as it is.
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

    text = str(spec)
    p = Path(text).expanduser()
    if p.exists():
        chart = read_chart(p, kit=kit)
        return simplify_chart(chart) if derive_levels else chart
    if songs.has_song(text):
        return songs.get_song(text)
    if p.suffix.lower() in {".chart", ".mid", ".midi"} or p.parent != Path("."):
        raise NotFoundError(f"no chart file at {p}")
    raise NotFoundError(
        f"unknown song {text!r}: not a built-in song ({', '.join(songs.song_names())}) "
        "and not a file"
    )
