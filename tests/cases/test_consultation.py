"""ConsultationService on SQLite and PostgreSQL: PII masked before anything leaves, exactly one
turn per question, retried deliveries ignored, history, failures logged, 50 concurrent
consultations lose nothing."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.answering.answerer import Answerer
from bot.answering.retriever import HybridRetriever
from bot.consultation import ConsultationService
from bot.errors import KnowledgeBaseMissing

from .conftest import FaqAnswerer, inquiry

EMAIL = "hanako.sapporo@example.lg.jp"
PHONE = "011-231-4111"


@pytest.fixture
def service(db_settings, store, faq_answerer):
    return ConsultationService(settings=db_settings, answerer=faq_answerer, store=store)


def test_answer_is_logged_as_one_turn(service, store, faq_questions):
    result = service.consult(inquiry(faq_questions[4], key="Ev1"))
    assert not result.duplicate and result.answer.answered
    assert result.case_ref == f"相談#{result.case_id}" and result.turn_id
    detail = store.case_detail(result.case_ref)
    assert len(detail.turns) == 1
    turn = detail.turns[0]
    assert turn.id == result.turn_id and turn.answer == result.answer.text
    assert turn.prompt_version == "faq-peer-1" and turn.sources[0]["source"] == "faq/faq.csv"
    assert detail.case.programmes  # derived from the cited FAQ entry's section
    assert detail.case.status == "answered"


def test_pii_is_masked_before_the_answerer_the_store_and_the_logs(service, store, faq_answerer,
                                                                 caplog):
    question = f"地域づくり総合交付金について。連絡先は {EMAIL} / {PHONE} です。"
    with caplog.at_level(logging.DEBUG):
        result = service.consult(inquiry(question, key="Ev-pii"))
    assert set(result.pii_kinds) >= {"email", "phone"}
    sent, _ = faq_answerer.received[0]
    assert EMAIL not in sent and PHONE not in sent and "地域づくり総合交付金" in sent
    stored = store.case_detail(result.case_id)
    assert EMAIL not in stored.turns[0].question and PHONE not in stored.case.title
    assert set(stored.turns[0].pii_kinds) >= {"email", "phone"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "交付金" not in logged and EMAIL not in logged and "札幌 花子" not in logged
    assert result.case_ref in logged  # refs are what the logs carry


def test_retried_delivery_is_answered_once(service, store, faq_answerer, faq_questions):
    first = service.consult(inquiry(faq_questions[0], key="Ev-retry"))
    again = service.consult(inquiry(faq_questions[0], key="Ev-retry"))
    assert again.duplicate and again.case_id == first.case_id and again.answer.text == ""
    assert len(faq_answerer.received) == 1
    assert store.get_case(first.case_id).turn_count == 1
    # another service instance (replica) sharing the database also sees the key
    other = ConsultationService(settings=service.settings, answerer=faq_answerer, store=store)
    assert other.consult(inquiry(faq_questions[0], key="Ev-retry")).duplicate
    assert len(faq_answerer.received) == 1


def test_follow_up_gets_the_thread_history(service, faq_answerer, faq_questions):
    service.consult(inquiry(faq_questions[4], key="a"))
    result = service.consult(inquiry("その申請の締切はいつですか？", key="b"))
    _, history = faq_answerer.received[1]
    assert [h.question for h in history] == [faq_questions[4]]
    assert history[0].answer.endswith("[1]")
    assert not result.answer.answered  # the FAQ peer declines this one
    assert service.store.get_case(result.case_id).status == "needs_staff"


def test_resolved_thread_reopens(service, store, faq_questions):
    first = service.consult(inquiry(faq_questions[1], key="x1"))
    store.resolve(first.case_id, actor="U_STAFF")
    second = service.consult(inquiry(faq_questions[2], key="x2"))
    assert second.reopened and second.case_id == first.case_id
    assert store.get_case(first.case_id).status == "answered"


def test_knowledge_base_missing_still_logs_the_turn(db_settings, store):
    # the real answerer over an empty data dir: no index yet
    answerer = Answerer(db_settings, HybridRetriever.from_settings(db_settings))
    service = ConsultationService(settings=db_settings, answerer=answerer, store=store)
    with pytest.raises(KnowledgeBaseMissing) as err:
        service.consult(inquiry("地域おこし協力隊の支援は？", key="Ev-kb"))
    assert "consult ingest" in err.value.user_message
    [case] = store.list_cases()
    assert case.status == "needs_staff" and case.escalation_reason == "bot_error"
    [turn] = store.case_detail(case.id).turns
    assert turn.error == "KnowledgeBaseMissing" and turn.question == "地域おこし協力隊の支援は？"


def test_feedback_and_escalation_helpers(service, store, faq_questions):
    result = service.consult(inquiry(faq_questions[3], key="f1"))
    case = service.record_feedback(result.turn_id, user_id="U100", value="down",
                                   comment=f"{EMAIL} に連絡ください")
    assert case.status == "needs_staff"
    assert EMAIL not in store.get_turn(result.turn_id).feedback_comment
    other = service.consult(inquiry(faq_questions[5], thread="999.1", key="f2"))
    assert service.escalate(other.case_ref, user_id="U100").escalation_reason == "requested"


def test_municipality_from_the_mapping_file(db_settings, store, faq_answerer, tmp_path,
                                            faq_questions):
    mapping = tmp_path / "municipalities.csv"
    mapping.write_text("slack_id,municipality\nU100,札幌市\nC200,釧路市\n", encoding="utf-8-sig")
    settings = db_settings.model_copy(update={"municipality_map": str(mapping)})
    service = ConsultationService(settings=settings, answerer=faq_answerer, store=store)
    by_user = service.consult(inquiry(faq_questions[0], key="m1"))
    by_channel = service.consult(inquiry(faq_questions[0], user="U999", channel="C200",
                                         thread="5.5", key="m2"))
    assert store.get_case(by_user.case_id).municipality == "札幌市"
    assert store.get_case(by_channel.case_id).municipality == "釧路市"


def test_fifty_concurrent_consultations_lose_nothing(db_settings, store, faq_questions):
    answerer = FaqAnswerer(delay_s=0.02)
    service = ConsultationService(settings=db_settings, answerer=answerer, store=store)
    inquiries = []
    for i in range(50):
        # 40 separate threads, plus 10 follow-ups arriving at once in 2 shared threads
        thread = f"1700000000.{i:06d}" if i < 40 else f"1800000000.{i % 2:06d}"
        inquiries.append(inquiry(faq_questions[i % len(faq_questions)], thread=thread,
                                 user=f"U{i:03d}", key=f"Ev-{i:03d}"))
    deliveries = inquiries + inquiries  # every delivery is retried while the first is in flight
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(service.consult, deliveries))

    answered = [r for r in results if not r.duplicate]
    assert len(answered) == 50 and sum(r.duplicate for r in results) == 50
    assert len(answerer.received) == 50
    assert len({r.turn_id for r in answered}) == 50
    cases = store.list_cases(limit=1000)
    assert len(cases) == 42
    assert sum(c.turn_count for c in cases) == 50
    details = store.export_details()
    turns = [t for d in details for t in d.turns]
    assert len(turns) == 50
    assert all(t.completed_at is not None and t.answer for t in turns)
    assert sorted(t.id for t in turns) == sorted(r.turn_id for r in answered)
    shared = [d for d in details if d.case.thread_ts.startswith("1800000000")]
    assert sorted(len(d.turns) for d in shared) == [5, 5]
    assert all(sum(e.kind == "opened" for e in d.events) == 1 for d in details)
