"""Reading and writing Standard MIDI Files.

Files are written out byte by byte, mido-style, so every test states exactly what is
in the file. Delta times below 128 ticks are one byte; ``0x83 0x60`` is 480.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymbalism.errors import CymbalismWarning, InputError, NotFoundError
from cymbalism.io.midi import parse_midi, read_midi, write_chart, write_hits
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

END_OF_TRACK = b"\x00\xff\x2f\x00"
TEMPO_120 = b"\x00\xff\x51\x03\x07\xa1\x20"  # 500000 us per quarter note


def smf(*tracks: bytes, fmt: int | None = None, tpq: int = 96) -> bytes:
    """A Standard MIDI File: the MThd header, then one MTrk chunk per track."""
    fmt = (0 if len(tracks) == 1 else 1) if fmt is None else fmt
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), tpq)
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


# A type 0 groove at 96 ticks per quarter, 120 BPM (a quarter note is 0.5 s), channel 10.
GROOVE = smf(
    TEMPO_120
    + b"\x00\x99\x24\x64"  # t=0    note-on  ch10 kick 36 vel 100
    + b"\x00\x99\x2a\x50"  # t=0    note-on  ch10 closed hi-hat 42 vel 80
    + b"\x0c\x89\x24\x00"  # t=12   note-off kick
    + b"\x00\x99\x2a\x00"  # t=12   note-on hi-hat with velocity 0: a note-off
    + b"\x24\x99\x2a\x3c"  # t=48   note-on  hi-hat vel 60 (an eighth note later)
    + b"\x0c\x99\x2a\x00"  # t=60   velocity 0: note-off
    + b"\x24\x99\x26\x7f"  # t=96   note-on  snare 38 vel 127
    + b"\x0c\x89\x26\x00"  # t=108  note-off snare
    + END_OF_TRACK
)


def test_reads_hits_in_seconds_and_treats_velocity_zero_as_note_off():
    perf = parse_midi(GROOVE)
    assert perf.hits.onset_sec.tolist() == [0.0, 0.0, 0.25, 0.5]
    assert perf.hits.lane.tolist() == [
        Lane.KICK,
        Lane.HIHAT_CLOSED,
        Lane.HIHAT_CLOSED,
        Lane.SNARE,
    ]
    assert perf.hits.velocity.tolist() == [100, 80, 60, 127]
    assert perf.note.tolist() == [36, 42, 42, 38]
    assert perf.onset_qn.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert perf.tempo_map == TempoMap.constant(120.0)
    assert perf.drum_source == "channel 10"
    assert perf.ticks_per_quarter == 96
    assert perf.end_sec == pytest.approx(108 / 96 * 0.5)


def test_type1_ticks_go_through_the_tempo_map_once():
    conductor = (
        TEMPO_120
        + b"\x00\xff\x58\x04\x03\x02\x18\x08"  # t=0   time signature 3/4
        + b"\x00\xff\x06\x05intro"  # t=0   marker "intro"
        + b"\x81\x40\xff\x51\x03\x0f\x42\x40"  # t=192 tempo 1000000 us = 60 BPM
        + b"\x00\xff\x06\x05verse"  # t=192 marker "verse"
        + END_OF_TRACK
    )
    drums = (
        b"\x00\xff\x03\x05Drums"  # track name
        + b"\x82\x20\x99\x26\x64"  # t=288 (3 qn) snare: 2 qn at 120 + 1 qn at 60 = 2 s
        + b"\x10\x89\x26\x00"  # t=304 note-off
        + END_OF_TRACK
    )
    perf = parse_midi(smf(conductor, drums))
    assert perf.hits.onset_sec.tolist() == [2.0]
    assert perf.tempo_map.tempos == [(0.0, 120.0), (2.0, 60.0)]
    assert perf.tempo_map.time_signatures == [(0.0, 3, 4)]
    assert perf.sections == ((0.0, "intro"), (2.0, "verse"))


def test_a_file_without_tempo_events_is_120_bpm():
    body = b"\x60\x99\x24\x64" + b"\x10\x89\x24\x00" + END_OF_TRACK  # t=96 kick, t=112 off
    perf = parse_midi(smf(body))
    assert perf.tempo_map == TempoMap.constant(120.0)
    assert perf.hits.onset_sec.tolist() == [0.5]


def test_mido_parser_counts_a_note_struck_again_before_its_note_off():
    body = (
        b"\x00\x99\x26\x64"  # t=0   snare on
        + b"\x30\x99\x26\x50"  # t=48  snare on again, before any note-off
        + b"\x10\x89\x26\x00"  # t=64  one note-off
        + b"\x10\x89\x26\x00"  # t=80  the other note-off
        + END_OF_TRACK
    )
    assert parse_midi(smf(body), parser="mido").hits.onset_sec.tolist() == [0.0, 0.25]
    assert parse_midi(smf(body)).hits.onset_sec.tolist() == [0.0, 0.25]  # symusic: one
    with pytest.raises(InputError, match="unknown MIDI parser"):
        parse_midi(smf(body), parser="pretty")


def test_note_ons_without_any_note_off_are_still_hits():
    body = (
        TEMPO_120
        + b"\x00\x99\x24\x64"  # t=0  kick, never switched off
        + b"\x30\x99\x26\x50"  # t=48 snare, never switched off
        + b"\x30\x99\x2a\x40"  # t=96 hi-hat, never switched off
        + END_OF_TRACK
    )
    perf = parse_midi(smf(body))
    assert perf.hits.onset_sec.tolist() == [0.0, 0.25, 0.5]
    assert perf.hits.lane.tolist() == [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED]


def test_a_note_left_on_is_a_hit_among_notes_switched_off():
    # the hi-hat is never switched off, the kick and snare are; the take stops before
    # the last crash's note-off
    body = (
        TEMPO_120
        + b"\x00\x99\x24\x64\x00\x99\x2a\x50"  # t=0   kick + hi-hat (no off)
        + b"\x0c\x89\x24\x00"  # t=12  kick off
        + b"\x24\x99\x2a\x50"  # t=48  hi-hat (no off)
        + b"\x30\x99\x26\x64\x00\x99\x2a\x50"  # t=96  snare + hi-hat (no off)
        + b"\x0c\x89\x26\x00"  # t=108 snare off
        + b"\x54\x99\x31\x64"  # t=192 crash, the take stops before its note-off
        + END_OF_TRACK
    )
    hits = parse_midi(smf(body)).hits
    assert hits.onset_sec.tolist() == [0.0, 0.0, 0.25, 0.5, 0.5, 1.0]
    hat, crash = Lane.HIHAT_CLOSED, Lane.CRASH
    assert sorted(hits.lane.tolist()) == sorted([Lane.KICK, hat, hat, Lane.SNARE, hat, crash])


def test_zero_length_notes_as_transcription_tools_write_them(tmp_path: Path):
    """pretty_midi writes a note of zero length with its note-off before its note-on at
    the same tick: every one is a hit all the same."""
    pretty_midi = pytest.importorskip("pretty_midi")
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="Drums")
    onsets = np.arange(16) * 0.25
    for k, t in enumerate(onsets.tolist()):
        kit.notes.append(pretty_midi.Note(velocity=100, pitch=42, start=t, end=t))
        if k % 4 == 0:
            kit.notes.append(pretty_midi.Note(velocity=90, pitch=36, start=t, end=t))
    pm.instruments.append(kit)
    pm.write(str(tmp_path / "transcribed.mid"))
    hits = read_midi(tmp_path / "transcribed.mid").hits
    assert np.count_nonzero(hits.lane == Lane.HIHAT_CLOSED) == 16
    assert np.count_nonzero(hits.lane == Lane.KICK) == 4
    np.testing.assert_allclose(np.unique(hits.onset_sec), onsets, atol=1e-3)


def test_drums_on_another_channel_are_found_by_their_notes():
    # channel 1 (status 0x90) in a track named "Kit": kick and hi-hat together, then snare
    body = (
        b"\x00\xff\x03\x03Kit"
        + b"\x00\x90\x24\x64\x00\x90\x2a\x64"  # t=0 kick + hi-hat
        + b"\x0c\x80\x24\x00\x00\x80\x2a\x00"  # t=12 offs
        + b"\x54\x90\x26\x64\x0c\x80\x26\x00"  # t=96 snare, t=108 off
        + END_OF_TRACK
    )
    perf = parse_midi(smf(body))
    assert perf.hits.lane.tolist() == [Lane.KICK, Lane.HIHAT_CLOSED, Lane.SNARE]
    assert "Kit" in perf.drum_source and "channel 10" in perf.drum_source


def test_an_unnamed_track_in_a_file_named_drums_is_drums(tmp_path):
    # beat onsets on channel 1, one note per beat (nothing sounds together), no track
    # name: too little to tell from the notes alone, but the file is called Drums
    beats = b"".join(bytes([0x00, 0x90, n, 0x64, 0x30, 0x80, n, 0x00]) for n in (51, 44, 51, 44))
    data = smf(beats + END_OF_TRACK)
    (tmp_path / "take.mid").write_bytes(data)
    (tmp_path / "Condition 2 - Drums-glued.mid").write_bytes(data)
    with pytest.raises(InputError, match="has no drums"):
        read_midi(tmp_path / "take.mid")
    perf = read_midi(tmp_path / "Condition 2 - Drums-glued.mid")
    assert perf.hits.lane.tolist() == [Lane.RIDE, Lane.HIHAT_PEDAL] * 2
    assert "by its notes" in perf.drum_source


def test_a_bass_line_in_the_drum_register_is_not_drums():
    # an unnamed channel-1 track playing C2 D2 E2 F2 G2 one at a time: every note is in the
    # GM drum map, but nothing sounds together, so it is a bass line, not a drummer
    notes = b"".join(
        bytes([0x00, 0x90, n, 0x64, 0x30, 0x80, n, 0x00]) for n in (36, 38, 40, 41, 43)
    )
    with pytest.raises(InputError, match="has no drums"):
        parse_midi(smf(notes + END_OF_TRACK))


def test_channel_10_wins_over_other_tracks():
    piano = b"\x00\x90\x3c\x64\x60\x80\x3c\x00" + END_OF_TRACK  # middle C on channel 1
    perf = parse_midi(smf(piano, GROOVE[22:]))  # GROOVE's track body (after MThd + MTrk)
    assert len(perf.hits) == 4 and perf.drum_source == "channel 10"


def test_kit_maps_e_kit_notes_and_unknown_notes_are_counted():
    body = (
        b"\x00\x99\x1b\x64\x10\x89\x1b\x00"  # t=0 note 27: TD-17 AUX head; not GM
        + b"\x00\x99\x24\x64\x10\x89\x24\x00"  # t=16 kick
        + END_OF_TRACK
    )
    with pytest.warns(CymbalismWarning, match=r"1 drum note outside .* \(note 27 x1\)"):
        gm = parse_midi(smf(body))
    assert gm.hits.lane.tolist() == [Lane.KICK]
    assert gm.unmapped_notes == {27: 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every note mapped: nothing to say
        td17 = parse_midi(smf(body), kit="td17")
    assert td17.hits.lane.tolist() == [Lane.CRASH, Lane.KICK]
    assert td17.kit == "Roland TD-17" and td17.unmapped_notes == {}


# ---------------------------------------------------------------- each bad file, its own error
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a MIDI file"),  # a WAV file
        (b"MThd\x00\x00\x00\x06\x00", "truncated: its header"),  # header cut short
        # header then a track that claims 32 bytes but holds 4
        (smf(b"")[:14] + b"MTrk\x00\x00\x00\x20\x00\x99\x24\x64", "truncated: the 'MTrk'"),
        # header says two tracks, only one is there
        (smf(END_OF_TRACK).replace(b"\x00\x01\x00\x60", b"\x00\x02\x00\x60", 1), "declares 2"),
        (smf(), "holds no tracks"),  # a header and nothing else
        # a data byte (0x24) where a status byte must be, with no running status before it
        (smf(b"\x00\x24\x64" + END_OF_TRACK), "is corrupt"),
        (smf(TEMPO_120 + END_OF_TRACK), "holds no notes"),  # a tempo and nothing else
        # a tempo of 0 microseconds per quarter note, then a kick
        (
            smf(
                b"\x00\xff\x51\x03\x00\x00\x00" + b"\x00\x99\x24\x64\x10\x89\x24\x00" + END_OF_TRACK
            ),
            "tempo of 0 microseconds",
        ),
        (smf(END_OF_TRACK, END_OF_TRACK, fmt=2), "type 2"),
        (smf(END_OF_TRACK, tpq=0xE728), "SMPTE"),  # -25 fps, 40 ticks per frame
        # a piano melody on channel 1: notes, but no drums
        (
            smf(b"\x00\x90\x3c\x64\x60\x80\x3c\x00\x00\x90\x40\x64\x60\x80\x40\x00" + END_OF_TRACK),
            "has no drums",
        ),
        # channel 10 holds only notes that no drum map knows (a melody put on channel 10)
        (smf(b"\x00\x99\x48\x64\x60\x89\x48\x00" + END_OF_TRACK), "is in the General MIDI"),
        # a kick 2^28 ticks (16 days at 120 BPM) after the start: delta times gone wrong
        (smf(b"\xff\xff\xff\x7f\x99\x24\x64" + END_OF_TRACK), "reach 16 days"),
        # two tracks, the first claiming 2 bytes fewer than it holds: the second chunk's
        # header is read from the middle of the first's events
        (
            smf(b"\x00\x99\x24\x64\x10\x89\x24\x00" + END_OF_TRACK, END_OF_TRACK).replace(
                b"MTrk\x00\x00\x00\x0c", b"MTrk\x00\x00\x00\x0a", 1
            ),
            "is corrupt",
        ),
    ],
    ids=[
        "empty",
        "not-midi",
        "short-header",
        "truncated-track",
        "missing-track",
        "no-tracks",
        "corrupt-event",
        "no-notes",
        "zero-tempo",
        "type-2",
        "smpte",
        "drumless",
        "unmapped-drums",
        "huge-delta",
        "wrong-track-length",
    ],
)
def test_each_bad_file_gets_one_clear_error_naming_it(tmp_path, data, message):
    path = tmp_path / "song.mid"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as info:
        read_midi(path)
    assert str(path) in str(info.value)


def test_what_tools_leave_around_the_tracks_is_read_past():
    # bytes after the declared tracks (a tool's padding or junk), and a header longer
    # than 6 bytes (the standard lets readers skip what they do not know)
    kick = b"\x00\x99\x24\x64\x10\x89\x24\x00" + END_OF_TRACK
    for data in (
        smf(kick) + b"\x00junk!\x01",
        smf(kick).replace(b"MThd\x00\x00\x00\x06", b"MThd\x00\x00\x00\x08", 1)[:14]
        + b"\x00\x00"
        + smf(kick)[14:],
    ):
        assert parse_midi(data).hits.lane.tolist() == [Lane.KICK]


def test_missing_file_and_folder():
    with pytest.raises(NotFoundError, match="no such MIDI file"):
        read_midi("/nonexistent/song.mid")
    with pytest.raises(InputError, match="is a folder"):
        read_midi(Path(__file__).parent)


# ---------------------------------------------------------------- writing
def _mido_messages(path: Path) -> list[mido.Message]:
    return [m for track in mido.MidiFile(path).tracks for m in track]


def test_write_hits_round_trip_and_gm_channel_10(tmp_path):
    tm = TempoMap([(0.0, 100.0), (8.0, 140.0)], [(0.0, 4, 4), (8.0, 7, 8)])
    hits = Hits.from_arrays(
        [0.0, 0.3001, 0.3003, 1.25, 4.8, 4.81, 9.0],
        [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.RIDE, Lane.TOM_HIGH, Lane.TOM_HIGH, 8],
        [100, 30, 127, 64, 90, 91, 1],
    )
    path = write_hits(tmp_path / "out.mid", hits, tm)
    back = read_midi(path)
    tick_sec = 60.0 / 100.0 / 960
    np.testing.assert_allclose(back.hits.onset_sec, hits.onset_sec, atol=tick_sec / 2 + 1e-12)
    assert back.hits.lane.tolist() == hits.lane.tolist()
    assert back.hits.velocity.tolist() == hits.velocity.tolist()
    assert back.tempo_map == tm
    notes = [m for m in _mido_messages(path) if m.type in {"note_on", "note_off"}]
    assert {m.channel for m in notes} == {9}  # GM percussion channel 10


@given(
    st.lists(
        st.tuples(st.floats(0.0, 60.0), st.sampled_from(list(Lane)), st.integers(1, 127)),
        min_size=1,
        max_size=40,
    ),
    st.floats(40.0, 240.0),
)
def test_write_read_round_trip_keeps_every_hit(tmp_path_factory, rows, bpm):
    onset, lane, vel = zip(*rows, strict=True)
    hits = Hits.from_arrays(onset, lane, vel)
    tm = TempoMap.constant(bpm)
    tick_sec = 60.0 / bpm / 960
    # hits of one lane closer than two ticks may share a tick; keep them apart here
    keep = np.ones(len(hits), bool)
    for ln in set(hits.lane.tolist()):
        idx = np.flatnonzero(hits.lane == ln)
        close = np.diff(hits.onset_sec[idx]) < 2 * tick_sec
        keep[idx[1:][close]] = False
    hits = hits.select(keep)
    path = write_hits(tmp_path_factory.mktemp("rt") / "x.mid", hits, tm)
    back = read_midi(path)
    assert len(back.hits) == len(hits)
    np.testing.assert_allclose(back.hits.onset_sec, hits.onset_sec, atol=tick_sec / 2 + 1e-9)


def test_write_hits_refuses_negative_times(tmp_path):
    hits = Hits.from_arrays([-0.5, 1.0], Lane.KICK)
    with pytest.raises(InputError, match="before the start"):
        write_hits(tmp_path / "x.mid", hits, TempoMap.constant(120.0))


def test_write_chart_has_tempo_time_signature_sections_and_the_level(tmp_path):
    tm = TempoMap([(0.0, 90.0), (12.0, 120.0)], [(0.0, 3, 4), (12.0, 4, 4)])
    expert = Part.from_arrays([0.0, 0.5, 1.0, 12.0, 13.5], [0, 2, 1, 8, 9], [110, 60, 100, 127, 80])
    easy = Part.from_arrays([0.0, 12.0], [0, 8])
    chart = Chart(
        "Seoul Run",
        tm,
        {Level.EXPERT: expert, Level.EASY: easy},
        sections=((0.0, "intro"), (12.0, "chorus")),
    )
    path = write_chart(tmp_path / "chart.mid", chart)
    back = read_midi(path)
    assert back.onset_qn.tolist() == expert.qn.tolist()
    assert back.hits.lane.tolist() == expert.lane.tolist()
    assert back.hits.velocity.tolist() == expert.velocity.tolist()
    # MIDI stores tempo in whole microseconds per quarter (90 BPM: 666,667 us), so a few us
    np.testing.assert_allclose(
        back.hits.onset_sec, chart.targets(Level.EXPERT).onset_sec, rtol=0, atol=1e-5
    )
    assert back.tempo_map == tm
    assert back.sections == ((0.0, "intro"), (12.0, "chorus"))
    names = [m.name for m in _mido_messages(path) if m.type == "track_name"]
    assert names == ["Seoul Run"]

    easy_back = read_midi(write_chart(tmp_path / "easy.mid", chart, level="easy"))
    assert easy_back.onset_qn.tolist() == [0.0, 12.0]


def test_groove_midi_file_matches_an_independent_reader(shared_data):
    """A real TD-11 recording: every note-on mido sees is a hit, at mido's tick."""
    path = shared_data / "groove_midi" / "drummer1" / "session1" / "1_funk_80_beat_4-4.mid"
    perf = read_midi(path)
    mf = mido.MidiFile(path)
    ticks, tick = [], 0
    for msg in mf.tracks[0]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            ticks.append(tick)
    assert len(perf.hits) == len(ticks)
    assert perf.tempo_map.bpm[0] == pytest.approx(80.0, rel=1e-6)
    np.testing.assert_allclose(perf.onset_qn, np.sort(ticks) / mf.ticks_per_beat)
    sec_per_tick = 60.0 / perf.tempo_map.bpm[0] / mf.ticks_per_beat
    np.testing.assert_allclose(perf.hits.onset_sec, np.sort(ticks) * sec_per_tick, atol=1e-9)


def test_bytes_and_file_read_the_same(tmp_path):
    path = tmp_path / "g.mid"
    path.write_bytes(GROOVE)
    assert read_midi(path).hits == parse_midi(io.BytesIO(GROOVE).getvalue()).hits
    assert read_midi(path).name == "g.mid"


# ------------------------------------------------------------------ the chart track reader
_LATIN1 = st.characters(max_codepoint=255)
_MESSAGES = st.one_of(
    st.builds(
        lambda ch, note, vel: mido.Message("note_on", channel=ch, note=note, velocity=vel),
        st.integers(0, 15), st.integers(0, 127), st.integers(0, 127),
    ),
    st.builds(
        lambda ch, note: mido.Message("note_off", channel=ch, note=note),
        st.integers(0, 15), st.integers(0, 127),
    ),
    st.builds(lambda v: mido.Message("control_change", control=7, value=v), st.integers(0, 127)),
    st.builds(lambda p: mido.Message("program_change", program=p), st.integers(0, 127)),
    st.builds(lambda v: mido.Message("pitchwheel", pitch=v), st.integers(-8192, 8191)),
    st.builds(lambda v: mido.Message("aftertouch", value=v), st.integers(0, 127)),
    st.builds(lambda d: mido.Message("sysex", data=d), st.lists(st.integers(0, 127), max_size=200)),
    st.builds(lambda t: mido.MetaMessage("text", text=t), st.text(_LATIN1, max_size=140)),
    st.builds(lambda t: mido.MetaMessage("marker", text=t), st.text(_LATIN1, max_size=20)),
    st.builds(lambda t: mido.MetaMessage("set_tempo", tempo=t), st.integers(1, 0xFFFFFF)),
)  # fmt: skip


@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    st.lists(st.tuples(st.integers(0, 70_000), _MESSAGES), max_size=60),
)
def test_the_chart_track_reader_sees_what_mido_sees(name, events):
    """Every note-on, note-off and meta event of a track, as mido reads the same bytes
    (running status, long delta times, system-exclusive and meta events of any length)."""
    from cymbalism.io.midi import scan_track, track_chunks, track_name

    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
    track += [msg.copy(time=delta) for delta, msg in events]
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    _, chunks = track_chunks(buf.getvalue())
    got = scan_track(chunks[0])
    assert track_name(chunks[0]) == got.name == name.strip()
    ons, offs, metas, tick = [], [], [], 0
    for msg in mido.MidiFile(file=io.BytesIO(buf.getvalue())).tracks[0]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            ons.append((tick, msg.note, msg.velocity))
        elif msg.type in {"note_on", "note_off"}:
            offs.append((tick, msg.note))
        elif msg.is_meta and msg.type in {"text", "marker"}:
            metas.append((tick, msg.text))
    on = zip(got.on_tick.tolist(), got.on_note.tolist(), got.on_velocity.tolist(), strict=True)
    assert list(on) == ons
    assert list(zip(got.off_tick.tolist(), got.off_note.tolist(), strict=True)) == offs
    assert got.texts(1, 6) == metas
    assert got.end_tick == tick


def test_a_truncated_track_is_one_clear_error():
    from cymbalism.io.midi import scan_track

    with pytest.raises(InputError, match="truncated: a track ends inside an event"):
        scan_track(b"\x00\x99\x24")  # a note-on cut off after its note number
    with pytest.raises(InputError, match="data byte 0x24 at byte 1 where an event should start"):
        scan_track(b"\x00\x24\x40")  # running status with no status before it


def _duet_file(path: Path, parts: dict[str, Hits], tempo_map: TempoMap) -> Path:
    """One type-1 file with each player's drums on a track of their own, all on channel
    10, as a DAW records two e-kits; each player's own file is written beside it."""
    out = mido.MidiFile(type=1, ticks_per_beat=960)
    for name, hits in parts.items():
        single = mido.MidiFile(write_hits(path.with_name(f"{name}.mid"), hits, tempo_map))
        for track in single.tracks:
            notes = [m for m in track if not (m.is_meta and m.type == "track_name")]
            if any(m.type == "note_on" for m in notes):
                out.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name=name)]))
                out.tracks[-1].extend(notes)
            elif not out.tracks:  # the tempo track, once
                out.tracks.append(track)
    out.save(path)
    return path


def test_two_kits_recorded_into_one_file_are_drum_parts_read_one_at_a_time(tmp_path):
    from cymbalism.songs import get_song

    chart = get_song("mirrorball")
    ana, ben = chart.targets(Level.EXPERT), chart.targets(Level.BEGINNER)
    duet = _duet_file(tmp_path / "duet.mid", {"Ana": ana, "Ben": ben}, chart.tempo_map)
    whole = read_midi(duet)
    assert [(p.track, p.n_notes) for p in whole.drum_parts] == [
        ("Ana", len(ana)), ("Ben", len(ben))
    ]  # fmt: skip
    assert whole.drum_parts[1].n_lanes == len(set(ben.lane.tolist())) >= 3
    assert whole.part is None and len(whole.hits) == len(ana) + len(ben)
    assert whole.kits == list(whole.drum_parts)
    for k, alone in enumerate((ana, ben)):
        part = read_midi(duet, part=k)
        assert part.part == k and part.drum_parts == whole.drum_parts
        assert part.name == f"duet.mid:{k + 1}"
        assert part.hits.lane.tolist() == alone.lane.tolist()
        np.testing.assert_allclose(part.hits.onset_sec, alone.onset_sec, atol=1e-3)
    with pytest.raises(InputError, match=r"duet.mid has no drum part 3: it has 2 \(1: 'Ana', 2"):
        read_midi(duet, part=2)
    # players are named by their tracks
    from cymbalism.io.performance import default_names, load_performance

    parts = [load_performance(f"{duet}:{k}") for k in (1, 2)]
    assert default_names(parts) == ["Ana", "Ben"]
    assert default_names([whole]) == ["duet"]
    # a drum program's export, a track per drum: parts, but no kits (no two players)
    kick, snare = (ana.select(ana.lane == lane) for lane in (Lane.KICK, Lane.SNARE))
    split = _duet_file(tmp_path / "split.mid", {"Kick": kick, "Snare": snare}, chart.tempo_map)
    per_drum = read_midi(split)
    assert [p.n_lanes for p in per_drum.drum_parts] == [1, 1] and per_drum.kits == []
