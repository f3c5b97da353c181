"""Research commands: ``sync``, ``coupling`` and ``corpus`` (analyze), after onsetsync and
bGLS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer

from cymbalism.analysis.coupling import PAIR_WINDOW_SEC
from cymbalism.cli.common import (
    ALIGN_HELP,
    DB_HELP,
    JSON_HELP,
    KIT_HELP,
    app,
    console,
    err_console,
    say_alignment,
    split_names,
)
from cymbalism.cli.format import counted, finite, no_match_hint, number
from cymbalism.errors import InputError

if TYPE_CHECKING:
    from cymbalism.corpus.figures import LoadedOnsets
    from cymbalism.model.onsets import OnsetTable


@app.command("sync")
def _sync(
    inputs: list[Path] = typer.Argument(
        ...,
        help="An onset table (onsetsync's wide CSV or a long CSV), or one performance per "
        "player on one timeline: MIDI files, a MIDI file's kits (duet.mid:1 duet.mid:2, or "
        "duet.mid alone), recordings or their channels (take.wav:L take.wav:R).",
    ),
    players: str | None = typer.Option(
        None,
        "--players",
        "-p",
        help="Players to compare, as A,B: a table's columns (default: those that hold onset "
        "times) or the performances' names (default: a MIDI kit's track name, else the "
        "file's name).",
    ),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    align: bool = typer.Option(False, "--align", help=ALIGN_HELP),
    coupling: bool = typer.Option(True, help="Also fit phase correction (bGLS) per pair."),
    window_ms: float = typer.Option(
        PAIR_WINDOW_SEC * 1000,
        "--window-ms",
        help="Pairing window for a long table without events.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Pairwise asynchrony (onsetsync: N, mean, SD, mean absolute) and coupling."""
    import json

    from cymbalism.corpus.figures import all_pairs, load_onsets, pair_figures
    from cymbalism.report.format import narrow_table

    names = split_names(players)
    loaded = load_onsets(inputs, players=names, window_sec=window_ms / 1e3, kit=kit, align=align)
    where: dict[str, object] = (
        {"files": list(loaded.sources)} if loaded.sources else {"table": str(inputs[0])}
    )
    where.update(_say_players(loaded, inputs, quiet=as_json))
    beats = loaded.coupling_table() if coupling else None
    figures = [
        pair_figures(loaded.table, a, b, coupling=coupling, coupling_table=beats)
        for a, b in all_pairs(loaded.table, names)
    ]
    if beats is not None:
        where.update(_say_beat_events(loaded.table, beats, quiet=as_json))
    apart = [f"{f['a']} and {f['b']}" for f in figures if not f["n"]]
    hint = no_match_hint([], apart, window_ms / 1e3) if apart else None
    columns = _columns(loaded)
    if as_json:
        console.print_json(json.dumps({**where, **columns, "pairs": figures}))
        if hint is not None:
            err_console.print(hint, highlight=False)
        return
    _say_columns(loaded)
    shown = ["N", "mean", "SD", "mean abs"]
    if coupling:
        shown += ["A->B gain", "B->A gain", "leads"]
    headers = {"A": "key", "B": "key", **dict.fromkeys(shown, "figure")}
    if coupling:
        headers["leads"] = "key"  # a player's name
    rows = []
    for f in figures:
        cells = [f["a"], f["b"], str(f["n"])]
        cells += [number(f[k]) for k in ("mean_ms", "sd_ms", "mean_abs_ms")]
        if coupling:
            cells += [number(f["alpha_ab"], ".2f"), number(f["alpha_ba"], ".2f")]
            cells.append(f["bgls_leader"] or ("?" if f["bgls_problems"] else "-"))
        rows.append(cells)
    out = narrow_table(
        headers,
        rows,
        width=console.width,
        title=f"Pairwise asynchrony A - B in ms ({', '.join(_titles(loaded, inputs))})",
    )
    console.print(out)
    if coupling:
        console.print(
            "gain = phase correction by bGLS (A->B: how much A adjusts toward B); the one "
            "who adapts less leads."
            + (" ? = the gains cannot be read:" if any(f["bgls_problems"] for f in figures) else "")
        )
        for f in figures:
            for problem in f["bgls_problems"]:
                console.print(f"  {f['a']}-{f['b']}: {problem}", highlight=False)
    if hint is not None:
        err_console.print(hint, highlight=False)


def _titles(loaded: LoadedOnsets, inputs: list[Path]) -> list[str]:
    """What was read, by name: each performance (``duet.mid:2``), else the table."""
    return [p.name for p in loaded.performances] or [p.name for p in inputs]


def _say_players(loaded: LoadedOnsets, inputs: list[Path], *, quiet: bool) -> dict[str, object]:
    """Say (on stderr) how one MIDI file was read as its kits, and how recordings were put
    on one clock; return the same for JSON (``clocks``)."""
    if len(inputs) == 1 and len(loaded.sources) > 1 and not quiet:
        players = ", ".join(
            f"{name} ({source})"
            for name, source in zip(loaded.table.names, loaded.sources, strict=False)
        )
        err_console.print(
            f"{inputs[0].name} holds {len(loaded.sources)} kits, read as a player each: {players}",
            highlight=False,
        )
    if loaded.clocks is None:
        return {}
    moved, left_out = loaded.clocks
    return {"clocks": say_alignment(list(loaded.performances), moved, left_out, quiet=quiet)}


def _say_beat_events(paired: OnsetTable, beats: OnsetTable, *, quiet: bool) -> dict[str, object]:
    """Say (on stderr) that the coupling is read on the strokes on the beat, when the
    paired strokes were thinned to them; return the same for JSON (``coupling_events``)."""
    if beats is paired:
        return {}
    if not quiet:
        err_console.print(
            f"phase correction and lead/lag are read on the {beats.n_events} strokes on the "
            f"beat, of {paired.n_events} paired (a groove's 8ths and 16ths are not one "
            "interval)",
            highlight=False,
        )
    return {"coupling_events": {"on_the_beat": beats.n_events, "paired": paired.n_events}}


def _columns(loaded: LoadedOnsets) -> dict[str, object]:
    """For JSON: the columns of a wide table taken as players, and why the others were not."""
    if loaded.columns is None:
        return {}
    return {"columns": {"taken": list(loaded.columns.taken), "not_taken": loaded.columns.skipped}}


def _say_columns(loaded: LoadedOnsets) -> None:
    """Say which columns of a wide table were taken as players (on stderr)."""
    if loaded.columns is not None:
        err_console.print(loaded.columns.describe(), highlight=False, markup=False, soft_wrap=False)


@app.command("coupling")
def _coupling(
    inputs: list[Path] = typer.Argument(
        ...,
        help="A stored session (its number or 'last'), an onset table, or one performance "
        "per player on one timeline: MIDI files, a MIDI file's kits (duet.mid:1 duet.mid:2, "
        "or duet.mid alone), recordings or their channels (take.wav:L take.wav:R).",
    ),
    names: str | None = typer.Option(
        None,
        "--names",
        "--players",
        help="Player names (performances) or columns (table), as A,B.",
    ),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    align: bool = typer.Option(False, "--align", help=ALIGN_HELP),
    window: int | None = typer.Option(
        None, "--window", help="Also fit every BARS bars (cycles of an onsetsync table)."
    ),
    window_ms: float = typer.Option(
        PAIR_WINDOW_SEC * 1000, "--window-ms", help="Pairing window for hits."
    ),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    plot: Path | None = typer.Option(
        None, "--plot", help="With --window: draw the gains per window to this PNG/SVG/PDF."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Who adapts to whom: phase-correction gains (bGLS), noise, lead/lag, per window."""
    import json

    from rich.table import Table

    from cymbalism.analysis.coupling import fit_phase_correction, lead_lag
    from cymbalism.corpus.figures import (
        bar_edges_sec,
        cycle_edges_sec,
        load_onsets,
        load_session_onsets,
        plot_windowed,
        windowed_figures,
    )
    from cymbalism.store.refs import is_session_ref

    token = str(inputs[0])
    session = len(inputs) == 1 and not inputs[0].exists() and is_session_ref(token)
    if session:
        loaded = load_session_onsets(token, db=db)
        tab = loaded.table.with_reference_as("click")  # the players heard the click
    else:
        loaded = load_onsets(
            inputs,
            players=split_names(names),
            window_sec=window_ms / 1e3,
            kit=kit,
            align=align,
        )
        tab = loaded.coupling_table()
        said = _say_players(loaded, inputs, quiet=as_json)
        said.update(_say_beat_events(loaded.table, tab, quiet=as_json))
        if not as_json:
            _say_columns(loaded)
    if len([n for n in tab.names if n != "click"]) < 2:
        raise InputError("coupling needs at least two players")
    shared = np.isfinite(tab.column(tab.names[0])) & np.isfinite(tab.column(tab.names[1]))
    if not session and not shared.any():
        hint = no_match_hint([], [f"{tab.names[0]} and {tab.names[1]}"], window_ms / 1e3)
        err_console.print(hint, highlight=False)
    fit = fit_phase_correction(tab)
    result: dict[str, object] = {"players": list(tab.names), "fit": fit.to_dict()}
    if not session:
        result.update(_columns(loaded))
        result.update(said)
    a, b = tab.names[0], tab.names[1]
    problems = fit.problems(a, b)
    result["bgls_leader"] = None if problems else fit.leader(a, b)
    result["bgls_problems"] = problems
    ll = lead_lag(tab, a, b).to_dict()
    result["lead_lag"] = ll
    if window is not None:
        bars = loaded.bars_tempo_map()
        if bars is None and loaded.performances:
            raise InputError("--window counts bars, and these hits are too few to show a beat")
        if bars is None:
            edges = cycle_edges_sec(tab, cycles=window)  # an onsetsync table: its cycles
        else:
            end = float(tab.onset_sec[tab.onset_sec == tab.onset_sec].max())
            edges = bar_edges_sec(bars, bars=window, end_sec=end)
        result["windows"] = windowed_figures(tab, a, b, edges_sec=edges)
        if plot is not None:
            result["plot"] = str(plot_windowed(result["windows"], a, b, plot))  # type: ignore[arg-type]
    elif plot is not None:
        raise InputError("--plot draws the gains per window: give --window BARS too")
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
            "" if s == p else number(finite(fit.alpha[i, j]), ".2f")
            for j, s in enumerate(fit.sources)
        ]
        out.add_row(
            p,
            *gains,
            number(finite(fit.sigma_t_sec[i] * 1e3)),
            number(finite(fit.sigma_m_sec[i] * 1e3)),
            str(int(fit.n_events[i])),
        )
    console.print(out)
    problems = fit.problems(a, b)
    leads = fit.leader(a, b)
    if problems:
        console.print(f"who leads cannot be told: {'; '.join(problems)}", highlight=False)
    elif leads is not None:
        console.print(f"{leads} leads (adapts less to the other)", highlight=False)
    else:
        console.print(
            f"neither clearly leads: the gains of {a} and {b} toward each other are too "
            "close to tell apart",
            highlight=False,
        )
    readable = [ll["xcorr"]["1"], ll["xcorr"]["-1"], ll["granger_a_to_b_p"]]
    n_ll = int(ll["n"])
    if all(x is None for x in readable):
        console.print(
            "lead/lag of intervals cannot be read: it compares the intervals between "
            f"consecutive notes that both {a} and {b} played, and "
            + (f"there are {n_ll} (it needs at least 3)" if n_ll < 3 else "they do not vary"),
            highlight=False,
        )
    else:
        console.print(
            f"lead/lag of intervals: r(+1) = {number(ll['xcorr']['1'], '.2f')}, "
            f"r(-1) = {number(ll['xcorr']['-1'], '.2f')}; Granger p {a}->{b} = "
            f"{number(ll['granger_a_to_b_p'], '.3g')}, {b}->{a} = "
            f"{number(ll['granger_b_to_a_p'], '.3g')}; the other copies the intervals of: "
            f"{ll['xcorr_leader'] or '-'}",
            highlight=False,
        )
    if window is not None:
        wt = Table(title=f"Every {window} bars: who led")
        for col in ("from s", "to s", f"{a}->{b}", f"{b}->{a}", "n", "leads"):
            wt.add_column(col, justify="right")
        for w in result["windows"]:  # type: ignore[attr-defined]
            wt.add_row(
                f"{w['start_sec']:.1f}",
                f"{w['end_sec']:.1f}",
                number(w["alpha_ab"], ".2f"),
                number(w["alpha_ba"], ".2f"),
                str(w["n"]),
                w["bgls_leader"] or ("?" if w["bgls_problems"] else "-"),
            )
        console.print(wt)


corpus_app = typer.Typer(help="Analyse many files or sessions at once, in parallel (Dask).")
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("analyze")
def _corpus_analyze(
    paths: list[Path] = typer.Argument(
        ...,
        help="Folders of MIDI/audio files, info.csv files, or the stored sessions ('store'); "
        "one that cannot be read becomes an error row and the run goes on.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Results file (.parquet or .csv)."),
    scheduler: str | None = typer.Option(
        None, help="A Dask scheduler address, or 'local' to start a local Dask cluster."
    ),
    workers: int | None = typer.Option(None, help="Worker processes (default: every CPU)."),
) -> None:
    """One row per file and player: timing, tempo, click coupling and sync figures."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from cymbalism.corpus.analyze import (
        check_output,
        discover_all,
        run_corpus,
        summarize,
        write_results,
    )

    check_output(out)
    jobs = discover_all(paths)
    with Progress(
        TextColumn("[bold]analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task("files", total=len(jobs))
        rows = run_corpus(
            jobs,
            workers=workers,
            scheduler=scheduler,
            on_progress=lambda done, total: progress.update(task, completed=done),
        )
    frame = write_results(rows, out)
    n_err = int(frame["error"].notna().sum())
    if n_err < len(frame):
        from rich.table import Table

        summary = summarize(frame)
        view = Table(title="Per player (medians over their files)")
        for col in ("player", "files", "hits", "hit rate", "mean error ms", "SD ms", "BPM"):
            view.add_column(col, justify="left" if col == "player" else "right")
        view.add_column("gain to click", justify="right")
        for r in summary.head(40).itertuples(index=False):
            view.add_row(
                str(r.player),
                str(r.files),
                str(r.hits),
                f"{r.hit_rate:.3f}",
                f"{r.mean_error_ms:+.1f}",
                f"{r.sd_error_ms:.1f}",
                f"{r.tempo_bpm:.1f}",
                f"{r.alpha_click:.2f}",
            )
        console.print(view)
    console.print(
        f"{counted(len(jobs), 'file')}, {counted(len(frame), 'row')}, "
        f"{counted(n_err, 'error')} -> {out}" + (" (see the error column)" if n_err else "")
    )
