"""Delivery fault scenarios (issue 13 items 1–3 and 7): the durable inbox against real
`consult serve --http` processes, the Slack stand-in, SQLite and PostgreSQL.

Every scenario reports: deliveries sent, answered, handed to staff, lost, duplicated (extra
replies in a thread), plus what it is about (acks under the burst, staff cards, spool drained…).
A scenario passes with 0 lost and 0 duplicated (and what else it names).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ._slack import Rig, ack_figures, answer_latencies

KILLS = [f"kill_{when}_{db}_{n}" for db in ("sqlite", "postgresql") for n in (1, 2)
         for when in ("acks", "answers")]
NAMES = KILLS + ["post_refused_500", "post_refused_429",
         "post_refused_connection", "post_refused_not_in_channel", "lost_response",
         "sqlite_readonly", "postgresql_refused_retry_elsewhere", "database_recreated",
         "links_and_reaction"]


def add_arguments(parser) -> None:
    parser.add_argument("--delivery-n", type=int, default=50, help="deliveries in a burst")
    parser.add_argument("--delivery-scenario", nargs="*", default=[],
                        help="run only delivery scenarios whose name contains one of these")
    parser.add_argument("--delivery-timeout", type=float, default=300.0,
                        help="seconds a delivery scenario waits for answers")
    parser.add_argument("--delivery-cache", default=None,
                        help="data dir with the ingested knowledge base (reused between runs)")
    parser.add_argument("--delivery-keep", action="store_true",
                        help="keep each scenario's scratch folder")


def run(args) -> dict:
    args.n = 20 if args.quick else args.delivery_n
    args.timeout = args.delivery_timeout
    args.keep = args.delivery_keep
    args.cache = args.delivery_cache or str(Path(tempfile.gettempdir()) / "faults-delivery-index")
    args.scenario = args.delivery_scenario
    wanted = [n for n in NAMES if not args.scenario or any(s in n for s in args.scenario)]
    results = []
    for name in wanted:
        started = time.monotonic()
        print(f"  · {name} …", flush=True)
        try:
            result = SCENARIOS[name](args)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result = {"name": name, **result, "seconds": round(time.monotonic() - started, 1)}
        print(f"    {result}", flush=True)
        results.append(result)
    return {"scenarios": results, "passed": sum(1 for r in results if r.get("ok")),
            "failed": sum(1 for r in results if not r.get("ok"))}


def _wait(busy, timeout: float, step: float = 0.25) -> None:
    """Sleep while busy() is true, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and busy():
        time.sleep(step)


def _all_replied(rig, payloads, timeout: float) -> None:
    _wait(lambda: not all(rig.replies(p) for p in payloads), timeout)


def _after_outage(rig, payloads, results, n: int, **extra) -> dict:
    """The database is back and no new question comes: the running process replays the spool,
    nothing stays open, every delivery was answered and written once. The scenario's figures."""
    spool = rig.data / "spool" / "pending_turns.jsonl"
    _wait(spool.exists, 60)
    time.sleep(1.0)
    still_open = _open_after_recovery(rig)
    outcome = rig.outcome(payloads)
    return {**outcome.as_dict(), **ack_figures(results), **extra,
            "spool_drained": not spool.exists(), "inbox_open_after": still_open,
            "ok": _ok(outcome, all_answered=outcome.answered == n, drained=not spool.exists(),
                      written=outcome.details["consultations"] == n, none_open=not still_open)}


def _open_after_recovery(rig, timeout: float = 30.0) -> int:
    """Inbox items still pending/working once the database is back (an item interrupted by the
    outage must be handed back and finished by the running process, not wait for a restart)."""
    _wait(rig._open_items, timeout)
    return rig._open_items()


def _ok(outcome, **extra_conditions) -> bool:
    return outcome.lost == 0 and outcome.duplicated == 0 and outcome.turns_extra == 0 and \
        all(extra_conditions.values())


# ---------------------------------------------------------------- SIGKILL in the middle of a burst
def kill_burst(args, database: str, replicas: int, when: str) -> dict:
    """SIGKILL replica 0 while the burst is being acknowledged (`when="acks"`: once half of it
    is acked) or worked off (`when="answers"`: once a fifth is answered); restart it. Every
    acknowledged delivery must be in the inbox at the kill and answered without any retry;
    then Slack's retries (the unacknowledged ones, and all of them again to the last replica)
    must add nothing."""
    rig = Rig(args, f"kill-{database}-{replicas}-{when}", database=database,
              env={"CONSULT_INBOX_LEASE_S": "10"})
    try:
        rig.start(replicas)
        rig.warm_up()
        payloads = rig.payloads(args.n, "K")
        state = {"acked": 0, "killed": False}
        lock = threading.Lock()

        def kill_once() -> None:
            with lock:
                if state["killed"]:
                    return
                state["killed"] = True
            rig.kill(0)

        def on_ack(ok: bool) -> None:
            with lock:
                state["acked"] += ok
                due = when == "acks" and state["acked"] >= args.n // 2
            if due:
                kill_once()

        def watch_answers() -> None:
            deadline = time.monotonic() + args.timeout
            while not state["killed"] and time.monotonic() < deadline:
                if sum(1 for p in payloads if rig.replies(p)) >= max(1, args.n // 5):
                    kill_once()
                time.sleep(0.05)

        watcher = threading.Thread(target=watch_answers, daemon=True)
        if when == "answers":
            watcher.start()
        results = rig.send(payloads, on_ack=on_ack)
        if when == "answers":
            watcher.join()
        kill_once()
        answered_at_kill = sum(1 for p in payloads if rig.replies(p))
        acked = [p for p, (_, e) in zip(payloads, results) if e is not None]
        recorded = {i.payload.get("ts") for i in rig.items()}
        acked_not_recorded = sum(1 for p in acked if p["event"]["ts"] not in recorded)
        rig.restart(0)
        rig.wait_settled(acked, timeout=args.timeout, quiet=1.0)
        acked_unanswered = sum(1 for p in acked if not rig.replies(p))
        # Slack's retries: the unacknowledged ones, then all of them once more elsewhere
        missing = [p for p, (_, e) in zip(payloads, results) if e is None]
        if missing:
            rig.send(missing, retry=1)
        rig.send(payloads, replicas=[replicas - 1], retry=2)
        rig.wait_settled(payloads, timeout=args.timeout)
        outcome = rig.outcome(payloads)
        figures = {**outcome.as_dict(), **ack_figures(results), **answer_latencies(
            rig, payloads, results), "answered_before_kill": answered_at_kill,
            "acked_not_recorded": acked_not_recorded,
            "acked_unanswered_without_retry": acked_unanswered, "not_acked_resent": len(missing)}
        return {**figures, "ok": _ok(outcome, all_answered=outcome.answered == args.n,
                                     recorded=acked_not_recorded == 0,
                                     resumed=acked_unanswered == 0)}
    finally:
        rig.close()


# ---------------------------------------------------------------- Slack refusing the answer
def post_refused(args, failure: str) -> dict:
    n = max(5, args.n // 5)
    rig = Rig(args, f"refused-{failure}", env={"CONSULT_DELIVERY_RETRY_S": "6"})
    try:
        rig.start(1)
        rig.warm_up()
        payloads = rig.payloads(n, "R")
        channels = {p["event"]["channel"] for p in payloads}
        from tests.standins.slack_api import ALWAYS

        for channel in channels:
            if failure == "500":
                rig.slack.fail("chat.postMessage", ALWAYS, http_status=500, channel=channel)
            elif failure == "connection":
                rig.slack.drop("chat.postMessage", ALWAYS, channel=channel)
            elif failure == "not_in_channel":
                rig.slack.fail("chat.postMessage", ALWAYS, error="not_in_channel",
                               channel=channel)
        if failure == "429":                     # workspace-wide: the staff card is refused too
            rig.slack.rate_limit("chat.postMessage", ALWAYS, retry_after=1)
        results = rig.send(payloads)
        _wait(rig._open_items, args.timeout, step=0.5)
        rig.slack.clear_faults()
        time.sleep(2.0)                          # nothing may be posted late either
        outcome = rig.outcome(payloads)
        cards = [c for c in rig.slack.ok_calls("chat.postMessage")
                 if c.params.get("channel") == "CSTAFF"]
        refused = [c for c in rig.slack.calls("chat.postMessage")
                   if c.params.get("channel") in channels]
        staff_told = len(cards)
        figures = {**outcome.as_dict(), **ack_figures(results), "staff_cards": staff_told,
                   "post_attempts": len(refused)}
        expected_cards = 0 if failure == "429" else n      # 429: the console lists them
        return {**figures, "ok": _ok(outcome, all_handed=outcome.handed_to_staff == n,
                                     cards=staff_told >= expected_cards)}
    finally:
        rig.close()


# ---------------------------------------------------------------- response lost after storing
def lost_response(args) -> dict:
    n = max(10, args.n // 2)
    rig = Rig(args, "lost-response")
    try:
        rig.start(1)
        rig.warm_up()
        rig.slack.drop("chat.postMessage", n, after_storing=True)
        payloads = rig.payloads(n, "L")
        results = rig.send(payloads)
        rig.wait_settled(payloads, timeout=args.timeout)
        outcome = rig.outcome(payloads)
        dropped = sum(1 for c in rig.slack.calls("chat.postMessage") if c.status == 0)
        return {**outcome.as_dict(), **ack_figures(results), "responses_lost": dropped,
                "ok": _ok(outcome, all_answered=outcome.answered == n, dropped=dropped > 0)}
    finally:
        rig.close()


# ---------------------------------------------------------------- SQLite read-only, then writable
def sqlite_readonly(args) -> dict:
    if shutil.which("chattr") is None:
        return {"ok": True, "skipped": "chattr not available"}
    n = 10
    rig = Rig(args, "sqlite-ro", env={"CONSULT_INBOX_LEASE_S": "3"})
    db = rig.data / "consult.sqlite3"
    files = [db, db.with_name(db.name + "-wal")]   # not -shm: it is memory-mapped
    try:
        rig.start(1)
        rig.warm_up()
        for f in files:
            subprocess.run(["chattr", "+i", str(f)], check=True)
        payloads = rig.payloads(n, "O")
        results = rig.send(payloads)
        _all_replied(rig, payloads, args.timeout)
        spool = rig.data / "spool" / "pending_turns.jsonl"
        spooled = sum(1 for _ in spool.open()) if spool.exists() else 0
        for f in files:
            subprocess.run(["chattr", "-i", str(f)], check=True)
        figures = _after_outage(rig, payloads, results, n, spooled=spooled)
        log = rig.replicas[0].log.read_text(encoding="utf-8")
        return {**figures, "tracebacks": log.count("Traceback")}
    finally:
        for f in files:
            subprocess.run(["chattr", "-i", str(f)], check=False)
        rig.close()


# ---------------------------------------------------------------- PostgreSQL refusing connections
def postgresql_refused_retry_elsewhere(args) -> dict:
    n = 10
    rig = Rig(args, "pg-refused", database="postgresql", proxy=True,
              env={"CONSULT_INBOX_LEASE_S": "3"})
    try:
        rig.start(2)
        rig.warm_up()
        rig.proxy.stop()                          # PostgreSQL refuses connections
        payloads = rig.payloads(n, "P")
        results = rig.send(payloads, replicas=[0])
        retries = rig.send(payloads, replicas=[1], retry=1)     # Slack's retry, other replica
        _all_replied(rig, payloads, args.timeout)
        time.sleep(2.0)
        rig.proxy.start()
        return _after_outage(rig, payloads, results, n,
                             retry_ack_p99_ms=ack_figures(retries)["ack_p99_ms"])
    finally:
        rig.close()


# ---------------------------------------------------------------- database re-created empty
def database_recreated(args) -> dict:
    n = 10
    rig = Rig(args, "recreated", database="postgresql", proxy=True,
              env={"CONSULT_INBOX_LEASE_S": "3"})
    try:
        rig.start(1)
        rig.warm_up()
        rig.proxy.stop()
        payloads = rig.payloads(n, "E")
        results = rig.send(payloads)
        _all_replied(rig, payloads, args.timeout)
        rig._pg(f'DROP SCHEMA "{rig.schema}" CASCADE')          # re-created empty
        rig._pg(f'CREATE SCHEMA "{rig.schema}"')
        rig.proxy.start()
        return _after_outage(rig, payloads, results, n)
    finally:
        rig.close()


# ---------------------------------------------------------------- links and the 👀 reaction
def links_and_reaction(args) -> dict:
    from tests.standins.openai_server import OpenAIStandIn, Reply

    n = max(10, args.n // 5)
    with OpenAIStandIn(model="faults-chat") as llm:
        llm.responder = lambda body: Reply(
            "定住に向けた支援があります[1]。申請は[公式サイト](https://evil.example/login)、"
            "<https://evil.example/x|こちら> または https://evil.example/y から。")
        rig = Rig(args, "links", env={"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk",
                                      "CONSULT_LLM_MODEL": "faults-chat"})
        try:
            rig.start(1)
            rig.warm_up()
            payloads = rig.payloads(n, "N")
            results = rig.send(payloads)
            rig.send(payloads, retry=1)
            rig.send(payloads, retry=2)
            rig.wait_settled(payloads, timeout=args.timeout)
            outcome = rig.outcome(payloads)
            finals = [m for p in payloads for m in rig.replies(p)]
            leaked = sum(1 for m in finals if "evil.example" in str(m.get("blocks")) or
                         "evil.example" in (m.get("text") or ""))
            drafts = "".join(str(c.params.get("markdown_text") or c.params.get("chunks") or "")
                             for c in rig.slack.calls() if c.method.endswith("Stream"))
            reactions = [c for c in rig.slack.calls("reactions.add")
                         if c.params.get("timestamp") in {p["event"]["ts"] for p in payloads}]
            return {**outcome.as_dict(), **ack_figures(results),
                    "answers_with_a_foreign_link": leaked,
                    "drafts_with_a_link": int("https://evil" in drafts or "](" in drafts),
                    "reactions_added": len(reactions), "deliveries_incl_retries": 3 * n,
                    "ok": _ok(outcome, all_answered=outcome.answered == n, no_leak=leaked == 0,
                              once=len(reactions) == n)}
        finally:
            rig.close()


SCENARIOS = {
    **{name: (lambda a, name=name: kill_burst(a, name.split("_")[2], int(name.split("_")[3]),
                                              name.split("_")[1])) for name in KILLS},
    "post_refused_500": lambda a: post_refused(a, "500"),
    "post_refused_429": lambda a: post_refused(a, "429"),
    "post_refused_connection": lambda a: post_refused(a, "connection"),
    "post_refused_not_in_channel": lambda a: post_refused(a, "not_in_channel"),
    "lost_response": lost_response,
    "sqlite_readonly": sqlite_readonly,
    "postgresql_refused_retry_elsewhere": postgresql_refused_retry_elsewhere,
    "database_recreated": database_recreated,
    "links_and_reaction": links_and_reaction,
}
