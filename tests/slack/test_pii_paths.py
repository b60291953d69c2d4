"""Issue 14's leaks, through the real Bolt app, the Slack stand-in and the OpenAI-compatible
stand-in: the personal data of an officer's question (and follow-up), a staff note and a staff
reply never reach the LLM request, the database (cases, turns, events, the durable inbox), the
exports (CSV, XLSX, JSONL), the log (DEBUG included) or any Slack call the bot makes outside the
officer's own words — and programme / place names stay as written."""

from __future__ import annotations

import json
import logging

import pytest
from openpyxl import load_workbook

from bot.cases import export
from bot.cases.queue import QueueFilter
from bot.pii.logs import install
from bot.slack import ids
from tests.slack.conftest import OFFICER, slack_env
from tests.slack.staff_fixtures import STAFF_CHANNEL, STAFF_MEMBER, StaffWorld, params_text
from tests.standins.openai_server import OpenAIStandIn, Reply
from tests.standins.signing import block_action, event_callback, mention_event, message_event

QUESTION = ("山田太郎様（昭和45年3月12日生、〒060-8588 札幌市中央区北3条西6丁目）が地域おこし協力隊に"
            "応募したいそうです。電話は090.1234.5678、メールはｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐです。"
            "振興局長と北海道創生ジャーナル、ほっかいどう応援団会議の件もあわせて札幌市から相談です。")
FOLLOW_UP = "佐藤さんの携帯〇九〇－一二三四－五六七八にも連絡してよいですか？"
NOTE = "本人確認済み。電話 011-231-4111、マイナンバー 1234 5678 9018。鈴木氏に共有。"
REPLY = "高橋様、折り返しは 0166-23-4567 までお願いします。地域おこし協力隊の要綱をご確認ください。"
LEAKS = ("山田", "太郎", "昭和45年3月12日", "060-8588", "北3条西6丁目", "090.1234.5678", "ｔａｒｏ",
         "taro@", "佐藤", "〇九〇－一二三四", "011-231-4111", "1234 5678 9018", "123456789018",
         "鈴木", "高橋", "0166-23-4567")
KEPT = ("地域おこし協力隊", "振興局長", "北海道創生ジャーナル", "ほっかいどう応援団会議", "札幌市")


def leaks_in(text: str) -> list[str]:
    return [leak for leak in LEAKS if leak in text]


@pytest.fixture
def openai_server():
    with OpenAIStandIn(model="standin-chat") as server:
        yield server


@pytest.fixture
def world(indexed_settings, slack_api, openai_server, start_bot, caplog):
    slack_api.set_members(STAFF_CHANNEL, [STAFF_MEMBER, "UBOT"])
    settings = indexed_settings(**slack_env(
        slack_api, CONSULT_STAFF_CHANNEL=STAFF_CHANNEL, OPENAI_BASE_URL=openai_server.base_url,
        OPENAI_API_KEY="sk-test-standin", CONSULT_LLM_MODEL="standin-chat",
        CONSULT_LLM_TIMEOUT="5", CONSULT_LLM_MAX_RETRIES="0"))
    world = StaffWorld(start_bot(settings))
    install(world.bot.services.pii)        # as the entry point does (bot/cli/context.py)
    caplog.set_level(logging.DEBUG)
    return world


def test_personal_data_never_leaves_the_officers_own_words(world, openai_server, caplog):
    bot, slack = world.bot, world.slack
    openai_server.script(Reply("協力隊の応募は各市町村が受け付けています[1]。"),
                         Reply("振興局にご相談ください[1]。"))
    root = mention_event(QUESTION, channel="C111")
    slack.seed_message("C111", text=root["text"], user=OFFICER, ts=root["ts"])
    bot.deliver.post_event(event_callback(root))
    slack.wait_for("chat.stopStream", timeout=90)
    bot.idle()
    follow = message_event(FOLLOW_UP, channel="C111", channel_type="channel", thread_ts=root["ts"])
    slack.seed_message("C111", text=follow["text"], user=OFFICER, ts=follow["ts"],
                       thread_ts=root["ts"])
    bot.deliver.post_event(event_callback(follow))
    slack.wait_for("reactions.add", timeout=90, count=2)     # the follow-up was taken
    bot.idle()
    store = bot.services.store
    [case] = store.cases_for_requester(OFFICER)
    # the officer asks for a human: the staff card is posted in the staff channel
    card = world.escalate(case, root["ts"])
    view_calls_before = len(slack.ok_calls("views.open"))
    world.note(case.id, NOTE, user=STAFF_MEMBER, card_ts=card.response["ts"])
    slack.wait_for("chat.update", lambda c: c.params.get("ts") == card.response["ts"]
                   and "〔個人番号〕" in params_text(c), timeout=60)        # the card shows the note
    world.reply(case.id, REPLY, user=STAFF_MEMBER, card_ts=card.response["ts"])
    posted_reply = slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == root["ts"]
        and "（担当職員）" in params_text(c), timeout=60)
    assert "〔氏名〕様" in params_text(posted_reply) and "〔電話番号〕" in params_text(posted_reply)
    bot.idle()
    assert len(slack.ok_calls("views.open")) == view_calls_before + 2

    # the LLM request
    assert openai_server.chat_requests
    for request in openai_server.chat_requests:
        assert leaks_in(json.dumps(request.body, ensure_ascii=False)) == []
    first = json.dumps(openai_server.chat_requests[0].body, ensure_ascii=False)
    for placeholder in ("〔氏名〕", "〔生年月日〕", "〔住所〕", "〔電話番号〕", "〔メール〕"):
        assert placeholder in first
    assert all(name in first for name in KEPT)

    # the database: turns, title, events (note and reply), the durable inbox
    detail = store.case_detail(case.id)
    stored = json.dumps(export.case_json(detail, extended=True), ensure_ascii=False)
    assert leaks_in(stored) == [] and "〔個人番号〕" in stored and "〔氏名〕氏に共有" in stored
    assert leaks_in(detail.case.title) == []
    assert detail.turns[0].pii_kinds == ("phone", "email", "name", "address", "birth_date")
    assert all(name in detail.turns[0].question for name in KEPT)
    items = store.inbox_items()
    assert len(items) == 2 and all(leaks_in(json.dumps(i.payload, ensure_ascii=False)) == []
                                   for i in items)

    # the exports: CSV, XLSX, JSONL
    details = list(store.iter_export(QueueFilter(tab="all")))
    for per in ("turn", "case"):
        assert leaks_in(export.csv_bytes(details, per).decode("utf-8-sig")) == []
        assert leaks_in(export.jsonl_bytes(details).decode("utf-8")) == []
        import io
        ws = load_workbook(io.BytesIO(export.xlsx_bytes(details, per))).active
        assert leaks_in(" ".join(str(c.value) for row in ws.iter_rows() for c in row)) == []

    # every Slack call the bot made: only the officer's own thread may quote the officer — and
    # the bot's own messages there carry no personal data either
    calls = slack.calls()
    assert any(c.params.get("channel") == STAFF_CHANNEL for c in calls)
    for call in calls:
        assert leaks_in(params_text(call)) == [], (call.method, params_text(call)[:300])

    # the log, DEBUG included
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert leaks_in(caplog.text) == []
    assert all(leaks_in(r.getMessage()) == [] for r in caplog.records)


def test_a_clean_question_keeps_its_names(world, openai_server):
    bot = world.bot
    openai_server.script(Reply("協力隊の応募は各市町村が受け付けています[1]。"))
    question = ("音更町の地域おこし協力隊について、十勝総合振興局の振興局長から北海道創生ジャーナルと"
                "ほっかいどう応援団会議の話がありました。令和7年4月30日締切の件です。")
    ev = mention_event(question, channel="C111")
    bot.deliver.post_event(event_callback(ev))
    world.slack.wait_for("chat.stopStream", timeout=90)
    bot.idle()
    [case] = bot.services.store.cases_for_requester(OFFICER)
    turn = bot.services.store.case_detail(case.id).turns[0]
    assert turn.question == question and turn.pii_kinds == ()
    assert question in json.dumps(openai_server.chat_requests[0].body, ensure_ascii=False)
