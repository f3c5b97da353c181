"""A room's duet on the shared live engine: the browser is the input and the speaker.

:class:`DuetEngine` builds the same :class:`cymbalism.live.engine.Engine` that terminal
play uses, with the store's session writer as its recorder, and translates between the
engine and the page:

- hits from the page (already on the server's clock) go to ``Engine.push_hit`` as clock
  nanoseconds (``t_ns=``); the engine's :class:`~cymbalism.live.engine.Feedback` goes back as a
  ``judgement`` message;
- the page is the engine's sound output (:class:`BrowserOutput`): the click and backing
  the engine schedules bar by bar are sent ahead to the page, which plays them in Web
  Audio; the notes each player must play, as the engine lays them out (with the level
  the lesson path chose for each bar), go with them;
- each laid-out bar also says where the song's recording sounds in it (chart seconds
  to song seconds, :func:`cymbalism.sound.music.bar_maps`), so the page plays the
  recording at the tempo, loops and following of the click;
- ``Engine.tick`` reports misses; ``Engine.snapshot`` feeds the sync meter.

It reads the engine only through its public methods and attributes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from cymbalism.analysis.summary import pair_together
from cymbalism.analysis.sync import together_from_start
from cymbalism.errors import DeviceError
from cymbalism.live.clock import NS_PER_SEC, Clock
from cymbalism.live.engine import (
    STORE_BUSY_TEXT,
    STORE_FREE_TEXT,
    Engine,
    Feedback,
    LiveOptions,
    Recorder,
    Verdict,
)
from cymbalism.live.metronome import Sound
from cymbalism.model.lanes import NOT_JUDGED
from cymbalism.model.session import BarLayout, Player, Settings
from cymbalism.report.format import ms, sentence
from cymbalism.report.text import gap_sentence
from cymbalism.sound.music import bar_maps
from cymbalism.web.rooms import Room

__all__ = ["BrowserOutput", "DuetEngine", "SessionRecorder"]

_log = logging.getLogger(__name__)

#: How far ahead the engine lays out bars (and so how far ahead the page sees notes and
#: schedules sounds): the highway shows about three seconds of what is coming, and this
#: covers a slow network too; short enough that the lesson path decides the next level
#: from recent playing (a bar or two later).
WEB_LOOKAHEAD_SEC = 3.5


class BrowserOutput:
    """The engine's sound output when the sound is made by the browser.

    Scheduled sounds wait in :attr:`pending` until the room sends them to the page.
    """

    description = "the click and backing play in the browser"
    audible = True

    def __init__(self) -> None:
        self.pending: list[Sound] = []
        #: Every bar laid out so far: the page places the song's recording by them.
        self.bars: list[BarLayout] = []

    def schedule(self, sounds: Iterable[Sound]) -> None:
        self.pending.extend(sounds)

    def add_bar(self, bar: BarLayout, *, zero_ns: int, last: bool = False) -> None:
        self.bars.append(bar)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def take(self) -> list[Sound]:
        out, self.pending = self.pending, []
        return out


class SessionRecorder(Recorder, Protocol):
    """A :class:`~cymbalism.live.engine.Recorder` that stores the session when it ends
    (the store's :class:`~cymbalism.store.writer.SessionWriter`)."""

    session_id: int

    def finish(self) -> int:
        """Close the session and return its id in the store.

        Raises DeviceError if the database refuses the end (then kept in a file)."""
        ...


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 6)


class DuetEngine:
    """The live engine behind one room (a :class:`~cymbalism.web.rooms.RoomEngine`).

    Parameters
    ----------
    room : Room
    count_in_start_sec : float
        When the count-in starts, on the server's clock.
    clock : Clock
        The server's clock (the room's clock reads the same one).
    recorder : SessionRecorder, optional
        Gets every hit as it arrives (the store's session writer).
    backing : bool
        Whether the page also plays the notes of the full part nobody plays.
    meter_period_sec : float
        How often the sync meter is sent.
    """

    def __init__(
        self,
        room: Room,
        count_in_start_sec: float,
        *,
        clock: Clock,
        recorder: SessionRecorder | None = None,
        backing: bool = True,
        meter_period_sec: float = 0.1,
    ) -> None:
        self.room = room
        self.recorder = recorder
        self.players = self.players_of(room)
        self._index = {p.name: i for i, p in enumerate(self.players)}
        top = room.chart.top_level
        lesson_players = tuple(p.name for p in self.players if room.lesson and p.level < top)
        self.settings = self.settings_of(room)
        practice = room.practice
        self.loop_bars = practice.bars(room.chart.n_bars)
        self.loop_repeats = practice.repeats()
        self.output = BrowserOutput()
        self.engine = Engine(
            room.chart,
            self.players,
            self.settings,
            clock,
            recorder,
            output=self.output,
            options=LiveOptions(
                lesson_players=lesson_players,
                lookahead_sec=WEB_LOOKAHEAD_SEC,
                backing=backing,
                loop_bars=self.loop_bars,
                loop_repeats=self.loop_repeats,
                ramp_step=practice.ramp_step,
                ramp_to=practice.ramp_to,
            ),
            start_ns=round(count_in_start_sec * NS_PER_SEC),
        )
        self.zero_sec = self.engine.zero_ns / NS_PER_SEC
        self.count_in_sec = self.engine.count_in_sec
        self.meter_period_sec = meter_period_sec
        self._next_meter_sec = -math.inf
        self._n_bars_sent = 0
        self._n_targets_sent = [0] * len(self.players)
        self._levels = [p.level for p in self.players]
        self._store_busy = False  # as last told to the tabs
        self._passes_told = 0

    @staticmethod
    def players_of(room: Room) -> list[Player]:
        """The room's players as the engine and the store know them."""
        return [
            Player(name=s.name, level=s.level, input=f"browser {s.input}", offset_sec=s.offset_sec)
            for s in room.slots
        ]

    @staticmethod
    def settings_of(room: Room) -> Settings:
        """The room's settings as the engine and the store know them."""
        return Settings(tempo_scale=room.tempo_scale, count_in_bars=room.count_in_bars)

    # ------------------------------------------------------------------ in
    def push_hit(
        self, player: int, server_sec: float, lane: int, velocity: int
    ) -> list[dict[str, Any]]:
        fb = self.engine.push_hit(
            self.players[player].name, lane, velocity, t_ns=round(server_sec * NS_PER_SEC)
        )
        judgement = self._judgement(fb)
        judgement["velocity"] = int(velocity)  # other devices sound the stroke
        return [judgement, *self._layout()]

    def presence(self, player: int, server_sec: float, *, present: bool) -> None:
        """A player's connection dropped and their seat was not taken up (``present=False``),
        or they took it again: from then on they are judged (or not) accordingly."""
        name = self.players[player].name
        t_ns = round(server_sec * NS_PER_SEC)
        if present:
            self.engine.player_rejoined(name, t_ns=t_ns)
        else:
            self.engine.player_left(name, t_ns=t_ns)

    def tick(self, now_sec: float) -> list[dict[str, Any]]:
        out = [self._judgement(fb) for fb in self.engine.tick(t_ns=round(now_sec * NS_PER_SEC))]
        out.extend(self._layout())
        out.extend(self._tips_between_loops())
        if self.engine.store_busy != self._store_busy:
            self._store_busy = self.engine.store_busy
            text = STORE_BUSY_TEXT if self._store_busy else STORE_FREE_TEXT
            out.append(
                {"type": "store", "busy": self._store_busy, "text": text[0].upper() + text[1:]}
            )
        if now_sec >= self._next_meter_sec:
            self._next_meter_sec = now_sec + self.meter_period_sec
            out.append(self._meter(now_sec))
        return out

    @property
    def end_sec(self) -> float:
        """When the song ends (server clock), ``inf`` until the last bar is laid out."""
        return self.zero_sec + self.engine.end_sec

    # ------------------------------------------------------------------ out
    @property
    def loop_length(self) -> int | None:
        """Bars in one time through the loop (None when the room does not loop)."""
        if self.loop_bars is None or self.loop_repeats < 2:
            return None
        return self.loop_bars[1] - self.loop_bars[0] + 1

    def pass_of(self, index: int) -> int:
        """Which time through the loop the ``index``-th bar played is (from 1)."""
        n = self.loop_length
        return 1 if n is None else index // n + 1

    def _tips_between_loops(self) -> list[dict[str, Any]]:
        """Once a time through the loop is over, advice on it in words, per player."""
        n = self.loop_length
        if n is None:
            return []
        done = min(self.engine.closed_bars // n, self.loop_repeats - 1)
        out = []
        while self._passes_told < done:
            k = self._passes_told
            self._passes_told += 1
            bars = range(k * n, (k + 1) * n)
            out.append(
                {
                    "type": "tips",
                    "pass": k + 1,
                    "of": self.loop_repeats,
                    "next_tempo_percent": round(self.engine.tempo_scale_of((k + 1) * n) * 100),
                    "players": [
                        {"name": p.name, "tips": self.engine.tips(p.name, bars=bars)}
                        for p in self.players
                    ],
                }
            )
        return out

    def _judgement(self, fb: Feedback) -> dict[str, Any]:
        if fb.verdict == Verdict.MISS:
            return {
                "type": "miss",
                "player": self._index[fb.player],
                "lane": fb.lane,
                "target_sec": _finite(fb.target_sec),
                "bar": fb.bar,
            }
        return {
            "type": "judgement",
            "player": self._index[fb.player],
            "verdict": fb.verdict.value,
            "lane": fb.lane,
            # the lane of the note it counted for (a closed hi-hat for an open one, a
            # simplified part's folded lanes); none when no note is concerned (an extra,
            # the hi-hat pedal on a game chart)
            "target_lane": None if fb.target_lane == NOT_JUDGED else fb.target_lane,
            "hit_sec": _finite(fb.onset_sec),
            "target_sec": _finite(fb.target_sec),
            "error_ms": None if math.isnan(fb.error_sec) else round(fb.error_sec * 1000.0, 2),
            "bar": fb.bar,
        }

    def _layout(self) -> list[dict[str, Any]]:
        """What the engine laid out since last time: sounds, bars, notes, level changes."""
        sounds = self.output.take()
        bars = self.engine.bars[self._n_bars_sent :]
        if not sounds and not bars:
            return []
        self._n_bars_sent += len(bars)
        msg: dict[str, Any] = {
            "type": "layout",
            "sounds": [
                [round(self.engine.song_sec(s.t_ns), 6), s.kind, int(s.lane), int(s.velocity)]
                for s in sorted(sounds)
            ],
            # start, bar number, time through the loop, tempo (% of the song's)
            "bars": [
                [
                    round(b.start_sec, 6),
                    b.chart_bar + 1,
                    self.pass_of(b.index),
                    round(100 * self.settings.tempo_scale / b.stretch, 1),
                ]
                for b in bars
            ],
            # the song's recording along the bars: chart seconds [c0, c1) sound at song
            # seconds [s0, s1) (the page adds the recording's own offset)
            "music": [
                [round(m.rec0, 6), round(m.rec1, 6), round(m.song0, 6), round(m.song1, 6)]
                for m in bar_maps(
                    [b.layout for b in bars],
                    self.room.chart.tempo_map,
                    tempo_scale=self.settings.tempo_scale,
                    offset_sec=0.0,
                )
            ],
            "targets": [],
        }
        out = [msg]
        for i, p in enumerate(self.players):
            targets = self.engine.laid_out(p.name)
            fresh = np.arange(self._n_targets_sent[i], len(targets))
            new = targets.select(fresh)
            self._n_targets_sent[i] = len(targets)
            msg["targets"].append(
                {
                    "sec": np.round(new.onset_sec, 6).tolist(),
                    "lane": new.lane.astype(int).tolist(),
                    "vel": new.velocity.astype(int).tolist(),
                    # the notes under a drum roll, drawn as a roll lane
                    "roll": self.engine.laid_out_rolls(p.name)[fresh].astype(int).tolist(),
                }
            )
        for b in bars:
            for name, level in b.levels:
                i = self._index[name]
                if level != self._levels[i]:
                    out.append(
                        {
                            "type": "level",
                            "player": i,
                            "level": level.label,
                            "up": level > self._levels[i],
                            "bar": b.chart_bar + 1,
                            "from_sec": round(b.start_sec, 6),
                        }
                    )
                    self._levels[i] = level
        return out

    def _meter(self, now_sec: float) -> dict[str, Any]:
        snap = self.engine.snapshot(t_ns=round(now_sec * NS_PER_SEC))
        return {
            "type": "meter",
            "bar": snap["bar"],
            "section": snap["section"],
            "sync": snap["sync"],
            "players": [
                {
                    k: p[k]
                    for k in (
                        "level",
                        "hits",
                        "misses",
                        "extras",
                        "hit_rate",
                        "mean_error_ms",
                        "mean_abs_error_ms",
                    )
                }
                for p in snap["players"]
            ],
        }

    # ------------------------------------------------------------------ the end
    def finish(self, *, stopped_at_sec: float | None = None) -> dict[str, Any]:
        """Close the song (at ``stopped_at_sec`` on the server clock if it was cut short),
        store it, and say how it went."""
        until = None if stopped_at_sec is None else stopped_at_sec - self.zero_sec
        result = self.engine.finish(until_sec=until)
        tips = [{"name": p.name, "tips": self.engine.tips(p.name)} for p in self.players]
        session_id = None
        summary = []
        kept_aside = False
        if self.recorder is not None:
            session_id = self.recorder.session_id
            try:
                self.recorder.finish()
            except DeviceError as exc:  # kept in a file, stored when the next song starts
                _log.warning("%s", exc)
                kept_aside = True
                summary.append(
                    "The database was busy: the end of this session is kept aside and "
                    "stored once the database is free (the report waits for it)."
                )
        for name, t in result.timing.items():
            if t.n_notes:
                timed = np.isfinite(t.mean_error_sec)  # not when only rolls were hit
                summary.append(
                    f"{name}: {t.n_hit} of {t.n_notes} notes ({100 * t.hit_rate:.0f}%)"
                    + (f", mean error {ms(t.mean_error_sec, signed=True)}" if timed else "")
                    if t.n_hit
                    else f"{name}: none of the {t.n_notes} notes were hit"
                )
        if result.sync is not None and result.sync.n:
            a, b = (p.name for p in self.players[:2])
            summary.append(gap_sentence(result.sync, a, b, opening="Between you:"))
        together = result.came_together_sec
        sync = result.report.sync
        if together is not None and sync is not None:
            summary.append(
                "You were together from the start."
                if together_from_start(sync.asynchrony, together)
                else f"You came together {together:.0f} s into the song."
            )
        elif sync is not None and len(sync.asynchrony):
            a, b = sync.a, sync.b
            _, why = pair_together(
                sync.asynchrony, result.timing[a], result.timing[b], names=(a, b)
            )
            if why:
                summary.append(sentence(why))
        return {
            "session_id": session_id,
            "kept_aside": kept_aside,  # its end waits in a file: its report is not final
            "summary": summary,
            "players": [
                {
                    "name": name,
                    "n_notes": t.n_notes,
                    "n_hit": t.n_hit,
                    "n_miss": t.n_miss,
                    "n_extra": t.n_extra,
                    "hit_rate": t.hit_rate,
                    "mean_error_ms": None
                    if math.isnan(t.mean_error_sec)
                    else t.mean_error_sec * 1000.0,
                }
                for name, t in result.timing.items()
            ],
            "came_together_sec": result.came_together_sec,
            "tips": tips,
        }
