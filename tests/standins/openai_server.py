"""A local OpenAI-compatible HTTP server for tests (real HTTP on 127.0.0.1, ephemeral port).

Endpoints: ``POST /v1/chat/completions`` (JSON, or Server-Sent Events when ``"stream": true``, in
the exact ``chat.completion.chunk`` format ending with ``data: [DONE]``), ``POST /v1/embeddings``
(deterministic hash-seeded unit vectors) and ``GET /v1/models``. Also answers the Azure paths
``/openai/deployments/<name>/chat/completions`` and ``.../embeddings``.

Tests script the chat replies, either as a queue (``server.script("答え [1]", Reply(status=500))``)
or as a function of the request (``server.responder = lambda request: "..."``). Every request is
recorded in ``server.requests`` (method, path, headers, parsed JSON body).

    with OpenAIStandIn() as server:
        client = OpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import numpy as np


@dataclass
class Reply:
    """One scripted chat completion reply."""

    content: str = ""
    status: int = 200
    delay: float = 0.0              # seconds to sleep before answering (simulate a slow model)
    error: str | None = None         # error message body for non-200 statuses
    chunk_size: int = 4              # characters per streamed delta
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict]:
        return list((self.body or {}).get("messages", []))


def hash_embedding(text: str, dim: int = 384) -> list[float]:
    """Deterministic unit vector seeded by the text's SHA-256."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim)
    vec /= np.linalg.norm(vec)
    return vec.astype(float).tolist()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (a timeout test): expected, not an error of the stand-in
        super().handle_error(request, client_address)


class OpenAIStandIn:
    def __init__(self, *, model: str = "standin-model", embedding_dim: int = 384,
                 embed: Callable[[list[str]], list[list[float]]] | None = None):
        self.model = model
        self.embedding_dim = embedding_dim
        self.embed = embed or (lambda texts: [hash_embedding(t, self.embedding_dim) for t in texts])
        self.requests: list[RecordedRequest] = []
        self.replies: deque[Reply | str] = deque()
        self.responder: Callable[[dict], Reply | str] | None = None
        self.default_reply: Reply | str = "（スタンドインの既定の応答です）"
        self.embedding_delay = 0.0
        self.embedding_status = 200
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply | str) -> "OpenAIStandIn":
        with self._lock:
            self.replies.extend(replies)
        return self

    def _next_reply(self, body: dict) -> Reply:
        with self._lock:
            reply = self.replies.popleft() if self.replies else None
        if reply is None:
            reply = self.responder(body) if self.responder else self.default_reply
        return Reply(content=reply) if isinstance(reply, str) else reply

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "OpenAIStandIn":
        handler = type("Handler", (_Handler,), {"standin": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-standin",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    standin: OpenAIStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    # ---- helpers -----------------------------------------------------------------------------
    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _record(self, body: Any) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.standin.requests.append(RecordedRequest(self.command, self.path.split("?")[0], headers, body))

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": kind}},
                   headers)

    # ---- routes ------------------------------------------------------------------------------
    def do_GET(self):
        self._record(None)
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [
                {"id": self.standin.model, "object": "model", "created": 0, "owned_by": "standin"}]})
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self):
        body = self._read_body()
        self._record(body)
        path = self.path.split("?")[0].rstrip("/")
        if path.endswith("/chat/completions"):
            self._chat(body or {})
        elif path.endswith("/embeddings"):
            self._embeddings(body or {})
        else:
            self._error(404, f"no route {self.path}")

    def _embeddings(self, body: dict) -> None:
        if self.standin.embedding_delay:
            time.sleep(self.standin.embedding_delay)
        if self.standin.embedding_status != 200:
            self._error(self.standin.embedding_status, "embedding failure (scripted)")
            return
        inputs = body.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        if inputs and isinstance(inputs[0], list):
            self._error(400, "token-id input is not supported by the stand-in; send strings")
            return
        vectors = self.standin.embed(list(inputs))
        self._json(200, {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": body.get("model", self.standin.model),
            "usage": {"prompt_tokens": sum(len(t) for t in inputs), "total_tokens": sum(len(t) for t in inputs)},
        })

    def _chat(self, body: dict) -> None:
        reply = self.standin._next_reply(body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            self._error(reply.status, reply.error or f"scripted failure {reply.status}", reply.headers)
            return
        model = body.get("model") or self.standin.model
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        usage = {"prompt_tokens": prompt_chars, "completion_tokens": len(reply.content),
                 "total_tokens": prompt_chars + len(reply.content)}
        if not body.get("stream"):
            self._json(200, {
                "id": completion_id, "object": "chat.completion", "created": created, "model": model,
                "system_fingerprint": "fp_standin",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content,
                                                     "refusal": None},
                             "logprobs": None, "finish_reason": reply.finish_reason}],
                "usage": usage,
            })
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def chunk(delta: dict, finish: str | None, with_choices: bool = True, extra: dict | None = None):
            payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                       "model": model, "system_fingerprint": "fp_standin",
                       "choices": ([{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish}] if with_choices else [])}
            if extra:
                payload.update(extra)
            self.wfile.write(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode("utf-8"))
            self.wfile.flush()

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunk({"role": "assistant", "content": "", "refusal": None}, None)
        text = reply.content
        step = max(1, reply.chunk_size)
        for i in range(0, len(text), step):
            chunk({"content": text[i:i + step]}, None)
        chunk({}, reply.finish_reason)
        if include_usage:
            chunk({}, None, with_choices=False, extra={"usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
