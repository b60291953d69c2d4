"""Baseline: cases, turns and the audit trail of events.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-28

Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consult_cases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("thread_ts", sa.String(64), nullable=True),
        sa.Column("requester_id", sa.String(128), nullable=False),
        sa.Column("requester_name", sa.String(255), nullable=True),
        sa.Column("municipality", sa.String(128), nullable=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("escalation_reason", sa.String(64), nullable=True),
        sa.Column("programmes", sa.JSON(), nullable=True),
        sa.Column("staff_channel", sa.String(64), nullable=True),
        sa.Column("staff_message_ts", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("first_staff_response_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.UniqueConstraint("conversation_key", name="uq_consult_cases_conversation_key"),
    )
    op.create_index("ix_consult_cases_requester_id", "consult_cases", ["requester_id"])
    op.create_index("ix_consult_cases_municipality", "consult_cases", ["municipality"])
    op.create_index("ix_consult_cases_status", "consult_cases", ["status"])
    op.create_index("ix_consult_cases_created_at", "consult_cases", ["created_at"])

    op.create_table(
        "consult_turns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("consult_cases.id"), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("pii_kinds", sa.JSON(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=True),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("prompt_version", sa.String(64), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=True),
        sa.Column("evidence", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("fallback_reason", sa.String(64), nullable=True),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("feedback", sa.String(8), nullable=True),
        sa.Column("feedback_by", sa.String(128), nullable=True),
        sa.Column("feedback_at", TS, nullable=True),
    )
    op.create_index("ix_consult_turns_case_id", "consult_turns", ["case_id"])

    op.create_table(
        "consult_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("consult_cases.id"), nullable=False),
        sa.Column("turn_id", sa.Integer(), sa.ForeignKey("consult_turns.id"), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_consult_events_case_id", "consult_events", ["case_id"])
    op.create_index("ix_consult_events_created_at", "consult_events", ["created_at"])


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
