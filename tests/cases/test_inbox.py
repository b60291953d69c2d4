"""The durable inbox in the case store (SQLite and PostgreSQL): record once per key (also from
many threads at once), claim with a lease, fenced progress, backoff, dead owners, heartbeat."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from bot.cases.db import utcnow
from bot.cases.inbox import LeaseLost


def test_a_key_is_recorded_once_even_when_deliveries_race(store):
    keys = [f"slack:T1:msg:{i % 20}" for i in range(60)]          # every key three times

    def record(key):
        return key, store.inbox_record(key, "mention", {"text": key})

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(record, keys))
    created = [k for k, fresh in results if fresh]
    assert sorted(created) == sorted(set(keys))                   # one creator per key
    assert len(store.inbox_items()) == 20
    assert store.inbox_record(keys[0], "mention", {}) is False     # a later retry


def test_claims_are_exclusive_oldest_first_and_leased(store):
    for i in range(6):
        store.inbox_record(f"k{i}", "mention", {"i": i})
    claimed: list[int] = []
    lock = threading.Lock()

    def worker(name):
        while (item := store.inbox_claim(name, lease_s=60)) is not None:
            with lock:
                claimed.append(item.payload["i"])

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == list(range(6))                      # each exactly once
    assert store.inbox_claim("late", lease_s=60) is None          # all leased


def test_an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_off(store):
    store.inbox_record("k1", "mention", {})
    first = store.inbox_claim("A", lease_s=0.3)
    assert store.inbox_claim("B", lease_s=60) is None
    time.sleep(0.5)
    second = store.inbox_claim("B", lease_s=60)
    assert second.id == first.id and second.attempts == 2
    with pytest.raises(LeaseLost):
        store.inbox_progress(first.id, "A", {"posted": ["1.0"]})
    with pytest.raises(LeaseLost):
        store.inbox_finish(first.id, "A", "posted")
    store.inbox_progress(second.id, "B", {"posted": ["2.0"]}, case_id=7)
    store.inbox_finish(second.id, "B", "posted")
    [item] = store.inbox_items()
    assert item.state == "posted" and item.progress == {"posted": ["2.0"]} and item.case_id == 7


def test_the_heartbeat_keeps_a_lease_and_a_dead_owner_is_released(store):
    store.inbox_record("k1", "mention", {})
    item = store.inbox_claim("A", lease_s=0.5)
    assert store.inbox_heartbeat("A", "host", 1, utcnow(), lease_s=60) == 1
    time.sleep(0.7)
    assert store.inbox_claim("B", lease_s=60) is None             # renewed by the heartbeat
    assert store.inbox_lease_owners() == ["A"]
    assert store.inbox_release_owner("A") == 1                    # A's process is gone
    again = store.inbox_claim("B", lease_s=60)
    assert again.id == item.id and again.attempts == 2


def test_a_deferred_item_waits_for_its_retry_time(store):
    store.inbox_record("k1", "mention", {})
    item = store.inbox_claim("A", lease_s=60)
    now = utcnow()
    store.inbox_defer(item.id, "A", retry_at=now + timedelta(seconds=0.6), error="http_500",
                      first_failure_at=now, progress={"failures": 1})
    assert store.inbox_claim("A", lease_s=60) is None
    time.sleep(0.8)
    again = store.inbox_claim("A", lease_s=60)
    assert again.last_error == "http_500" and again.progress == {"failures": 1}
    assert again.first_failure_at is not None and again.attempts == 2
    assert store.inbox_stats().by_state == {"working": 1}


def test_an_interrupted_item_is_handed_back_by_its_owner_only(store):
    store.inbox_record("k1", "mention", {})
    item = store.inbox_claim("A", lease_s=0.3)
    assert store.inbox_release(item.id, "B", 1, retry_at=utcnow(), error="x") is False  # not B's
    time.sleep(0.5)                           # the lease ran out (the database was down) ...
    again = store.inbox_claim("A", lease_s=60)         # ... and this process claimed it again
    assert again.attempts == 2
    assert store.inbox_release(item.id, "A", 1, retry_at=utcnow(), error="x") is False  # stale
    later = utcnow() + timedelta(seconds=30)
    assert store.inbox_release(item.id, "A", 2, retry_at=later, error="StoreUnavailable") is True
    assert store.inbox_claim("B", lease_s=60) is None                   # not due yet
    assert store.inbox_release(item.id, "A", 2, retry_at=utcnow(), error="x") is False  # once
    [pending] = store.inbox_items()
    assert pending.state == "pending" and pending.last_error == "StoreUnavailable"


def test_group_commit_writes_each_delivery_once_and_wakes_only_its_callers():
    """50 acknowledgements at once: a few transactions, each caller told its own outcome, a
    failed transaction raised to exactly the callers it held (the next leader carries on)."""
    from bot.cases.inbox import GroupCommit

    batches: list[list[str]] = []
    lock = threading.Lock()

    def write(entries):
        time.sleep(0.02)                              # one transaction
        keys = [k for k, _, _ in entries]
        with lock:
            batches.append(keys)
            if len(batches) == 2:
                raise RuntimeError("disk I/O error")
        return [int(k) % 2 == 0 for k in keys]

    commit = GroupCommit(write)

    def record(i):
        try:
            return i, commit.record(str(i), "mention", {})
        except RuntimeError:
            return i, "failed"

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = dict(pool.map(record, range(50)))
    written = [k for b in batches for k in b]
    assert sorted(written, key=int) == [str(i) for i in range(50)]        # each once
    assert len(batches) < 25                                              # grouped
    failed = {i for i, r in results.items() if r == "failed"}
    assert failed == {int(k) for k in batches[1]}                         # that batch only
    assert all(r == (i % 2 == 0) for i, r in results.items() if i not in failed)
    assert commit.record("100", "mention", {}) is True                    # still working
