"""The real Bolt app in HTTP mode (real threaded HTTP server), signed deliveries, and the Slack
Web API stand-in; real index (bundled knowledge base), real SQLite case store."""

from __future__ import annotations

import time

from tests.slack.conftest import OFFICER, OFFICER_NAME, answers_in, block_text
from tests.standins.signing import event_callback, mention_event, message_event, new_ts

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


def test_mention_gets_threaded_answer_with_sources(bot):
    ev = mention_event(QUESTION, channel="C111")
    resp = bot.deliver.post_event(event_callback(ev))
    assert resp.status == 200
    assert resp.elapsed < 2.0
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                       timeout=60)
    bot.idle()
    posted = answers_in(bot.slack, "C111", ev["ts"])
    assert len(posted) == 1
    text = block_text(posted[0])
    assert "*出典*" in text and "[1]" in text
    assert "資料の該当箇所の抜粋" in text                       # extractive mode label
    assert posted[0]["text"]                                        # notification fallback
    reaction = bot.slack.calls("reactions.add")[0]
    assert reaction.params["timestamp"] == ev["ts"] and reaction.params["name"] == "eyes"
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.channel == "C111" and case.thread_ts == ev["ts"] and case.turn_count == 1
    assert case.requester_name == OFFICER_NAME
    assert case.ref in text


def test_direct_message_answered_in_its_thread(bot):
    ev = message_event(QUESTION, channel="D111", channel_type="im")
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == "D111", timeout=60)
    bot.idle()
    posted = answers_in(bot.slack, "D111", ev["ts"])
    assert len(posted) == 1 and "*出典*" in block_text(posted[0])
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.channel == "D111" and case.thread_ts == ev["ts"]


def test_thread_follow_up_without_mention_continues_the_consultation(bot):
    root = mention_event(QUESTION, channel="C111")
    bot.slack.seed_message("C111", text=root["text"], user=OFFICER, ts=root["ts"])
    bot.deliver.post_event(event_callback(root))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root["ts"],
                       timeout=60)
    bot.idle()
    follow = message_event("申請の窓口はどこですか？", channel="C111", channel_type="channel",
                           thread_ts=root["ts"])
    bot.slack.seed_message("C111", text=follow["text"], user=OFFICER, ts=follow["ts"],
                           thread_ts=root["ts"])
    assert bot.deliver.post_event(event_callback(follow)).status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root["ts"],
                       timeout=60, count=2)
    bot.idle()
    assert len(answers_in(bot.slack, "C111", root["ts"])) == 2
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.turn_count == 2                      # same consultation, continued
    assert len(bot.services.store.cases_for_requester(OFFICER)) == 1


def test_thread_follow_up_where_only_slack_knows_the_bot_answered(bot):
    # e.g. the bot answered before this database existed: conversations.replies tells
    root_ts = bot.slack.seed_message("C111", text="質問", user=OFFICER)
    bot.slack.seed_message("C111", text="以前の回答", user="UBOT", bot_id="BBOT", thread_ts=root_ts)
    ev = message_event(QUESTION, channel="C111", channel_type="channel", thread_ts=root_ts)
    bot.deliver.post_event(event_callback(ev))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root_ts,
                       timeout=60)
    bot.idle()
    replies = bot.slack.calls("conversations.replies")[0]
    assert replies.params["channel"] == "C111" and replies.params["ts"] == root_ts
    assert len(answers_in(bot.slack, "C111", root_ts)) == 1


def test_thread_message_in_a_thread_the_bot_never_answered_is_ignored(bot):
    root_ts = bot.slack.seed_message("C111", text="雑談です", user="W333")
    ev = message_event("ところで", channel="C111", channel_type="channel", thread_ts=root_ts,
                       user="W333")
    bot.slack.seed_message("C111", text="ところで", user="W333", ts=ev["ts"], thread_ts=root_ts)
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    bot.slack.wait_for("conversations.replies", timeout=10)
    bot.idle()
    assert bot.slack.calls("chat.postMessage") == []
    assert bot.services.store.cases_for_requester("W333") == []


def test_noise_is_ignored(bot):
    noise = [
        message_event("bot says", channel="D111", bot_id="BOTHER", subtype="bot_message"),
        message_event("own message", channel="D111", user="UBOT"),
        {"type": "message", "subtype": "message_changed", "channel": "D111", "channel_type": "im",
         "ts": new_ts(), "message": {"type": "message", "text": "edited", "user": OFFICER,
                                     "ts": "1.0"}},
        {"type": "message", "subtype": "message_deleted", "channel": "D111", "channel_type": "im",
         "ts": new_ts(), "deleted_ts": "1.0"},
        message_event("<@W222> さんが参加しました", channel="C111", channel_type="channel",
                      subtype="channel_join"),
        message_event("plain channel chatter", channel="C111", channel_type="channel"),
    ]
    for event in noise:
        assert bot.deliver.post_event(event_callback(event)).status == 200
    time.sleep(0.5)
    real = message_event(QUESTION, channel="D111", channel_type="im")
    bot.deliver.post_event(event_callback(real))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == real["ts"],
                       timeout=60)
    bot.idle()
    # only the real question was answered and reacted to
    assert [c.params["thread_ts"] for c in bot.slack.calls("chat.postMessage")] == [real["ts"]]
    assert [c.params["timestamp"] for c in bot.slack.calls("reactions.add")] == [real["ts"]]


def test_retried_delivery_gets_one_answer(bot):
    payload = event_callback(mention_event(QUESTION, channel="C111"))
    ts = payload["event"]["ts"]
    assert bot.deliver.post_event(payload).status == 200
    for n in (1, 2):
        assert bot.deliver.post_event(payload, retry_num=n, retry_reason="http_timeout").status == 200
    # the same user message delivered again as a `message` event (new event_id, same client_msg_id)
    twin = event_callback({**payload["event"], "type": "message", "channel_type": "channel"})
    twin["event"]["text"] = payload["event"]["text"]
    bot.deliver.post_event(twin)
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=60)
    bot.idle()
    time.sleep(0.3)
    bot.idle()
    assert len(answers_in(bot.slack, "C111", ts)) == 1
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.turn_count == 1


def test_retried_delivery_to_another_replica_gets_no_second_answer(bot, start_bot):
    replica = start_bot(bot.settings)          # same database, another app + HTTP server
    payload = event_callback(mention_event(QUESTION, channel="C111"))
    ts = payload["event"]["ts"]
    assert bot.deliver.post_event(payload).status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=60)
    assert replica.deliver.post_event(payload, retry_num=1).status == 200
    bot.idle()
    replica.idle()
    assert len(answers_in(bot.slack, "C111", ts)) == 1
    assert bot.services.store.cases_for_requester(OFFICER)[0].turn_count == 1


def test_bad_or_stale_signature_is_refused(bot):
    payload = event_callback(mention_event(QUESTION))
    assert bot.deliver.post_event(payload, secret="wrong-secret").status == 401
    stale = int(time.time()) - 10 * 60
    assert bot.deliver.post_event(payload, timestamp=stale).status == 401
    unsigned = bot.deliver.post_raw(b'{"type":"event_callback"}',
                                    {"Content-Type": "application/json"})
    assert unsigned.status == 401
    time.sleep(0.3)
    bot.idle()
    assert bot.slack.calls("chat.postMessage") == []


def test_url_verification_and_health(bot):
    resp = bot.deliver.post_event({"type": "url_verification", "challenge": "abc123",
                                   "token": "verification_token"})
    assert resp.status == 200 and "abc123" in resp.body.decode()
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{bot.server.port}/healthz") as r:
        assert r.status == 200
    from tests.standins.signing import SlackDeliveryClient

    elsewhere = SlackDeliveryClient(f"http://127.0.0.1:{bot.server.port}/other", "x")
    assert elsewhere.post_event({"type": "event_callback"}).status == 404


def test_rate_limited_post_is_retried(bot):
    bot.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    ev = mention_event(QUESTION, channel="C111")
    bot.deliver.post_event(event_callback(ev))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                       timeout=60)
    bot.idle()
    statuses = [c.status for c in bot.slack.calls("chat.postMessage")]
    assert statuses == [429, 200]
    assert len(answers_in(bot.slack, "C111", ev["ts"])) == 1


def test_bare_mention_asks_for_the_question(bot):
    ev = mention_event("", channel="C111")
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    hint = bot.slack.wait_for("chat.postEphemeral", timeout=10)
    bot.idle()
    assert hint.params["user"] == OFFICER and "ご質問を書いてください" in hint.params["text"]
    assert bot.slack.calls("chat.postMessage") == []
    assert bot.services.store.cases_for_requester(OFFICER) == []


def test_concurrent_deliveries_are_all_acked_fast_and_answered_once(bot):
    from concurrent.futures import ThreadPoolExecutor

    payloads = [event_callback(mention_event(f"{QUESTION}（{i}）", channel=f"CC{i:02d}"))
                for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        first = list(pool.map(bot.deliver.post_event, payloads))
        retried = list(pool.map(lambda p: bot.deliver.post_event(p, retry_num=1), payloads))
    assert all(r.status == 200 for r in first + retried)
    assert max(r.elapsed for r in first + retried) < 3.0          # Slack's limit, under load
    for p in payloads:
        bot.slack.wait_for("chat.postMessage", lambda c, p=p: c.params.get("thread_ts") ==
                           p["event"]["ts"], timeout=120)
    bot.idle(120)
    for p in payloads:
        assert len(answers_in(bot.slack, p["event"]["channel"], p["event"]["ts"])) == 1
    cases = [c for c in bot.services.store.list_cases(limit=1000) if c.channel.startswith("CC")]
    assert len(cases) == 20 and all(c.turn_count == 1 for c in cases)


def test_slack_refusing_the_answer_hands_the_case_to_staff(indexed_settings, slack_api,
                                                           start_bot, caplog):
    import logging

    from tests.slack.conftest import slack_env
    from tests.standins.slack_api import ALWAYS

    bot = start_bot(indexed_settings(**slack_env(slack_api, CONSULT_DELIVERY_RETRY_S="2",
                                                 CONSULT_STAFF_CHANNEL="CSTAFF")))
    slack_api.fail("chat.postMessage", ALWAYS, http_status=500, channel="C111")
    ev = mention_event(QUESTION, channel="C111")
    with caplog.at_level(logging.WARNING):
        assert bot.deliver.post_event(event_callback(ev)).status == 200
        card = slack_api.wait_for("chat.postMessage",
                                  lambda c: c.params.get("channel") == "CSTAFF", timeout=60)
        bot.idle()
    refused = [c for c in slack_api.calls("chat.postMessage") if c.params.get("channel") == "C111"]
    assert len(refused) >= 2 and all(c.status == 500 for c in refused)     # retried, then gave up
    assert "Slack が回答の投稿を受け付けなかった" in block_text(card.params)
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.status == "needs_staff" and case.escalation_reason == "delivery_failed"
    assert case.turn_count == 1                       # the consultation is logged regardless
    [item] = bot.services.store.inbox_items()
    assert item.state == "handed_off" and item.last_error == "http_500"
    assert sum("handed to staff" in r.getMessage() for r in caplog.records) == 1


def test_one_thread_follow_up_out_of_scope_and_switch(bot):
    """The console conversation of tests/answering/test_console_e2e.py in one Slack thread: a
    follow-up stays on topic, out of scope is declined mid-thread, a switch starts afresh."""
    questions = ["地域おこし協力隊の任期後の定住に向けて、道の支援はありますか？",
                 "その窓口は隊員本人も使えますか？",
                 "明日の札幌の天気を教えてください",
                 "話は変わりますが、ふるさと納税の研修会はありますか？"]
    root = mention_event(questions[0], channel="C111")
    bot.slack.seed_message("C111", text=root["text"], user=OFFICER, ts=root["ts"])
    bot.deliver.post_event(event_callback(root))
    for n, question in enumerate(questions, start=1):
        if n > 1:
            ev = message_event(question, channel="C111", channel_type="channel", thread_ts=root["ts"])
            bot.slack.seed_message("C111", text=question, user=OFFICER, ts=ev["ts"], thread_ts=root["ts"])
            assert bot.deliver.post_event(event_callback(ev)).status == 200
        bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == root["ts"]
                           and any(b.get("type") == "context_actions" for b in c.params.get("blocks") or []),
                           timeout=60, count=n)
        bot.idle()
    first, follow_up, weather, switch = [block_text(p) for p in answers_in(bot.slack, "C111", root["ts"])]
    assert "『(3) 地域おこし協力隊へのサポート』に次の記載があります。" in first
    assert "ワンストップ窓口" in follow_up and "*出典*" in follow_up
    assert "地域おこし協力隊" in follow_up.split("*出典*")[1].split("\n")[1]
    assert "十分な記載が見つかりませんでした" in weather and "*出典*" not in weather
    assert "職員に相談する" not in weather
    assert "研修会や相談会" in switch and "ふるさと納税" in switch.split("*出典*")[1].split("\n")[1]
    assert "協力隊" not in switch.split("*出典*")[0]
    [case] = bot.services.store.cases_for_requester(OFFICER)
    assert case.turn_count == 4                       # one consultation for the whole thread
