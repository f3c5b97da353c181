"""Store and report commands: ``import``, ``sessions`` (list, finish, delete), ``report``,
``export`` and ``history``."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer

from cymbalism.cli.common import (
    DB_HELP,
    KEEP_MUSIC_HELP,
    KIT_HELP,
    SESSION_HELP,
    app,
    console,
    err_console,
    open_store,
    say_alignment,
    say_music,
    split_values,
    stored_analysis,
)
from cymbalism.cli.format import counted
from cymbalism.errors import InputError


@app.command("import")
def _import(
    files: list[Path] = typer.Argument(
        ...,
        help="One drum MIDI file or recording per player (FILE:L, FILE:R for the channels "
        "of a stereo recording; FILE:1, FILE:2 for the kits of one MIDI file).",
    ),
    chart: str | None = typer.Option(
        None, "--chart", help="The song: a built-in song, .chart, notes.mid or drum .mid."
    ),
    names: str | None = typer.Option(None, "--names", help="Player names, as A,B."),
    levels: str | None = typer.Option(
        None,
        "--levels",
        help="The part each player played: expert,beginner (needs --chart; by default "
        "the part each player's hits fit best).",
    ),
    note: str = typer.Option("", "--note", help="A note kept with the session."),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    align: bool = typer.Option(
        False,
        "--align",
        help="Recordings made on separate devices: put them on the first one's clock by "
        "their sound (as `analyze --align`).",
    ),
    offset: float | None = typer.Option(
        None,
        "--offset",
        help="Where the song starts in the files, in seconds (default: 0 for MIDI files, "
        "found from the hits for recordings).",
    ),
    keep_music: bool = typer.Option(False, "--keep-music", help=KEEP_MUSIC_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Store a duet (or a solo) from MIDI files or recordings as a session; summarise it."""
    from cymbalism.analysis.align import named_counts
    from cymbalism.cli.format import fitted_part_sentence, swapped_parts_hint
    from cymbalism.report.analysis import analyse_stored, parts_swapped
    from cymbalism.report.text import heard_as_sentence, print_summary
    from cymbalism.store.importer import import_files

    parts = split_values(levels, "levels", len(files))
    with open_store(db) as store:
        session_id = import_files(
            store,
            files,
            chart=chart,
            names=names,
            levels=parts,
            note=note,
            kit=kit,
            align=align,
            offset_sec=offset,
            music=not keep_music,
            on_read=lambda read: _said_when_read(files, read),
            on_aligned=partial(say_alignment, quiet=False),
            on_fitted=lambda name, chosen, full: err_console.print(
                fitted_part_sentence(name, chosen, full), highlight=False, soft_wrap=False
            ),
            on_named=lambda name, kit, heard, named: err_console.print(
                heard_as_sentence(name, kit, named_counts(heard, named)),
                highlight=False,
                soft_wrap=False,
            ),
        )
        console.print(f"stored session [bold]{session_id}[/] in {store.url}")
        kept = store.load(session_id)
        print_summary(analyse_stored(kept), console)
        stored = kept.session
        played = [p.level for p in stored.players]
        if parts_swapped(
            stored.chart,
            [p.hits for p in stored.players],
            played,
            window_sec=stored.settings.window_sec,
        ):
            names_given = [p.name for p in stored.players]
            err_console.print(
                swapped_parts_hint(names_given, played), highlight=False, soft_wrap=False
            )


def _said_when_read(files: list[Path], performances: list) -> None:
    """Where the song's recording was heard in a take; and one MIDI file read whole that
    holds two kits: how to read it as two players."""
    from cymbalism.cli.format import two_kits_hint

    say_music(performances, quiet=False)
    said = two_kits_hint(str(files[0]), performances[0]) if len(files) == 1 else None
    if said is not None:
        err_console.print(said, highlight=False, soft_wrap=False)


sessions_app = typer.Typer(
    help="List the stored sessions; finish or delete one.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(sessions_app, name="sessions")


@sessions_app.callback()
def _sessions(
    ctx: typer.Context,
    player: str | None = typer.Option(None, "--player", "-p", help="Only this player's."),
    limit: int | None = typer.Option(None, "--limit", "-n", help="Only the latest N."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """List the stored sessions, newest last; sessions cut short are flagged."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    from cymbalism.cli.format import clock, ms
    from cymbalism.report.format import date_time, narrow_table
    from cymbalism.report.history import session_summaries

    with open_store(db) as store:
        infos = session_summaries(store, store.sessions(player=player, limit=limit))
        if not infos:
            console.print(f"no sessions in {store.url} yet")
            return
        rows = []
        for s in infos:
            duet = s.duet
            together = "" if duet is None else "not yet"
            if duet is not None and duet.came_together_sec is not None:
                together = clock(duet.came_together_sec)
            rows.append(
                (
                    str(s.id),
                    date_time(s.started_at),
                    s.title,
                    " & ".join(s.player_names),
                    " + ".join(str(p.n_hits) for p in s.players),
                    "[bold red]cut short[/]" if s.cut_short else s.status,
                    ms(duet.sd_sec) if duet else "",
                    together,
                )
            )
        table = narrow_table(
            {
                "#": "figure",
                "Date": "date",
                "Song": "words",
                "Players": "words",
                "Hits": "words",
                "Status": "words",
                "Gap SD": "figure",
                "Together": "figure",
            },
            rows,
            width=console.width,
            title=f"Sessions in {store.url}",
        )
        console.print(table)
        cut = [s.id for s in infos if s.cut_short]
        if cut:
            ids = ", ".join(map(str, cut))
            console.print(
                f"[yellow]{counted(len(cut), 'session')} "
                f"{'was' if len(cut) == 1 else 'were'} cut short ({ids}); their hits are kept. "
                "Finish them with `cymbalism sessions finish ID` (or `--cut-short`); "
                "`cymbalism report ID` works on them as they are.[/]"
            )


@sessions_app.command("finish")
def _sessions_finish(
    ctx: typer.Context,
    session: list[str] = typer.Argument(None, help="Session numbers (or 'last')."),
    cut_short: bool = typer.Option(False, "--cut-short", help="Finish every session cut short."),
) -> None:
    """Mark sessions finished (a session cut short keeps every committed hit)."""
    with open_store(ctx.obj) as store:
        ids = [store.resolve(s) for s in session or []]
        if cut_short:
            ids += [s.id for s in store.cut_short()]
        if not ids:
            console.print("nothing to finish: give session numbers or --cut-short")
            return
        for session_id in ids:
            store.finish(session_id)
            console.print(f"finished session {session_id}")


@sessions_app.command("delete")
def _sessions_delete(
    ctx: typer.Context,
    session: str = typer.Argument(..., help="The session number."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Delete a session with all its hits."""
    with open_store(ctx.obj) as store:
        session_id = store.resolve(session)
        try:
            info = store.info(session_id)
            what = f"{info.title}, {', '.join(info.player_names)}"
        except InputError:  # a session that cannot be read can still be deleted
            what = "it cannot be read"
        if not yes and not typer.confirm(f"delete session {session_id} ({what})?"):
            raise typer.Abort()
        store.delete(session_id)
        console.print(f"deleted session {session_id}")


@app.command("report")
def _report(
    session: str = typer.Argument("last", help=SESSION_HELP),
    html: Path | None = typer.Option(None, "--html", help="Write the HTML report here."),
    png: Path | None = typer.Option(None, "--png", help="Write each plot as PNG and SVG here."),
    card: Path | None = typer.Option(None, "--card", help="Write the share card (PNG) here."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Summarise a session in the terminal and write its report, plots and share card.

    With no --html/--png/--card, the HTML report goes to session-<N>.html.
    """
    from cymbalism.report.card import write_card
    from cymbalism.report.html import write_html
    from cymbalism.report.plots import save_plots
    from cymbalism.report.text import print_summary

    with open_store(db) as store:
        analysis = stored_analysis(store, session)
    print_summary(analysis, console)
    if html is None and png is None and card is None:
        html = Path(f"session-{analysis.session_id}.html")
    if html is not None:
        console.print(f"report: {write_html(analysis, html)}")
    if png is not None:
        paths = save_plots(analysis, png)
        console.print(f"plots: {len(paths)} files in {png}")
    if card is not None:
        console.print(f"share card: {write_card(analysis, card)}")


@app.command("export")
def _export(
    session: str = typer.Argument("last", help=SESSION_HELP),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, json or parquet."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="The file (default session-<N>.<format>)."
    ),
    misses: bool = typer.Option(True, "--misses/--no-misses", help="Add a row per missed note."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Export a session's hits and judgements, one row per hit."""
    from cymbalism.errors import InputError
    from cymbalism.report.export import FORMATS, write_export

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    with open_store(db) as store:
        analysis = stored_analysis(store, session)
    path = write_export(
        analysis, out or Path(f"session-{analysis.session_id}.{fmt}"), fmt=fmt, misses=misses
    )
    console.print(f"wrote {path}")


@app.command("history")
def _history(
    player: str = typer.Argument(..., help="The player's name."),
    png: Path | None = typer.Option(None, "--png", help="Also plot the trends to this PNG."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """A player's sessions over time: hit rate, accuracy, precision, level, sync."""
    from cymbalism.report.history import player_history, print_history, write_history_plot

    with open_store(db) as store:
        rows = player_history(store, player)
    print_history(player, rows, console)
    if png is not None and rows:
        console.print(f"plot: {write_history_plot(player, rows, png)}")
