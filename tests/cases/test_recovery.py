"""Outages that heal: one log line per state change, a database re-created empty is migrated on
reconnect and the spool drains into it, a resumed delivery reuses the turn it began."""

from __future__ import annotations

import logging

import psycopg

from bot.cases.spool import Spool
from bot.cases.store import CaseStore
from bot.consultation import ConsultationService
from bot.errors import ConsultError, StoreUnavailable

from .conftest import PG_DB, PG_HOST, PG_PORT, PG_USER, FaqAnswerer, inquiry, pg_url


def _store_lines(caplog):
    return [r for r in caplog.records if r.name == "bot.cases.store" and r.levelno >= logging.WARNING]


def test_an_outage_is_logged_once_and_its_end_once(make_settings, pg_schema, pg_proxy, caplog):
    store = CaseStore.from_settings(make_settings(DATABASE_URL=pg_url(pg_schema, port=pg_proxy.port)))
    try:
        store.inbox_record("k0", "mention", {})
        pg_proxy.stop()
        with caplog.at_level(logging.DEBUG, logger="bot.cases.store"):
            for i in range(5):                         # e.g. a heartbeat every second
                try:
                    store.inbox_heartbeat("me", "host", 1, store._clock(), lease_s=30)
                except StoreUnavailable:
                    pass
            pg_proxy.start()
            store.inbox_heartbeat("me", "host", 1, store._clock(), lease_s=30)
            store.inbox_heartbeat("me", "host", 1, store._clock(), lease_s=30)
        lines = _store_lines(caplog)
        assert [r.levelname for r in lines] == ["ERROR", "WARNING"], [r.getMessage() for r in lines]
        assert "unavailable" in lines[0].getMessage() and "again" in lines[1].getMessage()
        assert all(r.exc_info is None for r in caplog.records)          # no tracebacks
    finally:
        store.close()


def test_a_recreated_empty_postgresql_database_is_migrated_and_the_spool_drains(
        make_settings, pg_schema, faq_questions, caplog):
    settings = make_settings(DATABASE_URL=pg_url(pg_schema))
    store = CaseStore.from_settings(settings)
    service = ConsultationService(settings=settings, answerer=FaqAnswerer(), store=store)
    try:
        before = service.consult(inquiry(faq_questions[0], thread="1.1", key="Ev-1"))
        assert before.case_ref
        # an outage left a turn in the spool; then the database came back EMPTY (re-created)
        spool = service.spool
        answer = FaqAnswerer().answer(faq_questions[1])
        req = inquiry(faq_questions[1], thread="2.2", key="Ev-2")
        spool.add_turn(req.conversation, req.requester, req.question, [], req.dedupe_key, None,
                       answer, None)
        with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER,
                             autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{pg_schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        with caplog.at_level(logging.WARNING):
            assert service.replay_spool() == 1          # migrates on reconnect, then writes
        assert store.is_migrated()
        assert any("re-created" in r.getMessage() for r in caplog.records)
        [case] = store.list_cases()
        assert case.thread_ts == "2.2" and case.turn_count == 1
        assert service.consult(req).duplicate          # its key came back with it
    finally:
        store.close()


def test_a_deleted_sqlite_file_is_noticed_and_the_new_one_migrated(make_settings, faq_questions):
    settings = make_settings()
    store = CaseStore.from_settings(settings)
    service = ConsultationService(settings=settings, answerer=FaqAnswerer(), store=store)
    try:
        service.consult(inquiry(faq_questions[0], thread="1.1", key="Ev-1"))
        path = settings.data_dir / "consult.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        assert store.sqlite_file.replaced()            # the heartbeat's check
        store.schema_lost()
        service.consult(inquiry(faq_questions[1], thread="2.2", key="Ev-2"))
        assert path.exists() and store.is_migrated()
        assert [c.thread_ts for c in store.list_cases()] == ["2.2"]
        assert not store.sqlite_file.replaced()
    finally:
        store.close()


def test_a_spooled_answer_whose_turn_vanished_is_written_whole(make_settings, store,
                                                               faq_questions):
    settings = make_settings()
    spool = Spool.from_settings(settings)
    req = inquiry(faq_questions[0], thread="3.3", key="Ev-3")
    answer = FaqAnswerer().answer(faq_questions[0])
    from bot.cases.spool import turn_record

    spool.add_complete(987654, answer, None, turn=turn_record(
        req.conversation, req.requester, req.question, [], req.dedupe_key, None, None, None))
    assert spool.replay(store) == 1
    [case] = store.list_cases()
    [turn] = store.case_detail(case.id).turns
    assert turn.answer == answer.text and case.thread_ts == "3.3"


def test_a_resumed_delivery_reuses_the_turn_it_began(store, faq_questions, make_settings):
    answerer = FaqAnswerer()
    service = ConsultationService(settings=make_settings(), answerer=answerer, store=store)
    req = inquiry(faq_questions[2], thread="4.4", key="Ev-4")
    begun = store.begin_turn(req.conversation, req.requester, req.question, dedupe_key="Ev-4")
    # the process died while answering; the inbox runs the delivery again
    assert service.consult(req).duplicate                       # an ordinary retry: nothing
    resumed = service.consult(req, resume=True)
    assert resumed.turn_id == begun.turn_id and resumed.answer.answered
    again = service.consult(req, resume=True)                   # died after answering: reused
    assert again.turn_id == begun.turn_id and again.answer.text == resumed.answer.text
    assert len(answerer.received) == 1                          # answered once
    [case] = store.list_cases()
    assert case.turn_count == 1


def test_a_resumed_delivery_whose_answer_had_failed_gives_the_polite_error(store, faq_questions,
                                                                           make_settings):
    service = ConsultationService(settings=make_settings(), answerer=FaqAnswerer(), store=store)
    req = inquiry(faq_questions[3], thread="5.5", key="Ev-5")
    begun = store.begin_turn(req.conversation, req.requester, req.question, dedupe_key="Ev-5")
    store.complete_turn(begun.turn_id, None, error="KnowledgeBaseMissing")
    try:
        service.consult(req, resume=True)
    except ConsultError as exc:
        assert exc.user_message
    else:
        raise AssertionError("expected the failure to be re-raised")
