"""Sound commands: ``render`` (a stored session as the room heard it, or a song's practice
track) to a WAV, FLAC, Ogg or M4A file, with each part on its own if asked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from cymbalism.cli.common import (
    AUDIO_HELP,
    AUDIO_OFFSET_HELP,
    DB_HELP,
    MIX_HELP,
    app,
    console,
    open_store,
    parse_tempo,
)
from cymbalism.cli.format import clock
from cymbalism.errors import InputError

_OUT_SUFFIXES = (".wav", ".flac", ".ogg", ".m4a")


def _file_name(part: str) -> str:
    """A stem's name as a file name (a player's name may hold anything)."""
    return re.sub(r"[^\w.-]+", "_", part).strip("._") or "part"


@app.command("render")
def _render(
    source: str = typer.Argument(
        ...,
        help="A stored session (its number or 'last'), or a song: a built-in song, a chart "
        "file or a song folder.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="The file to write: .wav, .flac, .ogg or .m4a."
    ),
    level: str = typer.Option(
        "expert", "--level", "-l", help="A song's part to play as drums (beginner ... expert)."
    ),
    tempo: str = typer.Option("100%", "--tempo", help="A song's tempo, such as 70%."),
    click: bool = typer.Option(False, "--click", help="Add the click (and the count-in)."),
    mix: str | None = typer.Option(None, "--mix", help=MIX_HELP),
    stems: Path | None = typer.Option(
        None,
        "--stems",
        help="Also write each part on its own into this folder (music, click, each "
        "player's drums), lossless (FLAC, or WAV with a .wav --out) and on the same "
        "samples as --out, with render.json saying where song time zero is.",
    ),
    audio: Path | None = typer.Option(None, "--audio", help=AUDIO_HELP),
    audio_offset: float | None = typer.Option(None, "--audio-offset", help=AUDIO_OFFSET_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Render a session as the room heard it, or a song's practice track, to a file.

    A session: the music at the tempo it was played (following the duo,
    looping where it looped), each player's hits as drums panned apart, the
    click if asked. A song: its music with one part played as drums, for a
    beginner to hear before playing.
    """
    from cymbalism.sound.audio import (
        WRITABLE_FORMATS,
        audio_for_chart,
        song_audio_for,
        write_audio,
    )
    from cymbalism.sound.mixer import parse_mix
    from cymbalism.sound.render import render_practice, render_session
    from cymbalism.store.refs import is_session_ref

    if out.suffix.lower() not in _OUT_SUFFIXES:
        raise InputError(f"cannot write {out.name}: {WRITABLE_FORMATS}")
    gains = parse_mix(mix)
    session_ref = is_session_ref(source) and not Path(source).exists()
    if session_ref:
        if level != "expert" or tempo != "100%":
            raise InputError(
                "a session renders as it was played: --level and --tempo are for a song"
            )
        with open_store(db) as store:
            stored = store.load(store.resolve(source))
        session = stored.session
        song_audio, said = audio_for_chart(session.chart, audio=audio, audio_offset_ms=audio_offset)
        rendered = render_session(
            session, song_audio, gains=gains, click=click, stems=stems is not None
        )
        what = f"session {stored.id}, {session.chart.title}: " + ", ".join(
            p.name for p in session.players
        )
    else:
        from cymbalism.io.charts import load_chart

        chart = load_chart(source)
        lv = chart.level_or_full(level)
        chart.part(lv)  # a level the song does not have: one clear error, before any work
        song_audio, said = song_audio_for(
            source, chart, audio=audio, audio_offset_ms=audio_offset or 0.0
        )
        scale = parse_tempo(tempo)
        rendered = render_practice(
            chart,
            lv,
            song_audio,
            tempo_scale=scale,
            gains=gains,
            click=click,
            stems=stems is not None,
        )
        what = f"{chart.title}, the {lv.label} part at {scale:.0%}"
    path = write_audio(out, rendered.frames, rendered.sample_rate)
    seen: set[str] = set()
    for line in [*said, *rendered.messages]:
        if line not in seen:
            seen.add(line)
            console.print(f"[yellow]{line}[/]", highlight=False)
    console.print(
        f"wrote {path}: {what} ({clock(rendered.seconds)}, {rendered.sample_rate} Hz stereo; "
        f"song time zero at {-rendered.start_sec:.3f} s)",
        highlight=False,
    )
    if stems is not None:
        files = {}
        # lossless, whatever the mix is: a lossy codec smears the attacks by milliseconds
        suffix = ".wav" if out.suffix.lower() == ".wav" else ".flac"
        for name, frames in rendered.stems.items():
            file = stems / f"{_file_name(name)}{suffix}"
            files[name] = write_audio(file, frames, rendered.sample_rate).name
        (stems / "render.json").write_text(
            json.dumps(
                {
                    "mix": str(path),
                    "sample_rate": rendered.sample_rate,
                    "start_sec": rendered.start_sec,
                    "song_zero_sample": rendered.frame_of(0.0),
                    "stems": files,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        console.print(f"stems: {', '.join(files.values())} in {stems}", highlight=False)
