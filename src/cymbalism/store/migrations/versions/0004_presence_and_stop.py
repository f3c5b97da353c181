"""When each player left and came back, and where a session was stopped, so that a
stored session is judged over the same stretch of each player as it was live.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("until_sec", sa.Double, nullable=True))
    op.create_table(
        "player_presence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_player_id",
            sa.Integer,
            sa.ForeignKey("session_players.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at_sec", sa.Double, nullable=False),
        sa.Column("present", sa.SmallInteger, nullable=False),
    )
    op.create_index(
        "ix_player_presence_session_player_id", "player_presence", ["session_player_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_player_presence_session_player_id", "player_presence")
    op.drop_table("player_presence")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("until_sec")
