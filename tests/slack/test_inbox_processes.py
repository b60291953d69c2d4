"""A real `consult serve --http` process SIGKILLed after acknowledging questions and before
answering them: the restarted process answers every one of them, exactly once.

The answers come from the OpenAI-compatible stand-in with a delay, so the kill surely lands
while every consultation is in flight (the full 50-delivery burst, two replicas and PostgreSQL
are in bench/faults.py)."""

from __future__ import annotations

import signal
import time
import urllib.request

from bot.cases.store import CaseStore
from tests.slack.conftest import BOT_TOKEN, OFFICER, SIGNING_SECRET
from tests.slack.test_slack_serve_cli import consult, free_port
from tests.standins.openai_server import OpenAIStandIn, Reply
from tests.standins.signing import SlackDeliveryClient, event_callback, mention_event

N = 4


def _serve(env: dict, port: int, cwd):
    proc = consult(["serve", "--http", "--port", str(port), "--host", "127.0.0.1"], env, cwd)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def test_sigkill_after_the_ack_loses_nothing_and_answers_once(indexed_settings, slack_api,
                                                               tmp_path):
    settings = indexed_settings()
    with OpenAIStandIn(model="standin-chat") as llm:
        llm.responder = lambda body: Reply("定住に向けた支援があります[1]。", delay=2.5)
        env = {"CONSULT_DATA_DIR": str(settings.data_dir),
               "CONSULT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
               "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": slack_api.url, "OPENAI_BASE_URL": llm.base_url,
               "OPENAI_API_KEY": "sk-test", "CONSULT_LLM_MODEL": "standin-chat",
               "CONSULT_LLM_TIMEOUT": "20", "CONSULT_LLM_MAX_RETRIES": "0"}
        port = free_port()
        first = _serve(env, port, tmp_path)
        client = SlackDeliveryClient(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        events = [mention_event(f"地域おこし協力隊の定住支援は？（{i}）", channel=f"CK{i}")
                  for i in range(N)]
        try:
            for ev in events:
                assert client.post_event(event_callback(ev)).status == 200
            deadline = time.monotonic() + 30        # the model has begun on all of them
            while len(llm.chat_requests) < N:
                assert time.monotonic() < deadline, len(llm.chat_requests)
                time.sleep(0.05)
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
        assert slack_api.calls("chat.startStream") == [] and \
            slack_api.calls("chat.postMessage") == []                 # killed before answering

        second = _serve(env, port, tmp_path)
        try:
            for ev in events:
                slack_api.wait_for("chat.update", lambda c, ev=ev: c.params.get("channel") ==
                                   ev["channel"], timeout=90)
            time.sleep(1.0)                           # anything doubled would show by now
        finally:
            second.send_signal(signal.SIGTERM)
            second.communicate(timeout=60)
        assert second.returncode == 0

    store = CaseStore.from_settings(settings)
    try:
        for ev in events:
            in_thread = [m for m in slack_api.messages(ev["channel"], ev["ts"]) if m.get("bot_id")]
            assert len(in_thread) == 1, in_thread                    # one answer, no stray draft
            assert "*出典*" in str(in_thread[0]["blocks"])
        cases = store.cases_for_requester(OFFICER, limit=100)
        assert len(cases) == N and all(c.turn_count == 1 for c in cases)
        assert [i.state for i in store.inbox_items()] == ["posted"] * N
        assert all(i.attempts == 2 for i in store.inbox_items())     # resumed once each
    finally:
        store.close()
