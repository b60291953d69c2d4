"""Tell staff about a case that needs them (`bot.slack.staff.notify`), never raising.

A failure to notify is logged loudly: the case is already `needs_staff` in the database, so it
shows in the staff App Home queue and `consult cases list` even when the staff post failed.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.services import Services
from bot.slack.staff import notify as staff_notify

log = logging.getLogger(__name__)


def notify_staff(client: WebClient, services: Services, case_id: int, reason: str) -> bool:
    try:
        staff_notify.notify_staff(client, services, case_id, reason)
        return True
    except Exception:
        log.exception("Notifying staff about case %s failed; it stays in the staff queue", case_id)
        return False
