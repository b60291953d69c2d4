"""Tell staff about a case that needs them (the staff helper's `staff_notify`), never raising.

A failure to notify is logged loudly: the case is already `needs_staff` in the database, so it
shows in the staff App Home queue and `consult cases list` even when the staff post failed.
"""

from __future__ import annotations

import importlib
import logging

from slack_sdk import WebClient

from bot.services import Services

log = logging.getLogger(__name__)


def notify_staff(client: WebClient, services: Services, case_id: int, reason: str) -> bool:
    try:
        staff_notify = importlib.import_module("bot.slack.staff_notify")
    except ModuleNotFoundError as exc:  # TEMPORARY until bot/slack/staff_notify.py lands
        if exc.name != "bot.slack.staff_notify":
            raise
        log.error("Staff notification unavailable (bot.slack.staff_notify missing); case %s "
                  "stays in the staff queue", case_id)
        return False
    try:
        staff_notify.notify_staff(client, services, case_id, reason)
        return True
    except Exception:
        log.exception("Notifying staff about case %s failed; it stays in the staff queue", case_id)
        return False
