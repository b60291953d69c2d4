"""FAQ entries from staff answers, their audit trail, the answers that cite them, and the
revision counter every replica polls to keep its index in step.

Revision ID: 0007_faq_entries
Revises: 0006_inbox
Create Date: 2026-12-02

Why: a staff answer becomes knowledge. An entry is written from a case's staff reply (or from
scratch), edited, approved, rejected or retired by staff; approved entries are indexed as staff
answers on every running replica (``bot.faq.sync``), which poll ``consult_faq_state.revision``
(bumped in the same transaction as each change) instead of reading the entries every time.
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007_faq_entries"
down_revision: Union[str, Sequence[str], None] = "0006_inbox"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consult_faq_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("section", sa.String(512), nullable=True),
        sa.Column("category", sa.String(128), nullable=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("consult_cases.id"), nullable=True),
        sa.Column("source_event_id", sa.Integer(), sa.ForeignKey("consult_events.id"),
                  nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("retired_by", sa.String(128), nullable=True),
        sa.Column("retired_at", TS, nullable=True),
    )
    op.create_index("ix_consult_faq_entries_status", "consult_faq_entries", ["status"])
    op.create_index("ix_consult_faq_entries_case_id", "consult_faq_entries", ["case_id"])

    op.create_table(
        "consult_faq_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("consult_faq_entries.id"),
                  nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_consult_faq_events_entry_id", "consult_faq_events", ["entry_id"])

    op.create_table(
        "consult_faq_citations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("consult_faq_entries.id"),
                  nullable=False),
        sa.Column("turn_id", sa.Integer(), sa.ForeignKey("consult_turns.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("consult_cases.id"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("entry_id", "turn_id", name="uq_consult_faq_citations_entry_turn"),
    )
    op.create_index("ix_consult_faq_citations_entry_id", "consult_faq_citations", ["entry_id"])

    state = op.create_table(
        "consult_faq_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=True),
    )
    op.bulk_insert(state, [{"id": 1, "revision": 0, "updated_at": None}])


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
