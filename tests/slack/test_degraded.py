"""The database unavailable when questions arrive: the bot answers from memory, replicas agree
through Slack (the 👀 claim) so a retry sent to another replica is not answered again, and the
running process writes the spooled turns once the database is back — no new question needed."""

from __future__ import annotations

import logging
import sqlite3
import time

from tests.cases.conftest import pg_available, pg_proxy, pg_schema, pg_url  # noqa: F401 (fixtures)
from tests.slack.conftest import OFFICER, slack_env
from tests.standins.signing import event_callback, mention_event

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


def bot_replies(slack_api, channel, ts):
    return [m for m in slack_api.messages(channel, ts) if m.get("bot_id")]


def _wait(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_postgresql_refusing_connections_a_retry_to_another_replica_is_not_answered_twice(
        indexed_settings, slack_api, start_bot, pg_schema, pg_proxy, caplog):  # noqa: F811
    settings = indexed_settings(**slack_env(
        slack_api, DATABASE_URL=pg_url(pg_schema, port=pg_proxy.port), CONSULT_INBOX_LEASE_S="2"))
    a, b = start_bot(settings), start_bot(settings)
    pg_proxy.stop()
    payload = event_callback(mention_event(QUESTION, channel="C111"))
    ts = payload["event"]["ts"]
    with caplog.at_level(logging.INFO):
        assert a.deliver.post_event(payload).status == 200
        assert b.deliver.post_event(payload, retry_num=1).status == 200     # Slack's retry
        slack_api.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ts,
                           timeout=60)
        time.sleep(1.0)
        assert len(bot_replies(slack_api, "C111", ts)) == 1
        assert [c.response["ok"] for c in slack_api.calls("reactions.add")] == [True, False]
        pg_proxy.start()                     # the database is back: the running replicas write
        _wait(lambda: a.services.store.cases_for_requester(OFFICER), what="the spooled turn")
    [case] = a.services.store.cases_for_requester(OFFICER)
    assert case.turn_count == 1 and case.thread_ts == ts
    assert not a.services.consultation.spool.has_pending()
    assert len(bot_replies(slack_api, "C111", ts)) == 1
    assert any("available again" in r.getMessage() for r in caplog.records)


def test_a_locked_sqlite_database_then_free_again_spool_replays_in_the_running_process(
        indexed_settings, slack_api, start_bot, caplog):
    bot = start_bot(indexed_settings(**slack_env(slack_api, CONSULT_INBOX_LEASE_S="2")))
    path = bot.settings.data_dir / "consult.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")             # e.g. a backup holding the database
    ev = mention_event(QUESTION, channel="C444")
    try:
        with caplog.at_level(logging.WARNING):
            resp = bot.deliver.post_event(event_callback(ev))
            assert resp.status == 200 and resp.elapsed < 3.0        # acked within Slack's limit
            slack_api.wait_for("chat.postMessage",
                               lambda c: c.params.get("thread_ts") == ev["ts"], timeout=60)
            _wait(bot.services.consultation.spool.has_pending, what="the spooled turn")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _wait(lambda: not bot.services.consultation.spool.has_pending(), what="the replay")
    [case] = bot.services.store.cases_for_requester(OFFICER)
    assert case.turn_count == 1 and case.thread_ts == ev["ts"]
    outage = [r for r in caplog.records if r.name == "bot.cases.store" and r.levelno == logging.ERROR]
    assert len(outage) == 1 and outage[0].exc_info is None
    assert len(bot_replies(slack_api, "C444", ev["ts"])) == 1
