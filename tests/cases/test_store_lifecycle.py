"""Case lifecycle and its audit trail, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.cases.views import CaseStatus, EscalationReason, EventKind, parse_ref
from bot.domain import Answer, Conversation, Passage, Requester
from bot.errors import CaseNotFound, ConsultError

CONV = Conversation(kind="slack", workspace="T1", channel="C1", thread_ts="1700000000.000100")
OFFICER = Requester(user_id="U_OFFICER", display_name="旭川 太郎", municipality="旭川市")


def _answer(answered: bool = True) -> Answer:
    sources = [
        Passage("c1", "地域づくり総合交付金は…", "strategy/hokkaido_strategy_excerpt.md", "北海道総合戦略",
                "VI 市町村戦略支援 > 1 財政的支援 > (1) 地域づくり総合交付金", 3, "strategy", 0.91),
        Passage("c2", "ふるさと納税…", "strategy/hokkaido_strategy_excerpt.md", "北海道総合戦略",
                "VI 市町村戦略支援 > 1 財政的支援 > (4) ふるさと納税の活用に向けた支援", 4, "strategy", 0.5),
    ]
    if not answered:
        return Answer(text="資料には記載がありません。", answered=False, mode="none", evidence=0.1)
    return Answer(text="交付金があります [1]。", answered=True, mode="llm", sources=sources,
                  model="gpt-4o-mini", prompt_version="answer-v3", evidence=0.8, latency_ms=1234)


def _ask(store, question="交付金の使い道を教えてください", conv=CONV, answer=None, key=None):
    begun = store.begin_turn(conv, OFFICER, question, dedupe_key=key)
    assert not begun.duplicate
    return begun, store.complete_turn(begun.turn_id, answer or _answer())


def _kinds(store, case_id):
    return [e.kind for e in store.case_detail(case_id).events]


def test_a_question_opens_an_answered_case_with_its_turn(store):
    begun, case = _ask(store)
    assert begun.created and not begun.reopened and begun.history == ()
    assert case.ref == f"相談#{case.id}" and parse_ref(case.ref) == case.id
    assert case.status == CaseStatus.ANSWERED
    assert case.requester_id == "U_OFFICER" and case.requester_name == "旭川 太郎"
    assert case.municipality == "旭川市"
    assert (case.workspace, case.channel, case.thread_ts) == ("T1", "C1", "1700000000.000100")
    assert case.title == "交付金の使い道を教えてください"
    # only the cited source [1] counts as the programme
    assert case.programmes == ("地域づくり総合交付金",)
    turn = store.case_detail(case.id).turns[0]
    assert turn.answer == "交付金があります [1]。" and turn.answered is True
    assert (turn.mode, turn.model, turn.prompt_version) == ("llm", "gpt-4o-mini", "answer-v3")
    assert turn.latency_ms == 1234 and turn.evidence == pytest.approx(0.8)
    assert [s["section"] for s in turn.sources][0].endswith("地域づくり総合交付金")
    assert turn.sources[0]["n"] == 1 and turn.sources[0]["page"] == 3
    assert turn.completed_at >= turn.created_at
    assert _kinds(store, case.id) == [EventKind.OPENED]


def test_follow_up_continues_the_case_with_history(store):
    _ask(store, "交付金はありますか")
    begun, case = _ask(store, "申請の締切は？")
    assert not begun.created
    assert [(h.question, h.answer) for h in begun.history] == [("交付金はありますか", "交付金があります [1]。")]
    assert case.turn_count == 2
    assert store.history(case.id)[-1].question == "申請の締切は？"


def test_declined_answer_needs_staff_with_reason(store):
    _, case = _ask(store, answer=_answer(answered=False))
    assert case.status == CaseStatus.NEEDS_STAFF
    assert case.escalation_reason == EscalationReason.NOT_ANSWERED
    assert case.escalation_label and case.escalated_at is not None
    events = store.case_detail(case.id).events
    assert events[-1].kind == EventKind.ESCALATED and events[-1].actor == "bot"
    assert (events[-1].from_status, events[-1].to_status) == ("answered", "needs_staff")


def test_failed_answer_records_error_and_needs_staff(store):
    begun = store.begin_turn(CONV, OFFICER, "質問")
    case = store.complete_turn(begun.turn_id, None, error="KnowledgeBaseMissing")
    assert case.status == CaseStatus.NEEDS_STAFF
    assert case.escalation_reason == EscalationReason.BOT_ERROR
    turn = store.get_turn(begun.turn_id)
    assert turn.error == "KnowledgeBaseMissing" and turn.answered is False and turn.answer is None
    # completing twice changes nothing
    assert store.complete_turn(begun.turn_id, _answer()).turn_count == 1
    assert store.get_turn(begun.turn_id).answer is None


def test_full_staff_workflow_records_every_event(store):
    _, case = _ask(store)
    case = store.escalate(case.ref, actor="U_OFFICER", text="担当者と話したい")
    assert case.status == CaseStatus.NEEDS_STAFF and case.escalation_reason == "requested"
    case = store.assign(case.ref, "U_STAFF")
    assert case.status == CaseStatus.IN_PROGRESS and case.assignee == "U_STAFF"
    note = store.add_note(case.id, "財政課に確認中", actor="U_STAFF")
    assert note.internal and note.kind == EventKind.NOTE
    reply = store.add_staff_reply(case.id, "上限額は500万円です。", actor="U_STAFF", message_ts="171.2")
    assert reply.kind == EventKind.STAFF_REPLY and not reply.internal
    case = store.get_case(case.id)
    assert case.first_staff_response_at is not None
    case = store.resolve(case.id, actor="U_STAFF", text="回答済み")
    assert case.status == CaseStatus.RESOLVED and case.resolved_at is not None
    # idempotent: resolving again adds nothing
    n_events = len(store.case_detail(case.id).events)
    store.resolve(case.id, actor="U_STAFF")
    detail = store.case_detail(case.id)
    assert len(detail.events) == n_events
    kinds = [e.kind for e in detail.events]
    assert kinds == ["opened", "escalated", "assigned", "note", "staff_reply", "resolved"]
    transitions = [(e.from_status, e.to_status) for e in detail.events if e.to_status]
    assert transitions == [(None, "answered"), ("answered", "needs_staff"),
                           ("needs_staff", "in_progress"), ("in_progress", "resolved")]
    assert [e.actor for e in detail.events][1:] == ["U_OFFICER"] + ["U_STAFF"] * 4
    assert all(e.created_at.tzinfo is not None for e in detail.events)
    # officer-facing detail never contains internal notes
    public = store.case_detail(case.id, include_internal=False)
    assert "note" not in [e.kind for e in public.events]
    assert all("財政課" not in (e.text or "") for e in public.events)


def test_new_message_in_resolved_thread_reopens(store):
    _, case = _ask(store)
    store.assign(case.id, "U_STAFF")
    store.resolve(case.id, actor="U_STAFF")
    begun, case = _ask(store, "追加で質問です")
    assert begun.reopened and not begun.created
    assert case.status == CaseStatus.ANSWERED and case.resolved_at is None
    assert case.assignee == "U_STAFF"
    reopened = [e for e in store.case_detail(case.id).events if e.kind == EventKind.REOPENED]
    assert len(reopened) == 1 and reopened[0].from_status == "resolved"


def test_staff_reopen_and_noops(store):
    _, case = _ask(store)
    assert store.reopen(case.id, actor="U_STAFF").status == CaseStatus.ANSWERED  # not resolved: no-op
    store.resolve(case.id, actor="U_STAFF")
    case = store.reopen(case.id, actor="U_STAFF", text="再確認")
    assert case.status == CaseStatus.NEEDS_STAFF and case.escalation_reason == "staff"


def test_feedback_up_and_down_with_comment(store):
    begun, case = _ask(store)
    case = store.record_feedback(begun.turn_id, user_id="U_OFFICER", value="up")
    assert case.status == CaseStatus.ANSWERED and case.feedback_up == 1
    case = store.record_feedback(begun.turn_id, user_id="U_OFFICER", value="down")
    assert case.status == CaseStatus.NEEDS_STAFF
    assert case.escalation_reason == EscalationReason.NEGATIVE_FEEDBACK
    assert (case.feedback_up, case.feedback_down) == (0, 1)
    # the 👎 modal's comment arrives later: kept, no second escalation
    store.record_feedback(begun.turn_id, user_id="U_OFFICER", value="down", comment="締切が知りたい")
    turn = store.get_turn(begun.turn_id)
    assert (turn.feedback, turn.feedback_comment) == ("down", "締切が知りたい")
    kinds = _kinds(store, case.id)
    assert kinds.count("escalated") == 1 and kinds.count("feedback") == 3
    # feedback by case (latest turn)
    assert store.record_feedback(case=case.ref, user_id="U_OFFICER", value="up").feedback_up == 1
    with pytest.raises(ValueError):
        store.record_feedback(begun.turn_id, user_id="U", value="meh")


def test_municipality_editable_and_staff_message(store):
    _, case = _ask(store)
    case = store.set_municipality(case.id, "名寄市", actor="U_STAFF")
    assert case.municipality == "名寄市"
    events = store.case_detail(case.id).events
    assert events[-1].kind == EventKind.MUNICIPALITY and events[-1].text == "名寄市"
    assert store.get_staff_message(case.id) is None
    store.set_staff_message(case.id, "C_STAFF", "1700000001.000200")
    assert store.get_staff_message(case.ref) == ("C_STAFF", "1700000001.000200")


def test_lookup_errors(store):
    with pytest.raises(CaseNotFound) as err:
        store.get_case("相談#999")
    assert "相談#999" in err.value.user_message
    with pytest.raises(CaseNotFound):
        store.assign("abc", "U1")
    with pytest.raises(ConsultError):
        store.list_cases(status="done")
    assert store.find_case(CONV) is None
    assert parse_ref("相談＃１２") == 12 and parse_ref("#7") == 7 and parse_ref(3) == 3


def test_lists_queue_and_requester_views(store):
    convs = [Conversation("slack", "T1", "C1", f"17000000{i}.0001") for i in range(4)]
    ids = []
    for i, conv in enumerate(convs):
        requester = Requester(f"U{i % 2}", municipality=["札幌市", "函館市"][i % 2])
        begun = store.begin_turn(conv, requester, f"質問{i}")
        ids.append(store.complete_turn(begun.turn_id, _answer()).id)
    store.escalate(ids[2], actor="U0")
    store.escalate(ids[0], actor="U0")
    store.assign(ids[1], "U_STAFF")   # in_progress
    store.resolve(ids[3], actor="U_STAFF")
    queue = store.staff_queue()
    # needs_staff first (oldest escalation first), then in_progress
    assert [c.id for c in queue.cases] == [ids[2], ids[0], ids[1]]
    assert queue.counts == {"answered": 0, "needs_staff": 2, "in_progress": 1, "resolved": 1}
    assert [c.id for c in store.cases_for_requester("U0")] == [ids[2], ids[0]]
    assert {c.id for c in store.list_cases(municipality="函館市")} == {ids[1], ids[3]}
    assert [c.id for c in store.list_cases(status="resolved")] == [ids[3]]
    assert [c.id for c in store.list_cases(requester="U1", assignee="U_STAFF")] == [ids[1]]
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert store.list_cases(since=future) == []
    assert len(store.list_cases(since=future - timedelta(days=1))) == 4
    details = store.list_details(status="needs_staff")
    assert {d.case.id for d in details} == {ids[0], ids[2]} and all(d.turns for d in details)


def test_stats(store):
    a, case_a = _ask(store, conv=Conversation("slack", "T1", "C1", "1.1"))
    b, case_b = _ask(store, conv=Conversation("slack", "T1", "C1", "2.2"))
    _, case_c = _ask(store, conv=Conversation("slack", "T1", "C1", "3.3"), answer=_answer(False))
    store.record_feedback(a.turn_id, user_id="U", value="up")
    store.record_feedback(b.turn_id, user_id="U", value="down")
    store.assign(case_b.id, "U_STAFF")
    store.add_staff_reply(case_b.id, "回答します", actor="U_STAFF")
    st = store.stats()
    assert st.total == 3 and st.turns == 3
    assert st.by_status == {"answered": 1, "needs_staff": 1, "in_progress": 1, "resolved": 0}
    assert st.by_municipality == {"旭川市": 3}
    assert st.by_programme == {"地域づくり総合交付金": 2}
    assert (st.bot_answered, st.staff_answered, st.unanswered) == (1, 1, 1)
    assert (st.feedback_up, st.feedback_down, st.feedback_up_rate) == (1, 1, 0.5)
    assert st.median_staff_response_s is not None and st.median_staff_response_s >= 0
    assert st.median_time_to_take_s is not None


def test_oversized_values_are_stored_safely(store):
    conv = Conversation(kind="console", workspace=None, channel=None, thread_ts="s" * 300)
    requester = Requester(user_id="console:" + "u" * 200, display_name="名" * 400,
                          municipality="町" * 200)
    begun = store.begin_turn(conv, requester, "質問" * 500, dedupe_key="k" * 400)
    case = store.complete_turn(begun.turn_id, _answer())
    assert len(case.title) == 80 and case.title.endswith("…")
    assert store.find_case(conv).id == case.id
    assert store.begin_turn(conv, requester, "次の質問").case.id == case.id
    assert store.begin_turn(conv, requester, "再送", dedupe_key="k" * 400).duplicate
    store.assign(case.id, "S" * 300, actor="A" * 300)
    assert len(store.get_case(case.id).assignee) == 128
    assert len(store.case_detail(case.id).turns[0].question) == 1000


def test_logged_database_errors_never_carry_the_question(store):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from bot.cases.db import describe_error

    with pytest.raises(DBAPIError) as err, store.engine.begin() as conn:
        conn.execute(text("INSERT INTO consult_turns (case_id, question, created_at) "
                          "VALUES (:c, :q, :t)"),
                     {"c": 987654, "q": "秘密の質問 hanako@example.jp", "t": None})
    # PostgreSQL echoes the failing row in its message: only describe_error() goes to the logs
    described = describe_error(err.value)
    assert described.startswith("IntegrityError") and "hanako" not in described
    assert "秘密" not in described
