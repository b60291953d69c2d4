"""Run the HTTP application under uvicorn, in a background thread of this process.

    server = WebServer(app, host="127.0.0.1", port=0, request_timeout=15).start()
    server.port; server.url; server.stop()

Hardening beyond uvicorn's defaults:
- ``GuardedH11Protocol``: a request must arrive completely (headers and body) within
  ``request_timeout`` seconds of the connection opening (or of the previous response on a kept-
  alive connection); a slow or half-sent request gets ``408`` and the connection is closed, so
  idle sockets cannot pile up. Malformed request lines and headers (e.g. ``Content-Length: -1``)
  already get uvicorn's ``400``; bodies are bounded by ``bot.web.security.BodyGuard``.
- No access log: request lines carry query strings, and a login link's token must never reach a
  log. ``bot.web`` logs refusals itself, without secrets.
"""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                     b"content-length: 15\r\nconnection: close\r\n\r\nRequest Timeout")


class GuardedH11Protocol(H11Protocol):
    request_timeout: float = 15.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._on_deadline)

    def _disarm(self) -> None:
        handle = getattr(self, "_deadline", None)
        if handle is not None:
            handle.cancel()
        self._deadline = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if cycle is not None and (not cycle.more_body or cycle.response_started):
            self._disarm()          # the whole request is here (or the app already answers)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()             # the next request on this connection gets its own deadline

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _on_deadline(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and cycle.response_started:
            return
        if cycle is not None:       # headers came, the body did not: let the app stop waiting
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def protocol_with_timeout(seconds: float) -> type[GuardedH11Protocol]:
    return type("GuardedH11", (GuardedH11Protocol,), {"request_timeout": float(seconds)})


class WebServer:
    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 8080,
                 request_timeout: float = 15.0, name: str = "web") -> None:
        self.config = uvicorn.Config(
            app, host=host, port=port, http=protocol_with_timeout(request_timeout),
            access_log=False, log_config=None, lifespan="off", server_header=False,
            timeout_keep_alive=5, timeout_graceful_shutdown=10, backlog=512)
        self.server = uvicorn.Server(self.config)
        self.host = host
        self.name = name
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> "WebServer":
        self._thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.name}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"the web server could not listen on {self.host}:{self.config.port}")
            if time.monotonic() > deadline:
                raise TimeoutError("the web server did not start")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        for server in self.server.servers:
            for sock in server.sockets:
                return sock.getsockname()[1]
        return self.config.port

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 15.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self) -> None:
        """Block until the server stops (used by `consult web`)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)
