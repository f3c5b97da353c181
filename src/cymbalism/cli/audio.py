"""Audio commands: ``transcribe`` and ``kit`` (calibrate, list), for acoustic kits."""

from __future__ import annotations

from pathlib import Path

import typer

from cymbalism.cli.common import app, console, err_console, say_music
from cymbalism.cli.format import counted
from cymbalism.errors import InputError

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
        ...,
        help="A recording (WAV, FLAC, Ogg, MP3, M4A, MP4, ...); FILE:L or FILE:R for one channel.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The MIDI file to write (General MIDI)."),
    kit: str | None = typer.Option(
        None, "--kit", "-k", help="A kit from `cymbalism kit calibrate`."
    ),
    bpm: float = typer.Option(120.0, "--bpm", help="Tempo written to the MIDI file (its grid)."),
    song: str | None = typer.Option(
        None,
        "--song",
        help="The song the take was played along to (a built-in song, chart file or song "
        "folder): its recording, heard in the take, is taken out first, and the hits are "
        "written on the song's tempo map from where its music sounds.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Find every hit in a recording of an acoustic kit and write it as a MIDI file."""
    import json
    import warnings

    from cymbalism.io.audio import AudioPerformance, hit_summary
    from cymbalism.io.midi import write_hits
    from cymbalism.io.performance import load_performance
    from cymbalism.model.lanes import Lane
    from cymbalism.model.tempo import TempoMap
    from cymbalism.report.format import listed

    if not str(out).lower().endswith((".mid", ".midi")):
        raise InputError(f"--out {out}: write to a .mid file")
    chart = music = None
    if song is not None:
        from cymbalism.io.charts import load_chart
        from cymbalism.sound.audio import music_for_takes

        chart = load_chart(song)
        music = music_for_takes([audio], song, chart)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        perf = load_performance(audio, kit=kit, progress=not as_json, music=music)
    _show_audio_warnings(caught)
    if not isinstance(perf, AudioPerformance):
        raise InputError(f"{audio} is not a recording; `transcribe` reads audio files")
    music_said = say_music([perf], quiet=as_json)
    hits, tempo_map, placed = perf.hits, TempoMap.constant(bpm), None
    if chart is not None and perf.music is not None:  # on the song's own grid
        hits = perf.hits.shifted(-perf.music.song_zero_sec)
        before = int((hits.onset_sec < 0).sum())
        hits, tempo_map = hits.select(hits.onset_sec >= 0), chart.tempo_map
        placed = {"song": chart.title, "song_zero_sec": perf.music.song_zero_sec, "before": before}
        if not as_json:
            err_console.print(
                f"written on the tempo map of {chart.title} from song time zero"
                + (f" ({counted(before, 'hit')} before it left out)" if before else ""),
                highlight=False,
                soft_wrap=False,
            )
    elif chart is not None and not as_json:
        why = (
            f"{chart.title} has no recording to look for in {perf.name}"
            if music is None
            else f"the recording of {chart.title} was not heard in {perf.name}"
        )
        err_console.print(
            f"{why}: the hits are written from the take's start at {bpm:g} BPM",
            highlight=False,
            soft_wrap=False,
        )
    write_hits(out, hits, tempo_map)
    summary = hit_summary(perf)
    summary["out"] = str(out)
    if music_said:
        summary["music_in_take"] = music_said
    if placed:
        summary["placed"] = placed
    if as_json:
        console.print_json(json.dumps(summary))
        return
    from rich.table import Table

    # the line above the table, not its title: a title wraps to the narrow table's width
    console.print(
        f"{perf.path.name}: {summary['hits']} hits in {perf.duration_sec:.1f} s", highlight=False
    )
    table = Table()
    for column in ("lane", "hits", "mean velocity"):
        table.add_column(column, justify="left" if column == "lane" else "right")
    for row in summary["lanes"]:
        table.add_row(row["lane"], str(row["hits"]), f"{row['mean_velocity']:.0f}")
    console.print(table)
    console.print(f"kit: {perf.kit}; wrote {out}", highlight=False)
    unnamed = {d: w for d, w in perf.heard_as.items() if d is not Lane.HIHAT_PEDAL}
    if unnamed:  # (a pedal's chick: no part writes one)
        drums = listed([d.label for d in unnamed], "or")
        heard = "; ".join(
            f"a {d.label} reads as {listed([f'the {x.label}' for x in ways], 'or')}"
            for d, ways in unnamed.items()
        )
        err_console.print(
            f"note: the {perf.kit} kit has no {drums} of its own: {heard}. Against a "
            "song, `cymbalism analyze --chart` names such strokes by the part.",
            highlight=False,
            soft_wrap=False,
        )


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
