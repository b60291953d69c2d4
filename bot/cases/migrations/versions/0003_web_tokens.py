"""Web console tokens: sessions, used login links and Sign in with Slack states, with expiry.

Revision ID: 0003_web_tokens
Revises: 0002_deliveries_feedback_comment
Create Date: 2026-12-01

Why: the staff web console keeps its server-side state in the case database so every replica
agrees: a signed-in session can be ended (logout) everywhere, a login link and an OpenID Connect
state are single use. Only hashes of the secret values are stored (``key``).
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_web_tokens"
down_revision: Union[str, Sequence[str], None] = "0002_deliveries_feedback_comment"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consult_web_tokens",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_consult_web_tokens_expires_at", "consult_web_tokens", ["expires_at"])


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
