"""The Slack Web API stand-in, exercised with the real slack_sdk WebClient."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from tests.standins.slack_api import SlackApiStandIn, fingerprint

TOKEN = "xoxb-stand-in-test"


@pytest.fixture
def slack():
    with SlackApiStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def client(slack):
    return WebClient(base_url=slack.url, token=TOKEN)


def test_url_ends_with_slash_and_auth_test(slack, client):
    assert slack.url.endswith("/api/")
    resp = client.auth_test()
    assert resp["user_id"] == "UBOT" and resp["team_id"] == "T111"
    call = slack.calls("auth.test")[0]
    assert call.token_present and call.token_fingerprint == fingerprint(TOKEN)
    assert TOKEN not in repr(call) and TOKEN not in str(call.headers)


def test_get_query_encoding_is_parsed(slack):
    import urllib.request

    with urllib.request.urlopen(slack.url + "conversations.members?channel=C404&limit=5") as r:
        assert r.status == 200
    call = slack.calls("conversations.members")[0]
    assert call.encoding == "query" and call.http_method == "GET"
    assert call.params == {"channel": "C404", "limit": "5"} and not call.token_present


def test_auth_test_without_token_fails(slack):
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=slack.url).auth_test()
    assert err.value.response["error"] == "not_authed"


def test_post_message_json_encoding_and_replies(slack, client):
    root = slack.seed_message("C1", text="質問です", user="W1")
    resp = client.chat_postMessage(channel="C1", thread_ts=root, text="回答",
                                   blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "回答"}}])
    assert resp["channel"] == "C1" and resp["ts"] != root
    assert resp["message"]["bot_id"] == "BBOT"
    call = slack.calls("chat.postMessage")[0]
    assert call.encoding == "json" and call.params["blocks"][0]["type"] == "section"
    replies = client.conversations_replies(channel="C1", ts=root)
    assert [m["text"] for m in replies["messages"]] == ["質問です", "回答"]
    # the sync SDK sends these "GET" methods as a POST with form-encoded parameters
    assert slack.calls("conversations.replies")[0].params == {"channel": "C1", "ts": root}
    upd = client.chat_update(channel="C1", ts=resp["ts"], text="更新")
    assert upd["text"] == "更新"
    assert slack.messages("C1", root)[1]["text"] == "更新"


def test_form_encoding_reactions_and_ephemeral(slack, client):
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    call = slack.calls("reactions.add")[0]
    assert call.encoding == "form" and call.params == {"channel": "C1", "timestamp": ts, "name": "eyes"}
    assert slack.messages("C1")[0]["reactions"][0]["name"] == "eyes"
    assert client.chat_postEphemeral(channel="C1", user="W1", text="受付")["message_ts"]


def test_views_users_members_assistant(slack, client):
    slack.add_user("W1", real_name="札幌 太郎", display_name="taro")
    assert client.users_info(user="W1")["user"]["profile"]["real_name"] == "札幌 太郎"
    with pytest.raises(SlackApiError):
        client.users_info(user="W404")
    slack.set_members("CSTAFF", ["W9"])
    assert client.conversations_members(channel="CSTAFF")["members"] == ["W9"]
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
    opened = client.views_open(trigger_id="t1", view=view)["view"]
    assert opened["id"] and opened["type"] == "modal"
    client.views_update(view_id=opened["id"], view=view)
    home = client.views_publish(user_id="W1", view={"type": "home", "blocks": []})
    assert home["view"]["type"] == "home"
    client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.1", status="資料を確認しています…")
    client.assistant_threads_setSuggestedPrompts(channel_id="D1", thread_ts="1.1",
                                                 prompts=[{"title": "a", "message": "b"}])
    client.assistant_threads_setTitle(channel_id="D1", thread_ts="1.1", title="t")
    status = slack.calls("assistant.threads.setStatus")[0]
    assert status.params["status"] == "資料を確認しています…"
    assert slack.calls("assistant.threads.setSuggestedPrompts")[0].params["prompts"][0]["title"] == "a"


def test_streaming_methods(slack, client):
    root = slack.seed_message("C1", text="q", user="W1")
    stream = client.chat_stream(channel="C1", thread_ts=root, recipient_team_id="T111",
                                recipient_user_id="W1", buffer_size=1)
    stream.append(markdown_text="こんにちは")
    stream.append(markdown_text="、世界")
    stream.stop(blocks=[{"type": "divider"}])
    assert slack.calls("chat.startStream")[0].response["ts"]
    final = slack.messages("C1", root)[-1]
    assert final["text"] == "こんにちは、世界" and final["blocks"] == [{"type": "divider"}]
    assert not final["streaming"]


def test_rate_limit_is_retried_by_sdk_handler(slack):
    client = WebClient(base_url=slack.url, token=TOKEN,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    start = time.monotonic()
    client.chat_postMessage(channel="C1", text="x")
    assert time.monotonic() - start >= 0.9
    statuses = [c.status for c in slack.calls("chat.postMessage")]
    assert statuses == [429, 200]


def test_failures_ok_false_and_http_500(slack):
    client = WebClient(base_url=slack.url, token=TOKEN)
    slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "channel_not_found"
    slack.fail("chat.postMessage", http_status=500)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="x")
    retrying = WebClient(base_url=slack.url, token=TOKEN,
                         retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)])
    slack.fail("chat.postMessage", http_status=500)
    assert retrying.chat_postMessage(channel="C1", text="x")["ok"]
    assert client.chat_postMessage(channel="C1", text="x")["ok"]  # faults are used up


def test_wait_for_blocks_until_call_and_times_out(slack, client):
    import threading

    threading.Timer(0.2, lambda: client.chat_postMessage(channel="C9", text="late")).start()
    call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C9", timeout=5)
    assert call.params["text"] == "late"
    with pytest.raises(AssertionError):
        slack.wait_for("views.open", timeout=0.2)
