"""``POST /slack/events`` (HTTP mode): Bolt's Starlette adapter, with the Bolt dispatch in a
thread pool so a slow listener never blocks the event loop (and the console).

Bolt verifies the signature. Before that, bodies Slack would never send get a 400 here instead of
an exception deep inside Bolt: bytes that are not UTF-8, a JSON body that does not parse to an
object, a form body that does not parse, or an interactivity ``payload`` that is not JSON.
(Size limits and slow bodies are handled for every route by ``bot.web.security.BodyGuard``.)

``AcksFirst`` (ASGI, inside ``BodyGuard``): from the moment a delivery's whole body has arrived
until Bolt has acknowledged it, the inbox's workers start no new step (``Inbox.acknowledging``),
so a burst of deliveries is read and acknowledged before the workers take the interpreter back;
a worker waits at most ``ACK_PRIORITY_MAX_S`` per step, whatever arrives. The window closes in
the dispatching thread, as soon as Bolt returns — a question arriving alone is not kept waiting
for the event loop to send its response.
"""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def malformed(body: bytes, content_type: str) -> str | None:
    """Why a delivery body is malformed, or None when it is well-formed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            return None if isinstance(json.loads(text), dict) else "JSON body is not an object"
        except ValueError:
            return "JSON body does not parse"
    if ctype == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            return "form body does not parse"
        if "payload" in form:
            try:
                return None if isinstance(json.loads(form["payload"][0]), dict) else \
                    "payload is not an object"
            except ValueError:
                return "payload does not parse"
        return None
    return "unsupported content type"


WINDOW_KEY = "consult_ack_window"        # scope["state"]: this request's acknowledgement window


class AckWindow:
    """One delivery counted as an acknowledgement in flight, until `close()` (idempotent)."""

    def __init__(self, inbox) -> None:
        self._counted = inbox.acknowledging()
        self._counted.__enter__()
        self._open = True
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if not self._open:
                return
            self._open = False
        self._counted.__exit__(None, None, None)


class AcksFirst:
    def __init__(self, app, *, inbox) -> None:
        self.app = app
        self.inbox = inbox

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") != EVENTS_PATH:
            return await self.app(scope, receive, send)
        window = AckWindow(self.inbox)
        scope.setdefault("state", {})[WINDOW_KEY] = window
        try:
            return await self.app(scope, receive, send)
        finally:
            window.close()


def router_for(slack_app) -> APIRouter:
    router = APIRouter()

    @router.post(EVENTS_PATH)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        problem = malformed(body, request.headers.get("content-type") or "")
        if problem:
            log.warning("malformed Slack delivery refused: %s", problem)
            return PlainTextResponse("Bad Request", status_code=400)
        bolt_request = to_bolt_request(request, body)
        window = request.scope.get("state", {}).get(WINDOW_KEY)

        def dispatch():
            try:
                return slack_app.dispatch(bolt_request)
            finally:
                if window is not None:
                    window.close()          # acknowledged: the workers may go on

        try:
            bolt_response = await run_in_threadpool(dispatch)
        except Exception:
            log.exception("unhandled error while dispatching a Slack delivery")
            return PlainTextResponse("", status_code=500)
        return to_starlette_response(bolt_response)

    return router
