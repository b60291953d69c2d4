"""Fixtures of the FAQ tests: the case-store fixtures (real SQLite file and a fresh PostgreSQL
schema per test), a case with a staff reply, and the FAQ service on the real staff policy."""

from __future__ import annotations

import pytest

from bot.cases.policy import DefaultStaffPolicy
from bot.domain import Answer, Conversation, Passage, Requester
from bot.faq.service import FaqService
from tests.cases.conftest import backend, db_settings, pg_available, pg_schema, store  # noqa: F401

STAFF = "U0STAFF"
OUTSIDER = "W0OUTSIDE"
OFFICER = "W0OFFICER"
BASIS = "VI 市町村戦略支援 > 3 人的支援 > (2) 市町村のデジタル化の支援"


def staff_case(store, question="うちの町で電子申請を始めたいのですが、道のアドバイザーに来てもらえますか？"
               "担当は佐藤です。電話 011-231-4111",
               reply="専門的知識を有するアドバイザーを道が派遣しています。振興局の地域政策課（内線2345）に"
                     "お申し込みください。",
               thread="1700000000.000100", answered=True, resolve=True):
    """A Slack case whose bot answer cited the DX section and that staff answered (and resolved)."""
    from bot.pii import PiiGuard

    passage = Passage(chunk_id="c1", text="専門的知識を有するアドバイザーを道が確保し、派遣して相談対応する。",
                      source="strategy/hokkaido_strategy_excerpt.md", title="北海道総合戦略（抜粋）",
                      section=BASIS, page=None, doc_type="strategy", score=0.9)
    answer = Answer(text="アドバイザーを派遣しています [1]。" if answered else "見つかりませんでした。",
                    answered=answered, mode="extractive", sources=[passage] if answered else [],
                    evidence=0.8 if answered else 0.1)
    conv = Conversation(kind="slack", workspace="T1", channel="C0OFFICE", thread_ts=thread)
    case, _ = store.add_turn(conv, Requester(OFFICER, "上川 太郎", "上川町"), PiiGuard(ner=False).mask_text(question),
                             answer)
    event = store.add_staff_reply(case.id, reply, actor=STAFF)
    if resolve:
        store.resolve(case.id, actor=STAFF)
    return store.get_case(case.id), event


def faq_service(store, policy, **kw) -> FaqService:
    """The FAQ service with the staff workflow's own PII masking (as `build_faq` wires it)."""
    from bot.cases.workflow import StaffWorkflow

    return FaqService(store, policy, mask=StaffWorkflow(store, policy).mask, **kw)


@pytest.fixture
def faq(store):
    policy = DefaultStaffPolicy(staff_users=[STAFF, "U0LEAD"], local_operator="cli:operator")
    return faq_service(store, policy, sections=lambda: [BASIS, "VI 市町村戦略支援"])
