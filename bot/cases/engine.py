"""The transaction machinery under the case store: one engine, one transaction per call.

``StoreEngine._run(fn)`` runs ``fn(session, now)`` in one transaction and:

- turns connection failures into ``StoreUnavailable`` and reports them to ``DatabaseHealth``
  (one log line per outage, not per failure); a successful write ends the outage;
- migrates a database that lost its tables (re-created empty) and retries;
- drops SQLite connections that cannot heal (opened while the file was read-only);
- on SQLite, queues this process's transactions on a ``WriterLock`` (an acknowledgement first),
  with short waits while the database is known to be down;
- retries unique-key races and PostgreSQL serialization failures.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from bot.cases import migrate
from bot.cases.db import SQLITE_WAIT_MS, SqliteFile, WriterLock, describe_error, is_sqlite, utcnow
from bot.cases.health import DatabaseHealth
from bot.cases.inbox import GroupCommit
from bot.cases.routing import ROUTER_KEY
from bot.errors import StoreUnavailable

log = logging.getLogger("bot.cases.store")
T = TypeVar("T")
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
_RETRYABLE_SQLSTATES = {"40001", "40P01"}
URGENT_WAIT_MS = 2000      # an acknowledgement waits at most this long for the SQLite write lock
OUTAGE_WAIT_MS = 500       # during an outage, other transactions fail fast (and are spooled)
# SQLite errors after which pooled connections are dropped: a connection opened while the file
# was read-only (or unreachable) stays read-only even when the file is writable again.
_SQLITE_REOPEN = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_NOTADB")


def _missing_schema(exc: BaseException) -> bool:
    """A table of ours is missing: the database was re-created empty (or never migrated)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "42P01":          # PostgreSQL undefined_table
        return True
    return "no such table" in str(orig or exc)


class StoreEngine:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow,
                 router: Callable | None = None):
        self.engine = engine
        self._clock = clock
        # Staff-team router ((municipality, programmes) -> bot.teams.Route), set by
        # bot.services.build_workflow when teams are configured: a case that comes to need staff
        # is routed in the same transaction (bot.cases.routing).
        self.router = router
        self._schema_ready = True
        self._schema_lock = threading.Lock()
        self._claims = 0
        self.health = DatabaseHealth(self.describe)
        # SQLite: one writer at a time anyway (BEGIN IMMEDIATE). Queueing this process's
        # transactions on a lock wakes the next one at once, instead of SQLite's busy handler
        # sleeping up to 100 ms between retries (measured: burst p95 ack and answer latency).
        self._sqlite_lock = WriterLock() if is_sqlite(engine) else None
        self.sqlite_file = SqliteFile.of(engine)
        self._group_commit = GroupCommit(self._record_entries)

    def describe(self) -> str:
        """The database URL without password, for logs and `consult doctor`."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> str:
        """Alembic upgrade to head (add-only migrations). Returns the revision now current."""
        try:
            changed = migrate.upgrade(self.engine)
            revision = migrate.current_revision(self.engine)
        except _UNAVAILABLE as exc:
            self._unavailable(exc)
            raise StoreUnavailable(f"case database unavailable: {type(exc).__name__}") from exc
        self._schema_ready = True
        if self.sqlite_file is not None:
            self.sqlite_file.remember()
        if changed:
            log.info("case database upgraded to revision %s (%s)", revision, self.dialect)
        return revision or ""

    def current_revision(self) -> str | None:
        with self._errors():
            return migrate.current_revision(self.engine)

    def is_migrated(self) -> bool:
        """True when the schema is at the newest revision this code knows."""
        return self.current_revision() == migrate.head_revision()

    def table_names(self) -> list[str]:
        with self._errors():
            return sorted(inspect(self.engine).get_table_names())

    def close(self) -> None:
        self.engine.dispose()

    # ---- transactions ---------------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            self._unavailable(exc)
            raise StoreUnavailable(f"case database unavailable: {type(exc).__name__}") from exc

    def _unavailable(self, exc: BaseException) -> None:
        """Note the failure (one log line per outage) and drop connections that cannot heal."""
        self.health.failed(describe_error(exc))
        name = getattr(getattr(exc, "orig", None), "sqlite_errorname", None) or ""
        if name.startswith(_SQLITE_REOPEN):
            self.engine.dispose()

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                self.upgrade()

    def schema_lost(self) -> None:
        """The database was replaced (e.g. re-created empty): reconnect and migrate before the
        next operation."""
        self.engine.dispose()
        self._schema_ready = False

    @contextmanager
    def _serialised(self, urgent: bool) -> Iterator[None]:
        if self._sqlite_lock is None:
            yield
            return
        # While the database is known to be down, nobody waits long for it (a lock held by
        # another process would otherwise queue every thread here for the full busy timeout).
        wait_ms = URGENT_WAIT_MS if urgent else OUTAGE_WAIT_MS if self.health.down else None
        token = SQLITE_WAIT_MS.set(wait_ms) if wait_ms is not None else None
        try:
            try:
                held = self._sqlite_lock.hold(urgent, timeout=URGENT_WAIT_MS / 1000 if urgent
                                              else None)
                held.__enter__()
            except TimeoutError as exc:
                raise StoreUnavailable("case database busy in this process") from exc
            try:
                yield
            finally:
                held.__exit__(None, None, None)
        finally:
            if token is not None:
                SQLITE_WAIT_MS.reset(token)

    def _run(self, fn: Callable[[Session, datetime], T], *, retries: int = 4,
             write: bool = True, urgent: bool = False) -> T:
        """Run ``fn(session, now)`` in one transaction; a unique-key race is retried afresh.
        ``write=False`` marks a read: its success does not count as the database being back.
        ``urgent``: someone waits for it to acknowledge a delivery (SQLite: goes first)."""
        self._ensure_schema()
        for attempt in range(retries):
            try:
                with self._errors(), self._serialised(urgent), \
                        Session(self.engine, expire_on_commit=False) as s:
                    if self.router is not None:
                        s.info[ROUTER_KEY] = self.router
                    with s.begin():
                        result = fn(s, self._clock())
                if write:
                    self.health.recovered()
                return result
            except IntegrityError:
                if attempt == retries - 1:
                    raise
                log.debug("unique-key race, retrying (attempt %d)", attempt + 1)
            except (StoreUnavailable, ProgrammingError) as exc:
                cause = exc.__cause__ if isinstance(exc, StoreUnavailable) else exc
                if _missing_schema(cause) and attempt < retries - 1:
                    log.warning("case database has no tables (re-created?): migrating it")
                    self.schema_lost()
                    self._ensure_schema()
                    continue
                if isinstance(exc, ProgrammingError):
                    raise
                # PostgreSQL serialization failure / deadlock: the transaction is safe to retry
                code = getattr(getattr(cause, "orig", None), "sqlstate", None)
                if code not in _RETRYABLE_SQLSTATES or attempt == retries - 1:
                    raise
                log.warning("transaction conflict (%s), retrying", code)
        raise AssertionError("unreachable")
