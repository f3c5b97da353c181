"""Calibrations, the writer of a live session, and per-session summaries.

Adds the ``calibrations`` table; ``sessions.writer_pid``/``writer_host`` so that a
session cut short can be told from one still being recorded; and the duet's and each
player's summary figures, filled when a session is finished (and lazily for sessions
stored before this revision).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def session_columns() -> list[sa.Column]:
    return [
        sa.Column("writer_pid", sa.Integer, nullable=True),
        sa.Column("writer_host", sa.String(255), nullable=True),
        sa.Column("sync_n", sa.Integer, nullable=True),
        sa.Column("sync_mean_sec", sa.Double, nullable=True),
        sa.Column("sync_sd_sec", sa.Double, nullable=True),
        sa.Column("sync_mean_abs_sec", sa.Double, nullable=True),
        sa.Column("came_together_sec", sa.Double, nullable=True),
    ]


def player_columns() -> list[sa.Column]:
    return [
        sa.Column("n_hits", sa.Integer, nullable=True),
        sa.Column("hit_rate", sa.Double, nullable=True),
        sa.Column("mean_error_sec", sa.Double, nullable=True),
        sa.Column("sd_error_sec", sa.Double, nullable=True),
        sa.Column("mean_abs_error_sec", sa.Double, nullable=True),
        sa.Column("level_reached", sa.SmallInteger, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("player_id", sa.Integer, sa.ForeignKey("players.id"), nullable=True),
        sa.Column("input", sa.String(300), nullable=False),
        sa.Column("offset_sec", sa.Double, nullable=False),
        sa.Column("sd_sec", sa.Double, nullable=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_calibrations_input", "calibrations", ["input"])
    with op.batch_alter_table("sessions") as batch:
        for col in session_columns():
            batch.add_column(col)
    with op.batch_alter_table("session_players") as batch:
        for col in player_columns():
            batch.add_column(col)


def downgrade() -> None:
    with op.batch_alter_table("session_players") as batch:
        for col in player_columns():
            batch.drop_column(col.name)
    with op.batch_alter_table("sessions") as batch:
        for col in session_columns():
            batch.drop_column(col.name)
    op.drop_index("ix_calibrations_input", "calibrations")
    op.drop_table("calibrations")
