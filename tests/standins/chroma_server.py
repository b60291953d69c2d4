"""A real `chroma run` server on an ephemeral port that a test can stop and start again (same
port, same data), to prove that the bot and the ingest heal when the server comes back."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMA_BIN = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def start_process(cmd: list[str], health_url: str, log: Path) -> subprocess.Popen:
    # The server's log goes to a file: a pipe nobody reads fills up and blocks the server.
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_http(health_url, proc, log)
    except Exception:
        proc.kill()
        proc.wait(10)
        raise
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class ChromaServer:
    def __init__(self, path: Path, log: Path):
        self.path, self.log = path, log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def available(self) -> bool:
        return CHROMA_BIN.exists()

    def start(self) -> "ChromaServer":
        self.proc = start_process(
            [str(CHROMA_BIN), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            f"http://127.0.0.1:{self.port}/api/v2/heartbeat", self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def env(self) -> dict[str, str]:
        return {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(self.port)}
