"""Alembic environment of the case database, driven programmatically by ``bot.cases.migrate``.

No alembic.ini is needed: the caller puts an open SQLAlchemy ``Connection`` into
``config.attributes["connection"]``. On PostgreSQL a transaction-scoped advisory lock serialises
replicas that start (and upgrade) at the same moment.
"""

from __future__ import annotations

from alembic import context

from bot.cases.migrate import include_name
from bot.cases.models import VERSION_TABLE, Base

# Any constant works; it only has to be the same for every replica.
_PG_MIGRATION_LOCK = 0x636F6E73756C74  # "consult"


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("bot.cases.migrate must pass a connection in config.attributes")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
        include_name=include_name,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover - offline SQL generation is not supported
    raise RuntimeError("offline migrations are not supported; run `consult db upgrade`")
run_migrations_online()
