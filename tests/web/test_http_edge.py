"""The HTTP edge against the REAL uvicorn server (bot.web.server) on a free port, with raw
sockets: malformed requests get 400, oversized ones 413 (by Content-Length, lying lengths and
chunked bodies), slow or half-sent requests time out with 408 and do not starve the server, and
the process keeps serving throughout. /slack/events goes through the real Bolt app."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest

from bot.slack.app import build_app, stop_app
from bot.web.app import build_web_app
from bot.web.server import WebServer
from tests.standins.signing import signed_headers

SECRET = "edge-signing-secret"
BIG = 3 * 1024 * 1024


@pytest.fixture
def edge(console):
    """Bolt app (HTTP mode) + console on one real server; request deadline 2 s."""
    settings = console.settings.model_copy(update={"slack_signing_secret": __import__(
        "pydantic").SecretStr(SECRET)})
    bolt = build_app(settings, console.services, token_verification=False)
    app = build_web_app(settings, console.services, slack_app=bolt)
    server = WebServer(app, host="127.0.0.1", port=0, request_timeout=2.0).start()
    yield server
    server.stop()
    stop_app(bolt, 10)


def raw(server, data: bytes, *, read_timeout: float = 10.0, shutdown: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ")[1])


def post(path: str, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n").encode() + body


def healthz_ms(server) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as resp:
        assert resp.status == 200 and resp.read() == b"ok"
    return (time.monotonic() - start) * 1000


def test_a_signed_delivery_is_dispatched_through_bolt(edge):
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    headers = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(SECRET, body).items()
                      if k != "Content-Type")
    resp = raw(edge, post("/slack/events", body, extra=headers))
    assert status_of(resp) == 200 and b"c-123" in resp
    unsigned = raw(edge, post("/slack/events", body))
    assert status_of(unsigned) == 401


@pytest.mark.parametrize("body, ctype", [
    (b'{"type": "event_callback", ', "application/json"),             # malformed JSON
    (b'["not", "an", "object"]', "application/json"),
    (b'{"text": "\xff\xfe\xfa"}', "application/json"),                 # invalid UTF-8
    (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),    # bad interactivity payload
    (b"a=1&&&=%zz\xff", "application/x-www-form-urlencoded"),         # malformed form
    (b"hello", "text/plain"),
])
def test_malformed_deliveries_get_400_and_the_server_keeps_serving(edge, body, ctype):
    assert status_of(raw(edge, post("/slack/events", body, ctype))) == 400
    assert healthz_ms(edge) < 1000


def test_negative_or_garbage_content_length_gets_400(edge):
    for length in (b"-1", b"abc", b"1, 2"):
        req = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + length + b"\r\n\r\n{}")
        assert status_of(raw(edge, req, shutdown=True)) == 400, length
    assert healthz_ms(edge) < 1000


def test_oversized_bodies_get_413(edge):
    big = b"{" + b'"a":"' + b"x" * BIG + b'"}'
    assert status_of(raw(edge, post("/slack/events", big))) == 413           # honest length
    # a length that promises 3 MB but sends a little: refused on the header, at once
    head = (f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BIG}\r\n\r\n").encode()
    assert status_of(raw(edge, head + b"{}")) == 413
    # chunked: counted while it arrives
    chunk = b"x" * 65536
    chunked = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for _ in range(BIG // len(chunk) + 2):
        chunked += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    chunked += b"0\r\n\r\n"
    assert status_of(raw(edge, chunked)) == 413
    # the console's forms have the same limit
    assert status_of(raw(edge, post("/cases/1/note", b"text=" + b"x" * BIG,
                                    "application/x-www-form-urlencoded"))) == 413
    assert healthz_ms(edge) < 1000


def test_a_lying_small_content_length_cannot_smuggle_a_request(edge):
    """Content-Length says 10 bytes, 3 MB follow: the 10 bytes are the (malformed) body, the rest
    is not a valid request — 4xx answers, the connection is closed, the server keeps serving."""
    body = b"x" * BIG
    req = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 10\r\n\r\n") + body
    resp = raw(edge, req)
    assert 400 <= status_of(resp) < 500
    assert healthz_ms(edge) < 1000


def test_half_sent_requests_time_out_and_do_not_starve_the_server(edge):
    sockets = []
    try:
        for i in range(150):
            sock = socket.create_connection(("127.0.0.1", edge.port), timeout=10)
            if i % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")     # headers never end
            else:
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             b"application/json\r\nContent-Length: 5000\r\n\r\n{\"a\":")  # body never ends
            sockets.append(sock)
        assert healthz_ms(edge) < 500          # a fast answer while 150 requests hang
        time.sleep(2.5)                        # past the 2 s request deadline
        answered = 0
        for sock in sockets:
            sock.settimeout(5)
            data = b""
            try:
                while chunk := sock.recv(4096):
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            assert not data or status_of(data) == 408, data[:100]
            answered += data.startswith(b"HTTP/1.1 408")
        assert answered >= 140                 # every one was told and closed (none left hanging)
    finally:
        for sock in sockets:
            sock.close()
    assert healthz_ms(edge) < 1000


def test_a_slow_but_complete_request_within_the_deadline_is_served(edge):
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.3)
        data = sock.recv(4096)
    assert status_of(data) == 200
