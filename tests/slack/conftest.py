"""Fixtures for the Slack bot tests: the Slack Web API stand-in, and the REAL Bolt app served by
the real HTTP application (bot.web, uvicorn) on an ephemeral port, receiving signed deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from bot.services import Services, build_services
from bot.settings import Settings
from bot.slack.app import ConsultApp, build_app, stop_app
from bot.slack.runner import EVENTS_PATH, start_web
from bot.web.server import WebServer
from tests.standins.signing import SlackDeliveryClient
from tests.standins.slack_api import SlackApiStandIn

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
OFFICER = "W222"
OFFICER_NAME = "札幌 花子"


@pytest.fixture
def slack_api():
    with SlackApiStandIn(bot_user_id="UBOT", bot_id="BBOT") as stand_in:
        stand_in.add_user(OFFICER, real_name=OFFICER_NAME, display_name="hanako")
        yield stand_in


def slack_env(slack_api: SlackApiStandIn, **extra: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api.url, **extra}


@dataclass
class RunningBot:
    app: ConsultApp
    services: Services
    settings: Settings
    server: WebServer
    slack: SlackApiStandIn
    deliver: SlackDeliveryClient

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{EVENTS_PATH}"

    def idle(self, timeout: float = 60.0) -> None:
        """Wait until the bot finished every background task (inbox items and other work)."""
        assert self.app.inbox.wait_idle(timeout), "bot still busy with questions"
        assert self.app.worker.wait_idle(timeout), "bot still busy"


@pytest.fixture
def start_bot(slack_api) -> Callable[..., RunningBot]:
    """start_bot(settings) -> RunningBot (stopped at teardown)."""
    started: list[RunningBot] = []

    def start(settings: Settings, services: Services | None = None) -> RunningBot:
        services = services or build_services(settings)
        app = build_app(settings, services)
        server = start_web(settings, services, slack_app=app, host="127.0.0.1", port=0)
        bot = RunningBot(app=app, services=services, settings=settings, server=server,
                         slack=slack_api,
                         deliver=SlackDeliveryClient(
                             f"http://127.0.0.1:{server.port}{EVENTS_PATH}", SIGNING_SECRET))
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.server.stop()
        stop_app(bot.app, 30)
        bot.services.store.close()


@pytest.fixture
def bot(indexed_settings, slack_api, start_bot) -> RunningBot:
    """The bot on the bundled knowledge base, extractive answers (no LLM configured)."""
    return start_bot(indexed_settings(**slack_env(slack_api)))


def answers_in(slack: SlackApiStandIn, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """chat.postMessage calls that answered in a thread (the answer carries the 👍 / 👎 buttons)."""
    return [c.params for c in slack.ok_calls("chat.postMessage")
            if c.params.get("channel") == channel and c.params.get("thread_ts") == thread_ts
            and any(b.get("type") == "context_actions" for b in c.params.get("blocks") or [])]


def block_text(params: dict[str, Any]) -> str:
    """All mrkdwn/plain text of a posted message's blocks, joined."""
    out = []
    for block in params.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            out.append(block["text"].get("text", ""))
        for el in block.get("elements") or []:
            if isinstance(el, dict) and isinstance(el.get("text"), (str, dict)):
                out.append(el["text"] if isinstance(el["text"], str) else el["text"].get("text", ""))
    return "\n".join(out)
