"""The slow half of every question surface: show that work started, consult, post the answer.

Used by messages (mentions, DMs, thread follow-ups), the slash command and the assistant view,
always from the Worker pool after the delivery was acknowledged. Failures never leave the
officer without a reply: domain errors become their polite `user_message`, anything else a
generic apology (and a logged traceback).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import Conversation, ConsultResult, Inquiry, Requester
from bot.errors import ConsultError
from bot.services import Services
from bot.slack import blocks, ids
from bot.slack.escalation import notify_staff

log = logging.getLogger(__name__)

STREAM_BUFFER = 64          # characters buffered between chat.appendStream calls


@dataclass(frozen=True)
class ReplyTarget:
    """Where a consultation lives and where its answer goes."""

    team: str
    channel: str
    thread_ts: str              # root of the thread: conversation key and reply location
    user: str
    react_ts: str | None = None  # the officer's message that gets the 👀 reaction

    @property
    def conversation(self) -> Conversation:
        return Conversation(kind="slack", workspace=self.team, channel=self.channel,
                            thread_ts=self.thread_ts)


class Responder:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._names: dict[str, str | None] = {}
        self._names_lock = threading.Lock()

    # ------------------------------------------------------------------ public
    def respond(self, client: WebClient, question: str, target: ReplyTarget, *,
                dedupe_key: str | None, set_status: Callable[[str], Any] | None = None,
                working_shown: bool = False) -> ConsultResult | None:
        """Consult and post the answer into the target thread. Returns the result (None on error).

        `working_shown`: the listener already showed 👀 / the status (see `show_working`)."""
        if not working_shown:
            self.show_working(client, target, set_status)
        inquiry = Inquiry(question=question, conversation=target.conversation,
                          requester=Requester(user_id=target.user,
                                              display_name=self._display_name(client, target.user)),
                          dedupe_key=dedupe_key)
        stream = _AnswerStream(client, target) if self._streaming() else None
        try:
            if stream is not None:
                result = self.services.consultation.consult(inquiry, on_token=stream.on_token)
            else:
                result = self.services.consultation.consult(inquiry)
        except ConsultError as exc:
            log.warning("Consultation failed with %s in %s", type(exc).__name__, target.channel)
            self._post_error(client, target, exc.user_message, set_status, stream)
            self._notify_failed_case(client, target)
            return None
        except Exception:
            log.exception("Consultation failed unexpectedly in %s", target.channel)
            self._post_error(client, target, ConsultError.user_message, set_status, stream)
            self._notify_failed_case(client, target)
            return None
        if result.duplicate:
            log.info("Duplicate delivery %s: already answered, nothing posted", dedupe_key)
            return result
        if stream is not None and stream.started:
            stream.finish(result)
        else:
            self.post_answer(client, target, result)
        if result.case_id is not None:
            if not result.answer.answered:
                notify_staff(client, self.services, result.case_id, "not_answered")
            elif result.reopened:
                notify_staff(client, self.services, result.case_id, "reopened")
        return result

    def post_answer(self, client: WebClient, target: ReplyTarget, result: ConsultResult) -> None:
        for message in blocks.answer_messages(result):
            client.chat_postMessage(channel=target.channel, thread_ts=target.thread_ts,
                                    text=message.text, blocks=message.blocks,
                                    unfurl_links=False, unfurl_media=False)

    # ------------------------------------------------------------------ helpers
    def _notify_failed_case(self, client: WebClient, target: ReplyTarget) -> None:
        """The answer failed: the service logged the turn and sent the case to staff; tell them."""
        try:
            case = self.services.store.find_case(target.conversation)
        except Exception:
            log.exception("Could not look up the case of a failed consultation")
            return
        if case is not None and case.status == "needs_staff":
            notify_staff(client, self.services, case.id, case.escalation_reason or "bot_error")

    def _streaming(self) -> bool:
        return bool(getattr(self.services.answerer, "streaming", False))

    def show_working(self, client: WebClient, target: ReplyTarget,
                     set_status: Callable[[str], Any] | None = None) -> None:
        """👀 on the officer's message, or the assistant status. Called right after the ack, so the
        officer sees that work started even while the question waits for a free worker."""
        try:
            if set_status is not None:
                set_status(blocks.WORKING_STATUS)
            elif target.react_ts:
                client.reactions_add(channel=target.channel, timestamp=target.react_ts,
                                     name=ids.WORKING_REACTION)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error == "already_reacted":
                log.debug("Working reaction already present in %s", target.channel)
            else:
                log.warning("Could not show the working indicator in %s: %s", target.channel, error)

    def _display_name(self, client: WebClient, user_id: str) -> str | None:
        with self._names_lock:
            if user_id in self._names:
                return self._names[user_id]
        name = None
        try:
            user = client.users_info(user=user_id)["user"]
            profile = user.get("profile") or {}
            name = profile.get("real_name") or user.get("real_name") or profile.get("display_name")
        except SlackApiError as exc:
            log.warning("users.info failed for a requester: %s",
                        exc.response.get("error") if exc.response is not None else exc)
        with self._names_lock:
            if len(self._names) > 5000:
                self._names.clear()
            self._names[user_id] = name or None
        return name or None

    def _post_error(self, client: WebClient, target: ReplyTarget, text: str,
                    set_status: Callable[[str], Any] | None, stream: "_AnswerStream | None") -> None:
        message = blocks.error_message(text)
        try:
            if stream is not None and stream.started:
                stream.abort(text)
                return
            client.chat_postMessage(channel=target.channel, thread_ts=target.thread_ts,
                                    text=message.text, blocks=message.blocks)
        except SlackApiError:
            log.exception("Could not post the error reply in %s", target.channel)
        finally:
            if set_status is not None:
                try:
                    set_status("")
                except SlackApiError:
                    log.warning("Could not clear the assistant status in %s", target.channel)


class _AnswerStream:
    """Streams LLM tokens with chat.startStream / appendStream / stopStream.

    Started lazily on the first token; if streaming fails, the rest is posted normally."""

    def __init__(self, client: WebClient, target: ReplyTarget) -> None:
        self.client = client
        self.target = target
        self.stream = None
        self.failed = False

    @property
    def started(self) -> bool:
        return self.stream is not None and not self.failed

    def on_token(self, token: str) -> None:
        if self.failed or not token:
            return
        try:
            if self.stream is None:
                self.stream = self.client.chat_stream(
                    channel=self.target.channel, thread_ts=self.target.thread_ts,
                    recipient_team_id=self.target.team or None,
                    recipient_user_id=self.target.user, buffer_size=STREAM_BUFFER)
            self.stream.append(markdown_text=blocks.escape(token))
        except SlackApiError:
            log.exception("Streaming the answer failed; it will be posted as one message")
            self.failed = True

    def finish(self, result: ConsultResult) -> None:
        try:
            if result.answer.mode == "llm":
                self.stream.stop(blocks=blocks.stream_final_blocks(result))
                return
            # The streamed draft was replaced (e.g. fell back to an extractive answer).
            response = self.stream.stop()
            messages = blocks.answer_messages(result)
            first = messages[0]
            self.client.chat_update(channel=self.target.channel, ts=response["ts"],
                                    text=first.text, blocks=first.blocks)
            for message in messages[1:]:
                self.client.chat_postMessage(channel=self.target.channel,
                                             thread_ts=self.target.thread_ts,
                                             text=message.text, blocks=message.blocks)
        except SlackApiError:
            log.exception("Finishing the streamed answer failed; posting it as one message")
            for message in blocks.answer_messages(result):
                self.client.chat_postMessage(channel=self.target.channel,
                                             thread_ts=self.target.thread_ts,
                                             text=message.text, blocks=message.blocks)

    def abort(self, text: str) -> None:
        self.stream.stop(markdown_text="\n\n" + blocks.escape(text))
