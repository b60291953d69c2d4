"""Working off one recorded delivery: prepare, consult, post exactly once, tell staff.

    prepare (the surface's handler: the thread, a DM root for /consult, or "not for us")
      -> 👀 / status, beside the consultation (first claim only; `already_reacted` = another
         replica took it while the database was down -> duplicate, nothing posted)
      -> consult (resume=True after a crash: the turn already begun is reused, never doubled)
      -> post each part with its marker (`poster.py`); on a retry, look for the marker first
      -> staff notices (declined answer, reopened case, failed answer) -> finish: posted

Posting that fails is retried with backoff (`next_attempt_at`) until
`CONSULT_DELIVERY_RETRY_S` has passed since the first failure (or at once on an error waiting
cannot fix); then the case goes to `needs_staff` with reason `delivery_failed`, the staff
channel gets its card, and the item ends `handed_off`. What is done is saved in the item's
`progress` before anything that could fail again, so a later attempt (here or on another
replica) continues where this one stopped.

A `Progress` without a store is the degraded mode (the database was unreachable when the
delivery arrived): the same steps, retries in this thread, nothing saved.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from slack_sdk import WebClient

from bot.cases.db import utcnow
from bot.cases.inbox import InboxItem, InboxState
from bot.cases.views import EscalationReason
from bot.errors import ConsultError
from bot.services import Services
from bot.slack.blocks import SlackMessage
from bot.slack.escalation import notify_staff
from bot.slack.incoming import Job
from bot.slack.poster import Part, PostFailed, Poster
from bot.slack.responder import Reply, ReplyTarget, Responder

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0


@dataclass(frozen=True)
class Prepared:
    """What a surface's handler found: the question and where its reply goes."""

    question: str
    target: ReplyTarget
    set_status: Callable[[str], Any] | None = None    # assistant threads: status, not 👀


# handler(client, job, progress) -> Prepared | None (None: not a question for the bot)
Handler = Callable[[WebClient, Job, "Progress"], "Prepared | None"]


@dataclass
class Progress:
    """An item being worked on: its saved progress and the lease to save it under."""

    item: InboxItem
    owner: str | None                     # None: degraded mode (not in the database)
    store: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    mask: Callable[[str], str] | None = None     # the PII guard: the stored question when done

    def done_payload(self) -> dict[str, Any] | None:
        """The delivery as it stays in the inbox once done: its question masked (the officer's
        own words are kept only while the delivery may still have to be answered)."""
        text = self.item.payload.get("text")
        if self.mask is None or not isinstance(text, str):
            return None
        return {**self.item.payload, "text": self.mask(text)}

    @property
    def durable(self) -> bool:
        return self.store is not None

    @property
    def first_attempt(self) -> bool:
        return self.item.attempts <= 1

    def save(self) -> None:
        if self.durable:
            self.store.inbox_progress(self.item.id, self.owner, self.data, case_id=self.case_id)

    def finish(self, state: str, error: str | None = None) -> None:
        if self.durable:
            self.store.inbox_finish(self.item.id, self.owner, state, progress=self.data,
                                    case_id=self.case_id, error=error,
                                    payload=self.done_payload())


class Deliverer:
    def __init__(self, services: Services, client: WebClient, poster: Poster, *,
                 handlers: dict[str, Handler], retry_s: float,
                 sleep: Callable[[float], None] = time.sleep,
                 pause: Callable[[], None] = lambda: None):
        self.services = services
        self.client = client
        self.poster = poster
        self.handlers = handlers
        self.responder = Responder(services)
        self.retry_s = retry_s
        self.sleep = sleep
        self.pause = pause            # lets acknowledgements in flight go first (inbox.py)
        self._indicators = ThreadPoolExecutor(max_workers=4, thread_name_prefix="indicator")

    # ------------------------------------------------------------------ one item
    def run(self, progress: Progress, *, claimed: bool = False) -> str:
        """Work the item as far as possible; returns its state afterwards (a done state, or
        "pending" when posting failed and it was deferred). `claimed`: the 👀 was already added
        as the claim (degraded mode)."""
        item = progress.item
        job = Job(item.kind, item.key, dict(item.payload))
        handler = self.handlers.get(item.kind)
        if handler is None:
            log.error("no handler for inbox kind %r (item %s): ignored", item.kind, item.id)
            progress.finish(InboxState.IGNORED, error=f"unknown kind {item.kind}")
            return InboxState.IGNORED
        started = time.perf_counter()
        try:
            prepared = handler(self.client, job, progress)
        except PostFailed as exc:                  # e.g. the /consult DM could not be opened
            return self._failed(progress, None, exc)
        if prepared is None:
            progress.finish(InboxState.IGNORED)
            return InboxState.IGNORED
        if "messages" not in progress.data:
            # 👀 / the status in parallel with the consultation (a Slack round trip off the
            # critical path); its outcome is checked before anything is posted.
            indicator = self._indicators.submit(
                self.responder.show_working, self.client, prepared.target,
                prepared.set_status) if progress.first_attempt and not claimed else None
            self.pause()
            reply = self._consult(progress, prepared, job)
            if indicator is not None and indicator.result() is False:
                log.info("delivery %s was taken by another replica while the database was down",
                         item.id)
                progress.finish(InboxState.DUPLICATE)
                return InboxState.DUPLICATE
            if reply.duplicate:
                progress.finish(InboxState.DUPLICATE)
                return InboxState.DUPLICATE
            progress.case_id = reply.case_id
            progress.data.update(messages=[_message_dict(m) for m in reply.messages],
                                 notify=[list(n) for n in reply.notify],
                                 stream_ts=reply.stream_ts)
        consulted = time.perf_counter()
        self.pause()
        try:
            self._post(progress, prepared.target)
        except PostFailed as exc:
            return self._failed(progress, prepared, exc)
        for case_id, reason in progress.data.get("notify") or []:
            notify_staff(self.client, self.services, int(case_id), str(reason))
        if prepared.set_status is not None:
            self._clear_status(prepared)
        progress.finish(InboxState.POSTED)
        log.debug("delivery %s posted: consult %.0f ms, post %.0f ms", item.id,
                  (consulted - started) * 1000, (time.perf_counter() - consulted) * 1000)
        return InboxState.POSTED

    # ------------------------------------------------------------------ steps
    def _consult(self, progress: Progress, prepared: Prepared, job: Job) -> Reply:
        def stream_started(ts: str) -> None:
            progress.data["stream_ts"] = ts
            progress.save()                       # a resumed attempt replaces this draft

        return self.responder.consult(self.client, prepared.question, prepared.target,
                                      dedupe_key=job.key, resume=not progress.first_attempt,
                                      on_stream_start=stream_started)

    def _post(self, progress: Progress, target: ReplyTarget) -> None:
        messages = progress.data.get("messages") or []
        posted: list[str] = progress.data.setdefault("posted", [])
        check_first = not progress.first_attempt or bool(progress.data.get("failures"))
        for i, message in enumerate(messages):
            if i < len(posted):
                continue
            stream_ts = progress.data.get("stream_ts")
            if i == 0 and stream_ts:
                self.poster.update(target.channel, stream_ts, message["text"], message["blocks"])
                ts = stream_ts
            else:
                ts = self.poster.post(Part(target.channel, target.thread_ts, message["text"],
                                           message["blocks"], progress.item.key, str(i)),
                                      check_first=check_first)
            posted.append(ts)
            if i < len(messages) - 1:
                progress.save()

    def _failed(self, progress: Progress, prepared: Prepared | None, exc: PostFailed) -> str:
        """Posting failed: retry later, or hand the case to staff when time is up."""
        item, now = progress.item, utcnow()
        first = item.first_failure_at
        if first is None and progress.data.get("first_failure"):
            first = datetime.fromisoformat(progress.data["first_failure"])
        first = first or now
        failures = int(progress.data.get("failures") or 0) + 1
        progress.data["failures"] = failures
        elapsed = (now - first).total_seconds()
        if exc.permanent or elapsed >= self.retry_s:
            return self._hand_off(progress, prepared, exc, elapsed)
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (failures - 1))
        delay = max(delay, exc.retry_after or 0.0) * random.uniform(0.8, 1.2)
        delay = min(delay, max(0.5, self.retry_s - elapsed))      # one last try at the bound
        log.warning("posting the reply to delivery %s failed (%s); retrying in %.1f s",
                    item.id, exc.error, delay)
        if not progress.durable:                  # degraded mode: retry in this thread
            progress.data["first_failure"] = first.isoformat()
            self.sleep(delay)
            progress.item = _next_attempt(item, first)
            return self.run(progress, claimed=True)
        progress.store.inbox_defer(item.id, progress.owner, retry_at=now + timedelta(seconds=delay),
                                   error=exc.error, first_failure_at=first,
                                   progress=progress.data)
        return InboxState.PENDING

    def _hand_off(self, progress: Progress, prepared: Prepared | None, exc: PostFailed,
                  elapsed: float) -> str:
        case_id = progress.case_id or progress.item.case_id or self._case_of(prepared)
        ref = f"case {case_id}" if case_id else "a consultation"
        if case_id is not None:
            try:
                self.services.store.escalate(case_id, actor="bot",
                                             reason=EscalationReason.DELIVERY_FAILED.value,
                                             text=f"Slack: {exc.error}")
            except ConsultError as err:
                log.error("could not hand %s to staff in the database (%s)", ref,
                          type(err).__name__)
            notify_staff(self.client, self.services, case_id,
                         EscalationReason.DELIVERY_FAILED.value)
        log.error("the reply to %s could not be posted for %.0f s (%s): handed to staff "
                  "(delivery_failed)", ref, elapsed, exc.error)
        progress.case_id = case_id
        progress.finish(InboxState.HANDED_OFF, error=exc.error)
        return InboxState.HANDED_OFF

    def _case_of(self, prepared: Prepared | None) -> int | None:
        if prepared is None:
            return None
        try:
            case = self.services.store.find_case(prepared.target.conversation)
        except ConsultError:
            return None
        return case.id if case else None

    def _clear_status(self, prepared: Prepared) -> None:
        try:
            prepared.set_status("")
        except Exception as exc:
            log.warning("Could not clear the assistant status: %s", type(exc).__name__)


def _message_dict(message: SlackMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}


def _next_attempt(item: InboxItem, first: datetime) -> InboxItem:
    from dataclasses import replace

    return replace(item, attempts=item.attempts + 1, first_failure_at=first)
