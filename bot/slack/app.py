"""Builds the Bolt app: one WebClient (SLACK_API_URL, retry handlers), every surface registered.

    app = build_app(settings, services)          # then runner.serve(...) or app.dispatch(...)

Acknowledgement is never behind slow work: `process_before_response=False`, and listeners hand
the consultation to a bounded `Worker` pool (`app.worker`, see worker.py).

Each surface is one module with `register(app, services)`; to add one, write the module (thin
listeners: ack, parse with `incoming.py`, call a service, render with `blocks.py`), add its ids to
`ids.py`, and list it in `build_app` below.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.errors import ConfigError
from bot.services import Services
from bot.settings import Settings
from bot.slack import actions, assistant, commands, home, messages, staff, views
from bot.slack.worker import Worker

log = logging.getLogger(__name__)

# Bolt runs acks and quick listener bodies here; slow work goes to the Worker pool.
BOLT_EXECUTOR_THREADS = 16
# Extractive answers are CPU-bound (retrieval, sentence selection): a few threads suffice and
# leave the interpreter to the acknowledgements. LLM answers mostly wait on the network.
EXTRACTIVE_WORKERS = 4
LLM_WORKERS = 12


def consult_workers(settings: Settings) -> int:
    return LLM_WORKERS if settings.llm_configured else EXTRACTIVE_WORKERS


class ConsultApp(App):
    """The Bolt app plus the pool that runs its slow work (`app.worker`, shut down with the app)."""

    worker: Worker


def make_client(settings: Settings) -> WebClient:
    """The Web API client every call goes through (GovSlack: SLACK_API_URL)."""
    if settings.slack_bot_token is None:
        raise ConfigError("設定 SLACK_BOT_TOKEN が未設定です。Slack アプリのボットトークンを設定してください。")
    return WebClient(
        base_url=settings.slack_api_url,
        token=settings.slack_bot_token.get_secret_value(),
        timeout=30,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(settings: Settings, services: Services, *, client: WebClient | None = None,
              worker: Worker | None = None, token_verification: bool = True) -> ConsultApp:
    """Create the Bolt app with every surface registered.

    `worker` is the pool for slow work (created when not given; `app.worker`).
    `token_verification` calls `auth.test` once at start (fails fast on a
    bad token)."""
    client = client or make_client(settings)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = ConsultApp(
        client=client,
        signing_secret=secret,
        process_before_response=False,
        token_verification_enabled=token_verification,
        ignoring_self_events_enabled=True,
        listener_executor=ThreadPoolExecutor(max_workers=BOLT_EXECUTOR_THREADS,
                                             thread_name_prefix="bolt"),
        logger=logging.getLogger("slack_bolt.App"),
        name="consult",
    )
    app.worker = worker or Worker(consult_workers(settings))   # surfaces hand slow work to it
    for surface in (messages, commands, actions, views, home, assistant, staff):
        surface.register(app, services)
    return app
