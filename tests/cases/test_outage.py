"""Case database outage at answer time: the officer still gets the answer, the turn is spooled
under the data dir (logged at ERROR) and written when the database is back — exactly once."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from bot.cases.spool import Spool
from bot.cases.store import CaseStore
from bot.consultation import ConsultationService
from bot.errors import StoreUnavailable

from .conftest import FaqAnswerer, inquiry, pg_url


class _CutsTheDatabase(FaqAnswerer):
    """A FAQ answerer during whose work the database goes away (before answering)."""

    def __init__(self, cut):
        super().__init__()
        self.cut = cut

    def answer(self, question, history=(), on_token=None):
        if self.cut is not None:
            self.cut()
            self.cut = None
        return super().answer(question, history, on_token)


def _run_outage_scenario(settings, store, cut, restore, faq_questions, caplog):
    answerer = _CutsTheDatabase(cut)
    service = ConsultationService(settings=settings, answerer=answerer, store=store)
    spool = service.spool

    # 1. the database goes down while the first answer is being made: turn row exists,
    #    its answer is spooled
    with caplog.at_level(logging.ERROR):
        mid = service.consult(inquiry(faq_questions[0], thread="1.1", key="Ev-mid"))
    assert mid.answer.answered and mid.case_ref and mid.turn_id
    assert spool.pending_count() == 1

    # 2. down before the question arrives: answered anyway, nothing in the DB, spooled
    down = service.consult(inquiry(faq_questions[4], thread="2.2", key="Ev-down"))
    assert down.answer.answered and down.case_ref is None and down.case_id is None
    # a retried delivery during the outage is still recognised (this process saw it)
    assert service.consult(inquiry(faq_questions[4], thread="2.2", key="Ev-down")).duplicate
    # a console question without a delivery key
    console = service.consult(inquiry(faq_questions[5], thread="sess-1", kind="console",
                                      user="console:tester"))
    assert console.answer.answered
    assert spool.pending_count() == 3
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("spool" in r.getMessage() for r in errors)
    assert all(faq_questions[4] not in r.getMessage() for r in caplog.records)
    with pytest.raises(StoreUnavailable):
        store.list_cases()

    # 3. the database is back: the next consultation writes the spool first
    restore()
    later = service.consult(inquiry(faq_questions[7], thread="3.3", key="Ev-later"))
    assert later.case_ref
    assert spool.pending_count() == 0 and not spool.has_pending()
    details = {d.case.thread_ts: d for d in store.export_details()}
    assert set(details) == {"1.1", "2.2", "sess-1", "3.3"}
    assert all(len(d.turns) == 1 for d in details.values())
    assert details["1.1"].turns[0].answer == mid.answer.text
    assert details["1.1"].turns[0].id == mid.turn_id
    assert details["2.2"].turns[0].answer == down.answer.text
    assert details["sess-1"].case.kind == "console"
    # the spooled delivery key is claimed now: a late retry is a duplicate, also on a replica
    other = ConsultationService(settings=settings, answerer=FaqAnswerer(), store=store)
    assert other.consult(inquiry(faq_questions[4], thread="2.2", key="Ev-down")).duplicate
    # replaying again writes nothing twice
    assert spool.replay(store) == 0
    assert sum(len(d.turns) for d in store.export_details()) == 4


def test_postgresql_outage_spools_and_replays(make_settings, pg_schema, pg_proxy, faq_questions,
                                              caplog):
    settings = make_settings(DATABASE_URL=pg_url(pg_schema, port=pg_proxy.port))
    store = CaseStore.from_settings(settings)
    try:
        _run_outage_scenario(settings, store, pg_proxy.stop, pg_proxy.start, faq_questions, caplog)
    finally:
        store.close()


def test_sqlite_locked_database_spools_and_replays(make_settings, faq_questions, caplog):
    settings = make_settings()
    store = CaseStore.from_url(settings.database_url_resolved, sqlite_busy_timeout_s=0.2)
    path = settings.data_dir / "consult.sqlite3"
    holder = {}

    def lock():  # e.g. a backup or a long maintenance job holds the write lock
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        holder["conn"] = conn

    def unlock():
        holder["conn"].execute("ROLLBACK")
        holder["conn"].close()

    try:
        _run_outage_scenario(settings, store, lock, unlock, faq_questions, caplog)
    finally:
        store.close()


def test_unreachable_database_at_start_does_not_stop_the_bot(make_settings, pg_schema, pg_proxy,
                                                             faq_questions):
    url = pg_url(pg_schema, port=pg_proxy.port)
    settings = make_settings(DATABASE_URL=url)
    pg_proxy.stop()
    store = CaseStore.from_settings(settings)  # logs an error, does not raise
    try:
        service = ConsultationService(settings=settings, answerer=FaqAnswerer(), store=store)
        result = service.consult(inquiry(faq_questions[0], key="Ev-start"))
        assert result.answer.answered and result.case_ref is None
        pg_proxy.start()
        # the schema upgrade is retried before the next operation, then the spool is written
        assert service.consult(inquiry(faq_questions[1], thread="9.9", key="Ev-2")).case_ref
        assert store.is_migrated()
        assert sum(c.turn_count for c in store.list_cases()) == 2
    finally:
        store.close()


def test_unwritable_spool_record_is_kept_aside(make_settings, store, faq_questions):
    settings = make_settings()
    spool = Spool.from_settings(settings)
    spool.add_complete(424242, None, "LLMUnavailable")  # a turn id that does not exist
    assert spool.replay(store) == 0
    assert not spool.has_pending()
    assert "424242" in spool.failed_path.read_text(encoding="utf-8")


def test_truncated_spool_line_is_kept_aside_and_the_rest_written(make_settings, store,
                                                                 faq_questions):
    settings = make_settings()
    spool = Spool.from_settings(settings)
    answer = FaqAnswerer().answer(faq_questions[0])
    service = ConsultationService(settings=settings, answerer=FaqAnswerer(), store=store)
    req = inquiry(faq_questions[0], key="Ev-spooled")
    spool.add_turn(req.conversation, req.requester, req.question, [], req.dedupe_key, None,
                   answer, None)
    with spool.path.open("a", encoding="utf-8") as fh:
        fh.write('{"op": "add", "conversat')   # the process died mid-write
    assert spool.replay(store) == 1
    assert '"conversat' in spool.failed_path.read_text(encoding="utf-8")
    [case] = store.list_cases()
    assert case.turn_count == 1
    assert service.consult(req).duplicate   # the spooled key was claimed when written
