"""The built-in song library: original songs written as drum tablature in TOML files.

Every song here is our own: patterns in common styles, never a transcription. A song
file looks like this (see ``mirrorball.toml``)::

    title = "Mirrorball Nights"
    style = "disco-pop"
    bpm = 114
    time_signature = "4/4"

    [patterns.verse]
    HH = "xx-xxx-xxx-xxx-x"
    OH = "--x---x---x---x-"
    SD = "----o-------o---"
    BD = "o---o---o---o---"

    [[sections]]
    name = "verse"
    bars = ["verse*7", "fill-a"]

A pattern is one or more bars of tablature (see :mod:`cymbalism.songs.tab`; bars within
a row are separated by ``|``). A section lists its bars as pattern names, ``name*N``
repeating a pattern N times. Each section starts with a crash on its first beat (the
hand leaves the hi-hat or ride for it) unless it says ``crash = false``; sections named
``fill...`` never get one. ``free_play = true`` marks a song whose part is only a pulse:
any drum on the beat counts.

The songs carry the full (Expert) part; the easier levels are derived from it by
:func:`cymbalism.coaching.simplify.simplify_chart`, so the library and any chart file
are taught the same way.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.coaching.simplify import simplify_chart
from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import LADDER, NORMAL_VELOCITY, Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.songs.tab import parse_bar

__all__ = [
    "SongInfo",
    "get_song",
    "has_song",
    "list_songs",
    "names_song",
    "parse_song",
    "song_names",
]

_REPEAT = re.compile(r"^\s*([\w.-]+)\s*(?:\*\s*(\d+))?\s*$")
_RIGHT_HAND_TIME = (Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.RIDE)


@dataclass(frozen=True)
class SongInfo:
    """One line of the library's listing."""

    name: str
    title: str
    style: str
    bpm: float
    time_signature: str
    length_sec: float
    n_bars: int
    levels: tuple[Level, ...]
    free_play: bool


def _song_files() -> dict[str, Any]:
    root = resources.files(__name__)
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in root.iterdir()
        if entry.name.endswith(".toml")
    }


def song_names() -> list[str]:
    """The names of the built-in songs, sorted."""
    return sorted(_song_files())


def has_song(name: str) -> bool:
    """Whether ``name`` is a built-in song."""
    return name.strip().lower() in _song_files()


def names_song(spec: str | os.PathLike[str]) -> bool:
    """Whether ``spec``, as typed, names a built-in song.

    It does when it is a built-in song's name and nothing by that name here is a chart:
    a chart file or song package, or a folder holding a chart file, by that name is
    taken before the song; a folder or file by that name holding no chart (photos in a
    folder called ``lanterns``) does not hide it.
    """
    text = str(spec)
    if not has_song(text):
        return False
    from cymbalism.io.charts import CHART_SUFFIXES
    from cymbalism.io.sng import PACKAGE_SUFFIXES

    p = Path(text).expanduser()
    try:
        if p.is_dir():
            return not any(f.is_file() and f.suffix.lower() in CHART_SUFFIXES for f in p.iterdir())
        return not (p.is_file() and p.suffix.lower() in (*CHART_SUFFIXES, *PACKAGE_SUFFIXES))
    except OSError:  # a folder that cannot be read holds no chart for us
        return True


def parse_song(text: str, *, name: str = "song") -> Chart:
    """Build a chart from the TOML text of a song file (the Expert part only).

    Raises
    ------
    InputError
        If the TOML is malformed, a pattern is unknown, rows of one pattern differ in
        bar count, or a step character is not tablature.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"song {name!r}: {exc}") from None
    try:
        bpm = float(doc["bpm"])
        num_s, den_s = str(doc.get("time_signature", "4/4")).split("/")
        num, den = int(num_s), int(den_s)
        patterns: dict[str, dict[str, str]] = doc["patterns"]
        section_specs: list[dict[str, Any]] = doc["sections"]
    except (KeyError, ValueError) as exc:
        raise InputError(
            f"song {name!r}: needs bpm, time_signature 'N/D', [patterns] and [[sections]] ({exc})"
        ) from None
    tempo_map = TempoMap([(0.0, bpm)], [(0.0, num, den)])
    bar_qn = num * 4.0 / den

    split: dict[str, list[dict[str, str]]] = {}
    for pname, rows in patterns.items():
        bars_per_row = {lane: row.strip().strip("|").split("|") for lane, row in rows.items()}
        counts = {len(b) for b in bars_per_row.values()}
        if len(counts) != 1:
            raise InputError(f"song {name!r}: the rows of pattern {pname!r} differ in bar count")
        n = counts.pop()
        split[pname] = [{lane: bars[i] for lane, bars in bars_per_row.items()} for i in range(n)]

    qn: list[float] = []
    lanes: list[int] = []
    vel: list[int] = []
    sections: list[tuple[float, str]] = []
    crashes: list[float] = []
    pos = 0.0
    for spec in section_specs:
        sname = str(spec.get("name", "")).strip()
        if not sname:
            raise InputError(f"song {name!r}: a section has no name")
        sections.append((pos, sname))
        if spec.get("crash", not sname.lower().startswith("fill")):
            crashes.append(pos)
        for entry in spec.get("bars", []):
            m = _REPEAT.match(str(entry))
            if m is None or m.group(1) not in split:
                raise InputError(
                    f"song {name!r}, section {sname!r}: unknown pattern {entry!r} "
                    f"(patterns: {', '.join(split)})"
                )
            for _ in range(int(m.group(2) or 1)):
                for bar in split[m.group(1)]:
                    q, la, ve = parse_bar(
                        bar, start_qn=pos, bar_qn=bar_qn, where=f"song {name!r}, {m.group(1)}"
                    )
                    qn += q
                    lanes += la
                    vel += ve
                    pos += bar_qn
    if not qn:
        raise InputError(f"song {name!r} has no notes")
    q_arr, l_arr, v_arr = np.asarray(qn), np.asarray(lanes), np.asarray(vel)
    if crashes:
        c = np.asarray(crashes)
        on_crash = np.isin(np.round(q_arr, 6), np.round(c, 6))
        keep = ~(on_crash & np.isin(l_arr, [int(x) for x in _RIGHT_HAND_TIME]))
        q_arr = np.concatenate([q_arr[keep], c])
        l_arr = np.concatenate([l_arr[keep], np.full(c.size, int(Lane.CRASH))])
        v_arr = np.concatenate([v_arr[keep], np.full(c.size, NORMAL_VELOCITY)])
    metadata = {
        "name": name,
        "style": str(doc.get("style", "")),
        "description": str(doc.get("description", "")),
    }
    if doc.get("free_play"):
        metadata["free_play"] = "true"
    return Chart(
        title=str(doc.get("title", name)),
        tempo_map=tempo_map,
        parts={Level.EXPERT: Part.from_arrays(q_arr, l_arr, v_arr)},
        sections=tuple(sections),
        end_qn=pos,
        artist=str(doc.get("artist", "cymbalism")),
        metadata=metadata,
    )


@cache
def _load(name: str) -> Chart:
    entry = _song_files()[name]
    chart = parse_song(entry.read_text(encoding="utf-8"), name=name)
    if chart.metadata.get("free_play") == "true":
        # a pulse is as simple as a part gets: every level plays it
        return chart.with_parts({lv: chart.part() for lv in LADDER})
    return simplify_chart(chart)


def get_song(name: str) -> Chart:
    """A built-in song with every level (Expert as written, the rest derived).

    Raises
    ------
    NotFoundError
        If there is no such song; the message lists the songs there are.
    """
    key = name.strip().lower()
    if key not in _song_files():
        raise NotFoundError(f"no built-in song {name!r}; songs: {', '.join(song_names())}")
    return _load(key)


def list_songs() -> list[SongInfo]:
    """Every built-in song with its tempo, time signature, length and levels."""
    out = []
    for name in song_names():
        chart = get_song(name)
        tm = chart.tempo_map
        _, num, den = tm.time_signatures[0]
        out.append(
            SongInfo(
                name=name,
                title=chart.title,
                style=str(chart.metadata.get("style", "")),
                bpm=float(tm.bpm[0]),
                time_signature=f"{num}/{den}",
                length_sec=chart.end_sec,
                n_bars=chart.n_bars,
                levels=tuple(chart.part_levels),
                free_play=chart.metadata.get("free_play") == "true",
            )
        )
    return out
