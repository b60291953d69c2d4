"""A local stand-in for the Slack Web API (`https://slack.com/api/`), real HTTP on 127.0.0.1.

Point `WebClient(base_url=stand_in.url)` at it. It records every call (method, parameters parsed
from the form, JSON and GET-query encodings the SDK uses, a redacted copy of the headers and
whether a token was sent) and answers the methods the consultation bot uses with realistic
shapes. Tests can tell it to answer 429 with `Retry-After`, to answer `ok: false` (e.g.
`not_in_channel`), to fail with HTTP 500, or to drop the connection without an answer — before
or AFTER doing the work ("stored, then the response was lost") — for the next N calls of a method
or for every call until `clear_faults()`.

    with SlackApiStandIn() as slack:
        client = WebClient(base_url=slack.url, token="xoxb-test")
        client.chat_postMessage(channel="C1", text="hi")
        call = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C1")

Tokens are never stored in clear: a call keeps `token_present` and a short SHA-256 fingerprint
(`fingerprint("xoxb-test")`) so a test can tell which token was used without printing it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.standins.slack_api_methods import SlackMethods

# Parameters the SDK serialises to a JSON string inside form / query encodings.
_JSON_FIELDS = {"blocks", "attachments", "view", "prompts", "metadata", "chunks", "unfurl_links_json"}


def fingerprint(token: str) -> str:
    """Short, non-reversible id of a token (what the stand-in records instead of the token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class ApiCall:
    method: str                      # e.g. "chat.postMessage"
    http_method: str                 # "POST" / "GET"
    encoding: str                    # "json" / "form" / "query"
    params: dict[str, Any]
    headers: dict[str, str]          # Authorization redacted
    token_present: bool
    token_fingerprint: str | None
    bearer: str | None = field(default=None, repr=False)   # kept for openid.connect.userInfo only
    basic_secret: str | None = field(default=None, repr=False)  # client secret (HTTP Basic)
    at: float = field(default_factory=time.monotonic)
    status: int = 200                # HTTP status the stand-in answered
    response: dict[str, Any] | None = None

    def __repr__(self) -> str:  # short and token-free
        return f"ApiCall({self.method}, status={self.status}, params={sorted(self.params)})"


ALWAYS = 10 ** 9           # `times=ALWAYS`: a persistent failure (until clear_faults)


@dataclass
class _Fault:
    kind: str              # "ratelimit" / "error" / "http" / "drop" / "hold"
    remaining: int
    retry_after: int = 1
    error: str = "internal_error"
    status: int = 500
    store: bool = False    # "drop": do the work first (the message is stored), then drop
    channel: str | None = None   # only calls for this channel (e.g. not_in_channel)
    gate: "Gate | None" = None   # "hold": the call waits for the gate, then is served normally


class Gate:
    """A held call (see `SlackApiStandIn.hold`): `arrived` is set when the call came in; the
    call is answered (normally) once `release()` is called."""

    def __init__(self, timeout: float):
        self.arrived = threading.Event()
        self._open = threading.Event()
        self.timeout = timeout

    def release(self) -> None:
        self._open.set()

    def wait_open(self) -> None:
        self._open.wait(self.timeout)


class SlackApiStandIn(SlackMethods):
    """Slack Web API stand-in. Use as a context manager or call start()/stop()."""

    def __init__(self, *, team_id: str = "T111", bot_user_id: str = "UBOT", bot_id: str = "BBOT",
                 team_name: str = "北海道庁テスト", user_fetch_delay: float = 0.0):
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_name = team_name
        self.socket_mode_url: str | None = None      # answered by apps.connections.open
        self._lock = threading.Condition()
        self._calls: list[ApiCall] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}   # channel -> messages
        self._users: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[str]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._reacted: set[tuple[str, str, str]] = set()      # (channel, ts, name) by the bot
        self._ts_counter = itertools.count(1)
        self._view_counter = itertools.count(1)
        self._base_ts = int(time.time())
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Sign in with Slack: registered clients (id -> secret), who signs in at the authorize
        # page, codes and access tokens issued, and claim overrides to script refusals.
        self.oidc_clients: dict[str, str] = {}
        self.oidc_user = "U0STAFF"
        self.oidc_claim_overrides: dict[str, Any] = {}
        self.oidc_userinfo_overrides: dict[str, Any] = {}
        self._oidc_codes: dict[str, dict[str, Any]] = {}
        self._oidc_access: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SlackApiStandIn":
        stand_in = self

        class Handler(_Handler):
            owner = stand_in

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-api-stand-in",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SlackApiStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "stand-in not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL for `WebClient(base_url=...)`, ending with '/'."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def oidc_authorize_url(self) -> str:
        """Where Sign in with Slack sends the browser (``SLACK_OIDC_AUTHORIZE_URL``)."""
        return f"http://127.0.0.1:{self.port}/openid/connect/authorize"

    # ------------------------------------------------------------------ scripting
    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and `Retry-After`."""
        self._add_fault(method, _Fault("ratelimit", times, retry_after=retry_after))

    def fail(self, method: str, times: int = 1, *, error: str = "internal_error",
             http_status: int | None = None, channel: str | None = None) -> None:
        """Answer the next `times` calls with `ok: false, error` (or an HTTP error status);
        `times=ALWAYS` until `clear_faults`; `channel`: only calls for that channel."""
        kind = "http" if http_status else "error"
        self._add_fault(method, _Fault(kind, times, error=error, status=http_status or 200,
                                       channel=channel))

    def drop(self, method: str, times: int = 1, *, after_storing: bool = False,
             channel: str | None = None) -> None:
        """Close the connection without any HTTP response for the next `times` calls: a lost
        connection. `after_storing=True`: the call takes effect first (e.g. the message is
        posted), then the response is lost — a client that retries blindly posts twice."""
        self._add_fault(method, _Fault("drop", times, store=after_storing, channel=channel))

    def hold(self, method: str, *, channel: str | None = None, timeout: float = 60.0) -> Gate:
        """Hold the next call of `method` (for `channel`) until the returned gate is released
        (or `timeout` passed), then answer it normally: something can happen meanwhile."""
        gate = Gate(timeout)
        self._add_fault(method, _Fault("hold", 1, channel=channel, gate=gate))
        return gate

    def clear_faults(self, method: str | None = None) -> None:
        """Forget the scripted failures of `method` (or of every method)."""
        with self._lock:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def add_user(self, user_id: str, *, real_name: str = "", display_name: str = "",
                 is_bot: bool = False, team_id: str | None = None, **profile: Any) -> None:
        """``profile`` fields go into ``profile`` (e.g. ``email=``, shown as with the
        ``users:read.email`` scope); ``team_id``: the user's home workspace (a Slack Connect
        member from another organisation), default this workspace."""
        with self._lock:
            self._users[user_id] = {
                "id": user_id, "team_id": team_id or self.team_id, "name": display_name or user_id,
                "real_name": real_name, "is_bot": is_bot, "deleted": False,
                "tz": "Asia/Tokyo",
                "profile": {"real_name": real_name, "display_name": display_name, **profile},
            }

    def set_members(self, channel: str, members: list[str]) -> None:
        with self._lock:
            self._members[channel] = list(members)

    def seed_message(self, channel: str, *, text: str, user: str | None = None,
                     ts: str | None = None, thread_ts: str | None = None,
                     bot_id: str | None = None) -> str:
        """Add a message conversations.replies will return (e.g. an earlier thread turn)."""
        ts = ts or self.next_ts()
        msg: dict[str, Any] = {"type": "message", "ts": ts, "text": text}
        if user:
            msg["user"] = user
        if bot_id:
            msg["bot_id"] = bot_id
        if thread_ts:
            msg["thread_ts"] = thread_ts
        with self._lock:
            self._messages.setdefault(channel, []).append(msg)
        return ts

    def next_ts(self) -> str:
        return f"{self._base_ts}.{next(self._ts_counter):06d}"

    # ------------------------------------------------------------------ inspection
    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def ok_calls(self, method: str) -> list[ApiCall]:
        """Calls of `method` that the stand-in answered successfully."""
        return [c for c in self.calls(method) if c.status == 200 and (c.response or {}).get("ok")]

    def wait_for(self, method: str, predicate: Callable[[ApiCall], bool] | None = None,
                 timeout: float = 10.0, count: int = 1) -> ApiCall:
        """Block until `count` successful calls of `method` match; return the last match."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                matches = [c for c in self._calls if c.method == method and c.status == 200
                           and (c.response or {}).get("ok")
                           and (predicate is None or predicate(c))]
                if len(matches) >= count:
                    return matches[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self._calls]
                    raise AssertionError(
                        f"timed out waiting for {count}x {method}; calls so far: {seen}")
                self._lock.wait(remaining)

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Messages the stand-in holds for a channel (optionally one thread, root first)."""
        with self._lock:
            msgs = list(self._messages.get(channel, []))
        if thread_ts is not None:
            msgs = [m for m in msgs if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]
        return sorted(msgs, key=lambda m: float(m["ts"]))

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # ------------------------------------------------------------------ request handling
    def _record(self, call: ApiCall) -> None:
        with self._lock:
            self._calls.append(call)
            self._lock.notify_all()

    def _take_fault(self, method: str, params: dict[str, Any]) -> _Fault | None:
        with self._lock:
            faults = self._faults.get(method) or []
            faults[:] = [f for f in faults if f.remaining > 0]
            for fault in faults:
                if fault.channel is None or fault.channel == params.get("channel"):
                    fault.remaining -= 1
                    return fault
            return None

    def _dispatch(self, method: str, params: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(params, call)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of concurrent calls (load tests) must not overflow the listen backlog: the default
    # of 5 makes clients wait for TCP SYN retransmits (1 s, 3 s, ...), which Slack never does.
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    owner: SlackApiStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, http_method: str) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/openid/connect/authorize":
            self._authorize(parts.query)
            return
        method = parts.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        params: dict[str, Any] = {}
        if parts.query:
            params.update(_flatten(parse_qs(parts.query, keep_blank_values=True)))
            encoding = "query"
        if raw:
            if ctype == "application/json":
                params.update(json.loads(raw.decode("utf-8")))
                encoding = "json"
            else:
                params.update(_flatten(parse_qs(raw.decode("utf-8"), keep_blank_values=True)))
                encoding = "form"
        elif not parts.query:
            encoding = "form"
        token = None
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        if "token" in params:
            token = token or str(params.pop("token"))
        basic_secret = None
        if auth.lower().startswith("basic "):   # client credentials (oauth.v2.access, openid.*)
            import base64

            client_id, _, basic_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            params.setdefault("client_id", client_id)
        for name in _JSON_FIELDS & params.keys():
            if isinstance(params[name], str):
                try:
                    params[name] = json.loads(params[name])
                except ValueError:
                    pass
        headers = {k: ("<redacted>" if k.lower() == "authorization" else v)
                   for k, v in self.headers.items()}
        call = ApiCall(method=method, http_method=http_method, encoding=encoding, params=params,
                       headers=headers, token_present=bool(token),
                       token_fingerprint=fingerprint(token) if token else None,
                       bearer=token if method == "openid.connect.userInfo" else None,
                       basic_secret=basic_secret)
        fault = self.owner._take_fault(method, params)
        if fault is not None and fault.kind == "hold":
            fault.gate.arrived.set()
            fault.gate.wait_open()
            fault = None
        extra_headers: dict[str, str] = {}
        if fault is not None and fault.kind == "drop":
            call.status = 0                        # no HTTP response at all
            if fault.store:
                call.response = self.owner._dispatch(method, params, call)
            self.owner._record(call)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault is not None and fault.kind == "ratelimit":
            call.status, call.response = 429, {"ok": False, "error": "ratelimited"}
            extra_headers["Retry-After"] = str(fault.retry_after)
        elif fault is not None and fault.kind == "http":
            call.status, call.response = fault.status, None
        elif fault is not None:
            call.response = {"ok": False, "error": fault.error}
        else:
            try:
                call.response = self.owner._dispatch(method, params, call)
            except Exception as exc:  # a bug in the stand-in must be visible, not a hang
                call.status, call.response = 500, {"ok": False, "error": f"stand_in_bug: {exc!r}"}
        # Record before answering, so a caller that got the answer always finds its call.
        self.owner._record(call)
        self._reply(call.status, call.response, extra_headers)

    def _authorize(self, query: str) -> None:
        """Slack's authorize page, with ``oidc_user`` already signed in: straight back to the
        redirect_uri with a code and the state (recorded as a call "openid.connect.authorize")."""
        params = _flatten(parse_qs(query, keep_blank_values=True))
        call = ApiCall(method="openid.connect.authorize", http_method="GET", encoding="query",
                       params=params, headers={}, token_present=False, token_fingerprint=None)
        if params.get("client_id") not in self.owner.oidc_clients or not params.get("redirect_uri"):
            call.status, call.response = 400, {"ok": False, "error": "invalid_client_id"}
            self.owner._record(call)
            self._reply(400, call.response)
            return
        code = self.owner.oidc_authorize(params)
        target = f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params.get('state', '')})}"
        call.response = {"ok": True, "location": target}
        self.owner._record(call)
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reply(self, status: int, body: dict | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b"server error"
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8" if body is not None
                         else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def _flatten(query: dict[str, list[str]]) -> dict[str, Any]:
    return {k: (v[0] if len(v) == 1 else v) for k, v in query.items()}

