"""Pure Block Kit builders and payload parsing (no Slack)."""

from __future__ import annotations

import json

import pytest

from bot.domain import Answer, ConsultResult, Passage
from bot.slack import blocks, ids
from bot.slack.home_blocks import HomeCase, officer_home
from bot.slack.incoming import (FeedbackValue, parse_case_value, parse_click, parse_command,
                                parse_feedback_value, parse_message)

PAYLOADS = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "slack-payloads"


def passage(n: int = 1, **kw) -> Passage:
    values = dict(chunk_id=f"c{n}", text="本文", source="strategy/plan.md", title="北海道創生総合戦略",
                  section="VI 市町村戦略支援 > 1 財政的支援", page=None, doc_type="strategy", score=1.0)
    values.update(kw)
    return Passage(**values)


def result(text: str = "回答です[1]。", *, mode="llm", answered=True, sources=None, **kw) -> ConsultResult:
    answer = Answer(text=text, answered=answered, mode=mode,
                    sources=[passage()] if sources is None else sources)
    return ConsultResult(case_id=kw.pop("case_id", 12), case_ref=kw.pop("case_ref", "相談#12"),
                         answer=answer, turn_id=kw.pop("turn_id", 34), **kw)


def all_text(message_blocks) -> str:
    return json.dumps(message_blocks, ensure_ascii=False)


def test_escape():
    assert blocks.escape("<!channel> & <@U1> <https://x|y>") == \
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt;"
    assert blocks.escape(None) == ""


def test_answer_is_escaped_everywhere():
    r = result("<!channel> 全員に通知 & <https://evil|公式> [1]",
               sources=[passage(title="<!here> 資料", section="A > <b>")])
    [msg] = blocks.answer_messages(r)
    dumped = all_text(msg.blocks) + msg.text
    assert "<!channel>" not in dumped and "<!here>" not in dumped and "<https" not in dumped
    assert "&lt;!channel&gt;" in dumped and "&lt;!here&gt; 資料" in dumped


def test_answer_message_layout():
    r = result(sources=[passage(1), passage(2, title="FAQ", section="", page=3)])
    [msg] = blocks.answer_messages(r)
    types = [b["type"] for b in msg.blocks]
    assert types[0] == "context" and types[-2:] == ["actions", "context_actions"]
    text = all_text(msg.blocks)
    assert "[1] 北海道創生総合戦略 › VI 市町村戦略支援 › 1 財政的支援" in text
    assert "[2] FAQ（p. 3）" in text
    assert "相談#12" in text
    actions = msg.blocks[-2]
    assert actions["block_id"] == ids.ANSWER_ACTIONS_BLOCK
    [escalate] = actions["elements"]
    assert (escalate["type"], escalate["action_id"], escalate["value"], escalate["text"]["text"]) == \
        ("button", ids.ESCALATE, "12", "職員に相談する")
    assert msg.blocks[-1] == blocks.feedback_block(12, 34)
    assert msg.text.startswith("回答です")


def test_mode_labels():
    extractive = blocks.answer_messages(result(mode="extractive"))[0]
    assert "資料の該当箇所の抜粋" in extractive.blocks[0]["elements"][0]["text"]
    declined = blocks.answer_messages(result(answered=False, mode="none", sources=[]))[0]
    text = all_text(declined.blocks)
    assert "十分な根拠が見つかりませんでした" in text and "このスレッドでご連絡します" in text
    # already handed to staff by the consultation service: no escalation button, feedback stays
    assert all(b["type"] != "actions" for b in declined.blocks)
    assert declined.blocks[-1] == blocks.feedback_block(12, 34)


def test_declined_answer_says_one_consistent_thing():
    """The decline text, the (absent) button and the note agree: staff were told, nothing to
    press, they reply in this thread."""
    from bot.answering.messages import DECLINE_TEXT

    declined = blocks.answer_messages(result(answered=False, mode="none", sources=[], text=DECLINE_TEXT))[0]
    text = all_text(declined.blocks)
    assert "担当職員にお伝えしました" in text and "このスレッドでご連絡します" in text
    assert "職員に相談する" not in text             # no button to press, so no request to press it
    assert all(b["type"] != "actions" for b in declined.blocks)
    answered = blocks.answer_messages(result())[0]
    assert "職員に相談する" in str(answered.blocks) and "担当職員にお伝えしました" not in all_text(answered.blocks)


def test_feedback_block_is_slacks_feedback_buttons_element():
    block = blocks.feedback_block(12, 34)
    assert block == {
        "type": "context_actions", "block_id": ids.ANSWER_FEEDBACK_BLOCK,
        "elements": [{
            "type": "feedback_buttons", "action_id": ids.FEEDBACK,
            "positive_button": {"text": {"type": "plain_text", "text": "役に立った"},
                                "accessibility_label": "この回答は役に立った", "value": "up:12:34"},
            "negative_button": {"text": {"type": "plain_text", "text": "役に立たなかった"},
                                "accessibility_label": "この回答は役に立たなかった",
                                "value": "down:12:34"},
        }],
    }
    # slack_sdk's own model of the block accepts it (its validators: ≤ 5 elements, text ≤ 75
    # characters, value ≤ 2,000) and serialises it back unchanged.
    from slack_sdk.models.blocks import Block, ContextActionsBlock
    parsed = Block.parse(block)
    assert isinstance(parsed, ContextActionsBlock) and parsed.to_dict() == block
    # the largest ids still fit Slack's value limit and parse back
    big = blocks.feedback_block(10**18 - 1, 10**18 - 1)["elements"][0]["negative_button"]["value"]
    assert len(big) <= 2000 and parse_feedback_value(big) == FeedbackValue("down", 10**18 - 1,
                                                                           10**18 - 1)


def test_no_feedback_buttons_without_a_turn():
    # the case was logged but its turn was not (spooled): only the escalation button
    [msg] = blocks.answer_messages(result(turn_id=None))
    assert [b["type"] for b in msg.blocks][-1] == "actions"
    assert all(b["type"] != "context_actions" for b in msg.blocks)


def test_no_buttons_without_a_logged_case():
    [msg] = blocks.answer_messages(result(case_id=None, case_ref=None, turn_id=None))
    assert all(b["type"] not in ("actions", "context_actions") for b in msg.blocks)


def test_long_answer_split_within_limits():
    long_text = ("地域づくり総合交付金の対象事業について説明します。" * 40 + "\n") * 150   # ~150k chars
    messages = blocks.answer_messages(result(long_text))
    assert len(messages) >= 2
    for msg in messages:
        assert len(msg.blocks) <= blocks.MAX_BLOCKS
        for b in msg.blocks:
            if b["type"] == "section":
                assert len(b["text"]["text"]) <= blocks.SECTION_LIMIT
        assert msg.text
    # buttons only once, together at the end of the last message; nothing lost
    assert [b["type"] for b in messages[-1].blocks][-2:] == ["actions", "context_actions"]
    assert sum(b["type"] in ("actions", "context_actions") for m in messages for b in m.blocks) == 2
    body = "".join(b["text"]["text"] for m in messages for b in m.blocks
                   if b["type"] == "section" and not b["text"]["text"].startswith("*出典*"))
    assert body.replace("\n", "") == long_text.replace("\n", "")


def test_split_never_cuts_an_entity():
    text = blocks.escape("<" * 5000)
    pieces = blocks.split_text(text, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == text
    assert all(p.startswith("&lt;") and p.endswith("&lt;") for p in pieces)


@pytest.mark.parametrize("sections", [0, 47, 48, 49, 50, 98, 99])
def test_buttons_stay_together_at_a_message_boundary(sections):
    r = result("x", sources=[])
    body = [blocks.mrkdwn_section(f"s{i}") for i in range(sections)]
    tail = blocks.action_blocks(r)
    chunks = blocks._chunks(body, tail, blocks.MAX_BLOCKS)
    assert all(len(c) <= blocks.MAX_BLOCKS for c in chunks)
    assert chunks[-1][-2:] == tail
    assert len(chunks[-1]) > len(tail) or not body                    # never buttons alone
    assert [b for c in chunks for b in c] == body + tail               # order kept, nothing lost


def test_stream_final_blocks_and_feedback_modal():
    final = blocks.stream_final_blocks(result())
    assert [b["type"] for b in final][-2:] == ["actions", "context_actions"]
    assert final[-1] == blocks.feedback_block(12, 34) and "*出典*" in all_text(final)
    modal = blocks.feedback_modal(12, 34)
    assert modal["callback_id"] == ids.FEEDBACK_VIEW
    assert blocks.parse_feedback_metadata(modal["private_metadata"]) == (12, 34)
    assert modal["blocks"][1]["optional"] is True


def test_officer_home():
    cases = [HomeCase(ref="相談#1", title="<!channel> 交付金", status_label="回答済み",
                             updated="2026-11-28 09:30")]
    view = officer_home(cases)
    text = all_text(view)
    assert view["type"] == "home" and "相談#1" in text and "&lt;!channel&gt;" in text
    assert "まだご相談はありません" in all_text(officer_home([]))
    many = [cases[0]] * 200
    assert len(officer_home(many)["blocks"]) <= 100


# ---------------------------------------------------------------- parsing (real payload shapes)
def load(name: str) -> dict:
    if not PAYLOADS.is_dir():
        pytest.skip(f"real Slack payload shapes not found at {PAYLOADS} (../shared beside the checkout)")
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))["payload"]


def test_parse_app_mention_payload():
    body = load("event_app_mention.json")
    msg = parse_message(body, bot_user_id="W111")
    assert msg.text == "Hi there!" and msg.mentions_bot and msg.user == "W222"
    assert msg.root_ts == body["event"]["ts"] and not msg.in_thread
    assert msg.dedupe_key == f"slack:T111:msg:{body['event']['client_msg_id']}"


def test_parse_dm_and_assistant_thread_payloads():
    dm = parse_message(load("event_message_im.json"), bot_user_id="UBOT")
    assert dm.is_dm and dm.dedupe_key == "slack:T123ABC456:event:Ev0PV52K21"
    thread = parse_message(load("event_message_im_assistant_thread.json"), bot_user_id="W111")
    assert thread.in_thread and thread.root_ts == "1726133698.626339"


@pytest.mark.parametrize("event", [
    {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "1"},
    {"type": "message", "subtype": "channel_join", "user": "W1", "text": "joined", "ts": "1"},
    {"type": "message", "bot_id": "B1", "text": "hi", "ts": "1", "user": "W1"},
    {"type": "message", "user": "UBOT", "text": "mine", "ts": "1"},
    {"type": "app_mention", "user": "W1", "text": "<@UBOT>", "ts": "1"},
])
def test_noise_is_not_a_question(event):
    assert parse_message({"team_id": "T1", "event": event}, bot_user_id="UBOT") is None


def test_parse_command_and_click():
    cmd = parse_command({"team_id": "T1", "channel_id": "C1", "user_id": "W1", "text": " 質問　です ",
                         "trigger_id": "t.1"})
    assert cmd.text == "質問 です" and cmd.dedupe_key == "slack:T1:command:t.1"
    click = parse_click(load("block_actions_button.json"))
    assert (click.user, click.channel, click.message_ts, click.value) == \
        ("W111", "C111", "111.222", "click_me_123")
    assert parse_case_value("12") == 12


def test_parse_feedback_click_of_the_real_payload_shape():
    body = load("block_actions_button.json")
    value = blocks.feedback_block(12, 34)["elements"][0]["negative_button"]["value"]
    body["actions"] = [{"type": "feedback_buttons", "action_id": ids.FEEDBACK,
                        "block_id": ids.ANSWER_FEEDBACK_BLOCK, "value": value,
                        "text": {"type": "plain_text", "text": "役に立たなかった"},
                        "action_ts": "1596530385.194939"}]
    click = parse_click(body)
    assert (click.user, click.channel, click.trigger_id) == ("W111", "C111", "111.222.valid")
    choice = parse_feedback_value(click.value)
    assert choice == FeedbackValue(polarity="down", case_id=12, turn_id=34)
    assert choice.encode() == value


@pytest.mark.parametrize("polarity", ["up", "down"])
def test_feedback_value_round_trip(polarity):
    value = FeedbackValue(polarity, 7, 8)
    assert parse_feedback_value(value.encode()) == value


@pytest.mark.parametrize("value", [
    "", "12:34", "12:", "abc", "up:12", "up:12:", "up::34", "meh:12:34", "UP:12:34",
    "up:12:34:56", "up:-1:34", "up:0:34", "up:12:3x", " up:12:34", "up:12:34\n",
    "up:１２:34",                                   # full-width digits are not ids
    "up:1234567890123456789:34",                  # more digits than a database id has
])
def test_malformed_feedback_values_are_rejected(value):
    with pytest.raises(ValueError):
        parse_feedback_value(value)


@pytest.mark.parametrize("value", ["", "abc", "12:34", "-3", "0", "１２"])
def test_malformed_case_values_are_rejected(value):
    with pytest.raises(ValueError):
        parse_case_value(value)


def test_feedback_value_only_knows_up_and_down():
    with pytest.raises(ValueError):
        FeedbackValue("meh", 1, 2)  # type: ignore[arg-type]
