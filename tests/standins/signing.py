"""Sign Slack deliveries exactly as Slack does, and POST them to a running HTTP-mode server.

Slack signs every request: `X-Slack-Signature = "v0=" + HMAC_SHA256(signing_secret,
"v0:{timestamp}:{raw_body}")` with `X-Slack-Request-Timestamp = timestamp`. Events are JSON
bodies; interactivity (block_actions, view_submission, shortcuts) is form-encoded as
`payload=<urlencoded JSON>`; slash commands are plain form fields. Retries add
`X-Slack-Retry-Num` and `X-Slack-Retry-Reason`.

    client = SlackDeliveryClient("http://127.0.0.1:3000/slack/events", secret)
    resp = client.post_event(event_callback({"type": "app_mention", ...}))
    assert resp.status == 200
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

_event_seq = itertools.count(1)


def signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    if isinstance(body, str):
        body = body.encode("utf-8")
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes | str, *, timestamp: int | None = None,
                   content_type: str = "application/json", retry_num: int | None = None,
                   retry_reason: str | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers


# ---------------------------------------------------------------- payload builders
def new_event_id() -> str:
    return f"Ev{uuid.uuid4().hex[:10].upper()}"


def new_ts() -> str:
    return f"{time.time():.6f}"


def event_callback(event: dict[str, Any], *, team_id: str = "T111", api_app_id: str = "A111",
                   bot_user_id: str = "UBOT", event_id: str | None = None) -> dict[str, Any]:
    """Wrap an event as Slack's Events API delivers it (current `authorizations` shape)."""
    event = {"team": team_id, "event_ts": event.get("ts", new_ts()), **event}
    return {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": bot_user_id,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


def mention_event(text: str, *, user: str = "W222", channel: str = "C111",
                  bot_user_id: str = "UBOT", ts: str | None = None,
                  thread_ts: str | None = None) -> dict[str, Any]:
    ev = {"client_msg_id": str(uuid.uuid4()), "type": "app_mention",
          "text": f"<@{bot_user_id}> {text}", "user": user, "ts": ts or new_ts(),
          "channel": channel}
    if thread_ts:
        ev["thread_ts"] = thread_ts
    return ev


def message_event(text: str, *, user: str = "W222", channel: str = "D111",
                  channel_type: str = "im", ts: str | None = None,
                  thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    ev = {"client_msg_id": str(uuid.uuid4()), "type": "message", "text": text, "user": user,
          "ts": ts or new_ts(), "channel": channel, "channel_type": channel_type}
    if thread_ts:
        ev["thread_ts"] = thread_ts
        ev["parent_user_id"] = user
    ev.update(extra)
    return ev


def block_action(action_id: str, value: str, *, user: str = "W222", team_id: str = "T111",
                 channel: str = "C111", message_ts: str = "111.222", thread_ts: str | None = None,
                 action_type: str = "button", message: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    msg = message or {"type": "message", "ts": message_ts, "text": ""}
    if thread_ts:
        msg = {**msg, "thread_ts": thread_ts}
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user, "name": user, "team_id": team_id},
        "api_app_id": "A111", "token": "verification_token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": False},
        "trigger_id": f"{uuid.uuid4().hex[:8]}.trigger",
        "team": {"id": team_id, "domain": "hokkaido-test"},
        "channel": {"id": channel, "name": "consult"},
        "message": msg,
        "response_url": "https://hooks.slack.com/actions/T111/111/random-value",
        "actions": [{"action_id": action_id, "block_id": f"b-{action_id}", "value": value,
                     "type": action_type, "action_ts": new_ts(),
                     "text": {"type": "plain_text", "text": action_id, "emoji": True}}],
    }


def feedback_action(action_id: str, value: str, text: str, *, block_id: str,
                    **kw: Any) -> dict[str, Any]:
    """A click on one button of a `feedback_buttons` element: a block_actions payload whose action
    has type "feedback_buttons", the element's action_id and block_id, and the clicked button's
    value and text (Bolt-JS `FeedbackButtonsAction`)."""
    payload = block_action(action_id, value, action_type="feedback_buttons", **kw)
    payload["actions"][0].update(block_id=block_id, text={"type": "plain_text", "text": text})
    return payload


def view_submission(callback_id: str, values: dict[str, dict[str, Any]], *,
                    private_metadata: str = "", user: str = "W222",
                    team_id: str = "T111") -> dict[str, Any]:
    """`values` is `{block_id: {action_id: {"type": ..., "value": ...}}}` like view.state.values."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "hokkaido-test"},
        "user": {"id": user, "username": user, "name": user, "team_id": team_id},
        "api_app_id": "A111", "token": "verification_token",
        "trigger_id": f"{uuid.uuid4().hex[:8]}.trigger",
        "view": {"id": "V111", "team_id": team_id, "type": "modal", "blocks": [],
                 "private_metadata": private_metadata, "callback_id": callback_id,
                 "state": {"values": values}, "hash": "1596530361.3wRYuk3R",
                 "title": {"type": "plain_text", "text": "相談"},
                 "previous_view_id": None, "root_view_id": "V111", "app_id": "A111",
                 "external_id": "", "app_installed_team_id": team_id, "bot_id": "BBOT"},
        "response_urls": [],
    }


def slash_command(command: str, text: str, *, user: str = "W222", channel: str = "C111",
                  team_id: str = "T111", channel_name: str = "consult") -> dict[str, str]:
    return {
        "token": "verification_token", "team_id": team_id, "team_domain": "hokkaido-test",
        "channel_id": channel, "channel_name": channel_name, "user_id": user,
        "user_name": user, "command": command, "text": text, "api_app_id": "A111",
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.com/commands/{team_id}/111/xxx",
        "trigger_id": f"{uuid.uuid4().hex[:8]}.trigger",
    }


# ---------------------------------------------------------------- HTTP client
@dataclass
class Delivery:
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed: float                   # seconds until the full response arrived (the ack)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class SlackDeliveryClient:
    """POSTs signed deliveries to a running HTTP-mode server (e.g. `http://127.0.0.1:N/slack/events`)."""

    def __init__(self, url: str, signing_secret: str, *, timeout: float = 10.0):
        self.url = url
        self.secret = signing_secret
        self.timeout = timeout
        parts = urlsplit(url)
        self._host, self._port, self._path = parts.hostname, parts.port, parts.path or "/"

    def post_raw(self, body: bytes, headers: dict[str, str]) -> Delivery:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            start = time.perf_counter()
            conn.request("POST", self._path, body=body,
                         headers={**headers, "Content-Length": str(len(body))})
            resp = conn.getresponse()
            data = resp.read()
            elapsed = time.perf_counter() - start
            return Delivery(resp.status, data, dict(resp.getheaders()), elapsed)
        finally:
            conn.close()

    def _post(self, body: bytes, content_type: str, *, retry_num: int | None = None,
              retry_reason: str | None = None, timestamp: int | None = None,
              secret: str | None = None) -> Delivery:
        headers = signed_headers(secret or self.secret, body, timestamp=timestamp,
                                 content_type=content_type, retry_num=retry_num,
                                 retry_reason=retry_reason)
        return self.post_raw(body, headers)

    def post_event(self, payload: dict[str, Any], **kw: Any) -> Delivery:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return self._post(body, "application/json", **kw)

    def post_interaction(self, payload: dict[str, Any], **kw: Any) -> Delivery:
        body = urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()
        return self._post(body, "application/x-www-form-urlencoded", **kw)

    def post_command(self, fields: dict[str, str], **kw: Any) -> Delivery:
        body = urlencode(fields).encode()
        return self._post(body, "application/x-www-form-urlencoded", **kw)
