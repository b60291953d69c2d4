"""App Home: an officer's recent consultations and their status; staff see the case queue."""

from __future__ import annotations

import logging
from datetime import timedelta, timezone
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.services import Services
from bot.slack.staff import home as staff_home
from bot.slack.home_blocks import HomeCase, officer_home
from bot.slack.worker import Worker

if TYPE_CHECKING:
    from bot.slack.app import ConsultApp

log = logging.getLogger(__name__)

JST = timezone(timedelta(hours=9))
RECENT_CASES = 20


def register(app: ConsultApp, services: Services) -> None:
    worker: Worker = app.worker

    @app.event("app_home_opened")
    def on_home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event.get("user")
        if not user:
            return
        worker.submit("app_home", publish_home, client, services, user,
                      staff_home.picked_team(event.get("view")))


def home_cases(services: Services, user_id: str) -> list[HomeCase]:
    cases = services.store.cases_for_requester(user_id, limit=RECENT_CASES)
    return [HomeCase(ref=c.ref, title=c.title, status_label=c.status_label,
                            updated=c.updated_at.astimezone(JST).strftime("%Y-%m-%d %H:%M"))
            for c in cases]


def publish_home(client: WebClient, services: Services, user_id: str,
                 picked_team: str | None = None) -> None:
    """Staff see their queue and a sign-in link to the web console; officers their own recent
    cases. ``picked_team``: the team picked on the staff App Home (teams file)."""
    if services.workflow.is_staff(user_id):
        view = staff_home.build_staff_home(services, user_id, console_url(services, user_id),
                                           picked=picked_team)
    else:
        view = officer_home(home_cases(services, user_id))
    client.views_publish(user_id=user_id, view=view)


def console_url(services: Services, user_id: str) -> str | None:
    """The 「職員用ページを開く」 link: Sign in with Slack when OIDC is configured, else a one-time
    login link for this staff member. None when this process serves no console (`--no-web`,
    CONSULT_WEB_ENABLED=false) or the link cannot be made (logged)."""
    from bot.web.links import console_entry_url

    if not services.settings.web_enabled:
        return None
    try:
        return console_entry_url(services.settings, user_id)
    except Exception:
        log.exception("could not make the console link for the staff App Home")
        return None
