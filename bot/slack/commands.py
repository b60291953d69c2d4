"""`/consult 質問`: an ephemeral receipt at once, then the answer in a DM thread with the bot.

The answer goes to the officer's DM with the bot (never into the channel the command was typed
in: slash commands are private, and the bot may not be a member of that channel). The DM gets a
root message quoting the question; the answer and any follow-ups live in its thread.

The command is recorded by the durable inbox before it is acknowledged; the handler below runs
when an inbox worker claims it. The root message carries a marker like every reply part, so a
retried attempt finds it instead of posting a second one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.services import Services
from bot.slack import blocks, ids
from bot.slack.delivery import Prepared, Progress
from bot.slack.incoming import COMMAND, Job, parse_command
from bot.slack.poster import Part, failure
from bot.slack.responder import ReplyTarget

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    inbox = app.inbox

    @app.command(ids.CONSULT_COMMAND)
    def on_consult(ack: Ack, command: dict) -> None:
        if not parse_command(command).text:
            ack(text=blocks.command_usage_text())
            return
        ack(text=blocks.command_receipt_text())

    def answer_in_dm(client: WebClient, job: Job, progress: Progress) -> Prepared:
        cmd = job.command
        dm = progress.data.get("dm")
        if not dm:
            try:
                dm = client.conversations_open(users=cmd.user)["channel"]["id"]
            except Exception as exc:
                log.warning("Could not open the DM for a /consult question")
                raise failure(exc) from exc
            progress.data["dm"] = dm
        root_ts = progress.data.get("root_ts")
        if not root_ts:
            root = blocks.command_root_message(cmd.text)
            root_ts = inbox.deliverer.poster.post(
                Part(dm, None, root.text, root.blocks, job.key, "root"),
                check_first=not progress.first_attempt)
            progress.data["root_ts"] = root_ts
            progress.save()
        target = ReplyTarget(team=cmd.team, channel=dm, thread_ts=root_ts, user=cmd.user)
        return Prepared(cmd.text, target)

    inbox.handle(COMMAND, answer_in_dm)
