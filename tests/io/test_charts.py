"""Drum chart files: Clone Hero .chart, Rock Band notes.mid, and the chart resolver."""

from __future__ import annotations

import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.charts import (
    ChartWarning,
    format_chart_text,
    load_chart,
    parse_chart_text,
    read_chart,
    read_notes_mid,
    save_chart,
    write_notes_mid,
)
from cymbalism.model.chart import (
    ACCENT_VELOCITY,
    GHOST_VELOCITY,
    NORMAL_VELOCITY,
    Chart,
    Level,
    Part,
)
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

# Four tempo and time-signature regions, worked out by hand (Resolution 192):
#   tick    0: 120 BPM, 4/4   bar 0 = qn 0-4     (0.5 s per qn)
#   tick  768: 3/4            bar 1 = qn 4-7
#   tick 1152: 60 BPM         (1.0 s per qn from qn 6 = 3.0 s)
#   tick 1344: 6/8            bar 2 = qn 7-10 (beats are eighths)
#   tick 1536: 180 BPM        (1/3 s per qn from qn 8 = 5.0 s)
CHANGES_CHART = """\
[Song]
{
  Name = "Changes"
  Artist = "Test"
  Offset = 0.25
  Resolution = 192
}
[SyncTrack]
{
  0 = TS 4
  0 = B 120000
  768 = TS 3
  1152 = B 60000
  1344 = TS 6 3
  1536 = B 180000
}
[Events]
{
  0 = E "section Intro"
  768 = E "section Verse 1"
  1920 = E "end"
}
[ExpertDrums]
{
  0 = N 0 0
  0 = N 4 0
  0 = N 68 0
  384 = N 1 0
  384 = N 34 0
  768 = N 2 0
  768 = N 66 0
  1152 = N 2 0
  1344 = N 3 0
  1344 = N 67 0
  1440 = N 1 0
  1440 = N 40 0
  1536 = N 32 0
  1728 = N 3 0
}
[EasyDrums]
{
  0 = N 0 0
  768 = N 1 0
}
"""
#  Expert, tick:  0     0      384  768   1152  1344  1440  1728
EXPECT_SEC = [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0 + 1 / 3]
EXPECT_LANES = [
    Lane.KICK,
    Lane.CRASH,  # green + cymbal marker
    Lane.SNARE,  # accented
    Lane.HIHAT_CLOSED,  # yellow + cymbal marker
    Lane.TOM_HIGH,  # yellow without marker
    Lane.RIDE,  # blue + cymbal marker
    Lane.SNARE,  # ghost
    Lane.TOM_MID,  # blue without marker
]
# Expert+ adds the double kick (N 32, MIDI 95) at tick 1536: 5.0 s
EXPECT_PLUS_SEC = sorted([*EXPECT_SEC, 5.0])


def _check_expert_plus(chart: Chart, atol: float) -> None:
    assert chart.expert_plus is not None
    plus = chart.expert_plus.to_hits(chart.tempo_map)
    np.testing.assert_allclose(plus.onset_sec, EXPECT_PLUS_SEC, atol=atol)
    assert Lane(int(plus.lane[7])) == Lane.KICK
    assert chart.with_double_kick().part() == chart.expert_plus


def test_chart_with_tempo_and_meter_changes_gives_hand_worked_times():
    chart = parse_chart_text(CHANGES_CHART, source="changes.chart")
    assert chart.title == "Changes" and chart.artist == "Test"
    assert chart.metadata["offset_sec"] == "0.25"
    targets = chart.targets(Level.EXPERT)
    np.testing.assert_allclose(targets.onset_sec, EXPECT_SEC, atol=1e-12)
    assert [Lane(x) for x in targets.lane] == EXPECT_LANES
    _check_expert_plus(chart, 1e-12)
    vel = chart.part(Level.EXPERT).velocity
    assert vel[2] == ACCENT_VELOCITY and vel[6] == GHOST_VELOCITY and vel[0] == NORMAL_VELOCITY
    tm = chart.tempo_map
    assert tm.time_signatures == [(0.0, 4, 4), (4.0, 3, 4), (7.0, 6, 8)]
    bar, beat = tm.qn_to_bar_beat(np.array([4.0, 7.5, 10.0]))
    assert list(bar) == [1, 2, 3] and list(beat) == [0.0, 1.0, 0.0]
    assert chart.sections == ((0.0, "Intro"), (4.0, "Verse 1"))
    assert chart.end_qn == 10.0
    np.testing.assert_allclose(chart.targets(Level.EASY).onset_sec, [0.0, 2.0])


def _write_changes_mid(path: Path, *, tpq: int = 480) -> None:
    """The same song as CHANGES_CHART, written by hand as a notes.mid."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    t0 = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name="Changes", time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
            mido.MetaMessage("set_tempo", tempo=500_000, time=0),
            mido.MetaMessage("time_signature", numerator=3, denominator=4, time=4 * tpq),
            mido.MetaMessage("set_tempo", tempo=1_000_000, time=2 * tpq),
            mido.MetaMessage("time_signature", numerator=6, denominator=8, time=tpq),
            mido.MetaMessage("set_tempo", tempo=333_333, time=tpq),
        ]
    )
    # (qn, note, velocity): expert 96-100, easy 60-64, tom markers 110-112
    notes = [
        (0, 96, 100), (0, 100, 100), (1, 60, 100),  # kick, green cymbal; easy kick at 0
        (2, 97, 127),  # accented red
        (4, 98, 100), (4, 61, 100),  # yellow cymbal (hi-hat); easy snare
        (6, 98, 100), (6, 110, 100),  # yellow under a tom marker
        (7, 99, 100),  # blue cymbal (ride)
        (7.5, 97, 1),  # ghost red
        (8, 95, 100),  # Expert+ kick
        (9, 99, 100), (9, 111, 100),  # blue tom
    ]  # fmt: skip
    notes = [(q if n != 60 else 0, n, v) for q, n, v in notes]
    events = []
    for q, n, v in notes:
        tick = round(q * tpq)
        events.append((tick, 1, mido.Message("note_on", channel=9, note=n, velocity=v)))
        events.append((tick + 60, 0, mido.Message("note_off", channel=9, note=n)))
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="PART DRUMS", time=0)])
    drums.append(mido.MetaMessage("text", text="[ENABLE_CHART_DYNAMICS]", time=0))
    last = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        drums.append(msg.copy(time=tick - last))
        last = tick
    ev = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name="EVENTS", time=0),
            mido.MetaMessage("text", text="[section intro]", time=0),
            mido.MetaMessage("text", text="[prc_verse_1]", time=4 * tpq),
            mido.MetaMessage("text", text="[end]", time=6 * tpq),
        ]
    )
    vocals = mido.MidiTrack([mido.MetaMessage("track_name", name="PART VOCALS", time=0)])
    mid.tracks += [t0, drums, ev, vocals]
    mid.save(str(path))


def test_notes_mid_with_tempo_and_meter_changes_gives_hand_worked_times(tmp_path):
    path = tmp_path / "notes.mid"
    _write_changes_mid(path)
    chart = read_notes_mid(path)
    targets = chart.targets(Level.EXPERT)
    # 333,333 us per quarter is 180.00018 BPM, hence the tolerance
    np.testing.assert_allclose(targets.onset_sec, EXPECT_SEC, atol=1e-5)
    assert [Lane(x) for x in targets.lane] == EXPECT_LANES
    _check_expert_plus(chart, 1e-5)
    vel = chart.part(Level.EXPERT).velocity
    assert vel[2] == ACCENT_VELOCITY and vel[6] == GHOST_VELOCITY
    assert chart.tempo_map.time_signatures == [(0.0, 4, 4), (4.0, 3, 4), (7.0, 6, 8)]
    assert chart.sections == ((0.0, "intro"), (4.0, "verse 1"))
    assert chart.end_qn == 10.0
    np.testing.assert_allclose(chart.targets(Level.EASY).onset_sec, [0.0, 2.0])


def _song() -> Chart:
    """A small song with every writable lane, dynamics and two levels."""
    tm = TempoMap([(0.0, 100.0), (8.0, 140.0)], [(0.0, 4, 4), (8.0, 7, 8)])
    lanes = [Lane.KICK, Lane.SNARE, Lane.HIHAT_CLOSED, Lane.TOM_HIGH, Lane.TOM_MID]
    lanes += [Lane.TOM_FLOOR, Lane.CRASH, Lane.RIDE, Lane.SNARE, Lane.KICK]
    qn = [0.0, 1.0, 1.5, 2.25, 2.5, 3.0, 4.0, 5.0, 8.5, 8.0 + 1 / 3]
    vel = [100, ACCENT_VELOCITY, 100, 100, 100, 100, 100, 100, GHOST_VELOCITY, 100]
    expert = Part.from_arrays(qn, lanes, vel)
    easy = Part.from_arrays([0.0, 1.0, 4.0], [Lane.KICK, Lane.SNARE, Lane.CRASH], 100)
    return Chart(
        title="Round Trip",
        tempo_map=tm,
        parts={Level.EXPERT: expert, Level.EASY: easy},
        sections=((0.0, "intro"), (4.0, "verse"), (8.0, "odd bar")),
        end_qn=11.5,
        artist="cymbalism",
    )


def _same(a: Chart, b: Chart) -> None:
    assert a.tempo_map == b.tempo_map
    assert a.levels == b.levels
    for lv in a.levels:
        assert a.part(lv) == b.part(lv), lv
    assert a.sections == b.sections
    assert a.end_qn == pytest.approx(b.end_qn)


def test_chart_round_trip(tmp_path):
    song = _song()
    once = parse_chart_text(format_chart_text(song))
    _same(song, once)
    assert once.title == "Round Trip" and once.artist == "cymbalism"
    path = save_chart(tmp_path / "song.chart", once)
    _same(once, read_chart(path))
    assert format_chart_text(read_chart(path)) == format_chart_text(once)


def test_notes_mid_round_trip(tmp_path):
    song = _song()
    first = read_notes_mid(write_notes_mid(tmp_path / "a" / "notes.mid", song))
    _same(song, first)
    again = read_chart(save_chart(tmp_path / "b" / "notes.mid", first))
    _same(first, again)


def test_plain_midi_drum_file_is_the_expert_part(tmp_path):
    song = _song()
    path = save_chart(tmp_path / "groove.mid", song, level="easy")
    back = read_chart(path)
    assert back.levels == [Level.EXPERT]
    assert back.part(Level.EXPERT) == song.part(Level.EASY)
    assert back.tempo_map == song.tempo_map
    full = read_chart(save_chart(tmp_path / "full.mid", song))
    assert full.part() == song.part(Level.EXPERT)
    assert full.sections == song.sections


def test_same_song_in_both_formats_has_the_same_notes(tmp_path):
    (tmp_path / "a").mkdir()
    song = load_chart("mirrorball").with_parts({Level.EASY: _song().part(Level.EASY)})
    from_chart = read_chart(save_chart(tmp_path / "song.chart", song))
    from_mid = read_chart(write_notes_mid(tmp_path / "a" / "notes.mid", song))
    for lv in (Level.EASY, Level.EXPERT):
        assert len(from_chart.part(lv)) > 0
        assert from_chart.part(lv) == from_mid.part(lv), lv
    # the formats have no open hi-hat: it comes back as the (closed) hi-hat, nothing else moves
    expert = song.part(Level.EXPERT)
    want = np.where(expert.lane == Lane.HIHAT_OPEN, Lane.HIHAT_CLOSED, expert.lane)
    order = np.lexsort((want, expert.qn))
    np.testing.assert_array_equal(from_mid.part(Level.EXPERT).lane, want[order])
    assert from_chart.sections == from_mid.sections == song.sections
    assert from_chart.tempo_map == from_mid.tempo_map == song.tempo_map


def test_a_beginner_part_goes_into_the_free_easy_slot(tmp_path):
    song = _song()
    beginner = song.part(Level.EASY)
    only_beginner = Chart(
        title="b",
        tempo_map=song.tempo_map,
        parts={Level.BEGINNER: beginner, Level.EXPERT: song.part()},
    )
    back = parse_chart_text(format_chart_text(only_beginner))
    assert back.levels == [Level.EASY, Level.EXPERT]
    assert back.part(Level.EASY) == beginner


def test_five_lane_charts_and_pads_without_markers():
    five = "[ExpertDrums]\n{\n 0 = N 2 0\n 0 = N 0 0\n 192 = N 4 0\n 192 = N 5 0\n 384 = N 3 0\n}\n"
    part = parse_chart_text(five).part()
    assert [Lane(x) for x in part.lane] == [
        Lane.KICK, Lane.HIHAT_CLOSED, Lane.TOM_FLOOR, Lane.CRASH, Lane.TOM_MID
    ]  # fmt: skip
    old = "[ExpertDrums]\n{\n 0 = N 2 0\n 192 = N 3 0\n 384 = N 4 0\n}\n"
    part = parse_chart_text(old).part()
    assert [Lane(x) for x in part.lane] == [Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR]


# ------------------------------------------------------------------ bad charts
def test_chart_without_a_drum_part_is_an_input_error():
    text = "[Song]\n{\n  Resolution = 192\n}\n[ExpertSingle]\n{\n  0 = N 0 0\n}\n"
    with pytest.raises(InputError, match=r"no drum part \(it has: \[Song\], \[ExpertSingle\]\)"):
        parse_chart_text(text, source="guitar.chart")


def test_empty_drum_section_is_no_drum_part():
    with pytest.raises(InputError, match=r"no drum part \(it has: \[ExpertDrums\] without notes\)"):
        parse_chart_text("[ExpertDrums]\n{\n  0 = S 2 192\n}\n")


def test_a_misspelt_drum_section_is_no_drum_part_and_says_the_right_names():
    text = "[Song]\n{\n}\n[ExpertDrumz]\n{\n  0 = N 0 0\n}\n"
    with pytest.raises(
        InputError,
        match=r"x.chart: the chart has no drum part \(it has: \[Song\], \[ExpertDrumz\]\); "
        r"drum sections are \[EasyDrums\]",
    ):
        parse_chart_text(text, source="x.chart")


def test_unreadable_lines_are_skipped_as_the_games_skip_them_with_one_warning():
    """Clone Hero and YARG skip a line they cannot read (a comment, a negative or broken
    tick, a tempo that is not a number) and play the rest: so does cymbalism, and says
    which lines, once."""
    clean = (
        "[Song]\n{\n  Resolution = 192\n}\n[SyncTrack]\n{\n  0 = B 120000\n}\n"
        "[ExpertDrums]\n{\n  0 = N 0 0\n  192 = N 1 0\n  384 = N 0 0\n}\n"
    )
    stray = (
        "[Song]\n{\n  Resolution = 192\n  Offset = soon\n  just words\n}\n"
        "[SyncTrack]\n{\n  0 = B 120000\n  384 = B fast\n  0 = Q 5\n}\n"
        "[ExpertDrums]\n{\n  // intro\n  0 = N 0 0\n  -5 = N 1 0\n  192 = N 1 0\n"
        "  19x2 = N 2 0\n  384 = N 0 0\n}\n"
    )
    with pytest.warns(ChartWarning) as caught:
        chart = parse_chart_text(stray, source="stray.chart")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("stray.chart: 7 lines that cannot be read were skipped")
    assert "(line 4 'Offset = soon', line 5 'just words', line 10 '384 = B fast' and 4 more)" in (
        message
    )
    plain = parse_chart_text(clean)
    assert chart.part(Level.EXPERT) == plain.part(Level.EXPERT)
    assert chart.tempo_map == plain.tempo_map
    assert chart.metadata["offset_sec"] == "0.0"
    # a clean chart warns of nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_chart_text(clean)
    # one line: said in the singular, with its line number
    with pytest.warns(ChartWarning, match=r"1 line that cannot be read was skipped.*line 13 '1x2"):
        parse_chart_text(clean.replace("  192 = N 1 0\n", "  192 = N 1 0\n  1x2 = N 2 0\n"))


def test_unclosed_section_is_an_input_error():
    with pytest.raises(InputError, match="a '}' is missing"):
        parse_chart_text("[ExpertDrums]\n{\n  0 = N 0 0\n")


def test_notes_mid_without_part_drums_is_an_input_error(tmp_path):
    mid = mido.MidiFile(type=1)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name="PART GUITAR")]))
    mid.save(str(tmp_path / "notes.mid"))
    with pytest.raises(InputError, match=r"no drum part.*'PART GUITAR'"):
        read_notes_mid(tmp_path / "notes.mid")


def test_not_a_midi_file_is_an_input_error(tmp_path):
    (tmp_path / "notes.mid").write_bytes(b"MThd garbage")
    with pytest.raises(InputError, match=r"notes\.mid is truncated: its header is cut off"):
        read_chart(tmp_path / "notes.mid")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(NotFoundError, match="no chart file"):
        load_chart(tmp_path / "nope.chart")
    (tmp_path / "song.txt").write_text("hi")
    with pytest.raises(InputError, match=r"unknown chart format '\.txt'"):
        load_chart(tmp_path / "song.txt")


# ------------------------------------------------------------------ the resolver
def test_load_chart_takes_names_files_and_folders(tmp_path):
    song = load_chart("mirrorball")
    assert song.tempo_map.bpm[0] == 114
    assert load_chart(song) is song
    save_chart(tmp_path / "notes.chart", song)
    assert load_chart(tmp_path).title == song.title
    assert (
        load_chart(str(tmp_path / "notes.chart")).part()
        == read_chart(tmp_path / "notes.chart").part()
    )
    with pytest.raises(NotFoundError, match=r"unknown song 'nara'.*mirrorball"):
        load_chart("nara")


# ------------------------------------------------------------------ property: round trips
_PAD = {
    Lane.KICK: 0, Lane.SNARE: 1, Lane.HIHAT_CLOSED: 2, Lane.TOM_HIGH: 2,
    Lane.TOM_MID: 3, Lane.RIDE: 3, Lane.TOM_FLOOR: 4, Lane.CRASH: 4,
}  # fmt: skip


@st.composite
def writable_charts(draw):
    """Charts that both formats hold exactly: one gem per pad and moment, no open hi-hat
    or pedal, kicks at normal velocity, positions on a 1/48 quarter grid."""
    n_changes = draw(st.integers(0, 3))
    tempo_qn = sorted(set(draw(st.lists(st.integers(1, 40), max_size=n_changes))))
    tempos = [(0.0, draw(st.integers(40, 240)) + 0.5 * draw(st.integers(0, 1)))]
    tempos += [(float(q), float(draw(st.integers(40, 240)))) for q in tempo_qn]
    sigs = [(0.0, draw(st.integers(2, 7)), draw(st.sampled_from([4, 8])))]
    if draw(st.booleans()):
        _, n, d = sigs[0]
        sigs.append((n * 4.0 / d * draw(st.integers(1, 4)), draw(st.integers(2, 7)), 4))
    tm = TempoMap(tempos, sigs)
    n = draw(st.integers(1, 40))
    ticks = draw(st.lists(st.integers(0, 48 * 40), min_size=n, max_size=n))
    lanes = draw(st.lists(st.sampled_from(list(_PAD)), min_size=n, max_size=n))
    dyn = draw(st.lists(st.sampled_from([GHOST_VELOCITY, NORMAL_VELOCITY, ACCENT_VELOCITY]),
                        min_size=n, max_size=n))  # fmt: skip
    seen, qn, ln, vel = set(), [], [], []
    for t, lane, v in zip(ticks, lanes, dyn, strict=True):
        if (t, _PAD[lane]) in seen:
            continue
        seen.add((t, _PAD[lane]))
        qn.append(t / 48)
        ln.append(int(lane))
        vel.append(NORMAL_VELOCITY if lane == Lane.KICK else v)
    levels = draw(st.sets(st.sampled_from([Level.EASY, Level.MEDIUM, Level.HARD, Level.EXPERT]),
                          min_size=1))  # fmt: skip
    part = Part.from_arrays(qn, ln, vel)
    return Chart(
        title="Random",
        tempo_map=tm,
        parts={lv: part.select(np.arange(len(part)) % (int(lv) + 1) == 0) for lv in levels},
        sections=((0.0, "intro"), (float(tm.bar_to_qn(1)), "verse 1")),
    )


@settings(max_examples=25)
@given(writable_charts())
def test_both_formats_round_trip_any_writable_chart(tmp_path_factory, chart):
    from_chart = parse_chart_text(format_chart_text(chart))
    _same(chart, from_chart)
    path = tmp_path_factory.mktemp("mid") / "notes.mid"
    from_mid = read_notes_mid(write_notes_mid(path, chart))
    assert from_mid.levels == chart.levels and from_mid.sections == chart.sections
    for lv in chart.levels:
        assert from_mid.part(lv) == chart.part(lv)
    # a MIDI file stores whole microseconds per quarter note
    np.testing.assert_array_equal(
        np.round(60e6 / from_mid.tempo_map.bpm), np.round(60e6 / chart.tempo_map.bpm)
    )
    assert from_mid.tempo_map.time_signatures == chart.tempo_map.time_signatures


def test_a_song_folder_takes_its_title_from_song_ini(tmp_path):
    write_notes_mid(tmp_path / "notes.mid", _song())
    (tmp_path / "song.ini").write_text(
        "[Song]\nname = Night Drive\nartist = The Testers\ncharter = someone\npro_drums = True\n"
    )
    chart = load_chart(tmp_path)
    assert (chart.title, chart.artist) == ("Night Drive", "The Testers")
    assert chart.metadata["charter"] == "someone"
    assert chart.part() == _song().part()
    # as the games read it: no section header, stray lines and Latin-1 are all fine
    (tmp_path / "song.ini").write_bytes(
        "name = Caf\xe9 Nights\nthis line is not a key\n".encode("latin-1")
    )
    assert read_chart(tmp_path / "notes.mid").title == "Caf\xe9 Nights"
