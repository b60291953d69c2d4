"""Buttons under an answer: 👍 / 👎 feedback and 「職員に相談する」 (one listener per action id).

👍 / 👎 are one `feedback_buttons` element (one action id); the clicked button's value carries
the polarity, case and turn. Only the officer who asked (or staff) may press them; anyone else
gets a polite ephemeral refusal and nothing changes. 👎 opens an optional modal asking what was
missing (views.py handles its submission) and lets staff know.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases.views import CaseStatus, CaseView, EscalationReason
from bot.errors import CaseNotFound, ConsultError
from bot.services import Services
from bot.slack import blocks, ids
from bot.slack.escalation import notify_staff
from bot.slack.incoming import (ButtonClick, FeedbackValue, parse_case_value, parse_click,
                                parse_feedback_value)
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker

    @app.action(ids.FEEDBACK)
    def on_feedback(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        click = parse_click(body)
        try:
            choice = parse_feedback_value(click.value)
        except ValueError:
            _reject_malformed(client, click)
            return
        if choice.polarity == "down":
            # The trigger expires 3 s after the click: open the modal right away.
            if _own_case(client, services, click, choice.case_id) is None:
                return
            _open_feedback_modal(client, click, choice)
        worker.submit(f"feedback_{choice.polarity}", feedback, client, click, choice)

    @app.action(ids.ESCALATE)
    def on_escalate(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        worker.submit("escalate", escalate, client, parse_click(body))

    def feedback(client: WebClient, click: ButtonClick, choice: FeedbackValue) -> None:
        case = _own_case(client, services, click, choice.case_id)
        if case is None:
            return
        try:
            view = services.store.record_feedback(choice.turn_id, case=choice.case_id,
                                                  user_id=click.user, value=choice.polarity)
        except ConsultError as exc:
            log.warning("Recording feedback failed: %s", type(exc).__name__)
            _ephemeral(client, click, exc.user_message)
            return
        _ephemeral(client, click, blocks.feedback_thanks_text(choice.polarity))
        if choice.polarity == "down" and view.status == CaseStatus.NEEDS_STAFF and \
                case.status != CaseStatus.NEEDS_STAFF:
            notify_staff(client, services, case.id, EscalationReason.NEGATIVE_FEEDBACK.value)

    def escalate(client: WebClient, click: ButtonClick) -> None:
        try:
            case_id = parse_case_value(click.value)
        except ValueError:
            _reject_malformed(client, click)
            return
        case = _own_case(client, services, click, case_id)
        if case is None:
            return
        if case.status in (CaseStatus.NEEDS_STAFF, CaseStatus.IN_PROGRESS):
            _ephemeral(client, click, blocks.already_escalated_text(case.ref))
            return
        try:
            view = services.store.escalate(case.id, actor=click.user,
                                           reason=EscalationReason.REQUESTED.value)
        except ConsultError as exc:
            log.warning("Escalation failed: %s", type(exc).__name__)
            _ephemeral(client, click, exc.user_message)
            return
        notify_staff(client, services, view.id, EscalationReason.REQUESTED.value)
        try:
            client.chat_postMessage(channel=view.channel or click.channel,
                                    thread_ts=view.thread_ts or click.thread_ts or click.message_ts,
                                    text=blocks.escalated_text(view.ref))
        except SlackApiError:
            log.exception("Could not post the escalation notice in the officer's thread")


def _own_case(client: WebClient, services: Services, click: ButtonClick,
              case_id: int) -> CaseView | None:
    """The case behind a button, if the clicking user may act on it (else a polite refusal)."""
    try:
        case = services.store.get_case(case_id)
    except CaseNotFound:
        log.warning("Button for an unknown case %d", case_id)
        _ephemeral(client, click, blocks.case_unavailable_text())
        return None
    except ConsultError as exc:
        _ephemeral(client, click, exc.user_message)
        return None
    if case.requester_id != click.user and not services.workflow.is_staff(click.user):
        _ephemeral(client, click, blocks.not_your_case_text())
        return None
    return case


def _reject_malformed(client: WebClient, click: ButtonClick) -> None:
    """A button value this app never built (tampered or from an old message): refuse politely."""
    log.warning("Button with a malformed value %r from %s", click.value[:60], click.user)
    _ephemeral(client, click, blocks.case_unavailable_text())


def _open_feedback_modal(client: WebClient, click: ButtonClick, choice: FeedbackValue) -> None:
    if not click.trigger_id:
        return
    try:
        client.views_open(trigger_id=click.trigger_id,
                          view=blocks.feedback_modal(choice.case_id, choice.turn_id))
    except SlackApiError as exc:
        log.warning("Could not open the feedback modal: %s",
                    exc.response.get("error") if exc.response is not None else exc)


def _ephemeral(client: WebClient, click: ButtonClick, text: str) -> None:
    if not click.channel:
        return
    try:
        client.chat_postEphemeral(channel=click.channel, user=click.user, text=text,
                                  thread_ts=click.thread_ts)
    except SlackApiError:
        log.exception("Could not post an ephemeral reply")
