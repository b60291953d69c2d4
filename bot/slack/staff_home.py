"""The staff part of App Home: the case queue (needs_staff first, then in_progress, oldest first)
with counts. `bot.slack.home` publishes it for staff users below their own consultations."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.cases.views import CaseStatus
from bot.services import Services
from bot.slack.staff_blocks import build_staff_home_view
from bot.slack.staff_cases import staff_case_from_view

QUEUE_LIMIT = 100


def build_staff_home(client: WebClient | None, services: Services, user_id: str) -> dict:
    """The staff queue as a `home` view (`views.publish`). The caller has checked `is_staff`;
    `client` is accepted for the caller's convenience and not used (pure read of the store)."""
    queue = services.store.staff_queue(limit=QUEUE_LIMIT)
    cases = [staff_case_from_view(c) for c in queue.cases]
    waiting = [c for c in cases if c.status == CaseStatus.NEEDS_STAFF]
    working = [c for c in cases if c.status == CaseStatus.IN_PROGRESS]
    return build_staff_home_view(waiting, working, user_id=user_id,
                                 counts={k: int(v) for k, v in queue.counts.items()})
