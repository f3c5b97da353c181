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

# core: tempo


@app.command()
def tempo(
    file: str = typer.Argument(..., help="A MIDI file of a drum performance."),
    kit: str | None = typer.Option(
        None, "--kit", help="The e-kit note map (td11, td17, nitro, dtx, gm or a .toml file)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Estimate the tempo of a performance from its hits alone (tempo events are ignored)."""
    import json
    import math

    from cymbalism.analysis.tempo import estimate_tempo, tempo_drift
    from cymbalism.io.midi import read_midi

    perf = read_midi(file, kit=kit)
    onset, weight = perf.hits.onset_sec, perf.hits.velocity.astype(float)
    bpm = estimate_tempo(onset, weight=weight)
    drift = tempo_drift(onset, weight=weight)
    drift_out = None if math.isnan(drift) else round(drift, 3)
    if as_json:
        print(json.dumps({"bpm": round(bpm, 2), "drift_bpm_per_min": drift_out, "hits": len(perf)}))
        return
    drift_text = "too short to tell" if drift_out is None else f"{drift_out:+.2f} BPM per minute"
    console.print(
        f"[bold]{bpm:.1f} BPM[/] from {len(perf)} hits in {perf.name} (drift: {drift_text})",
        highlight=False,
    )


# --- songs, simplify, lesson


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
