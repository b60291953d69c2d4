"""LLM streaming, LLM failure, history in follow-ups, escaping of document text, missing index —
the real Bolt app, the Slack stand-in and the OpenAI-compatible stand-in."""

from __future__ import annotations

import pytest

from bot.errors import KnowledgeBaseMissing
from ingest.pipeline import run_ingest
from tests.slack.conftest import OFFICER, answers_in, block_text, slack_env
from tests.standins.openai_server import OpenAIStandIn, Reply
from tests.standins.signing import event_callback, mention_event, message_event
from tests.standins.slack_api_methods import stream_text

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


@pytest.fixture
def openai_server():
    with OpenAIStandIn(model="standin-chat") as server:
        yield server


@pytest.fixture
def llm_bot(indexed_settings, slack_api, openai_server, start_bot):
    settings = indexed_settings(**slack_env(
        slack_api, OPENAI_BASE_URL=openai_server.base_url, OPENAI_API_KEY="sk-test-standin",
        CONSULT_LLM_MODEL="standin-chat", CONSULT_LLM_TIMEOUT="5", CONSULT_LLM_MAX_RETRIES="0"))
    return start_bot(settings)


def test_llm_answer_is_streamed(llm_bot, openai_server):
    openai_server.script(Reply("定住に向けた支援があります[1]。<!channel> 詳しくは窓口へ。",
                               chunk_size=6))
    ev = mention_event(QUESTION, channel="C111")
    llm_bot.deliver.post_event(event_callback(ev))
    update = llm_bot.slack.wait_for("chat.update", timeout=60)
    llm_bot.idle()
    start = llm_bot.slack.calls("chat.startStream")[0]
    assert start.params["thread_ts"] == ev["ts"] and start.params["recipient_user_id"] == OFFICER
    draft = "".join(stream_text(c.params) for c in llm_bot.slack.calls()
                    if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream"))
    assert "定住に向けた支援があります" in draft
    assert "<!channel>" not in draft and "&lt;!channel&gt;" in draft
    # the draft is replaced in place by the final message (citations checked, links ruled)
    assert update.params["ts"] == start.response["ts"]
    final = block_text(update.params)
    assert "*出典*" in final and "AI が資料をもとに作成した回答" in final
    assert "定住に向けた支援があります[1]" in final
    assert [b["type"] for b in update.params["blocks"]][-2:] == ["actions", "context_actions"]
    assert answers_in(llm_bot.slack, "C111", ev["ts"]) == []         # not posted a second time
    [message] = [m for m in llm_bot.slack.messages("C111", ev["ts"]) if m.get("bot_id")]
    assert message["ts"] == start.response["ts"] and not message["streaming"]
    assert llm_bot.services.store.cases_for_requester(OFFICER)[0].turn_count == 1


def test_a_link_the_cited_passages_do_not_contain_is_shown_as_plain_text(llm_bot,
                                                                         openai_server):
    openai_server.script(Reply("定住支援があります[1]。申請は[公式サイト](https://evil.example/login)"
                               "から。<https://evil.example/x|こちら> も https://evil.example/y も"
                               "ご覧ください。", chunk_size=5))
    ev = mention_event(QUESTION, channel="C111")
    llm_bot.deliver.post_event(event_callback(ev))
    update = llm_bot.slack.wait_for("chat.update", timeout=60)
    llm_bot.idle()
    final = block_text(update.params) + update.params["text"]
    assert "evil.example" not in final and "https://evil" not in final
    assert "公式サイト（hxxps://evil[.]example/login）" in final
    assert "hxxps://evil[.]example/y" in final and "<" not in final.replace("&lt;", "")
    draft = "".join(stream_text(c.params) for c in llm_bot.slack.calls()
                    if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream"))
    assert "https://evil" not in draft and "](" not in draft     # the draft never linked either


def test_llm_failure_still_posts_an_extractive_answer(llm_bot, openai_server):
    openai_server.script(Reply(status=500, error="upstream down"))
    ev = mention_event(QUESTION, channel="C111")
    llm_bot.deliver.post_event(event_callback(ev))
    llm_bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                           timeout=60)
    llm_bot.idle()
    posted = answers_in(llm_bot.slack, "C111", ev["ts"])
    assert len(posted) == 1
    text = block_text(posted[0])
    assert "資料の該当箇所の抜粋" in text and "*出典*" in text
    assert "回答生成サービスから回答を得られなかった" in text
    assert openai_server.chat_requests                       # the model was really tried
    assert llm_bot.slack.calls("chat.startStream") == []


def test_thread_follow_up_sends_the_history_to_the_model(llm_bot, openai_server):
    openai_server.script(Reply("定住支援があります[1]。"))
    root = mention_event(QUESTION, channel="C111")
    llm_bot.slack.seed_message("C111", text=root["text"], user=OFFICER, ts=root["ts"])
    llm_bot.deliver.post_event(event_callback(root))
    llm_bot.slack.wait_for("chat.stopStream", timeout=60)
    llm_bot.idle()
    openai_server.script("地域おこし協力隊の定住支援の申請窓口はどこですか？",
                         Reply("窓口は振興局です[1]。"))
    follow = message_event("申請の窓口はどこですか？", channel="C111", channel_type="channel",
                           thread_ts=root["ts"])
    llm_bot.deliver.post_event(event_callback(follow))
    llm_bot.slack.wait_for("chat.stopStream", timeout=60, count=2)
    llm_bot.idle()
    later = openai_server.chat_requests[1:]
    assert any("地域おこし協力隊の定住に向けた支援" in str(r.messages) for r in later)
    assert llm_bot.services.store.cases_for_requester(OFFICER)[0].turn_count == 2


def test_channel_ping_in_a_document_is_escaped(make_settings, tmp_path, slack_api, start_bot):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "notice.md").write_text(
        "# 除雪補助金のお知らせ\n\n## 申請方法\n\n"
        "除雪補助金の申請は <!channel> 各市町村の担当課で受け付けます。"
        "除雪補助金の申請期限は毎年十二月末日です。<https://evil.example|公式サイト> & 詳細\n",
        encoding="utf-8")
    settings = make_settings(CONSULT_KNOWLEDGE_DIR=str(kb), **slack_env(slack_api))
    report = run_ingest(settings)
    assert not report.failed
    bot = start_bot(settings)
    ev = mention_event("除雪補助金の申請はどこで受け付けていますか？", channel="C111")
    bot.deliver.post_event(event_callback(ev))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                       timeout=60)
    bot.idle()
    posted = answers_in(bot.slack, "C111", ev["ts"])[0]
    raw = block_text(posted) + posted["text"]
    assert "除雪補助金" in raw
    # The extractive quote may cut the sentence after "<!" (a sentence end for the splitter);
    # either way no raw control character from the document reaches Slack.
    assert "&lt;!" in raw
    assert "<" not in raw and ">" not in raw


def test_missing_knowledge_base_gets_a_polite_reply(make_settings, slack_api, start_bot):
    bot = start_bot(make_settings(**slack_env(slack_api, CONSULT_STAFF_CHANNEL="CSTAFF")))  # nothing ingested
    ev = mention_event(QUESTION, channel="C111")
    bot.deliver.post_event(event_callback(ev))
    reply = bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                               timeout=60)
    bot.idle()
    assert reply.params["text"] == KnowledgeBaseMissing.user_message
    case = bot.services.store.cases_for_requester(OFFICER)[0]    # still logged
    assert case.turn_count == 1 and case.status == "needs_staff"
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "CSTAFF",
                              timeout=10)                        # and staff were told
    assert case.ref in str(card.params)


def test_streamed_draft_without_citations_is_replaced_by_the_extractive_answer(llm_bot,
                                                                               openai_server):
    openai_server.script(Reply("根拠を示さない回答です。きっと大丈夫です。", chunk_size=4))
    ev = mention_event(QUESTION, channel="C111")
    llm_bot.deliver.post_event(event_callback(ev))
    update = llm_bot.slack.wait_for("chat.update", timeout=60)
    llm_bot.idle()
    stream_ts = llm_bot.slack.calls("chat.startStream")[0].response["ts"]
    assert update.params["ts"] == stream_ts and update.params["channel"] == "C111"
    text = block_text(update.params)
    assert "資料の該当箇所の抜粋" in text and "*出典*" in text
    assert "きっと大丈夫" not in text
    final = llm_bot.slack.messages("C111", ev["ts"])[-1]
    assert final["ts"] == stream_ts and "きっと大丈夫" not in str(final["blocks"])
