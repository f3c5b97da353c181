"""Writing a session while it is played: hits, judgements and level changes in batches.

A :class:`SessionWriter` keeps what arrives in memory and commits it in one transaction
every ``flush_hits`` hits or every ``flush_ms`` milliseconds (a background thread sees to
the timing), whichever comes first. What is committed survives a crash, a kill or a
power cut (SQLite runs with WAL and ``synchronous=FULL``); at most the last
``flush_ms`` of playing can be lost. The writer is thread-safe: an input thread may add
hits while the engine's thread adds judgements.

A database that refuses a commit while the song plays (another program holds it) holds
up nothing: the rows wait for the next commit and :attr:`SessionWriter.trouble` says
why. One that refuses the last commit gets the rows kept in a file, stored the next
time the database is opened (:mod:`cymbalism.store.unsaved`).

Get one from :meth:`cymbalism.store.Store.start_session` or
:meth:`cymbalism.store.Store.reopen`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from cymbalism.errors import DeviceError, InputError
from cymbalism.model.chart import Level
from cymbalism.model.hits import Hits
from cymbalism.model.session import BarLayout, Player
from cymbalism.model.validate import validate_times
from cymbalism.store.batch import Batch, commit_batch
from cymbalism.store.db import database_reason
from cymbalism.store.unsaved import keep_unsaved

if TYPE_CHECKING:
    from cymbalism.store.store import Store

__all__ = ["SessionWriter"]

_log = logging.getLogger(__name__)


def _as_1d(name: str, value: Any, n: int | None, dtype: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=dtype))
    if arr.ndim != 1:
        raise InputError(f"{name} must be a number or a 1-D array, got shape {arr.shape}")
    if n is not None and arr.size != n:
        if arr.size == 1:
            return np.broadcast_to(arr, (n,))
        raise InputError(f"{name} has {arr.size} values but onset_sec has {n}")
    return arr


def _check_times(name: str, sec: np.ndarray, *, allow_nan: bool = False) -> None:
    """The reader's check of times (:func:`~cymbalism.model.validate.validate_times`),
    as an InputError; NaN passes where ``allow_nan`` (a miss has no onset)."""
    try:
        validate_times(sec[~np.isnan(sec)] if allow_nan else sec, name, sorted_=False)
    except ValueError as exc:
        raise InputError(str(exc)) from None


class SessionWriter:
    """Adds a live session's hits, judgements, level changes and bars to the store in batches.

    Parameters
    ----------
    store : Store
    session_id : int
    seats : dict of str to (int, Level)
        Each player's name -> (session_players.id, current level).
    flush_hits : int
        Commit once this many hits are waiting.
    flush_ms : float
        Commit whatever is waiting at least this often (0 disables the timer thread;
        then only ``flush_hits``, :meth:`flush` and :meth:`finish` commit).
    n_bars : int
        Bars of the session's layout already stored (a reopened session continues them).
    started_at : datetime, optional
        When the session started (UTC), as stored: an end kept in a file is stored only
        into the session that started then (not a new one of the same id in a database
        made anew).

    Notes
    -----
    Use it as a context manager: leaving the block commits what is waiting and, if
    the block ended normally, finishes the session. After an exception the session stays
    "recording", so it is offered as cut short on the next start.
    """

    def __init__(
        self,
        store: Store,
        session_id: int,
        seats: dict[str, tuple[int, Level]],
        *,
        flush_hits: int = 256,
        flush_ms: float = 250.0,
        n_bars: int = 0,
        started_at: datetime | None = None,
    ) -> None:
        if flush_hits < 1:
            raise InputError(f"flush_hits must be at least 1, got {flush_hits}")
        if flush_ms < 0:
            raise InputError(f"flush_ms must not be negative, got {flush_ms}")
        self.store = store
        self.session_id = session_id
        #: When the session started: with its id, it names the session in a kept file.
        self.started_at = started_at
        self._seats = dict(seats)
        self._by_seat = {sp_id: name for name, (sp_id, _) in self._seats.items()}
        self.flush_hits = int(flush_hits)
        self.flush_ms = float(flush_ms)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._hits: list[np.ndarray] = []  # rows (sp_id, onset, lane, velocity) as float64
        self._n_hits_waiting = 0
        self._n_in_flight = 0
        self._judgements: list[dict[str, Any]] = []
        self._levels: list[dict[str, Any]] = []
        self._bars: list[dict[str, Any]] = []
        self._presence: list[dict[str, Any]] = []
        self._until: dict[str, float | None] = {}
        self._n_bars = int(n_bars)
        self._closed = False
        #: Why the last commit failed, while rows wait for the next (None once one works).
        self.trouble: str | None = None
        self.n_committed = 0
        self._last_flush = time.monotonic()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._due_now = False
        self._thread: threading.Thread | None = None
        if self.flush_ms > 0:
            self._thread = threading.Thread(
                target=self._tick, name=f"cymbalism-writer-{session_id}", daemon=True
            )
            self._thread.start()

    # -- who
    @property
    def players(self) -> list[str]:
        """The names of the session's players, in seat order."""
        return list(self._seats)

    def _seat(self, player: str | int | Player) -> int:
        if isinstance(player, Player):
            player = player.name
        if isinstance(player, (int, np.integer)) and not isinstance(player, bool):
            names = list(self._seats)
            if not 0 <= int(player) < len(names):
                raise InputError(f"no seat {player}; this session has {len(names)} players")
            player = names[int(player)]
        try:
            return self._seats[str(player)][0]
        except KeyError:
            raise InputError(
                f"no player {player!r} in session {self.session_id}; players: {self.players}"
            ) from None

    def level_of(self, player: str | int | Player) -> Level:
        """The level the player is playing now."""
        sp = self._seat(player)
        return self._seats[self._by_seat[sp]][1]

    # -- what
    def add_hits(
        self,
        player: str | int | Player,
        onset_sec: float | Iterable[float] | np.ndarray,
        lane: int | Iterable[int] | np.ndarray,
        velocity: int | Iterable[int] | np.ndarray = 100,
    ) -> None:
        """Add one hit or many of one player.

        Parameters
        ----------
        player : str, int or Player
            The player's name, seat number, or the Player.
        onset_sec : float or np.ndarray [shape=(n,), float64, seconds]
            When each hit sounded on the session's clock, latency already subtracted.
        lane : int or np.ndarray [shape=(n,)]
            :class:`~cymbalism.model.lanes.Lane` of each hit (or one for all).
        velocity : int or np.ndarray [shape=(n,), 1-127]
        """
        self._check_open()
        sp = self._seat(player)
        onset = _as_1d("onset_sec", onset_sec, None, np.float64)
        n = onset.size
        if n == 0:
            return
        lanes = _as_1d("lane", lane, n, np.int64)
        vel = _as_1d("velocity", velocity, n, np.int64)
        try:  # exactly what loading the session checks, so a stored hit can be read back
            Hits.from_arrays(onset, lanes, vel)
        except ValueError as exc:
            raise InputError(f"a hit for session {self.session_id} was refused: {exc}") from None
        rows = np.empty((n, 4), dtype=np.float64)
        rows[:, 0] = sp
        rows[:, 1] = onset
        rows[:, 2] = lanes
        rows[:, 3] = vel
        with self._lock:
            self._hits.append(rows)
            self._n_hits_waiting += n
            due = self._n_hits_waiting >= self.flush_hits
        if due:
            self._flush_soon()

    def add_judgements(
        self,
        player: str | int | Player,
        target_sec: float | Iterable[float] | np.ndarray,
        lane: int | Iterable[int] | np.ndarray,
        error_sec: float | Iterable[float] | np.ndarray,
        *,
        onset_sec: float | Iterable[float] | np.ndarray | None = None,
        verdict: str | Iterable[str] | None = None,
    ) -> None:
        """Add what the judge said about one or more chart notes (or extra hits).

        Parameters
        ----------
        target_sec : float or np.ndarray [shape=(n,), seconds]
            The notes' target times; NaN for an extra hit (no note).
        lane : int or np.ndarray [shape=(n,)]
        error_sec : float or np.ndarray [shape=(n,), seconds]
            Played - target (positive = late); NaN for a miss and for an extra hit.
        onset_sec : optional, np.ndarray [shape=(n,), seconds]
            The judged hits' times (NaN for misses); by default target + error.
        verdict : optional, str or sequence of str
            The word shown to the player; by default ``"miss"`` where ``error_sec`` is
            NaN, ``"extra"`` where ``target_sec`` is NaN, and ``"hit"`` elsewhere.
        """
        self._check_open()
        sp = self._seat(player)
        target = _as_1d("target_sec", target_sec, None, np.float64)
        n = target.size
        if n == 0:
            return
        lanes = _as_1d("lane", lane, n, np.int64)
        error = _as_1d("error_sec", error_sec, n, np.float64)
        _check_times("target_sec", target, allow_nan=True)
        _check_times("error_sec", error, allow_nan=True)
        onset = (
            target + error if onset_sec is None else _as_1d("onset_sec", onset_sec, n, np.float64)
        )
        _check_times("onset_sec", onset, allow_nan=True)
        if verdict is None:
            words = np.where(np.isnan(target), "extra", np.where(np.isnan(error), "miss", "hit"))
        else:
            said = [verdict] if isinstance(verdict, str) else list(verdict)
            words = np.broadcast_to(np.array(said, dtype=object), (n,))
        level = int(self.level_of(player))

        def _num(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        rows = [
            {
                "session_player_id": sp,
                "target_sec": _num(t),
                "lane": int(ln),
                "onset_sec": _num(o),
                "error_sec": _num(e),
                "verdict": str(w)[:12],
                "level": level,
            }
            for t, ln, o, e, w in zip(
                target.tolist(),
                lanes.tolist(),
                onset.tolist(),
                error.tolist(),
                words,
                strict=True,
            )
        ]
        with self._lock:
            self._judgements.extend(rows)

    def add_alignment(self, player: str | int | Player, alignment: Any) -> None:
        """Add every judgement of an :class:`~cymbalism.analysis.align.Alignment`.

        Each chart note gets a row (a hit, a note under a drum roll hit, ``"roll"``, or
        a miss) and each extra hit one more.
        """
        targets = alignment.targets
        hits = alignment.hits
        idx = np.asarray(alignment.hit_index)
        onset = np.full(idx.shape, np.nan)
        onset[idx >= 0] = hits.onset_sec[idx[idx >= 0]]  # a player may have no hits at all
        words = np.where(idx < 0, "miss", np.where(alignment.roll, "roll", "hit"))
        self.add_judgements(
            player,
            targets.onset_sec,
            targets.lane,
            alignment.error_sec,
            onset_sec=onset,
            verdict=words.tolist(),
        )
        extra = np.asarray(alignment.extra_index, dtype=np.int64)
        if extra.size:
            self.add_judgements(
                player,
                np.full(extra.size, np.nan),
                hits.lane[extra],
                np.full(extra.size, np.nan),
                onset_sec=hits.onset_sec[extra],
            )

    def level_change(
        self,
        player: str | int | Player,
        at_sec: float,
        level: Level | str | int,
        *,
        reason: str = "",
    ) -> None:
        """Record that ``player`` plays the part at ``level`` from ``at_sec`` on."""
        self._check_open()
        sp = self._seat(player)
        at = float(at_sec)
        _check_times("at_sec", np.asarray([at]))
        new = Level.parse(level)
        name = self._by_seat[sp]
        with self._lock:
            old = self._seats[name][1]
            self._seats[name] = (sp, new)
            self._levels.append(
                {
                    "session_player_id": sp,
                    "at_sec": at,
                    "from_level": int(old),
                    "to_level": int(new),
                    "reason": reason[:300],
                }
            )
        self._flush_soon()

    def add_bar(self, bar: BarLayout) -> None:
        """Record where the next bar of the song was played (the engine lays out each)."""
        self._check_open()
        with self._lock:
            self._bars.append(
                {
                    "session_id": self.session_id,
                    "idx": self._n_bars,
                    "start_qn": float(bar.start_qn),
                    "end_qn": float(bar.end_qn),
                    "stretch": float(bar.stretch),
                    "shift_sec": float(bar.shift_sec),
                }
            )
            self._n_bars += 1

    def presence(self, player: str | int | Player, at_sec: float, *, present: bool) -> None:
        """Record that ``player`` left (``present=False``) or came back at ``at_sec``."""
        self._check_open()
        sp = self._seat(player)
        at = float(at_sec)
        _check_times("at_sec", np.asarray([at]))
        with self._lock:
            self._presence.append(
                {"session_player_id": sp, "at_sec": at, "present": int(bool(present))}
            )
        self._flush_soon()

    def stopped(self, until_sec: float | None) -> None:
        """Record the song second the session was stopped at (None: played to the end)."""
        self._check_open()
        if until_sec is not None:
            _check_times("until_sec", np.asarray([float(until_sec)]))
        with self._lock:
            self._until["until_sec"] = None if until_sec is None else float(until_sec)

    # -- when
    @property
    def pending(self) -> int:
        """Hits not yet committed (waiting, or in the transaction being written)."""
        with self._lock:
            return self._n_hits_waiting + self._n_in_flight

    def flush(self, *, finished: bool = False) -> int:
        """Commit everything waiting, in one transaction; return the number of hits.

        Parameters
        ----------
        finished : bool
            Mark the session finished in the same transaction.

        Raises
        ------
        DeviceError
            If the database refuses the write; nothing is dropped, the rows stay
            waiting and the next flush tries again.
        """
        with self._write_lock:
            batch = self._take()
            try:
                with self.store.engine.begin() as conn:
                    commit_batch(conn, self.session_id, batch, finished=finished)
            except SQLAlchemyError as exc:
                self._put_back(batch)
                raise DeviceError(
                    f"could not save session {self.session_id} ({batch.n_hits} hits kept "
                    f"waiting): {database_reason(exc)}"
                ) from exc
            with self._lock:
                self._n_in_flight = 0
                self.n_committed += batch.n_hits
            return batch.n_hits

    def _take(self) -> Batch:
        """Everything waiting, as one batch in flight; the waiting lists start afresh."""
        with self._lock:
            batch = Batch(
                hits=np.concatenate(self._hits) if self._hits else np.empty((0, 4)),
                judgements=self._judgements,
                levels=self._levels,
                bars=self._bars,
                presence=self._presence,
                until=self._until,
            )
            self._hits, self._judgements, self._levels = [], [], []
            self._bars, self._presence, self._until = [], [], {}
            self._n_in_flight, self._n_hits_waiting = self._n_hits_waiting, 0
            self._last_flush = time.monotonic()
        return batch

    def _put_back(self, batch: Batch) -> None:
        """A batch the database refused waits again, ahead of what came meanwhile."""
        with self._lock:
            if batch.n_hits:
                self._hits.insert(0, batch.hits)
            self._n_hits_waiting += batch.n_hits
            self._n_in_flight = 0
            self._judgements[:0] = batch.judgements
            self._levels[:0] = batch.levels
            self._bars[:0] = batch.bars
            self._presence[:0] = batch.presence
            self._until = batch.until | self._until

    def _flush_or_wait(self) -> None:
        """Commit what is waiting while playing: a database that refuses is noted in
        :attr:`trouble` (the live view says so), and the rows wait for the next commit
        (the song and its hits go on either way)."""
        try:
            self.flush()
        except DeviceError as exc:
            if self.trouble is None:  # the live view says it to the players
                _log.info("%s; trying again", exc)
            self.trouble = str(exc)
        else:
            self.trouble = None

    def _flush_soon(self) -> None:
        """Commit now, off the player's thread: the writer's thread is woken (a database
        that makes it wait holds up no engine, no studio); without one, here."""
        if self._thread is None:
            self._flush_or_wait()
            return
        self._due_now = True
        self._wake.set()

    def _tick(self) -> None:
        period = self.flush_ms / 1000.0
        while not self._stop.is_set():
            self._wake.wait(period / 2)
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                waiting = bool(
                    self._hits or self._judgements or self._levels or self._bars or self._presence
                )
                due = self._due_now or time.monotonic() - self._last_flush >= period
                self._due_now = False
            if waiting and due:
                self._flush_or_wait()

    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"session {self.session_id} is closed; reopen it to add more")

    # -- the end
    def close(self) -> None:
        """Commit what is waiting and stop, leaving the session open ("recording").

        Raises
        ------
        DeviceError
            If the database refuses the last commit. What was waiting is then kept in a
            file (see :mod:`cymbalism.store.unsaved`) and stored the next time the
            database is opened; the message says where.
        """
        self._end(finished=False)

    def finish(self) -> int:
        """Commit what is waiting and mark the session finished; return its id.

        Raises
        ------
        DeviceError
            As :meth:`close`; the file also keeps the finished mark.
        """
        self._end(finished=True)
        return self.session_id

    def _end(self, *, finished: bool) -> None:
        if self._closed:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.flush(finished=finished)
        except DeviceError as exc:
            batch = self._take()
            path = keep_unsaved(
                self.store, self.session_id, batch, finished=finished, started_at=self.started_at
            )
            if path is None:  # nowhere to keep it: it stays waiting for another try
                self._put_back(batch)
                raise
            self._closed = True
            cause = exc.__cause__
            why = database_reason(cause) if isinstance(cause, SQLAlchemyError) else str(exc)
            raise DeviceError(
                f"the database refused the end of session {self.session_id} ({why}); "
                f"{batch.what()} kept in {path}, to be stored the next time cymbalism "
                "opens this database"
            ) from exc
        self._closed = True

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.close()
