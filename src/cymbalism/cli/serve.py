"""``serve``: the browser studio."""

from __future__ import annotations

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
) -> None:
    """Start the browser studio: pick a song, play a duet, read the report."""
    from cymbalism.web.server import run_studio

    run_studio(host=host, port=port, db=db, stop_after_sec=stop_after, say=console.print)
