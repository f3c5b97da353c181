"""The ``cymbalism`` command: a thin front end that parses, calls the core and formats.

Every :class:`~cymbalism.errors.CymbalismError` becomes one line on stderr and its
exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

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
kit_app = typer.Typer(
    help="Acoustic kits: teach cymbalism how your drums sound (for recordings and microphones).",
    no_args_is_help=True,
)
app.add_typer(kit_app, name="kit")


def _show_audio_warnings(caught: list) -> None:
    from cymbalism.io.audio import AudioWarning

    for w in caught:
        if issubclass(w.category, AudioWarning):
            err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False)


@app.command("transcribe")
def _transcribe(
    audio: str = typer.Argument(
        ..., help="A recording (WAV, FLAC, OGG, MP3); FILE:L or FILE:R for one channel."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The MIDI file to write (General MIDI)."),
    kit: str | None = typer.Option(
        None, "--kit", "-k", help="A kit from `cymbalism kit calibrate`."
    ),
    bpm: float = typer.Option(120.0, "--bpm", help="Tempo written to the MIDI file (its grid)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Find every hit in a recording of an acoustic kit and write it as a MIDI file."""
    import json
    import warnings

    from cymbalism.errors import InputError
    from cymbalism.io.audio import AudioPerformance, hit_summary
    from cymbalism.io.midi import write_hits
    from cymbalism.io.performance import load_performance
    from cymbalism.model.tempo import TempoMap

    if not str(out).lower().endswith((".mid", ".midi")):
        raise InputError(f"--out {out}: write to a .mid file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        perf = load_performance(audio, kit=kit, progress=not as_json)
    _show_audio_warnings(caught)
    if not isinstance(perf, AudioPerformance):
        raise InputError(f"{audio} is not a recording; `transcribe` reads audio files")
    write_hits(out, perf.hits, TempoMap.constant(bpm))
    summary = hit_summary(perf)
    summary["out"] = str(out)
    if as_json:
        console.print_json(json.dumps(summary))
        return
    from rich.table import Table

    table = Table(title=f"{perf.path.name}: {summary['hits']} hits in {perf.duration_sec:.1f} s")
    for column in ("lane", "hits", "mean velocity"):
        table.add_column(column, justify="left" if column == "lane" else "right")
    for row in summary["lanes"]:
        table.add_row(row["lane"], str(row["hits"]), f"{row['mean_velocity']:.0f}")
    console.print(table)
    console.print(f"kit: {perf.kit}; wrote {out}", highlight=False)


@kit_app.command("calibrate")
def _kit_calibrate(
    audio: str = typer.Argument(
        ..., help="A recording of each drum struck a few times, drum after drum."
    ),
    name: str = typer.Option(..., "--name", "-n", help="The kit's name, used with --kit."),
    order: str = typer.Option(
        "kick,snare,hi-hat,high tom,floor tom,crash",
        "--order",
        help="The drums in the order they were played, comma-separated.",
    ),
) -> None:
    """Learn how a kit sounds: hit each drum ~4 times, pausing 1 s or more between drums."""
    import warnings

    from cymbalism.errors import InputError
    from cymbalism.io.audio import calibrate_kit, save_kit_templates
    from cymbalism.io.performance import split_channel
    from cymbalism.model.lanes import Lane

    try:
        lanes = [Lane.parse(x) for x in order.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(f"--order: {exc}") from None
    path, channel = split_channel(audio)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kit = calibrate_kit(path, name=name, order=lanes, channel=channel)
    _show_audio_warnings(caught)
    saved = save_kit_templates(kit)
    console.print(
        f"learned kit [bold]{name}[/] ({', '.join(x.label for x in kit.lanes)}); saved to {saved}",
        highlight=False,
    )
    console.print(f"use it with: cymbalism transcribe AUDIO --kit {name!r} --out hits.mid")


@kit_app.command("list")
def _kit_list() -> None:
    """List the calibrated acoustic kits."""
    from cymbalism.io.audio import kit_templates_dir, list_kit_templates

    names = list_kit_templates()
    if not names:
        console.print(f"no calibrated kits yet (they are kept in {kit_templates_dir()})")
    for n in names:
        console.print(n, highlight=False)



# --- research: sync, coupling, corpus


def _split_names(text: str | None) -> list[str] | None:
    from cymbalism.errors import InputError

    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError(f"no names in {text!r}; give them as A,B")
    return names


def _fmt_num(value: object, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


@app.command("sync")
def _sync(
    table: Path = typer.Argument(..., help="An onset table: onsetsync's wide CSV or a long CSV."),
    players: str | None = typer.Option(
        None, "--players", "-p", help="Players to compare, as A,B (default: every column)."
    ),
    coupling: bool = typer.Option(True, help="Also fit phase correction (bGLS) per pair."),
    window_ms: float = typer.Option(
        100.0, "--window-ms", help="Pairing window for a long table without events."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Pairwise asynchrony (onsetsync: N, mean, SD, mean absolute) and coupling."""
    import json

    from rich.table import Table

    from cymbalism.corpus.figures import all_pairs, load_onsets, pair_figures

    names = _split_names(players)
    loaded = load_onsets([table], players=names, window_sec=window_ms / 1e3)
    figures = [
        pair_figures(loaded.table, a, b, coupling=coupling)
        for a, b in all_pairs(loaded.table, names)
    ]
    if as_json:
        console.print_json(json.dumps({"table": str(table), "pairs": figures}))
        return
    out = Table(title=f"Pairwise asynchrony A - B in ms ({table.name})")
    for col in ("A", "B", "N", "mean", "SD", "mean abs"):
        out.add_column(col, justify="left" if col in "AB" else "right")
    if coupling:
        for col in ("A->B gain", "B->A gain", "leader"):
            out.add_column(col, justify="right")
    for f in figures:
        cells = [f["a"], f["b"], str(f["n"])]
        cells += [_fmt_num(f[k]) for k in ("mean_ms", "sd_ms", "mean_abs_ms")]
        if coupling:
            cells += [_fmt_num(f["alpha_ab"], ".2f"), _fmt_num(f["alpha_ba"], ".2f")]
            cells.append(f["leader"] or "-")
        out.add_row(*cells)
    console.print(out)
    if coupling:
        console.print(
            "gain = phase correction by bGLS (A->B: how much A adjusts toward B); "
            "the leader adapts less."
        )


@app.command("coupling")
def _coupling(
    inputs: list[Path] = typer.Argument(
        ..., help="An onset table, or one MIDI file per player on one timeline."
    ),
    names: str | None = typer.Option(
        None, "--names", "--players", help="Player names (MIDI) or columns (table), as A,B."
    ),
    window: int | None = typer.Option(
        None, "--window", help="Also fit every BARS bars (needs MIDI files with a tempo map)."
    ),
    window_ms: float = typer.Option(100.0, "--window-ms", help="Pairing window for hits."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Who adapts to whom: phase-correction gains (bGLS), noise, lead/lag, per window."""
    import json

    from rich.table import Table

    from cymbalism.analysis.coupling import fit_phase_correction, lead_lag
    from cymbalism.corpus.figures import bar_edges_sec, load_onsets, windowed_figures
    from cymbalism.errors import InputError

    loaded = load_onsets(inputs, players=_split_names(names), window_sec=window_ms / 1e3)
    tab = loaded.table
    if tab.n_players < 2:
        raise InputError("coupling needs at least two players")
    fit = fit_phase_correction(tab)
    result: dict[str, object] = {"players": list(tab.names), "fit": fit.to_dict()}
    a, b = tab.names[0], tab.names[1]
    result["lead_lag"] = lead_lag(tab, a, b).to_dict()
    if window is not None:
        if loaded.tempo_map is None:
            raise InputError("--window counts bars, which needs MIDI files with a tempo map")
        end = float(tab.onset_sec[tab.onset_sec == tab.onset_sec].max())
        edges = bar_edges_sec(loaded.tempo_map, bars=window, end_sec=end)
        result["windows"] = windowed_figures(tab, a, b, edges_sec=edges)
    if as_json:
        console.print_json(json.dumps(result))
        return
    out = Table(title="Phase correction (bGLS): gain of each player (row) toward each source")
    out.add_column("player")
    for s in fit.sources:
        out.add_column(s, justify="right")
    out.add_column("timekeeper ms", justify="right")
    out.add_column("motor ms", justify="right")
    out.add_column("n", justify="right")
    for i, p in enumerate(fit.players):
        gains = [
            "" if s == p else _fmt_num(_finite(fit.alpha[i, j]), ".2f")
            for j, s in enumerate(fit.sources)
        ]
        out.add_row(
            p,
            *gains,
            _fmt_num(_finite(fit.sigma_t_sec[i] * 1e3)),
            _fmt_num(_finite(fit.sigma_m_sec[i] * 1e3)),
            str(int(fit.n_events[i])),
        )
    console.print(out)
    ll = result["lead_lag"]
    assert isinstance(ll, dict)
    console.print(
        f"lead/lag of intervals: r(+1) = {_fmt_num(ll['xcorr']['1'], '.2f')}, "
        f"r(-1) = {_fmt_num(ll['xcorr']['-1'], '.2f')}; Granger p {a}->{b} = "
        f"{_fmt_num(ll['granger_a_to_b_p'], '.3g')}, {b}->{a} = "
        f"{_fmt_num(ll['granger_b_to_a_p'], '.3g')}; leader: {ll['leader'] or '-'}"
    )
    if window is not None:
        wt = Table(title=f"Every {window} bars: who led")
        for col in ("from s", "to s", f"{a}->{b}", f"{b}->{a}", "n", "leader"):
            wt.add_column(col, justify="right")
        for w in result["windows"]:  # type: ignore[attr-defined]
            wt.add_row(
                f"{w['start_sec']:.1f}",
                f"{w['end_sec']:.1f}",
                _fmt_num(w["alpha_ab"], ".2f"),
                _fmt_num(w["alpha_ba"], ".2f"),
                str(w["n"]),
                w["leader"] or "-",
            )
        console.print(wt)


def _finite(value: float) -> float | None:
    import math

    return float(value) if math.isfinite(value) else None


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
