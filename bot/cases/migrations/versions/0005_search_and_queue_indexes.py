"""Japanese free-text search (trigram indexes) and the indexes of the staff queue.

Revision ID: 0005_search_and_queue_indexes
Revises: 0004_case_team
Create Date: 2026-12-01

Why: staff search consultations by any part of the questions and the answers (a case's title is
the beginning of its first question). Japanese has no spaces between words, so the indexes are of
character trigrams:
- SQLite: an FTS5 table with the ``trigram`` tokenizer over ``consult_turns(question, answer)``
  (external content: the text is stored once, in consult_turns), kept in sync by triggers and
  filled from the existing rows here.
- PostgreSQL: ``pg_trgm`` GIN indexes on the same columns (the extension is created in the
  ``public`` schema when missing, so per-test schemas never own it). Without the right to create
  the extension the search still works, by scanning.
The queue lists cases per status, oldest escalation first or most recent activity first, and the
feedback page lists 👎 turns newest first: b-tree indexes for those orders. Statistics and the
filters read turns and events per case through covering indexes (never the long text); the
programme filter (PostgreSQL: a GIN index on the JSON list) and the escalation-reason filter (an
index on the events' reason; only escalations carry one) have their own.

Only CREATE and INSERT statements run as raw SQL here (the ``*_SQL`` tuples); the add-only test
checks that. Objects that the ORM models do not describe are listed in
``bot.cases.migrate.UNMODELLED_OBJECTS`` so schema comparisons leave them alone.

Note for later migrations on SQLite: a "move and copy" batch migration of consult_turns drops its
triggers; recreate them (this file's statements) afterwards.
Released: never edit this file; add a new revision instead (migrations are add-only).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_search_and_queue_indexes"
down_revision: Union[str, Sequence[str], None] = "0004_case_team"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _fts_sql(table: str, columns: tuple[str, ...], key: str = "id") -> tuple[str, ...]:
    fts = f"{table}_fts"
    cols = ", ".join(columns)
    new = ", ".join(f"coalesce(new.{c}, '')" for c in columns)
    old = ", ".join(f"coalesce(old.{c}, '')" for c in columns)
    return (
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
        f"content_rowid='{key}', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.{key}, {new}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.{key}, {old}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.{key}, {old}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.{key}, {new}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    )


SQLITE_SQL: tuple[str, ...] = _fts_sql("consult_turns", ("question", "answer")) + (
    "CREATE INDEX ix_consult_events_reason ON consult_events "
    "(json_extract(data, '$.reason'), case_id)",
)

PG_SQL: tuple[str, ...] = (
    "CREATE INDEX ix_consult_cases_programmes ON consult_cases "
    "USING gin ((programmes::jsonb) jsonb_path_ops)",
    "CREATE INDEX ix_consult_events_reason ON consult_events ((data ->> 'reason'), case_id)",
)
# created with the operator class of wherever pg_trgm lives ({ops})
PG_TRGM_SQL: tuple[str, ...] = (
    "CREATE INDEX ix_consult_turns_question_trgm ON consult_turns USING gin (question {ops})",
    "CREATE INDEX ix_consult_turns_answer_trgm ON consult_turns USING gin (answer {ops})",
)


def _pg_trgm_schema(bind) -> str | None:
    """The schema of the pg_trgm extension, creating it in ``public`` when missing; None when
    it cannot be created here (no privilege): the search then scans."""
    find = sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                   "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'")
    schema = bind.execute(find).scalar()
    if schema:
        return schema
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except sa.exc.DBAPIError:
        return None
    return bind.execute(find).scalar()


def upgrade() -> None:
    op.create_index("ix_consult_cases_status_updated", "consult_cases", ["status", "updated_at"])
    op.create_index("ix_consult_cases_status_escalated", "consult_cases",
                    ["status", "escalated_at"])
    op.create_index("ix_consult_cases_updated_at", "consult_cases", ["updated_at"])
    op.create_index("ix_consult_cases_assignee", "consult_cases", ["assignee"])
    op.create_index("ix_consult_turns_feedback", "consult_turns", ["feedback", "feedback_at"])
    # statistics read these per case without touching the (large) question and answer text
    op.create_index("ix_consult_turns_case_stats", "consult_turns",
                    ["case_id", "answered", "feedback"])
    op.create_index("ix_consult_events_case_kind", "consult_events",
                    ["case_id", "kind", "created_at"])

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_SQL:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        for statement in PG_SQL:
            op.execute(statement)
        schema = _pg_trgm_schema(bind)
        if schema is not None:
            ops = f'"{schema}".gin_trgm_ops'
            for statement in PG_TRGM_SQL:
                op.execute(statement.format(ops=ops))


def downgrade() -> None:
    raise NotImplementedError("case database migrations are add-only; restore a backup instead")
