"""The knowledge loop on the staff card, through the REAL Bolt app (HTTP mode, signed deliveries)
against the Slack Web API stand-in: 「FAQにする」 after 解決済み (modal prefilled -> a draft in the
database, the member told where to approve it), and similar past cases on the card whose
「この回答を使う」 opens the reply modal with that staff answer."""

from __future__ import annotations

import json

from bot.faq.views import FaqStatus
from bot.slack.staff import ids as sids
from tests.slack.staff_fixtures import (  # noqa: F401  (staff_world is a fixture)
    OUTSIDER, STAFF_LEAD, STAFF_MEMBER, staff_world, wait_until,
)
from tests.standins.signing import view_submission

EARLIER_Q = "地域おこし協力隊の任期終了後の起業支援について、道の補助はありますか？"
EARLIER_A = "任期終了後の起業は、ほっかいどう協力隊ワンストップ窓口にご相談ください。"


def card_json(call) -> str:
    return json.dumps(call.params.get("blocks"), ensure_ascii=False)


def resolved_with_reply(world, question=EARLIER_Q, answer=EARLIER_A):
    case, root, card_ts = world.escalated(question)
    world.bot.services.workflow.reply(STAFF_LEAD, case.id, answer)
    world.bot.services.workflow.resolve(STAFF_LEAD, case.id)
    return case, root, card_ts


def test_faq_button_after_resolution_makes_a_draft(staff_world):
    case, root, card_ts = resolved_with_reply(staff_world, "協力隊の起業支援の補助は？ 担当 090-1111-2222")
    card = wait_until(lambda: [c for c in staff_world.card_updates(card_ts)
                               if "解決済み" in card_json(c) and sids.STAFF_FAQ in card_json(c)],
                      what="the resolved card with 「FAQにする」")[-1]
    assert "FAQにする" in card_json(card)

    view = staff_world.open_modal(sids.STAFF_FAQ, case.id, user=STAFF_MEMBER, card_ts=card_ts)
    assert view["callback_id"] == sids.STAFF_FAQ_VIEW
    inputs = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]
              if b["type"] == "input"}
    assert inputs[sids.FAQ_ANSWER] == EARLIER_A
    assert "協力隊の起業支援の補助は？" in inputs[sids.FAQ_QUESTION]
    assert "090-1111-2222" not in inputs[sids.FAQ_QUESTION]          # the masked question

    values = {sids.FAQ_QUESTION: "協力隊員の任期後の起業に道の支援はありますか？", sids.FAQ_ANSWER: EARLIER_A,
              sids.FAQ_CATEGORY: "地域おこし協力隊へのサポート", sids.FAQ_SECTION: ""}
    payload = view_submission(sids.STAFF_FAQ_VIEW, {
        block: {block: {"type": "plain_text_input", "value": text}} for block, text in values.items()},
        private_metadata=view["private_metadata"], user=STAFF_MEMBER)
    assert staff_world.bot.deliver.post_interaction(payload).status == 200
    told = staff_world.ephemeral_to(STAFF_MEMBER)
    faq = staff_world.bot.services.faq
    entry = faq.list(STAFF_MEMBER).entries[0]
    assert entry.status == FaqStatus.DRAFT and entry.case_id == case.id
    assert entry.question == "協力隊員の任期後の起業に道の支援はありますか？"
    assert entry.category == "地域おこし協力隊へのサポート" and entry.created_by == STAFF_MEMBER
    assert f"{entry.ref} の下書きを作成しました" in told.params["text"]
    assert f"/faq/{entry.id}|" in told.params["text"]

    # an empty question is refused inside the modal; an outsider is refused politely
    empty = view_submission(sids.STAFF_FAQ_VIEW, {sids.FAQ_QUESTION: {sids.FAQ_QUESTION: {
        "type": "plain_text_input", "value": " "}}}, private_metadata=view["private_metadata"],
        user=STAFF_MEMBER)
    resp = staff_world.bot.deliver.post_interaction(empty)
    assert resp.status == 200
    assert json.loads(resp.body)["errors"][sids.FAQ_QUESTION] == "質問を入力してください。"
    staff_world.click(sids.STAFF_FAQ, case.id, user=OUTSIDER, card_ts=card_ts)
    assert "担当職員の方のみ" in staff_world.ephemeral_to(OUTSIDER).params["text"]
    assert len(faq.list(STAFF_MEMBER).entries) == 1


def test_similar_cases_on_the_card_fill_the_reply_modal(staff_world):
    earlier, _, _ = resolved_with_reply(staff_world)
    case, root, card_ts = staff_world.escalated("協力隊の任期が終わった後に起業する場合、道の補助はありますか？")
    posted = [c for c in staff_world.staff_posts() if c.response.get("ts") == card_ts][0]
    blocks = card_json(posted)
    assert "類似の相談・FAQ" in blocks and earlier.ref in blocks and "ワンストップ窓口" in blocks
    button = next(e for b in posted.params["blocks"] if b.get("block_id") == sids.SIMILAR_ACTIONS_BLOCK
                  for e in b["elements"])
    assert button["action_id"] == sids.STAFF_USE_ANSWER
    assert button["value"] == f"{case.id}|case:{earlier.id}"

    before = len(staff_world.slack.ok_calls("views.open"))
    from tests.standins.signing import block_action

    resp = staff_world.bot.deliver.post_interaction(block_action(
        sids.STAFF_USE_ANSWER, button["value"], user=STAFF_MEMBER, channel="C0STAFF",
        message_ts=card_ts))
    assert resp.status == 200
    view = staff_world.slack.wait_for("views.open", count=before + 1).params["view"]
    assert view["callback_id"] == sids.STAFF_REPLY_VIEW
    field = next(b for b in view["blocks"] if b.get("block_id") == sids.REPLY_BLOCK)["element"]
    assert field["initial_value"] == EARLIER_A
    # sent as it is (or edited): posted into this officer's thread
    staff_world.submit(sids.STAFF_REPLY_VIEW, sids.REPLY_BLOCK, sids.REPLY_INPUT, EARLIER_A,
                       private_metadata=view["private_metadata"], user=STAFF_MEMBER)
    wait_until(lambda: [c for c in staff_world.officer_thread_posts(root)
                        if "ワンストップ窓口" in c.params.get("text", "")], what="the reply")

    # a stale key (not a resolved case with a reply) is refused politely
    staff_world.bot.deliver.post_interaction(block_action(
        sids.STAFF_USE_ANSWER, f"{case.id}|case:999999", user=STAFF_MEMBER, channel="C0STAFF",
        message_ts=card_ts))
    staff_world.slack.wait_for("chat.postEphemeral", lambda c: c.params.get("user") == STAFF_MEMBER
                               and "その回答は見つかりませんでした" in c.params.get("text", ""))
