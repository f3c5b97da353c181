"""Rooms: one duet in the studio, the browsers connected to it, and its players.

A room holds a song, two player slots and the connections (browser tabs) that play
them. One tab may play both players (two key sets on one keyboard); a phone or a
second computer joins with the room code and plays one. Hits arrive stamped on the
browser's clock; the room turns them into seconds on the server's clock with that
connection's :class:`~cymbalism.web.clocksync.ClockSync`, subtracts the input's
calibrated latency, and hands them to the live engine, which judges, meters the sync,
moves the beginner's level and records every hit. There is no judging here.

Everything in a room runs on the server's event loop, one message at a time.

Who may do what: anyone with the room code may join, watch and claim a free player;
only a seated player, or the device that opened the room (it holds the room's host
token), may start or stop the song. A hit is judged only if it falls within the song
(count-in to end) and not after now, give or take :data:`HIT_MARGIN_SEC`; anything
else is refused with an error and never reaches the engine or the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cymbalism.errors import AccessError, CymbalismError, InputError, LimitError, NotFoundError
from cymbalism.model.chart import Chart, Level
from cymbalism.report.format import counted
from cymbalism.web.clocksync import ClockSync
from cymbalism.web.protocol import Calibrate, Claim, Hit, Ping, Start, Stop, SyncSample

__all__ = [
    "HIT_MARGIN_SEC",
    "ROOM_CODE_ALPHABET",
    "ROOM_CODE_LENGTH",
    "STOP_GRACE_SEC",
    "CalibrationBook",
    "Connection",
    "Practice",
    "Room",
    "RoomEngine",
    "RoomRegistry",
    "Slot",
    "song_clock",
]

_log = logging.getLogger(__name__)

#: Letters and digits that cannot be mistaken for one another when read off a screen.
ROOM_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: 31**10 = 8.2e14 codes: see the README for how long guessing one would take.
ROOM_CODE_LENGTH = 10
#: How far outside the song (or after now) a hit may fall: the clock sync's error is at
#: most half a round trip, and round trips over 1 s are not used.
HIT_MARGIN_SEC = 1.0
#: When the song is stopped, strokes struck before Stop that are still on their way
#: (from another device, over a network) are taken this long afterwards.
STOP_GRACE_SEC = 0.5
#: A clock sample's server time must be one the studio gave out this recently.
SYNC_MAX_AGE_SEC = 10.0

State = Literal["lobby", "playing", "finished"]

#: What a tab that comes back mid-song is sent again, so it can draw the song so far.
_REPLAYED = frozenset({"layout", "judgement", "miss", "level", "left", "back", "tips", "store"})
#: A room keeps at most this many of them (a long song at two players is a few thousand).
MAX_REPLAY = 50_000


def song_clock(sec: float) -> str:
    """Song seconds as a player reads them: ``"0:09"``, ``"1:05"``."""
    whole = max(0, int(sec))
    return f"{whole // 60}:{whole % 60:02d}"


class CalibrationBook(Protocol):
    """Where measured latencies are remembered between rooms (the store's calibrations)."""

    def recall(self, player: str, input: str) -> float | None:
        """The latest latency of ``player`` on ``input``, in seconds, or None."""
        ...

    def remember(self, player: str, input: str, offset_sec: float, taps: int) -> None:
        """Keep a latency just measured."""
        ...


@dataclass(frozen=True)
class Practice:
    """How a room plays its song: where it starts, what it loops, how the tempo ramps.

    Attributes
    ----------
    start_bar : int, optional
        Start at this bar (from 1) and play to the end.
    loop_bars : (int, int), optional
        Loop these bars (from 1, inclusive) ``loop_repeats`` times.
    loop_repeats : int
    ramp_step : float
        Tempo scale added each time through the loop.
    ramp_to : float
        The tempo scale the ramp stops at.
    """

    start_bar: int | None = None
    loop_bars: tuple[int, int] | None = None
    loop_repeats: int = 4
    ramp_step: float = 0.0
    ramp_to: float = 1.0

    def bars(self, n_bars: int) -> tuple[int, int] | None:
        """The bars the engine plays in a loop (a start bar is a loop played once)."""
        if self.loop_bars is not None:
            return self.loop_bars
        if self.start_bar is not None:
            return (self.start_bar, n_bars)
        return None

    def repeats(self) -> int:
        return self.loop_repeats if self.loop_bars is not None else 1

    def public(self) -> dict[str, Any]:
        return {
            "start_bar": self.start_bar,
            "loop_bars": list(self.loop_bars) if self.loop_bars else None,
            "loop_repeats": self.repeats(),
            "ramp_percent": round(self.ramp_step * 100),
            "ramp_to_percent": round(self.ramp_to * 100),
        }


@dataclass
class Connection:
    """One browser tab connected to a room.

    Messages to the tab go through ``outbox``, which the WebSocket handler drains, so a
    slow tab never holds up the room. A tab that falls ``outbox_size`` messages behind is
    marked closed and its handler cuts it off. What a tab is owed when it joins (the
    welcome and, mid-song, the song so far) waits in ``backlog``, sent before the outbox
    and not counted against its bound: a long song is more than a tab may fall behind.
    """

    id: int
    sync: ClockSync = field(default_factory=ClockSync)
    outbox: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=2000)
    )
    backlog: deque[dict[str, Any]] = field(default_factory=deque)
    closed: bool = False
    #: Whether this tab opened the room (it showed the room's host token).
    is_host: bool = False

    def deliver(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the tab; never blocks, never raises."""
        if self.closed:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.closed = True

    def close(self, code: int, reason: str) -> None:
        """Ask the handler to close the tab's socket with ``code`` and ``reason``."""
        if not self.closed:
            with contextlib.suppress(asyncio.QueueFull):
                self.outbox.put_nowait({"type": "close", "code": code, "reason": reason})


@dataclass
class Slot:
    """One player's place in a room."""

    name: str
    level: Level
    input: str = "keys1"
    offset_sec: float = 0.0
    conn_id: int | None = None
    #: ``"none"``, ``"remembered"`` (from an earlier room) or ``"measured"`` (here).
    offset_source: str = "none"
    #: The secret that takes the seat back after a reload (given to the claiming tab).
    seat: str | None = None
    #: Song seconds when the player's tab went away mid-song (None while present).
    left_sec: float | None = None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "level": self.level.label,
            "input": self.input,
            "offset_ms": round(self.offset_sec * 1000.0, 1),
            "offset_source": self.offset_source,
            "claimed": self.conn_id is not None,
            "left_sec": None if self.left_sec is None else round(self.left_sec, 3),
        }


class Room:
    """A duet being set up, played, or finished.

    Parameters
    ----------
    code : str
        The room code people type to join.
    song : str
        The song's name in the library.
    chart : Chart
        The song.
    slots : list of Slot
        The players.
    tempo_scale : float
        Practice tempo as a fraction of the song's.
    count_in_bars : int
    lesson : bool
        Whether a player below the full part follows the lesson path (the part grows).
    practice : Practice
        Start bar, loop and tempo ramp.
    calibrations : CalibrationBook, optional
        Remembers each player's latency per input between rooms.
    engine_factory : callable
        ``engine_factory(room, count_in_start_sec) -> RoomEngine``: builds the live engine
        when the song starts.
    clock : callable returning seconds
        The server's monotonic clock (the engine's clock).
    owner : str
        The client that opened the room (see :func:`cymbalism.web.ratelimit.client_key`).

    Attributes
    ----------
    host_token : str
        Given only to whoever opened the room: lets that device start and stop the song
        without playing.
    key : str
        Given to every tab that joins: reads the room's report and its players'
        histories (so does the room code).
    """

    def __init__(
        self,
        *,
        code: str,
        song: str,
        chart: Chart,
        slots: list[Slot],
        engine_factory: Callable[[Room, float], RoomEngine],
        clock: Callable[[], float],
        tempo_scale: float = 1.0,
        count_in_bars: int = 1,
        lesson: bool = True,
        practice: Practice | None = None,
        calibrations: CalibrationBook | None = None,
        lead_sec: float = 0.6,
        owner: str = "?",
    ) -> None:
        self.code = code
        self.owner = owner
        self.host_token = secrets.token_urlsafe(24)
        self.key = secrets.token_urlsafe(24)
        self.created_sec = clock()
        self.finished_sec: float | None = None
        #: When Stop was pressed (server seconds), while the song waits for the strokes
        #: struck before it.
        self.stopping_sec: float | None = None
        self.song = song
        self.chart = chart
        self.slots = slots
        self.clock = clock
        self.tempo_scale = tempo_scale
        self.count_in_bars = count_in_bars
        self.lesson = lesson
        self.practice = practice or Practice()
        self.calibrations = calibrations
        self.lead_sec = lead_sec
        #: How long after the last bar the song is closed (late hits still count).
        self.tail_sec = 0.5
        self.state: State = "lobby"
        self.start_sec: float | None = None
        self.session_id: Any = None
        self.result: dict[str, Any] | None = None
        self.connections: dict[int, Connection] = {}
        self._engine_factory = engine_factory
        self._engine: RoomEngine | None = None
        self._starting = False
        self._ticker: asyncio.Task[None] | None = None
        self._start_msg: dict[str, Any] | None = None
        self._replay: list[dict[str, Any]] = []
        for i, slot in enumerate(slots):
            if slot.input == "keys1" and i == 1:
                slot.input = "keys2"  # two players at one keyboard: the right-hand set

    # ------------------------------------------------------------------ views
    def public(self) -> dict[str, Any]:
        """What every tab may know about the room."""
        return {
            "code": self.code,
            "song": self.song,
            "title": self.chart.title,
            "state": self.state,
            "players": [s.public() for s in self.slots],
            "session_id": self.session_id,
            "tempo_percent": round(self.tempo_scale * 100),
            "count_in_bars": self.count_in_bars,
            "practice": self.practice.public(),
            "lanes": self.lanes(),
        }

    def lanes(self) -> list[int]:
        """The lanes of the song's full part: the rows every player's view shows."""
        return sorted({int(x) for x in self.chart.part(self.chart.top_level).lane})

    # ------------------------------------------------------------------ connections
    def seats(self, conn: Connection) -> bool:
        """Whether ``conn`` plays a player of this room."""
        return any(s.conn_id == conn.id for s in self.slots)

    def opens_with(self, key: str | None) -> bool:
        """Whether ``key`` is this room's code or its key (compared in constant time)."""
        if not key:
            return False
        given = _normalise_code(key).encode()
        return secrets.compare_digest(given, self.code.encode()) or secrets.compare_digest(
            key.encode(), self.key.encode()
        )

    def join(self, conn: Connection) -> None:
        """A tab arrived: welcome it; mid-song, send it the song so far to draw."""
        self.connections[conn.id] = conn
        conn.backlog.append(
            {
                "type": "welcome",
                "conn": conn.id,
                "room": self.public(),
                "key": self.key,
                "host": conn.is_host,
            }
        )
        if self.state == "playing" and self._start_msg is not None:
            conn.backlog.append({**self._start_msg, "room": self.public(), "rejoin": True})
            conn.backlog.extend(self._replay)
        elif self.state == "finished" and self.result is not None:
            conn.backlog.append({"type": "finished", "result": self.result, "room": self.public()})

    def close(self, reason: str, *, code: int = 4410) -> None:
        """Close every tab's socket (the room expired); the room is gone after this."""
        for conn in list(self.connections.values()):
            conn.close(code, reason)

    def song_sec(self) -> float:
        """Where the song is now (seconds from its first bar; negative in the count-in)."""
        return 0.0 if self.start_sec is None else self.clock() - self.start_sec

    def leave(self, conn: Connection) -> None:
        """A tab left (or was cut off): free its players. Mid-song, every other tab is
        told who left and when; the duet goes on, and the player may come back."""
        self.connections.pop(conn.id, None)
        conn.closed = True
        freed = [i for i, slot in enumerate(self.slots) if slot.conn_id == conn.id]
        for i in freed:
            self.slots[i].conn_id = None
            if self.state == "playing":
                self._left(i)
        if freed:
            self.broadcast({"type": "room", "room": self.public()})

    def _left(self, player: int) -> None:
        """Player ``player`` is gone mid-song: the engine and every tab are told."""
        slot = self.slots[player]
        slot.left_sec = self.song_sec()
        self._presence(player, present=False)
        self._post(
            [
                {
                    "type": "left",
                    "player": player,
                    "name": slot.name,
                    "at_sec": round(slot.left_sec, 3),
                    "text": f"{slot.name} left at {song_clock(slot.left_sec)}; waiting",
                }
            ]
        )

    def _presence(self, player: int, *, present: bool) -> None:
        """Tell the engine that a player left mid-song (or took their seat again), so they
        are judged, synchronised and stored only while there."""
        if self.state == "playing" and self._engine is not None:
            self._engine.presence(player, self.clock(), present=present)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every tab in the room."""
        for conn in list(self.connections.values()):
            conn.deliver(message)

    # ------------------------------------------------------------------ messages
    async def handle(self, conn: Connection, msg: Any) -> None:
        """Act on one validated message from ``conn``.

        Raises
        ------
        InputError
            If the message does not make sense now (a hit for a player this tab does not
            play, a start before both players are there). The connection stays open.
        """
        if isinstance(msg, Ping):
            conn.deliver({"type": "pong", "client_ms": msg.client_ms, "server_sec": self.clock()})
        elif isinstance(msg, SyncSample):
            now = self.clock()
            if not now - SYNC_MAX_AGE_SEC <= msg.server_sec <= now:
                raise InputError(
                    f"a clock sample must carry a server time this studio sent in the last "
                    f"{SYNC_MAX_AGE_SEC:g} s (got {msg.server_sec:.6g}, it is now {now:.6g})"
                )
            if conn.sync.add(send_ms=msg.send_ms, server_sec=msg.server_sec, recv_ms=msg.recv_ms):
                est = conn.sync.estimate()
                conn.deliver(
                    {
                        "type": "clock",
                        "offset_sec": est.offset_sec,
                        "rtt_ms": round(est.rtt_sec * 1000.0, 2),
                    }
                )
        elif isinstance(msg, Hit):
            self._hit(conn, msg)
        elif isinstance(msg, Claim):
            await self._claim(conn, msg)
        elif isinstance(msg, Calibrate):
            slot = self._own_slot(conn, msg.player)
            if self.state != "lobby":
                raise InputError("calibrate before the song starts")
            slot.offset_sec = msg.offset_ms / 1000.0
            slot.offset_source = "measured"
            self.broadcast({"type": "room", "room": self.public()})
            if self.calibrations is not None:
                await asyncio.to_thread(
                    self.calibrations.remember,
                    slot.name,
                    self.input_name(slot.input),
                    slot.offset_sec,
                    msg.taps,
                )
        elif isinstance(msg, Start | Stop):
            if not conn.is_host and not self.seats(conn):
                raise AccessError(
                    f"only a player, or the device that opened the room, may {msg.type} "
                    "the song; pick Play here first"
                )
            if isinstance(msg, Start):
                await self.start()
            elif self.state == "playing":
                await self.finish(stopped=True)

    @staticmethod
    def input_name(kind: str) -> str:
        """How the engine and the store name a browser input."""
        return f"browser {kind}"

    async def _claim(self, conn: Connection, msg: Claim) -> None:
        i = self._index(msg.player)
        slot = self.slots[i]
        own_seat = msg.seat is not None and slot.seat is not None and msg.seat == slot.seat
        taken = slot.conn_id not in (None, conn.id) and slot.conn_id in self.connections
        if taken and not own_seat:
            raise InputError(f"{slot.name} is already being played from another device")
        # the same browser may be back before its old line is known to have dropped:
        # the seat moves to the new tab, and the old one's leaving no longer frees it;
        # an old tab still there (the same room open twice) is told it plays no more
        if taken and slot.conn_id is not None:
            self.connections[slot.conn_id].deliver(
                {
                    "type": "error",
                    "status": 409,
                    "error": f"{slot.name} is now played from another tab or device; "
                    "this tab no longer plays them",
                }
            )
        slot.conn_id = conn.id
        if slot.seat is None or not own_seat:
            slot.seat = secrets.token_urlsafe(18)
        conn.deliver({"type": "seat", "player": i, "seat": slot.seat})
        if self.state == "lobby":
            if msg.input != slot.input or slot.offset_source == "none":
                await self._recall(slot, msg.input)
            slot.input = msg.input
        elif slot.left_sec is not None:
            back = self.song_sec()
            self._presence(i, present=True)
            self._post(
                [
                    {
                        "type": "back",
                        "player": i,
                        "name": slot.name,
                        "at_sec": round(back, 3),
                        "text": f"{slot.name} is back at {song_clock(back)}",
                    }
                ]
            )
            slot.left_sec = None
        self.broadcast({"type": "room", "room": self.public()})

    async def _recall(self, slot: Slot, kind: str) -> None:
        """Offer the latency remembered for this player and input (none: 0 ms)."""
        if slot.offset_source == "measured" and kind == slot.input:
            return
        known = None
        if self.calibrations is not None:
            known = await asyncio.to_thread(
                self.calibrations.recall, slot.name, self.input_name(kind)
            )
        slot.offset_sec = 0.0 if known is None else known
        slot.offset_source = "none" if known is None else "remembered"

    def _index(self, player: int) -> int:
        if not 0 <= player < len(self.slots):
            raise InputError(
                f"this room has {counted(len(self.slots), 'player')}; "
                f"there is no player {player + 1}"
            )
        return player

    def _own_slot(self, conn: Connection, player: int) -> Slot:
        slot = self.slots[self._index(player)]
        if slot.conn_id != conn.id:
            raise InputError(f"this device does not play {slot.name}; claim the player first")
        return slot

    def _hit(self, conn: Connection, msg: Hit) -> None:
        slot = self._own_slot(conn, msg.player)
        if self.state != "playing" or self._engine is None or self.start_sec is None:
            return  # warming up in the lobby or after the end: nothing to judge
        if not conn.sync.ready:
            raise InputError("a hit arrived before this device's clock was synchronised")
        server_sec = conn.sync.to_server_sec(msg.t_ms) - slot.offset_sec
        self._check_in_song(server_sec)
        if self.stopping_sec is not None and server_sec > self.stopping_sec:
            return  # struck after the song was stopped: nothing to judge
        feedback = self._engine.push_hit(msg.player, server_sec, msg.lane, msg.velocity)
        if feedback:
            for message in feedback:
                message.setdefault("seq", msg.seq)
            self._post(feedback)

    def _check_in_song(self, server_sec: float) -> None:
        """Refuse a hit outside the song (count-in to end) or after now, beyond the margin."""
        engine = self._engine
        assert engine is not None and self.start_sec is not None
        first = self.start_sec - engine.count_in_sec - HIT_MARGIN_SEC
        last = min(self.clock(), engine.end_sec + self.tail_sec) + HIT_MARGIN_SEC
        if not first <= server_sec <= last:
            raise InputError(
                f"a hit at {server_sec - self.start_sec:+.3f} s of the song was refused: "
                f"it must fall between {first - self.start_sec:+.3f} s and "
                f"{last - self.start_sec:+.3f} s (is this device's clock synchronised?)"
            )

    def _post(self, messages: list[dict[str, Any]]) -> None:
        """Send the song's messages to every tab, keeping those a returning tab needs."""
        for message in messages:
            if message.get("type") in _REPLAYED and len(self._replay) < MAX_REPLAY:
                self._replay.append(message)
            self.broadcast(message)

    # ------------------------------------------------------------------ the song
    async def start(self) -> None:
        """Count in and start the song, once every player is there."""
        if self.state != "lobby":
            done = "started" if self.state == "playing" else "ended"
            raise InputError(f"the song has already {done}")
        if self._starting:
            raise InputError("the song is already starting")
        missing = [s.name for s in self.slots if s.conn_id is None]
        if missing:
            raise InputError(f"waiting for {', '.join(missing)} to join before the count-in")
        self._starting = True
        try:  # the engine stores the new session, which may wait for the database
            engine = await asyncio.to_thread(
                self._engine_factory, self, self.clock() + self.lead_sec
            )
        finally:
            self._starting = False
        self._engine = engine
        self.start_sec = engine.zero_sec
        self.state = "playing"
        self._replay = []
        self._start_msg = {
            "type": "start",
            "start_server_sec": self.start_sec,
            "count_in_sec": engine.count_in_sec,
            "lanes": self.lanes(),
            "players": [{"name": x.name, "level": x.level.label} for x in self.slots],
        }
        self.broadcast({**self._start_msg, "room": self.public()})
        gone = [i for i, slot in enumerate(self.slots) if slot.conn_id is None]
        for i in gone:  # their tab closed while the new session was being stored
            self._left(i)
        if gone:
            self.broadcast({"type": "room", "room": self.public()})
        self._post(engine.tick(self.clock()))
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    async def _tick_loop(self, period_sec: float = 0.05) -> None:
        while self.state == "playing" and self._engine is not None:
            await asyncio.sleep(period_sec)
            now = self.clock()
            if self.stopping_sec is not None:  # after Stop no note is due, none missed
                now = min(now, self.stopping_sec)
            try:
                self._post(self._engine.tick(now))
            except Exception as exc:  # say so, and keep the song going
                _log.exception("tick of room %s failed", self.code)
                self.broadcast({"type": "error", "status": 500, "error": f"engine: {exc}"})
            if now >= self._engine.end_sec + self.tail_sec:
                await self.finish()

    async def finish(self, *, stopped: bool = False) -> None:
        """End the song, store it, and tell every tab how it went and where the report is.

        Parameters
        ----------
        stopped : bool
            The song was cut short: notes after now are left out rather than missed.
            Strokes struck before now are still taken for :data:`STOP_GRACE_SEC`.
        """
        if self.state != "playing" or self._engine is None or self.stopping_sec is not None:
            return
        if stopped:  # the strokes struck before Stop that are on their way still count
            self.stopping_sec = self.clock()
            await asyncio.sleep(STOP_GRACE_SEC)
        self.state = "finished"
        self.finished_sec = self.clock()
        stopped_at = self.stopping_sec
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not asyncio.current_task():
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        engine = self._engine
        try:  # analysis and the last commit take a moment: off the event loop
            result = await asyncio.to_thread(engine.finish, stopped_at_sec=stopped_at)
        except Exception as exc:
            _log.exception("closing the session of room %s failed", self.code)
            status = exc.http_status if isinstance(exc, CymbalismError) else 500
            self.broadcast(
                {
                    "type": "error",
                    "status": status,
                    "error": f"the session could not be closed properly: {exc}",
                }
            )
            result = {"session_id": None, "summary": []}
        self.session_id = result.get("session_id")
        self.result = result
        self.broadcast({"type": "finished", "result": result, "room": self.public()})


class RoomEngine(Protocol):
    """What a room needs from the live engine (:class:`cymbalism.web.duet.DuetEngine`).

    Built by ``engine_factory(room, count_in_start_sec)`` when the song starts; times are
    seconds on the server's clock, messages are JSON-ready dicts for every tab.
    """

    @property
    def zero_sec(self) -> float:
        """When song position 0 falls, on the server's clock."""
        ...

    @property
    def count_in_sec(self) -> float:
        """The length of the count-in before it."""
        ...

    @property
    def end_sec(self) -> float:
        """When the song ends on the server's clock (``inf`` while not known yet)."""
        ...

    def push_hit(
        self, player: int, server_sec: float, lane: int, velocity: int
    ) -> list[dict[str, Any]]:
        """Judge one hit of slot ``player``; the messages for the tabs."""
        ...

    def tick(self, now_sec: float) -> list[dict[str, Any]]:
        """Let time pass to ``now_sec``; the messages for the tabs."""
        ...

    def presence(self, player: int, server_sec: float, *, present: bool) -> None:
        """Slot ``player`` left (``present=False``) or came back at ``server_sec``."""
        ...

    def finish(self, *, stopped_at_sec: float | None = None) -> dict[str, Any]:
        """Close the song (cut short at ``stopped_at_sec`` if given); the result."""
        ...


def _normalise_code(code: str) -> str:
    """A code as typed (any case, spaces or dashes between groups) -> as stored."""
    return re.sub(r"[\s-]+", "", code[:64]).upper()


class RoomRegistry:
    """The rooms of one server, found by code; rooms expire, and each client has a cap.

    Parameters
    ----------
    clock : callable returning seconds
        The rooms' clock.
    max_rooms : int
        Rooms kept at once; when full, the oldest finished room is forgotten first.
    max_rooms_per_client : int
        Rooms one client may have waiting or playing at once.
    lobby_ttl_sec : float
        A room that never starts closes this long after it was opened.
    finished_ttl_sec : float
        A finished room (and the way to its report) is kept this long after the end.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        max_rooms: int = 256,
        max_rooms_per_client: int = 8,
        lobby_ttl_sec: float = 1800.0,
        finished_ttl_sec: float = 7200.0,
    ) -> None:
        self.clock = clock
        self.max_rooms = max_rooms
        self.max_rooms_per_client = max_rooms_per_client
        self.lobby_ttl_sec = lobby_ttl_sec
        self.finished_ttl_sec = finished_ttl_sec
        self._rooms: dict[str, Room] = {}
        self._ids = itertools.count(1)
        self._next_sweep_sec = -math.inf

    def next_connection_id(self) -> int:
        return next(self._ids)

    def new_code(self) -> str:
        while True:
            code = "".join(secrets.choice(ROOM_CODE_ALPHABET) for _ in range(ROOM_CODE_LENGTH))
            if code not in self._rooms:
                return code

    def expire(self) -> None:
        """Close the rooms that never started in time, and forget old finished ones
        (looked at no more than once a second)."""
        now = self.clock()
        if now < self._next_sweep_sec:
            return
        self._next_sweep_sec = now + 1.0
        for code, room in list(self._rooms.items()):
            if room.state == "lobby" and now - room.created_sec > self.lobby_ttl_sec:
                room.close(
                    f"this room was not started within {self.lobby_ttl_sec / 60:g} minutes "
                    "and has closed; open a new one"
                )
            elif room.state == "finished" and (
                now - (room.finished_sec or room.created_sec) > self.finished_ttl_sec
            ):
                room.close("this room's song ended a while ago; the room has closed")
            else:
                continue
            del self._rooms[code]

    def add(self, room: Room) -> Room:
        """Keep ``room``.

        Raises
        ------
        LimitError
            If its owner already has ``max_rooms_per_client`` rooms waiting or playing,
            or the studio is full of them.
        """
        self.expire()
        live = [r for r in self._rooms.values() if r.state != "finished"]
        mine = sum(r.owner == room.owner for r in live)
        if mine >= self.max_rooms_per_client:
            raise LimitError(
                f"you already have {mine} rooms open; play in one of them, or wait: a room "
                f"that never starts closes after {self.lobby_ttl_sec / 60:g} minutes"
            )
        if len(live) >= self.max_rooms:
            raise LimitError(f"the studio already has {len(live)} open rooms; try again later")
        if len(self._rooms) >= self.max_rooms:
            done = min(
                (r for r in self._rooms.values() if r.state == "finished"),
                key=lambda r: r.finished_sec or r.created_sec,
            )
            del self._rooms[done.code]
        self._rooms[room.code] = room
        return room

    def get(self, code: str) -> Room:
        """The room with this code (case, spaces and dashes do not matter).

        Raises
        ------
        NotFoundError
            If there is none (or it expired).
        """
        self.expire()
        room = self._rooms.get(_normalise_code(code))
        if room is None:
            raise NotFoundError(
                f"no room with code {code[:40]!r}; check the code on the host's screen"
            )
        return room

    def by_key(self, key: str | None) -> Room | None:
        """The room whose code or key is ``key``, or None."""
        self.expire()
        if not key:
            return None
        room = self._rooms.get(_normalise_code(key))
        if room is not None:
            return room
        return next((r for r in self._rooms.values() if r.opens_with(key)), None)

    def list(self) -> list[Room]:
        self.expire()
        return list(self._rooms.values())

    async def stop_all(self) -> None:
        """Stop every song being played, storing what was played (the studio is
        shutting down), all at once."""
        await asyncio.gather(*(room.finish(stopped=True) for room in list(self._rooms.values())))
