"""The durable inbox: Slack deliveries recorded before they are acknowledged, then worked off.

Life of an item (``consult_inbox``)::

    record (before the ack; a retried delivery finds its key and adds nothing)
      -> pending --claim (lease)--> working --progress saved step by step-->
         posted      the answer (or the polite error) is in the thread
         handed_off  Slack kept refusing it: the case went to staff (delivery_failed)
         ignored     not for the bot after all (e.g. a thread it never answered)
         duplicate   another replica answered it while the database was down
      working --posting failed--> pending again after a backoff (``next_attempt_at``)

Claims take the oldest due item whose lease is free or expired (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so replicas never wait on each other; SQLite: ``BEGIN IMMEDIATE`` serialises them).
A worker renews the leases it holds with its heartbeat (``consult_replicas``); every later write
is fenced by the lease owner, so a replica that lost its lease cannot overwrite the new owner's
work. A replica that died leaves its leases to expire — or, on the same host, to be released at
once when its pid is gone (a restarted ``consult serve`` resumes its own work immediately).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.cases.lifecycle import delivery_key
from bot.cases.models import InboxRow, ReplicaRow
from bot.errors import ConsultError

log = logging.getLogger("bot.cases.store")


class InboxState(StrEnum):
    PENDING = "pending"
    WORKING = "working"
    POSTED = "posted"
    HANDED_OFF = "handed_off"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


OPEN_STATES = (InboxState.PENDING.value, InboxState.WORKING.value)
DONE_STATES = frozenset({InboxState.POSTED, InboxState.HANDED_OFF, InboxState.IGNORED,
                         InboxState.DUPLICATE})


class LeaseLost(ConsultError):
    """Another replica owns this delivery now (our lease expired); stop working on it."""


@dataclass(frozen=True)
class InboxItem:
    id: int
    key: str
    kind: str
    payload: Mapping[str, Any]
    state: str
    attempts: int                      # claims so far (1 on the first claim)
    progress: Mapping[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    last_error: str | None = None
    first_failure_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class InboxStats:
    by_state: Mapping[str, int]
    oldest_open_at: datetime | None      # the oldest pending/working delivery, if any


def _item(row: InboxRow) -> InboxItem:
    return InboxItem(id=row.id, key=row.key, kind=row.kind, payload=dict(row.payload or {}),
                     state=row.state, attempts=row.attempts, progress=dict(row.progress or {}),
                     case_id=row.case_id, last_error=row.last_error,
                     first_failure_at=row.first_failure_at, created_at=row.created_at)


# ---- functions over an open session -----------------------------------------------------------

def record(s: Session, key: str, kind: str, payload: dict, now: datetime) -> bool:
    """Insert a pending item; False when the key is already there (a retried delivery)."""
    values = dict(key=delivery_key(key), kind=kind[:16], payload=payload,
                  state=InboxState.PENDING.value, attempts=0, next_attempt_at=now,
                  created_at=now, updated_at=now)
    insert = pg_insert if s.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (insert(InboxRow).values(**values).on_conflict_do_nothing(index_elements=["key"])
            .returning(InboxRow.id))
    return s.execute(stmt).scalar_one_or_none() is not None


def claim_next(s: Session, owner: str, lease_s: float, now: datetime) -> InboxItem | None:
    stmt = (select(InboxRow)
            .where(InboxRow.state.in_(OPEN_STATES), InboxRow.next_attempt_at <= now,
                   or_(InboxRow.lease_until.is_(None), InboxRow.lease_until < now))
            .order_by(InboxRow.next_attempt_at, InboxRow.id).limit(1)
            .with_for_update(skip_locked=True))
    row = s.scalars(stmt).first()
    if row is None:
        return None
    row.state = InboxState.WORKING.value
    row.lease_owner = owner
    row.lease_until = now + timedelta(seconds=lease_s)
    row.attempts = (row.attempts or 0) + 1
    row.updated_at = now
    s.flush()
    return _item(row)


def _fenced(s: Session, item_id: int, owner: str, now: datetime, **values) -> None:
    result = s.execute(update(InboxRow)
                       .where(InboxRow.id == item_id, InboxRow.lease_owner == owner,
                              InboxRow.state == InboxState.WORKING.value)
                       .values(updated_at=now, **values)
                       .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise LeaseLost(f"inbox item {item_id} is no longer leased by this process")


def heartbeat(s: Session, owner: str, host: str, pid: int, started_at: datetime,
              lease_s: float, now: datetime) -> int:
    """The replica's heartbeat (a real write: it also proves the database is writable) and the
    renewal of every lease it holds. Returns how many leases were renewed."""
    row = s.get(ReplicaRow, owner)
    if row is None:
        s.add(ReplicaRow(owner=owner, host=host[:128], pid=pid, started_at=started_at,
                         seen_at=now))
    else:
        row.seen_at = now
    result = s.execute(update(InboxRow)
                       .where(InboxRow.lease_owner == owner,
                              InboxRow.state == InboxState.WORKING.value)
                       .values(lease_until=now + timedelta(seconds=lease_s))
                       .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def lease_owners(s: Session, now: datetime) -> list[str]:
    """Owners holding live leases (to find the ones whose process is gone)."""
    stmt = (select(InboxRow.lease_owner).distinct()
            .where(InboxRow.state == InboxState.WORKING.value, InboxRow.lease_until >= now))
    return [o for o in s.scalars(stmt) if o]


def release_owner(s: Session, owner: str, now: datetime) -> int:
    """Free the leases of a dead owner so they are claimed again at once."""
    result = s.execute(update(InboxRow)
                       .where(InboxRow.lease_owner == owner,
                              InboxRow.state == InboxState.WORKING.value)
                       .values(lease_until=None, state=InboxState.PENDING.value, updated_at=now)
                       .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def release_item(s: Session, item_id: int, owner: str, attempt: int, retry_at: datetime,
                 error: str, now: datetime) -> bool:
    """Give back one item this owner could not finish (its worker was interrupted): due again at
    ``retry_at``, claimable by any replica. False when that claim (``attempt``) is no longer
    held — e.g. its lease ran out during the outage and another worker, maybe of this very
    process, claimed it again."""
    result = s.execute(update(InboxRow)
                       .where(InboxRow.id == item_id, InboxRow.lease_owner == owner,
                              InboxRow.attempts == attempt,
                              InboxRow.state == InboxState.WORKING.value)
                       .values(state=InboxState.PENDING.value, lease_until=None, lease_owner=None,
                               next_attempt_at=retry_at, last_error=error[:255], updated_at=now)
                       .execution_options(synchronize_session=False))
    return result.rowcount == 1


def stats(s: Session) -> InboxStats:
    counts = {state: int(n) for state, n in
              s.execute(select(InboxRow.state, func.count()).group_by(InboxRow.state))}
    oldest = s.scalar(select(func.min(InboxRow.created_at))
                      .where(InboxRow.state.in_(OPEN_STATES)))
    return InboxStats(by_state=counts, oldest_open_at=oldest)


def record_many(s: Session, entries: list[tuple[str, str, dict]], now: datetime) -> list[bool]:
    return [record(s, key, kind, payload, now) for key, kind, payload in entries]


class _Slot:
    __slots__ = ("entry", "done", "result", "error", "wake")

    def __init__(self, entry: tuple[str, str, dict]):
        self.entry = entry
        self.done = False
        self.result = False
        self.error: BaseException | None = None
        self.wake = threading.Event()      # set when written, or when it is to lead the next write


class GroupCommit:
    """Deliveries arriving together are recorded in one transaction (group commit).

    The first caller becomes the leader and writes everything queued so far; callers arriving
    meanwhile wait and are written by the next leader. Each caller still returns only after its
    own row is committed (the delivery is durable before it is acknowledged), but a burst of 50
    needs a handful of transactions instead of 50 — on SQLite, one writer at a time.

    Each waiting caller sleeps on its own event: a finished write wakes exactly the callers it
    wrote, and the first of those still queued becomes the next leader (no thundering herd of
    every waiting acknowledgement after each write)."""

    def __init__(self, write: Callable[[list[tuple[str, str, dict]]], list[bool]]):
        self._write = write
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._flushing = False

    def record(self, key: str, kind: str, payload: dict) -> bool:
        slot = _Slot((key, kind, payload))
        with self._lock:
            self._queue.append(slot)
            lead = not self._flushing
            if lead:
                self._flushing = True
        if not lead:
            slot.wake.wait()
            if slot.done:
                return self._outcome(slot)
        # this caller leads: write everything queued so far (its own slot included)
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            results = self._write([s.entry for s in batch])
            for s, result in zip(batch, results):
                s.result = result
        except BaseException as exc:
            for s in batch:
                s.error = exc
        finally:
            with self._lock:
                for s in batch:
                    s.done = True
                successor = self._queue[0] if self._queue else None
                self._flushing = successor is not None
            for s in batch:
                s.wake.set()
            if successor is not None:
                successor.wake.set()        # not done: it leads the next write
        return self._outcome(slot)

    @staticmethod
    def _outcome(slot: _Slot) -> bool:
        if slot.error is not None:
            raise slot.error
        return slot.result


# ---- the store's methods (mixed into CaseStore; one transaction each) ---------------------------

class InboxActions:
    """Needs ``_run(fn, write=...)`` from the store."""

    _run: Callable

    _group_commit: GroupCommit

    def inbox_record(self, key: str, kind: str, payload: dict) -> bool:
        """Record a delivery before it is acknowledged (group commit with the deliveries
        arriving at the same moment). False: its key is already recorded."""
        return self._group_commit.record(key, kind, payload)

    def _record_entries(self, entries: list[tuple[str, str, dict]]) -> list[bool]:
        """One transaction for a group of deliveries; it goes before queued background writes
        (an acknowledgement waits for it)."""
        return self._run(lambda s, now: record_many(s, entries, now), urgent=True)

    def inbox_claim(self, owner: str, lease_s: float) -> InboxItem | None:
        """Lease the oldest due item (None when there is nothing to do)."""
        return self._run(lambda s, now: claim_next(s, owner, lease_s, now))

    def inbox_progress(self, item_id: int, owner: str, progress: dict, *,
                       case_id: int | None = None) -> None:
        """Save what is done so far (rendered messages, posted ts, ...). Raises LeaseLost."""
        values: dict[str, Any] = {"progress": progress}
        if case_id is not None:
            values["case_id"] = case_id
        self._run(lambda s, now: _fenced(s, item_id, owner, now, **values))

    def inbox_finish(self, item_id: int, owner: str, state: str, *, progress: dict | None = None,
                     case_id: int | None = None, error: str | None = None,
                     payload: dict | None = None) -> None:
        """End the item (posted / handed_off / ignored / duplicate). Raises LeaseLost.
        ``payload``: what the delivery keeps once done (its question masked)."""
        assert state in DONE_STATES, state
        values: dict[str, Any] = {"state": str(state), "lease_until": None}
        if payload is not None:
            values["payload"] = payload
        if progress is not None:
            values["progress"] = progress
        if case_id is not None:
            values["case_id"] = case_id
        if error is not None:
            values["last_error"] = error[:255]

        def work(s: Session, now: datetime) -> None:
            _fenced(s, item_id, owner, now, finished_at=now, **values)

        self._run(work)

    def inbox_defer(self, item_id: int, owner: str, *, retry_at: datetime, error: str,
                    first_failure_at: datetime, progress: dict | None = None) -> None:
        """Posting failed: give the item back, due again at ``retry_at``. Raises LeaseLost."""
        values: dict[str, Any] = {"state": InboxState.PENDING.value, "lease_until": None,
                                  "lease_owner": None, "next_attempt_at": retry_at,
                                  "last_error": error[:255], "first_failure_at": first_failure_at}
        if progress is not None:
            values["progress"] = progress

        def work(s: Session, now: datetime) -> None:
            result = s.execute(update(InboxRow)
                               .where(InboxRow.id == item_id, InboxRow.lease_owner == owner,
                                      InboxRow.state == InboxState.WORKING.value)
                               .values(updated_at=now, **values)
                               .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                raise LeaseLost(f"inbox item {item_id} is no longer leased by this process")

        self._run(work)

    def inbox_release(self, item_id: int, owner: str, attempt: int, *, retry_at: datetime,
                      error: str) -> bool:
        """Hand back the claim ``attempt`` of an item whose worker was interrupted (see
        `release_item`)."""
        return self._run(lambda s, now: release_item(s, item_id, owner, attempt, retry_at, error,
                                                     now))

    def inbox_heartbeat(self, owner: str, host: str, pid: int, started_at: datetime,
                        lease_s: float) -> int:
        return self._run(lambda s, now: heartbeat(s, owner, host, pid, started_at, lease_s, now))

    def inbox_lease_owners(self) -> list[str]:
        return self._run(lambda s, now: lease_owners(s, now), write=False)

    def inbox_release_owner(self, owner: str) -> int:
        return self._run(lambda s, now: release_owner(s, owner, now))

    def inbox_stats(self) -> InboxStats:
        return self._run(lambda s, now: stats(s), write=False)

    def inbox_items(self, keys: Iterable[str] | None = None) -> list[InboxItem]:
        """Items (all, or those of the given delivery keys), oldest first — for checks and tools."""
        wanted = None if keys is None else [delivery_key(k) for k in keys]

        def work(s: Session, now: datetime) -> list[InboxItem]:
            stmt = select(InboxRow).order_by(InboxRow.id)
            if wanted is not None:
                stmt = stmt.where(InboxRow.key.in_(wanted))
            return [_item(r) for r in s.scalars(stmt)]

        return self._run(work, write=False)
