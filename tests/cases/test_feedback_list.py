"""The 👎 list (console フィードバック page): newest first, with the staff follow-up."""

from __future__ import annotations

import pytest

from bot.cases.store import CaseStore

from .report_data import Clock, answer, ask, seed


@pytest.fixture
def seeded(db_settings):
    clock = Clock()
    store = CaseStore.from_settings(db_settings, clock=clock)
    data = seed(store, clock)
    yield data
    store.close()


def test_thumbs_down_newest_first_with_follow_up(seeded):
    store, clock = seeded.store, seeded.clock
    clock.advance(hours=1)
    case_id, turn_id = ask(store, "k9", "地域づくり総合交付金の補助率は？",
                           answer("補助率は 2 分の 1 以内です。", None), municipality="旭川市")
    store.record_feedback(turn_id, user_id="U100", value="down")
    page = store.feedback_page()
    assert page.total == 2 and page.pages == 1
    first, second = page.items
    assert first.turn.id == turn_id and first.case.id == case_id
    assert not first.followed_up and first.follow_up_label == "まだ対応していません"
    assert second.turn.id == seeded.turns["k3"]
    assert second.turn.feedback_comment == "具体的な日付が知りたい"
    assert second.followed_up and second.follow_up_label == "職員が回答しました"
    pending = store.feedback_page(pending_only=True)
    assert [i.turn.id for i in pending.items] == [turn_id] and pending.total == 1
    clock.advance(minutes=30)
    store.assign(case_id, "U_STAFF1")
    item = store.feedback_page(pending_only=True).items[0]
    assert item.follow_up == "assigned" and item.follow_up_label == "担当者が対応中です"
    store.resolve(case_id, actor="U_STAFF1")
    assert store.feedback_page(pending_only=True).items == ()
    assert store.feedback_page(page=9).page == 1
