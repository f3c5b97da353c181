"""``serve``: the browser studio."""

from __future__ import annotations

from pathlib import Path

import typer

from cymbalism.cli.common import DB_HELP, app, console, err_console, scan_with_progress
from cymbalism.report.format import counted
from cymbalism.web.library import SONGS_ENV


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on; 0.0.0.0 lets phones and other "
        "computers join (they then need the room code).",
    ),
    port: int = typer.Option(8737, "--port", help="Port to listen on (0: any free port)."),
    db: str = typer.Option(None, "--db", help=DB_HELP),
    songs: list[Path] | None = typer.Option(
        None,
        "--songs",
        help="A Clone Hero / YARG song library to offer beside the built-in songs (may be "
        f"given again; default: ${SONGS_ENV}, folders apart by the path separator).",
        show_default=False,
    ),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="Keep what was read of the library in the cache folder."
    ),
    stop_after: float = typer.Option(
        None, "--stop-after", help="Stop after this many seconds (for scripts and CI).", min=0.0
    ),
    tls: bool = typer.Option(
        False,
        "--tls",
        help="Serve HTTPS with a self-signed certificate, made once and kept in the data "
        "folder (phones and tablets need HTTPS for an e-kit over Web MIDI).",
    ),
    certfile: Path = typer.Option(None, "--certfile", help="Serve HTTPS with this certificate."),
    keyfile: Path = typer.Option(None, "--keyfile", help="The key of --certfile (PEM)."),
    name: list[str] = typer.Option(
        None,
        "--name",
        help="A host name the studio answers to besides its addresses (repeat for more); "
        "requests for any other name are refused.",
    ),
) -> None:
    """Start the browser studio: pick a song, play a duet, read the report."""
    from cymbalism.web.library import library_roots
    from cymbalism.web.server import run_studio

    records = None
    roots = library_roots(songs)
    if roots:
        records, stats = scan_with_progress(roots, cache=cache)
        playable = sum(r.error is None and bool(r.levels) for r in records)
        console.print(
            f"song library: {counted(playable, 'song')} with drums ({stats.read} read, "
            f"{stats.folders - stats.read} from the cache, {stats.seconds:.1f} s)",
            highlight=False,
        )
        if stats.errors:
            err_console.print(
                f"{stats.errors} of {stats.folders} song folders cannot be played "
                "(`cymbalism songs --dir` says why)",
                highlight=False,
            )
    run_studio(
        host=host,
        port=port,
        db=db,
        library=records,
        stop_after_sec=stop_after,
        tls=tls,
        certfile=certfile,
        keyfile=keyfile,
        names=name or [],
        say=console.print,
    )
