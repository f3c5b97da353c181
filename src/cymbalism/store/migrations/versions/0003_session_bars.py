"""Where each bar of a session was played (a click that followed the duo, a practice
tempo, a loop), so that a stored session is judged against the notes as they sounded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_bars",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "session_id",
            sa.Integer,
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("start_qn", sa.Double, nullable=False),
        sa.Column("end_qn", sa.Double, nullable=False),
        sa.Column("stretch", sa.Double, nullable=False),
        sa.Column("shift_sec", sa.Double, nullable=False),
    )
    op.create_index("ix_session_bars_session_id", "session_bars", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_session_bars_session_id", "session_bars")
    op.drop_table("session_bars")
