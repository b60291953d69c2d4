"""The staff team a case is routed to.

Revision ID: 0004_case_team
Revises: 0003_web_tokens
Create Date: 2026-12-02

Why: cases go to the staff team (振興局 / 本庁 section, ``bot.teams``) that supports the
officer's municipality or owns the programme; the team is recorded when the case first needs staff
(or when staff transfer it) so queues, cards and permissions follow it. NULL: not routed (a case
the bot answered, or a setup without a teams file).
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_case_team"
down_revision: Union[str, Sequence[str], None] = "0003_web_tokens"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("consult_cases", sa.Column("team", sa.String(64), nullable=True))
    op.create_index("ix_consult_cases_team", "consult_cases", ["team"])


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
