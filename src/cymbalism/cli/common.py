"""What every command shares: the app and its consoles, option help and parsing, the store,
and :func:`main`, which turns every error into one line and an exit code.

Every :class:`~cymbalism.errors.CymbalismError` becomes one line on stderr and its
exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from cymbalism import __version__
from cymbalism.errors import CymbalismError, CymbalismWarning, InputError

if TYPE_CHECKING:
    from cymbalism.io.library import ScanStats, SongRecord
    from cymbalism.report.analysis import SessionAnalysis
    from cymbalism.store import Store

__all__ = [
    "ALIGN_HELP",
    "API_HELP",
    "AUDIO_HELP",
    "AUDIO_OFFSET_HELP",
    "DB_HELP",
    "JSON_HELP",
    "KEEP_MUSIC_HELP",
    "KIT_HELP",
    "MIX_HELP",
    "SESSION_HELP",
    "app",
    "console",
    "db_option",
    "err_console",
    "main",
    "open_store",
    "parse_tempo",
    "positive",
    "scan_with_progress",
    "split_names",
    "split_values",
    "stored_analysis",
]

app = typer.Typer(
    name="cymbalism",
    help="Two drummers, one song: capture, judge and synchronise a duet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
#: On a terminal, messages wrap between words; piped or captured, each stays one line.
err_console.soft_wrap = not err_console.is_terminal

_state = {"debug": False}

# Help of the options several commands share.
DB_HELP = (
    "The session database: a SQLite file or postgresql:// URL "
    "(default: $CYMBALISM_DB, else the user data folder)."
)
KIT_HELP = "The e-kit's note map (td11, td17, nitro, dtx, gm or a .toml file)."
KEEP_MUSIC_HELP = (
    "Leave the song's recording in a recorded take: by default, a take played along with "
    "the music aloud has the music found and taken out before its hits are found, and the "
    "song is placed where its music sounds."
)
ALIGN_HELP = (
    "Recordings made on separate devices (a phone each): put them on the first one's clock "
    "by the sound every microphone heard (start, clock drift, room)."
)
API_HELP = "The MIDI system: LINUX_ALSA or UNIX_JACK."
JSON_HELP = "Print JSON."
SESSION_HELP = "The session number, or 'last'."
MIX_HELP = (
    "Channel gains 0-2: music, guide (the song's drum stems, muted by default), click "
    "(the click and --backing), own (the first player's drums), partner; such as "
    "music=0.8,click=0.3."
)
AUDIO_HELP = "A recording to play instead of the song's own: an audio file or a song folder."
AUDIO_OFFSET_HELP = "Where song time zero falls in --audio, in milliseconds."


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


def split_values(value: str | None, what: str, n: int) -> list[str] | None:
    """A comma-separated option with one entry per player, in the players' order."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")]
    if len(items) != n or not all(items):
        raise InputError(
            f"--{what} needs one value per player ({n}, comma-separated), got {value!r}"
        )
    return items


def split_names(text: str | None) -> list[str] | None:
    """Any number of comma-separated names (``A,B``), or None."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError(f"no names in {text!r}; give them as A,B")
    return names


#: The practice tempos ``--tempo`` takes: the song's recording cannot be stretched further.
TEMPO_RANGE = (0.25, 2.0)


def parse_tempo(text: str | float) -> float:
    """A practice tempo as ``play``, ``render`` and ``lesson`` all take it: ``80%``, ``80``
    or ``0.8`` (a number above 2 is a percentage), within :data:`TEMPO_RANGE`."""
    raw = str(text).strip()
    t = raw.rstrip("%")
    try:
        value = float(t)
    except ValueError:
        raise InputError(f"--tempo takes a percentage such as 80% (or 0.8), got {raw!r}") from None
    scale = value / 100.0 if raw.endswith("%") or value > 2.0 else value
    lo, hi = TEMPO_RANGE
    if not lo <= scale <= hi:
        raise InputError(
            f"--tempo {raw} is {scale:.0%}; a practice tempo lies within {lo:.0%}-{hi:.0%}"
        )
    return scale


def positive(value: float | None, option: str, *, zero_ok: bool = False) -> None:
    """One clear error for a number that must be positive (or at least 0)."""
    if value is None:
        return
    if not (value >= 0 if zero_ok else value > 0) or value != value:
        need = "0 or more" if zero_ok else "more than 0"
        raise InputError(f"{option} must be {need}, got {value:g}")


def matching_window(window_ms: float) -> float:
    """``--window-ms`` in seconds; one clear error outside the 5-500 ms a session takes."""
    if not 5.0 <= window_ms <= 500.0:
        raise InputError(f"--window-ms must lie from 5 to 500 ms, got {window_ms:g}")
    return window_ms / 1000.0


def db_option(db: str | None, store: str | None) -> str | None:
    """The database of a command that once called ``--db`` ``--store`` (kept, hidden)."""
    if db is not None and store is not None and db != store:
        raise InputError(f"--db {db!r} and --store {store!r} name two databases; give --db only")
    return db if db is not None else store


def open_store(db: str | None) -> Store:
    """The session store at ``db`` (a URL or SQLite file; None: the default), with the
    ends of sessions it refused before stored now."""
    from cymbalism.store import Store

    store = Store(db)
    store.recover_unsaved()
    return store


def stored_analysis(store: Store, session: str) -> SessionAnalysis:
    """The analysis of the stored session a reference (``12``, ``last``) names."""
    from cymbalism.report.analysis import analyse_stored

    return analyse_stored(store.load(store.resolve(session)))


def _warning_printer(previous: Any) -> Any:
    """``warnings.showwarning`` that prints cymbalism's own warnings (a session left out
    of a listing, chart lines skipped) as one yellow line, and any other warning as
    ``previous`` did."""

    def show(message: Any, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(category, CymbalismWarning):
            err_console.print(Text.assemble(("warning: ", "yellow"), str(message)))
        else:
            previous(message, category, *args, **kw)

    return show


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(warnings.showwarning)
            app(args=args, standalone_mode=False)
    except CymbalismError as exc:
        if debug:
            raise
        err_console.print(Text.assemble(("error: ", "bold red"), str(exc)))
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except Exception as exc:  # usage errors and anything unexpected
        # typer raises click's usage errors (its own copy of click, or click itself)
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            return code
        if debug:
            raise
        err_console.print(
            Text.assemble(
                ("internal error: ", "bold red"),
                f"{type(exc).__name__}: {exc} (run with --debug for details)",
            )
        )
        return 70
    return 0


def _advance(progress: Any, task: Any, done: int, total: int) -> None:
    progress.update(task, completed=done, total=total)


def scan_with_progress(
    folders: list[Path], *, cache: bool = True, workers: int | None = None
) -> tuple[list[SongRecord], ScanStats]:
    """Scan song libraries (:func:`cymbalism.io.library.scan_library`), with a progress
    bar on stderr while song folders are read (those in the cache are not).

    Returns
    -------
    records : list of SongRecord
        Every folder's, library after library.
    stats : ScanStats
        Summed over the libraries.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from cymbalism.io.library import ScanStats, scan_library

    total = ScanStats()
    records: list[SongRecord] = []
    with Progress(
        TextColumn("[bold]reading song folders"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        for folder in folders:
            task = progress.add_task("folders", total=None)
            stats = ScanStats()
            records += scan_library(
                folder,
                cache=cache,
                workers=workers,
                stats=stats,
                on_progress=partial(_advance, progress, task),
            )
            total.folders += stats.folders
            total.read += stats.read
            total.errors += stats.errors
            total.seconds += stats.seconds
    return records, total


def say_music(performances: Sequence[object], *, quiet: bool) -> dict[str, object]:
    """Say (on stderr) in which recordings the song's recording was heard and taken out;
    return the same for JSON, by recording."""
    said: dict[str, object] = {}
    for perf in performances:
        found = getattr(perf, "music", None)
        if found is None:
            continue
        name = perf.name  # type: ignore[attr-defined]
        said[name] = found.to_dict()
        if not quiet:
            err_console.print(f"{name}: {found.describe()}", highlight=False, soft_wrap=False)
    return said


def music_placed(name: str, start_sec: float) -> dict[str, object]:
    """Where the song starts, as the song's recording heard in ``name`` places it (what
    ``analyze`` says and ``--json`` gives as ``placed``)."""
    return {
        "offset_sec": round(start_sec, 6),
        "found": True,
        "from": "music",
        "said": (
            f"the song starts {start_sec:.3f} s into the recordings (where its recording "
            f"sounds in {name}). Each player's mean timing is measured against the music."
        ),
    }


def say_alignment(
    performances: list, moved: list, left_out: dict[str, int], *, quiet: bool
) -> dict[str, object]:
    """Say how each recording was put on the first one's clock, and how many of each
    recording's hits were the other kit heard from across the room (left out)."""
    said: dict[str, object] = {}
    for perf, fit in zip(performances, moved, strict=True):
        if fit is None:
            continue
        gone = {p.name: left_out.get(p.name, 0) for p in (performances[0], perf)}
        said[perf.name] = {**fit.to_dict(), "left_out_other_kit": gone}
        if quiet:
            continue
        err_console.print(f"{perf.name}: {fit.describe()}", highlight=False, soft_wrap=False)
        for name, n in gone.items():
            if n:
                err_console.print(
                    f"  {n} of {name}'s hits were the other kit, heard from across the room "
                    f"({fit.room_delay_sec * 1000:.1f} ms after the other player's, and "
                    "quieter): left out",
                    highlight=False,
                    soft_wrap=False,
                )
    return said
