"""Core commands: ``analyze``, ``simulate``, ``demo`` and ``tempo``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.text import Text

from cymbalism.analysis.summary import AnalysisReport, analyze_players
from cymbalism.cli.common import (
    ALIGN_HELP,
    JSON_HELP,
    KEEP_MUSIC_HELP,
    KIT_HELP,
    app,
    console,
    err_console,
    matching_window,
    music_placed,
    say_alignment,
    say_music,
    split_values,
)
from cymbalism.cli.format import (
    clock,
    counted,
    finite,
    fitted_part_sentence,
    print_report,
    swapped_parts_hint,
    tempo_sparkline,
    two_kits_hint,
    window_hint,
)
from cymbalism.errors import InputError
from cymbalism.model.chart import Level
from cymbalism.model.lanes import Lane
from cymbalism.model.session import DEFAULT_WINDOW_SEC
from cymbalism.simulate import DrummerModel


@app.command("analyze")
def _analyze(
    files: list[Path] = typer.Argument(
        ...,
        help="MIDI files or recordings (WAV, FLAC, Ogg, MP3, M4A, ...), one per player, "
        "on one clock (or --align); "
        "FILE:L and FILE:R are the two channels of a stereo recording, FILE:1 and "
        "FILE:2 the two kits (drum tracks) of one MIDI file.",
    ),
    chart: str | None = typer.Option(
        None, "--chart", "-c", help="A built-in song or chart file (default: the click grid)."
    ),
    names: str | None = typer.Option(None, "--names", help="Player names: A,B."),
    levels: str | None = typer.Option(
        None,
        "--levels",
        help="The part each player played: expert,beginner (expert+: the double-kick "
        "part); by default the part each player's hits fit best.",
    ),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    window_ms: float = typer.Option(
        DEFAULT_WINDOW_SEC * 1000, "--window-ms", help="Matching window, ms."
    ),
    lane_blind: bool = typer.Option(False, "--lane-blind", help="Any drum counts for a note."),
    offset: str | None = typer.Option(
        None,
        "--offset",
        help="Where the song starts in the files, in seconds, or 'auto' to find it from "
        "the hits (default: auto for recordings with a --chart, else 0).",
    ),
    align: bool = typer.Option(False, "--align", help=ALIGN_HELP),
    keep_music: bool = typer.Option(False, "--keep-music", help=KEEP_MUSIC_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Judge each player's timing and the gap between them (two files are a duet)."""
    from cymbalism.analysis.align import as_heard, named_counts
    from cymbalism.analysis.tempo import players_clicks
    from cymbalism.coaching.simplify import name_by_part
    from cymbalism.io.charts import load_chart
    from cymbalism.io.performance import (
        default_names,
        leave_out_other_kits,
        load_performance,
        music_agrees,
        music_start,
        on_one_clock,
    )
    from cymbalism.report.analysis import fitting_part, parts_swapped, played_hits
    from cymbalism.report.text import heard_as_sentence, unjudged_sentence
    from cymbalism.sound.audio import music_for_takes

    matching_window(window_ms)
    song = load_chart(chart) if chart is not None else None
    music = None if song is None or keep_music else music_for_takes(files, chart, song)
    performances = [load_performance(f, kit=kit, music=music) for f in files]
    n = len(performances)
    heard_music = say_music(performances, quiet=as_json)
    clocks: dict[str, object] = {}
    if align:
        performances, moved = on_one_clock(performances)
        performances, left_out = leave_out_other_kits(performances, moved)
        clocks = say_alignment(performances, moved, left_out, quiet=as_json)
    player_names = split_values(names, "names", n) or default_names(performances)
    hits = [p.hits for p in performances]
    if chart is None:
        if levels is not None:
            raise InputError("--levels needs a --chart to pick the parts from")
        try:
            maps, bpm = players_clicks(
                [p.hits for p in performances], [p.tempo_map for p in performances]
            )
        except InputError as exc:  # a recording with too few hits for its click
            where = ", ".join(Path(str(f)).name for f in files)
            raise InputError(
                f"{where}: no click to judge against ({exc}); give --chart with the song"
            ) from None
        report = analyze_players(
            hits,
            tempo_map=maps,
            tempo_bpm=bpm,
            names=player_names,
            window_sec=window_ms / 1000,
            lane_blind=lane_blind,
            title=performances[0].name if n == 1 else "",
        )
    placed: dict[str, object] = {}
    fitted_said: list[str] = []  # players judged against an easier part, found by fit
    heard_said: list[str | None] = []  # per player: strokes named by the part's drum
    renamed: dict[str, dict[tuple[Lane, Lane], int]] = {}
    swapped = False  # the files given in the other order than their --levels
    unjudged: dict[str, int] = {}  # per player: hi-hat pedal strokes no note asks for
    if chart is None:
        if offset is not None:
            raise InputError("--offset places the files on a song: give its --chart")
    else:
        assert song is not None
        given = split_values(levels, "levels", n)
        parts = [Level.parse(lv) for lv in given] if given else [song.top_level] * n
        targets = [song.targets(lv) for lv in parts]
        recorded = any(p.tempo_map is None for p in performances)
        # (lined up by --align, the others' music is on their own clocks: the first's rules)
        by_music = None if offset is not None else music_start(performances[: 1 if align else n])
        where = offset or ("auto" if recorded else "0")

        def place(parts: list[Level]) -> tuple[dict, float]:
            heard = [
                as_heard(song.targets(lv), p.heard_as)
                for lv, p in zip(parts, performances, strict=True)
            ]
            found = _place(hits, heard, where, window_ms, lane_blind)
            start = float(found.get("offset_sec", 0.0))
            if by_music is None or where != "auto":
                return found, start
            if music_agrees(by_music[1], start):  # the music's place, exact
                return music_placed(*by_music), by_music[1]
            found["said"] = (
                f"{found.get('said', '')} The song's recording sounds in {by_music[0]} with "
                f"song time zero at {by_music[1]:.3f} s, where the hits do not fit: it "
                "repeats itself, and the hits chose between its repeats."
            ).strip()
            return found, start

        def fit(start: float) -> list:
            return [
                fitting_part(
                    song,
                    h.shifted(-start),
                    window_sec=window_ms / 1000,
                    lane_blind=lane_blind,
                    heard_as=p.heard_as,
                )
                for h, p in zip(hits, performances, strict=True)
            ]

        placed, start = place(parts)
        if given is None:  # each player judged against the part their hits fit best
            fits = fit(start)
            fitted = [best.level for best, _ in fits]
            if fitted != parts:
                parts = fitted
                if where.strip().lower() == "auto":  # the start found again, on these parts
                    placed, start = place(parts)
                    fits = fit(start)
            targets = [song.targets(lv) for lv in parts]
            fitted_said = [
                fitted_part_sentence(name, every[lv], every[song.top_level])
                for name, lv, (_, every) in zip(player_names, parts, fits, strict=True)
                if lv != song.top_level
            ]
        hits_as_read = hits
        # a drum the kit cannot name (a ride heard as the hi-hat) by the part's note
        heard = [h.shifted(-start) for h in hits]
        named = [  # any drum counts with --lane-blind: nothing to name
            name_by_part(h, song, lv, {} if lane_blind else p.heard_as, window_sec=window_ms / 1000)
            for h, p, lv in zip(heard, performances, parts, strict=True)
        ]
        renamed = {
            name: counts
            for name, h, n in zip(player_names, heard, named, strict=True)
            if (counts := named_counts(h, n))
        }
        heard_said = [
            heard_as_sentence(name, p.kit, renamed.get(name, {}))
            for name, p in zip(player_names, performances, strict=True)
        ]
        # each hit counts for the drum its part plays it on (any tom at Easy), as live
        hits = [played_hits(h, lv, chart=song) for h, lv in zip(named, parts, strict=True)]
        unjudged = {
            name: len(read) - len(judged)
            for name, read, judged in zip(player_names, hits_as_read, hits, strict=True)
            if len(read) > len(judged)
        }
        report = analyze_players(
            hits,
            tempo_map=song.tempo_map,
            targets=targets,
            rolls=[song.roll_mask(lv) for lv in parts],
            names=player_names,
            window_sec=window_ms / 1000,
            lane_blind=lane_blind,
            title=song.title,
        )
        if offset is None and not recorded:  # MIDI files taken to start with the song
            placed = _better_start(hits_as_read, targets, report, window_ms, lane_blind)
        start = float(placed.get("offset_sec", start))  # type: ignore[arg-type]
        swapped = not as_json and parts_swapped(
            song,
            [h.shifted(-start) for h in hits_as_read],
            parts,
            window_sec=window_ms / 1000,
            lane_blind=lane_blind,
        )
    if as_json:
        if placed.get("said"):  # the words as plain text, without the terminal's colours
            placed["said"] = Text.from_markup(str(placed["said"])).plain
        extra: dict[str, object] = {"placed": placed} if placed else {}
        if clocks:
            extra["aligned"] = clocks
        if heard_music:
            extra["music_in_take"] = heard_music
        if unjudged:
            extra["not_judged"] = unjudged
        if chart is not None:
            extra["parts"] = {
                name: lv.label.lower() for name, lv in zip(player_names, parts, strict=True)
            }
            extra["parts_from"] = "levels" if levels is not None else "fit"
        if renamed:
            extra["named_by_part"] = {
                name: [
                    {"heard_as": h.name.lower(), "named": d.name.lower(), "strokes": n}
                    for (h, d), n in counts.items()
                ]
                for name, counts in renamed.items()
            }
        console.print_json(data={**report.to_dict(), **extra})
    else:
        if placed.get("said"):
            err_console.print(placed["said"], highlight=False, soft_wrap=False)
        for sentence in fitted_said:
            err_console.print(sentence, highlight=False, soft_wrap=False)
        for name, n in unjudged.items():
            err_console.print(unjudged_sentence(name, n), highlight=False)
        for said in heard_said:
            if said is not None:
                err_console.print(said, highlight=False, soft_wrap=False)
        print_report(report)
    hint = window_hint(report)
    if hint is not None:
        err_console.print(hint, highlight=False)
    if swapped:
        err_console.print(swapped_parts_hint(player_names, parts), highlight=False, soft_wrap=False)
    if n == 1 and not as_json:
        said = two_kits_hint(str(files[0]), performances[0])
        if said is not None:
            err_console.print(said, highlight=False, soft_wrap=False)
    if not align and not as_json and _separate_recordings(performances, report):
        err_console.print(
            "hint: these recordings were read from separate files and share few notes; "
            "if each was made on its own device (a phone each), --align puts them on one "
            "clock by their sound",
            highlight=False,
            soft_wrap=False,
        )


def _separate_recordings(performances: list, report: AnalysisReport) -> bool:
    """Two or more recordings from separate files whose first pair of players shares
    fewer than a quarter of the notes the sparser of them hit: most likely two devices'
    clocks."""
    from cymbalism.io.audio import AudioPerformance

    paths = {p.path.resolve() for p in performances if isinstance(p, AudioPerformance)}
    if len(paths) < 2 or not report.pairs:
        return False
    fewer = min(p.stats.n_hit for p in report.players[:2])
    return fewer > 0 and report.pairs[0].stats.n < 0.25 * fewer


#: An offset found from the hits is called uncertain when the next best one hits
#: nearly as many notes: within this share of the notes.
_SURE_MARGIN = 0.02
#: A start found from the hits is suggested for MIDI files when it hits this share of the
#: notes more than their own start does, and lies more than two windows from it.
_BETTER_START = 0.05


def _place(hits: list, targets: list, offset: str, window_ms: float, lane_blind: bool) -> dict:
    """Where the song starts in the files: ``offset`` seconds, or found from the hits
    (``"auto"``, :func:`~cymbalism.analysis.align.find_offset`), with what to say."""
    from cymbalism.analysis.align import MAX_OFFSET_SEC, find_offset

    if offset.strip().lower() != "auto":
        try:
            sec = float(offset)
        except ValueError:
            raise InputError(f"--offset takes seconds or 'auto', got {offset!r}") from None
        if not (np.isfinite(sec) and abs(sec) <= MAX_OFFSET_SEC):
            raise InputError(
                f"--offset must lie within ±{MAX_OFFSET_SEC:g} s (seconds, or 'auto'), "
                f"got {offset!r}"
            )
        return {"offset_sec": sec, "found": False} if sec else {}
    if not any(len(h) for h in hits):
        return {}
    found = find_offset(hits, targets, window_sec=window_ms / 1000, lane_blind=lane_blind)
    said = (
        f"the song starts {found.offset_sec:.3f} s into the recordings (found from the hits: "
        f"{found.matched:,} of {counted(found.notes, 'note')} hit"
    )
    if found.runner_up_matched:
        said += f"; next best {found.runner_up_sec:.3f} s: {found.runner_up_matched:,}"
    said += "). Each player's mean timing is measured from there."
    if found.margin < _SURE_MARGIN:
        said += (
            " [yellow]Uncertain: another start fits nearly as well; give the right one "
            "with --offset SECONDS.[/]"
        )
    return {
        "offset_sec": round(found.offset_sec, 6),
        "found": True,
        "matched": found.matched,
        "notes": found.notes,
        "runner_up_sec": None if np.isnan(found.runner_up_sec) else round(found.runner_up_sec, 6),
        "runner_up_matched": found.runner_up_matched,
        "sure": found.margin >= _SURE_MARGIN,
        "said": said,
    }


def _better_start(
    hits: list, targets: list, report: AnalysisReport, window_ms: float, lane_blind: bool
) -> dict:
    """For MIDI files judged from their start: where the song would start if the hits
    fit it far better there (a count-in before the song, a late press of record), to
    suggest ``--offset auto``; empty when the start as read fits as well as any."""
    from cymbalism.analysis.align import find_offset

    if not any(len(h) for h in hits) or not any(len(t) for t in targets):
        return {}
    now = sum(p.stats.n_hit for p in report.players)
    found = find_offset(hits, targets, window_sec=window_ms / 1000, lane_blind=lane_blind)
    far = abs(found.offset_sec) > 2 * window_ms / 1000  # not a player's own lateness
    if not far or found.matched < now + _BETTER_START * found.notes:
        return {}
    said = (
        f"[yellow]The hits fit the song far better if it starts {found.offset_sec:.3f} s "
        f"into the files ({found.matched:,} of {counted(found.notes, 'note')} hit, against "
        f"{now:,} from their start): try --offset auto.[/]"
    )
    return {"found": False, "suggested_offset_sec": round(found.offset_sec, 6), "said": said}


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
        help="Parts to play (default: the full part, and the easiest for a beginner; "
        "expert+ for the double-kick part).",
    ),
    names: str | None = typer.Option(None, "--names", help="File names: A,B."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same duet."),
) -> None:
    """Simulate two drummers playing a song together and write each to a MIDI file."""
    from cymbalism.io.charts import load_chart
    from cymbalism.io.midi import write_hits
    from cymbalism.simulate import simulate_duet
    from cymbalism.simulate.demo import demo_chart

    kinds = split_values(players, "players", 2) or []
    models = [_preset(k) for k in kinds]
    song = demo_chart() if chart is None else load_chart(chart)
    if levels is None:
        easiest = min(song.levels)
        parts = [easiest if k == "beginner" else song.top_level for k in kinds]
    else:
        parts = [Level.parse(lv) for lv in split_values(levels, "levels", 2) or []]
    file_names = split_values(names, "names", 2) or (
        kinds if kinds[0] != kinds[1] else [f"{k}-{i + 1}" for i, k in enumerate(kinds)]
    )
    hits_a, hits_b = simulate_duet(
        song, models[0], models[1], level_a=parts[0], level_b=parts[1], seed=seed
    )
    out.mkdir(parents=True, exist_ok=True)
    for name, hits, level in zip(file_names, (hits_a, hits_b), parts, strict=True):
        early = int(np.count_nonzero(hits.onset_sec < 0))
        path = write_hits(out / f"{name}.mid", hits.between(0.0, np.inf), song.tempo_map)
        note = f" ({counted(early, 'hit')} before the song's start left out)" if early else ""
        console.print(
            f"wrote {path}: {counted(len(hits) - early, 'hit')}, {song.title} "
            f"({level.label}){note}",
            highlight=False,
        )


@app.command("demo")
def _demo(
    seed: int = typer.Option(2026, "--seed", help="The same seed gives the same duet."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    live: bool = typer.Option(
        False, "--live", help="Play it through the live engine in real time, with the view."
    ),
    seconds: float = typer.Option(30.0, "--seconds", help="With --live: how long to play."),
    db: str | None = typer.Option(
        None, "--db", help="With --live: where the session is kept ('none': nowhere)."
    ),
) -> None:
    """A simulated expert and beginner play a groove at 114 BPM for three minutes."""
    if live:
        from cymbalism.cli.live import demo_live

        demo_live(seconds, seed, db)
        return
    if db is not None:
        raise InputError("--db goes with --live: the demo without it stores nothing")
    from cymbalism.simulate.demo import run_demo

    result = run_demo(seed=seed)
    if as_json:
        console.print_json(data=result.report.to_dict())
        return
    chart = result.chart
    console.print(
        f"[bold]cymbalism demo[/]: a simulated expert (full part) and beginner (kick, snare "
        f"and hi-hat on the beats) play {chart.title!r} together, {clock(chart.end_sec)} at "
        f"{chart.tempo_map.bpm[0]:g} BPM. The beginner starts late and loose, and learns.\n",
        highlight=False,
    )
    print_report(result.report)
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


@app.command()
def tempo(
    file: str = typer.Argument(
        ...,
        help="A MIDI file or a recording (WAV, FLAC, Ogg, MP3, M4A, MP4, ...) of a drum "
        "performance.",
    ),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    curve: bool = typer.Option(
        False, "--curve", help="Also show the local tempo over time (in 12 s windows)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Estimate the tempo of a performance from its hits alone (tempo events are ignored)."""
    import json

    from cymbalism.analysis.tempo import tempo_curve, tempo_estimate
    from cymbalism.io.performance import load_performance

    perf = load_performance(file, kit=kit)
    onset, weight = perf.hits.onset_sec, perf.hits.velocity.astype(float)
    estimate = tempo_estimate(onset, weight=weight, lane=perf.hits.lane)
    bpm = estimate.bpm
    # at most about 60 windows, so the curve fits on one line
    hop_sec = max(2.0, float(np.ceil(perf.hits.duration_sec / 60.0)))
    local = tempo_curve(onset, weight=weight, reference_bpm=bpm, hop_sec=hop_sec)
    drift = finite(local.drift_bpm_per_min, 3)
    if as_json:
        out: dict[str, object] = {
            "bpm": round(bpm, 2),
            "confidence": round(estimate.confidence, 3),
            "alternatives": [
                {"bpm": round(b, 2), "probability": round(p, 3)}
                for b, p in estimate.alternatives
                if p >= 0.01
            ],
            "drift_bpm_per_min": drift,
        }
        out["hits"] = len(perf)
        if curve:
            out["curve"] = {
                "time_sec": [round(float(t), 3) for t in local.time_sec],
                "bpm": [finite(b, 2) for b in local.bpm],
            }
        print(json.dumps(out))
        return
    if drift is not None:
        drift_text = f"{drift:+.2f} BPM per minute"
    elif len(local) >= 2:  # long enough for windows, but too few of them show a pulse
        pulsed = int(np.isfinite(local.bpm).sum())
        drift_text = f"too sparse to tell: {pulsed} of {len(local)} windows show a clear pulse"
    else:
        drift_text = "too short to tell"
    console.print(
        f"[bold]{bpm:.1f} BPM[/] from {len(perf)} hits in {perf.name} (drift: {drift_text})",
        highlight=False,
    )
    sure = f"  {estimate.confidence:.0%} sure of the beat level"
    if estimate.alternatives and estimate.alternatives[0][1] >= 0.05:
        other, p = estimate.alternatives[0]
        sure += f"; else {other:.1f} BPM ({p:.0%})"
    console.print(sure, highlight=False)
    if curve:
        line = tempo_sparkline(local.bpm)
        console.print(f"  local tempo every {hop_sec:g} s: {line}", highlight=False, soft_wrap=True)
