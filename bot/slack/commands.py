"""`/consult 質問`: an ephemeral receipt at once, then the answer in a DM thread with the bot.

The answer goes to the officer's DM with the bot (never into the channel the command was typed
in: slash commands are private, and the bot may not be a member of that channel). The DM gets a
root message quoting the question; the answer and any follow-ups live in its thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.slack import blocks, ids
from bot.slack.incoming import IncomingCommand, parse_command
from bot.slack.responder import ReplyTarget, Responder
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker
    responder = Responder(services)

    @app.command(ids.CONSULT_COMMAND)
    def on_consult(ack: Ack, command: dict, client: WebClient, respond: Respond) -> None:
        cmd = parse_command(command)
        if not cmd.text:
            ack(text=blocks.command_usage_text())
            return
        ack(text=blocks.command_receipt_text())
        worker.submit("slash_command", answer, client, cmd, respond)

    def answer(client: WebClient, cmd: IncomingCommand, respond: Respond) -> None:
        try:
            dm = client.conversations_open(users=cmd.user)["channel"]["id"]
            root = blocks.command_root_message(cmd.text)
            root_ts = client.chat_postMessage(channel=dm, text=root.text, blocks=root.blocks)["ts"]
        except SlackApiError:
            log.exception("Could not open the DM thread for a /consult question")
            try:
                respond(text=blocks.command_failed_text(), response_type="ephemeral")
            except Exception:
                log.exception("Could not tell the officer that /consult failed")
            return
        target = ReplyTarget(team=cmd.team, channel=dm, thread_ts=root_ts, user=cmd.user)
        responder.respond(client, cmd.text, target, dedupe_key=cmd.dedupe_key)
