"""Buttons under an answer: 👍 / 👎 feedback and 「職員に相談する」 (one listener per button).

Only the officer who asked (or staff) may press them; anyone else gets a polite ephemeral
refusal and nothing changes. 👎 opens an optional modal asking what was missing (views.py
handles its submission) and lets staff know.
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
from bot.slack import authz, blocks, ids
from bot.slack.escalation import notify_staff
from bot.slack.incoming import ButtonClick, parse_click, parse_feedback_value
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker

    @app.action(ids.FEEDBACK_UP)
    def on_feedback_up(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        click = parse_click(body)
        worker.submit("feedback_up", feedback, client, click, "up")

    @app.action(ids.FEEDBACK_DOWN)
    def on_feedback_down(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        click = parse_click(body)
        case = _own_case(client, services, click)
        if case is None:
            return
        _, turn_id = parse_feedback_value(click.value)
        if click.trigger_id and turn_id is not None:
            # The trigger expires 3 s after the click: open the modal right away.
            try:
                client.views_open(trigger_id=click.trigger_id,
                                  view=blocks.feedback_modal(case.id, turn_id))
            except SlackApiError as exc:
                log.warning("Could not open the feedback modal: %s",
                            exc.response.get("error") if exc.response is not None else exc)
        worker.submit("feedback_down", feedback, client, click, "down")

    @app.action(ids.ESCALATE)
    def on_escalate(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        worker.submit("escalate", escalate, client, parse_click(body))

    def feedback(client: WebClient, click: ButtonClick, value: str) -> None:
        case = _own_case(client, services, click)
        if case is None:
            return
        case_id, turn_id = parse_feedback_value(click.value)
        try:
            if turn_id is not None:
                view = services.store.record_feedback(turn_id, case=case_id, user_id=click.user,
                                                      value=value)
            else:
                view = services.store.record_feedback(case=case_id, user_id=click.user, value=value)
        except ConsultError as exc:
            log.warning("Recording feedback failed: %s", type(exc).__name__)
            _ephemeral(client, click, exc.user_message)
            return
        _ephemeral(client, click, blocks.feedback_thanks_text(value))
        if value == "down" and view.status == CaseStatus.NEEDS_STAFF and \
                case.status != CaseStatus.NEEDS_STAFF:
            notify_staff(client, services, case_id, EscalationReason.NEGATIVE_FEEDBACK.value)

    def escalate(client: WebClient, click: ButtonClick) -> None:
        case = _own_case(client, services, click)
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


def _own_case(client: WebClient, services: Services, click: ButtonClick) -> CaseView | None:
    """The case behind a button, if the clicking user may act on it (else a polite refusal)."""
    try:
        case_id, _ = parse_feedback_value(click.value)
        case = services.store.get_case(case_id)
    except (ValueError, CaseNotFound):
        log.warning("Button with an unknown case value %r", click.value)
        _ephemeral(client, click, blocks.case_unavailable_text())
        return None
    except ConsultError as exc:
        _ephemeral(client, click, exc.user_message)
        return None
    if case.requester_id != click.user and not authz.is_staff(client, services.settings, click.user):
        _ephemeral(client, click, blocks.not_your_case_text())
        return None
    return case


def _ephemeral(client: WebClient, click: ButtonClick, text: str) -> None:
    if not click.channel:
        return
    try:
        client.chat_postEphemeral(channel=click.channel, user=click.user, text=text,
                                  thread_ts=click.thread_ts)
    except SlackApiError:
        log.exception("Could not post an ephemeral reply")
