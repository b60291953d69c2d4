"""A covering index for the staff queue's counts and searches on PostgreSQL.

Revision ID: 0008_case_queue_cover
Revises: 0007_faq_entries
Create Date: 2026-12-02

Why: with a filter that is not on the case row itself (👎, a reason, a search term) the queue
joins the matching cases with all cases and reads each one's status (tab counts) and sort keys
(updated_at, escalated_at). Without this index PostgreSQL reads the whole consult_cases table
for that (EXPLAIN ANALYZE over 100,000 cases at load ~9: the 👎 tab counts 160–210 ms, of which
the sequential scan 55–78 ms); with it an index-only scan (the 👎 counts 55–65 ms). SQLite keeps
its rowid tables as they are (nothing here).
Only CREATE statements run as raw SQL (``PG_SQL``); the index is listed in
``bot.cases.migrate.UNMODELLED_OBJECTS`` (the models do not describe INCLUDE columns).
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0008_case_queue_cover"
down_revision: Union[str, Sequence[str], None] = "0007_faq_entries"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PG_SQL: tuple[str, ...] = (
    "CREATE INDEX ix_consult_cases_queue_cover ON consult_cases (id) "
    "INCLUDE (status, updated_at, escalated_at)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_SQL:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
