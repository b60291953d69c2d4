"""Questions as messages: @mentions in channels, DMs, and follow-ups in a thread the bot answered.

- `app_mention`: answer in the thread of the mentioning message.
- `message` in a DM (top level): answer in the thread of that message. (DM thread replies are
  user messages of the assistant view and handled in assistant.py.)
- `message` in a channel thread without a mention: answered only when the thread already holds a
  consultation (case store) or a reply of the bot (conversations.replies), continuing the same
  consultation.
Noise (own/bot messages, edits, deletions, joins) is dropped by `incoming.parse_message`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.slack import blocks
from bot.slack.incoming import IncomingMessage, is_bare_mention, parse_message
from bot.slack.responder import ReplyTarget, Responder
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker
    responder = Responder(services)

    def start(client: WebClient, msg: IncomingMessage, label: str) -> None:
        """Show 👀 at once (after the ack), then consult in the worker pool."""
        responder.show_working(client, target_of(msg))
        worker.submit(label, answer, client, msg, True)

    def answer(client: WebClient, msg: IncomingMessage, working_shown: bool = False) -> None:
        responder.respond(client, msg.text, target_of(msg), dedupe_key=msg.dedupe_key,
                          working_shown=working_shown)

    @app.event("app_mention")
    def on_mention(body: dict, context: BoltContext, client: WebClient) -> None:
        msg = parse_message(body, context.bot_user_id, context.bot_id)
        if msg is None:
            if is_bare_mention(body, context.bot_user_id):
                worker.submit("bare_mention", ask_for_question, client, body["event"])
            return
        start(client, msg, "app_mention")

    @app.event("message")
    def on_message(body: dict, context: BoltContext, client: WebClient) -> None:
        msg = parse_message(body, context.bot_user_id, context.bot_id)
        if msg is None:
            return
        if msg.is_dm:
            if msg.in_thread:
                return          # assistant.py owns DM threads (Bolt's Assistant middleware)
            start(client, msg, "dm")
            return
        if msg.mentions_bot or not msg.in_thread:
            return              # mentions arrive as app_mention; plain channel chatter is not ours
        worker.submit("thread_follow_up", follow_up, client, msg, context.bot_user_id,
                      context.bot_id)

    def follow_up(client: WebClient, msg: IncomingMessage, bot_user_id: str | None,
                  bot_id: str | None) -> None:
        if has_consultation(services, msg) or \
                bot_answered_in_thread(client, msg.channel, msg.root_ts, bot_user_id, bot_id):
            answer(client, msg)


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
