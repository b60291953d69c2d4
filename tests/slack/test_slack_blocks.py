"""Pure Block Kit builders and payload parsing (no Slack)."""

from __future__ import annotations

import json

import pytest

from bot.domain import Answer, ConsultResult, Passage
from bot.slack import blocks, ids
from bot.slack.home_blocks import HomeCase, officer_home
from bot.slack.incoming import parse_click, parse_command, parse_feedback_value, parse_message

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
    assert types[0] == "context" and types[-1] == "actions"
    text = all_text(msg.blocks)
    assert "[1] 北海道創生総合戦略 › VI 市町村戦略支援 › 1 財政的支援" in text
    assert "[2] FAQ（p. 3）" in text
    assert "相談#12" in text
    actions = msg.blocks[-1]
    assert actions["block_id"] == ids.ANSWER_ACTIONS_BLOCK
    by_id = {e["action_id"]: e for e in actions["elements"]}
    assert by_id[ids.FEEDBACK_UP]["value"] == "12:34" and by_id[ids.FEEDBACK_DOWN]["value"] == "12:34"
    assert by_id[ids.ESCALATE]["value"] == "12" and by_id[ids.ESCALATE]["text"]["text"] == "職員に相談する"
    assert msg.text.startswith("回答です")


def test_mode_labels():
    extractive = blocks.answer_messages(result(mode="extractive"))[0]
    assert "資料の該当箇所の抜粋" in extractive.blocks[0]["elements"][0]["text"]
    declined = blocks.answer_messages(result(answered=False, mode="none", sources=[]))[0]
    text = all_text(declined.blocks)
    assert "十分な根拠が見つかりませんでした" in text and "担当職員にもお知らせしました" in text
    # already handed to staff by the consultation service: no escalation button, feedback stays
    actions = [b for b in declined.blocks if b["type"] == "actions"][0]
    assert {e["action_id"] for e in actions["elements"]} == {ids.FEEDBACK_UP, ids.FEEDBACK_DOWN}


def test_no_buttons_without_a_logged_case():
    [msg] = blocks.answer_messages(result(case_id=None, case_ref=None, turn_id=None))
    assert all(b["type"] != "actions" for b in msg.blocks)


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
    # buttons only once, on the last message; nothing lost
    assert [any(b["type"] == "actions" for b in m.blocks) for m in messages][-1]
    assert sum(any(b["type"] == "actions" for b in m.blocks) for m in messages) == 1
    body = "".join(b["text"]["text"] for m in messages for b in m.blocks
                   if b["type"] == "section" and not b["text"]["text"].startswith("*出典*"))
    assert body.replace("\n", "") == long_text.replace("\n", "")


def test_split_never_cuts_an_entity():
    text = blocks.escape("<" * 5000)
    pieces = blocks.split_text(text, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == text
    assert all(p.startswith("&lt;") and p.endswith("&lt;") for p in pieces)


def test_stream_final_blocks_and_feedback_modal():
    final = blocks.stream_final_blocks(result())
    assert final[-1]["type"] == "actions" and "*出典*" in all_text(final)
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
    assert parse_feedback_value("12:34") == (12, 34) and parse_feedback_value("12:") == (12, None)
    with pytest.raises(ValueError):
        parse_feedback_value("abc")
