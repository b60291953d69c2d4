"""Run the product's servers: the Slack bot (Socket Mode or HTTP mode) and the staff web console.

- HTTP mode: ONE HTTP application (``bot.web.app``) under uvicorn on ``--port``/``PORT`` serves
  ``POST /slack/events`` (Bolt's Starlette adapter, dispatch in a thread pool), ``/healthz`` and,
  unless ``--no-web``, the console.
- Socket Mode: the bot connects out to Slack (no public URL); the console runs in the same
  process on its own port (``CONSULT_WEB_HOST``:``CONSULT_WEB_PORT``) unless ``--no-web``.
Signature verification is Bolt's own middleware.

Once listening, `warm_up` loads what the first question would (index, embedding model, Sudachi,
the PII guard's NER model) and freezes everything alive then out of the garbage collector's reach (`gc.freeze`): a full
collection over the loaded libraries held the interpreter for ~360 ms in the middle of a
50-delivery burst (every acknowledgement waited for it); frozen, a full collection only walks
what was made since.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time

from bot.errors import ConfigError
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def check_slack_settings(settings: Settings, *, http: bool) -> None:
    """Raise ConfigError naming the missing setting for the chosen mode."""
    if settings.slack_bot_token is None:
        raise ConfigError("設定 SLACK_BOT_TOKEN が未設定のため、Slack ボットを起動できません。")
    if http and settings.slack_signing_secret is None:
        raise ConfigError("HTTP モードには設定 SLACK_SIGNING_SECRET が必要です。")
    if not http and settings.slack_app_token is None:
        raise ConfigError("ソケットモードには設定 SLACK_APP_TOKEN が必要です"
                          "（HTTP モードで起動する場合は --http を指定してください）。")


def start_web(settings: Settings, services: Services, *, slack_app=None, console: bool = True,
              host: str | None = None, port: int | None = None):
    """Build the HTTP application and serve it in a background thread; returns the WebServer."""
    from bot.web.app import build_web_app
    from bot.web.server import WebServer

    app = build_web_app(settings, services, slack_app=slack_app, console=console)
    return WebServer(app, host=host or settings.web_host,
                     port=settings.web_port if port is None else port,
                     request_timeout=settings.web_request_timeout).start()


WARM_UP_QUESTION = "地域づくり総合交付金の対象事業は？"


def warm_up(services: Services) -> None:
    """Load the answering path before the first question, then `gc.freeze()` (see above)."""
    started = time.perf_counter()
    try:
        services.retriever.search(WARM_UP_QUESTION)
    except Exception as exc:  # no index yet, Chroma down: the first question tells the officer
        log.warning("warm-up search failed (%s); the index is opened on the first question",
                    type(exc).__name__)
    pii = getattr(services, "pii", None)
    if pii is not None:
        try:
            pii.warm()        # the NER model (start_background began loading it): frozen too
        except Exception as exc:
            log.warning("warm-up of the PII guard failed (%s)", type(exc).__name__)
    gc.collect()
    gc.freeze()
    log.info("warmed up in %.1f s; %d objects frozen out of garbage collection",
             time.perf_counter() - started, gc.get_freeze_count())


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    return stop


def serve(settings: Settings, services: Services, *, http: bool, port: int | None = None,
          host: str = "0.0.0.0", web: bool = True) -> None:
    """Run until interrupted. HTTP mode needs SLACK_SIGNING_SECRET; Socket Mode SLACK_APP_TOKEN."""
    from bot.slack.app import build_app, stop_app

    check_slack_settings(settings, http=http)
    app = build_app(settings, services)
    stop = _stop_event()
    servers = []
    handler = None
    services.start_background()
    try:
        if http:
            server = start_web(settings, services, slack_app=app, console=web, host=host,
                               port=port or settings.http_port)
            servers.append(server)
            log.info("Slack HTTP mode: listening on %s:%d%s%s", host, server.port, EVENTS_PATH,
                     " (staff console on the same port)" if web else "")
        else:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            if web:
                server = start_web(settings, services)
                servers.append(server)
                log.info("staff console: %s", server.url)
            handler = SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
            handler.connect()
            log.info("Slack Socket Mode: connected")
        warm_up(services)
        stop.wait()
    finally:
        if handler is not None:
            handler.close()
        for server in servers:
            server.stop()
        services.stop_background()
        log.info("Stopping: waiting for answers in progress")
        stop_app(app, timeout=60)


def serve_console(settings: Settings, services: Services, *, host: str | None = None,
                  port: int | None = None) -> None:
    """`consult web`: the console alone, until interrupted."""
    stop = _stop_event()
    server = start_web(settings, services, host=host, port=port)
    services.start_background()
    print(f"職員用ページ: {server.url}/", flush=True)
    log.info("staff console: %s", server.url)
    try:
        stop.wait()
    finally:
        services.stop_background()
        server.stop()
