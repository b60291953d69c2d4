"""Alembic migrations of the case database, on SQLite and PostgreSQL: from empty, from every
earlier revision (columns checked, data kept), models == head, add-only."""

from __future__ import annotations

import importlib.util
import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.cases import migrate
from bot.cases.db import create_case_engine
from bot.cases.models import VERSION_TABLE, Base
from bot.cases.store import CaseStore
from bot.domain import Conversation, Requester

EXPECTED_TABLES = {"consult_cases", "consult_turns", "consult_events", "consult_deliveries",
                   "consult_web_tokens", "consult_inbox", "consult_replicas",
                   "consult_faq_entries", "consult_faq_events", "consult_faq_citations",
                   "consult_faq_state",
                   VERSION_TABLE}


def _columns(engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def _model_columns(table: str) -> set[str]:
    return {c.name for c in Base.metadata.tables[table].columns}


def test_revisions_form_one_line_with_a_baseline():
    revisions = migrate.all_revisions()
    assert revisions[0] == "0001_baseline"
    assert len(revisions) >= 2
    assert revisions[-1] == migrate.head_revision()


def test_upgrade_from_empty_creates_every_table_and_column(db_settings):
    store = CaseStore.from_settings(db_settings, upgrade=False)
    try:
        assert store.current_revision() is None
        assert not store.is_migrated()
        assert store.upgrade() == migrate.head_revision()
        assert store.is_migrated()
        assert EXPECTED_TABLES <= set(store.table_names())
        for table in Base.metadata.tables:
            assert _columns(store.engine, table) == _model_columns(table), table
        # a second upgrade is a no-op
        assert migrate.upgrade(store.engine) is False
    finally:
        store.close()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_match_the_migrated_schema(store):
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE,
                                                     "include_name": migrate.include_name})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_upgrade_from_each_earlier_revision_keeps_data(db_settings):
    url = db_settings.database_url_resolved
    earlier = migrate.all_revisions()[:-1]
    assert earlier
    for i, revision in enumerate(earlier):
        engine = create_case_engine(url)
        try:
            if i:  # start each round from an empty database
                with engine.begin() as conn:
                    for table in ["consult_turns_fts"] + \
                            [t.name for t in reversed(Base.metadata.sorted_tables)] + \
                            [VERSION_TABLE]:
                        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
            migrate.upgrade(engine, revision)
            assert migrate.current_revision(engine) == revision
            assert "consult_deliveries" not in sa.inspect(engine).get_table_names() or \
                revision != "0001_baseline"
            now = datetime(2026, 4, 1, 1, 2, 3, tzinfo=timezone.utc)
            meta = sa.MetaData()
            cases = sa.Table("consult_cases", meta, autoload_with=engine)
            turns = sa.Table("consult_turns", meta, autoload_with=engine)
            with engine.begin() as conn:
                case_id = conn.execute(cases.insert().values(
                    conversation_key=f"slack:T1:C1:{revision}", kind="slack", workspace="T1",
                    channel="C1", thread_ts=revision, requester_id="U1", requester_name="旧 太郎",
                    municipality="旭川市", title="移行前の相談", status="answered",
                    programmes=["地域づくり総合交付金"], created_at=now, updated_at=now,
                ).returning(cases.c.id)).scalar_one()
                conn.execute(turns.insert().values(
                    case_id=case_id, question="移行前の質問", answer="移行前の回答 [1]",
                    answered=True, mode="extractive", sources=[{"n": 1, "title": "資料"}],
                    created_at=now, completed_at=now))
        finally:
            engine.dispose()

        store = CaseStore.from_url(url)  # upgrades to head on start
        try:
            assert store.is_migrated()
            for table in Base.metadata.tables:
                assert _columns(store.engine, table) == _model_columns(table), (revision, table)
            detail = store.case_detail(case_id)
            assert detail.case.title == "移行前の相談"
            assert detail.case.municipality == "旭川市"
            assert detail.case.programmes == ("地域づくり総合交付金",)
            assert detail.case.created_at == now
            assert [t.question for t in detail.turns] == ["移行前の質問"]
            assert detail.turns[0].feedback_comment is None
            # the new parts work on the upgraded database
            assert store.claim_delivery(f"Ev-{revision}") is True
            view = store.record_feedback(detail.turns[0].id, user_id="U1", value="down",
                                         comment="上限額が知りたい")
            assert view.status == "needs_staff"
            assert store.get_turn(detail.turns[0].id).feedback_comment == "上限額が知りたい"
            again = store.open_case(Conversation("slack", "T1", "C1", revision),
                                    Requester("U1"), title="x")
            assert again.case.id == case_id and not again.created
        finally:
            store.close()


def test_released_migrations_are_add_only():
    versions = migrate.MIGRATIONS_DIR / "versions"
    files = sorted(p for p in versions.glob("*.py") if p.name != "__init__.py")
    assert len(files) == len(migrate.all_revisions())
    destructive_sql = re.compile(
        r"\b(DROP\s+(TABLE|INDEX|COLUMN|SCHEMA|TRIGGER|VIEW|EXTENSION)|ALTER\s+TABLE|"
        r"DELETE\s+FROM|UPDATE\s+\w+\s+SET|TRUNCATE|RENAME)\b", re.IGNORECASE)
    for path in files:
        text = path.read_text(encoding="utf-8")
        upgrade_body = text.split("def upgrade()")[1].split("def downgrade()")[0]
        assert not re.search(r"op\.(drop_|alter_column|rename_table)", upgrade_body), path.name
        assert not destructive_sql.search(text.split('"""', 2)[-1]), path.name
        if "op.execute" in upgrade_body:
            # raw SQL only from the module's *_SQL tuples, and only statements that add things
            spec = importlib.util.spec_from_file_location(f"_migration_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            statements = [sql for name, value in vars(module).items() if name.endswith("_SQL")
                          for sql in value]
            assert statements, path.name
            for sql in statements:
                assert re.match(r"\s*(CREATE|INSERT)\b", sql), (path.name, sql)


def test_store_without_upgrade_reports_unmigrated(db_settings):
    store = CaseStore.from_settings(db_settings, migrate=False)   # alias of upgrade=False
    try:
        assert not store.is_migrated()
    finally:
        store.close()


def test_queue_cover_index_on_postgresql(store):
    """Revision 0008: the queue's counts and searches read status and sort keys from an
    index-only scan on PostgreSQL (nothing on SQLite)."""
    from sqlalchemy import text

    with store.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            names = {r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'index'"))}
            assert "ix_consult_cases_queue_cover" not in names
            return
        definition = conn.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_consult_cases_queue_cover' "
            "AND schemaname = current_schema()")).scalar()
    assert definition is not None
    assert "(id) INCLUDE (status, updated_at, escalated_at)" in definition
