"""The assistant / agent view (Bolt `Assistant` middleware) and DM thread replies.

- `assistant_thread_started`: a greeting, and suggested prompts for officers who never asked.
- user messages in an assistant thread (any DM thread): status 「資料を確認しています…」 while the
  consultation runs, then the answer in the thread (the thread is the consultation). The message
  is recorded by the durable inbox before it is acknowledged; the handler below runs when an
  inbox worker claims it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import Assistant, Say, SetSuggestedPrompts
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from bot.slack import blocks, ids
from bot.slack.delivery import Prepared, Progress
from bot.slack.incoming import ASSISTANT, Job
from bot.slack.responder import ReplyTarget

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    assistant = Assistant()

    @assistant.thread_started
    def on_thread_started(payload: dict, say: Say, set_suggested_prompts: SetSuggestedPrompts
                          ) -> None:
        user = ((payload.get("assistant_thread") or {}).get("user_id")) or ""
        say(blocks.GREETING)
        if is_first_time(services, user):
            try:
                set_suggested_prompts(prompts=list(blocks.SUGGESTED_PROMPTS),
                                      title="よくあるご相談の例")
            except SlackApiError as exc:
                log.warning("Could not set suggested prompts: %s",
                            exc.response.get("error") if exc.response is not None else exc)

    @assistant.user_message
    def on_user_message() -> None:
        """Acknowledged; the question was recorded by the inbox middleware."""

    def in_thread(client: WebClient, job: Job, progress: Progress) -> Prepared:
        msg = job.message
        target = ReplyTarget(team=msg.team, channel=msg.channel, thread_ts=msg.root_ts,
                             user=msg.user, react_ts=msg.ts)
        return Prepared(msg.text, target, set_status=_status_or_reaction(client, target))

    app.inbox.handle(ASSISTANT, in_thread)
    app.use(assistant)


def is_first_time(services: Services, user_id: str) -> bool:
    """No earlier consultation by this officer (on a store error: treat as first time)."""
    if not user_id:
        return True
    try:
        return not services.store.cases_for_requester(user_id, limit=1)
    except Exception:
        log.exception("Looking up earlier consultations failed")
        return True


def _status_or_reaction(client: WebClient, target: ReplyTarget):
    """assistant.threads.setStatus, falling back to the 👀 reaction in DM threads that are not
    assistant threads."""

    def show(status: str) -> None:
        try:
            client.assistant_threads_setStatus(channel_id=target.channel,
                                               thread_ts=target.thread_ts, status=status)
        except SlackApiError as exc:
            if not status:
                raise
            log.info("assistant.threads.setStatus unavailable (%s); adding a reaction instead",
                     exc.response.get("error") if exc.response is not None else exc)
            if target.react_ts:
                client.reactions_add(channel=target.channel, timestamp=target.react_ts,
                                     name=ids.WORKING_REACTION)

    return show
