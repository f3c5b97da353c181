"""The session store: open it, start and finish sessions, read them back, list them.

>>> from cymbalism.model.lanes import Lane
>>> from cymbalism.model.session import Player
>>> from cymbalism.songs import get_song
>>> from cymbalism.store import Store
>>> chart, players = get_song("lanterns"), [Player("Ana"), Player("Ben")]
>>> with Store("sqlite://") as store:  # a file by default; "sqlite://" keeps it in memory
...     with store.start_session(chart, players) as writer:
...         writer.add_hits("Ana", 0.51, Lane.SNARE, 96)
...     stored = store.load(writer.session_id)
>>> stored.session.player("Ana").hits.onset_sec.tolist()
[0.51]

A session whose writer died (crash, kill, power cut) keeps the status ``"recording"``;
:meth:`Store.cut_short` finds it on the next start, and :meth:`Store.finish` or
:meth:`Store.reopen` deal with it. Every committed hit is kept either way. The end of a
session the database refused (held by another program) is kept in a file until
:meth:`Store.recover_unsaved` stores it.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import selectinload

from cymbalism.analysis.sync import SyncStats
from cymbalism.analysis.timing import TimingStats
from cymbalism.errors import CymbalismError, CymbalismWarning, InputError, NotFoundError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.session import BarLayout, Player, Session, Settings
from cymbalism.store.batch import Batch, commit_batch, forget_figures
from cymbalism.store.codec import chart_digest, chart_from_json, chart_to_json
from cymbalism.store.db import make_engine, refused_as_device_error, upgrade
from cymbalism.store.models import (
    Calibration,
    Hit,
    Judgement,
    LevelChange,
    PlayerRow,
    Presence,
    SessionBar,
    SessionPlayerRow,
    SessionRow,
    SongRow,
    utcnow,
)
from cymbalism.store.refs import parse_session_ref
from cymbalism.store.unsaved import recover_unsaved
from cymbalism.store.writer import SessionWriter

__all__ = [
    "MAX_SESSION_ID",
    "DuetSummary",
    "LevelStep",
    "PlayerSummary",
    "SeatInfo",
    "SessionInfo",
    "Store",
    "StoreWarning",
    "StoredSession",
    "skip_unreadable",
]

#: The largest session id any database here can hold (a signed 64-bit key).
MAX_SESSION_ID = 2**63 - 1

#: The largest input latency the store keeps or recalls, either way (seconds).
MAX_LATENCY_SEC = 1.0

#: A "recording" session on another machine is taken as cut short after this silence.
STALE_AFTER = timedelta(minutes=10)


class StoreWarning(CymbalismWarning):
    """Something in the store could not be read and was left out (the rest is shown)."""


def skip_unreadable(session_id: int, exc: Exception) -> None:
    """Say, once, that a session is left out of a listing because it cannot be read."""
    warnings.warn(
        f"session {session_id} is left out: it cannot be read ({exc})", StoreWarning, stacklevel=3
    )


def _aware(ts: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if ts is not None and ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child that nobody reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class PlayerSummary:
    """One player's figures for a session (from :mod:`cymbalism.analysis.timing`).

    Errors are seconds, played - target (positive = late); NaN when nothing was hit.
    """

    n_hits: int
    hit_rate: float
    mean_error_sec: float
    sd_error_sec: float
    mean_abs_error_sec: float
    level_reached: Level

    @classmethod
    def of(cls, stats: TimingStats, *, n_hits: int, level_reached: Level) -> PlayerSummary:
        """The summary of a player's :class:`~cymbalism.analysis.timing.TimingStats`."""
        return cls(
            n_hits=n_hits,
            hit_rate=stats.hit_rate,
            mean_error_sec=stats.mean_error_sec,
            sd_error_sec=stats.sd_error_sec,
            mean_abs_error_sec=stats.mean_abs_error_sec,
            level_reached=level_reached,
        )


@dataclass(frozen=True)
class DuetSummary:
    """The duet's figures (from :mod:`cymbalism.analysis.sync`); seconds, A - B."""

    n: int
    mean_sec: float
    sd_sec: float
    mean_abs_sec: float
    came_together_sec: float | None

    @classmethod
    def of(cls, stats: SyncStats, *, came_together_sec: float | None) -> DuetSummary:
        """The summary of a duet's :class:`~cymbalism.analysis.sync.SyncStats`."""
        return cls(
            n=stats.n,
            mean_sec=stats.mean_sec,
            sd_sec=stats.sd_sec,
            mean_abs_sec=stats.mean_abs_sec,
            came_together_sec=came_together_sec,
        )


@dataclass(frozen=True)
class SeatInfo:
    """A player's seat in a stored session, with the cached summary if there is one."""

    name: str
    seat: int
    level: Level
    part: str
    input: str
    offset_sec: float
    n_hits: int
    summary: PlayerSummary | None = None


@dataclass(frozen=True)
class SessionInfo:
    """What a list of sessions shows about one session."""

    id: int
    title: str
    artist: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    status: str
    cut_short: bool
    source: str
    note: str
    players: tuple[SeatInfo, ...]
    duet: DuetSummary | None = None

    @property
    def player_names(self) -> list[str]:
        """The players' names, in seat order."""
        return [p.name for p in self.players]

    @property
    def has_summary(self) -> bool:
        """Whether every player's and the duet's figures are cached."""
        return all(p.summary is not None for p in self.players) and (
            self.duet is not None or len(self.players) < 2
        )


@dataclass(frozen=True)
class LevelStep:
    """A level change: from ``at_sec`` on, the player plays the part at ``to_level``."""

    at_sec: float
    from_level: Level
    to_level: Level
    reason: str = ""


@dataclass(frozen=True)
class StoredSession:
    """A session read back from the store: its info, the Session and the level changes."""

    info: SessionInfo
    session: Session
    level_changes: Mapping[str, tuple[LevelStep, ...]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        """The session's id in the store."""
        return self.info.id

    @property
    def chart(self) -> Chart:
        """The song."""
        return self.session.chart


def moves_from_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, bool]]:
    """The times a player left (False) and came back (True), from their spans present."""
    moves: list[tuple[float, bool]] = []
    for a, b in spans:
        if np.isfinite(a):
            moves.append((float(a), True))
        if np.isfinite(b):
            moves.append((float(b), False))
    return moves


def spans_from_moves(moves: Sequence[tuple[float, bool]]) -> tuple[tuple[float, float], ...]:
    """A player's spans present from the times they left and came back, in order."""
    spans: list[list[float]] = [[-np.inf, np.inf]]
    for at, here in moves:
        if here and spans and spans[-1][1] == np.inf:
            continue  # already there
        if not here and (not spans or spans[-1][1] != np.inf):
            continue  # already gone
        if here:
            spans.append([at, np.inf])
        elif at <= spans[-1][0]:
            spans.pop()
        else:
            spans[-1][1] = at
    return tuple((float(a), float(b)) for a, b in spans)


#: What a read raises for a value its column should not hold (SQLite keeps any value in
#: any column): a date that is not one, a level no version has, text for a number.
_UNREADABLE = (ValueError, TypeError)


def _player_name(seat: SessionPlayerRow) -> str:
    """The name of the player in a seat; InputError if the player row is gone."""
    if seat.player is None:
        raise InputError(f"its seat {seat.seat} is of player {seat.player_id}, who is not stored")
    return seat.player.name


def _float(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _none_if_nan(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _get_or_insert(orm: OrmSession, model: Any, key: str, value: Any, **values: Any) -> int:
    """The id of the row of ``model`` whose unique column ``key`` is ``value``, added with
    ``values`` if there is none. Another process adding the same row at the same moment
    is no error (``INSERT ... ON CONFLICT DO NOTHING``, then read it back)."""
    column = getattr(model, key)
    found = orm.scalar(select(model.id).where(column == value))
    if found is None:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = orm.get_bind().dialect.name
        upsert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        orm.execute(
            upsert(model)
            .values({key: value, **values})
            .on_conflict_do_nothing(index_elements=[key])
        )
        found = orm.scalar(select(model.id).where(column == value))
    if found is None:  # only if the row was deleted between the insert and the read
        raise CymbalismError(f"could not store {model.__tablename__} {value!r}; try again")
    return int(found)


class Store:
    """The session database (SQLite by default, PostgreSQL by URL), migrated on open.

    Parameters
    ----------
    url : str or path, optional
        A SQLAlchemy URL or a SQLite file path; by default ``$CYMBALISM_DB`` or the
        file in the user's data directory (see :mod:`cymbalism.store.db`).
    """

    def __init__(self, url: str | os.PathLike[str] | None = None) -> None:
        self.engine = make_engine(url)
        upgrade(self.engine)
        self._host = socket.gethostname()

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- writing
    def _song_id(self, orm: OrmSession, chart: Chart) -> int:
        text = chart_to_json(chart)
        digest = chart_digest(text)
        return _get_or_insert(
            orm,
            SongRow,
            "digest",
            digest,
            title=chart.title,
            artist=chart.artist,
            bpm=float(chart.tempo_map.bpm_at(0.0)),
            end_sec=chart.end_sec,
            chart_json=text,
        )

    def _player_id(self, orm: OrmSession, name: str) -> int:
        return _get_or_insert(orm, PlayerRow, "name", name, created_at=utcnow())

    def start_session(
        self,
        chart: Chart,
        players: Sequence[Player],
        *,
        settings: Settings | None = None,
        source: str = "live",
        note: str = "",
        parts: Sequence[str] | None = None,
        started_at: datetime | None = None,
        flush_hits: int = 256,
        flush_ms: float = 250.0,
    ) -> SessionWriter:
        """Store a new session and return the writer that adds its hits as they come.

        Parameters
        ----------
        chart : Chart
            The song.
        players : sequence of Player
            Each with a name, the level of the part they start on, their input and its
            latency offset. Hits already in a Player are written too.
        settings : Settings, optional
        source : str
            Where the session comes from: ``"live"``, ``"import"``, ``"simulate"``.
        parts : sequence of str, optional
            A name for each player's part (default: the level's name).
        flush_hits, flush_ms
            When the writer commits (see :class:`SessionWriter`).

        Raises
        ------
        DeviceError
            If the database refuses the new session (locked by another program, full,
            unreachable); the message gives its reason and nothing is stored.
        """
        if not players:
            raise InputError("a session needs at least one player")
        names = [p.name for p in players]
        if len(set(names)) != len(names):
            raise InputError(f"player names must differ, got {names}")
        if parts is not None and len(parts) != len(players):
            raise InputError(f"{len(parts)} part names given for {len(players)} players")
        settings = settings or Settings()
        now = (_aware(started_at) or utcnow()).astimezone(UTC)  # stored as UTC everywhere
        with refused_as_device_error("the new session could not be stored"):
            session_id, seats = self._insert_session(
                chart, players, settings, source=source, note=note, parts=parts, now=now
            )
        writer = SessionWriter(
            self, session_id, seats, flush_hits=flush_hits, flush_ms=flush_ms, started_at=now
        )
        for p in players:
            if len(p.hits):
                writer.add_hits(p.name, p.hits.onset_sec, p.hits.lane, p.hits.velocity)
        return writer

    def _insert_session(
        self,
        chart: Chart,
        players: Sequence[Player],
        settings: Settings,
        *,
        source: str,
        note: str,
        parts: Sequence[str] | None,
        now: datetime,
    ) -> tuple[int, dict[str, tuple[int, Level]]]:
        """Insert a session's song, row and seats in one transaction; its id and seats."""
        with OrmSession(self.engine) as orm, orm.begin():
            row = SessionRow(
                song_id=self._song_id(orm, chart),
                started_at=now,
                updated_at=now,
                status="recording",
                source=source,
                window_sec=settings.window_sec,
                tempo_scale=settings.tempo_scale,
                follow=int(settings.follow),
                count_in_bars=settings.count_in_bars,
                note=note,
                writer_pid=os.getpid(),
                writer_host=self._host,
            )
            orm.add(row)
            orm.flush()
            seats: dict[str, tuple[int, Level]] = {}
            for i, p in enumerate(players):
                sp = SessionPlayerRow(
                    session_id=row.id,
                    player_id=self._player_id(orm, p.name),
                    seat=i,
                    part=(parts[i] if parts is not None else p.level.label),
                    level=int(p.level),
                    input=p.input,
                    offset_sec=float(p.offset_sec),
                )
                orm.add(sp)
                orm.flush()
                seats[p.name] = (sp.id, p.level)
            return row.id, seats

    def save_session(
        self,
        session: Session,
        *,
        level_changes: Mapping[str, Sequence[LevelStep]] | None = None,
        alignments: Mapping[str, Any] | None = None,
        source: str = "import",
        note: str = "",
    ) -> int:
        """Store a whole session at once (an import, a simulation); return its id.

        ``alignments`` (player name -> Alignment) are stored as the judgements.
        """
        writer = self.start_session(
            session.chart,
            session.players,
            settings=session.settings,
            source=source,
            note=note,
            started_at=session.started_at,
            flush_hits=1 << 40,
            flush_ms=0,
        )
        try:
            for bar in session.layout:
                writer.add_bar(bar)
            for name, steps in (level_changes or {}).items():
                for step in steps:
                    writer.level_change(name, step.at_sec, step.to_level, reason=step.reason)
            for p in session.players:
                for at, here in moves_from_spans(p.present):
                    writer.presence(p.name, at, present=here)
            writer.stopped(session.until_sec)
            for name, alignment in (alignments or {}).items():
                writer.add_alignment(name, alignment)
        except BaseException:
            writer.close()
            raise
        return writer.finish()

    def reopen(
        self, session_id: int, *, flush_hits: int = 256, flush_ms: float = 250.0
    ) -> SessionWriter:
        """Continue a session (one cut short, or a finished one): a writer that adds to it.

        Raises
        ------
        InputError
            If another live process is still writing it.
        """
        info = self.info(session_id)
        if info.status == "recording" and not info.cut_short:
            raise InputError(
                f"session {session_id} is still being recorded by another process "
                f"(pid {self._writer(session_id)[0]}); finish it there first"
            )
        with self.engine.begin() as conn:
            conn.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(
                    status="recording",
                    ended_at=None,
                    writer_pid=os.getpid(),
                    writer_host=self._host,
                    updated_at=utcnow(),
                    until_sec=None,
                )
            )
        self.clear_summary(session_id)
        stored = self.load(session_id)
        seats: dict[str, tuple[int, Level]] = {}
        with OrmSession(self.engine) as orm:
            rows = orm.scalars(
                select(SessionPlayerRow)
                .where(SessionPlayerRow.session_id == session_id)
                .order_by(SessionPlayerRow.seat)
                .options(selectinload(SessionPlayerRow.player))
            ).all()
            for sp in rows:
                steps = stored.level_changes.get(sp.player.name, ())
                level = steps[-1].to_level if steps else Level(sp.level)
                seats[sp.player.name] = (sp.id, level)
        return SessionWriter(
            self,
            session_id,
            seats,
            flush_hits=flush_hits,
            flush_ms=flush_ms,
            n_bars=len(stored.session.layout),
            started_at=stored.info.started_at,
        )

    def recover_unsaved(self) -> list[int]:
        """Store the ends of sessions this database refused before, kept in files since
        (see :mod:`cymbalism.store.unsaved`); the ids of the sessions stored now."""
        return recover_unsaved(self)

    def finish(self, session_id: int) -> None:
        """Mark a session finished (also one cut short: its committed hits are kept)."""
        self.info(session_id)  # raises NotFoundError
        with (
            refused_as_device_error(f"session {session_id} could not be marked finished"),
            self.engine.begin() as conn,
        ):
            commit_batch(conn, session_id, Batch(), finished=True)

    def delete(self, session_id: int) -> None:
        """Remove a session with its hits, judgements, level changes and bars (one that
        cannot be read too)."""
        found = None
        if 1 <= int(session_id) <= MAX_SESSION_ID:
            with self.engine.connect() as conn:
                found = conn.scalar(select(SessionRow.id).where(SessionRow.id == session_id))
        if found is None:
            raise self._not_found(session_id)
        sp_ids = select(SessionPlayerRow.id).where(SessionPlayerRow.session_id == session_id)
        with self.engine.begin() as conn:
            for table in (Hit, Judgement, LevelChange, Presence):
                conn.execute(delete(table).where(table.session_player_id.in_(sp_ids)))
            conn.execute(delete(SessionBar).where(SessionBar.session_id == session_id))
            conn.execute(delete(SessionPlayerRow).where(SessionPlayerRow.session_id == session_id))
            conn.execute(delete(SessionRow).where(SessionRow.id == session_id))

    def add_calibration(
        self,
        input: str,
        offset_sec: float,
        *,
        sd_sec: float | None = None,
        n: int = 0,
        player: str | None = None,
    ) -> int:
        """Remember a measured latency of ``input`` (seconds, subtracted from its hits)."""
        if not np.isfinite(offset_sec) or abs(offset_sec) > MAX_LATENCY_SEC:
            raise InputError(
                f"a latency of {offset_sec} s is not plausible (did you give milliseconds?)"
            )
        with (
            refused_as_device_error("the latency could not be stored"),
            OrmSession(self.engine) as orm,
            orm.begin(),
        ):
            pid = self._player_id(orm, player) if player else None
            row = Calibration(
                player_id=pid, input=input, offset_sec=float(offset_sec), sd_sec=sd_sec, n=n
            )
            orm.add(row)
            orm.flush()
            return row.id

    def calibration(self, input: str, *, player: str | None = None) -> float | None:
        """The latest latency measured for ``input`` in seconds (for ``player`` only, if
        given), or None. A row :meth:`add_calibration` would refuse (another program's,
        text or a huge number) is passed over."""
        query = (
            select(Calibration.offset_sec)
            .where(Calibration.input == input)
            .where(Calibration.offset_sec.between(-MAX_LATENCY_SEC, MAX_LATENCY_SEC))
            .order_by(Calibration.measured_at.desc(), Calibration.id.desc())
            .limit(1)
        )
        if player is not None:
            query = query.join(PlayerRow, PlayerRow.id == Calibration.player_id).where(
                PlayerRow.name == player
            )
        with refused_as_device_error("the latency could not be read"), self.engine.connect() as c:
            value = c.scalar(query)
        return None if value is None else float(value)

    def save_summary(
        self,
        session_id: int,
        players: Mapping[str, PlayerSummary],
        duet: DuetSummary | None,
    ) -> None:
        """Cache a session's figures (computed by the analysis) for lists and history."""
        with OrmSession(self.engine) as orm, orm.begin():
            row = orm.get(SessionRow, session_id)
            if row is None:
                raise NotFoundError(f"no session {session_id} in {self.url}")
            for sp in row.players:
                s = players.get(sp.player.name)
                if s is None:
                    continue
                sp.n_hits = s.n_hits
                sp.hit_rate = _none_if_nan(s.hit_rate)
                sp.mean_error_sec = _none_if_nan(s.mean_error_sec)
                sp.sd_error_sec = _none_if_nan(s.sd_error_sec)
                sp.mean_abs_error_sec = _none_if_nan(s.mean_abs_error_sec)
                sp.level_reached = int(s.level_reached)
            if duet is not None:
                row.sync_n = duet.n
                row.sync_mean_sec = _none_if_nan(duet.mean_sec)
                row.sync_sd_sec = _none_if_nan(duet.sd_sec)
                row.sync_mean_abs_sec = _none_if_nan(duet.mean_abs_sec)
                row.came_together_sec = _none_if_nan(duet.came_together_sec)

    def clear_summary(self, session_id: int, *, conn: Any = None) -> None:
        """Forget a session's cached figures (its hits changed): they are computed again
        when next asked for. ``conn``: inside that open transaction."""
        if conn is None:
            with self.engine.begin() as conn:
                forget_figures(conn, session_id)
            return
        forget_figures(conn, session_id)

    # -- reading
    def _writer(self, session_id: int) -> tuple[int | None, str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(SessionRow.writer_pid, SessionRow.writer_host).where(
                    SessionRow.id == session_id
                )
            ).first()
        return (None, None) if row is None else (row[0], row[1])

    def _is_cut_short(self, row: SessionRow) -> bool:
        if row.status != "recording":
            return False
        if row.writer_host == self._host and row.writer_pid is not None:
            return not _pid_alive(int(row.writer_pid))
        updated = _aware(row.updated_at) or utcnow()
        return utcnow() - updated > STALE_AFTER

    def _infos(self, where: Any = None, *, limit: int | None = None) -> list[SessionInfo]:
        """The sessions ``where`` selects, oldest first (the last ``limit`` of them).

        A session with a row that cannot be read is left out, with a :class:`StoreWarning`
        that names it: one odd row spoils a read of many, so they are then read one by one.
        """
        try:
            return self._read_infos(where, limit=limit)
        except _UNREADABLE:
            pass
        query = select(SessionRow.id).order_by(SessionRow.started_at, SessionRow.id)
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            ids = list(conn.scalars(query))
        out = []
        for session_id in ids[-limit:] if limit is not None else ids:
            try:
                out.extend(self._read_infos(SessionRow.id == session_id))
            except _UNREADABLE as exc:
                skip_unreadable(session_id, exc)
        return out

    def _read_infos(self, where: Any = None, *, limit: int | None = None) -> list[SessionInfo]:
        with OrmSession(self.engine) as orm:
            q = (
                select(SessionRow)
                .options(
                    selectinload(SessionRow.players).selectinload(SessionPlayerRow.player),
                )
                .order_by(SessionRow.started_at, SessionRow.id)
            )
            if where is not None:
                q = q.where(where)
            rows = orm.scalars(q).all()
            if limit is not None:
                rows = rows[-limit:]
            sp_ids = [sp.id for r in rows for sp in r.players]
            counts: dict[int, int] = {}
            if sp_ids:
                counts = dict(
                    orm.execute(  # type: ignore[arg-type]
                        select(Hit.session_player_id, func.count())
                        .where(Hit.session_player_id.in_(sp_ids))
                        .group_by(Hit.session_player_id)
                    ).all()
                )
            songs = (
                {
                    song_id: (title, artist)
                    for song_id, title, artist in orm.execute(
                        select(SongRow.id, SongRow.title, SongRow.artist).where(
                            SongRow.id.in_({r.song_id for r in rows})
                        )
                    ).all()
                }
                if rows
                else {}
            )
            out = []
            for r in rows:
                seats = tuple(
                    SeatInfo(
                        name=_player_name(sp),
                        seat=sp.seat,
                        level=Level(sp.level),
                        part=sp.part,
                        input=sp.input,
                        offset_sec=sp.offset_sec,
                        n_hits=counts.get(sp.id, 0),
                        summary=None
                        if sp.level_reached is None
                        else PlayerSummary(
                            n_hits=int(sp.n_hits or 0),
                            hit_rate=_float(sp.hit_rate),
                            mean_error_sec=_float(sp.mean_error_sec),
                            sd_error_sec=_float(sp.sd_error_sec),
                            mean_abs_error_sec=_float(sp.mean_abs_error_sec),
                            level_reached=Level(sp.level_reached),
                        ),
                    )
                    for sp in r.players
                )
                duet = (
                    None
                    if r.sync_n is None
                    else DuetSummary(
                        n=int(r.sync_n),
                        mean_sec=_float(r.sync_mean_sec),
                        sd_sec=_float(r.sync_sd_sec),
                        mean_abs_sec=_float(r.sync_mean_abs_sec),
                        came_together_sec=r.came_together_sec,
                    )
                )
                out.append(
                    SessionInfo(
                        id=r.id,
                        title=songs.get(r.song_id, ("", ""))[0],
                        artist=songs.get(r.song_id, ("", ""))[1],
                        started_at=_aware(r.started_at) or utcnow(),
                        updated_at=_aware(r.updated_at) or utcnow(),
                        ended_at=_aware(r.ended_at),
                        status=r.status,
                        cut_short=self._is_cut_short(r),
                        source=r.source,
                        note=r.note,
                        players=seats,
                        duet=duet,
                    )
                )
            return out

    def info(self, session_id: int) -> SessionInfo:
        """What the store knows about one session (no hits).

        Raises
        ------
        NotFoundError
            If there is no such session.
        InputError
            If a row of it holds what no version of cymbalism writes.
        """
        try:
            found = (
                self._read_infos(SessionRow.id == int(session_id))
                if 1 <= int(session_id) <= MAX_SESSION_ID
                else []
            )
        except _UNREADABLE as exc:
            raise InputError(f"session {session_id} cannot be read: {exc}") from None
        if not found:
            raise self._not_found(session_id)
        return found[0]

    def _not_found(self, session_id: int) -> NotFoundError:
        return NotFoundError(
            f"no session {session_id} in {self.url} (list them with `cymbalism sessions`)"
        )

    def sessions(self, *, player: str | None = None, limit: int | None = None) -> list[SessionInfo]:
        """Every session, oldest first, optionally only those ``player`` played in."""
        where = None
        if player is not None:
            where = SessionRow.id.in_(
                select(SessionPlayerRow.session_id)
                .join(PlayerRow, PlayerRow.id == SessionPlayerRow.player_id)
                .where(PlayerRow.name == player)
            )
        return self._infos(where, limit=limit)

    def players(self) -> list[str]:
        """Every player's name, sorted."""
        with self.engine.connect() as conn:
            return list(conn.scalars(select(PlayerRow.name).order_by(PlayerRow.name)))

    def cut_short(self) -> list[SessionInfo]:
        """Sessions still marked "recording" whose writer is gone (crash, kill, power cut)."""
        return [s for s in self._infos(SessionRow.status == "recording") if s.cut_short]

    def resolve(self, token: str | int) -> int:
        """A session id from a reference: a number or ``"last"``/``"latest"``
        (:func:`~cymbalism.store.refs.parse_session_ref`).

        Raises
        ------
        NotFoundError
            For ``"last"`` in an empty store.
        InputError
            For anything else that is not a session number.
        """
        number = parse_session_ref(token)
        if number is not None:
            return number
        with self.engine.connect() as conn:
            found = conn.scalar(
                select(SessionRow.id)
                .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
                .limit(1)
            )
        if found is None:
            raise NotFoundError(f"there are no sessions in {self.url} yet")
        return int(found)

    def load(self, session_id: int) -> StoredSession:
        """A session with its chart, every player's hits and the level changes."""
        info = self.info(session_id)
        with self.engine.connect() as conn:
            head = conn.execute(
                select(
                    SongRow.chart_json,
                    SessionRow.window_sec,
                    SessionRow.tempo_scale,
                    SessionRow.follow,
                    SessionRow.count_in_bars,
                    SessionRow.until_sec,
                )
                .join(SongRow, SongRow.id == SessionRow.song_id)
                .where(SessionRow.id == session_id)
            ).one_or_none()
            if head is None:
                raise InputError(f"session {session_id} cannot be read: its song is not stored")
            sp_rows = conn.execute(
                select(SessionPlayerRow.id, SessionPlayerRow.seat)
                .where(SessionPlayerRow.session_id == session_id)
                .order_by(SessionPlayerRow.seat)
            ).all()
            seat_of = {int(sp_id): int(seat) for sp_id, seat in sp_rows}
            raw = conn.execute(
                select(Hit.session_player_id, Hit.onset_sec, Hit.lane, Hit.velocity)
                .where(Hit.session_player_id.in_(list(seat_of)))
                .order_by(Hit.id)
            ).all()
            steps = conn.execute(
                select(
                    LevelChange.session_player_id,
                    LevelChange.at_sec,
                    LevelChange.from_level,
                    LevelChange.to_level,
                    LevelChange.reason,
                )
                .where(LevelChange.session_player_id.in_(list(seat_of)))
                .order_by(LevelChange.at_sec, LevelChange.id)
            ).all()
            moves = conn.execute(
                select(Presence.session_player_id, Presence.at_sec, Presence.present)
                .where(Presence.session_player_id.in_(list(seat_of)))
                .order_by(Presence.at_sec, Presence.id)
            ).all()
            bars = conn.execute(
                select(
                    SessionBar.start_qn, SessionBar.end_qn, SessionBar.stretch, SessionBar.shift_sec
                )
                .where(SessionBar.session_id == session_id)
                .order_by(SessionBar.idx)
            ).all()
        try:
            return self._assemble(info, head, seat_of, raw, steps, bars, moves)
        except ValueError as exc:  # InputError too: say which session
            raise InputError(f"session {session_id} cannot be read: {exc}") from None

    @staticmethod
    def _assemble(
        info: SessionInfo,
        head: Any,
        seat_of: dict[int, int],
        raw: Any,
        steps: Any,
        bars: Any,
        moves: Any,
    ) -> StoredSession:
        chart = chart_from_json(head.chart_json)
        settings = Settings(
            window_sec=head.window_sec,
            tempo_scale=head.tempo_scale,
            follow=bool(head.follow),
            count_in_bars=head.count_in_bars,
        )
        table = np.array([tuple(r) for r in raw], dtype=np.float64).reshape(-1, 4)
        players = []
        changes: dict[str, tuple[LevelStep, ...]] = {}
        for seat_info in info.players:
            sp_id = next(k for k, v in seat_of.items() if v == seat_info.seat)
            mine = table[table[:, 0] == sp_id]
            hits = (
                Hits.from_arrays(
                    mine[:, 1], mine[:, 2].astype(np.int64), mine[:, 3].astype(np.int64)
                )
                if mine.size
                else Hits.empty()
            )
            players.append(
                Player(
                    name=seat_info.name,
                    level=seat_info.level,
                    input=seat_info.input,
                    offset_sec=seat_info.offset_sec,
                    hits=hits,
                    present=spans_from_moves(
                        [(float(at), bool(here)) for sp, at, here in moves if sp == sp_id]
                    ),
                )
            )
            changes[seat_info.name] = tuple(
                LevelStep(float(at), Level(a), Level(b), reason)
                for sp, at, a, b, reason in steps
                if sp == sp_id
            )
        session = Session(
            chart=chart,
            players=tuple(players),
            settings=settings,
            started_at=info.started_at,
            layout=tuple(BarLayout(*map(float, b)) for b in bars),
            until_sec=None if head.until_sec is None else float(head.until_sec),
        )
        return StoredSession(info=info, session=session, level_changes=changes)

    def judgements(self, session_id: int) -> dict[str, dict[str, np.ndarray]]:
        """The stored judgements per player: arrays ``target_sec``, ``lane``, ``onset_sec``,
        ``error_sec`` (NaN where none), ``verdict`` and ``level``, in the order judged."""
        info = self.info(session_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    PlayerRow.name,
                    Judgement.target_sec,
                    Judgement.lane,
                    Judgement.onset_sec,
                    Judgement.error_sec,
                    Judgement.verdict,
                    Judgement.level,
                )
                .join(SessionPlayerRow, SessionPlayerRow.id == Judgement.session_player_id)
                .join(PlayerRow, PlayerRow.id == SessionPlayerRow.player_id)
                .where(SessionPlayerRow.session_id == session_id)
                .order_by(Judgement.id)
            ).all()
        out: dict[str, dict[str, np.ndarray]] = {}
        for name in info.player_names:
            mine = [r[1:] for r in rows if r[0] == name]
            cols = list(zip(*mine, strict=True)) if mine else [()] * 6
            out[name] = {
                "target_sec": np.array([_float(x) for x in cols[0]], dtype=np.float64),
                "lane": np.array(cols[1], dtype=np.int8),
                "onset_sec": np.array([_float(x) for x in cols[2]], dtype=np.float64),
                "error_sec": np.array([_float(x) for x in cols[3]], dtype=np.float64),
                "verdict": np.array(cols[4], dtype=object),
                "level": np.array([-1 if x is None else x for x in cols[5]], dtype=np.int8),
            }
        return out
