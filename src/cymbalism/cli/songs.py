"""Song commands: ``songs`` (list, show), ``simplify`` and ``lesson``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer

from cymbalism.cli.common import (
    DB_HELP,
    JSON_HELP,
    KIT_HELP,
    app,
    console,
    err_console,
    open_store,
    parse_tempo,
    scan_with_progress,
)
from cymbalism.cli.format import clock, counted, print_pads_note
from cymbalism.errors import InputError
from cymbalism.model.chart import Level

songs_app = typer.Typer(
    help="Songs: the built-in ones, a library of song folders (--dir), or one song in detail.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(songs_app, name="songs")


@songs_app.callback()
def _songs(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    folder: Path | None = typer.Option(
        None,
        "--dir",
        "-d",
        help="A library of song folders and .sng packages (Clone Hero, YARG, Rock Band "
        "customs) to list.",
    ),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="Keep what was read in the user's cache folder."
    ),
    workers: int | None = typer.Option(
        None, help="Processes that read new song folders (default: every CPU)."
    ),
) -> None:
    """List the built-in songs, or the song folders of a library (--dir)."""
    if ctx.invoked_subcommand is not None:
        return
    if folder is not None:
        _list_library(folder, as_json=as_json, cache=cache, workers=workers)
        return
    from cymbalism.report.format import narrow_table
    from cymbalism.songs import list_songs

    if as_json:
        rows = [
            {
                "name": s.name,
                "title": s.title,
                "style": s.style,
                "bpm": s.bpm,
                "time_signature": s.time_signature,
                "length_sec": round(s.length_sec, 3),
                "bars": s.n_bars,
                "levels": [lv.name.lower() for lv in s.levels],
                "free_play": s.free_play,
            }
            for s in list_songs()
        ]
        console.print_json(data=rows)
        return

    cells = [
        (
            song.name,
            song.title,
            song.style,
            f"{song.bpm:g}",
            song.time_signature,
            clock(song.length_sec),
            str(song.n_bars),
            _level_marks(lv.label for lv in song.levels),
        )
        for song in list_songs()
    ]
    table = narrow_table(
        {
            "name": "key",
            "title": "words",
            "style": "words",
            "BPM": "figure",
            "time": "figure",
            "length": "figure",
            "bars": "figure",
            "levels": "figure",
        },
        cells,
        width=console.width,
        title="Built-in songs (use the name with --chart)",
    )
    console.print(table)
    console.print(_LEVELS_KEY, highlight=False)


def _list_library(folder: Path, *, as_json: bool, cache: bool, workers: int | None) -> None:
    """The song folders of a library: a table, or JSON records."""
    from rich.table import Table

    records, stats = scan_with_progress([folder], cache=cache, workers=workers)
    if as_json:
        console.print_json(data=[r.to_dict() for r in records])
        return
    good = [r for r in records if r.error is None]
    table = Table(title=f"Songs in {folder}")
    for column in ("title", "artist", "length", "BPM", "levels", "charter"):
        table.add_column(column, justify="right" if column in {"length", "BPM"} else "left")
    for r in good:
        bpm = (
            f"{r.bpm_min:.0f}"
            if round(r.bpm_min) == round(r.bpm_max)
            else (f"{r.bpm_min:.0f}-{r.bpm_max:.0f}")
        )
        table.add_row(
            r.title,
            r.artist,
            clock(r.length_sec),
            bpm,
            _level_marks(lv.name for lv in r.levels),
            r.charter,
        )
    console.print(table)
    console.print(
        f"{counted(len(good), 'song')} in {counted(stats.folders, 'song folder')}; "
        f"{stats.read} read, {stats.folders - stats.read} from the cache, "
        f"in {stats.seconds:.1f} s. {_LEVELS_KEY}",
        highlight=False,
    )
    for flag, said in (
        ("pads", "made for four pads (either drum of a pad plays its notes)"),
        ("five_lane", "read as a five-lane kit (yellow and orange cymbals, blue and green toms)"),
    ):
        titles = [r.title or Path(r.path).name for r in good if getattr(r, flag)]
        if titles:
            more = f" and {len(titles) - 5} more" if len(titles) > 5 else ""
            console.print(f"{said}: {', '.join(titles[:5])}{more}", highlight=False)
    bad = [r for r in records if r.error is not None]
    for r in bad[:10]:
        err_console.print(f"cannot read: {r.error}", highlight=False, markup=False, soft_wrap=False)
    if len(bad) > 10:
        err_console.print(f"... and {len(bad) - 10} more (see --json)", highlight=False)


_LEVEL_MARK = {"Beginner": "B", "Easy": "E", "Medium": "M", "Hard": "H", "Expert": "X"}
_LEVEL_MARK["Expert+"] = "X+"
_LEVELS_KEY = "Levels: B(eginner) E(asy) M(edium) H(ard) X (Expert) X+ (Expert+, double kick)."


def _level_marks(labels: Iterable[str]) -> str:
    """Levels as the song lists show them: ``B E M H X``."""
    return " ".join(_LEVEL_MARK.get(label, label) for label in labels)


@songs_app.command("show")
def _songs_show(
    name: str = typer.Argument(
        ..., help="A built-in song, a chart file, a song folder or a .sng package."
    ),
    level: str = typer.Option(
        "expert", "--level", "-l", help="beginner/easy/medium/hard/expert/expert+"
    ),
    bars_per_line: int = typer.Option(4, help="Bars per line of tablature."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the song's summary as JSON (title, artist, charter, length, tempo range, "
        "levels with notes per lane, sections, audio files) instead of tablature.",
    ),
) -> None:
    """Print a song's part as drum tablature, one row per lane, section by section."""
    from cymbalism.io.charts import load_chart
    from cymbalism.songs.tab import format_tab

    if as_json:
        from cymbalism.io.library import song_record

        console.print_json(data=song_record(name).to_dict())
        return

    chart = load_chart(name)
    lv = chart.level_or_full(level)
    tm = chart.tempo_map
    _, num, den = tm.time_signatures[0]
    console.print(
        f"[bold]{chart.title}[/] ({lv.label}) {tm.bpm[0]:g} BPM {num}/{den}, {chart.n_bars} bars",
        highlight=False,
    )
    print_pads_note(chart)
    rolled = chart.roll_mask(lv)
    if rolled.any():
        console.print("~ marks the notes under a drum roll: roll there at your own rate")
    text = format_tab(chart, chart.part(lv), bars_per_line=bars_per_line, roll=rolled)
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command("simplify")
def _simplify(
    chart: str = typer.Argument(
        ..., help="A built-in song or a chart file (.chart, notes.mid, .mid)."
    ),
    level: str = typer.Option("easy", "--level", "-l", help="hard/medium/easy/beginner"),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write here: .chart or notes.mid (every level) or .mid (this level).",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Derive every level again, even those the file has."
    ),
) -> None:
    """Make easier parts from a chart's full part; print the level's tablature or write it."""
    from cymbalism.coaching.simplify import chart_difficulty, simplify_chart
    from cymbalism.io.charts import load_chart, save_chart
    from cymbalism.songs.tab import format_tab

    source = load_chart(chart, derive_levels=False)
    full = simplify_chart(source, replace=replace, as_written=True)  # authored parts as written
    lv = Level.parse(level)
    for each, diff in chart_difficulty(full).items():
        mark = "*" if each == lv else " "
        console.print(
            f"{mark} {each.label:<8} {len(full.part(each)):5d} notes  "
            f"{diff.notes_per_sec:5.2f} notes/s  up to {diff.max_limbs} limbs  "
            f"difficulty {diff.score:5.2f}",
            highlight=False,
        )
    if out is None:
        console.print(
            format_tab(full, full.part(lv), roll=full.roll_mask(lv)), highlight=False, markup=False
        )
        return
    written = save_chart(out, full, level=lv)
    console.print(f"wrote {written}", highlight=False)
    if written.folds:
        console.print(written.folds.describe(), highlight=False, soft_wrap=True)


@app.command("lesson")
def _lesson(
    takes: list[str] = typer.Argument(
        ...,
        help="Stored sessions (a number or 'last') or MIDI files of the beginner's passes, "
        "replayed one after another (FILE:2: the second kit of a MIDI file).",
    ),
    chart: str | None = typer.Option(
        None, "--chart", "-c", help="A built-in song or chart file (a session has its own)."
    ),
    player: str | None = typer.Option(
        None, "--player", "-p", help="Whose path, in a session (default: the easiest part)."
    ),
    start: str | None = typer.Option(
        None,
        "--start",
        help="The level to start at (a session's player's own, else beginner), or 'warm-up' "
        "to place by the first bars.",
    ),
    tempo: str | None = typer.Option(
        None, "--tempo", help="The practice tempo at the start, such as 70% (a session's own)."
    ),
    offset_sec: float = typer.Option(
        0.0, "--offset-sec", help="Where the song's first bar starts in each MIDI recording."
    ),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Replay a beginner's performance through the path: level changes and tips."""
    from cymbalism.coaching.lesson import (
        LessonPath,
        LessonSettings,
        placement_level,
        replay_lesson,
        replay_session,
    )
    from cymbalism.io.charts import load_chart
    from cymbalism.io.performance import split_channel
    from cymbalism.model.hits import Hits
    from cymbalism.model.session import Session

    song = None if chart is None else load_chart(chart)
    # name, hits, and for a stored session (the session, the player)
    passes: list[tuple[str, Hits, tuple[Session, str] | None]] = []
    session_tempo = None
    session_level = None
    for take in takes:
        if split_channel(take)[0].expanduser().is_file():  # a MIDI file, or one kit of it
            from cymbalism.io.midi import read_midi

            midi_file, kit_part = split_channel(take)
            perf = read_midi(midi_file.expanduser(), kit=kit, part=kit_part)
            passes.append((perf.name, perf.hits.shifted(-offset_sec), None))
            continue
        with open_store(db) as store:
            stored = store.load(store.resolve(take))
        seats = stored.session.players
        mine = (
            next((p for p in seats if p.name == player), None)
            if player
            else min(seats, key=lambda p: p.level)
        )
        if mine is None:
            names = ", ".join(p.name for p in seats)
            raise InputError(f"session {stored.id} has no player {player!r} (players: {names})")
        song = song or load_chart(stored.chart)
        if session_tempo is None:
            session_tempo = min(1.0, stored.session.settings.tempo_scale)
        if session_level is None:
            session_level = mine.level
        # replayed as it was played: its bars, its stop, when the player was there
        passes.append((f"session {stored.id}, {mine.name}", mine.hits, (stored.session, mine.name)))
    if song is None:
        raise InputError("MIDI files need --chart: the song they were played to")
    if start is not None and start.strip().lower() in {"warm-up", "warmup"}:
        level = placement_level(song, passes[0][1])
        console.print(f"the warm-up places you at {level.label}", highlight=False)
    elif start is None:
        level = Level.BEGINNER if session_level is None else session_level
    else:
        level = Level.parse(start)
    scale = parse_tempo(tempo) if tempo is not None else (session_tempo or 1.0)
    lowest = LessonSettings().min_tempo_scale
    if not lowest <= scale <= 1.0:
        raise InputError(
            f"--tempo {tempo}: a lesson starts at a practice tempo within {lowest:.0%}-100% "
            "and ramps up to 100%"
        )
    path = LessonPath(song, start_level=level, tempo_scale=scale)
    console.print(
        f"[bold]{song.title}[/]: starting at {path.level.label}, tempo {path.tempo_scale:.0%}",
        highlight=False,
    )
    for i, (name, hits, played) in enumerate(passes, start=1):
        before = len(path.changes)
        if played is None:
            report = replay_lesson(song, hits, path=path)
        else:
            report = replay_session(*played, path=path, chart=song)
        console.print(f"pass {i} ({name}):", highlight=False)
        for change in report.changes[before:]:
            console.print(f"  {change}", highlight=False, soft_wrap=True)
        if len(report.changes) == before:
            console.print(f"  stayed at {path.level.label}", highlight=False)
    console.print(
        f"now at {path.level.label}, tempo {path.tempo_scale:.0%}. Tips:", highlight=False
    )
    for tip in path.tips():
        console.print(f"  - {tip}", highlight=False)
