"""Builds the Bolt app: one WebClient (SLACK_API_URL, retry handlers), every surface registered.

    app = build_app(settings, services)          # then runner.serve(...) or app.dispatch(...)

Acknowledgement is never behind slow work: `process_before_response=False`. A question is
recorded in the durable inbox by a middleware before its listener acks (`inbox.py`), and the
inbox's workers consult and post; other slow work (buttons, App Home) goes to the bounded
`Worker` pool (`app.worker`, see worker.py).

Each surface is one module with `register(app, services)`; to add one, write the module (thin
listeners: ack, parse with `incoming.py`, call a service, render with `blocks.py`), add its ids to
`ids.py`, and list it in `build_app` below.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.services import Services
from bot.settings import Settings
from bot.slack import actions, assistant, commands, home, messages, staff, views
from bot.slack.client import make_client  # noqa: F401  (re-exported: the one client factory)
from bot.slack.inbox import Inbox
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
    """The Bolt app plus the durable inbox of questions (`app.inbox`) and the pool for other
    slow work (`app.worker`); `stop_app` shuts both down."""

    worker: Worker
    inbox: Inbox


def build_app(settings: Settings, services: Services, *, client: WebClient | None = None,
              worker: Worker | None = None, token_verification: bool = True,
              start_inbox: bool = True) -> ConsultApp:
    """Create the Bolt app with every surface registered.

    `worker` is the pool for small background work (created when not given; `app.worker`);
    questions go through the durable inbox (`app.inbox`, its workers started unless
    `start_inbox=False`). `token_verification` calls `auth.test` once at start (fails fast on a
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
    # Questions are recorded before the ack and worked off by the inbox's workers (inbox.py).
    app.inbox = Inbox(services, client, workers=consult_workers(settings),
                      lease_s=settings.inbox_lease_s, retry_s=settings.delivery_retry_s)
    app.use(app.inbox.middleware)            # before the surfaces' middlewares (assistant)
    for surface in (messages, commands, actions, views, home, assistant, staff):
        surface.register(app, services)
    if start_inbox:
        app.inbox.start()
    return app


def stop_app(app: "ConsultApp", timeout: float = 60.0) -> None:
    """Finish what is in progress and stop the app's threads (SIGTERM, tests)."""
    app.inbox.stop(timeout)
    app.worker.wait_idle(timeout)
    app.worker.shutdown(wait=True)
