"""Charts as the games read them: what community charts hold that a tidy chart does not.

Every chart here is written by the test itself, small enough to work out by hand.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.charts import (
    EXPERT_PLUS,
    ChartWarning,
    find_chart_file,
    load_chart,
    parse_chart_text,
    read_chart,
    read_chart_file,
    read_notes_mid,
    save_chart,
)
from cymbalism.io.library import song_record
from cymbalism.model.chart import (
    ACCENT_VELOCITY,
    GHOST_VELOCITY,
    LADDER,
    NORMAL_VELOCITY,
    PADS,
    Chart,
    Level,
    Part,
)
from cymbalism.model.lanes import NOT_JUDGED, Lane
from cymbalism.model.tempo import TempoMap

# A small pro-drums chart: 120 BPM, kick + hi-hat on beats, snare on 2 and 4.
SONG = """\
[Song]
{
  Name = "Small"
  Resolution = 192
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
}
[Events]
{
  0 = E "section Intro"
}
[ExpertDrums]
{
  0 = N 0 0
  0 = N 2 0
  0 = N 66 0
  192 = N 1 0
  384 = N 0 0
  480 = N 32 0
  576 = N 1 0
  576 = N 3 0
}
[HardDrums]
{
  0 = N 0 0
  192 = N 1 0
  288 = N 32 0
}
"""


def _lanes(part: Part) -> list[Lane]:
    return [Lane(int(x)) for x in part.lane]


# ------------------------------------------------------------------ sections nobody reads
GUITAR_AND_VOCALS = """\
[ExpertEnhancedGuitar]
{
  0 = N 0 0
  0 = S 2 768
  96 = E solo
}
[ExpertVocals]
{
  0 = E "lyric Ca-"
  96 = E "lyric fe [x] = {y}"
  100 = Q weird stuff 1 2 3
}
[SomeEditorsOwnData]
{
  Version = 3
  Strange = "[NotASection]"
}
"""


def test_sections_the_games_do_not_use_are_skipped_unread():
    plain = parse_chart_text(SONG)
    noisy = parse_chart_text(SONG.replace("[Events]", GUITAR_AND_VOCALS + "[Events]"))
    for lv in (Level.HARD, Level.EXPERT):
        assert noisy.part(lv) == plain.part(lv)
    assert noisy.sections == plain.sections and noisy.tempo_map == plain.tempo_map
    # a broken line in a section that is read is skipped, and named, as the games do
    broken = SONG.replace("  192 = N 1 0\n  384", "  192 = N 1 0\n  1x2 = N 1 0\n  384", 1)
    with pytest.warns(ChartWarning, match=r"line 21 '1x2 = N 1 0'"):
        assert parse_chart_text(broken).part(Level.EXPERT) == plain.part(Level.EXPERT)


_NAMES = st.from_regex(r"[A-Z][A-Za-z0-9]{0,15}", fullmatch=True).filter(
    lambda n: (
        n not in {"Song", "SyncTrack", "Events", "ExpertDoubleDrums"} and not n.endswith("Drums")
    )
)
_VALUES = st.text(
    st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"], blacklist_characters="\r\n"),
    max_size=30,
)
_LINES = st.one_of(
    st.builds(
        lambda t, k, v: f"{t} = {k} {v}", st.integers(0, 10**6), st.sampled_from("NSEAB"), _VALUES
    ),
    st.builds(
        lambda k, v: f"{k} = {v}", st.from_regex(r"[A-Za-z]\w{0,8}", fullmatch=True), _VALUES
    ),
)
_SECTION = st.builds(
    lambda name, lines: f"[{name}]\n{{\n" + "".join(f"  {x}\n" for x in lines) + "}\n",
    _NAMES,
    st.lists(_LINES, max_size=8),
)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 5), _SECTION), max_size=5))
def test_any_extra_non_drum_sections_read_exactly_as_without(extra):
    """Sections the games skip may come anywhere and hold anything a line can hold. They
    change nothing, but that the song (with no end event) runs on to their last tick."""
    blocks = ["[Song]", "[SyncTrack]", "[Events]", "[ExpertDrums]", "[HardDrums]"]
    text = SONG
    for where, section in extra:
        if where < len(blocks):
            at = text.index(blocks[where] + "\n")
            text = text[:at] + section + text[at:]
        else:
            text += section
    plain, noisy = parse_chart_text(SONG), parse_chart_text(text)
    assert noisy.levels == plain.levels
    for lv in plain.levels:
        assert noisy.part(lv) == plain.part(lv)
    assert noisy.expert_plus == plain.expert_plus
    assert noisy.tempo_map == plain.tempo_map
    assert noisy.sections == plain.sections
    assert noisy.title == plain.title and dict(noisy.metadata) == dict(plain.metadata)
    ticks = [
        int(m.group(1)) + (int(m.group(2)) if m.group(2) else 0)
        for _, section in extra
        for m in re.finditer(r"^\s*(\d+) = (?:N[ \t]+\d+[ \t]+(\d+))?", section, re.M)
    ]
    last_qn = max(ticks, default=0) / 192
    if last_qn < plain.end_qn:
        assert noisy.end_qn == plain.end_qn
    else:  # the end of the bar that holds the last tick
        assert noisy.end_qn - 4.0 <= last_qn < noisy.end_qn and noisy.end_qn % 4.0 == 0


# ------------------------------------------------------------------ Expert+
def test_double_kicks_belong_to_expert_plus_only():
    chart = parse_chart_text(SONG)
    # N 32 is not a note of Expert or Hard
    assert chart.part(Level.EXPERT).qn.tolist() == [0.0, 0.0, 1.0, 2.0, 3.0, 3.0]
    assert chart.part(Level.HARD).qn.tolist() == [0.0, 1.0]
    # Expert+ is Expert with its double kick at tick 480 (quarter note 2.5)
    plus = chart.expert_plus
    assert plus is not None
    assert list(zip(plus.qn.tolist(), _lanes(plus), strict=True)) == [
        (0.0, Lane.KICK), (0.0, Lane.HIHAT_CLOSED), (1.0, Lane.SNARE), (2.0, Lane.KICK),
        (2.5, Lane.KICK), (3.0, Lane.SNARE), (3.0, Lane.TOM_MID),
    ]  # fmt: skip
    assert chart.with_double_kick().part(Level.EXPERT) == plus
    # a chart without double kicks has no Expert+ part, and plays the same with 2x kick
    single = parse_chart_text(SONG.replace("  480 = N 32 0\n", ""))
    assert single.expert_plus is None and single.with_double_kick() is single


DOUBLE_DRUMS = """\
[ExpertDoubleDrums]
{
  0 = N 0 0
  96 = N 0 0
  192 = N 1 0
  288 = N 32 0
  384 = N 0 0
  384 = N 4 0
  384 = N 68 0
}
"""


def test_expert_double_drums_is_the_expert_plus_part():
    chart = parse_chart_text(SONG + DOUBLE_DRUMS)
    assert chart.part(Level.EXPERT) == parse_chart_text(SONG).part(Level.EXPERT)
    plus = chart.expert_plus
    assert plus is not None
    assert plus.qn.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert _lanes(plus) == [Lane.KICK, Lane.KICK, Lane.SNARE, Lane.KICK, Lane.KICK, Lane.CRASH]
    # alone, it is the Expert part too, without its N 32 kicks
    alone = parse_chart_text("[Song]\n{\n  Resolution = 192\n}\n" + DOUBLE_DRUMS)
    assert alone.levels == [Level.EXPERT]
    assert alone.part().qn.tolist() == [0.0, 0.5, 1.0, 2.0, 2.0]
    assert alone.expert_plus == plus


def _drums_mid(path: Path, notes: list[tuple[int, int]], *, tracks=("PART DRUMS",), tpq=480,
               texts: list[tuple[int, str]] = ()):  # type: ignore[assignment]  # fmt: skip
    """A MIDI chart whose drum tracks hold ``notes`` as (eighth note, MIDI note), and the
    text events ``texts`` as (eighth note, text)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="song", time=0)]))
    events = [(eighth * tpq // 2, -1, mido.MetaMessage("text", text=t)) for eighth, t in texts]
    for eighth, note in notes:
        tick = eighth * tpq // 2
        events.append((tick, 1, mido.Message("note_on", note=note, velocity=100)))
        events.append((tick + 10, 0, mido.Message("note_off", note=note)))
    for name in tracks:
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        last = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - last))
            last = tick
        mid.tracks.append(track)
    mid.save(str(path))
    return path


def test_midi_double_kicks_95_and_the_2x_track_are_expert_plus(tmp_path):
    notes = [(0, 96), (1, 95), (2, 97), (0, 84), (2, 85)]
    chart = read_notes_mid(_drums_mid(tmp_path / "notes.mid", notes))
    assert chart.part(Level.EXPERT).qn.tolist() == [0.0, 1.0]
    assert chart.part(Level.HARD).qn.tolist() == [0.0, 1.0]
    assert chart.expert_plus is not None and chart.expert_plus.qn.tolist() == [0.0, 0.5, 1.0]
    # a PART DRUMS_2X track beside PART DRUMS holds the Expert+ part as its Expert
    mid = mido.MidiFile(str(tmp_path / "notes.mid"))
    two = _drums_mid(tmp_path / "two.mid", [(0, 96), (1, 96), (3, 96)], tracks=("PART DRUMS_2X",))
    mid.tracks.append(mido.MidiFile(str(two)).tracks[1])
    mid.save(str(tmp_path / "both.mid"))
    both = read_notes_mid(tmp_path / "both.mid")
    assert both.part(Level.EXPERT).qn.tolist() == [0.0, 1.0]
    assert both.expert_plus is not None and both.expert_plus.qn.tolist() == [0.0, 0.5, 1.5]


# ------------------------------------------------------------------ disco flip
# A disco beat charted for the game: the hi-hat on red and the snare on yellow, so each
# hand keeps its side. Pro drums (and so cymbalism) play the real drums there.
DISCO = """\
[Song]
{
  Resolution = 192
}
[SyncTrack]
{
  0 = B 120000
}
[ExpertDrums]
{
  0 = N 1 0
  0 = N 2 0
  0 = N 66 0
  192 = E mix 3 drums0d
  192 = N 1 0
  384 = N 2 0
  384 = N 66 0
  576 = N 1 0
  576 = N 2 0
  768 = E "mix 3 drums0"
  768 = N 1 0
  960 = N 2 0
  960 = N 66 0
}
[HardDrums]
{
  0 = E mix 3 drums0d
  0 = E mix 2 drums0dnoflip
  192 = N 1 0
  384 = N 2 0
  384 = N 66 0
}
"""


def _pairs(part: Part) -> list[tuple[float, Lane]]:
    return sorted((float(q), Lane(int(x))) for q, x in zip(part.qn, part.lane, strict=True))


def test_disco_flip_plays_the_real_drums_where_it_is_on(tmp_path):
    chart = parse_chart_text(DISCO)
    h, s = Lane.HIHAT_CLOSED, Lane.SNARE
    # before beat 1 and from beat 4 as charted; in between red is the hi-hat and
    # yellow, cymbal or tom, the snare
    assert _pairs(chart.part(Level.EXPERT)) == sorted(
        [(0.0, s), (0.0, h), (1.0, h), (2.0, s), (3.0, s), (3.0, h), (4.0, s), (5.0, h)]
    )
    # Hard's events are Expert's flip and Hard's "dnoflip", which moves no note
    assert _pairs(chart.part(Level.HARD)) == [(1.0, s), (2.0, h)]
    # a notes.mid says it the same way, in its drum track's text events
    notes = [(2, 97), (4, 98), (6, 97), (6, 98), (8, 97), (6, 86)]
    texts = [(2, "[mix 3 drums0d]"), (8, "[mix 3 drums0]"), (0, "[mix 2 drums1d]")]
    mid = read_notes_mid(_drums_mid(tmp_path / "notes.mid", notes, texts=texts))
    assert _pairs(mid.part(Level.EXPERT)) == sorted(
        [(1.0, h), (2.0, s), (3.0, s), (3.0, h), (4.0, s)]
    )
    assert _pairs(mid.part(Level.HARD)) == [(3.0, s)]


def test_disco_flip_reaches_the_expert_plus_part(tmp_path):
    chart = parse_chart_text(DISCO.replace("[ExpertDrums]", "[ExpertDoubleDrums]"))
    assert chart.expert_plus is not None
    assert _pairs(chart.expert_plus) == _pairs(parse_chart_text(DISCO).part(Level.EXPERT))
    notes = [(2, 97), (3, 95), (4, 98)]
    mid = read_notes_mid(_drums_mid(tmp_path / "n.mid", notes, texts=[(1, "[mix 3 drums0d]")]))
    assert mid.expert_plus is not None
    assert _pairs(mid.expert_plus) == [
        (1.0, Lane.HIHAT_CLOSED),
        (1.5, Lane.KICK),
        (2.0, Lane.SNARE),
    ]


def test_a_five_lane_midi_chart_keeps_its_fifth_lane(tmp_path):
    # Guitar Hero's kit in a notes.mid: red, blue and green toms, yellow and orange
    # cymbals; its fifth lane (101) is the floor tom, and it is never disco-flipped
    notes = [(0, 96), (1, 97), (2, 98), (3, 99), (4, 100), (5, 101), (6, 97), (6, 89)]
    texts = [(0, "[mix 3 drums0d]")]
    path = _drums_mid(tmp_path / "notes.mid", notes, tracks=("PART DRUM",), texts=texts)
    chart = read_notes_mid(path)
    assert _pairs(chart.part(Level.EXPERT)) == [
        (0.0, Lane.KICK), (0.5, Lane.SNARE), (1.0, Lane.HIHAT_CLOSED), (1.5, Lane.TOM_MID),
        (2.0, Lane.CRASH), (2.5, Lane.TOM_FLOOR), (3.0, Lane.SNARE),
    ]  # fmt: skip
    assert _pairs(chart.part(Level.HARD)) == [(3.0, Lane.TOM_FLOOR)]
    assert chart.five_lane and not chart.four_pads  # and it says so


def test_song_ini_can_say_the_kit_is_five_lane(tmp_path):
    # a Guitar Hero chart that never uses its fifth lane looks four-lane: song.ini's
    # five_lane_drums says what it is, for a .chart and a notes.mid alike
    chart_text = "[ExpertDrums]\n{\n  0 = N 2 0\n  192 = N 3 0\n  384 = N 4 0\n}\n"
    five = [(0.0, Lane.HIHAT_CLOSED), (1.0, Lane.TOM_MID), (2.0, Lane.CRASH)]
    four = [(0.0, Lane.TOM_HIGH), (1.0, Lane.TOM_MID), (2.0, Lane.TOM_FLOOR)]
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "notes.chart").write_text(chart_text)
    _drums_mid(b / "notes.mid", [(0, 98), (2, 99), (4, 100)])
    assert _pairs(read_chart(a).part(Level.EXPERT)) == four
    assert _pairs(read_chart(b).part(Level.EXPERT)) == [
        (0.0, Lane.HIHAT_CLOSED), (1.0, Lane.RIDE), (2.0, Lane.CRASH),
    ]  # fmt: skip
    assert not read_chart(a).five_lane and not read_chart(b).five_lane
    assert not song_record(a).five_lane and not song_record(b).five_lane
    for folder in (a, b):
        (folder / "song.ini").write_text("[song]\nname = Five\nfive_lane_drums = True\n")
        assert _pairs(read_chart(folder).part(Level.EXPERT)) == five
        assert read_chart(folder).five_lane
        assert song_record(folder).five_lane  # the library lists it so
        # written out, it is a pro chart: read again, no longer five-lane
        save_chart(tmp_path / "saved.chart", read_chart(folder))
        again = load_chart(tmp_path / "saved.chart")
        assert not again.five_lane and _pairs(again.part(Level.EXPERT)) == five
        assert _pairs(load_chart(next(folder.glob("notes.*"))).part(Level.EXPERT)) == five
        assert read_chart(folder).title == "Five"
        assert song_record(folder).level("expert").lanes == {
            "hihat_closed": 1,
            "tom_mid": 1,
            "crash": 1,
        }


def test_a_chart_made_for_four_pads_is_judged_by_pad(tmp_path):
    """A chart with no cymbal or tom markers names pads, not drums (unless its song.ini
    says pro_drums): a hit on either drum of a pad counts for the drum the chart reads."""
    chart_text = "[ExpertDrums]\n{\n  0 = N 2 0\n  192 = N 3 0\n  384 = N 4 0\n}\n"
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "notes.chart").write_text(chart_text)
    _drums_mid(b / "notes.mid", [(0, 98), (2, 99), (4, 100)])
    toms, cymbals = read_chart(a), read_chart(b)
    assert toms.metadata[PADS] == "toms" and cymbals.metadata[PADS] == "cymbals"
    assert song_record(a).pads and song_record(b).pads  # the library lists it
    lanes = np.arange(len(Lane))
    # (no game chart has a hi-hat pedal note: the pedal is not judged)
    assert toms.hit_lanes("expert")[lanes].tolist() == [
        Lane.KICK, Lane.SNARE, Lane.TOM_HIGH, Lane.TOM_HIGH, NOT_JUDGED,
        Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR, Lane.TOM_FLOOR, Lane.TOM_MID,
    ]  # fmt: skip
    assert cymbals.hit_lanes("expert")[lanes].tolist() == [
        Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, NOT_JUDGED,
        Lane.HIHAT_CLOSED, Lane.RIDE, Lane.CRASH, Lane.CRASH, Lane.RIDE,
    ]  # fmt: skip
    # markers make a pro chart: its drums are judged as drums
    assert PADS not in parse_chart_text(SONG).metadata
    marked = _drums_mid(tmp_path / "marked.mid", [(0, 98), (0, 110), (2, 99)])
    assert PADS not in read_notes_mid(marked).metadata
    expected = [NOT_JUDGED if x == Lane.HIHAT_PEDAL else int(x) for x in Lane]
    assert read_notes_mid(marked).hit_lanes("expert").tolist() == expected
    # and so does song.ini's pro_drums, which the library, play and the studio all read
    for folder in (a, b):
        (folder / "song.ini").write_text("[song]\nname = Pro\npro_drums = True\n")
        assert PADS not in read_chart(folder).metadata
        assert PADS not in load_chart(folder).metadata
        assert not song_record(folder).pads


# ------------------------------------------------------------------ tempo and meter
def test_tempos_below_one_bpm_are_tempos():
    text = SONG.replace("  0 = B 120000\n", "  0 = B 120000\n  384 = B 803\n  480 = B 120000\n")
    chart = parse_chart_text(text)
    # quarter notes 0-2 at 120 BPM (1 s), 2-2.5 at 0.803 BPM, then 120 BPM again
    sec = chart.tempo_map.qn_to_sec(np.array([2.0, 2.5, 3.0]))
    np.testing.assert_allclose(sec, [1.0, 1.0 + 0.5 * 60 / 0.803, 1.25 + 0.5 * 60 / 0.803])
    with pytest.raises(InputError, match=r"the tempo 0 BPM at tick 384 is not usable"):
        parse_chart_text(SONG.replace("  0 = B 120000\n", "  0 = B 120000\n  384 = B 0\n"))


def test_a_time_signature_inside_a_bar_starts_a_new_bar(tmp_path):
    # 4/4 from 0; 3/4 at tick 576 (quarter note 3, inside bar 0); 4/4 again at tick 1152
    text = SONG.replace("  0 = TS 4\n", "  0 = TS 4\n  576 = TS 3\n  1152 = TS 4\n")
    tm = parse_chart_text(text).tempo_map
    assert tm.time_signatures == [(0.0, 4, 4), (3.0, 3, 4), (6.0, 4, 4)]
    # bar 0 is cut short at the change; bars are numbered on from there
    assert tm.bar_lines_qn(14.0).tolist() == [0.0, 3.0, 6.0, 10.0]
    bar, beat = tm.qn_to_bar_beat(np.array([2.0, 3.0, 5.0, 6.0, 11.0]))
    assert bar.tolist() == [0, 1, 1, 2, 3] and beat.tolist() == [2.0, 0.0, 2.0, 0.0, 1.0]
    # the same in a MIDI chart
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
                mido.MetaMessage("time_signature", numerator=3, denominator=4, time=3 * 480),
                mido.MetaMessage("time_signature", numerator=4, denominator=4, time=3 * 480),
            ]
        )
    )
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="PART DRUMS", time=0)])
    drums += [mido.Message("note_on", note=96, velocity=100), mido.Message("note_off", note=96)]
    mid.tracks.append(drums)
    path = tmp_path / "notes.mid"
    mid.save(str(path))
    assert read_notes_mid(path).tempo_map.bar_lines_qn(14.0).tolist() == [0.0, 3.0, 6.0, 10.0]


# ------------------------------------------------------------------ encodings
LATIN = (
    '[Song]\n{\n  Name = "Caf\xe9 Cr\xe8me"\n  Artist = "Bj\xf6rk"\n}\n'
    "[ExpertDrums]\n{\n  0 = N 0 0\n}\n"
)


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("latin-1"),
        lambda t: (t + " ").encode("latin-1"),  # the other byte-length parity
        lambda t: t.encode("utf-8"),
        lambda t: t.encode("utf-8-sig"),
        lambda t: t.encode("utf-16"),  # with a byte-order mark
        lambda t: "\ufeff".encode("utf-16-be") + t.encode("utf-16-be"),
        lambda t: t.encode("utf-16-le"),  # without one
        lambda t: t.replace("Caf\xe9", "Caf\xe9 \u201cx\u201d").encode("cp1252"),
        # a UTF-8 file (with its mark) with one Latin-1 word pasted in
        lambda t: "\ufeff".encode() + t.replace("Caf\xe9", "Caf\xe9").encode().replace(
            "Bj\xf6rk".encode(), "Bj\xf6rk".encode("latin-1")
        ),
    ],
    ids=["latin-1", "latin-1-odd", "utf-8", "utf-8-bom", "utf-16", "utf-16-be-bom",
         "utf-16-le-no-bom", "cp1252", "utf-8-bom-one-latin-1-word"],
)  # fmt: skip
def test_the_encoding_is_decided_by_bom_and_clean_decoding(tmp_path, encode):
    path = tmp_path / "notes.chart"
    raw = encode(LATIN)
    path.write_bytes(raw)
    chart = read_chart_file(path)
    assert chart.title.startswith("Caf\xe9") and chart.title.endswith("Cr\xe8me")
    assert chart.artist == "Bj\xf6rk"
    assert chart.part().qn.tolist() == [0.0]


def test_a_latin1_chart_reads_at_any_length(tmp_path):
    """The same chart padded one byte at a time: every length reads the same."""
    for pad in range(4):
        path = tmp_path / f"c{pad}.chart"
        path.write_bytes((LATIN + " " * pad).encode("latin-1"))
        assert read_chart_file(path).title == "Caf\xe9 Cr\xe8me", len(path.read_bytes())


# ------------------------------------------------------------------ song folders
def test_a_plain_drum_midi_file_saved_as_notes_mid_is_pointed_to(tmp_path):
    """A General MIDI drum take saved as a song folder's notes.mid is no game chart: the
    error says to give the file itself, which reads as a song of its own."""
    from cymbalism.io.midi import write_hits
    from cymbalism.model.hits import Hits

    folder = tmp_path / "take"
    folder.mkdir()
    hits = Hits.from_arrays(np.arange(8) * 0.5, [Lane.KICK, Lane.SNARE] * 4, 100)
    write_hits(folder / "notes.mid", hits, TempoMap.constant(120.0))
    with pytest.raises(InputError, match="a plain drum MIDI file, a song of its own: give"):
        load_chart(folder)
    assert len(load_chart(folder / "notes.mid").part()) == 8


def test_a_song_folder_finds_its_chart_by_content(tmp_path):
    folder = tmp_path / "Some Band - Some Song"
    folder.mkdir()
    # a backing track without drums and the Rock Band Network MIDI named after the song
    _drums_mid(folder / "backing.mid", [(0, 60)], tracks=("PART GUITAR",))
    _drums_mid(folder / "somesong.mid", [(0, 96), (2, 97)])
    assert find_chart_file(folder).name == "somesong.mid"
    chart = load_chart(folder, derive_levels=False)
    assert chart.part().qn.tolist() == [0.0, 1.0]
    # a notes.* with drums comes first
    _drums_mid(folder / "notes.mid", [(0, 96)])
    assert find_chart_file(folder).name == "notes.mid"
    # a notes.chart with drums beside it: the MIDI chart plays, as in YARG
    (folder / "notes.chart").write_text("[ExpertDrums]\n{\n  0 = N 0 0\n}\n")
    assert find_chart_file(folder).name == "notes.mid"
    # a notes.mid without drums does not hide a notes.chart that has them
    _drums_mid(folder / "notes.mid", [(0, 60)], tracks=("PART GUITAR",))
    assert find_chart_file(folder).name == "notes.chart"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotFoundError, match="without a chart"):
        read_chart(empty)
    guitar = tmp_path / "guitar"
    guitar.mkdir()
    _drums_mid(guitar / "a.mid", [(0, 60)], tracks=("PART GUITAR",))
    (guitar / "b.chart").write_text("[ExpertSingle]\n{\n  0 = N 0 0\n}\n")
    with pytest.raises(
        InputError, match=r"none of its charts has a drum part \(a\.mid, b\.chart\)$"
    ):
        read_chart(guitar)
    # a folder of plain drum MIDI files (takes, not charts): each is a song of its own
    from cymbalism.io.midi import write_hits
    from cymbalism.model.hits import Hits

    takes = tmp_path / "takes"
    takes.mkdir()
    hits = Hits.from_arrays([0.0, 0.5, 1.0], [Lane.KICK, Lane.SNARE, Lane.KICK])
    for name in ("ana.mid", "ben.mid"):
        write_hits(takes / name, hits, TempoMap.constant(120.0))
    plain = r"ana\.mid is a plain drum MIDI file.*itself \(.*ana\.mid\)"
    with pytest.raises(InputError, match=plain):
        read_chart(takes)


# ------------------------------------------------------------------ writing: no silent loss
def _part(rows: list[tuple[float, Lane]], velocity: int = NORMAL_VELOCITY) -> Part:
    return Part.from_arrays([q for q, _ in rows], [int(x) for _, x in rows], velocity)


@pytest.mark.parametrize("name", ["x.chart", "notes.mid"])
def test_a_tom_under_a_hihat_moves_to_a_free_tom_and_is_counted(tmp_path, name):
    # a Medium part as the simplifier makes it: hi-hat and high tom together at beat 2
    medium = _part(
        [(0.0, Lane.KICK), (0.0, Lane.HIHAT_CLOSED), (1.0, Lane.HIHAT_CLOSED),
         (1.0, Lane.TOM_HIGH), (2.0, Lane.HIHAT_OPEN), (3.0, Lane.HIHAT_PEDAL)]
    )  # fmt: skip
    chart = Chart("folds", TempoMap.constant(100.0), {Level.MEDIUM: medium})
    saved = save_chart(tmp_path / name, chart)
    folds = saved.folds
    assert folds.moved == {
        "Medium": {
            "open hi-hat as hi-hat": 1,
            "high tom as mid tom (a cymbal held its pad)": 1,
        }
    }
    assert folds.dropped == {"Medium": {"hi-hat pedal (no pad)": 1}}
    assert folds.total == 3 and "folded 3 notes" in folds.describe()
    back = read_chart(saved).part(Level.MEDIUM)
    assert len(back) == len(medium) - 1
    assert list(zip(back.qn.tolist(), _lanes(back), strict=True)) == [
        (0.0, Lane.KICK), (0.0, Lane.HIHAT_CLOSED), (1.0, Lane.HIHAT_CLOSED),
        (1.0, Lane.TOM_MID), (2.0, Lane.HIHAT_CLOSED),
    ]  # fmt: skip
    # a plain MIDI file holds every note of the level
    whole = save_chart(tmp_path / "medium.mid", chart, level="medium")
    assert not whole.folds and read_chart(whole).part() == medium


def test_a_beginner_part_with_no_free_slot_is_counted_as_left_out(tmp_path):
    easy = _part([(0.0, Lane.KICK), (1.0, Lane.SNARE)])
    beginner = _part([(0.0, Lane.KICK)])
    chart = Chart("b", TempoMap.constant(90.0), {Level.BEGINNER: beginner, Level.EASY: easy})
    saved = save_chart(tmp_path / "b.chart", chart)
    assert saved.folds.levels_left_out == {"Beginner": 1} and saved.folds.total == 1
    assert "Beginner part (1 notes) left out" in saved.folds.describe()


# ------------------------------------------------------------------ property: round trips
_GRID = 48  # positions on a 1/48 quarter-note grid: exact at 192 and 480 ticks


@st.composite
def any_charts(draw):
    """Charts with anything a part can hold: every lane (the open hi-hat and the pedal
    too), notes sharing a pad, a Beginner part, an Expert+ part, slow tempos and time
    signatures inside bars."""
    bpm = draw(st.sampled_from([0.803, 0.854, 60.0, 120.0, 133.5, 400.0]))
    tempos = [(0.0, bpm)] + [(8.0, draw(st.sampled_from([90.0, 150.25])))] * draw(st.booleans())
    sigs = [(0.0, draw(st.integers(2, 7)), draw(st.sampled_from([4, 8])))]
    if draw(st.booleans()):
        sigs.append((draw(st.integers(1, 16 * _GRID)) / _GRID, draw(st.integers(2, 9)), 4))
    tm = TempoMap(tempos, sigs)

    def part() -> Part:
        n = draw(st.integers(1, 24))
        ticks = draw(st.lists(st.integers(0, 16 * _GRID), min_size=n, max_size=n))
        lanes = draw(st.lists(st.sampled_from(list(Lane)), min_size=n, max_size=n))
        vel = draw(
            st.lists(st.sampled_from([GHOST_VELOCITY, NORMAL_VELOCITY, ACCENT_VELOCITY]),
                     min_size=n, max_size=n)
        )  # fmt: skip
        vel = [NORMAL_VELOCITY if ln == Lane.KICK else v for ln, v in zip(lanes, vel, strict=True)]
        return Part.from_arrays(np.array(ticks) / _GRID, [int(x) for x in lanes], vel)

    levels = draw(st.sets(st.sampled_from(LADDER), min_size=1))
    parts = {lv: part() for lv in levels}
    plus = None
    if Level.EXPERT in parts and draw(st.booleans()):
        expert = parts[Level.EXPERT]
        if draw(st.booleans()):  # double kicks between the Expert notes
            extra = np.array(draw(st.lists(st.integers(0, 16 * _GRID), min_size=1, max_size=6)))
            plus = Part.from_arrays(
                np.concatenate([expert.qn, extra / _GRID]),
                np.concatenate([expert.lane, np.zeros(extra.size, np.int8)]),
                np.concatenate([expert.velocity, np.full(extra.size, NORMAL_VELOCITY)]),
            )
        else:  # an Expert+ part of its own
            plus = part()
    return Chart("random", tm, parts, expert_plus=plus)


def _notes(part: Part) -> Counter:
    return Counter(
        zip(np.rint(part.qn * _GRID).astype(int).tolist(), part.lane.tolist(), strict=True)
    )


@settings(max_examples=40)
@given(any_charts(), st.sampled_from(["song.chart", "notes.mid"]))
def test_save_chart_keeps_every_note_or_counts_it(tmp_path_factory, chart, name):
    """Read back, every level has the same notes, except exactly those the folds count:
    a moved note comes back once on another drum, a dropped one not at all."""
    saved = save_chart(tmp_path_factory.mktemp("save") / name, chart)
    folds = saved.folds
    written: dict[str, Part] = {}
    for lv, part in chart.parts.items():
        if lv == Level.BEGINNER and Level.EASY in chart.parts:
            assert folds.levels_left_out == {"Beginner": len(part)}
            continue
        written[(Level.EASY if lv == Level.BEGINNER else lv).label] = part
    if chart.expert_plus is not None:
        written[EXPERT_PLUS] = chart.expert_plus
    kept = {label: len(part) - folds.n_dropped(label) for label, part in written.items()}
    if not any(n for label, n in kept.items() if label != EXPERT_PLUS):
        with pytest.raises(InputError, match="no drum part"):
            read_chart(saved)  # every note was a hi-hat pedal: nothing to play
        return
    back = read_chart(saved)
    for label, part in written.items():
        if label == EXPERT_PLUS and not kept[label]:
            assert back.expert_plus is None  # nothing of it could be written
            continue
        if label == EXPERT_PLUS:
            # an Expert+ part that is the Expert part once written needs no part of its own
            got = back.expert_plus if back.expert_plus is not None else back.parts.get(Level.EXPERT)
        else:
            got = back.parts.get(Level.parse(label))
        want, have = _notes(part), _notes(got) if got is not None else Counter()
        assert sum(have.values()) == kept[label], label
        assert sum((want & have).values()) == kept[label] - folds.n_moved(label), label
        if folds.n_dropped(label) + folds.n_moved(label) == 0 and got is not None:
            np.testing.assert_array_equal(got.velocity, part.velocity)
    if name.endswith(".chart"):
        assert back.tempo_map == chart.tempo_map and not folds.tempos_changed
    else:
        slow = int((chart.tempo_map.bpm < 60e6 / 0xFFFFFF).sum())
        assert folds.tempos_changed == slow


_NOTE_LINES = st.lists(
    st.tuples(
        st.integers(0, 5000),
        st.sampled_from(["N", "S"]),
        st.sampled_from([0, 1, 2, 3, 4, 5, 32, 34, 35, 40, 41, 66, 67, 68, 109, 2, 64]),
        st.integers(0, 400),
    ),
    min_size=1,
    max_size=40,
)


@given(_NOTE_LINES, st.sampled_from(["  ", "\t", " "]))
def test_a_drum_section_reads_the_same_whichever_way_its_lines_are_read(lines, indent):
    """Sections written as editors write them are read from their words at once; with a
    text event among the notes they are read line by line. Both give the same chart."""
    body = "".join(f"{indent}{t} = {k} {n} {ln}\n" for t, k, n, ln in sorted(lines))
    head = "[Song]\n{\n  Resolution = 192\n}\n[ExpertDrums]\n{\n"
    plain = f"{head}{body}}}\n"
    with_text = f'{head}{body}  0 = E "solo"\n}}\n'
    try:
        fast = parse_chart_text(plain)
    except InputError as exc:
        with pytest.raises(InputError, match=re.escape(str(exc).split(":", 1)[1].strip())):
            parse_chart_text(with_text)
        return
    slow = parse_chart_text(with_text)
    assert fast.part() == slow.part() and fast.expert_plus == slow.expert_plus


def test_a_tom_moved_on_its_level_and_again_for_another_counts_once(tmp_path):
    """Medium's high tom gives its pad to the hi-hat, then the mid tom's pad to Hard's ride:
    one note, written as a floor tom, is one move that names the drum it was."""
    one = np.array([0.0])
    medium = Part.from_arrays(
        np.zeros(3),
        np.array([Lane.KICK, Lane.HIHAT_CLOSED, Lane.TOM_HIGH], np.int8),
        np.full(3, NORMAL_VELOCITY),
    )
    hard = Part.from_arrays(
        np.zeros(2), np.array([Lane.KICK, Lane.RIDE], np.int8), np.full(2, NORMAL_VELOCITY)
    )
    easy = Part.from_arrays(one, np.array([Lane.KICK], np.int8), np.full(1, NORMAL_VELOCITY))
    chart = Chart(
        "moved twice",
        TempoMap.constant(120.0),
        {Level.EASY: easy, Level.MEDIUM: medium, Level.HARD: hard},
    )
    saved = save_chart(tmp_path / "notes.mid", chart)
    assert saved.folds.moved == {
        "Medium": {"high tom as floor tom (a cymbal held its pad on another level)": 1}
    }
    back = read_chart(saved).parts[Level.MEDIUM]
    assert sorted(back.lane.tolist()) == [Lane.KICK, Lane.HIHAT_CLOSED, Lane.TOM_FLOOR]


def test_a_song_runs_to_its_last_event_when_the_drums_stop_early(tmp_path):
    """A community chart whose drums play only the intro (the song goes on to its outro,
    on guitar) is as long as the song, not 10 seconds; an end event still says where it
    ends, and a stray tick hours away is not music."""

    def chart_text(events: str = "", guitar_tick: int = 192 * 4 * 40) -> str:
        drums = "\n".join(f"  {192 * k} = N {k % 2} 0" for k in range(8))  # two bars
        return (
            '[Song]\n{\n  resolution = 192\n  Year = ", 1986"\n}\n'
            "[SyncTrack]\n{\n  0 = TS 4\n  0 = B 120000\n}\n"
            f'[Events]\n{{\n  0 = E "section <b>Intro</b>"\n{events}}}\n'
            f"[ExpertSingle]\n{{\n  0 = N 0 0\n  {guitar_tick} = N 1 192\n}}\n"
            f"[ExpertDrums]\n{{\n{drums}\n}}\n"
        )

    song = parse_chart_text(chart_text())
    # the guitar's last note (bar 41, held a beat) ends its bar: 41 bars of 2 s
    assert song.n_bars == 41 and song.end_sec == pytest.approx(82.0)
    assert song.sections == ((0.0, "Intro"),)  # Clone Hero's rich-text tags are not shown
    assert song.metadata["year"] == "1986"
    # "resolution" in lower case is still the resolution: the drums fall on the beats
    assert song.part(Level.EXPERT).qn.tolist() == [float(k) for k in range(8)]
    ended = parse_chart_text(chart_text('  6144 = E "end"\n'))
    assert ended.end_qn == 32.0 and ended.n_bars == 8
    stray = parse_chart_text(chart_text(guitar_tick=192 * 10**7))
    assert stray.n_bars == 2  # one bar after the last drum note, as with no other track
    # notes.mid without an [end] event: its EVENTS track's last section is in the song
    mid = mido.MidiFile(str(_drums_mid(tmp_path / "notes.mid", [(0, 96), (1, 97)])))
    mid.tracks.insert(1, mido.MidiTrack([
        mido.MetaMessage("track_name", name="EVENTS", time=0),
        mido.MetaMessage("text", text="[section outro]", time=480 * 40),
    ]))  # fmt: skip
    mid.save(str(tmp_path / "notes.mid"))
    read = read_notes_mid(tmp_path / "notes.mid")
    assert read.sections == ((40.0, "outro"),) and read.end_qn == 44.0


def test_a_tick_too_large_for_any_number_is_an_error_naming_its_line():
    """A mistyped tick longer than 64 bits (or a note number) is one error naming its
    line, not a note wrapped around to just before the start."""
    head = "[Song]\n{\n  Resolution = 192\n}\n[ExpertDrums]\n{\n  0 = N 0 0\n"
    for line in ("  99999999999999999999 = N 1 0\n", "  192 = N 99999999999999999999 0\n"):
        for extra in ("", '  0 = E "solo"\n'):  # read at once, or line by line
            with pytest.raises(InputError, match=r"line 8: .*99999999999999999999 is too large"):
                parse_chart_text(f"{head}{line}{extra}}}\n")


def test_a_note_or_end_hours_beyond_any_song_is_an_error(tmp_path):
    """One stray tick far past the music (a note 2,894 hours in) is one error that names
    it: reading on would lay out millions of bars for every command."""
    text = SONG.replace("  576 = N 1 0\n", "  576 = N 1 0\n  4000000000 = N 1 0\n", 1)
    with pytest.raises(
        InputError, match=r"Expert part has a note 2,894 hours into the song, at tick 4000000000"
    ):
        parse_chart_text(text)
    far_end = SONG.replace(
        '  0 = E "section Intro"\n', '  0 = E "section Intro"\n  4000000000 = E "end"\n'
    )
    with pytest.raises(
        InputError, match=r"its end event is 2,894 hours into the song, at tick 4000000000"
    ):
        parse_chart_text(far_end)
    # a chart of 2 h 59 min is a song (a full-album chart)
    long_song = SONG.replace(
        "  576 = N 1 0\n", f"  576 = N 1 0\n  {192 * 2 * 179 * 60} = N 1 0\n", 1
    )
    assert parse_chart_text(long_song).part(Level.EXPERT).qn.max() == 2 * 179 * 60
    # notes.mid: a note 0xFFFFFFF ticks (77 hours at 480 per beat, 120 BPM) after the first
    path = _drums_mid(tmp_path / "notes.mid", [(0, 96)])
    mid = mido.MidiFile(str(path))
    mid.tracks[1].insert(-1, mido.Message("note_on", note=97, velocity=100, time=0xFFFFFFF))
    mid.tracks[1].insert(-1, mido.Message("note_off", note=97, time=10))
    mid.save(str(path))
    with pytest.raises(
        InputError, match=r"Expert part has a note 78 hours into the song, at tick 268435465"
    ):
        read_notes_mid(path)
