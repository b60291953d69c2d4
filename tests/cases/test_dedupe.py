"""Delivery dedupe in the database: works across store instances (replicas) and expires."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from bot.cases.store import CaseStore


def test_claim_once(store):
    assert store.claim_delivery("Ev001") is True
    assert store.claim_delivery("Ev001") is False
    assert store.claim_delivery("Ev002") is True


def test_claims_are_shared_between_replicas(store, db_settings):
    other = CaseStore.from_settings(db_settings)  # a second replica: its own engine and pool
    try:
        assert store.claim_delivery("client-msg-1") is True
        assert other.claim_delivery("client-msg-1") is False
    finally:
        other.close()


def test_concurrent_claims_of_one_key_give_one_winner(store, db_settings):
    replicas = [store] + [CaseStore.from_settings(db_settings, upgrade=False) for _ in range(3)]
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def claim(i):
        barrier.wait()
        ok = replicas[i % len(replicas)].claim_delivery("Ev-race")
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in replicas[1:]:
        r.close()
    assert sorted(results) == [False] * 11 + [True]


def test_expired_claims_can_be_claimed_again_and_purged(db_settings):
    now = [datetime(2026, 4, 1, tzinfo=timezone.utc)]
    store = CaseStore.from_settings(db_settings, clock=lambda: now[0])  # time passes, no sleeping
    try:
        assert store.claim_delivery("Ev-old", ttl_s=60) is True
        now[0] += timedelta(seconds=30)
        assert store.claim_delivery("Ev-old", ttl_s=60) is False
        now[0] += timedelta(seconds=31)
        assert store.claim_delivery("Ev-old", ttl_s=60) is True
        assert store.claim_delivery("Ev-other", ttl_s=10) is True
        now[0] += timedelta(seconds=11)
        assert store.purge_deliveries() == 1   # Ev-other expired, Ev-old still live
        assert store.claim_delivery("Ev-old", ttl_s=60) is False
    finally:
        store.close()


def test_very_long_keys_are_hashed(store):
    key = "x" * 1000
    assert store.claim_delivery(key) is True
    assert store.claim_delivery(key) is False
    assert store.claim_delivery(key[:-1] + "y") is True


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_under_the_data_dir(make_settings):
    from sqlalchemy import text

    from bot.cases.db import DEFAULT_SQLITE_BUSY_TIMEOUT_S

    settings = make_settings()
    store = CaseStore.from_settings(settings)
    try:
        assert store.dialect == "sqlite"
        assert store.engine.url.database == str((settings.data_dir / "consult.sqlite3").resolve())
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == \
                DEFAULT_SQLITE_BUSY_TIMEOUT_S * 1000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        store.close()


def test_postgres_urls_use_psycopg_3():
    from bot.cases.db import normalise_url

    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
