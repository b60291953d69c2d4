"""Slash command, assistant view, App Home, and the answer buttons, through the real Bolt app."""

from __future__ import annotations

import json
import time

import pytest

from bot.slack import ids
from bot.slack.blocks import WORKING_STATUS
from tests.slack.conftest import OFFICER, answers_in, block_text
from tests.standins.signing import (block_action, event_callback, feedback_action, mention_event,
                                    message_event, new_ts, slash_command, view_submission)

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


def ask(bot, channel: str = "C111") -> tuple[str, dict]:
    """Mention the bot and return (thread ts, posted answer params)."""
    ev = mention_event(QUESTION, channel=channel)
    bot.deliver.post_event(event_callback(ev))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                       timeout=60)
    bot.idle()
    return ev["ts"], answers_in(bot.slack, channel, ev["ts"])[0]


def buttons(params: dict) -> dict[str, str]:
    """The 「職員に相談する」 button's value by action id."""
    for block in params["blocks"]:
        if block.get("block_id") == ids.ANSWER_ACTIONS_BLOCK:
            return {el["action_id"]: el["value"] for el in block["elements"]}
    raise AssertionError("no action block")


def feedback_click(params: dict, polarity: str, *, user: str = "W222", thread_ts: str,
                   channel: str = "C111") -> dict:
    """A click on the answer's 👍 (`"up"`) or 👎 (`"down"`), as Slack delivers it: the action
    carries the feedback_buttons element's ids and the clicked button's value and text."""
    [block] = [b for b in params["blocks"] if b["type"] == "context_actions"]
    [element] = block["elements"]
    assert element["type"] == "feedback_buttons"
    button = element["positive_button" if polarity == "up" else "negative_button"]
    return feedback_action(element["action_id"], button["value"], button["text"]["text"],
                           block_id=block["block_id"], user=user, channel=channel,
                           message_ts=new_ts(), thread_ts=thread_ts)


def case_and_turn(bot) -> tuple[int, int]:
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    return case.id, bot.services.store.case_detail(case.id).turns[-1].id


def test_slash_command_acks_ephemeral_receipt_then_answers_in_dm_thread(bot):
    resp = bot.deliver.post_command(slash_command("/consult", QUESTION, channel="C999"))
    assert resp.status == 200 and resp.elapsed < 2.0
    # a plain-text ack body is shown to the invoking user only (ephemeral)
    assert "受け付けました" in resp.body.decode()
    root = bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == f"D{OFFICER}"
                              and "thread_ts" not in c.params, timeout=30)
    assert QUESTION in block_text(root.params)
    root_ts = root.response["ts"]
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root_ts,
                       timeout=60)
    bot.idle()
    posted = answers_in(bot.slack, f"D{OFFICER}", root_ts)
    assert len(posted) == 1 and "*出典*" in block_text(posted[0])
    assert bot.slack.calls("conversations.open")[0].params["users"] == OFFICER
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.thread_ts == root_ts


def test_slash_command_without_text_explains_usage(bot):
    resp = bot.deliver.post_command(slash_command("/consult", "  "))
    assert resp.status == 200 and "/consult 質問内容" in resp.body.decode()
    time.sleep(0.3)
    bot.idle()
    assert bot.slack.calls("chat.postMessage") == []


def test_assistant_thread_start_and_message_sets_status(bot):
    thread_ts = new_ts()
    started = {"type": "assistant_thread_started",
               "assistant_thread": {"user_id": OFFICER, "channel_id": "D111",
                                    "thread_ts": thread_ts,
                                    "context": {"channel_id": "C111", "team_id": "T111"}},
               "event_ts": new_ts()}
    bot.slack.seed_message("D111", text="", user="UBOT", ts=thread_ts)
    assert bot.deliver.post_event(event_callback(started)).status == 200
    prompts = bot.slack.wait_for("assistant.threads.setSuggestedPrompts", timeout=10)
    assert prompts.params["thread_ts"] == thread_ts and len(prompts.params["prompts"]) >= 2
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == thread_ts,
                       timeout=10)

    ev = message_event(QUESTION, channel="D111", thread_ts=thread_ts)
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    status = bot.slack.wait_for("assistant.threads.setStatus", timeout=30)
    assert (status.params["channel_id"], status.params["thread_ts"], status.params["status"]) == \
        ("D111", thread_ts, WORKING_STATUS)
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == thread_ts
                       and c.params.get("blocks"), timeout=60)
    bot.idle()
    posted = answers_in(bot.slack, "D111", thread_ts)
    assert len(posted) == 1 and "*出典*" in block_text(posted[0])
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.thread_ts == thread_ts
    assert bot.slack.calls("reactions.add") == []       # the status replaces the 👀 reaction


def test_no_suggested_prompts_for_returning_officer(bot):
    ask(bot)
    thread_ts = new_ts()
    started = {"type": "assistant_thread_started",
               "assistant_thread": {"user_id": OFFICER, "channel_id": "D111",
                                    "thread_ts": thread_ts, "context": {}},
               "event_ts": new_ts()}
    bot.deliver.post_event(event_callback(started))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == thread_ts,
                       timeout=10)
    bot.idle()
    assert bot.slack.calls("assistant.threads.setSuggestedPrompts") == []


def test_thumbs_up_records_feedback(bot):
    thread_ts, answer = ask(bot)
    case_id, turn_id = case_and_turn(bot)
    resp = bot.deliver.post_interaction(feedback_click(answer, "up", thread_ts=thread_ts))
    assert resp.status == 200 and resp.elapsed < 2.0
    thanks = bot.slack.wait_for("chat.postEphemeral", timeout=10)
    bot.idle()
    assert thanks.params["user"] == "W222" and "ご評価ありがとうございます" in thanks.params["text"]
    assert bot.services.store.get_turn(turn_id).feedback == "up"
    case = bot.services.store.get_case(case_id)
    assert case.feedback_up == 1 and case.status == "answered"
    assert bot.slack.calls("views.open") == []                 # 👍 asks nothing more


def test_thumbs_down_opens_modal_escalates_and_stores_comment(bot):
    thread_ts, answer = ask(bot)
    case_id, turn_id = case_and_turn(bot)
    resp = bot.deliver.post_interaction(feedback_click(answer, "down", thread_ts=thread_ts))
    assert resp.status == 200
    opened = bot.slack.wait_for("views.open", timeout=10)
    modal = opened.params["view"]
    assert modal["callback_id"] == ids.FEEDBACK_VIEW and opened.params["trigger_id"]
    thanks = bot.slack.wait_for("chat.postEphemeral", timeout=10)
    bot.idle()
    assert "担当職員にもお知らせしました" in thanks.params["text"]
    assert bot.services.store.get_turn(turn_id).feedback == "down"
    case = bot.services.store.get_case(case_id)
    assert case.status == "needs_staff" and case.feedback_down == 1

    comment = "申請期限が知りたかったです。連絡先 090-1234-5678"
    submit = view_submission(ids.FEEDBACK_VIEW, {
        ids.FEEDBACK_BLOCK: {ids.FEEDBACK_INPUT: {"type": "plain_text_input", "value": comment}}},
        private_metadata=modal["private_metadata"])
    resp = bot.deliver.post_interaction(submit)
    assert resp.status == 200
    bot.idle()
    deadline = time.monotonic() + 10
    while bot.services.store.get_turn(turn_id).feedback_comment is None and time.monotonic() < deadline:
        time.sleep(0.1)
    stored = bot.services.store.get_turn(turn_id).feedback_comment
    assert "申請期限" in stored and "090-1234-5678" not in stored     # masked before storing


def test_thumbs_up_after_thumbs_down_changes_the_recorded_feedback(bot):
    thread_ts, answer = ask(bot)
    case_id, turn_id = case_and_turn(bot)
    bot.deliver.post_interaction(feedback_click(answer, "down", thread_ts=thread_ts))
    bot.slack.wait_for("chat.postEphemeral", timeout=10)
    bot.idle()
    bot.deliver.post_interaction(feedback_click(answer, "up", thread_ts=thread_ts))
    bot.slack.wait_for("chat.postEphemeral", count=2, timeout=10)
    bot.idle()
    assert bot.services.store.get_turn(turn_id).feedback == "up"
    case = bot.services.store.get_case(case_id)
    assert (case.feedback_up, case.feedback_down) == (1, 0)
    assert len(bot.slack.calls("views.open")) == 1             # only the 👎 opened the modal


@pytest.mark.parametrize("value", ["12:34", "up:abc:1", "down:1", "meh:1:1", ""])
def test_malformed_feedback_value_is_refused_politely(bot, value, caplog):
    thread_ts, answer = ask(bot)
    case_id, turn_id = case_and_turn(bot)
    click = feedback_click(answer, "down", thread_ts=thread_ts)
    click["actions"][0]["value"] = value
    with caplog.at_level("WARNING", logger="bot.slack.actions"):
        resp = bot.deliver.post_interaction(click)
        assert resp.status == 200
        refusal = bot.slack.wait_for("chat.postEphemeral", timeout=10)
        bot.idle()
    assert "記録が見つかりませんでした" in refusal.params["text"]
    assert any("malformed" in r.getMessage() for r in caplog.records)
    assert bot.services.store.get_turn(turn_id).feedback is None
    assert bot.services.store.get_case(case_id).status == "answered"
    assert bot.slack.calls("views.open") == []


def test_feedback_on_a_turn_of_another_case_changes_nothing(bot):
    thread_ts, answer = ask(bot)
    case_id, turn_id = case_and_turn(bot)
    click = feedback_click(answer, "down", thread_ts=thread_ts)
    click["actions"][0]["value"] = f"down:{case_id}:{turn_id + 1000}"
    bot.deliver.post_interaction(click)
    refusal = bot.slack.wait_for("chat.postEphemeral", timeout=10)
    bot.idle()
    assert "相談が見つかりませんでした" in refusal.params["text"]   # CaseNotFound.user_message
    assert bot.services.store.get_turn(turn_id).feedback is None
    assert bot.services.store.get_case(case_id).status == "answered"


def test_escalation_button_moves_case_to_staff_and_tells_the_officer(bot):
    thread_ts, answer = ask(bot)
    value = buttons(answer)[ids.ESCALATE]
    resp = bot.deliver.post_interaction(block_action(ids.ESCALATE, value, channel="C111",
                                                     thread_ts=thread_ts))
    assert resp.status == 200 and resp.elapsed < 2.0
    notice = bot.slack.wait_for("chat.postMessage", lambda c: "担当職員" in c.params.get("text", "")
                                and c.params.get("thread_ts") == thread_ts, timeout=10)
    assert notice.params["channel"] == "C111"
    bot.idle()
    case = bot.services.store.get_case(int(value))
    assert case.status == "needs_staff" and case.escalation_reason == "requested"
    # pressing it again changes nothing and says so
    bot.deliver.post_interaction(block_action(ids.ESCALATE, value, channel="C111",
                                              thread_ts=thread_ts))
    eph = bot.slack.wait_for("chat.postEphemeral", timeout=10)
    assert "すでに" in eph.params["text"]


def test_escalation_posts_staff_card_when_staff_channel_set(indexed_settings, slack_api, start_bot):
    from tests.slack.conftest import slack_env

    bot = start_bot(indexed_settings(**slack_env(slack_api, CONSULT_STAFF_CHANNEL="CSTAFF")))
    thread_ts, answer = ask(bot)
    value = buttons(answer)[ids.ESCALATE]
    bot.deliver.post_interaction(block_action(ids.ESCALATE, value, channel="C111",
                                              thread_ts=thread_ts))
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == "CSTAFF",
                              timeout=10)
    assert bot.services.store.get_case(int(value)).ref in json.dumps(card.params, ensure_ascii=False)
    bot.idle()


def test_someone_else_cannot_press_the_officers_buttons(bot):
    thread_ts, answer = ask(bot)
    b = buttons(answer)
    for polarity in ("up", "down"):
        bot.deliver.post_interaction(feedback_click(answer, polarity, user="W999",
                                                    thread_ts=thread_ts))
    bot.deliver.post_interaction(block_action(ids.ESCALATE, b[ids.ESCALATE], user="W999",
                                              channel="C111", thread_ts=thread_ts))
    bot.slack.wait_for("chat.postEphemeral", count=3, timeout=10)
    bot.idle()
    refusals = [c.params for c in bot.slack.calls("chat.postEphemeral")]
    assert len(refusals) == 3
    assert all(p["user"] == "W999" and "ご相談された方のみ" in p["text"] for p in refusals)
    case = bot.services.store.get_case(int(b[ids.ESCALATE]))
    assert case.status == "answered" and (case.feedback_up, case.feedback_down) == (0, 0)
    assert bot.slack.calls("views.open") == []


def test_app_home_lists_the_officers_consultations(bot):
    ask(bot)
    event = {"type": "app_home_opened", "user": OFFICER, "channel": "D111", "tab": "home",
             "event_ts": new_ts()}
    assert bot.deliver.post_event(event_callback(event)).status == 200
    published = bot.slack.wait_for("views.publish", timeout=10)
    bot.idle()
    assert published.params["user_id"] == OFFICER
    text = json.dumps(published.params["view"], ensure_ascii=False)
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.ref in text and "回答済み" in text


def test_app_home_of_staff_shows_the_queue(indexed_settings, slack_api, start_bot):
    from tests.slack.conftest import slack_env

    bot = start_bot(indexed_settings(**slack_env(slack_api, CONSULT_STAFF_USERS="WSTAFF")))
    event = {"type": "app_home_opened", "user": "WSTAFF", "channel": "D9", "tab": "home",
             "event_ts": new_ts()}
    bot.deliver.post_event(event_callback(event))
    published = bot.slack.wait_for("views.publish", timeout=10)
    bot.idle()
    assert "最近のご相談" not in json.dumps(published.params["view"], ensure_ascii=False)


def test_new_message_in_a_resolved_thread_reopens_and_tells_staff(indexed_settings, slack_api,
                                                                   start_bot):
    from tests.slack.conftest import slack_env

    bot = start_bot(indexed_settings(**slack_env(slack_api, CONSULT_STAFF_CHANNEL="CSTAFF")))
    thread_ts, answer = ask(bot)
    case_id = int(buttons(answer)[ids.ESCALATE])
    bot.services.store.resolve(case_id, actor="WSTAFF")
    bot.slack.seed_message("C111", text="q", user=OFFICER, ts=thread_ts)
    again = mention_event("もう一つ質問です。申請の期限はいつですか？", channel="C111", thread_ts=thread_ts)
    bot.deliver.post_event(event_callback(again))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == thread_ts,
                       count=2, timeout=60)
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "CSTAFF",
                              timeout=10)
    bot.idle()
    case = bot.services.store.get_case(case_id)
    assert case.status != "resolved" and case.turn_count == 2
    assert case.ref in str(card.params)


def test_question_the_documents_cannot_answer_goes_to_staff(indexed_settings, slack_api, start_bot):
    from tests.slack.conftest import slack_env

    bot = start_bot(indexed_settings(**slack_env(slack_api, CONSULT_STAFF_CHANNEL="CSTAFF")))
    ev = mention_event("来週の札幌の天気と、おすすめのラーメン店を教えてください。", channel="C111")
    bot.deliver.post_event(event_callback(ev))
    reply = bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                               timeout=60)
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "CSTAFF",
                              timeout=10)
    bot.idle()
    text = block_text(reply.params)
    assert "担当職員にお伝えしました" in text and "このスレッドでご連絡します" in text
    assert "職員に相談する" not in text and "actions" not in [b["type"] for b in reply.params["blocks"]]
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.status == "needs_staff" and case.escalation_reason == "not_answered"
    assert case.ref in str(card.params)
