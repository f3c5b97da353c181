"""Live commands: ``ports``, ``calibrate`` and ``play`` (and ``demo --live``), under the
terminal view."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.text import Text

from cymbalism.cli.common import (
    API_HELP,
    AUDIO_HELP,
    AUDIO_OFFSET_HELP,
    DB_HELP,
    KIT_HELP,
    MIX_HELP,
    app,
    console,
    db_option,
    matching_window,
    parse_tempo,
    positive,
)
from cymbalism.cli.format import print_pads_note, print_report
from cymbalism.errors import InputError
from cymbalism.model.session import DEFAULT_WINDOW_SEC

if TYPE_CHECKING:
    from cymbalism.live.run import LiveSetup
    from cymbalism.model.chart import Chart


def _loop_bars(text: str | None) -> tuple[int, int] | None:
    """``5-8`` -> (5, 8): bars as people count them, both included."""
    if text is None:
        return None
    a, sep, b = text.partition("-")
    if not sep or not a.strip().isdigit() or not b.strip().isdigit():
        raise InputError(f"--loop takes bars A-B such as 5-8, got {text!r}")
    return int(a), int(b)


def _wrap_items(head: str, items: list[str], width: int) -> list[str]:
    """``head`` and the (rich markup) items on lines of at most ``width`` cells, two
    spaces apart, breaking only between items; later lines are indented by two."""
    lines, line = [], head
    for item in items:
        candidate = f"{line}  {item}"
        if Text.from_markup(candidate).cell_len > width:
            lines.append(line)
            candidate = f"  {item}"
        line = candidate
    return [*lines, line]


def _live_session(chart: Chart, setup: LiveSetup, *, keys: bool) -> object:
    """Run a live session under the terminal view; print the summary; return the result."""
    from rich.live import Live

    from cymbalism.live.run import run_live
    from cymbalism.live.view import render

    if keys:
        from cymbalism.live.inputs import DEFAULT_KEYMAPS

        players = [p for p in setup.specs if p.kind == "keys"]
        for spec, keymap in zip(players, DEFAULT_KEYMAPS, strict=False):
            pads = [f"[bold]{escape(k)}[/] {lane.label}" for k, lane in keymap.items()]
            for line in _wrap_items(f"{spec.name}'s pads:", pads, console.width):
                console.print(line, highlight=False)
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
    print_report(result.report)
    for name, levels in result.levels.items():
        if len(levels) > 1:
            path = " -> ".join(f"{lv.label} ({t:.0f} s)" for t, lv in levels)
            console.print(f"{name}'s path: {path}", highlight=False)
    if session_id is not None:
        console.print(f"saved as session {session_id}", highlight=False)
    return result


@app.command("ports")
def _ports(
    api: str | None = typer.Option(None, "--api", help=API_HELP),
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
        ...,
        "--input",
        "-i",
        help="A MIDI input port (part of its name), 'keys', or 'mic' (mic=DEVICE for "
        "another sound card, @ch2 for its input channel).",
    ),
    bpm: float = typer.Option(100.0, "--bpm", help="Tempo of the clicks."),
    clicks: int = typer.Option(16, "--clicks", help="Clicks to tap along to (after one bar)."),
    click: str = typer.Option("audio", "--click", help="'audio', or a MIDI output port."),
    api: str | None = typer.Option(None, "--api", help=API_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    store: str | None = typer.Option(None, "--store", hidden=True),
) -> None:
    """Measure an input's latency: tap along to the clicks; the median offset is kept.

    A microphone hears the clicks from the speakers itself: keep the kit quiet,
    and a stroke played with the speakers is then judged on time. With headphones
    on, play the snare along with the clicks instead.
    """
    import queue

    from cymbalism.errors import DeviceError, InputError
    from cymbalism.live.calibration import calibrate_input
    from cymbalism.live.clock import MonotonicClock
    from cymbalism.live.inputs import (
        Input,
        KeyboardInput,
        MicInput,
        MidiInput,
        MidoBackend,
        Route,
        find_port,
        mic_calibration_name,
    )
    from cymbalism.live.metronome import open_output
    from cymbalism.live.run import PlayerSpec, parse_input
    from cymbalism.model.lanes import Lane
    from cymbalism.store.store import Store

    clock = MonotonicClock()
    sink: queue.SimpleQueue = queue.SimpleQueue()
    backend = None
    inp: Input
    is_mic = PlayerSpec("you", input.partition("@")[0]).kind == "mic"
    if is_mic:
        spec = parse_input(input)
        device, audio_kit = spec.microphone
        name = mic_calibration_name(device)
        inp = MicInput(
            "you", clock=clock, device=device, channel=spec.mic_channel, kit=audio_kit, sink=sink
        )
    elif input.lower() in {"keys", "keyboard"}:
        name = "keyboard"
        keys = {k: Lane.SNARE for k in "abcdefghijklmnopqrstuvwxyz ,./;'"}
        inp = KeyboardInput({"tap": keys}, clock=clock, sink=sink)
    else:
        backend = MidoBackend(api)
        name = find_port(input, backend.input_names())
        inp = MidiInput(name, [Route("tap")], clock=clock, backend=backend, sink=sink)
    out = open_output(
        clock,
        audio=click == "audio",
        midi_port=None if click == "audio" else click,
        backend=backend,
    )
    if not out.audible:
        raise DeviceError(f"calibration needs to be heard: {out.description}")
    if is_mic:
        console.print(
            f"[bold]{inp.name}[/] listens for the clicks from the speakers: keep the kit "
            f"quiet for one bar and {clicks} clicks at {bpm:g} BPM. With headphones on, "
            "play the snare along with the clicks instead.",
            highlight=False,
        )
    else:
        console.print(
            f"Tap [bold]{name}[/] along with the click: one bar to get the pulse, then "
            f"{clicks} clicks at {bpm:g} BPM.",
            highlight=False,
        )
    inp.start()
    out.start()
    try:
        cal = calibrate_input(inp, out, clock, bpm=bpm, n_clicks=clicks)
    except InputError as e:
        if not is_mic:
            raise
        raise InputError(
            f"{inp.name} heard fewer than 4 of the {clicks} clicks where they sounded: turn "
            "the speakers up or move the microphone nearer them; with headphones on, play "
            "the snare along with the clicks"
        ) from e
    finally:
        inp.stop()
        out.stop()
    Store(db_option(db, store)).add_calibration(
        name, cal.offset_sec, sd_sec=cal.spread_sec, n=cal.n_taps
    )
    console.print(
        f"[bold]{name}[/]: latency {cal.offset_sec * 1000:+.1f} ms (from {cal.n_taps} of "
        f"{cal.n_clicks} taps, steadiness ±{cal.spread_sec * 1000:.1f} ms); it is now "
        "subtracted from every hit of this input",
        highlight=False,
    )


@app.command("play")
def _play(
    song: str = typer.Argument(
        ...,
        help="A built-in song (see `cymbalism songs`), a chart file, or a Clone Hero / YARG "
        "song folder or .sng package.",
    ),
    player: list[str] = typer.Option(
        ...,
        "--player",
        "-p",
        help="NAME:INPUT[:LEVEL]; INPUT is keys, sim-expert, sim-beginner, a MIDI port "
        "(PORT@ch2 or PORT@36-51 to share one) or a microphone (mic, mic=DEVICE/KIT@ch2); "
        "LEVEL a level (beginner .. expert, expert+ for the double-kick part) or 'lesson'.",
    ),
    follow: bool = typer.Option(False, "--follow", help="The click follows the duo's tempo."),
    loop: str | None = typer.Option(None, "--loop", help="Loop bars A-B (from 1)."),
    repeats: int = typer.Option(4, "--repeats", help="Times through the loop."),
    tempo: str = typer.Option("100%", "--tempo", help="Practice tempo, such as 80%."),
    count_in: int = typer.Option(1, "--count-in", help="Bars of click before the song."),
    window_ms: float = typer.Option(
        DEFAULT_WINDOW_SEC * 1000, "--window-ms", help="Matching window (ms)."
    ),
    backing: bool = typer.Option(False, "--backing", help="Play the notes nobody plays."),
    click: str = typer.Option(
        "audio",
        "--click",
        help="'audio' (the sound card: click, music and drums, mixed by --mix), 'none' "
        "(silent), or a MIDI output (the click only).",
    ),
    mix: str | None = typer.Option(None, "--mix", help=MIX_HELP),
    hit_sounds: str = typer.Option(
        "own",
        "--hit-sounds",
        help="Whose strokes the sampled kit plays: 'own' (computer keys and simulated "
        "players; an e-kit's module is left alone), 'all' (e-kits too) or 'off'.",
    ),
    audio: Path | None = typer.Option(None, "--audio", help=AUDIO_HELP),
    audio_offset: float = typer.Option(0.0, "--audio-offset", help=AUDIO_OFFSET_HELP),
    kit: str | None = typer.Option(None, "--kit", help=KIT_HELP),
    api: str | None = typer.Option(None, "--api", help=API_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP + " 'none' keeps nothing."),
    store: str | None = typer.Option(None, "--store", hidden=True),
    seconds: float | None = typer.Option(None, "--seconds", help="Stop after this long."),
) -> None:
    """Play a song together, judged live; at the end, the summary `analyze` gives.

    The song's recording plays with the click (a Clone Hero / YARG song's
    stems with the drums muted, a built-in song's music, or --audio),
    stretched to the practice tempo, looped and following the duo as the
    click does.
    """
    from dataclasses import replace

    from cymbalism.io.charts import load_chart
    from cymbalism.live.engine import LiveOptions
    from cymbalism.live.run import LiveSetup, parse_player, sounding_players
    from cymbalism.model.chart import Level
    from cymbalism.model.session import Settings
    from cymbalism.sound.audio import song_audio_for, with_audio_source
    from cymbalism.sound.mixer import parse_mix

    positive(seconds, "--seconds")
    positive(count_in, "--count-in", zero_ok=True)
    positive(repeats, "--repeats")
    specs = [parse_player(p) for p in player]
    gains = parse_mix(mix)
    sounding_players(specs, hit_sounds)  # a bad --hit-sounds: said before anything starts
    settings = Settings(
        window_sec=matching_window(window_ms),
        tempo_scale=parse_tempo(tempo),
        follow=follow,
        count_in_bars=count_in,
    )
    options = LiveOptions(loop_bars=_loop_bars(loop), loop_repeats=repeats, backing=backing)
    chart = load_chart(song)
    specs = [replace(s, level=chart.level_or_full(s.level)) for s in specs]
    if chart.top_level < Level.EXPERT:
        console.print(
            f"this chart's hardest part is {chart.top_level.label}: it is the full part here",
            highlight=False,
        )
    for spec in specs:
        chart.part(spec.level)  # Expert+ on a song without double kicks: said before anything
    print_pads_note(chart)
    song_audio = None
    if click == "audio":
        song_audio, said = song_audio_for(song, chart, audio=audio, audio_offset_ms=audio_offset)
        for line in said:
            console.print(f"[yellow]{line}[/]", highlight=False)
        if song_audio is not None:
            parts = ", ".join(p.name for p in song_audio.sources.values())
            muted = " (the drum stems muted)" if song_audio.drums is not None else ""
            console.print(f"music: {parts}{muted}", highlight=False)
    elif audio is not None:
        console.print("[yellow]--audio plays only with --click audio[/]")
    setup = LiveSetup(
        specs,
        settings,
        options,
        click=click,
        kit=kit,
        api=api,
        store_url=db_option(db, store),
        max_sec=seconds,
        gains=gains,
        hit_sounds=hit_sounds,
        song_audio=song_audio,
    )
    chart = with_audio_source(chart, song, audio=audio, audio_offset_ms=audio_offset)
    _live_session(chart, setup, keys=any(s.kind == "keys" for s in specs))


def demo_live(seconds: float, seed: int, db: str | None = None) -> None:
    """The demo duet played through the live engine in real time, kept in the store."""
    positive(seconds, "--seconds")
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
        store_url=db,
        seed=seed,
        max_sec=seconds,
    )
    console.print(
        f"[bold]cymbalism demo --live[/]: the simulated duet, hit by hit through the live "
        f"engine in real time ({seconds:g} s; Ctrl-C stops)",
        highlight=False,
    )
    _live_session(demo_chart(), setup, keys=False)
