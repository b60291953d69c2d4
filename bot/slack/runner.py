"""Run the Bolt app: Socket Mode (no public URL needed) or HTTP mode (`/slack/events`).

HTTP mode uses a small threading `http.server` adapter instead of Bolt's single-threaded
development server, so concurrent deliveries from Slack (and several replicas behind a load
balancer) are acknowledged in parallel. Signature verification is Bolt's own middleware.
"""

from __future__ import annotations

import logging
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest, BoltResponse

from bot.errors import ConfigError
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 2 * 1024 * 1024


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of deliveries must not be refused at the socket level.
    request_queue_size = 256

    def __init__(self, app: App, host: str, port: int) -> None:
        self.app = app
        super().__init__((host, port), _SlackRequestHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]


class _SlackRequestHandler(BaseHTTPRequestHandler):
    server: SlackHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # request lines carry no secrets, but are noise
        log.debug("http: " + format, *args)

    def do_GET(self) -> None:
        if urlsplit(self.path).path in ("/healthz", "/health"):
            self._write(BoltResponse(status=200, body="ok"))
        else:
            self._write(BoltResponse(status=404, body="Not Found"))

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != EVENTS_PATH:
            self._write(BoltResponse(status=404, body="Not Found"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._write(BoltResponse(status=413, body="Payload Too Large"))
            return
        body = self.rfile.read(length).decode("utf-8") if length else ""
        headers: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            headers.setdefault(key.lower(), []).append(value)
        request = BoltRequest(body=body, query=parts.query, headers=headers)
        try:
            response = self.server.app.dispatch(request)
        except Exception:
            log.exception("Unhandled error while dispatching a Slack delivery")
            response = BoltResponse(status=500, body="")
        self._write(response)

    def _write(self, response: BoltResponse) -> None:
        body = (response.body or "").encode("utf-8")
        self.send_response(response.status)
        for name, values in response.headers.items():
            if name.lower() == "content-length":
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_http_server(app: App, *, host: str = "0.0.0.0", port: int = 3000) -> SlackHTTPServer:
    """Start serving in a background thread; returns the server (`.port`, `.shutdown()`)."""
    server = SlackHTTPServer(app, host, port)
    thread = threading.Thread(target=server.serve_forever, name="slack-http", daemon=True)
    thread.start()
    return server


def check_slack_settings(settings: Settings, *, http: bool) -> None:
    """Raise ConfigError naming the missing setting for the chosen mode."""
    if settings.slack_bot_token is None:
        raise ConfigError("設定 SLACK_BOT_TOKEN が未設定のため、Slack ボットを起動できません。")
    if http and settings.slack_signing_secret is None:
        raise ConfigError("HTTP モードには設定 SLACK_SIGNING_SECRET が必要です。")
    if not http and settings.slack_app_token is None:
        raise ConfigError("ソケットモードには設定 SLACK_APP_TOKEN が必要です"
                          "（HTTP モードで起動する場合は --http を指定してください）。")


def serve(settings: Settings, services: Services, *, http: bool, port: int | None = None,
          host: str = "0.0.0.0") -> None:
    """Run until interrupted. HTTP mode needs SLACK_SIGNING_SECRET; Socket Mode SLACK_APP_TOKEN."""
    from bot.slack.app import build_app

    check_slack_settings(settings, http=http)
    app = build_app(settings, services)
    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    if http:
        server = start_http_server(app, host=host, port=port or settings.http_port)
        log.info("Slack HTTP mode: listening on %s:%d%s", host, server.port, EVENTS_PATH)
        try:
            stop.wait()
        finally:
            server.shutdown()
            server.server_close()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, app_token=settings.slack_app_token.get_secret_value())
        handler.connect()
        log.info("Slack Socket Mode: connected")
        try:
            stop.wait()
        finally:
            handler.close()
    log.info("Stopping: waiting for answers in progress")
    app.worker.wait_idle(timeout=60)
    app.worker.shutdown(wait=True)
