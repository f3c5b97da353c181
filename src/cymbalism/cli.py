"""The ``cymbalism`` command: a thin front end that parses, calls the core and formats.

Every :class:`~cymbalism.errors.CymbalismError` becomes one line on stderr and its
exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from cymbalism import __version__
from cymbalism.errors import CymbalismError

app = typer.Typer(
    name="cymbalism",
    help="Two drummers, one song: capture, judge and synchronise a duet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        console.print(f"cymbalism {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    _state["debug"] = debug


# --- core: analyze, tempo, simulate, demo


# --- songs, simplify, lesson
songs_app = typer.Typer(
    help="The built-in songs: list them, or show a part as drum tablature.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(songs_app, name="songs")


@songs_app.callback()
def _songs(ctx: typer.Context) -> None:
    """List the built-in songs (name, title, tempo, time signature, length, levels)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from cymbalism.songs import list_songs

    table = Table(title="Built-in songs (use the name with --chart)")
    for column in ("name", "title", "style", "BPM", "time", "length", "bars", "levels"):
        table.add_column(
            column,
            justify="right" if column in {"BPM", "bars"} else "left",
            no_wrap=column == "name",
        )
    for song in list_songs():
        minutes, seconds = divmod(round(song.length_sec), 60)
        table.add_row(
            song.name,
            song.title,
            song.style,
            f"{song.bpm:g}",
            song.time_signature,
            f"{minutes}:{seconds:02d}",
            str(song.n_bars),
            ", ".join(lv.label for lv in song.levels),
        )
    console.print(table)


@songs_app.command("show")
def _songs_show(
    name: str = typer.Argument(..., help="A built-in song or a chart file."),
    level: str = typer.Option("expert", "--level", "-l", help="beginner/easy/medium/hard/expert"),
    bars_per_line: int = typer.Option(4, help="Bars per line of tablature."),
) -> None:
    """Print a song's part as drum tablature, one row per lane, section by section."""
    from cymbalism.io.charts import load_chart
    from cymbalism.model.chart import Level
    from cymbalism.songs.tab import format_tab

    chart = load_chart(name)
    lv = Level.parse(level)
    tm = chart.tempo_map
    _, num, den = tm.time_signatures[0]
    console.print(
        f"[bold]{chart.title}[/] ({lv.label}) {tm.bpm[0]:g} BPM {num}/{den}, {chart.n_bars} bars",
        highlight=False,
    )
    text = format_tab(chart, chart.part(lv), bars_per_line=bars_per_line)
    console.print(text, highlight=False, markup=False, soft_wrap=True)


# --- live: ports, calibrate, play


# --- store and reports: import, history, report, export


# --- web studio: serve


# --- audio: transcribe, kit


# --- research: sync, coupling, corpus


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, standalone_mode=False)
    except CymbalismError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except Exception as exc:  # the click usage errors and anything unexpected
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        if debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
            "(run with --debug for details)",
            highlight=False,
        )
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
