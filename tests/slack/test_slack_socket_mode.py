"""Socket Mode: the real SocketModeHandler + Bolt app against a local WebSocket server speaking the
Socket Mode envelope protocol, with the Web API stand-in answering apps.connections.open."""

from __future__ import annotations

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.services import build_services
from bot.slack.app import build_app
from tests.slack.conftest import APP_TOKEN, OFFICER, answers_in, block_text, slack_env
from tests.standins.signing import event_callback, mention_event, slash_command
from tests.standins.slack_api import fingerprint
from tests.standins.socket_mode import SocketModeStandIn

QUESTION = "地域おこし協力隊の定住に向けた支援はありますか？"


@pytest.fixture
def socket_bot(indexed_settings, slack_api):
    settings = indexed_settings(**slack_env(slack_api, SLACK_APP_TOKEN=APP_TOKEN,
                                            SLACK_SIGNING_SECRET=""))
    services = build_services(settings)
    app = build_app(settings, services)
    with SocketModeStandIn() as sm:
        slack_api.socket_mode_url = sm.url
        handler = SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
        handler.connect()
        try:
            sm.wait_connected()
            yield app, services, sm
        finally:
            handler.close()
            app.worker.wait_idle(30)
            app.worker.shutdown()
            services.store.close()


def test_socket_mode_mention_answered_and_retry_ignored(socket_bot, slack_api):
    app, services, sm = socket_bot
    assert slack_api.calls("apps.connections.open")[0].token_fingerprint == fingerprint(APP_TOKEN)
    payload = event_callback(mention_event(QUESTION, channel="C111"))
    ts = payload["event"]["ts"]
    env_id = sm.send("events_api", payload)
    assert sm.wait_ack(env_id, timeout=3)["envelope_id"] == env_id
    slack_api.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == ts, timeout=60)
    retry_id = sm.send("events_api", payload, retry_attempt=1, retry_reason="timeout")
    assert sm.wait_ack(retry_id, timeout=3)
    app.worker.wait_idle(30)
    posted = answers_in(slack_api, "C111", ts)
    assert len(posted) == 1 and "*出典*" in block_text(posted[0])
    assert services.store.cases_for_requester(OFFICER)[0].turn_count == 1


def test_socket_mode_slash_command_acks_with_receipt(socket_bot, slack_api):
    app, services, sm = socket_bot
    env_id = sm.send("slash_commands", slash_command("/consult", QUESTION),
                     accepts_response_payload=True)
    ack = sm.wait_ack(env_id, timeout=3)
    assert "受け付けました" in str(ack.get("payload"))
    slack_api.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts"), timeout=60)
    app.worker.wait_idle(30)
