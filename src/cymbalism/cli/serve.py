"""``serve``: the browser studio."""

from __future__ import annotations

from pathlib import Path

import typer

from cymbalism.cli.common import DB_HELP, app, console


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
    from cymbalism.web.server import run_studio

    run_studio(
        host=host,
        port=port,
        db=db,
        stop_after_sec=stop_after,
        tls=tls,
        certfile=certfile,
        keyfile=keyfile,
        names=name or [],
        say=console.print,
    )
