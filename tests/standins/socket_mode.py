"""A local Socket Mode server (real WebSocket on 127.0.0.1) speaking Slack's envelope protocol.

Flow, as with Slack: the app calls `apps.connections.open` (answered by the Web API stand-in with
this server's `ws://` URL), connects, receives `{"type": "hello", ...}`, then envelopes
`{"envelope_id", "type": "events_api" | "interactive" | "slash_commands", "payload",
"accepts_response_payload", "retry_attempt"?, "retry_reason"?}`; the app acknowledges each with
`{"envelope_id": ..., "payload"?: ...}`.

    with SlackApiStandIn() as api, SocketModeStandIn() as sm:
        api.socket_mode_url = sm.url
        ...start SocketModeHandler...
        sm.wait_connected()
        env_id = sm.send("events_api", event_payload)
        ack = sm.wait_ack(env_id)
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


class SocketModeStandIn:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._connections: list[ServerConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []       # every frame the app sent
        self.connect_count = 0
        self._server = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SocketModeStandIn":
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="socket-mode-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            with self._cond:
                conns = list(self._connections)
            for conn in conns:
                try:
                    conn.close()
                except Exception:  # already gone: nothing to close
                    pass
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> "SocketModeStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4()}&app_id=A111"

    # ------------------------------------------------------------------ protocol
    def _handle(self, conn: ServerConnection) -> None:
        with self._cond:
            self._connections.append(conn)
            self.connect_count += 1
            self._cond.notify_all()
        try:
            conn.send(json.dumps({"type": "hello", "num_connections": 1,
                                  "debug_info": {"host": "stand-in", "approximate_connection_time": 3600},
                                  "connection_info": {"app_id": "A111"}}))
            for frame in conn:
                try:
                    data = json.loads(frame)
                except (TypeError, ValueError):
                    continue
                with self._cond:
                    self.received.append(data)
                    if "envelope_id" in data:
                        self._acks[data["envelope_id"]] = data
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn in self._connections:
                    self._connections.remove(conn)
                self._cond.notify_all()

    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._connections, timeout):
                raise AssertionError("the app never connected to the Socket Mode stand-in")

    def send(self, envelope_type: str, payload: dict[str, Any], *,
             accepts_response_payload: bool = False, retry_attempt: int | None = None,
             retry_reason: str | None = None) -> str:
        """Push one envelope to the connected app; returns its envelope_id."""
        self.wait_connected()
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": envelope_type,
                                    "payload": payload,
                                    "accepts_response_payload": accepts_response_payload}
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or "timeout"
        with self._cond:
            conn = self._connections[-1]
        conn.send(json.dumps(envelope, ensure_ascii=False))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while envelope_id not in self._acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no ack for envelope {envelope_id}")
                self._cond.wait(remaining)
            return self._acks[envelope_id]
