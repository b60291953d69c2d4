"""The durable inbox on the Slack side: record before the ack, work off with claims and leases.

- `Inbox.middleware` is a Bolt global middleware (transport-agnostic: it runs inside
  `app.dispatch`, after Bolt verified the signature, before any listener acks). A delivery that
  asks the bot something (`incoming.classify`) is recorded in `consult_inbox`; a retry of it —
  to this replica or another — finds its key and adds nothing (no second 👀, no second answer).
- Worker threads claim the oldest due item (`store.inbox_claim`) and hand it to `Deliverer`;
  a recorded delivery wakes one at once, idle workers also poll, so items left by a replica that
  died are taken over when their lease expires (or at once when its pid is gone on this host).
- A heartbeat thread renews this replica's leases, writes its `consult_replicas` row (a real
  write, so it notices when the database works again), hands back the items whose worker was
  interrupted (the database failed mid-item: this process lives on and renews its leases, so
  they would never expire), then replays the outage spool in this running process, migrates a
  database that was re-created empty, and releases the leases of dead processes on this host.
- Degraded mode: when the database cannot record the delivery, the bot still answers it from
  memory (the turn goes to the spool). Replicas then agree through Slack itself: the 👀 reaction
  is added BEFORE the ack as the claim, and `already_reacted` means another replica has it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from contextlib import contextmanager
from typing import Any, Callable

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases.db import utcnow
from bot.cases.inbox import InboxItem, LeaseLost
from bot.errors import ConsultError
from bot.services import Services
from bot.slack import ids
from bot.slack.delivery import Deliverer, Handler, Progress
from bot.slack.incoming import COMMAND, FOLLOW_UP, Job, classify
from bot.slack.poster import Poster

log = logging.getLogger(__name__)

CONTEXT_KEY = "consult_inbox"           # BoltContext: the Accepted record of this delivery
ACK_PRIORITY_MAX_S = 1.0                # a worker waits at most this long for acks in flight
UNEXPECTED_RETRY_S = 30.0               # an item whose worker crashed is tried again after this


def owner_id() -> str:
    """`host:pid:start` — unique per process, and checkable for liveness on the same host."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def owner_alive(owner: str) -> bool | None:
    """True/False for an owner on this host; None when it runs elsewhere (ask its lease)."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return fields[0] not in ("Z", "X") and (start in ("0", fields[19]))
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Accepted:
    """How the middleware took a delivery (read by the listeners through the context)."""

    def __init__(self, job: Job, *, recorded: bool, fresh: bool):
        self.job = job
        self.recorded = recorded    # in the database (False: degraded mode)
        self.fresh = fresh          # the first delivery of this message (False: a retry / twin)


class Inbox:
    def __init__(self, services: Services, client: WebClient, *, workers: int,
                 lease_s: float, retry_s: float, poll_s: float | None = None):
        self.services = services
        self.store = services.store
        self.client = client
        # No automatic retries for what must not happen twice (posting, the claim reaction).
        self.quiet_client = WebClient(base_url=client.base_url, token=client.token,
                                      timeout=client.timeout, retry_handlers=[])
        self.handlers: dict[str, Handler] = {}
        self.deliverer = Deliverer(services, client, Poster(self.quiet_client),
                                   handlers=self.handlers, retry_s=retry_s,
                                   pause=self.yield_to_acks)
        self._acks = threading.Condition()
        self._acks_in_flight = 0
        self.workers = workers
        self.lease_s = lease_s
        self.poll_s = poll_s if poll_s is not None else max(0.2, min(2.0, lease_s / 10))
        self.owner = owner_id()
        self.started_at = utcnow()
        self._wake = threading.Condition()
        self._pending_wakes = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._idle = threading.Condition()
        self._degraded = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inbox-mem")
        self._dead_checked = 0.0
        self._interrupted: dict[int, tuple[int, float, str]] = {}   # id -> (claim, delay, why)
        self._interrupted_lock = threading.Lock()
        self._identity: tuple[str | None, str | None] | None = None

    # ------------------------------------------------------------------ surfaces
    def handle(self, kind: str, handler: Handler) -> None:
        """Register the handler of one kind of question (one surface module each)."""
        self.handlers[kind] = handler

    def bot_identity(self) -> tuple[str | None, str | None]:
        """The bot's (user id, bot id): from the deliveries seen, else auth.test once."""
        if self._identity is None:
            try:
                auth = self.client.auth_test()
                self._identity = (auth.get("user_id"), auth.get("bot_id"))
            except SlackApiError as exc:
                log.warning("auth.test failed: %s",
                            exc.response.get("error") if exc.response is not None else exc)
                return None, None
        return self._identity

    def middleware(self, body: dict, context: BoltContext, next: Callable[[], Any]) -> Any:
        """Bolt global middleware: record a question delivery before the listener acks it."""
        if self._identity is None and context.bot_user_id:
            self._identity = (context.bot_user_id, context.bot_id)
        job = classify(body, context.bot_user_id, context.bot_id)
        if job is None:
            return next()
        with self.acknowledging():
            context[CONTEXT_KEY] = self.accept(job)
            return next()

    # Acknowledgements first: the workers' consultations are CPU-bound Python and share the GIL
    # with the threads acknowledging a burst; while deliveries are being recorded and acked, a
    # worker does not start new work (claim, consult, post). Measured on the 2-core machine at
    # load ~15: 50-burst ack p99 420–800 ms with the workers running freely, 130–210 ms without.
    # HTTP mode also holds this from the moment a delivery's body has arrived until its response
    # is sent (`bot.web.slack_events.AcksFirst`): the event loop that reads the requests and
    # sends the acks competes for the GIL too (load ~10: ack p99 208–712 ms -> 107–183 ms).
    @contextmanager
    def acknowledging(self):
        with self._acks:
            self._acks_in_flight += 1
        try:
            yield
        finally:
            with self._acks:
                self._acks_in_flight -= 1
                if not self._acks_in_flight:
                    self._acks.notify_all()

    def yield_to_acks(self, max_wait: float = ACK_PRIORITY_MAX_S) -> None:
        """Wait (briefly) while deliveries are being acknowledged."""
        with self._acks:
            if self._acks_in_flight:
                self._acks.wait_for(lambda: not self._acks_in_flight, timeout=max_wait)

    def accept(self, job: Job) -> Accepted:
        try:
            fresh = self.store.inbox_record(job.key, job.kind, job.payload)
        except Exception as exc:     # the database is down (or broken): never lose the question
            if not isinstance(exc, ConsultError):
                log.exception("recording a delivery failed unexpectedly; answering it from memory")
            return self._accept_degraded(job)
        if fresh:
            self.wake()
        else:
            log.info("retried delivery of an already recorded question: nothing to do")
        return Accepted(job, recorded=True, fresh=fresh)

    def _accept_degraded(self, job: Job) -> Accepted:
        claimed = True
        if job.kind not in (COMMAND, FOLLOW_UP):   # follow-ups claim after deciding
            claimed = self._claim_by_reaction(job)
        if claimed:
            self._degraded.submit(self._run_degraded, job, job.kind not in (COMMAND, FOLLOW_UP))
        else:
            log.info("a replica already took this question while the database is down")
        return Accepted(job, recorded=False, fresh=claimed)

    def _claim_by_reaction(self, job: Job) -> bool:
        msg = job.message
        try:
            self.quiet_client.reactions_add(channel=msg.channel, timestamp=msg.ts,
                                            name=ids.WORKING_REACTION)
            return True
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error == "already_reacted":
                return False
            log.warning("the claim reaction failed (%s); answering anyway", error)
        except Exception as exc:
            log.warning("the claim reaction failed (%s); answering anyway", type(exc).__name__)
        return True

    def _run_degraded(self, job: Job, claimed: bool) -> None:
        item = InboxItem(id=0, key=job.key, kind=job.kind, payload=job.payload, state="working",
                         attempts=1)
        with self._working():
            try:
                self.deliverer.run(Progress(item, owner=None), claimed=claimed)
            except Exception:
                log.exception("answering a question from memory failed")

    # ------------------------------------------------------------------ workers
    def start(self) -> "Inbox":
        if self._threads:
            return self
        self._stop.clear()
        self._threads = [threading.Thread(target=self._work_loop, name=f"inbox-{i}", daemon=True)
                         for i in range(self.workers)]
        self._threads.append(threading.Thread(target=self._heartbeat_loop, name="inbox-heartbeat",
                                              daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; wait for items in progress (an unfinished one is resumed later by
        whichever replica claims it)."""
        self._stop.set()
        self.wake(len(self._threads))
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        self._degraded.shutdown(wait=True)

    def wake(self, n: int = 1) -> None:
        with self._wake:
            self._pending_wakes += n
            self._wake.notify(n)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once no item is being worked on here and none is due (tests, shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._idle:
                busy = self._busy
            if busy == 0 and not self._due():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _due(self) -> bool:
        try:
            stats = self.store.inbox_stats()
        except ConsultError:
            return False
        return bool(stats.by_state.get("pending") or stats.by_state.get("working"))

    def _working(self):
        inbox = self

        class _Busy:
            def __enter__(self):
                with inbox._idle:
                    inbox._busy += 1

            def __exit__(self, *exc):
                with inbox._idle:
                    inbox._busy -= 1
                    inbox._idle.notify_all()

        return _Busy()

    def _work_loop(self) -> None:
        while not self._stop.is_set():
            if self.store.health.down:       # only the heartbeat probes a database that is down
                self._stop.wait(self.poll_s)
                continue
            self.yield_to_acks()
            try:
                with self._working():
                    item = self.store.inbox_claim(self.owner, self.lease_s)
                    if item is not None:
                        self._process(item)
                        continue
            except ConsultError:        # database down: the heartbeat notices recovery
                pass
            except Exception:
                log.exception("inbox worker error; continuing")
            with self._wake:
                if self._pending_wakes == 0:
                    self._wake.wait(self.poll_s)
                self._pending_wakes = max(0, self._pending_wakes - 1)

    def _process(self, item: InboxItem) -> None:
        pii = getattr(self.services, "pii", None)
        progress = Progress(item, owner=self.owner, store=self.store,
                            data=dict(item.progress), case_id=item.case_id,
                            mask=pii.mask_text if pii is not None else None)
        try:
            self.deliverer.run(progress)
        except LeaseLost:
            log.warning("delivery %s was taken over by another replica; stopped here", item.id)
        except ConsultError as exc:
            # the database failed mid-item: handed back by the heartbeat once it works again
            log.warning("delivery %s interrupted (%s); it will be resumed", item.id,
                        type(exc).__name__)
            self._interrupt(item, 0.0, type(exc).__name__)
        except Exception as exc:
            log.exception("delivery %s failed unexpectedly; it will be resumed", item.id)
            self._interrupt(item, UNEXPECTED_RETRY_S, f"unexpected: {type(exc).__name__}")

    def _interrupt(self, item: InboxItem, delay_s: float, why: str) -> None:
        """Remember an item this process must give back (its lease would never run out: the
        heartbeat renews every lease this process holds); tried right away, else by the
        heartbeat once the database answers."""
        with self._interrupted_lock:
            self._interrupted[item.id] = (item.attempts, delay_s, why)
        self._release_interrupted()

    def _release_interrupted(self) -> None:
        # One thread at a time (a worker and the heartbeat may both try): a second release of
        # an item already claimed again by this process would take it from its new worker.
        with self._interrupted_lock:
            for item_id, (attempt, delay_s, why) in list(self._interrupted.items()):
                try:
                    released = self.store.inbox_release(
                        item_id, self.owner, attempt,
                        retry_at=utcnow() + timedelta(seconds=delay_s), error=why)
                except ConsultError:
                    return              # still down: the next heartbeat tries again
                del self._interrupted[item_id]
                if not released:
                    continue
                log.info("delivery %s handed back for another attempt", item_id)
                if delay_s == 0:
                    self.wake()

    # ------------------------------------------------------------------ heartbeat
    def _heartbeat_loop(self) -> None:
        interval = max(0.2, min(self.poll_s, self.lease_s / 3))
        self._release_dead_owners()
        while not self._stop.wait(interval):
            self.beat()

    def beat(self) -> None:
        """One heartbeat: notice a replaced SQLite file, renew leases, replay the spool."""
        sqlite_file = getattr(self.store, "sqlite_file", None)
        if sqlite_file is not None and sqlite_file.replaced():
            log.warning("the case database file %s was replaced or removed: reconnecting and "
                        "migrating", sqlite_file.path)
            self.store.schema_lost()
        try:
            self.store.inbox_heartbeat(self.owner, socket.gethostname(), os.getpid(),
                                       self.started_at, self.lease_s)
        except ConsultError:
            return                      # health logged the outage once
        except Exception:
            log.exception("inbox heartbeat failed")
            return
        if self._interrupted:
            self._release_interrupted()
        consultation = self.services.consultation
        if consultation is not None and consultation.spool.has_pending():
            try:
                self.services.consultation.replay_spool()
            except Exception as exc:
                log.warning("replaying the turn spool failed (%s); retrying on the next "
                            "heartbeat", type(exc).__name__)
        if time.monotonic() - self._dead_checked > 5.0:
            self._release_dead_owners()

    def _release_dead_owners(self) -> None:
        self._dead_checked = time.monotonic()
        try:
            owners = self.store.inbox_lease_owners()
        except ConsultError:
            return
        released = 0
        for owner in owners:
            if owner != self.owner and owner_alive(owner) is False:
                released += self.store.inbox_release_owner(owner)
        if released:
            log.warning("resuming %d delivery(ies) left unfinished by a stopped process",
                        released)
            self.wake(min(released, self.workers))
