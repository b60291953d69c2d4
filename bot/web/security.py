"""Security at the edge of the HTTP application (pure ASGI middleware, no framework magic).

- ``SecurityHeaders``: a strict Content-Security-Policy (no inline scripts or styles, nothing
  from other origins), no framing, no sniffing, no referrer, and ``no-store`` for pages.
- ``BodyGuard``: every request body is read here first, with a size limit (413 for a body over
  ``max_body`` bytes — by Content-Length, or counted while a chunked body arrives) and a deadline
  (408 when a client sends its body too slowly); the app then gets the buffered body.
- CSRF: ``csrf_token(secret, session_id)`` is an HMAC of the session; every form carries it and
  ``check_csrf`` compares it in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")

_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(send, status: int, text: str, *, close: bool = True) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """Buffer each request body within ``max_body`` bytes and ``timeout`` seconds."""

    def __init__(self, app, *, max_body: int = MAX_BODY_BYTES, timeout: float = 15.0) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return await _plain(send, 400, "Bad Request")
        if length is not None and length > self.max_body:
            log.warning("request body of %d bytes refused (limit %d)", length, self.max_body)
            return await _plain(send, 413, "Payload Too Large")
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            remaining = deadline - loop.time()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
            except asyncio.TimeoutError:
                log.warning("request body not received within %.0f s: 408", self.timeout)
                return await _plain(send, 408, "Request Timeout")
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body") or b""
            size += len(chunk)
            if size > self.max_body:
                log.warning("request body over %d bytes refused", self.max_body)
                return await _plain(send, 413, "Payload Too Large")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()   # later: the disconnect, when it comes

        await self.app(scope, replay, send)


def csrf_token(secret: str, session_id: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def check_csrf(secret: str, session_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_token(secret, session_id), str(token))
