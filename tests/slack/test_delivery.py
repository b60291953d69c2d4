"""The durable inbox through the real Bolt app (signed deliveries over HTTP), the Slack stand-in
and a real case database: one answer per message whatever Slack, the network or the process do.
(Killing a real `consult serve` process is in test_inbox_processes.py.)"""

from __future__ import annotations

import logging
import socket
import time

import pytest

from bot.cases.inbox import InboxItem
from bot.domain import Conversation, Requester
from tests.slack.conftest import OFFICER, answers_in, block_text, slack_env
from tests.standins.signing import event_callback, mention_event, message_event
from tests.standins.slack_api import ALWAYS

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


def _quick(indexed_settings, slack_api, **env):
    values = {"CONSULT_DELIVERY_RETRY_S": "2", "CONSULT_STAFF_CHANNEL": "CSTAFF", **env}
    return indexed_settings(**slack_env(slack_api, **values))


def _item(bot, ev) -> InboxItem:
    items = [i for i in bot.services.store.inbox_items() if i.payload.get("ts") == ev["ts"]]
    assert len(items) == 1, items
    return items[0]


def test_a_retried_burst_adds_the_working_reaction_once(bot):
    payload = event_callback(mention_event(QUESTION, channel="C111"))
    ts = payload["event"]["ts"]
    for retry in (None, 1, 2):
        assert bot.deliver.post_event(payload, retry_num=retry).status == 200
    twin = event_callback({**payload["event"], "type": "message", "channel_type": "channel"})
    assert bot.deliver.post_event(twin).status == 200
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=60)
    bot.idle()
    assert len(bot.slack.calls("reactions.add")) == 1          # not even an already_reacted try
    assert len(answers_in(bot.slack, "C111", ts)) == 1
    assert _item(bot, payload["event"]).state == "posted"


@pytest.mark.parametrize("failure", ["http_500", "ratelimited", "connection", "not_in_channel"])
def test_a_reply_slack_keeps_refusing_is_handed_to_staff(indexed_settings, slack_api, start_bot,
                                                         failure):
    bot = start_bot(_quick(indexed_settings, slack_api))
    if failure == "http_500":
        slack_api.fail("chat.postMessage", ALWAYS, http_status=500, channel="C222")
    elif failure == "ratelimited":
        slack_api.rate_limit("chat.postMessage", ALWAYS, retry_after=1)
    elif failure == "connection":
        slack_api.drop("chat.postMessage", ALWAYS, channel="C222")
    else:
        slack_api.fail("chat.postMessage", ALWAYS, error="not_in_channel", channel="C222")
    ev = mention_event(QUESTION, channel="C222")
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    deadline = time.monotonic() + 60
    while _item(bot, ev).state != "handed_off":
        assert time.monotonic() < deadline, _item(bot, ev)
        time.sleep(0.1)
    item = _item(bot, ev)
    assert item.last_error.startswith(failure) and item.attempts >= 2   # retried with backoff
    case = bot.services.store.cases_for_requester(OFFICER)[0]
    assert case.status == "needs_staff" and case.escalation_reason == "delivery_failed"
    assert case.turn_count == 1
    assert answers_in(slack_api, "C222", ev["ts"]) == []
    if failure != "ratelimited":     # a workspace-wide 429 refuses the staff card too
        card = slack_api.wait_for("chat.postMessage", lambda c: c.params.get("channel") == "CSTAFF")
        assert case.ref in block_text(card.params)


def test_a_transient_failure_is_retried_and_answered_once(indexed_settings, slack_api, start_bot):
    bot = start_bot(_quick(indexed_settings, slack_api, CONSULT_DELIVERY_RETRY_S="30"))
    slack_api.fail("chat.postMessage", 2, http_status=503)
    ev = mention_event(QUESTION, channel="C111")
    bot.deliver.post_event(event_callback(ev))
    slack_api.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                       timeout=60)
    bot.idle()
    assert [c.status for c in slack_api.calls("chat.postMessage")] == [503, 503, 200]
    assert len(answers_in(slack_api, "C111", ev["ts"])) == 1
    item = _item(bot, ev)
    assert item.state == "posted" and item.attempts == 3
    assert bot.services.store.cases_for_requester(OFFICER)[0].status == "answered"


def test_a_response_lost_after_slack_stored_the_answer_is_not_posted_again(bot):
    bot.slack.drop("chat.postMessage", 1, after_storing=True)
    ev = mention_event(QUESTION, channel="C111")
    bot.deliver.post_event(event_callback(ev))
    deadline = time.monotonic() + 60
    while _item(bot, ev).state != "posted":
        assert time.monotonic() < deadline, _item(bot, ev)
        time.sleep(0.1)
    bot.idle()
    in_thread = [m for m in bot.slack.messages("C111", ev["ts"]) if m.get("bot_id")]
    assert len(in_thread) == 1                                # stored once, never re-posted
    assert [c.status for c in bot.slack.calls("chat.postMessage")] == [0]   # no 2nd post
    found = bot.slack.calls("conversations.replies")[-1]
    assert found.params["include_all_metadata"] in (True, "true", "1", 1)
    assert _item(bot, ev).progress["posted"] == [in_thread[0]["ts"]]


def test_deliveries_left_by_a_dead_process_are_resumed_once(indexed_settings, slack_api,
                                                            start_bot):
    """An item claimed by a process that died after beginning the turn: the next app on the
    same database takes it over at once (same host, pid gone) and answers it exactly once."""
    settings = _quick(indexed_settings, slack_api)
    first = start_bot(settings)
    first.app.inbox.stop()                    # this "process" records, then dies while working
    ev = mention_event(QUESTION, channel="C333")
    first.deliver.post_event(event_callback(ev))
    store = first.services.store
    dead = f"{socket.gethostname()}:999999999:1"          # no such pid on this host
    item = store.inbox_claim(dead, lease_s=3600)
    assert item is not None and item.payload["ts"] == ev["ts"]
    store.begin_turn(Conversation("slack", "T111", "C333", ev["ts"]), Requester(OFFICER),
                     QUESTION, dedupe_key=item.key)      # it had begun the turn
    second = start_bot(settings)
    slack_api.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                       timeout=60)
    second.idle()
    assert len(answers_in(slack_api, "C333", ev["ts"])) == 1
    [case] = second.services.store.cases_for_requester(OFFICER)
    [turn] = second.services.store.case_detail(case.id).turns
    assert turn.answer and turn.completed_at                  # the begun turn, completed once
    resumed = _item(second, ev)
    assert resumed.state == "posted" and resumed.attempts == 2


def test_an_item_interrupted_by_a_database_outage_is_resumed_by_the_running_process(
        indexed_settings, slack_api, start_bot, caplog):
    """The database fails in the middle of an item (here: after the answer was posted, when the
    item is to be marked posted). The process lives on, and its heartbeat renews the leases it
    holds — so the item must be handed back once the database works again, not left `working`
    until a restart. It then ends `posted` with the one reply already in the thread."""
    import sqlite3

    bot = start_bot(_quick(indexed_settings, slack_api, CONSULT_INBOX_LEASE_S="2"))
    gate = slack_api.hold("chat.postMessage", channel="C666")
    ev = mention_event(QUESTION, channel="C666")
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    assert gate.arrived.wait(60)                      # the answer is on its way to Slack
    holder = sqlite3.connect(bot.settings.data_dir / "consult.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")                 # the database stops taking writes
    try:
        with caplog.at_level(logging.WARNING):
            gate.release()
            deadline = time.monotonic() + 60
            while not any("interrupted" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the item was never interrupted"
                time.sleep(0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    deadline = time.monotonic() + 30
    while _item(bot, ev).state != "posted":
        assert time.monotonic() < deadline, _item(bot, ev)
        time.sleep(0.1)
    bot.idle()
    assert len(answers_in(slack_api, "C666", ev["ts"])) == 1      # found, not posted again
    assert _item(bot, ev).attempts == 2
    [case] = bot.services.store.cases_for_requester(OFFICER)
    assert case.turn_count == 1


def test_a_declined_answer_is_posted_and_staff_told(indexed_settings, slack_api, start_bot):
    bot = start_bot(_quick(indexed_settings, slack_api))
    ev = message_event("明日の札幌の天気と気温を教えてください", channel="D111", channel_type="im")
    bot.deliver.post_event(event_callback(ev))
    slack_api.wait_for("chat.postMessage", lambda c: c.params.get("channel") == "CSTAFF",
                       timeout=60)
    bot.idle()
    assert len(answers_in(slack_api, "D111", ev["ts"])) == 1
    assert _item(bot, ev).state == "posted"
    assert bot.services.store.cases_for_requester(OFFICER)[0].escalation_reason == "not_answered"


def test_follow_up_in_a_foreign_thread_is_ignored_without_a_reaction(bot, caplog):
    root_ts = bot.slack.seed_message("C111", text="雑談です", user="W333")
    ev = message_event("ところで", channel="C111", channel_type="channel", thread_ts=root_ts,
                       user="W333")
    with caplog.at_level(logging.INFO):
        assert bot.deliver.post_event(event_callback(ev)).status == 200
        bot.slack.wait_for("conversations.replies", timeout=30)
        bot.idle()
    assert _item(bot, ev).state == "ignored"
    assert bot.slack.calls("reactions.add") == [] and bot.slack.calls("chat.postMessage") == []


def test_workers_yield_while_a_delivery_is_being_acknowledged_over_http(bot):
    """HTTP mode: from the moment a delivery's body is in until Bolt acknowledged it, the inbox
    counts it as an acknowledgement in flight (its workers start no new step); other paths do not
    count, and the count drops back when the response is out."""
    import asyncio

    from bot.web.slack_events import EVENTS_PATH, AcksFirst

    inbox = bot.app.inbox
    seen: dict[str, int] = {}

    async def probe(scope, receive, send):
        seen[scope["path"]] = inbox._acks_in_flight
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        pass

    guard = AcksFirst(probe, inbox=inbox)
    for path in (EVENTS_PATH, "/healthz"):
        asyncio.run(guard({"type": "http", "path": path, "method": "POST", "headers": []},
                          receive, send))
    assert seen == {EVENTS_PATH: 1, "/healthz": 0}
    assert inbox._acks_in_flight == 0
    # and the real application has it in place: a delivery is acknowledged as before
    ev = mention_event(QUESTION, channel="C777")
    assert bot.deliver.post_event(event_callback(ev)).status == 200
    slack = bot.slack
    slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"], timeout=60)
    assert inbox._acks_in_flight == 0
