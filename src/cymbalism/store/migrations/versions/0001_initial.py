"""The first schema: players, songs, sessions, their players, hits, judgements, levels.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "players",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "songs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("artist", sa.String(300), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("bpm", sa.Double, nullable=False),
        sa.Column("end_sec", sa.Double, nullable=False),
        sa.Column("chart_json", sa.Text, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("song_id", sa.Integer, sa.ForeignKey("songs.id"), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("window_sec", sa.Double, nullable=False),
        sa.Column("tempo_scale", sa.Double, nullable=False),
        sa.Column("follow", sa.SmallInteger, nullable=False),
        sa.Column("count_in_bars", sa.SmallInteger, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_sessions_song_id", "sessions", ["song_id"])
    op.create_index("ix_sessions_status", "sessions", ["status"])
    op.create_table(
        "session_players",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer,
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("player_id", sa.Integer, sa.ForeignKey("players.id"), nullable=False),
        sa.Column("seat", sa.SmallInteger, nullable=False),
        sa.Column("part", sa.String(100), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("input", sa.String(300), nullable=False),
        sa.Column("offset_sec", sa.Double, nullable=False),
        sa.UniqueConstraint("session_id", "seat"),
    )
    op.create_index("ix_session_players_player_id", "session_players", ["player_id"])
    op.create_table(
        "hits",
        sa.Column("id", BigKey, primary_key=True),
        sa.Column(
            "session_player_id",
            sa.Integer,
            sa.ForeignKey("session_players.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("onset_sec", sa.Double, nullable=False),
        sa.Column("lane", sa.SmallInteger, nullable=False),
        sa.Column("velocity", sa.SmallInteger, nullable=False),
    )
    op.create_index("ix_hits_player_onset", "hits", ["session_player_id", "onset_sec"])
    op.create_table(
        "judgements",
        sa.Column("id", BigKey, primary_key=True),
        sa.Column(
            "session_player_id",
            sa.Integer,
            sa.ForeignKey("session_players.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("target_sec", sa.Double, nullable=True),
        sa.Column("lane", sa.SmallInteger, nullable=False),
        sa.Column("onset_sec", sa.Double, nullable=True),
        sa.Column("error_sec", sa.Double, nullable=True),
        sa.Column("verdict", sa.String(12), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=True),
    )
    op.create_index(
        "ix_judgements_player_target", "judgements", ["session_player_id", "target_sec"]
    )
    op.create_table(
        "level_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_player_id",
            sa.Integer,
            sa.ForeignKey("session_players.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at_sec", sa.Double, nullable=False),
        sa.Column("from_level", sa.SmallInteger, nullable=False),
        sa.Column("to_level", sa.SmallInteger, nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
    )
    op.create_index("ix_level_changes_session_player_id", "level_changes", ["session_player_id"])


def downgrade() -> None:
    for table in (
        "level_changes",
        "judgements",
        "hits",
        "session_players",
        "sessions",
        "songs",
        "players",
    ):
        op.drop_table(table)
