"""Standard MIDI Files in and out: drum performances as Hits, charts as GM drum tracks.

Conventions
-----------
- Ticks exist only inside this module. A file's ticks become quarter notes
  (``tick / ticks_per_quarter``) and then seconds through the file's
  :class:`~cymbalism.model.tempo.TempoMap`, once, when the file is read.
- A hit is a note-on with a velocity above 0. A note-on with velocity 0 is a note-off,
  as the MIDI standard says. Note lengths carry no meaning for drums and are dropped.
- Files are parsed with symusic (a C++ parser, fast enough to read a corpus of a
  thousand files in well under a second). symusic pairs note-ons with note-offs: it
  drops a note-on that is never switched off (a take stopped before its last note-off,
  a tool that writes no note-offs or writes a zero-length note's off first) and counts
  a note struck again before its note-off once. So the note-ons of every file are also
  counted (:func:`scan_track`), and a file where symusic kept fewer is read with mido,
  which sees every note-on; pass ``parser="mido"`` to read any file that way (about 100
  times slower). On the Groove MIDI Dataset one file of 1,021 is read with mido.

Where the drums are
-------------------
1. Every note on MIDI channel 10 (General MIDI percussion), in any track.
2. If channel 10 is silent: every track whose notes look like drums under the kit's
   note map. A track named like a drum track (``drum``, ``perc``, ``kit``, ``beat``), or
   any track of a file named like one (``Drums-take2.mid``), qualifies when at least
   half of its notes are drum notes. Any other track qualifies
   when at least 90% of its notes are drum notes, it uses a kick and at least one other
   lane, and at least 5% of its notes sound together with another note (drummers play
   kick and hi-hat together; a bass line in the same register does not).
3. Otherwise the file has no drums, and reading it raises :class:`InputError`.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import CymbalismWarning, InputError, NotFoundError
from cymbalism.io.kits import KitMap, load_kit
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import GM_NOTE_TO_LANE, LANE_TO_GM_NOTE, Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.model.validate import MAX_PLAUSIBLE_SEC

__all__ = [
    "DEFAULT_BPM",
    "DrumPart",
    "MidiPerformance",
    "NoteOnsets",
    "TrackEvents",
    "parse_midi",
    "read_midi",
    "read_note_onsets",
    "scan_track",
    "track_chunks",
    "track_name",
    "write_chart",
    "write_hits",
]

#: The tempo of a MIDI file that has no tempo event (the standard's default).
DEFAULT_BPM = 120.0

#: The resolution of the files cymbalism writes: 960 ticks per quarter note keeps a
#: hit within 0.27 ms of its time at 120 BPM.
WRITE_TICKS_PER_QUARTER = 960

_DRUM_CHANNEL_SOURCE = "channel 10"
_DRUMMY_NAME = re.compile(r"drum|perc|kit|beat", re.IGNORECASE)
_GM_KIT = KitMap("General MIDI", GM_NOTE_TO_LANE, "General MIDI drums", ("gm",), "built-in")


@dataclass(frozen=True)
class DrumPart:
    """One drum part of a MIDI file: a track (and channel) of drum notes.

    Attributes
    ----------
    track : str
        The track's name ("" for none).
    n_notes : int
        Its notes.
    n_lanes : int
        The lanes its notes fall on: a whole kit plays several, a track per drum (as
        drum programs export them) one.
    """

    track: str
    n_notes: int
    n_lanes: int

    def label(self, number: int) -> str:
        """How messages name the part numbered ``number`` (1-based): its track, quoted,
        or ``"unnamed part N"``."""
        return repr(self.track) if self.track else f"unnamed part {number}"


@dataclass(frozen=True, eq=False)
class MidiPerformance:
    """A drum performance read from a MIDI file.

    Attributes
    ----------
    hits : Hits
        Every drum hit the kit maps to a lane, sorted by time, in seconds from the
        file's start (tick 0).
    tempo_map : TempoMap
        The file's tempo and time-signature events (120 BPM in 4/4 if it has none).
    path : Path or None
        The file read, or None for bytes.
    onset_qn : np.ndarray [shape=(n,), float64, quarter notes]
        Each hit's exact position on the file's grid (its tick over the resolution),
        aligned with ``hits``.
    note : np.ndarray [shape=(n,), int16]
        Each hit's MIDI note number, aligned with ``hits`` (rim shots and edges keep
        their own notes here).
    end_sec : float
        The end of the file (its last event), in seconds; at least the last hit.
    ticks_per_quarter : int
        The file's resolution.
    drum_source : str
        Where the drums were found: ``"channel 10"`` or the names of the tracks that
        looked like drums.
    kit : str
        The name of the note map used.
    sections : tuple of (qn, name)
        The file's marker events, as chart sections.
    unmapped_notes : dict of int to int
        Drum notes the kit does not map (dropped), with their counts.
    drum_parts : tuple of DrumPart
        Every drum part of the file, in file order: one per track (and channel) of
        drums. Two kits recorded into one file (a duet taken in a DAW) are two parts;
        ``part`` reads one of them.
    part : int or None
        The drum part read (0-based), or None for all of them together.
    """

    hits: Hits
    tempo_map: TempoMap
    path: Path | None
    onset_qn: np.ndarray
    note: np.ndarray
    end_sec: float
    ticks_per_quarter: int
    drum_source: str
    kit: str
    sections: tuple[tuple[float, str], ...] = ()
    unmapped_notes: dict[int, int] | None = None
    drum_parts: tuple[DrumPart, ...] = ()
    part: int | None = None

    @property
    def kits(self) -> list[DrumPart]:
        """The drum parts that each play a kit, not one drum (three lanes or more, and a
        tenth of the notes or more): two or more, read together, may be two players."""
        total = sum(p.n_notes for p in self.drum_parts)
        return [p for p in self.drum_parts if p.n_lanes >= 3 and p.n_notes >= 0.1 * total]

    @property
    def name(self) -> str:
        """The file's name (``"<bytes>"`` when read from memory), with the number of the
        drum part read (``duet.mid:2``)."""
        name = self.path.name if self.path is not None else "<bytes>"
        return name if self.part is None else f"{name}:{self.part + 1}"

    @property
    def heard_as(self) -> dict[Lane, tuple[Lane, ...]]:
        """Drums named as others (a recording's, :attr:`~cymbalism.io.audio.
        AudioPerformance.heard_as`): none, an e-kit names every drum it maps."""
        return {}

    def __len__(self) -> int:
        return len(self.hits)

    def __repr__(self) -> str:
        return (
            f"MidiPerformance({self.name!r}, {len(self.hits)} hits, "
            f"{self.end_sec:.1f} s, {self.tempo_map!r})"
        )


@dataclass(frozen=True)
class _NoteTrack:
    name: str
    is_drum: bool
    tick: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


# ---------------------------------------------------------------------------- reading


def read_midi(
    path: str | Path,
    *,
    kit: str | Path | KitMap | None = None,
    parser: str = "symusic",
    part: int | None = None,
) -> MidiPerformance:
    """Read the drum performance of a Standard MIDI File (type 0 or 1).

    Parameters
    ----------
    path : str or Path
        The ``.mid`` file.
    kit : str, Path or KitMap, optional
        The note map of the kit that recorded it (see :func:`cymbalism.io.kits.load_kit`:
        ``"td17"``, ``"nitro"``, ``"dtx"``, a ``.toml`` file). By default General MIDI
        with the Roland V-Drums extras.
    parser : {"symusic", "mido"}
        Who reads the notes: symusic (fast, pairs note-ons with note-offs) or mido
        (every note-on is a hit, even one struck again before its note-off).
    part : int, optional
        Read only this drum part of the file (0-based, in file order; see
        :attr:`MidiPerformance.drum_parts`): one of two kits recorded into one file.
        By default every drum part, as one performance.

    Returns
    -------
    performance : MidiPerformance

    Raises
    ------
    NotFoundError
        If the file does not exist, or the kit is unknown.
    InputError
        If the file is empty, not MIDI, truncated or corrupt, holds no notes, has no
        drums, has no such ``part``, or its drum notes are all outside the kit's map.
        The message names the file and the problem.
    """
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no such MIDI file: {p}") from None
    except IsADirectoryError:
        raise InputError(f"{p} is a folder, not a MIDI file") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    return parse_midi(data, kit=kit, path=p, parser=parser, part=part)


def parse_midi(
    data: bytes,
    *,
    kit: str | Path | KitMap | None = None,
    path: Path | None = None,
    parser: str = "symusic",
    part: int | None = None,
) -> MidiPerformance:
    """Read a drum performance from the bytes of a Standard MIDI File.

    The same as :func:`read_midi` for a file already in memory (an upload, a test).
    ``path`` only names the source in messages and in the result.
    """
    from symusic import Score

    label = str(path) if path is not None else "the MIDI data"
    if parser not in {"symusic", "mido"}:
        raise InputError(f"unknown MIDI parser {parser!r}; choose 'symusic' or 'mido'")
    kitmap = _GM_KIT if kit is None else load_kit(kit)
    tpq, data = _parseable(data, label)
    try:
        score: Any = Score.from_midi(data)  # symusic's stubs leave its fields out
    except RuntimeError as exc:
        raise InputError(f"{label} is corrupt: {_clean_parser_message(exc)}") from None

    tracks = _note_tracks(score, data, label, parser)
    if not tracks:
        raise InputError(f"{label} holds no notes (it has tempo or other events only)")
    named = path is not None and bool(_DRUMMY_NAME.search(path.stem))
    drums, source = _find_drums(tracks, kitmap.table, file_named_drums=named)
    if not drums:
        names = ", ".join(repr(t.name) for t in tracks if t.name) or "unnamed tracks"
        raise InputError(
            f"{label} has no drums: no notes on channel 10, and none of its "
            f"{len(tracks)} note tracks ({names}) looks like a drum track; "
            "drum notes belong on MIDI channel 10"
        )

    drum_parts = tuple(
        DrumPart(t.name, len(t.tick), len(set(kitmap.table[t.pitch].tolist()) - {-1}))
        for t in drums
    )
    if part is not None:
        if not 0 <= part < len(drums):
            listing = ", ".join(f"{k + 1}: {p.label(k + 1)}" for k, p in enumerate(drum_parts))
            raise InputError(
                f"{label} has no drum part {part + 1}: it has {len(drums)} ({listing})"
            )
        drums = [drums[part]]
    if len(drums) == 1:
        tick, pitch, velocity = drums[0].tick, drums[0].pitch, drums[0].velocity
    else:
        tick = np.concatenate([t.tick for t in drums])
        pitch = np.concatenate([t.pitch for t in drums])
        velocity = np.concatenate([t.velocity for t in drums])
    lane = kitmap.table[pitch]
    known = lane >= 0
    unmapped: dict[int, int] = {}
    if not known.all():
        values, counts = np.unique(pitch[~known], return_counts=True)
        unmapped = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
        if not known.any():
            listing = ", ".join(str(v) for v in list(unmapped)[:12])
            raise InputError(
                f"none of the drum notes of {label} ({listing}) is in the {kitmap.name} "
                "note map; name the kit that recorded it (for example --kit td17)"
            )
        tick, pitch, velocity, lane = tick[known], pitch[known], velocity[known], lane[known]
        n = sum(unmapped.values())
        listing = ", ".join(f"{v} x{c}" for v, c in list(unmapped.items())[:8])
        warnings.warn(
            f"{label}: {n} drum note{'s' if n != 1 else ''} outside the {kitmap.name} note "
            f"map left out (note {listing}); name the kit that recorded it if it has a "
            "map of its own (for example --kit td17)",
            CymbalismWarning,
            stacklevel=2,
        )

    tempo_map = _tempo_map(score, tpq, label)
    order = np.lexsort((lane, tick))
    # every hit and the end of the file go through the tempo map in one call
    qn = np.append(tick[order], max(int(score.end()), int(tick.max()))) / tpq
    sec = tempo_map.qn_to_sec(qn)
    if sec[-1] > MAX_PLAUSIBLE_SEC:
        raise InputError(
            f"{label} is corrupt: its notes reach {sec[-1] / 86400:.0f} days into the file "
            "(its delta times are wrong)"
        )
    onset_qn, onset_sec, end_sec = qn[:-1], sec[:-1], float(sec[-1])
    hits = Hits(
        onset_sec=onset_sec,
        lane=lane[order].astype(np.int8),
        velocity=velocity[order].astype(np.int16),  # 1-127: a velocity of 0 is a note-off
    )
    sections = tuple((float(m.time) / tpq, str(m.text)) for m in score.markers)
    return MidiPerformance(
        hits=hits,
        tempo_map=tempo_map,
        path=path,
        onset_qn=onset_qn,
        note=pitch[order].astype(np.int16),
        end_sec=end_sec,
        ticks_per_quarter=tpq,
        drum_source=source,
        kit=kitmap.name,
        sections=sections,
        unmapped_notes=unmapped,
        drum_parts=drum_parts,
        part=part,
    )


def _parseable(data: bytes, label: str) -> tuple[int, bytes]:
    """The ticks per quarter note of an SMF, and its bytes as a strict parser takes them:
    a header of 6 bytes (a longer one's extra bytes dropped, as the standard allows) and
    the declared tracks, without the bytes some tools leave after them."""
    tpq, spans = _container(data, label)
    (header_len,) = struct.unpack(">I", data[4:8])
    if header_len == 6 and spans[-1][1] == len(data):
        return tpq, data
    head = b"MThd" + struct.pack(">I", 6) + data[8:14]
    return tpq, head + data[8 + header_len : spans[-1][1]]


def _container(data: bytes, label: str) -> tuple[int, list[tuple[int, int]]]:
    """Check the chunk structure of an SMF; return its ticks per quarter note and the
    (start, end) byte span of the data of each track chunk, in file order."""
    if len(data) == 0:
        raise InputError(f"{label} is empty (0 bytes)")
    if data[:4] != b"MThd":
        raise InputError(
            f"{label} is not a MIDI file: it starts with {data[:8]!r}, "
            "not the 'MThd' header of a Standard MIDI File"
        )
    if len(data) < 14:
        raise InputError(f"{label} is truncated: its header is cut off after {len(data)} bytes")
    header_len, fmt, n_tracks, division = struct.unpack(">IHHH", data[4:14])
    if header_len < 6:
        raise InputError(f"{label} is corrupt: its header is {header_len} bytes long, not 6")
    if fmt == 2:
        raise InputError(
            f"{label} is a type 2 MIDI file (independent patterns); cymbalism reads types 0 and 1"
        )
    if fmt > 2:
        raise InputError(f"{label} is corrupt: it claims MIDI file type {fmt}")
    if division & 0x8000:
        raise InputError(
            f"{label} counts time in SMPTE frames; cymbalism reads files whose "
            "time is counted in ticks per quarter note"
        )
    if division == 0:
        raise InputError(f"{label} is corrupt: it claims 0 ticks per quarter note")
    pos = 8 + header_len
    spans: list[tuple[int, int]] = []
    while pos < len(data) and len(spans) < n_tracks:  # bytes after the tracks: ignored
        if len(data) - pos < 8:
            raise InputError(
                f"{label} is truncated: a chunk header at byte {pos} is cut off "
                f"({len(data) - pos} of 8 bytes)"
            )
        kind = data[pos : pos + 4]
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        remaining = len(data) - pos - 8
        if not kind.isalpha():  # a track's length was wrong, and here is its data
            raise InputError(
                f"{label} is corrupt: a track's length is wrong (at byte {pos}, where the "
                f"next chunk should start, come the bytes {kind!r})"
            )
        if length > remaining:
            raise InputError(
                f"{label} is truncated: the {kind.decode('latin-1')!r} chunk at byte {pos} "
                f"claims {length} bytes but only {remaining} remain"
            )
        if kind == b"MTrk":
            spans.append((pos + 8, pos + 8 + length))
        pos += 8 + length
    if not spans:
        raise InputError(f"{label} holds no tracks")
    if len(spans) < n_tracks:
        raise InputError(
            f"{label} is truncated: it declares {n_tracks} tracks but holds {len(spans)}"
        )
    return int(division), spans


def track_chunks(data: bytes, label: str = "the MIDI data") -> tuple[int, list[bytes]]:
    """The ticks per quarter note of a Standard MIDI File and the data of its tracks.

    Raises
    ------
    InputError
        If ``data`` is not a type 0 or 1 SMF counting ticks, or is truncated.
    """
    tpq, spans = _container(data, label)
    return tpq, [data[a:b] for a, b in spans]


@dataclass(frozen=True, eq=False)
class TrackEvents:
    """What one MIDI track holds, from :func:`scan_track`.

    Attributes
    ----------
    name : str
        The track's name ("" if it has none).
    on_tick, on_note, on_velocity : np.ndarray [shape=(n,), int64]
        Every note-on with a velocity above 0, in file order.
    off_tick, off_note : np.ndarray [shape=(m,), int64]
        Every note-off (a note-on with velocity 0 included), in file order.
    meta : list of (tick, type, bytes)
        Every meta event: text events are types 1-7 (text, copyright, track name,
        instrument, lyric, marker, cue), 0x51 a tempo, 0x58 a time signature.
    end_tick : int
        The tick of the track's last event.
    """

    name: str
    on_tick: np.ndarray
    on_note: np.ndarray
    on_velocity: np.ndarray
    off_tick: np.ndarray
    off_note: np.ndarray
    meta: list[tuple[int, int, bytes]]
    end_tick: int

    def texts(self, *types: int) -> list[tuple[int, str]]:
        """The text meta events of the given types (all text types by default), as
        ``(tick, text)``; text is read as Latin-1, as mido reads it."""
        wanted = set(types or range(1, 8))
        return [(t, data.decode("latin-1")) for t, kind, data in self.meta if kind in wanted]


def track_name(chunk: bytes) -> str:
    """The name of a track chunk. A track that starts with its name, as Rock Band and
    Clone Hero charts do, is not read further."""
    # delta time 0, then the track-name meta event FF 03 with a one-byte length
    if len(chunk) >= 4 and chunk[0] == 0 and chunk[1] == 0xFF and chunk[2] == 0x03:
        length = chunk[3]
        if length < 0x80 and len(chunk) >= 4 + length:
            return chunk[4 : 4 + length].decode("latin-1").strip()
    return scan_track(chunk).name


def _read_vlq(chunk: bytes, pos: int) -> tuple[int, int]:
    """A variable-length quantity starting at ``pos``: its value and the position after it."""
    byte = chunk[pos]
    pos += 1
    value = byte & 0x7F
    while byte & 0x80:
        byte = chunk[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
    return value, pos


def scan_track(chunk: bytes, *, label: str = "the MIDI data") -> TrackEvents:
    """Every note and meta event of one track chunk (see :func:`track_chunks`).

    A narrow reader for charts: mido turns every event of every track of a band's chart
    into a message object (50-100 ms for a full Rock Band chart), and symusic keeps no
    text events and counts a note struck again before its note-off once. This walks one
    track's bytes and keeps what a drum chart needs. Running status is honoured;
    system-exclusive events are skipped.

    Raises
    ------
    InputError
        If the track is cut off inside an event.
    """
    ticks: list[int] = []  # of every note-on and note-off
    where: list[int] = []  # where its note byte is: +pos for a note-on, -pos for a note-off
    add_tick, add_where = ticks.append, where.append
    meta: list[tuple[int, int, bytes]] = []
    name: str | None = None
    pos, tick, status, n = 0, 0, 0, len(chunk)
    try:
        while pos < n:
            byte = chunk[pos]
            pos += 1
            if byte & 0x80:  # a delta time of more than one byte
                delta = byte & 0x7F
                while byte & 0x80:
                    byte = chunk[pos]
                    pos += 1
                    delta = (delta << 7) | (byte & 0x7F)
                tick += delta
            else:
                tick += byte
            byte = chunk[pos]
            if byte < 0xF0:  # a channel message, most often a note
                if byte & 0x80:
                    status = byte
                    pos += 1
                elif status == 0:
                    raise InputError(
                        f"{label} is corrupt: a track has data byte {byte:#04x} at byte "
                        f"{pos} where an event should start"
                    )
                kind = status & 0xF0
                if kind == 0x90 or kind == 0x80:
                    add_tick(tick)
                    add_where(pos if kind == 0x90 else -pos)
                    pos += 2
                elif kind == 0xC0 or kind == 0xD0:
                    pos += 1
                else:
                    pos += 2
            elif byte == 0xFF:
                kind = chunk[pos + 1]
                length, pos = _read_vlq(chunk, pos + 2)
                data = chunk[pos : pos + length]
                if len(data) < length:
                    raise IndexError
                pos += length
                if kind == 0x2F:
                    break
                meta.append((tick, kind, data))
                if kind == 0x03 and name is None:
                    name = data.decode("latin-1").strip()
            else:  # system exclusive: skipped
                length, pos = _read_vlq(chunk, pos + 1)
                pos += length
        if pos > n:
            raise IndexError
    except IndexError:
        raise InputError(f"{label} is truncated: a track ends inside an event") from None
    buf = np.frombuffer(chunk, dtype=np.uint8)
    at = np.asarray(where, dtype=np.int64)
    tick_arr = np.asarray(ticks, dtype=np.int64)
    note = buf[np.abs(at)].astype(np.int64)
    velocity = buf[np.abs(at) + 1].astype(np.int64)
    on = (at > 0) & (velocity > 0)  # a note-on with velocity 0 is a note-off
    return TrackEvents(
        name=name or "",
        on_tick=tick_arr[on],
        on_note=note[on],
        on_velocity=velocity[on],
        off_tick=tick_arr[~on],
        off_note=note[~on],
        meta=meta,
        end_tick=tick,
    )


def _clean_parser_message(exc: Exception) -> str:
    text = str(exc).removeprefix("MiniMidi: ").removesuffix(": iostream error")
    return text.strip().rstrip("!").replace("Invaild", "Invalid") or type(exc).__name__


def _symusic_track(track: Any) -> _NoteTrack:
    arr = track.notes.numpy()
    return _NoteTrack(
        name=str(track.name),
        is_drum=bool(track.is_drum),
        tick=arr["time"],  # int32
        pitch=arr["pitch"],  # int8, 0-127
        velocity=arr["velocity"],  # int8, 1-127
    )


def _note_tracks(score: Any, data: bytes, label: str, parser: str = "symusic") -> list[_NoteTrack]:
    """Every note-on of the file, per track (and per channel when mido reads them):
    symusic's notes when it kept every note-on (:func:`scan_track` counts them), else
    mido's."""
    if parser == "symusic":
        tracks = [_symusic_track(t) for t in score.tracks if len(t.notes)]
        kept = sum(t.tick.size for t in tracks)
        _, chunks = track_chunks(data, label)
        if kept == sum(scan_track(c, label=label).on_tick.size for c in chunks):
            return tracks
    return _note_ons_with_mido(data, label)


def _note_ons_with_mido(data: bytes, label: str) -> list[_NoteTrack]:
    """Every note-on with a velocity, per (track, channel), read with mido."""
    import mido

    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise InputError(f"{label} is corrupt: {exc}") from None
    out: list[_NoteTrack] = []
    for track in mf.tracks:
        tick = 0
        rows: dict[int, list[tuple[int, int, int]]] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                rows.setdefault(msg.channel, []).append((tick, msg.note, msg.velocity))
        for channel, notes in sorted(rows.items()):
            a = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
            out.append(_NoteTrack(track.name, channel == 9, a[:, 0], a[:, 1], a[:, 2]))
    return out


def _looks_like_drums(track: _NoteTrack, table: np.ndarray, named: bool) -> bool:
    lanes = table[track.pitch]
    share = float((lanes >= 0).mean())
    if named or _DRUMMY_NAME.search(track.name):
        return share >= 0.5
    used = set(lanes[lanes >= 0].tolist())
    if share < 0.9 or int(Lane.KICK) not in used or len(used) < 2:
        return False
    ticks = np.sort(track.tick)
    together = np.zeros(ticks.size, dtype=bool)
    together[1:] |= ticks[1:] == ticks[:-1]
    together[:-1] |= ticks[1:] == ticks[:-1]
    return float(together.mean()) >= 0.05


def _find_drums(
    tracks: Sequence[_NoteTrack], table: np.ndarray, *, file_named_drums: bool
) -> tuple[list[_NoteTrack], str]:
    on_ten = [t for t in tracks if t.is_drum]
    if on_ten:
        return on_ten, _DRUM_CHANNEL_SOURCE
    found = [t for t in tracks if _looks_like_drums(t, table, file_named_drums)]
    names = ", ".join(repr(t.name) if t.name else "an unnamed track" for t in found)
    return found, f"{names} (by its notes, not on channel 10)"


def _tempo_map(score: Any, tpq: int, label: str) -> TempoMap:
    """The file's tempo and time-signature events as a TempoMap (the one tick conversion)."""
    t = score.tempos.numpy()
    ts = score.time_signatures.numpy()
    events = (
        tuple(t["time"].tolist()),
        tuple(t["mspq"].tolist()),
        tuple(ts["time"].tolist()),
        tuple(ts["numerator"].tolist()),
        tuple(ts["denominator"].tolist()),
    )
    try:
        return _build_tempo_map(tpq, *events)
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from None


@functools.lru_cache(maxsize=1024)
def _build_tempo_map(
    tpq: int,
    tempo_tick: tuple[int, ...],
    mspq: tuple[int, ...],
    ts_tick: tuple[int, ...],
    numerator: tuple[int, ...],
    denominator: tuple[int, ...],
) -> TempoMap:
    """A TempoMap from raw events. Cached: a corpus recorded to a few click tempos shares
    a few maps (tempo maps are never modified in place)."""
    if any(m <= 0 for m in mspq):
        raise InputError("it is corrupt: it sets a tempo of 0 microseconds per quarter")
    tempos = _last_per_tick(tempo_tick, [60e6 / m for m in mspq])
    if not tempos or tempos[0][0] > 0:
        tempos.insert(0, (0, DEFAULT_BPM))
    sigs = _last_per_tick(ts_tick, list(zip(numerator, denominator, strict=True)))
    kept: list[tuple[float, int, int]] = [(0.0, 4, 4)]
    for at, (num, den) in sigs:
        if num < 1 or den < 1 or den & (den - 1):
            continue  # not a time signature a drummer can count; keep the one before
        if at == 0:
            kept[0] = (0.0, num, den)
            continue
        qn = at / tpq
        bars = (qn - kept[-1][0]) / (kept[-1][1] * 4.0 / kept[-1][2])
        # A change off the bar line of the previous signature cannot be counted in
        # whole bars; it is dropped rather than failing the whole file.
        if abs(bars - round(bars)) < 1e-6 and (num, den) != kept[-1][1:]:
            kept.append((qn, num, den))
    return TempoMap([(at / tpq, bpm) for at, bpm in tempos], kept)


def _last_per_tick(tick: Sequence[int], values: Sequence) -> list:
    """``(tick, value)`` pairs sorted by tick; of several events on one tick, the last wins."""
    out: list = []
    for i in sorted(range(len(tick)), key=tick.__getitem__):
        if out and out[-1][0] == tick[i]:
            out[-1] = (tick[i], values[i])
        else:
            out.append((tick[i], values[i]))
    return out


# ---------------------------------------------------------------------------- writing


def write_hits(
    path: str | Path,
    hits: Hits,
    tempo_map: TempoMap,
    *,
    ticks_per_quarter: int = WRITE_TICKS_PER_QUARTER,
    track_name: str = "Drums",
) -> Path:
    """Write a performance as a General MIDI drum file (channel 10).

    Parameters
    ----------
    path : str or Path
        Where to write the ``.mid`` file.
    hits : Hits
        The hits, in seconds from the file's start (none may be negative).
    tempo_map : TempoMap
        Written as the file's tempo and time-signature events; it sets the grid that
        the hits are placed on, so a DAW shows them against the right bars.
    ticks_per_quarter : int
        The file's resolution (960 keeps every hit within 0.27 ms at 120 BPM).
    track_name : str

    Returns
    -------
    path : Path
    """
    if len(hits) and float(hits.onset_sec[0]) < 0:
        raise InputError(
            f"a hit at {hits.onset_sec[0]:.3f} s is before the start of the file; "
            "shift the hits so that none is negative before writing them"
        )
    written = _as_written(tempo_map, ticks_per_quarter)
    qn = written.sec_to_qn(hits.onset_sec)
    return _write(path, qn, hits.lane, hits.velocity, written, ticks_per_quarter, track_name, ())


def _as_written(tempo_map: TempoMap, tpq: int) -> TempoMap:
    """The tempo map as a file stores it: changes on whole ticks, whole microseconds.

    Hits are placed on this map, not the exact one, so that a reader of the file finds
    each hit within half a tick of its time however long the performance.
    """
    if not 24 <= int(tpq) <= 32767:
        raise InputError(f"ticks_per_quarter must lie in 24-32767, got {tpq}")
    tempos = [(round(q * tpq) / tpq, 60e6 / round(60e6 / b)) for q, b in tempo_map.tempos]
    sigs = [(round(q * tpq) / tpq, n, d) for q, n, d in tempo_map.time_signatures]
    try:
        return TempoMap(tempos, sigs)
    except InputError as exc:
        raise InputError(
            f"the tempo map cannot be written at {tpq} ticks per quarter: {exc}"
        ) from None


def write_chart(
    path: str | Path,
    chart: Chart,
    *,
    level: Level | str | int | None = None,
    ticks_per_quarter: int = WRITE_TICKS_PER_QUARTER,
) -> Path:
    """Write one part of a chart as a General MIDI drum file.

    The file has the chart's tempo and time-signature events, its sections as marker
    events, and the part's notes on channel 10 in a track named after the song.

    Parameters
    ----------
    path : str or Path
    chart : Chart
    level : Level, str or int, optional
        The part to write; the chart's hardest part by default.
    ticks_per_quarter : int

    Returns
    -------
    path : Path
    """
    lv = chart.top_level if level is None else Level.parse(level)
    part = chart.part(lv)
    name = chart.title if lv == chart.top_level else f"{chart.title} ({lv.label})"
    return _write(
        path,
        part.qn,
        part.lane,
        part.velocity,
        _as_written(chart.tempo_map, ticks_per_quarter),
        ticks_per_quarter,
        name,
        chart.sections,
    )


def _write(
    path: str | Path,
    qn: np.ndarray,
    lane: np.ndarray,
    velocity: np.ndarray,
    tempo_map: TempoMap,
    tpq: int,
    track_name: str,
    sections: Sequence[tuple[float, str]],
) -> Path:
    from symusic import Note, Score, Tempo, TextMeta, TimeSignature, Track

    if np.any(tempo_map.change_qn < 0) or (qn.size and qn.min() < -1e-9):
        raise InputError("cannot write notes before the start of the file (quarter note 0)")
    tick = np.rint(np.asarray(qn, dtype=np.float64) * tpq).astype(np.int64)
    pitch = np.array([LANE_TO_GM_NOTE[Lane(int(x))] for x in range(len(Lane))])[lane]
    duration = _note_lengths(tick, pitch, tpq)
    score: Any = Score(int(tpq))  # symusic's stubs leave its fields out
    for at, bpm in tempo_map.tempos:
        score.tempos.append(Tempo(round(at * tpq), mspq=round(60e6 / bpm)))
    for at, num, den in tempo_map.time_signatures:
        score.time_signatures.append(TimeSignature(round(at * tpq), int(num), int(den)))
    for at, text in sections:
        score.markers.append(TextMeta(max(round(at * tpq), 0), str(text)))
    track: Any = Track(name=track_name, program=0, is_drum=True)
    track.notes = Note.from_numpy(
        tick.astype(np.int32),
        duration.astype(np.int32),
        pitch.astype(np.int8),
        np.clip(velocity, 1, 127).astype(np.int8),
    )
    score.tracks.append(track)
    out = Path(path).expanduser()
    try:
        out.write_bytes(score.dumps_midi())
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out


def _note_lengths(tick: np.ndarray, pitch: np.ndarray, tpq: int) -> np.ndarray:
    """A 32nd note each, cut short before the next note of the same pitch.

    Overlapping notes of one pitch would make a reader pair a note-off with the wrong
    note-on, and lose hits.
    """
    length = np.full(tick.size, max(tpq // 8, 1), dtype=np.int64)
    order = np.lexsort((tick, pitch))
    t, p = tick[order], pitch[order]
    same = p[1:] == p[:-1]
    gap = np.where(same, t[1:] - t[:-1], np.iinfo(np.int64).max)
    length[order[:-1]] = np.clip(np.minimum(length[order[:-1]], gap - 1), 1, None)
    return length


@dataclass(frozen=True, eq=False)
class NoteOnsets:
    """Every note onset of a MIDI file, of any instrument (a pianist's, a tapper's).

    Attributes
    ----------
    onset_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    pitch : np.ndarray [shape=(n,), int16]
    velocity : np.ndarray [shape=(n,), int16, 1-127]
    tempo_map : TempoMap
    path : Path or None
    """

    onset_sec: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    tempo_map: TempoMap
    path: Path | None = None

    @property
    def name(self) -> str:
        """The file's name (``"<bytes>"`` when read from memory)."""
        return self.path.name if self.path is not None else "<bytes>"


def read_note_onsets(path: str | Path) -> NoteOnsets:
    """Read the onset of every note in a MIDI file, whatever the instrument or channel.

    For performances that are not drums, such as the keyboard part of a duo, or beat
    onsets stored as notes.

    Raises
    ------
    NotFoundError
        If the file does not exist.
    InputError
        If the file is empty, not MIDI, corrupt, or holds no notes.
    """
    from symusic import Score

    p = Path(path).expanduser()
    if not p.is_file():
        raise NotFoundError(f"no such MIDI file: {p}")
    label = str(p)
    data = p.read_bytes()
    tpq, data = _parseable(data, label)
    try:
        score: Any = Score.from_midi(data)  # symusic's stubs leave its fields out
    except RuntimeError as exc:
        raise InputError(f"{label} is corrupt: {_clean_parser_message(exc)}") from None
    tracks = _note_tracks(score, data, label)
    if not tracks:
        raise InputError(f"{label} holds no notes (it has tempo or other events only)")
    tick = np.concatenate([t.tick for t in tracks])
    order = np.argsort(tick, kind="stable")
    tempo_map = _tempo_map(score, tpq, label)
    return NoteOnsets(
        onset_sec=np.ascontiguousarray(tempo_map.qn_to_sec(tick[order] / tpq)),
        pitch=np.concatenate([t.pitch for t in tracks])[order].astype(np.int16),
        velocity=np.clip(np.concatenate([t.velocity for t in tracks])[order], 1, 127).astype(
            np.int16
        ),
        tempo_map=tempo_map,
        path=p,
    )
