"""Questions as messages: @mentions in channels, DMs, and follow-ups in a thread the bot answered.

- `app_mention`: answered in the thread of the mentioning message.
- `message` in a DM (top level): answered in the thread of that message. (DM thread replies are
  user messages of the assistant view and handled in assistant.py.)
- `message` in a channel thread without a mention: answered only when the thread already holds a
  consultation (case store) or a reply of the bot (conversations.replies), continuing the same
  consultation.

Every such delivery is recorded by the durable inbox before it is acknowledged (`inbox.py`);
the listeners here only let Bolt acknowledge, and the handlers below run when an inbox worker
claims the delivery. Noise (own/bot messages, edits, deletions, joins) is dropped by
`incoming.classify`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.slack import blocks
from bot.slack.delivery import Prepared, Progress
from bot.slack.incoming import (DM, FOLLOW_UP, MENTION, IncomingMessage, Job, is_bare_mention)
from bot.slack.responder import ReplyTarget
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker
    inbox = app.inbox

    @app.event("app_mention")
    def on_mention(body: dict, context: BoltContext, client: WebClient) -> None:
        if is_bare_mention(body, context.bot_user_id):
            worker.submit("bare_mention", ask_for_question, client, body["event"])

    @app.event("message")
    def on_message() -> None:
        """Acknowledged; questions among these were recorded by the inbox middleware."""

    def question(client: WebClient, job: Job, progress: Progress) -> Prepared:
        msg = job.message
        return Prepared(msg.text, target_of(msg))

    def follow_up(client: WebClient, job: Job, progress: Progress) -> Prepared | None:
        msg = job.message
        if has_consultation(services, msg) or \
                bot_answered_in_thread(client, msg.channel, msg.root_ts, *inbox.bot_identity()):
            return Prepared(msg.text, target_of(msg))
        return None

    inbox.handle(MENTION, question)
    inbox.handle(DM, question)
    inbox.handle(FOLLOW_UP, follow_up)


def target_of(msg: IncomingMessage) -> ReplyTarget:
    return ReplyTarget(team=msg.team, channel=msg.channel, thread_ts=msg.root_ts, user=msg.user,
                       react_ts=msg.ts)


def ask_for_question(client: WebClient, event: dict) -> None:
    client.chat_postEphemeral(channel=event["channel"], user=event["user"],
                              thread_ts=event.get("thread_ts"), text=blocks.BARE_MENTION_TEXT)


def has_consultation(services: Services, msg: IncomingMessage) -> bool:
    """The thread already holds a logged consultation (shared by every replica via the DB)."""
    try:
        return services.store.find_case(target_of(msg).conversation) is not None
    except Exception:
        log.exception("Looking up the thread's consultation failed; asking Slack instead")
        return False


def bot_answered_in_thread(client: WebClient, channel: str, root_ts: str,
                           bot_user_id: str | None, bot_id: str | None) -> bool:
    """True when one of the thread's messages was posted by this bot."""
    cursor = None
    try:
        for _ in range(10):     # at most 10 pages of 200 replies
            resp = client.conversations_replies(channel=channel, ts=root_ts, limit=200,
                                                cursor=cursor)
            for m in resp.get("messages") or []:
                if (bot_user_id and m.get("user") == bot_user_id) or \
                        (bot_id and m.get("bot_id") == bot_id):
                    return True
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
    except SlackApiError as exc:
        log.warning("conversations.replies failed for a thread in %s: %s", channel,
                    exc.response.get("error") if exc.response is not None else exc)
    return False
