"""The signing helper matches slack_sdk's own SignatureVerifier."""

from __future__ import annotations

import json
import time

from slack_sdk.signature import SignatureVerifier

from tests.standins.signing import (event_callback, mention_event, signature, signed_headers,
                                    slash_command)

SECRET = "test-signing-secret"


def test_signature_verified_by_slack_sdk():
    body = json.dumps(event_callback(mention_event("質問"))).encode()
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)


def test_known_vector():
    # v0=HMAC_SHA256(secret, "v0:{ts}:{body}")
    import hashlib
    import hmac

    expected = "v0=" + hmac.new(b"s", b"v0:1:body", hashlib.sha256).hexdigest()
    assert signature("s", 1, "body") == expected


def test_stale_timestamp_rejected_and_retry_headers():
    body = b"x=1"
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)
    retry = signed_headers(SECRET, body, retry_num=1, retry_reason="http_timeout")
    assert retry["X-Slack-Retry-Num"] == "1" and retry["X-Slack-Retry-Reason"] == "http_timeout"


def test_payload_shapes():
    cb = event_callback(mention_event("質問", bot_user_id="UBOT"), event_id="Ev1")
    assert cb["event_id"] == "Ev1" and cb["event"]["text"].startswith("<@UBOT>")
    assert cb["authorizations"][0]["user_id"] == "UBOT"
    cmd = slash_command("/consult", "質問")
    assert cmd["command"] == "/consult" and cmd["text"] == "質問"
