"""Staff console at scale: the queue (one filter + a search) and a case page, p50/p95.

    nice -n 10 .venv/bin/python bench/web.py [--backend both|postgresql|sqlite]
        [--pg-cases 100000] [--sqlite-cases 20000] [--requests 200] [--direct]
        [--pg-admin postgresql://postgres@127.0.0.1:5432/test] [--keep] [--reuse-pg URL]
        [--reuse-sqlite FILE] [--only "queue+filter+search,case page"]
        [--corpora ../shared/corpora]

1. creates a fresh PostgreSQL database (``bench_web_<random>``, dropped at the end unless
   ``--keep``) and a SQLite file in a temporary folder, migrates them with the product's own
   Alembic upgrade (trigram search indexes included), and bulk-inserts realistic consultations
   (bench/web_data.py: 100,000 cases / ~300,000 turns on PostgreSQL, 20,000 on SQLite);
2. starts the console as it runs in production — `consult web` (uvicorn) in its own process —
   signs in with a one-time login link, and measures over HTTP, one request at a time:
   - ``queue+filter+search``: 相談一覧 with one filter (municipality, programme, assignee, 👎 or
     reason, on various tabs) and a search term (programme names, aspects officers ask about,
     other programme names, words of the questions; 3+ characters), target p95 <= 150 ms;
   - ``case page``: 相談詳細 of a random case, target p95 <= 100 ms;
   - for orientation: the landing page (no filter), a 2-character search, the 👎 list,
     集計 over 12 weeks and over everything;
3. prints p50 / p95 / max per scenario, the data sizes and the load average.
``--direct`` measures the same scenarios on the query layer (CaseStore), without HTTP.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.web_data import (ASPECTS, CORPORA, MUNICIPALITIES, STAFF, Generator,  # noqa: E402
                            load_vocabulary, write_postgres, write_sqlite)
from bot.cases.queue import QueueFilter  # noqa: E402
from bot.cases.store import CaseStore  # noqa: E402

TARGETS_MS = {"queue+filter+search": 150.0, "case page": 100.0}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class Scenario:
    name: str
    kind: str                   # queue | case | feedback | stats
    params: list[dict]          # the queue's query parameters, {"case": id}, {"page": n}, {"weeks": n}


def scenarios(vocab, n_cases: int, n: int, seed: int = 7) -> list[Scenario]:
    r = random.Random(seed)
    programmes = [p for p, _ in vocab.programmes]
    terms = programmes + list(ASPECTS) + vocab.topics[:80] + \
        [q[i:i + r.randint(4, 8)] for q, _, _ in vocab.faq for i in (2, 8)]
    terms = [t for t in terms if len(t) >= 3]
    filters = [
        lambda: {"municipality": r.choice(MUNICIPALITIES)},
        lambda: {"programme": r.choice(programmes)},
        lambda: {"assignee": r.choice(STAFF)},
        lambda: {"thumbs_down": "1"},
        lambda: {"reason": r.choice(["requested", "not_answered", "negative_feedback"])},
    ]
    tabs = ["needs_staff", "all", "resolved", "answered", "in_progress"]
    queue = [{"tab": r.choice(tabs), **r.choice(filters)(), "q": r.choice(terms)} for _ in range(n)]
    short = [{"tab": "all", "q": r.choice(["期限", "補助", "税", "協力", "認定", "派遣"])}
             for _ in range(max(10, n // 5))]
    return [
        Scenario("queue+filter+search", "queue", queue),
        Scenario("case page", "case", [{"case": r.randint(1, n_cases)} for _ in range(n)]),
        Scenario("queue (landing)", "queue", [{}] * max(10, n // 5)),
        Scenario("queue, search only", "queue",
                 [{"tab": "all", "q": r.choice(terms)} for _ in range(max(10, n // 5))]),
        Scenario("queue, 2-char search", "queue", short),
        Scenario("feedback list", "feedback", [{"page": r.randint(1, 5)} for _ in range(max(10, n // 10))]),
        Scenario("dashboard 12 weeks", "stats", [{"weeks": 12}] * 5),
        Scenario("dashboard all time", "stats", [{"weeks": 0}] * 3),
    ]


# ---- databases ----------------------------------------------------------------------------------

@contextmanager
def postgres_database(admin_url: str, keep: bool) -> Iterator[str]:
    import psycopg

    name = f"bench_web_{uuid.uuid4().hex[:10]}"
    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(url: str, backend: str, n_cases: int, vocab, progress=print) -> dict:
    store = CaseStore.from_url(url)   # Alembic upgrade to head: tables, indexes, search objects
    store.close()
    gen = Generator(vocab, datetime.now(timezone.utc))
    started = time.perf_counter()
    if backend == "postgresql":
        write_postgres(url, gen, n_cases, progress=progress)
    else:
        write_sqlite(url.split("///", 1)[1], gen, n_cases, progress=progress)
    sizes = gen.sizes
    return {"cases": sizes.cases, "turns": sizes.turns, "events": sizes.events,
            "text_chars": sizes.text_chars, "load_s": time.perf_counter() - started}


def database_size(url: str, backend: str) -> str:
    if backend == "sqlite":
        path = Path(url.split("///", 1)[1])
        total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return f"{total / 2**20:.0f} MiB (file)"
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        db = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        trgm = conn.execute("SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) FROM "
                            "pg_stat_user_indexes WHERE indexrelname LIKE '%trgm'").fetchone()[0]
    return f"{db / 2**20:.0f} MiB (database), trigram indexes {trgm / 2**20:.0f} MiB"


# ---- measuring ----------------------------------------------------------------------------------

def measure(fn: Callable[[str, dict], None], sc: Scenario, warmup: int = 3) -> list[float]:
    for p in sc.params[:warmup]:
        fn(sc.kind, p)
    times = []
    for p in sc.params:
        start = time.perf_counter()
        fn(sc.kind, p)
        times.append((time.perf_counter() - start) * 1000)
    return times


def direct_runner(store: CaseStore) -> Callable[[str, dict], None]:
    def run(kind: str, p: dict) -> None:
        if kind == "case":
            store.case_detail(p["case"])
        elif kind == "feedback":
            store.feedback_page(page=p["page"])
        elif kind == "stats":
            since = None if not p["weeks"] else datetime.now(timezone.utc) - timedelta(weeks=p["weeks"])
            store.stats(since=since)
        else:
            f, _ = QueueFilter.from_params(p)
            store.queue(f, me=STAFF[0])
            store.queue_options()
    return run


def report(title: str, results: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"  {'scenario':<24} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target")
    for name, times in results.items():
        target = TARGETS_MS.get(name)
        p95 = pct(times, 95)
        verdict = "" if target is None else (f"p95 <= {target:.0f}: " + ("met" if p95 <= target else "MISSED"))
        print(f"  {name:<24} {len(times):>4} {statistics.median(times):>8.1f} {p95:>8.1f} "
              f"{max(times):>8.1f}  {verdict}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_backend(backend: str, url: str, n_cases: int, args, vocab) -> None:
    reuse = bool(args.reuse_pg) if backend == "postgresql" else bool(args.reuse_sqlite)
    print(f"\n=== {backend}: " + (f"reusing {n_cases:,} generated cases" if reuse else
          f"generating {n_cases:,} cases ({'with' if vocab.corpora_used else 'WITHOUT'} "
          "the shared corpora)") + " ===")
    if not reuse:
        info = populate(url, backend, n_cases, vocab,
                        progress=lambda m: print(m, flush=True) if args.verbose else None)
        print(f"data: {info['cases']:,} cases, {info['turns']:,} turns, {info['events']:,} events, "
              f"{info['text_chars'] / 1e6:.1f} M characters of questions and answers; "
              f"bulk load {info['load_s']:.0f} s")
    print(f"size: {database_size(url, backend)}")
    plans = scenarios(vocab, n_cases, args.requests)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        plans = [sc for sc in plans if sc.name in wanted]
    results: dict[str, list[float]] = {}
    print(f"load average before: {load_average()}")
    if args.direct:
        store = CaseStore.from_url(url)
        try:
            runner = direct_runner(store)
            for sc in plans:
                results[sc.name] = measure(runner, sc)
        finally:
            store.close()
        report(f"{backend}, query layer (no HTTP), {n_cases:,} cases", results)
    else:
        from bench.web_http import ConsoleServer, http_runner

        with ConsoleServer(url, Path(args.tmp)) as server:
            runner = http_runner(server)
            for sc in plans:
                results[sc.name] = measure(runner, sc)
        report(f"{backend}, over HTTP (uvicorn, one request at a time), {n_cases:,} cases", results)
    print(f"load average after: {load_average()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["both", "postgresql", "sqlite"], default="both")
    ap.add_argument("--pg-cases", type=int, default=100_000)
    ap.add_argument("--sqlite-cases", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--direct", action="store_true", help="measure the query layer, not HTTP")
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--keep", action="store_true", help="keep the generated PostgreSQL database")
    ap.add_argument("--reuse-pg", default=None, help="measure an existing bench database (URL)")
    ap.add_argument("--reuse-sqlite", type=Path, default=None,
                    help="measure an existing SQLite bench file (made by an earlier run)")
    ap.add_argument("--only", default="", help="comma-separated scenario names to run (default: all)")
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    vocab = load_vocabulary(args.corpora)
    tmp = tempfile.mkdtemp(prefix="bench-web-")
    args.tmp = tmp
    try:
        if args.backend in ("both", "postgresql"):
            if args.reuse_pg:
                run_backend("postgresql", args.reuse_pg, args.pg_cases, args, vocab)
            else:
                with postgres_database(args.pg_admin, args.keep) as url:
                    run_backend("postgresql", url, args.pg_cases, args, vocab)
        if args.backend in ("both", "sqlite"):
            url = (f"sqlite:///{args.reuse_sqlite.resolve()}" if args.reuse_sqlite
                   else f"sqlite:///{tmp}/consult.sqlite3")
            run_backend("sqlite", url, args.sqlite_cases, args, vocab)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
