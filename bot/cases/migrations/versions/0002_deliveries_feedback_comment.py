"""Delivery dedupe across replicas, and the officer's comment on a 👎.

Revision ID: 0002_deliveries_feedback_comment
Revises: 0001_baseline
Create Date: 2026-11-28

Why: several bot replicas behind a load balancer must agree that a Slack delivery (event_id /
client_msg_id) was already handled, so the keys live in the database with an expiry; and a 👎
now asks the officer what was missing, which is kept with the turn.
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002_deliveries_feedback_comment"
down_revision: Union[str, Sequence[str], None] = "0001_baseline"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consult_deliveries",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_consult_deliveries_expires_at", "consult_deliveries", ["expires_at"])
    op.add_column("consult_turns", sa.Column("feedback_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
