"""Which deliveries the durable inbox records (`incoming.classify`), as pure functions."""

from __future__ import annotations

from bot.slack.incoming import (ASSISTANT, COMMAND, DM, FOLLOW_UP, MENTION, classify)
from tests.standins.signing import (event_callback, mention_event, message_event, slash_command)


def kind(body):
    job = classify(body, "UBOT", "BBOT")
    return job and job.kind


def test_questions_are_classified_by_where_they_were_asked():
    assert kind(event_callback(mention_event("質問です"))) == MENTION
    assert kind(event_callback(message_event("質問です", channel="D1"))) == DM
    assert kind(event_callback(message_event("続き", channel="D1", thread_ts="1.0"))) == ASSISTANT
    assert kind(event_callback(message_event("続き", channel="C1", channel_type="channel",
                                             thread_ts="1.0"))) == FOLLOW_UP
    assert kind(slash_command("/consult", "質問です")) == COMMAND


def test_everything_else_is_not_recorded():
    assert kind(event_callback(mention_event(""))) is None                     # bare mention
    assert kind(event_callback(message_event("雑談", channel="C1", channel_type="channel"))) is None
    assert kind(event_callback(message_event("<@UBOT> 質問", channel="C1",
                                             channel_type="channel"))) is None  # the app_mention twin
    assert kind(event_callback(message_event("bot", channel="D1", bot_id="BOTHER",
                                             subtype="bot_message"))) is None
    assert kind(event_callback(message_event("own", channel="D1", user="UBOT"))) is None
    assert kind(slash_command("/consult", "  ")) is None
    assert kind(slash_command("/other", "質問")) is None
    assert kind({"type": "block_actions", "actions": []}) is None


def test_a_retried_delivery_has_the_same_key():
    ev = mention_event("質問です", channel="C1")
    first = classify(event_callback(ev), "UBOT")
    retry = classify(event_callback(ev), "UBOT")          # a new event_id, same message
    assert first.key == retry.key and first.message.text == "質問です"
    twin = event_callback({**ev, "type": "message", "channel_type": "channel"})
    assert classify(twin, "UBOT") is None                 # counted once, as the app_mention
