"""The Socket Mode stand-in, exercised with slack_sdk's own SocketModeClient."""

from __future__ import annotations

import threading

import pytest

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from tests.standins.slack_api import SlackApiStandIn, fingerprint
from tests.standins.socket_mode import SocketModeStandIn


def test_hello_envelope_and_ack_round_trip():
    with SlackApiStandIn() as api, SocketModeStandIn() as sm:
        api.socket_mode_url = sm.url
        got: list[SocketModeRequest] = []
        seen = threading.Event()
        client = SocketModeClient(app_token="xapp-test",
                                  web_client=WebClient(base_url=api.url, token="xoxb-test"))

        def listener(c: SocketModeClient, req: SocketModeRequest) -> None:
            got.append(req)
            c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id,
                                                           payload={"text": "受付"}))
            seen.set()

        client.socket_mode_request_listeners.append(listener)
        client.connect()
        try:
            sm.wait_connected()
            call = api.calls("apps.connections.open")[0]
            assert call.token_fingerprint == fingerprint("xapp-test")     # the app-level token
            env_id = sm.send("slash_commands", {"command": "/consult", "text": "質問"},
                             accepts_response_payload=True, retry_attempt=1)
            ack = sm.wait_ack(env_id)
            assert seen.wait(5)
            assert got[0].type == "slash_commands" and got[0].payload["text"] == "質問"
            assert got[0].retry_attempt == 1
            assert ack == {"envelope_id": env_id, "payload": {"text": "受付"}}
        finally:
            client.close()


def test_apps_connections_open_without_url_fails():
    with SlackApiStandIn() as api:
        with pytest.raises(SlackApiError) as err:
            WebClient(base_url=api.url).apps_connections_open(app_token="xapp-x")
        assert err.value.response["error"] == "invalid_auth"
