"""Store a duet (or a solo) analysed from files as a session.

Each player's performance is a drum MIDI file or a recording of an acoustic kit
(:func:`cymbalism.io.performance.load_performance`; ``take.wav:L`` for one channel).
Recordings made on separate devices are put on one clock by their sound (``align``,
:func:`cymbalism.io.performance.on_one_clock`). A MIDI file starts with the song; in
recordings, the song's start is found from the hits, as ``cymbalism analyze`` finds it
(:func:`cymbalism.analysis.align.find_offset`), unless it is given. The song is

- the chart given (a built-in song, a Clone Hero ``.chart``, a Rock Band / Clone Hero
  ``notes.mid``, or a plain drum MIDI file whose notes are the part; see
  :func:`cymbalism.io.charts.load_chart`), played at its expert level; or
- without a chart, the grid the players aimed at: every 16th-note or 8th-triplet line
  of the first file's tempo map (for recordings, the click their hits follow,
  :func:`cymbalism.analysis.tempo.players_clicks`) that either player struck, per drum
  (:func:`cymbalism.analysis.align.grid_targets`). Such a session is analysed as
  ``cymbalism analyze`` does with no chart: each player against the grid lines nearest
  their own hits, and the gap between them by matching their hits one to one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cymbalism.analysis.align import MAX_OFFSET_SEC, grid_targets
from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.session import DEFAULT_WINDOW_SEC, Player, Session
from cymbalism.model.tempo import TempoMap
from cymbalism.store.store import Store

if TYPE_CHECKING:
    from cymbalism.report.analysis import PartFit

__all__ = ["grid_chart", "import_files", "parse_names"]


def grid_chart(title: str, performances: Sequence[object], tempo_map: TempoMap) -> Chart:
    """The grid notes of ``tempo_map`` that any of the performances struck, as an expert
    part (``performances`` have ``hits``)."""
    qn, lane = [], []
    for perf in performances:
        targets = grid_targets(perf.hits, tempo_map)  # type: ignore[attr-defined]
        qn.append(np.round(tempo_map.sec_to_qn(targets.onset_sec) * 48) / 48)
        lane.append(targets.lane)
    part = Part.from_arrays(np.concatenate(qn), np.concatenate(lane), 100)
    return Chart(
        title=title,
        tempo_map=tempo_map,
        parts={Level.EXPERT: part},
        metadata={"judged_against": "grid"},
    )


def parse_names(names: str | Sequence[str] | None, n: int) -> list[str] | None:
    """Player names from ``"A,B"`` (or a list); None when none are given (then
    :func:`~cymbalism.io.performance.default_names`)."""
    if names is None or names == "":
        return None
    items = [s.strip() for s in names.split(",")] if isinstance(names, str) else list(names)
    if len(items) != n or not all(items):
        raise InputError(f"give one name per file: {n} files but names {items!r}")
    if len(set(items)) != len(items):
        raise InputError(f"player names must differ, got {items!r}")
    return items


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    chart: str | Path | Chart | None = None,
    names: str | Sequence[str] | None = None,
    levels: Sequence[Level | str] | None = None,
    note: str = "",
    kit: str | None = None,
    align: bool = False,
    offset_sec: float | None = None,
    music: bool = True,
    on_aligned: Callable[[list[Any], list[Any], dict[str, int]], object] | None = None,
    on_named: Callable[[str, str, Hits, Hits], object] | None = None,
    on_fitted: Callable[[str, PartFit, PartFit], object] | None = None,
    on_read: Callable[[list[Any]], object] | None = None,
) -> int:
    """Read the performances, store them as one session, and return its id.

    Parameters
    ----------
    store : Store
    paths : sequence of path
        One drum MIDI file or recording per player (two for a duet).
    chart : path or Chart, optional
        The song; without one, the grid the players struck (see the module's notes).
    names : "A,B" or sequence of str, optional
        The players' names; by default the files' names.
    levels : sequence of Level or str, optional
        The part each player played (``["expert", "beginner"]``); by default, with a
        chart, the part each player's hits fit best
        (:func:`~cymbalism.report.analysis.fitting_part`), and without one the grid.
    note : str
        Free text kept with the session.
    kit : str, optional
        For MIDI files, the e-kit's note map (:func:`cymbalism.io.kits.load_kit`); for
        recordings, a calibrated acoustic kit (as
        :func:`~cymbalism.io.performance.load_performance` takes it).
    align : bool
        Put recordings made on separate devices on the first one's clock by their sound.
    offset_sec : float, optional
        Where the song starts in the files, in seconds; by default 0 for MIDI files and
        found from the hits for recordings (or where the song's recording sounds in
        them). Needs a chart.
    music : bool
        Look for the song's recording in recorded takes (played along aloud), take it
        out before their hits are found, and place the song where it sounds
        (:func:`~cymbalism.io.audio.hits_without_music`).
    on_aligned : callable, optional
        Called with the performances, their :class:`~cymbalism.io.audio.align.
        ClockAlignment` and the hits left out of each as the other kit
        (:func:`~cymbalism.io.performance.leave_out_other_kits`), once they are on one
        clock (to say how they were lined up).
    on_fitted : callable, optional
        Called with a player's name, the :class:`~cymbalism.report.analysis.PartFit` of
        the part chosen for them by fit and that of the full part, when no ``levels``
        were given and an easier part fits their hits better.
    on_named : callable, optional
        Called with a player's name, their recording's kit, and their hits as heard and
        as stored, when strokes of a drum the kit cannot name were named by the part
        (:func:`~cymbalism.analysis.align.name_heard_drums`: a ride heard as the hi-hat).
    on_read : callable, optional
        Called with the performances as read, before anything else is done with them
        (to say something of the files themselves).

    Returns
    -------
    session_id : int
    """
    from cymbalism.analysis.align import as_heard, find_offset
    from cymbalism.analysis.tempo import players_clicks
    from cymbalism.coaching.simplify import name_by_part
    from cymbalism.io.charts import load_chart
    from cymbalism.io.performance import (
        default_names,
        leave_out_other_kits,
        load_performance,
        music_agrees,
        music_start,
        on_one_clock,
    )

    if not paths:
        raise InputError("give at least one MIDI file or recording to import")
    if offset_sec is not None and not abs(offset_sec) <= MAX_OFFSET_SEC:  # NaN too
        raise InputError(f"--offset must lie within ±{MAX_OFFSET_SEC:g} s, got {offset_sec}")
    files = [Path(p).expanduser() for p in paths]
    given = parse_names(names, len(files))
    given_song = load_chart(chart) if chart is not None else None
    sound = None  # the song's recording, to look for in recorded takes
    if given_song is not None and music and isinstance(chart, str | Path):
        from cymbalism.sound.audio import music_for_takes

        sound = music_for_takes(files, chart, given_song)
    performances = [load_performance(p, kit=kit, music=sound) for p in files]
    if on_read is not None:
        on_read(performances)
    player_names = given or default_names(performances)
    if align:
        performances, moved = on_one_clock(performances)
        performances, left_out = leave_out_other_kits(performances, moved)
        if on_aligned is not None:
            on_aligned(performances, moved, left_out)
    hits = [p.hits for p in performances]
    recorded = any(p.tempo_map is None for p in performances)
    if chart is None:
        if offset_sec is not None:
            raise InputError("--offset places the files on a song: give its --chart")
        clicks, _ = players_clicks(hits, [p.tempo_map for p in performances])
        song = grid_chart(" + ".join(p.stem for p in files), performances, clicks[0])
    else:
        assert given_song is not None
        song = given_song
    if levels is None:
        parts = [song.top_level] * len(files)
    elif chart is None:
        raise InputError("levels need a chart to pick the parts from (give --chart)")
    elif len(levels) != len(files):
        raise InputError(f"give one level per file: {len(files)} files but levels {levels!r}")
    else:
        parts = [Level.parse(lv) for lv in levels]
        for lv in parts:
            song.part(lv)  # an unknown part fails before anything is stored
    if chart is not None:
        from cymbalism.report.analysis import fitting_part

        by_music = music_start(performances[:1] if align else performances)  # one clock

        def place(parts: list[Level]) -> float:
            if offset_sec is not None or not recorded or not any(len(h) for h in hits):
                return offset_sec or 0.0
            heard = [
                as_heard(song.targets(lv), p.heard_as)
                for lv, p in zip(parts, performances, strict=True)
            ]
            start = find_offset(hits, heard).offset_sec
            if by_music is not None and music_agrees(by_music[1], start):
                return by_music[1]  # where the song's recording sounds, exact
            return start

        def fit(start: float) -> list[tuple[PartFit, dict[Level, PartFit]]]:
            return [
                fitting_part(
                    song, h.shifted(-start), window_sec=DEFAULT_WINDOW_SEC, heard_as=p.heard_as
                )
                for h, p in zip(hits, performances, strict=True)
            ]

        start = place(parts)
        if levels is None:  # each player on the part their hits fit best
            fits = fit(start)
            fitted = [best.level for best, _ in fits]
            if fitted != parts:  # the start found again, on these parts
                parts, again = fitted, place(fitted)
                if again != start:
                    start, fits = again, fit(again)
            for name, lv, (_, every) in zip(player_names, parts, fits, strict=True):
                if on_fitted is not None and lv != song.top_level:
                    on_fitted(name, every[lv], every[song.top_level])
        if start:
            hits = [h.shifted(-start) for h in hits]
        heard = hits
        hits = [
            name_by_part(h, song, lv, p.heard_as, window_sec=DEFAULT_WINDOW_SEC)
            for h, lv, p in zip(heard, parts, performances, strict=True)
        ]
        if on_named is not None:
            for name, p, h, n in zip(player_names, performances, heard, hits, strict=True):
                if not np.array_equal(h.lane, n.lane):
                    on_named(name, p.kit, h, n)
    players = tuple(
        Player(name=name, level=lv, input=str(path), hits=h)
        for name, path, h, lv in zip(player_names, files, hits, parts, strict=True)
    )
    session = Session(chart=song, players=players)
    return store.save_session(session, source="import", note=note)
