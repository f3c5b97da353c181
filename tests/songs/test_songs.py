"""The built-in song library and its tablature format."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import ACCENT_VELOCITY, GHOST_VELOCITY, Level
from cymbalism.model.lanes import Lane
from cymbalism.songs import get_song, list_songs, parse_song
from cymbalism.songs.tab import format_tab

SMALL = """
title = "Small"
bpm = 120
time_signature = "4/4"

[patterns.beat]
HH = "x-x-x-x-"
SD = "--O---g-"
BD = "o---o---"

[patterns.two]
SD = "oooo|o---"

[[sections]]
name = "verse"
bars = ["beat*2"]

[[sections]]
name = "fill"
bars = ["two"]
"""


def test_song_text_gives_exact_positions_and_a_crash_on_section_starts():
    chart = parse_song(SMALL, name="small")
    part = chart.part(Level.EXPERT)
    assert chart.sections == ((0.0, "verse"), (8.0, "fill"))
    assert chart.end_qn == 16.0 and chart.n_bars == 4
    # the verse starts with a crash that replaces the hi-hat on beat 1; the fill has none
    assert list(part.lane[part.qn == 0.0]) == [Lane.KICK, Lane.CRASH]
    assert not np.any((part.qn == 8.0) & (part.lane == Lane.CRASH))
    snare = part.select(part.lane == Lane.SNARE)
    np.testing.assert_allclose(snare.qn, [1, 3, 5, 7, 8, 9, 10, 11, 12])
    assert list(snare.velocity[:2]) == [ACCENT_VELOCITY, GHOST_VELOCITY]
    hats = part.select(part.lane == Lane.HIHAT_CLOSED)
    np.testing.assert_allclose(hats.qn, [1, 2, 3, 4, 5, 6, 7])


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (("beat*2", "groove"), "unknown pattern 'groove'"),
        (('SD = "oooo|o---"', 'SD = "oooo|o---"\nBD = "o---"'), "differ in bar count"),
        (('HH = "x-x-x-x-"', 'HH = "x-x-q-x-"'), "row HH has 'q' at step 5"),
        (('BD = "o---o---"', 'CB = "o---o---"'), "unknown lane 'CB'"),
    ],
)
def test_bad_song_text_is_an_input_error(patch, message):
    with pytest.raises(InputError, match=message):
        parse_song(SMALL.replace(*patch), name="bad")


def test_library_has_the_promised_songs():
    songs = {s.name: s for s in list_songs()}
    styled = [s for s in songs.values() if not s.free_play]
    assert len(styled) >= 6
    assert len({s.style for s in styled}) >= 5
    assert any(s.bpm == 114 and s.style == "disco-pop" for s in styled)
    assert any(s.bpm == 123 and s.style == "pop-rock" for s in styled)
    assert any(s.free_play for s in songs.values())
    assert {"3/4", "4/4"} <= {s.time_signature for s in styled}
    for s in styled:
        chart = get_song(s.name)
        names = " ".join(name for _, name in chart.sections)
        for wanted in ("intro", "verse", "chorus", "fill", "ending"):
            assert wanted in names, (s.name, wanted)
        assert 45 <= s.length_sec <= 240, s.name
        assert len(chart.part(Level.EXPERT)) > 100
        # every song uses hands and feet: kick, snare and a time-keeping cymbal
        lanes = set(chart.part(Level.EXPERT).lane.tolist())
        assert {Lane.KICK, Lane.SNARE, Lane.CRASH} <= lanes, s.name


def test_unknown_song_lists_the_songs():
    with pytest.raises(NotFoundError, match="mirrorball"):
        get_song("nope")


def test_tab_prints_every_note_of_a_part():
    chart = parse_song(SMALL, name="small")
    text = format_tab(chart, chart.part())
    rows = [line for line in text.splitlines() if "|" in line]
    assert text.startswith("[verse] bars 1-2")
    assert "[fill] bars 3-4" in text
    assert "SD |--O---g-|--O---g-|" in text
    assert "SD |o-o-o-o-|o-------|" in text  # quarter notes drawn on the 8-step minimum
    hits = sum(ch in "xXoOg" for line in rows for ch in line.split("|", 1)[1])
    assert hits == len(chart.part())


def test_tab_of_a_built_in_song_draws_triplets_on_their_grid():
    chart = get_song("alley-shuffle")
    text = format_tab(chart, chart.part())
    assert "HH |x-xx-xx-xx-x|" in text


def test_tab_gives_a_section_the_drums_sit_out_one_line():
    """A song whose drums stop after the intro (its guitar plays on) lists its later
    sections as rests, one line each, rather than empty blocks."""
    import dataclasses

    chart = parse_song(SMALL, name="small")
    end = chart.end_qn
    longer = dataclasses.replace(
        chart, end_qn=end + 16.0, sections=(*chart.sections, (end, "outro"), (end + 8.0, "coda"))
    )
    text = format_tab(longer, longer.part())
    assert f"[outro] bars {int(end // 4) + 1}-{int(end // 4) + 2}: rests\n[coda]" in text
    assert text.endswith(": rests\n") and "\n\n\n" not in text
    assert format_tab(chart, chart.part()) in text  # the bars with notes drawn as before


def test_tab_draws_a_note_a_tick_off_the_grid_on_it():
    """A community chart's snare a tick early (1/192 of a beat) is drawn on its beat, not
    on a 48-step bar; a triplet a third of a step off still gets its own grid."""
    from cymbalism.model.chart import Chart, Part
    from cymbalism.model.tempo import TempoMap

    snares = Part.from_arrays([0.0, 1.0 - 1 / 192, 2.0, 3.0], int(Lane.SNARE))
    chart = Chart("tick", TempoMap.constant(120.0), {Level.EXPERT: snares})
    assert "SD |o-o-o-o-|" in format_tab(chart, chart.part())
    triplets = Part.from_arrays([0.0, 1 / 3, 2 / 3, 1.0], int(Lane.SNARE))
    chart = Chart("triplet", TempoMap.constant(120.0), {Level.EXPERT: triplets})
    assert "SD |oooo--------|" in format_tab(chart, chart.part())  # 12 steps: triplets


def test_tab_draws_a_last_bar_cut_short_whole_and_heads_a_section_where_it_starts():
    """A MIDI take that ends on its last note (mid-bar) has its last bar drawn on the
    grid of every other bar; a section marked mid-bar heads the bar it starts in."""
    import dataclasses

    from cymbalism.model.chart import Chart, Part
    from cymbalism.model.tempo import TempoMap

    qn = np.arange(0.0, 15.51, 0.5)  # 8th notes to the last 8th of bar 4: it ends at 15.5
    part = Part.from_arrays(qn, [Lane.HIHAT_CLOSED] * qn.size)
    chart = Chart("take", TempoMap.constant(120.0), {Level.EXPERT: part}, end_qn=15.5)
    text = format_tab(chart, chart.part())
    assert "HH |xxxxxxxx|xxxxxxxx|xxxxxxxx|xxxxxxxx|" in text
    marked = dataclasses.replace(chart, sections=((0.0, "in"), (9.5, "fill")))
    text = format_tab(marked, marked.part())
    assert "[in] bars 1-2" in text and "[fill] bars 3-4" in text


def test_a_folder_named_like_a_song_hides_it_only_when_it_holds_a_chart(
    tmp_path, monkeypatch
) -> None:
    """`cymbalism play lanterns` beside a folder of photos called `lanterns` said "lanterns
    is a folder without a chart": the folder was taken before the song."""
    from cymbalism.io.charts import load_chart, save_chart
    from cymbalism.io.library import song_record
    from cymbalism.songs import names_song
    from cymbalism.sound.audio import song_audio_for

    monkeypatch.chdir(tmp_path)
    (tmp_path / "lanterns").mkdir()
    (tmp_path / "lanterns" / "photo.jpg").write_bytes(b"not a chart")
    (tmp_path / "mirrorball").write_text("a note, not a chart")
    song = get_song("lanterns")
    for name in ("lanterns", "Lanterns", "mirrorball"):
        assert names_song(name)
    assert load_chart("lanterns").title == song.title
    assert load_chart("mirrorball").title == get_song("mirrorball").title
    assert song_record("lanterns").format == "built-in"
    audio, _ = song_audio_for("lanterns", song)
    assert audio is not None  # the built-in song's own music

    save_chart(tmp_path / "lanterns" / "notes.chart", get_song("mirrorball"))
    assert not names_song("lanterns")  # a song folder by that name is taken first
    assert load_chart("lanterns").title == get_song("mirrorball").title
    assert song_record("lanterns").format != "built-in"
    assert not names_song("no-such-song")
