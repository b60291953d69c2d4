"""Modal submissions of the officer surfaces: what was missing after a 👎 (optional comment)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt import Ack

from bot.errors import ConsultError
from bot.services import Services
from bot.slack import blocks, ids
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)


def feedback_comment(view: dict) -> str:
    values = (view.get("state") or {}).get("values") or {}
    value = ((values.get(ids.FEEDBACK_BLOCK) or {}).get(ids.FEEDBACK_INPUT) or {}).get("value")
    return (value or "").strip()


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker

    @app.view(ids.FEEDBACK_VIEW)
    def on_feedback_submitted(ack: Ack, body: dict, view: dict) -> None:
        comment = feedback_comment(view)
        try:
            case_id, turn_id = blocks.parse_feedback_metadata(view.get("private_metadata") or "")
        except (ValueError, KeyError):
            log.warning("Feedback modal without valid metadata")
            ack()
            return
        ack()
        if comment:
            worker.submit("feedback_comment", save, case_id, turn_id,
                          (body.get("user") or {}).get("id") or "", comment)

    def save(case_id: int, turn_id: int, user_id: str, comment: str) -> None:
        try:
            case = services.store.get_case(case_id)
            turn = services.store.get_turn(turn_id)
            if case.requester_id != user_id or turn.case_id != case_id:
                log.warning("Feedback comment on someone else's consultation ignored")
                return
            # Through the consultation service: the comment is PII-masked before it is stored.
            services.consultation.record_feedback(turn_id, user_id=user_id, value="down",
                                                  comment=comment)
        except ConsultError:
            log.exception("Saving the feedback comment failed")
