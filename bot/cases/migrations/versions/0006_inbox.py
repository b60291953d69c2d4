"""The durable inbox of Slack deliveries, the replicas' heartbeat, and an index on turn keys.

Revision ID: 0006_inbox
Revises: 0005_search_and_queue_indexes
Create Date: 2026-12-01

Why: an acknowledged question must survive a crash of the process that acknowledged it. Each
delivery is recorded in ``consult_inbox`` before it is acknowledged and worked off by whichever
replica claims it (lease + heartbeat in ``consult_replicas``); a resumed delivery finds the turn
it already began by its dedupe key (``ix_consult_turns_dedupe_key``).
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006_inbox"
down_revision: Union[str, Sequence[str], None] = "0005_search_and_queue_indexes"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consult_inbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.Column("first_failure_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_consult_inbox_state", "consult_inbox", ["state"])
    op.create_index("ix_consult_inbox_created_at", "consult_inbox", ["created_at"])
    op.create_table(
        "consult_replicas",
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
    )
    op.create_index("ix_consult_replicas_seen_at", "consult_replicas", ["seen_at"])
    op.create_index("ix_consult_turns_dedupe_key", "consult_turns", ["dedupe_key"])


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
