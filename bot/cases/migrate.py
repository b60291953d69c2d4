"""Programmatic Alembic for the case database (no alembic.ini needed at run time).

``upgrade(engine)`` brings the schema to head; ``current_revision(engine)`` and
``head_revision()`` tell whether it is needed. Migrations are add-only: released revision files
are never edited, new columns and tables come in new revisions.

A new revision (developers): change ``bot/cases/models.py``, then
``python -c "from bot.cases.migrate import new_revision; new_revision('0003_what', 'what it adds')"``
writes an empty revision file from ``migrations/script.py.mako``; fill in ``upgrade()`` with
``op.add_column`` / ``op.create_table`` only (the migration tests check models == head).
"""

from __future__ import annotations

import logging
from pathlib import Path

# Alembic's INFO lines (plugin set-up on import, each step) are noise in the bot's log; the store
# logs upgrades itself. Set before importing alembic, which logs while being imported.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from bot.cases.models import VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Objects of revision 0005 that the ORM models do not describe: the SQLite FTS5 table (and its
# shadow tables ``_data``, ``_idx``, ``_docsize``, ``_config``), PostgreSQL pg_trgm GIN indexes,
# and expression indexes. Schema comparisons (autogenerate, the migration tests) skip them.
UNMODELLED_OBJECTS = ("consult_turns_fts", "ix_consult_turns_question_trgm",
                      "ix_consult_turns_answer_trgm", "ix_consult_cases_programmes",
                      "ix_consult_events_reason", "ix_consult_cases_queue_cover")


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic ``include_name`` hook: leave the unmodelled objects out of schema comparisons."""
    return not (name and any(name == o or name.startswith(o + "_") for o in UNMODELLED_OBJECTS))


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def all_revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return ctx.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Upgrade the database to ``revision`` (default head). Idempotent; returns False (and does
    not start Alembic at all) when it is already there."""
    target = head_revision() if revision == "head" else revision
    if current_revision(engine) == target:
        return False
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return True


def new_revision(rev_id: str, message: str) -> str:
    """Write an empty revision file after the current head; returns its path."""
    script = command.revision(alembic_config(), message=message, rev_id=rev_id)
    return str(script.path)
