"""Reports of a simulated duet: the figures are the analysis' own, the images are real."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cymbalism import songs
from cymbalism.analysis.align import align
from cymbalism.analysis.summary import pair_came_together
from cymbalism.analysis.sync import asynchrony, sync_stats
from cymbalism.analysis.timing import kept_tempo, timing_by_lane, timing_stats
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Session
from cymbalism.report.analysis import (
    TEMPO_WINDOW_SEC,
    SessionAnalysis,
    analyse_session,
    player_targets,
)
from cymbalism.report.card import CARD_SIZE_PX, render_card
from cymbalism.report.export import COLUMNS, hit_table, write_export
from cymbalism.report.format import clock
from cymbalism.report.history import player_history, sparkline, write_history_plot
from cymbalism.report.html import render_html
from cymbalism.report.plots import render_plots, save_plots
from cymbalism.report.text import summary_sentences
from cymbalism.store import Store
from tests.conftest import PROMOTED_AT_SEC, _duet


@pytest.fixture(scope="module")
def analysis(duet) -> SessionAnalysis:  # type: ignore[no-untyped-def]
    session, steps = duet
    return analyse_session(session, level_changes=steps, session_id=7)


@pytest.fixture(scope="module")
def page(analysis) -> str:  # type: ignore[no-untyped-def]
    return render_html(analysis)


def _decode_png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _not_blank(image: Image.Image) -> None:
    pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 10, "the image is (nearly) one colour"
    assert len(np.unique(pixels)) > 20


def test_the_beginner_is_judged_against_the_part_they_were_on(duet) -> None:  # type: ignore[no-untyped-def]
    session, steps = duet
    chart: Chart = session.chart
    targets = player_targets(chart, Level.BEGINNER, steps["Jae"])
    before = chart.targets(Level.BEGINNER).between(-np.inf, PROMOTED_AT_SEC)
    after = chart.targets(Level.EASY).between(PROMOTED_AT_SEC, np.inf)
    assert targets == Hits.concat([before, after])
    assert player_targets(chart, Level.EXPERT) == chart.targets(Level.EXPERT)


def test_the_report_holds_the_figures_the_analysis_computed(duet, analysis, page) -> None:  # type: ignore[no-untyped-def]
    session, steps = duet
    chart = session.chart
    # the analysis module, called directly
    al_a = align(session.players[0].hits, chart.targets(Level.EXPERT))
    al_b = align(session.players[1].hits, player_targets(chart, Level.BEGINNER, steps["Jae"]))
    stats_a, stats_b = timing_stats(al_a), timing_stats(al_b)
    asy = asynchrony(al_a, al_b)
    sync = sync_stats(asy)
    together = pair_came_together(asy, stats_a, stats_b)
    assert together is not None  # the simulated beginner settles

    figures = json.loads(
        re.search(r'id="cymbalism-figures">(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
    )
    shigeru, jae = figures["players"]
    assert shigeru["hit_rate"] == stats_a.hit_rate
    assert shigeru["mean_error_sec"] == stats_a.mean_error_sec
    assert jae["sd_error_sec"] == stats_b.sd_error_sec
    assert jae["n_extra"] == stats_b.n_extra
    assert jae["lanes"]["SD"]["mean_error_sec"] == timing_by_lane(al_b)[Lane.SNARE].mean_error_sec
    assert jae["level_changes"] == [
        {"at_sec": PROMOTED_AT_SEC, "from": "beginner", "to": "easy", "reason": "90% for 8 bars"}
    ]
    assert figures["sync"]["sd_sec"] == sync.sd_sec
    assert figures["sync"]["came_together_sec"] == together
    # the tempo each kept, from the notes they hit: even the beginner's sparse part
    # gives the song's tempo, never a dip to another beat level
    song_bpm = float(chart.tempo_map.bpm_at(0.0))
    for fig, al in ((shigeru, al_a), (jae, al_b)):
        kept, curve = kept_tempo(al, chart.tempo_map, window_sec=TEMPO_WINDOW_SEC)
        assert fig["tempo_bpm"] == kept == pytest.approx(song_bpm, rel=0.005)
        assert np.all(np.abs(curve.bpm / song_bpm - 1.0) < 0.02)
    # and the page shows them to people
    text = re.sub(r"<[^>]+>", " ", page)
    assert f"{stats_b.hit_rate:.0%}" in text
    assert f"{stats_a.mean_error_sec * 1000:+.0f} ms" in text
    assert f"{sync.sd_sec * 1000:.0f} ms" in text
    m, s = divmod(round(together), 60)
    assert f"came together at {m}:{s:02d}" in text.lower()
    # the expert adapts less to the beginner than the beginner to the expert (the
    # simulated gains are 0.10 and 0.25): the report says who led
    assert analysis.leader == "Shigeru" and figures["sync"]["bgls_leader"] == "Shigeru"
    assert "Shigeru led and Jae followed" in text
    assert summary_sentences(analysis)[0].startswith(
        "Shigeru and Jae played “Mirrorball Nights” (1:43)"
    )


def test_the_report_is_one_self_contained_file_with_real_images(page) -> None:  # type: ignore[no-untyped-def]
    assert "http://" not in page and "https://" not in page and "<link" not in page
    sources = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(sources) == 5  # timing, lanes, sync, tempo, levels
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        image = _decode_png(base64.b64decode(src.split(",", 1)[1]))
        assert image.width >= 800 and image.height >= 200
        _not_blank(image)


def test_plots_are_written_as_png_and_svg(analysis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = save_plots(analysis, tmp_path / "plots")
    stems = {p.stem for p in paths}
    assert stems == {"timing", "lanes", "sync", "tempo", "levels"}
    for path in paths:
        if path.suffix == ".png":
            _not_blank(_decode_png(path.read_bytes()))
        else:
            root = ET.fromstring(path.read_bytes())
            assert root.tag.endswith("svg")
            assert len(list(root.iter())) > 100  # real drawing, not an empty canvas
    # a solo session has no sync plot and no levels plot
    solo = analyse_session(
        Session(analysis_chart(), (Player("Ana", hits=analysis.players[0].hits),))
    )
    assert set(render_plots(solo)) == {"timing", "lanes", "tempo"}


def analysis_chart() -> Chart:
    return songs.get_song("mirrorball")


def test_the_share_card_is_sized_for_posting(analysis) -> None:  # type: ignore[no-untyped-def]
    image = _decode_png(render_card(analysis))
    assert image.size == CARD_SIZE_PX
    _not_blank(image)


def test_exports_have_one_row_per_hit_plus_the_misses(analysis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = hit_table(analysis)
    n_rows = sum(len(p.hits) + p.stats.n_miss for p in analysis.players)
    assert all(len(v) == n_rows for v in table.values())
    jae = analysis.player("Jae")
    mine = table["player"] == "Jae"
    assert np.count_nonzero(mine & (table["verdict"] == "hit")) == jae.stats.n_hit
    assert np.count_nonzero(mine & (table["verdict"] == "extra")) == jae.stats.n_extra
    assert np.count_nonzero(mine & (table["verdict"] == "miss")) == jae.stats.n_miss
    errors = table["error_sec"][mine & (table["verdict"] == "hit")]
    np.testing.assert_array_equal(
        np.sort(errors), np.sort(jae.alignment.error_sec[jae.alignment.matched])
    )
    early = mine & (table["onset_sec"] < PROMOTED_AT_SEC - 1)
    late = mine & (table["onset_sec"] > PROMOTED_AT_SEC + 1)
    assert set(table["level"][early]) == {"beginner"} and set(table["level"][late]) == {"easy"}

    csv_path = write_export(analysis, tmp_path / "s.csv")
    with csv_path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS and len(rows) == n_rows
    hit_rows = [r for r in rows if r["player"] == "Jae" and r["verdict"] == "hit"]
    assert sorted(float(r["error_sec"]) for r in hit_rows) == sorted(errors.tolist())

    records = json.loads(write_export(analysis, tmp_path / "s.json").read_text())
    assert len(records) == n_rows and set(records[0]) == set(COLUMNS)
    assert sum(r["verdict"] == "miss" and r["onset_sec"] is None for r in records) == sum(
        p.stats.n_miss for p in analysis.players
    )

    import pandas as pd

    frame = pd.read_parquet(write_export(analysis, tmp_path / "s.parquet"))
    assert list(frame.columns) == list(COLUMNS) and len(frame) == n_rows
    np.testing.assert_array_equal(frame["onset_sec"].to_numpy(), table["onset_sec"])
    assert (frame["velocity"].dropna() >= 1).all()
    assert len(hit_table(analysis, misses=False)["player"]) == sum(
        len(p.hits) for p in analysis.players
    )


def test_history_follows_a_player_over_sessions(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite3") as store:
        expected = []
        for seed in (1, 2, 3):
            session, steps = _duet(seed)
            session_id = store.save_session(session, level_changes=steps)
            expected.append(analyse_session(session, level_changes=steps, session_id=session_id))
        rows = player_history(store, "Jae")
        assert [r.session_id for r in rows] == [a.session_id for a in expected]
        for row, a in zip(rows, expected, strict=True):
            assert row.hit_rate == a.player("Jae").stats.hit_rate
            assert row.sd_error_sec == a.player("Jae").stats.sd_error_sec
            assert row.came_together_sec == a.came_together_sec
            assert row.level_reached == Level.EASY and row.partners == ("Shigeru",)
        # the figures are now cached in the store
        assert all(info.has_summary for info in store.sessions(player="Jae"))
        assert player_history(store, "Jae") == rows
        image = _decode_png(write_history_plot("Jae", rows, tmp_path / "h.png").read_bytes())
        _not_blank(image)
        with pytest.raises(Exception, match="no player 'Nobody'"):
            player_history(store, "Nobody")


def test_sparklines_rise_with_the_values() -> None:
    assert sparkline([0, 50, 100], low=0, high=100) == "▁▅█"
    assert sparkline([1.0, np.nan, 2.0]) == "▁ █"
    assert sparkline([]) == ""


def test_clocks_read_as_minutes_and_seconds() -> None:
    assert [clock(x) for x in (0.0, 83.4, 59.6, -83.6)] == ["0:00", "1:23", "1:00", "-1:24"]
    # to a tenth, a value that rounds up to the next minute carries over
    assert [clock(x, decimals=1) for x in (83.44, 59.96, 5.0)] == ["1:23.4", "1:00.0", "0:05.0"]


@pytest.mark.parametrize(
    ("mean_ms", "behind"),
    [(1.2, ""), (-1.9, ""), (2.2, ", Ana usually behind"), (-3.0, ", Bo usually behind")],
)
def test_who_is_usually_behind_is_said_from_one_cut_off(mean_ms: float, behind: str) -> None:
    from cymbalism.analysis.sync import Asynchrony
    from cymbalism.report.text import gap_sentence

    t = np.arange(8.0)
    gap = mean_ms / 1000 + np.array([-1, 1] * 4) * 0.004  # A - B, SD about 4 ms
    stats = sync_stats(Asynchrony(t, gap))
    sd = f"{stats.sd_sec * 1000:.0f} ms"
    assert gap_sentence(stats, "Ana", "Bo") == (
        f"Between them the gap averaged {abs(mean_ms):.0f} ms{behind}, with a spread of {sd} "
        "over 8 shared notes."
    )
    studio = gap_sentence(stats, "Ana", "Bo", opening="Between you:")
    assert studio.startswith("Between you: the gap averaged") and behind in studio


@pytest.mark.parametrize("hits_a", [0, 1, 2])
def test_an_empty_or_tiny_session_shows_no_figure_that_is_not_there(hits_a: int) -> None:
    """An empty or tiny session's report said "average +nan ms" and drew panels for drums
    not in the part. Every figure that does not exist is left out or shown as "–"."""
    from cymbalism.report.plots import plot_lanes, plot_timing

    chart = songs.get_song("mirrorball")
    kicks = chart.targets(Level.BEGINNER)
    kicks = kicks.select(kicks.lane == Lane.KICK)
    a = Hits(kicks.onset_sec[:hits_a], kicks.lane[:hits_a], kicks.velocity[:hits_a])
    session = Session(
        chart,
        (Player("Ana", Level.BEGINNER, hits=a), Player("Ben", Level.BEGINNER)),
        until_sec=4.0,  # stopped in the second bar
    )
    analysis = analyse_session(session)
    words = " ".join(summary_sentences(analysis))
    page = re.sub(r"base64,[A-Za-z0-9+/=]+", "", render_html(analysis))  # the images' bytes
    titles = [ax.get_title(loc="left") for ax in plot_timing(analysis).axes]
    for text in (words, page, *titles):
        assert "nan" not in text.lower(), text
    assert "Ben (beginner part) hit none of the" in words
    assert f"{analysis.player('Ben').stats.n_notes} notes" in words
    # the per-drum panels: only drums hit, never a drum the part does not have
    panels = [ax.get_title(loc="left") for ax in plot_lanes(analysis).axes if ax.get_visible()]
    assert panels == ([Lane.KICK.label] if hits_a else [""])
    _not_blank(_decode_png(render_card(analysis)))


def test_the_tempo_plot_leaves_unsure_windows_as_gaps(analysis) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import warnings

    from cymbalism.analysis.tempo import TempoCurve
    from cymbalism.report.plots import plot_tempo

    first, second = analysis.players
    bpm = first.tempo.bpm.copy()
    bpm[3:9] = np.nan  # a sparse stretch the curve was unsure of
    bpm[10:] = np.nan  # one sure window alone, then unsure to the end
    gappy = TempoCurve(first.tempo.time_sec, bpm, first.tempo.window_sec)
    unsure = TempoCurve(second.tempo.time_sec, np.full(len(second.tempo), np.nan), 12.0)
    players = (
        dataclasses.replace(first, tempo=gappy),
        dataclasses.replace(second, tempo=unsure),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no all-NaN or empty-slice warnings
        fig = plot_tempo(dataclasses.replace(analysis, players=players))
    ax = fig.axes[0]
    labels = ax.get_legend().get_texts()
    assert any("gaps where unsure" in t.get_text() for t in labels)
    assert any(t.get_text() == f"{second.name}: tempo unsure" for t in labels)
    # the y range is the sure windows' (and the song's), never stretched to a dip
    low, high = ax.get_ylim()
    sure = bpm[np.isfinite(bpm)]
    assert low <= sure.min() and high >= sure.max() and high - low < 60
    drawn = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert sum(len(line.get_xdata()) for line in drawn) == 1  # the lone sure window


@pytest.mark.parametrize(
    ("n_extra", "said"), [(1, "played 1 extra hit,"), (2, "played 2 extra hits,")]
)
def test_extra_hits_are_counted_in_words(n_extra: int, said: str) -> None:
    """One extra hit is "1 extra hit", more are "hits"."""
    chart = songs.get_song("mirrorball")
    kicks = chart.targets(Level.BEGINNER)
    kicks = kicks.select(kicks.lane == Lane.KICK)
    n = 4
    extra = kicks.onset_sec[:n_extra] + 0.25  # a beat's worth away from any kick
    onsets = np.sort(np.concatenate([kicks.onset_sec[:n], extra]))
    a = Hits(onsets, np.full(onsets.size, Lane.KICK, np.int8), np.full(onsets.size, 100, np.int16))
    session = Session(chart, (Player("Ana", Level.BEGINNER, hits=a), Player("Ben", Level.BEGINNER)))
    words = " ".join(summary_sentences(analyse_session(session)))
    assert said in words


def test_the_terminal_summary_fits_80_columns_with_nothing_cut(analysis) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from cymbalism.report.text import print_summary

    console = Console(width=80, record=True, color_system=None)
    print_summary(analysis, console)
    text = console.export_text()
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("┃ Player"))
    table = lines[header + 1 :]
    for p in analysis.players:
        row = next(line for line in table if line.startswith(f"│ {p.name} "))
        assert f"{p.stats.n_notes}" in row and p.start_level.label in row


def test_parts_swapped_finds_files_given_in_the_other_order(duet) -> None:  # type: ignore[no-untyped-def]
    from cymbalism.report.analysis import parts_swapped

    session, _ = duet
    chart = session.chart
    expert, beginner = (p.hits for p in session.players)
    levels = [Level.EXPERT, Level.BEGINNER]
    kw = {"window_sec": session.settings.window_sec}
    assert not parts_swapped(chart, [expert, beginner], levels, **kw)
    assert parts_swapped(chart, [beginner, expert], levels, **kw)
    # the same part for both, or one player: nothing to swap
    assert not parts_swapped(chart, [beginner, expert], [Level.EXPERT] * 2, **kw)
    assert not parts_swapped(chart, [beginner], levels[:1], **kw)
    # a beginner who hits little of their own part is still on the right part
    sparse = beginner.select(np.arange(len(beginner)) % 3 == 0)
    assert not parts_swapped(chart, [expert, sparse], levels, **kw)


def test_fitting_part_finds_the_part_a_player_played() -> None:
    """Every part of every built-in song, played exactly, fits itself with F = 1 and
    is found; so is each part played by a simulated expert and a simulated beginner; no
    hits at all read as the full part."""
    from cymbalism import simulate
    from cymbalism.report.analysis import fitting_part
    from cymbalism.simulate import simulate_performance
    from cymbalism.songs import get_song, song_names

    for name in song_names():
        chart = get_song(name)
        distinct = [  # the click's parts are all one part: the full part is the reading
            lv
            for k, lv in enumerate(chart.levels)
            if all(chart.part(lv) != chart.part(h) for h in chart.levels[k + 1 :])
        ]
        assert len(distinct) == (1 if name == "click" else 5)
        for lv in distinct:
            best, every = fitting_part(chart, chart.targets(lv), window_sec=0.075)
            n = len(chart.targets(lv))
            assert (best.level, best.n_notes, best.n_hits, best.n_hit) == (lv, n, n, n)
            assert best.f_measure == 1.0 and best.hit_rate == 1.0
            others = [f for o, f in every.items() if chart.part(o) != chart.part(lv)]
            assert all(f.f_measure < 1.0 for f in others)
            for model in (simulate.EXPERT, simulate.BEGINNER):
                played = simulate_performance(chart, model, level=lv, seed=5)
                assert fitting_part(chart, played, window_sec=0.075)[0].level == lv, (name, lv)
        empty = Hits.from_arrays([], [])
        assert fitting_part(chart, empty, window_sec=0.075)[0].level == chart.top_level


def test_fitting_part_names_a_drum_the_input_cannot_name_before_it_fits() -> None:
    """A recording read with the default kit hears every ride stroke as the hi-hat. The
    full part played exactly, so heard, fits the full part exactly once those strokes are
    named by its notes; unnamed, each ride stroke is a miss and an extra hit."""
    from cymbalism.io.audio.templates import HEARD_AS
    from cymbalism.report.analysis import fitting_part
    from cymbalism.songs import get_song

    chart = get_song("lanterns")
    notes = chart.targets(Level.EXPERT)
    heard = Hits(
        notes.onset_sec,
        np.where(notes.lane == Lane.RIDE, Lane.HIHAT_CLOSED, notes.lane).astype(np.int8),
        notes.velocity,
    )
    assert (notes.lane == Lane.RIDE).sum() > 100
    best, _ = fitting_part(chart, heard, window_sec=0.075, heard_as=HEARD_AS)
    assert best.level is Level.EXPERT and best.f_measure == 1.0
    unnamed = fitting_part(chart, heard, window_sec=0.075)[1][Level.EXPERT]
    assert unnamed.n_hit == len(notes) - (notes.lane == Lane.RIDE).sum()


def test_fitting_part_takes_expert_plus_only_for_the_double_kicks() -> None:
    from cymbalism.io.charts import parse_chart_text
    from cymbalism.report.analysis import fitting_part
    from tests.io.test_game_charts import SONG

    chart = parse_chart_text(SONG)
    assert chart.expert_plus is not None
    best, every = fitting_part(chart, chart.targets(Level.EXPERT), window_sec=0.075)
    assert best.level is Level.EXPERT and 0 < every[Level.EXPERT_PLUS].f_measure < 1.0
    best, _ = fitting_part(chart, chart.targets(Level.EXPERT_PLUS), window_sec=0.075)
    assert best.level is Level.EXPERT_PLUS and best.f_measure == 1.0


def test_milliseconds_for_people_never_read_minus_zero() -> None:
    from cymbalism.report.format import ms

    assert ms(-0.0004) == "0 ms" and ms(-0.0004, signed=True) == "0 ms"
    assert ms(0.012, signed=True) == "+12 ms" and ms(-0.012, signed=True) == "-12 ms"
    assert ms(-0.0126) == "-13 ms" and ms(None) == "–" and ms(float("nan")) == "–"


def test_a_steady_gap_wider_than_30_ms_is_not_together() -> None:
    """Ben plays every note exactly 40 ms after Ana: the gap never changes, so its
    spread is nil, but two drums 40 ms apart sound as a flam, not as one. The report
    said they were together from the start and "stayed within 30 ms" of each other, a
    sentence after the 40 ms gap. It says they never came together, and why."""
    chart = songs.get_song("mirrorball")
    notes = chart.targets(Level.EXPERT)
    ana = Hits(notes.onset_sec + 0.010, notes.lane, notes.velocity)
    ben = Hits(notes.onset_sec + 0.050, notes.lane, notes.velocity)
    session = Session(
        chart, (Player("Ana", Level.EXPERT, hits=ana), Player("Ben", Level.EXPERT, hits=ben))
    )
    analysis = analyse_session(session)
    assert analysis.sync is not None and analysis.sync.mean_sec == pytest.approx(-0.040)
    assert analysis.came_together_sec is None
    words = " ".join(summary_sentences(analysis))
    assert "the gap averaged 40 ms, Ben usually behind" in words
    assert "together from the start" not in words
    assert (
        "They never came together: at the end Ben was still 40 ms behind Ana, steady but "
        "apart (together is within 30 ms)." in words
    )
    # 20 ms apart, as steady, is together from the start
    ben = Hits(notes.onset_sec + 0.030, notes.lane, notes.velocity)
    session = Session(
        chart, (Player("Ana", Level.EXPERT, hits=ana), Player("Ben", Level.EXPERT, hits=ben))
    )
    words = " ".join(summary_sentences(analyse_session(session)))
    assert (
        "They were together from the start: their gap stayed within 30 ms, its spread "
        "under 30 ms, to the end." in words
    )
