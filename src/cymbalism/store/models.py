"""The tables of the session store (SQLAlchemy 2.x declarative models).

Conventions
-----------
- Times are seconds (float64, ``*_sec``) on the session's clock: 0 is the song's first
  beat, the same clock as :class:`~cymbalism.model.hits.Hits`.
- Lanes are :class:`~cymbalism.model.lanes.Lane` values, levels are
  :class:`~cymbalism.model.chart.Level` values, both stored as small integers.
- Wall-clock times (``started_at``, ``updated_at``) are timezone-aware UTC.
- Hits are written in bulk (COPY on PostgreSQL, a Core executemany elsewhere) and
  judgements through Core executemany, never as one ORM object per row.

The schema is created and upgraded by the Alembic migrations in
``cymbalism/store/migrations``; these models describe the newest revision
(:data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "SCHEMA_VERSION",
    "Base",
    "Calibration",
    "Hit",
    "Judgement",
    "LevelChange",
    "PlayerRow",
    "SessionBar",
    "SessionPlayerRow",
    "SessionRow",
    "SongRow",
]

#: The Alembic revision these models describe (the newest migration).
SCHEMA_VERSION = "0004"

#: A 64-bit key on PostgreSQL, SQLite's rowid alias on SQLite.
BigKey = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base of every table."""


class PlayerRow(Base):
    """A drummer, known by a unique name."""

    __tablename__ = "players"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SongRow(Base):
    """A chart, stored whole (tempo map, sections, every part) as JSON.

    ``digest`` is a hash of the JSON, so the same chart played twice is stored once.
    """

    __tablename__ = "songs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    artist: Mapped[str] = mapped_column(String(300), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    bpm: Mapped[float] = mapped_column(Double)
    end_sec: Mapped[float] = mapped_column(Double)
    chart_json: Mapped[str] = mapped_column(Text)


class SessionRow(Base):
    """One song played by two or more players.

    ``status`` is ``"recording"`` while a writer adds hits and ``"finished"`` after.
    A ``"recording"`` session whose writer process is gone was cut short.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="recording", index=True)
    source: Mapped[str] = mapped_column(String(40), default="live")
    window_sec: Mapped[float] = mapped_column(Double)
    tempo_scale: Mapped[float] = mapped_column(Double, default=1.0)
    follow: Mapped[int] = mapped_column(SmallInteger, default=0)
    count_in_bars: Mapped[int] = mapped_column(SmallInteger, default=1)
    note: Mapped[str] = mapped_column(Text, default="")
    # revision 0002: who is writing, and the duet's summary once finished
    writer_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    writer_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sync_n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sync_mean_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    sync_sd_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    sync_mean_abs_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    came_together_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    # revision 0004: the song second the session was stopped at (NULL: played to the end)
    until_sec: Mapped[float | None] = mapped_column(Double, nullable=True)

    song: Mapped[SongRow] = relationship()
    players: Mapped[list[SessionPlayerRow]] = relationship(
        back_populates="session", order_by="SessionPlayerRow.seat"
    )


class SessionPlayerRow(Base):
    """A player's seat in a session: their part, level, input and latency offset."""

    __tablename__ = "session_players"
    __table_args__ = (UniqueConstraint("session_id", "seat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id"), index=True)
    seat: Mapped[int] = mapped_column(SmallInteger)
    part: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[int] = mapped_column(SmallInteger)
    input: Mapped[str] = mapped_column(String(300), default="")
    offset_sec: Mapped[float] = mapped_column(Double, default=0.0)
    # revision 0002: the player's summary once the session is finished
    n_hits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hit_rate: Mapped[float | None] = mapped_column(Double, nullable=True)
    mean_error_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    sd_error_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    mean_abs_error_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    level_reached: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)

    session: Mapped[SessionRow] = relationship(back_populates="players")
    player: Mapped[PlayerRow] = relationship()


class Hit(Base):
    """One stroke: when (seconds, latency already subtracted), which lane, how hard."""

    __tablename__ = "hits"
    __table_args__ = (Index("ix_hits_player_onset", "session_player_id", "onset_sec"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    session_player_id: Mapped[int] = mapped_column(
        ForeignKey("session_players.id", ondelete="CASCADE")
    )
    onset_sec: Mapped[float] = mapped_column(Double)
    lane: Mapped[int] = mapped_column(SmallInteger)
    velocity: Mapped[int] = mapped_column(SmallInteger)


class Judgement(Base):
    """What the judge said about one chart note (or one extra hit) as it was played.

    ``error_sec`` is played - target (positive = late); ``NULL`` with ``verdict =
    "miss"``. Extra hits have no target (``target_sec`` is ``NULL``).
    """

    __tablename__ = "judgements"
    __table_args__ = (Index("ix_judgements_player_target", "session_player_id", "target_sec"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    session_player_id: Mapped[int] = mapped_column(
        ForeignKey("session_players.id", ondelete="CASCADE")
    )
    target_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    lane: Mapped[int] = mapped_column(SmallInteger)
    onset_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    error_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    verdict: Mapped[str] = mapped_column(String(12))
    level: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)


class LevelChange(Base):
    """A player's part changed level (the beginner was promoted or demoted)."""

    __tablename__ = "level_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_player_id: Mapped[int] = mapped_column(
        ForeignKey("session_players.id", ondelete="CASCADE"), index=True
    )
    at_sec: Mapped[float] = mapped_column(Double)
    from_level: Mapped[int] = mapped_column(SmallInteger)
    to_level: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(String(300), default="")


class SessionBar(Base):
    """Where one bar of the song was played on the session's clock (revision 0003).

    See :class:`cymbalism.model.session.BarLayout`: the notes at ``start_qn <= qn <
    end_qn`` sounded at ``base_sec(qn) * stretch + shift_sec``.
    """

    __tablename__ = "session_bars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    idx: Mapped[int] = mapped_column(Integer)
    start_qn: Mapped[float] = mapped_column(Double)
    end_qn: Mapped[float] = mapped_column(Double)
    stretch: Mapped[float] = mapped_column(Double)
    shift_sec: Mapped[float] = mapped_column(Double)


class Presence(Base):
    """A player left (``present = 0``) or came back (``present = 1``) at ``at_sec``
    song seconds (revision 0004). A player with no rows was there throughout."""

    __tablename__ = "player_presence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_player_id: Mapped[int] = mapped_column(
        ForeignKey("session_players.id", ondelete="CASCADE"), index=True
    )
    at_sec: Mapped[float] = mapped_column(Double)
    present: Mapped[int] = mapped_column(SmallInteger)


class Calibration(Base):
    """A measured latency of one input (revision 0002)."""

    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    player_id: Mapped[int | None] = mapped_column(ForeignKey("players.id"), nullable=True)
    input: Mapped[str] = mapped_column(String(300), index=True)
    offset_sec: Mapped[float] = mapped_column(Double)
    sd_sec: Mapped[float | None] = mapped_column(Double, nullable=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
