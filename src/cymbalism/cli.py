"""The ``cymbalism`` command: a thin front end that parses, calls the core and formats.

Every :class:`~cymbalism.errors.CymbalismError` becomes one line on stderr and its
exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.text import Text

from cymbalism import __version__
from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.analysis.sync import Asynchrony
from cymbalism.errors import CymbalismError, InputError
from cymbalism.model.chart import Level
from cymbalism.model.lanes import Lane
from cymbalism.simulate import DrummerModel

app = typer.Typer(
    name="cymbalism",
    help="Two drummers, one song: capture, judge and synchronise a duet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

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
def _split(value: str | None, what: str, n: int) -> list[str] | None:
    """A comma-separated option with one entry per player (or one for all)."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")]
    if len(items) == 1 and n > 1 and what == "levels":
        items = items * n
    if len(items) != n or not all(items):
        raise InputError(f"--{what} needs {n} comma-separated value(s), got {value!r}")
    return items


def _signed_ms(value: float | None, unit: str = "") -> str:
    """``4.2 late`` / ``1.0 early`` (ms), as a drummer says it."""
    if value is None:
        return "-"
    if abs(value) < 0.05:
        return "on time"
    return f"{abs(value):.1f}{unit} {'late' if value > 0 else 'early'}"


def _plain_ms(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _print_report(report: AnalysisReport) -> None:
    """The people's view of an analysis: one table per player, then the duet."""
    from rich.table import Table

    data = report.to_dict()
    against = "the chart" if report.judged_against == "chart" else "the click grid"
    title = f"{report.title} " if report.title else ""
    console.print(
        f"[bold]{title}[/]{data['tempo_bpm']:g} BPM, judged against {against} "
        f"(window ±{data['window_ms']:g} ms)",
        highlight=False,
    )
    for player in data["players"]:
        table = Table(
            title=f"{player['name']}: {player['hits']} hits, {_percent(player['hit_rate'])} "
            f"of {player['notes']} notes",
            title_justify="left",
        )
        for col in ("lane", "notes", "hit", "miss", "extra", "mean ms", "SD ms", "|error| ms"):
            table.add_column(col, justify="left" if col == "lane" else "right", no_wrap=True)
        rows = [(Lane[k.upper()].label, v) for k, v in player["lanes"].items()]
        rows.append(("[bold]all[/]", player))
        for label, v in rows:
            table.add_row(
                label,
                str(v["notes"]),
                _percent(v["hit_rate"]),
                str(v["miss"]),
                str(v["extra"]),
                _signed_ms(v["mean_error_ms"]),
                _plain_ms(v["sd_error_ms"]),
                _plain_ms(v["mean_abs_error_ms"]),
            )
        console.print(table)
    for pair in report.pairs:
        s = pair.to_dict()
        if s["n"] == 0:
            console.print(f"[bold]{pair.a} vs {pair.b}[/]: no shared notes to compare")
            continue
        mean = s["mean_ms"] or 0.0
        where = "ahead of" if mean < 0 else "behind"
        console.print(
            f"[bold]{pair.a} - {pair.b}[/] at {s['n']} shared notes: {pair.a} plays "
            f"{abs(mean):.1f} ms {where} {pair.b} on average; spread (SD) "
            f"{_plain_ms(s['sd_ms'], ' ms')}, typical gap {_plain_ms(s['mean_abs_ms'], ' ms')}",
            highlight=False,
        )
        when = s["came_together_sec"]
        if when is None:
            console.print("  they did not settle together (spread stayed above 30 ms)")
        else:
            m, sec = divmod(when, 60)
            console.print(
                f"  [green]came together at {int(m)}:{sec:04.1f}[/] and stayed within "
                "30 ms (SD) to the end",
                highlight=False,
            )
        _print_spread_over_time(pair.asynchrony, when)


def _print_spread_over_time(asy: Asynchrony, came_sec: float | None) -> None:
    """A one-line chart of the spread of the asynchrony, every 10 s."""
    from cymbalism.analysis.sync import windowed_sync

    if len(asy) < 8:
        return
    w = windowed_sync(asy, window_sec=10.0, hop_sec=10.0)
    blocks = " ▁▂▃▄▅▆▇█"
    cells = []
    for t, sd in zip(w.time_sec, w.sd_sec, strict=True):
        if not np.isfinite(sd):
            cells.append(" ")
            continue
        level = min(int(sd * 1000 / 60 * (len(blocks) - 1)), len(blocks) - 1)
        colour = "green" if sd < 0.030 else "red"
        if came_sec is not None and t >= came_sec - 5:
            colour = "green"
        cells.append(f"[{colour}]{blocks[max(level, 1)]}[/]")
    console.print(f"  spread every 10 s (0-60 ms): {''.join(cells)}")


@app.command("analyze")
def _analyze(
    files: list[Path] = typer.Argument(
        ...,
        help="MIDI files or recordings (WAV, FLAC, OGG, MP3), one per player, on one clock; "
        "FILE:L and FILE:R are the two channels of a stereo recording.",
    ),
    chart: str | None = typer.Option(
        None, "--chart", "-c", help="A built-in song or chart file (default: the click grid)."
    ),
    names: str | None = typer.Option(None, "--names", help="Player names: A,B."),
    levels: str | None = typer.Option(
        None, "--levels", help="The part each player played: expert,beginner."
    ),
    kit: str | None = typer.Option(None, "--kit", help="The e-kit's note map (td17, ...)."),
    window_ms: float = typer.Option(75.0, "--window-ms", help="Matching window, ms."),
    lane_blind: bool = typer.Option(False, "--lane-blind", help="Any drum counts for a note."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Judge each player's timing and the gap between them (two files are a duet)."""
    from cymbalism.io.charts import load_chart
    from cymbalism.io.performance import load_performance

    performances = [load_performance(f, kit=kit) for f in files]
    n = len(performances)
    player_names = _split(names, "names", n)
    if player_names is None:
        stems = [f.stem for f in files]
        player_names = stems if len(set(stems)) == n else [chr(65 + i) for i in range(n)]
    hits = [p.hits for p in performances]
    if chart is None:
        if levels is not None:
            raise InputError("--levels needs a --chart to pick the parts from")
        report = analyze_players(
            hits,
            tempo_map=_tempo_maps(performances),
            names=player_names,
            window_sec=window_ms / 1000,
            lane_blind=lane_blind,
            title=performances[0].name if n == 1 else "",
        )
    else:
        song = load_chart(chart)
        parts = [Level.parse(lv) for lv in _split(levels, "levels", n) or ["expert"] * n]
        report = analyze_players(
            hits,
            tempo_map=song.tempo_map,
            targets=[song.targets(lv) for lv in parts],
            names=player_names,
            window_sec=window_ms / 1000,
            lane_blind=lane_blind,
            title=song.title,
        )
    if as_json:
        console.print_json(data=report.to_dict())
    else:
        _print_report(report)


def _tempo_maps(performances: list) -> list:
    """Each player's click: a MIDI file's own tempo map; for a recording (which has
    none) the first MIDI player's, or else the click all the recordings' hits follow."""
    from cymbalism.analysis.tempo import click_grid
    from cymbalism.model.hits import Hits

    known = [p.tempo_map for p in performances if p.tempo_map is not None]
    if len(known) < len(performances) and not known:
        heard = Hits.concat(p.hits for p in performances)
        known = [click_grid(heard.onset_sec, weight=heard.velocity.astype(float))]
    return [p.tempo_map if p.tempo_map is not None else known[0] for p in performances]


_PRESETS = {"expert": "EXPERT", "beginner": "BEGINNER"}


def _preset(name: str) -> DrummerModel:
    import cymbalism.simulate as sim

    key = name.strip().lower()
    if key not in _PRESETS:
        raise InputError(f"unknown drummer {name!r}; choose one of {', '.join(_PRESETS)}")
    model: DrummerModel = getattr(sim, _PRESETS[key])
    return model


@app.command("simulate")
def _simulate(
    out: Path = typer.Option(Path("."), "--out", "-o", help="Folder for the MIDI files."),
    chart: str | None = typer.Option(
        None, "--chart", "-c", help="A built-in song or chart file (default: the demo groove)."
    ),
    players: str = typer.Option("expert,beginner", "--players", help="Two presets: A,B."),
    levels: str | None = typer.Option(
        None,
        "--levels",
        help="Parts to play (default: the full part, and the easiest for a beginner).",
    ),
    names: str | None = typer.Option(None, "--names", help="File names: A,B."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same duet."),
) -> None:
    """Simulate two drummers playing a song together and write each to a MIDI file."""
    from cymbalism.io.charts import load_chart
    from cymbalism.io.midi import write_hits
    from cymbalism.simulate import simulate_duet
    from cymbalism.simulate.demo import demo_chart

    kinds = _split(players, "players", 2) or []
    models = [_preset(k) for k in kinds]
    song = demo_chart() if chart is None else load_chart(chart)
    if levels is None:
        easiest = min(song.levels)
        parts = [easiest if k == "beginner" else song.top_level for k in kinds]
    else:
        parts = [Level.parse(lv) for lv in _split(levels, "levels", 2) or []]
    file_names = _split(names, "names", 2) or (
        kinds if kinds[0] != kinds[1] else [f"{k}-{i + 1}" for i, k in enumerate(kinds)]
    )
    hits_a, hits_b = simulate_duet(
        song, models[0], models[1], level_a=parts[0], level_b=parts[1], seed=seed
    )
    out.mkdir(parents=True, exist_ok=True)
    for name, hits, level in zip(file_names, (hits_a, hits_b), parts, strict=True):
        early = int(np.count_nonzero(hits.onset_sec < 0))
        path = write_hits(out / f"{name}.mid", hits.between(0.0, np.inf), song.tempo_map)
        note = f" ({early} hit(s) before the song's start left out)" if early else ""
        console.print(
            f"wrote {path}: {len(hits) - early} hits, {song.title} ({level.label}){note}",
            highlight=False,
        )


@app.command("demo")
def _demo(
    seed: int = typer.Option(2026, "--seed", help="The same seed gives the same duet."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    live: bool = typer.Option(
        False, "--live", help="Play it through the live engine in real time, with the view."
    ),
    seconds: float = typer.Option(30.0, "--seconds", help="With --live: how long to play."),
) -> None:
    """A simulated expert and beginner play a groove at 114 BPM for three minutes."""
    if live:
        _demo_live(seconds, seed)
        return
    from cymbalism.simulate.demo import run_demo

    result = run_demo(seed=seed)
    if as_json:
        console.print_json(data=result.report.to_dict())
        return
    chart = result.chart
    minutes, sec = divmod(round(chart.end_sec), 60)
    console.print(
        f"[bold]cymbalism demo[/]: a simulated expert (full part) and beginner (kick, snare "
        f"and hi-hat on the beats) play {chart.title!r} together, {minutes}:{sec:02d} at "
        f"{chart.tempo_map.bpm[0]:g} BPM. The beginner starts late and loose, and learns.\n",
        highlight=False,
    )
    _print_report(result.report)
    from cymbalism.analysis.timing import timing_stats

    beginner = result.report.players[1]
    first = timing_stats(beginner.alignment, end_sec=60.0)
    last = timing_stats(beginner.alignment, start_sec=chart.end_sec - 60.0)
    console.print(
        f"  the beginner learned: first minute {100 * first.hit_rate:.0f}% hit, spread "
        f"{1000 * first.sd_error_sec:.0f} ms; last minute {100 * last.hit_rate:.0f}% hit, "
        f"spread {1000 * last.sd_error_sec:.0f} ms",
        highlight=False,
    )


# core: tempo


@app.command()
def tempo(
    file: str = typer.Argument(
        ..., help="A MIDI file or a recording (WAV, FLAC, OGG, MP3) of a drum performance."
    ),
    kit: str | None = typer.Option(
        None, "--kit", help="The e-kit note map (td11, td17, nitro, dtx, gm or a .toml file)."
    ),
    curve: bool = typer.Option(
        False, "--curve", help="Also show the local tempo over time (in 12 s windows)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Estimate the tempo of a performance from its hits alone (tempo events are ignored)."""
    import json

    from cymbalism.analysis.tempo import estimate_tempo, tempo_curve
    from cymbalism.io.performance import load_performance

    perf = load_performance(file, kit=kit)
    onset, weight = perf.hits.onset_sec, perf.hits.velocity.astype(float)
    bpm = estimate_tempo(onset, weight=weight)
    # at most about 60 windows, so the curve fits on one line
    hop_sec = max(2.0, float(np.ceil(perf.hits.duration_sec / 60.0)))
    local = tempo_curve(onset, weight=weight, reference_bpm=bpm, hop_sec=hop_sec)
    drift = _tempo_number(local.drift_bpm_per_min, 3)
    if as_json:
        out: dict[str, object] = {"bpm": round(bpm, 2), "drift_bpm_per_min": drift}
        out["hits"] = len(perf)
        if curve:
            out["curve"] = {
                "time_sec": [round(float(t), 3) for t in local.time_sec],
                "bpm": [_tempo_number(b, 2) for b in local.bpm],
            }
        print(json.dumps(out))
        return
    drift_text = "too short to tell" if drift is None else f"{drift:+.2f} BPM per minute"
    console.print(
        f"[bold]{bpm:.1f} BPM[/] from {len(perf)} hits in {perf.name} (drift: {drift_text})",
        highlight=False,
    )
    if curve:
        line = _tempo_sparkline(local.bpm)
        console.print(f"  local tempo every {hop_sec:g} s: {line}", highlight=False, soft_wrap=True)


def _tempo_number(value: float, digits: int) -> float | None:
    return None if not np.isfinite(value) else round(float(value), digits)


def _tempo_sparkline(bpm: np.ndarray) -> str:
    """The local tempo as one line of blocks, lowest to highest, with its range."""
    ok = np.isfinite(bpm)
    if not ok.any():
        return "(too few hits)"
    lo, hi = float(np.min(bpm[ok])), float(np.max(bpm[ok]))
    blocks = "▁▂▃▄▅▆▇█"
    span = max(hi - lo, 1.0)  # a range under 1 BPM is drawn flat, not magnified
    cells = [
        blocks[int((b - lo) / span * (len(blocks) - 1))] if np.isfinite(b) else " " for b in bpm
    ]
    return f"{''.join(cells)} ({lo:.1f}-{hi:.1f} BPM)"


# --- songs, simplify, lesson
songs_app = typer.Typer(
    help="The built-in songs: list them, or show a part as drum tablature.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(songs_app, name="songs")


@songs_app.callback()
def _songs(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the built-in songs (name, title, tempo, time signature, length, levels)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from cymbalism.songs import list_songs

    if as_json:
        rows = [
            {
                "name": s.name,
                "title": s.title,
                "style": s.style,
                "bpm": s.bpm,
                "time_signature": s.time_signature,
                "length_sec": round(s.length_sec, 3),
                "bars": s.n_bars,
                "levels": [lv.name.lower() for lv in s.levels],
                "free_play": s.free_play,
            }
            for s in list_songs()
        ]
        console.print_json(data=rows)
        return

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


@app.command("simplify")
def _simplify(
    chart: str = typer.Argument(
        ..., help="A built-in song or a chart file (.chart, notes.mid, .mid)."
    ),
    level: str = typer.Option("easy", "--level", "-l", help="hard/medium/easy/beginner"),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write here: .chart or notes.mid (every level) or .mid (this level).",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Derive every level again, even those the file has."
    ),
) -> None:
    """Make easier parts from a chart's full part; print the level's tablature or write it."""
    from cymbalism.coaching.simplify import chart_difficulty, simplify_chart
    from cymbalism.io.charts import load_chart, save_chart
    from cymbalism.model.chart import Level
    from cymbalism.songs.tab import format_tab

    source = load_chart(chart, derive_levels=False)
    full = simplify_chart(source, replace=replace)
    lv = Level.parse(level)
    for each, diff in chart_difficulty(full).items():
        mark = "*" if each == lv else " "
        console.print(
            f"{mark} {each.label:<8} {len(full.part(each)):5d} notes  "
            f"{diff.notes_per_sec:5.2f} notes/s  up to {diff.max_limbs} limbs  "
            f"difficulty {diff.score:5.2f}",
            highlight=False,
        )
    if out is None:
        console.print(format_tab(full, full.part(lv)), highlight=False, markup=False)
        return
    written = save_chart(out, full, level=lv)
    console.print(f"wrote {written}", highlight=False)


@app.command("lesson")
def _lesson(
    takes: list[str] = typer.Argument(
        ...,
        help="Stored sessions (a number or 'last') or MIDI files of the beginner's passes, "
        "replayed one after another.",
    ),
    chart: str | None = typer.Option(
        None, "--chart", "-c", help="A built-in song or chart file (a session has its own)."
    ),
    player: str | None = typer.Option(
        None, "--player", "-p", help="Whose path, in a session (default: the easiest part)."
    ),
    start: str = typer.Option(
        "beginner",
        "--start",
        help="The level to start at, or 'warm-up' to place by the first bars.",
    ),
    tempo: float | None = typer.Option(
        None, "--tempo", help="The practice tempo at the start (0.7 = 70%; a session's own)."
    ),
    offset_sec: float = typer.Option(
        0.0, "--offset-sec", help="Where the song's first bar starts in each MIDI recording."
    ),
    kit: str | None = typer.Option(None, "--kit", help="The e-kit's note map (td17, nitro, ...)."),
    db: str | None = typer.Option(None, "--db", help="The session store (a URL or SQLite file)."),
) -> None:
    """Replay a beginner's performance through the path: level changes and tips."""
    from cymbalism.coaching.lesson import LessonPath, placement_level, replay_lesson
    from cymbalism.errors import InputError
    from cymbalism.io.charts import load_chart
    from cymbalism.model.hits import Hits

    song = None if chart is None else load_chart(chart)
    passes: list[tuple[str, Hits]] = []
    session_tempo = None
    for take in takes:
        if Path(take).expanduser().is_file():
            from cymbalism.io.midi import read_midi

            passes.append((Path(take).name, read_midi(take, kit=kit).hits.shifted(-offset_sec)))
            continue
        from cymbalism.store import Store

        with Store(db) as store:
            stored = store.load(store.resolve(take))
        seats = stored.session.players
        mine = (
            next((p for p in seats if p.name == player), None)
            if player
            else min(seats, key=lambda p: p.level)
        )
        if mine is None:
            names = ", ".join(p.name for p in seats)
            raise InputError(f"session {stored.id} has no player {player!r} (players: {names})")
        song = song or load_chart(stored.chart)
        session_tempo = session_tempo or stored.session.settings.tempo_scale
        passes.append((f"session {stored.id}, {mine.name}", mine.hits))
    if song is None:
        raise InputError("MIDI files need --chart: the song they were played to")
    if start.strip().lower() in {"warm-up", "warmup"}:
        level = placement_level(song, passes[0][1])
        console.print(f"the warm-up places you at {level.label}", highlight=False)
    else:
        level = Level.parse(start)
    scale = tempo if tempo is not None else (session_tempo or 1.0)
    path = LessonPath(song, start_level=level, tempo_scale=scale)
    console.print(
        f"[bold]{song.title}[/]: starting at {path.level.label}, tempo {path.tempo_scale:.0%}",
        highlight=False,
    )
    for i, (name, hits) in enumerate(passes, start=1):
        before = len(path.changes)
        report = replay_lesson(song, hits, path=path)
        console.print(f"pass {i} ({name}):", highlight=False)
        for change in report.changes[before:]:
            console.print(f"  {change}", highlight=False, soft_wrap=True)
        if len(report.changes) == before:
            console.print(f"  stayed at {path.level.label}", highlight=False)
    console.print(
        f"now at {path.level.label}, tempo {path.tempo_scale:.0%}. Tips:", highlight=False
    )
    for tip in path.tips():
        console.print(f"  - {tip}", highlight=False)


# --- live: ports, calibrate, play
def _tempo_scale(text: str) -> float:
    """``80%``, ``80`` or ``0.8`` -> 0.8."""
    t = text.strip().rstrip("%")
    try:
        value = float(t)
    except ValueError:
        raise InputError(f"--tempo takes a percentage such as 80%, got {text!r}") from None
    return value / 100.0 if text.strip().endswith("%") or value > 2.0 else value


def _loop_bars(text: str | None) -> tuple[int, int] | None:
    """``5-8`` -> (5, 8): bars as people count them, both included."""
    if text is None:
        return None
    a, sep, b = text.partition("-")
    if not sep or not a.strip().isdigit() or not b.strip().isdigit():
        raise InputError(f"--loop takes bars A-B such as 5-8, got {text!r}")
    return int(a), int(b)


def _live_session(chart: object, setup: object, *, keys: bool) -> object:
    """Run a live session under the terminal view; print the summary; return the result."""
    from rich.live import Live

    from cymbalism.live.run import run_live
    from cymbalism.live.view import render

    if keys:
        from cymbalism.live.inputs import DEFAULT_KEYMAPS

        players = [p for p in setup.specs if p.kind == "keys"]  # type: ignore[attr-defined]
        for spec, keymap in zip(players, DEFAULT_KEYMAPS, strict=False):
            pads = "  ".join(f"[bold]{k}[/] {lane.label}" for k, lane in keymap.items())
            console.print(f"{spec.name}'s pads: {pads}", highlight=False)
    import signal

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill` ends the song like Ctrl-C: everything is kept

    previous = signal.signal(signal.SIGTERM, _term)
    try:
        with Live(console=console, refresh_per_second=20, transient=False) as live:
            result, session_id = run_live(
                chart, setup, on_frame=lambda snap: live.update(render(snap), refresh=True)
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    console.print()
    _print_report(result.report)
    for name, levels in result.levels.items():
        if len(levels) > 1:
            path = " -> ".join(f"{lv.label} ({t:.0f} s)" for t, lv in levels)
            console.print(f"{name}'s path: {path}", highlight=False)
    if session_id is not None:
        console.print(f"saved as session {session_id}", highlight=False)
    return result


@app.command("ports")
def _ports(
    api: str | None = typer.Option(None, "--api", help="The MIDI system: LINUX_ALSA or UNIX_JACK."),
) -> None:
    """List the MIDI inputs and outputs (use a part of the name with --player)."""
    from rich.table import Table

    from cymbalism.live.inputs import MidoBackend

    backend = MidoBackend(api)
    ins, outs = backend.input_names(), backend.output_names()
    table = Table(title="MIDI ports")
    table.add_column("direction")
    table.add_column("name")
    for name in ins:
        table.add_row("in", name)
    for name in outs:
        table.add_row("out", name)
    if ins or outs:
        console.print(table)
    else:
        console.print("no MIDI ports: plug in a kit (USB MIDI) and run this again")


@app.command("calibrate")
def _calibrate(
    input: str = typer.Option(
        ..., "--input", "-i", help="A MIDI input port (part of its name), or 'keys'."
    ),
    bpm: float = typer.Option(100.0, "--bpm", help="Tempo of the clicks."),
    clicks: int = typer.Option(16, "--clicks", help="Clicks to tap along to (after one bar)."),
    click: str = typer.Option("audio", "--click", help="'audio', or a MIDI output port."),
    api: str | None = typer.Option(None, "--api", help="The MIDI system: LINUX_ALSA or UNIX_JACK."),
    store: str | None = typer.Option(None, "--store", help="Database URL (default: yours)."),
) -> None:
    """Measure an input's latency: tap along to the clicks; the median offset is kept."""
    import queue

    from cymbalism.errors import DeviceError
    from cymbalism.live.calibration import calibrate_input
    from cymbalism.live.clock import MonotonicClock
    from cymbalism.live.inputs import (
        KeyboardInput,
        MidiInput,
        MidoBackend,
        Route,
        find_port,
    )
    from cymbalism.live.metronome import open_output
    from cymbalism.model.lanes import Lane
    from cymbalism.store.store import Store

    clock = MonotonicClock()
    sink: queue.SimpleQueue = queue.SimpleQueue()
    backend = None
    if input.lower() in {"keys", "keyboard"}:
        name = "keyboard"
        keys = {k: Lane.SNARE for k in "abcdefghijklmnopqrstuvwxyz ,./;'"}
        inp = KeyboardInput({"tap": keys}, clock=clock, sink=sink)
    else:
        backend = MidoBackend(api)
        name = find_port(input, backend.input_names())
        inp = MidiInput(  # type: ignore[assignment]
            name, [Route("tap")], clock=clock, backend=backend, sink=sink
        )
    out = open_output(
        clock,
        audio=click == "audio",
        midi_port=None if click == "audio" else click,
        backend=backend,
    )
    if not out.audible:
        raise DeviceError(f"calibration needs to be heard: {out.description}")
    console.print(
        f"Tap [bold]{name}[/] along with the click: one bar to get the pulse, then "
        f"{clicks} clicks at {bpm:g} BPM.",
        highlight=False,
    )
    inp.start()
    out.start()
    try:
        cal = calibrate_input(inp, out, clock, bpm=bpm, n_clicks=clicks)
    finally:
        inp.stop()
        out.stop()
    Store(store).add_calibration(name, cal.offset_sec, sd_sec=cal.spread_sec, n=cal.n_taps)
    console.print(
        f"[bold]{name}[/]: latency {cal.offset_sec * 1000:+.1f} ms (from {cal.n_taps} of "
        f"{cal.n_clicks} taps, steadiness ±{cal.spread_sec * 1000:.1f} ms); it is now "
        "subtracted from every hit of this input",
        highlight=False,
    )


@app.command("play")
def _play(
    song: str = typer.Argument(..., help="A built-in song (see `cymbalism songs`) or a chart."),
    player: list[str] = typer.Option(
        ...,
        "--player",
        "-p",
        help="NAME:INPUT[:LEVEL]; INPUT is keys, sim-expert, sim-beginner, a MIDI port "
        "(PORT@ch2 or PORT@36-51 to share one) or a microphone (mic, mic=DEVICE/KIT@ch2); "
        "LEVEL a level or 'lesson'.",
    ),
    follow: bool = typer.Option(False, "--follow", help="The click follows the duo's tempo."),
    loop: str | None = typer.Option(None, "--loop", help="Loop bars A-B (from 1)."),
    repeats: int = typer.Option(4, "--repeats", help="Times through the loop."),
    tempo: str = typer.Option("100%", "--tempo", help="Practice tempo, such as 80%."),
    count_in: int = typer.Option(1, "--count-in", help="Bars of click before the song."),
    window_ms: float = typer.Option(75.0, "--window-ms", help="Matching window (ms)."),
    backing: bool = typer.Option(False, "--backing", help="Play the notes nobody plays."),
    click: str = typer.Option("audio", "--click", help="'audio', 'none', or a MIDI output."),
    kit: str | None = typer.Option(None, "--kit", help="The e-kit note map (td17, nitro, ...)."),
    api: str | None = typer.Option(None, "--api", help="The MIDI system: LINUX_ALSA or UNIX_JACK."),
    store: str | None = typer.Option(None, "--store", help="Database URL, or 'none'."),
    seconds: float | None = typer.Option(None, "--seconds", help="Stop after this long."),
) -> None:
    """Play a song together, judged live; at the end, the summary `analyze` gives."""
    from cymbalism.io.charts import load_chart
    from cymbalism.live.engine import LiveOptions
    from cymbalism.live.run import LiveSetup, parse_player
    from cymbalism.model.session import Settings

    specs = [parse_player(p) for p in player]
    settings = Settings(
        window_sec=window_ms / 1000.0,
        tempo_scale=_tempo_scale(tempo),
        follow=follow,
        count_in_bars=count_in,
    )
    options = LiveOptions(loop_bars=_loop_bars(loop), loop_repeats=repeats, backing=backing)
    setup = LiveSetup(
        specs,
        settings,
        options,
        click=click,
        kit=kit,
        api=api,
        store_url=store,
        max_sec=seconds,
    )
    _live_session(load_chart(song), setup, keys=any(s.kind == "keys" for s in specs))


def _demo_live(seconds: float, seed: int) -> None:
    """The demo duet played through the live engine in real time."""
    from cymbalism.live.engine import LiveOptions
    from cymbalism.live.run import LiveSetup, PlayerSpec
    from cymbalism.model.chart import Level
    from cymbalism.model.session import Settings
    from cymbalism.simulate.demo import demo_chart

    specs = [
        PlayerSpec("expert", "sim-expert", Level.EXPERT),
        PlayerSpec("beginner", "sim-beginner", Level.BEGINNER),
    ]
    setup = LiveSetup(
        specs,
        Settings(),
        LiveOptions(),
        click="none",
        store_url="none",
        seed=seed,
        max_sec=seconds,
    )
    console.print(
        f"[bold]cymbalism demo --live[/]: the simulated duet, hit by hit through the live "
        f"engine in real time ({seconds:g} s; Ctrl-C stops)",
        highlight=False,
    )
    _live_session(demo_chart(), setup, keys=False)


# --- store and reports: import, history, report, export
_DB_HELP = (
    "The session database: a SQLite file or postgresql:// URL "
    "(default: $CYMBALISM_DB, else the user data folder)."
)


def _open_store(db: str | None):  # type: ignore[no-untyped-def]
    from cymbalism.store import Store

    return Store(db)


def _analysis(store, session: str):  # type: ignore[no-untyped-def]
    from cymbalism.report.analysis import analyse_stored

    return analyse_stored(store.load(store.resolve(session)))


@app.command("import")
def _import(
    files: list[Path] = typer.Argument(..., help="One drum MIDI file per player."),
    chart: str | None = typer.Option(
        None, "--chart", help="The song: a built-in song, .chart, notes.mid or drum .mid."
    ),
    names: str | None = typer.Option(None, "--names", help="Player names, as A,B."),
    levels: str | None = typer.Option(
        None, "--levels", help="The part each player played: expert,beginner (needs --chart)."
    ),
    note: str = typer.Option("", "--note", help="A note kept with the session."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Store a duet (or a solo) played into MIDI files as a session, and summarise it."""
    from cymbalism.report.text import print_summary
    from cymbalism.store.importer import import_files

    parts = _split(levels, "levels", len(files))
    with _open_store(db) as store:
        session_id = import_files(store, files, chart=chart, names=names, levels=parts, note=note)
        console.print(f"stored session [bold]{session_id}[/] in {store.url}")
        print_summary(_analysis(store, str(session_id)), console)


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
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """List the stored sessions, newest last; sessions cut short are flagged."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = db
        return
    from rich.table import Table

    from cymbalism.report.history import session_summaries
    from cymbalism.report.plots import clock
    from cymbalism.report.text import ms

    with _open_store(db) as store:
        infos = session_summaries(store, store.sessions(player=player, limit=limit))
        if not infos:
            console.print(f"no sessions in {store.url} yet")
            return
        table = Table(title=f"Sessions in {store.url}")
        for col in ("#", "Started", "Song", "Players", "Hits", "Status", "Gap SD", "Together"):
            table.add_column(col, justify="right" if col in {"#", "Hits"} else "left")
        for s in infos:
            status = "[bold red]cut short[/]" if s.cut_short else s.status
            duet = s.duet
            table.add_row(
                str(s.id),
                s.started_at.strftime("%Y-%m-%d %H:%M"),
                s.title,
                " & ".join(s.player_names),
                " + ".join(str(p.n_hits) for p in s.players),
                status,
                ms(duet.sd_sec) if duet else "",
                (clock(duet.came_together_sec) if duet.came_together_sec is not None else "not yet")
                if duet
                else "",
            )
        console.print(table)
        cut = [s.id for s in infos if s.cut_short]
        if cut:
            ids = ", ".join(map(str, cut))
            console.print(
                f"[yellow]{len(cut)} session(s) were cut short ({ids}); their hits are kept. "
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
    with _open_store(ctx.obj) as store:
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
    with _open_store(ctx.obj) as store:
        session_id = store.resolve(session)
        info = store.info(session_id)
        if not yes and not typer.confirm(
            f"delete session {session_id} ({info.title}, {', '.join(info.player_names)})?"
        ):
            raise typer.Abort()
        store.delete(session_id)
        console.print(f"deleted session {session_id}")


@app.command("report")
def _report(
    session: str = typer.Argument("last", help="The session number, or 'last'."),
    html: Path | None = typer.Option(None, "--html", help="Write the HTML report here."),
    png: Path | None = typer.Option(None, "--png", help="Write each plot as PNG and SVG here."),
    card: Path | None = typer.Option(None, "--card", help="Write the share card (PNG) here."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Summarise a session in the terminal and write its report, plots and share card.

    With no --html/--png/--card, the HTML report goes to session-<N>.html.
    """
    from cymbalism.report.card import write_card
    from cymbalism.report.html import write_html
    from cymbalism.report.plots import save_plots
    from cymbalism.report.text import print_summary

    with _open_store(db) as store:
        analysis = _analysis(store, session)
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
    session: str = typer.Argument("last", help="The session number, or 'last'."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, json or parquet."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="The file (default session-<N>.<format>)."
    ),
    misses: bool = typer.Option(True, "--misses/--no-misses", help="Add a row per missed note."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """Export a session's hits and judgements, one row per hit."""
    from cymbalism.errors import InputError
    from cymbalism.report.export import FORMATS, write_export

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    with _open_store(db) as store:
        analysis = _analysis(store, session)
    path = write_export(
        analysis, out or Path(f"session-{analysis.session_id}.{fmt}"), fmt=fmt, misses=misses
    )
    console.print(f"wrote {path}")


@app.command("history")
def _history(
    player: str = typer.Argument(..., help="The player's name."),
    png: Path | None = typer.Option(None, "--png", help="Also plot the trends to this PNG."),
    db: str | None = typer.Option(None, "--db", help=_DB_HELP),
) -> None:
    """A player's sessions over time: hit rate, accuracy, precision, level, sync."""
    from cymbalism.report.history import player_history, print_history, write_history_plot

    with _open_store(db) as store:
        rows = player_history(store, player)
    print_history(player, rows, console)
    if png is not None and rows:
        console.print(f"plot: {write_history_plot(player, rows, png)}")


# --- web studio: serve


@app.command()
def serve(
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on; 0.0.0.0 lets phones and other "
        "computers join (they then need the room code).",
    ),
    port: int = typer.Option(8737, "--port", help="Port to listen on (0: any free port)."),
    db: str = typer.Option(
        None,
        "--db",
        help="Database URL or SQLite file (default: $CYMBALISM_DB or the user's data folder).",
    ),
    stop_after: float = typer.Option(
        None, "--stop-after", help="Stop after this many seconds (for scripts and CI).", min=0.0
    ),
) -> None:
    """Start the browser studio: pick a song, play a duet, read the report."""
    from cymbalism.web.server import run_studio

    run_studio(host=host, port=port, db=db, stop_after_sec=stop_after, say=console.print)


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
        help=(
            "The drums in the order they were played, comma-separated; 'other' for a "
            "sound that is not a drum (a cowbell), so that its hits are left out."
        ),
    ),
) -> None:
    """Learn how a kit sounds: hit each drum ~4 times, pausing 1 s or more between drums."""
    import warnings

    from cymbalism.errors import InputError
    from cymbalism.io.audio import calibrate_kit, parse_kit_lane, save_kit_templates
    from cymbalism.io.performance import split_channel

    try:
        lanes = [parse_kit_lane(x) for x in order.split(",") if x.strip()]
    except ValueError as exc:
        raise InputError(f"--order: {exc}") from None
    path, channel = split_channel(audio)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kit = calibrate_kit(path, name=name, order=lanes, channel=channel)
    _show_audio_warnings(caught)
    saved = save_kit_templates(kit)
    console.print(
        f"learned kit [bold]{name}[/] ({', '.join(kit.labels)}); saved to {saved}",
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
        ...,
        help="A stored session (its number or 'last'), an onset table, "
        "or one MIDI file per player on one timeline.",
    ),
    names: str | None = typer.Option(
        None, "--names", "--players", help="Player names (MIDI) or columns (table), as A,B."
    ),
    window: int | None = typer.Option(
        None, "--window", help="Also fit every BARS bars (cycles of an onsetsync table)."
    ),
    window_ms: float = typer.Option(100.0, "--window-ms", help="Pairing window for hits."),
    db: str | None = typer.Option(None, "--db", help="The session store (URL or SQLite file)."),
    plot: Path | None = typer.Option(
        None, "--plot", help="With --window: draw the gains per window to this PNG/SVG/PDF."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
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
    from cymbalism.errors import InputError

    token = str(inputs[0])
    session = len(inputs) == 1 and not inputs[0].exists() and (token.isdigit() or token == "last")
    if session:
        loaded = load_session_onsets(token, db=db)
        tab = loaded.table.with_reference_as("click")  # the players heard the click
    else:
        loaded = load_onsets(inputs, players=_split_names(names), window_sec=window_ms / 1e3)
        tab = loaded.table
    if len([n for n in tab.names if n != "click"]) < 2:
        raise InputError("coupling needs at least two players")
    fit = fit_phase_correction(tab)
    result: dict[str, object] = {"players": list(tab.names), "fit": fit.to_dict()}
    a, b = tab.names[0], tab.names[1]
    ll = lead_lag(tab, a, b).to_dict()
    result["lead_lag"] = ll
    if window is not None:
        if loaded.tempo_map is None:
            edges = cycle_edges_sec(tab, cycles=window)  # an onsetsync table: its cycles
        else:
            end = float(tab.onset_sec[tab.onset_sec == tab.onset_sec].max())
            edges = bar_edges_sec(loaded.tempo_map, bars=window, end_sec=end)
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


corpus_app = typer.Typer(help="Analyse many files or sessions at once, in parallel (Dask).")
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("analyze")
def _corpus_analyze(
    path: Path = typer.Argument(
        ..., help="A folder of MIDI/audio files, an info.csv, or the stored sessions ('store')."
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
        discover,
        run_corpus,
        summarize,
        write_results,
    )

    check_output(out)
    jobs = discover(path)
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
        f"{len(jobs)} files, {len(frame)} rows, {n_err} errors -> {out}"
        + (" (see the error column)" if n_err else "")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
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
        if callable(getattr(exc, "show", None)) and isinstance(
            getattr(exc, "exit_code", None), int
        ):
            exc.show()
            return int(exc.exit_code)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
