"""The console as it runs in production, for bench/web.py: `consult web` (uvicorn) in its own
process on a free port, signed in with a one-time login link, requests over one keep-alive HTTP
connection (like a browser tab)."""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

REPO = Path(__file__).resolve().parents[1]
STAFF_USER = "U0STAFF01"   # staff (CONSULT_STAFF_USERS) and an assignee of the generated cases


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ConsoleServer:
    def __init__(self, database_url: str, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "CONSULT_", "OPENAI_", "AZURE_", "DATABASE_URL"))}
        data_dir = tmp / f"web-data-{self.port}"
        self.env = {**base, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url,
                    "CONSULT_DATA_DIR": str(data_dir), "CONSULT_STAFF_USERS": STAFF_USER,
                    "CONSULT_WEB_HOST": "127.0.0.1", "CONSULT_WEB_PORT": str(self.port),
                    "CONSULT_WEB_BASE_URL": self.url, "CONSULT_LOG_LEVEL": "WARNING",
                    "CONSULT_WEB_SECRET": secrets.token_urlsafe(32)}
        self.log_path = tmp / f"web-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.cookie = ""

    def __enter__(self) -> "ConsoleServer":
        log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "web"], env=self.env,
                                     cwd=self.log_path.parent, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consult web exited: {self.log_path.read_text()[-2000:]}")
            try:
                status, _ = self._request("/healthz", fresh=True)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError("consult web did not start within 180 s")
        self._sign_in()
        return self

    def _sign_in(self) -> None:
        link = subprocess.run([sys.executable, "-m", "bot", "web", "login-link", STAFF_USER],
                              env=self.env, capture_output=True, text=True, check=True,
                              cwd=self.log_path.parent).stdout.strip().splitlines()[0]
        parsed = urlparse(link)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.conn.request("GET", parsed.path + (f"?{parsed.query}" if parsed.query else ""))
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 303:
            raise RuntimeError(f"login link refused: {resp.status}")
        cookies = [h.split(";", 1)[0] for k, h in resp.getheaders() if k.lower() == "set-cookie"]
        self.cookie = "; ".join(cookies)

    def _request(self, path: str, fresh: bool = False) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60) if fresh else self.conn
        conn.request("GET", path, headers={"Cookie": self.cookie} if self.cookie else {})
        resp = conn.getresponse()
        body = resp.read()
        if fresh:
            conn.close()
        return resp.status, body

    def get(self, path: str) -> bytes:
        status, body = self._request(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}")
        return body

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def path_of(kind: str, params: dict) -> str:
    if kind == "case":
        return f"/cases/{params['case']}"
    if kind == "feedback":
        return f"/feedback?page={params['page']}"
    if kind == "stats":
        return "/stats?period=" + (f"{params['weeks']}w" if params["weeks"] else "all")
    return "/" + (f"?{urlencode(params)}" if params else "")


def http_runner(server: ConsoleServer):
    def run(kind: str, params: dict) -> None:
        server.get(path_of(kind, params))
    return run
