"""The life of an FAQ entry through the one FAQ service, on SQLite and PostgreSQL: a draft from a
staff answer, edits, the personal-data warning before approval, approval, citations counted with
the turn, retirement, refusals in Japanese, and the audit trail."""

from __future__ import annotations

import pytest

from bot.domain import Answer, Conversation, Passage, Requester
from bot.errors import ActionNotAllowed, InvalidInput, NotAuthorized
from bot.faq.index import entry_source
from bot.faq.service import NeedsConfirmation
from bot.faq.store import FaqStore
from bot.faq.views import FaqStatus, entry_json

from .conftest import BASIS, OUTSIDER, STAFF, staff_case

LEAD = "U0LEAD"


def test_a_staff_answer_becomes_a_draft_then_an_approved_entry(store, faq):
    case, reply = staff_case(store)
    proposal = faq.proposal(STAFF, case.ref)
    assert proposal.case_id == case.id and proposal.event_id == reply.id
    assert "電子申請" in proposal.question and "011-231-4111" not in proposal.question  # masked
    assert proposal.answer.startswith("専門的知識を有するアドバイザー")
    assert proposal.section == BASIS                       # the section the bot's answer cited
    assert proposal.category == "市町村のデジタル化の支援"   # the case's programme

    result = faq.draft_from_case(STAFF, case.id)
    entry = result.entry
    assert result.created and entry.status == FaqStatus.DRAFT and entry.case_id == case.id
    assert entry.source_event_id == reply.id and entry.case_ref == case.ref
    assert "佐藤" not in entry.question and "〔氏名〕" in entry.question   # the guard masks names
    assert any("内線2345" in w for w in result.warnings)   # an extension number is still there
    again = faq.draft_from_case(LEAD, case.id)             # a second click: the same draft
    assert not again.created and again.entry.id == entry.id and "すでに" in again.message

    # the approval warns while the draft still carries an extension number
    with pytest.raises(NeedsConfirmation) as refused:
        faq.approve(LEAD, entry.id)
    assert "内線2345" in refused.value.user_message and "確認して承認する" in refused.value.user_message
    assert faq.detail(LEAD, entry.id).entry.status == FaqStatus.DRAFT

    revision = faq.faq.revision()
    edited = faq.edit(STAFF, entry.id, question="電子申請を始めたい町村に、道のアドバイザーを派遣してもらえますか？",
                      answer=proposal.answer.replace("（内線2345）", ""), section=BASIS,
                      category="市町村のデジタル化の支援")
    assert edited.entry.status == FaqStatus.DRAFT and edited.warnings == ()
    assert faq.faq.revision() == revision                  # a draft is not in the index: no bump

    approved = faq.approve(LEAD, entry.id)
    assert approved.entry.status == FaqStatus.APPROVED
    assert approved.entry.approved_by == LEAD and approved.entry.approved_at is not None
    from bot.faq.views import JST
    day = approved.entry.approved_at.astimezone(JST).strftime("%Y-%m-%d")
    assert approved.entry.label == f"職員回答（{case.ref} より・{day} 承認）"
    assert faq.faq.revision() == revision + 1
    assert [e.id for e in faq.faq.approved()] == [entry.id]

    # answers citing it are counted with their turn
    conv = Conversation(kind="slack", workspace="T1", channel="C0OFFICE", thread_ts="1700000000.999")
    cited = Passage(chunk_id="x", text="…", source=entry_source(entry.id), title=approved.entry.label,
                    section="", page=None, doc_type="faq", score=1.0)
    for i in range(2):
        begun = store.begin_turn(Conversation("slack", "T1", "C9", f"17.{i}"), Requester("W1"),
                                 "電子申請のアドバイザーは？")
        store.complete_turn(begun.turn_id, Answer(text="派遣しています [1]。", answered=True,
                                                  mode="extractive", sources=[cited]))
    store.add_turn(conv, Requester("W2"), "別の質問", Answer(text="なし", answered=False, mode="none"))
    shown = faq.detail(STAFF, entry.ref)
    assert shown.entry.citations == 2 and len(shown.recent_citations) == 2
    assert faq.list(STAFF, "approved").entries[0].citations == 2

    retired = faq.retire(LEAD, entry.id, reason="制度改正のため")
    assert retired.entry.status == FaqStatus.RETIRED and retired.entry.retired_by == LEAD
    assert faq.faq.approved() == [] and faq.faq.revision() == revision + 2

    trail = faq.detail(STAFF, entry.id).events
    assert [(e.kind, e.actor, e.from_status, e.to_status) for e in trail] == [
        ("created", STAFF, None, "draft"), ("edited", STAFF, "draft", None),
        ("approved", LEAD, "draft", "approved"), ("retired", LEAD, "approved", "retired")]
    assert trail[1].changed == ("question", "answer") and trail[3].text == "制度改正のため"
    assert set(entry_json(retired.entry)) == {"id", "status", "question", "answer", "section",
                                              "category", "case_ref", "approved_by",
                                              "approved_at", "citations"}


def test_personal_data_is_masked_again_on_every_save(store, faq):
    result = faq.create(STAFF, question="問い合わせ先は？",
                        answer="担当 090-1234-5678 または taro@example.jp までご連絡ください。")
    assert "090-1234-5678" not in result.entry.answer and "taro@example.jp" not in result.entry.answer
    assert "〔電話番号〕" in result.entry.answer and "〔メール〕" in result.entry.answer
    edited = faq.edit(STAFF, result.entry.id, question="問い合わせ先は？ 011-222-3333",
                      answer="振興局の地域政策課にお問い合わせください。", section=None, category=None)
    assert "011-222-3333" not in edited.entry.question
    stored = FaqStore(store).get(result.entry.id)
    assert "011-222-3333" not in stored.question and "〔電話番号〕" in stored.question
    # an extension number masking does not catch still warns before approval
    faq.edit(STAFF, result.entry.id, question="問い合わせ先は？", section=None, category=None,
             answer="企画課（内線2345）の田中が担当します。")
    with pytest.raises(NeedsConfirmation) as refused:
        faq.approve(STAFF, result.entry.id)
    assert len(refused.value.warnings) == 1                # 田中 was masked on save (〔氏名〕)
    assert "田中" not in refused.value.user_message and "内線2345" in refused.value.user_message
    assert faq.approve(STAFF, result.entry.id, confirm=True).entry.status == FaqStatus.APPROVED
    # editing an approved entry asks again
    with pytest.raises(NeedsConfirmation):
        faq.edit(STAFF, result.entry.id, question="問い合わせ先は？", section=None, category=None,
                 answer="企画課（内線3456）までどうぞ。")


def test_refusals_are_polite_and_change_nothing(store, faq):
    case, _ = staff_case(store)
    unanswered, _ = staff_case(store, thread="1700000000.000200", resolve=False)
    with pytest.raises(NotAuthorized) as not_staff:
        faq.draft_from_case(OUTSIDER, case.id)
    assert "担当職員の方のみ" in not_staff.value.user_message
    with pytest.raises(NotAuthorized):
        faq.create(OUTSIDER, question="q", answer="a")
    with pytest.raises(InvalidInput) as empty:
        faq.create(STAFF, question="  ", answer="a")
    assert empty.value.user_message == "質問を入力してください。"
    with pytest.raises(InvalidInput) as long:
        faq.create(STAFF, question="q", answer="長" * 3001)
    assert "3000 文字以内" in long.value.user_message

    entry = faq.draft_from_case(STAFF, case.id).entry
    with pytest.raises(ActionNotAllowed) as not_yet:
        faq.retire(STAFF, entry.id)
    assert "まだ承認されていません" in not_yet.value.user_message
    faq.reject(STAFF, entry.id, "重複")
    with pytest.raises(ActionNotAllowed) as rejected:
        faq.approve(STAFF, entry.id, confirm=True)
    assert "却下されています" in rejected.value.user_message
    # editing a rejected entry makes it a draft again
    back = faq.edit(STAFF, entry.id, question="電子申請のアドバイザー派遣は？", answer="派遣しています。",
                    section=BASIS, category=None)
    assert back.entry.status == FaqStatus.DRAFT
    with pytest.raises(ActionNotAllowed) as same:
        faq.edit(STAFF, entry.id, question="電子申請のアドバイザー派遣は？", answer="派遣しています。",
                 section=BASIS, category=None)
    assert "変更された項目がない" in same.value.user_message
    approved = faq.approve(STAFF, entry.id)
    with pytest.raises(ActionNotAllowed) as twice:
        faq.approve(STAFF, entry.id)
    assert "すでに承認済み" in twice.value.user_message
    faq.retire(STAFF, approved.entry.id)
    with pytest.raises(ActionNotAllowed) as frozen:
        faq.edit(STAFF, entry.id, question="x", answer="y", section=None, category=None)
    assert "廃止されているため編集できません" in frozen.value.user_message

    # a case without a staff reply cannot become an entry; an unknown one is not found
    declined, _ = staff_case(store, thread="1700000000.000300")
    from bot.cases.models import EventRow
    from sqlalchemy import delete
    with store.engine.begin() as conn:
        conn.execute(delete(EventRow).where(EventRow.case_id == declined.id,
                                            EventRow.kind == "staff_reply"))
    with pytest.raises(InvalidInput) as no_reply:
        faq.draft_from_case(STAFF, declined.id)
    assert "職員の回答がまだない" in no_reply.value.user_message
    from bot.errors import CaseNotFound
    with pytest.raises(CaseNotFound):
        faq.draft_from_case(STAFF, "相談#9999")
    assert unanswered.status != "resolved"
    assert faq.draft_from_case(STAFF, unanswered.id).created   # resolved or not: a staff answer


def test_each_staff_reply_of_a_case_can_become_its_own_entry(store, faq):
    case, first = staff_case(store)
    store.reopen(case.id, actor=STAFF)
    store.add_turn(Conversation(kind="slack", workspace="T1", channel="C0OFFICE",
                                thread_ts="1700000000.000100"), Requester("W0OFFICER"),
                   "派遣の費用負担はありますか？", Answer(text="不明", answered=False, mode="none"))
    second = store.add_staff_reply(case.id, "費用は道が負担します。", actor=STAFF)
    latest = faq.draft_from_case(STAFF, case.id)
    assert latest.entry.source_event_id == second.id
    assert latest.entry.question == "派遣の費用負担はありますか？"
    older = faq.draft_from_case(STAFF, case.id, first.id)
    assert older.created and older.entry.source_event_id == first.id
    assert "電子申請" in older.entry.question
    listed = faq.list(STAFF)
    assert listed.counts == {"draft": 2, "approved": 0, "rejected": 0, "retired": 0}
    with pytest.raises(InvalidInput):
        faq.list(STAFF, "unknown")
