"""The middle of every question surface: show that work started, consult, render the reply.

Used by the durable inbox (`bot/slack/delivery.py`) for mentions, DMs, thread follow-ups, the
slash command and the assistant view. Posting is not done here: the reply comes back as
`Reply.messages` (rendered, link rule applied) and the inbox posts it idempotently, so a crash
or a lost response can never produce a second answer. Failures never leave the officer without
a reply: domain errors become their polite `user_message`, anything else a generic apology
(and a logged traceback), and the case goes to staff.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering import links
from bot.cases.views import CaseStatus
from bot.domain import Conversation, Inquiry, Requester
from bot.errors import ConsultError
from bot.services import Services
from bot.slack import blocks, ids

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


@dataclass
class Reply:
    """What to post for one question, and whom to tell afterwards."""

    messages: list[blocks.SlackMessage] = field(default_factory=list)
    notify: list[tuple[int, str]] = field(default_factory=list)   # (case id, reason) for staff
    case_id: int | None = None
    duplicate: bool = False          # another delivery of the same message was answered
    stream_ts: str | None = None     # the streamed draft to replace with messages[0]


class Responder:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._names: dict[str, str | None] = {}
        self._names_lock = threading.Lock()

    # ------------------------------------------------------------------ public
    def show_working(self, client: WebClient, target: ReplyTarget,
                     set_status: Callable[[str], Any] | None = None) -> bool:
        """👀 on the officer's message, or the assistant status. Returns False when the 👀 was
        already there (`already_reacted`: another replica took this message)."""
        try:
            if set_status is not None:
                set_status(blocks.WORKING_STATUS)
            elif target.react_ts:
                client.reactions_add(channel=target.channel, timestamp=target.react_ts,
                                     name=ids.WORKING_REACTION)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error == "already_reacted":
                return False
            log.warning("Could not show the working indicator in %s: %s", target.channel, error)
        except Exception as exc:   # a lost connection must not cost the answer
            log.warning("Could not show the working indicator in %s: %s", target.channel,
                        type(exc).__name__)
        return True

    def consult(self, client: WebClient, question: str, target: ReplyTarget, *,
                dedupe_key: str | None, resume: bool = False,
                on_stream_start: Callable[[str], None] | None = None) -> Reply:
        """Consult and render the reply (the answer, or the polite error). Never raises for a
        consultation failure; the case of a failed answer is handed to staff by the service."""
        inquiry = Inquiry(question=question, conversation=target.conversation,
                          requester=Requester(user_id=target.user,
                                              display_name=self._display_name(client, target.user)),
                          dedupe_key=dedupe_key)
        stream = _AnswerStream(client, target, on_stream_start) if self._streaming() else None
        try:
            if stream is not None:
                result = self.services.consultation.consult(inquiry, on_token=stream.on_token,
                                                            resume=resume)
            else:
                result = self.services.consultation.consult(inquiry, resume=resume)
        except ConsultError as exc:
            log.warning("Consultation failed with %s in %s", type(exc).__name__, target.channel)
            return self._failed(target, exc.user_message, stream)
        except Exception:
            log.exception("Consultation failed unexpectedly in %s", target.channel)
            return self._failed(target, ConsultError.user_message, stream)
        if result.duplicate:
            log.info("Duplicate delivery %s: already answered, nothing posted", dedupe_key)
            return Reply(duplicate=True, case_id=result.case_id)
        reply = Reply(messages=blocks.answer_messages(result), case_id=result.case_id,
                      stream_ts=stream.finish() if stream is not None else None)
        if result.case_id is not None:
            if not result.answer.answered:
                reply.notify.append((result.case_id, "not_answered"))
            elif result.reopened:
                reply.notify.append((result.case_id, "reopened"))
        return reply

    # ------------------------------------------------------------------ helpers
    def _failed(self, target: ReplyTarget, text: str, stream: "_AnswerStream | None") -> Reply:
        """The answer failed: the service logged the turn and sent the case to staff."""
        reply = Reply(messages=[blocks.error_message(text)],
                      stream_ts=stream.finish() if stream is not None else None)
        try:
            case = self.services.store.find_case(target.conversation)
        except Exception:
            log.exception("Could not look up the case of a failed consultation")
            return reply
        if case is not None:
            reply.case_id = case.id
            if case.status == CaseStatus.NEEDS_STAFF:
                reply.notify.append((case.id, case.escalation_reason or "bot_error"))
        return reply

    def _streaming(self) -> bool:
        return bool(getattr(self.services.answerer, "streaming", False))

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
        except Exception as exc:   # the name is a nicety; never lose the question over it
            log.warning("users.info failed for a requester: %s", type(exc).__name__)
            return None            # not cached: try again next time
        with self._names_lock:
            if len(self._names) > 5000:
                self._names.clear()
            self._names[user_id] = name or None
        return name or None


class _AnswerStream:
    """Streams LLM tokens with chat.startStream / appendStream / stopStream.

    Started lazily on the first token. The draft cannot form links (`links.draft_text`); when
    the answer is complete the stream is stopped and the inbox replaces the draft with the final
    message (citations checked, link rule applied). If streaming fails, the answer is simply
    posted as a message."""

    def __init__(self, client: WebClient, target: ReplyTarget,
                 on_start: Callable[[str], None] | None) -> None:
        self.client = client
        self.target = target
        self.on_start = on_start
        self.stream = None
        self.ts: str | None = None
        self.failed = False

    def on_token(self, token: str) -> None:
        if self.failed or not token:
            return
        try:
            if self.stream is None:
                self.stream = self.client.chat_stream(
                    channel=self.target.channel, thread_ts=self.target.thread_ts,
                    recipient_team_id=self.target.team or None,
                    recipient_user_id=self.target.user, buffer_size=STREAM_BUFFER)
            self.stream.append(markdown_text=links.draft_text(blocks.escape(token)))
            if self.ts is None and self.stream.ts:
                self.ts = self.stream.ts
                if self.on_start is not None:
                    self.on_start(self.ts)
        except SlackApiError:
            log.exception("Streaming the answer failed; it will be posted as one message")
            self.failed = True

    def finish(self) -> str | None:
        """Stop the stream; returns the draft's ts (None when nothing was streamed)."""
        if self.stream is None:
            return None
        try:
            response = self.stream.stop()
            self.ts = self.ts or (response or {}).get("ts")
        except SlackApiError:
            log.warning("Stopping the answer stream failed; the draft is replaced anyway")
        return self.ts
