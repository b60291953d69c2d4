"""The Chroma server down while officers ask in Slack (a real `chroma run`, stopped and started
again): the officer gets the polite Japanese reply, the case is logged and staff are told, and
the same running bot answers again once the server is back."""

from __future__ import annotations

import shutil

import pytest

from bot.errors import KnowledgeBaseUnavailable
from ingest.pipeline import run_ingest
from tests.slack.conftest import OFFICER, answers_in, block_text, slack_env
from tests.standins.chroma_server import ChromaServer
from tests.standins.signing import event_callback, mention_event

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path / "chroma-server", tmp_path / "chroma-server.log")
    if not server.available:
        pytest.skip("the chroma CLI is not installed in this environment")
    server.start()
    yield server
    server.stop()


def test_chroma_down_gets_a_polite_reply_staff_are_told_and_it_heals(make_settings, slack_api, start_bot,
                                                                       chroma, bundled_index_dir):
    settings = make_settings(**chroma.env(), **slack_env(slack_api, CONSULT_STAFF_CHANNEL="CSTAFF"))
    shutil.copytree(bundled_index_dir / "cache", settings.cache_dir)  # embeddings: nothing to compute
    assert not run_ingest(settings).failed
    bot = start_bot(settings)
    chroma.stop()
    ev = mention_event(QUESTION, channel="C111")
    bot.deliver.post_event(event_callback(ev))
    reply = bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ev["ts"],
                               timeout=60)
    bot.idle()
    assert reply.params["text"] == KnowledgeBaseUnavailable.user_message
    case = bot.services.store.cases_for_requester(OFFICER)[0]          # still logged
    assert case.turn_count == 1 and case.status == "needs_staff"
    card = bot.slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "CSTAFF",
                              timeout=10)                               # and staff were told
    assert case.ref in str(card.params)

    chroma.start()
    again = mention_event(QUESTION, channel="C111")
    bot.deliver.post_event(event_callback(again))
    bot.slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == again["ts"], timeout=60)
    bot.idle()
    answer = answers_in(bot.slack, "C111", again["ts"])[0]
    assert "協力隊" in block_text(answer)
