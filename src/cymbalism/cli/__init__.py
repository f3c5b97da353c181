"""The ``cymbalism`` command: a thin front end that parses, calls the core and formats.

One module per command group, in the order ``cymbalism --help`` lists them:

- :mod:`~cymbalism.cli.core`: analyze, simulate, demo, tempo;
- :mod:`~cymbalism.cli.songs`: songs, simplify, lesson;
- :mod:`~cymbalism.cli.live`: ports, calibrate, play;
- :mod:`~cymbalism.cli.store`: import, sessions, report, export, history;
- :mod:`~cymbalism.cli.sound`: render;
- :mod:`~cymbalism.cli.serve`: serve;
- :mod:`~cymbalism.cli.audio`: transcribe, kit;
- :mod:`~cymbalism.cli.research`: sync, coupling, corpus.

:mod:`~cymbalism.cli.common` holds the app, the consoles, the shared options and
:func:`main` (each error becomes one line and an exit code); :mod:`~cymbalism.cli.format`
holds how figures are shown.
"""

from cymbalism.cli.common import app, main

# Importing each group registers its commands; the order here is the order of --help.
from cymbalism.cli import core, songs, live, store, sound, serve, audio, research  # noqa: F401  # isort: skip

__all__ = ["app", "main"]
