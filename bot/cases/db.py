"""Engine construction for the case database (SQLite by default, PostgreSQL via DATABASE_URL).

SQLite: WAL journal, a busy timeout, and every transaction opened with ``BEGIN IMMEDIATE`` so
concurrent writers (threads or processes) queue on the write lock instead of failing with
"database is locked" when a read transaction tries to upgrade to a write.
PostgreSQL: ``postgresql+psycopg://`` with a pre-ping pool so a restarted server is picked up
again without restarting the bot. Both hide SQL parameters in exception messages, so a logged
database error can never carry a question, an answer or a name.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

# Another process holding the write lock: wait this long. Transactions are milliseconds long;
# a lock held longer (a backup, a hung process) is an outage — the bot answers from memory and
# spools the turn, instead of every thread queueing for half a minute.
DEFAULT_SQLITE_BUSY_TIMEOUT_S = 5.0
PG_CONNECT_TIMEOUT_S = 2
# How long the next SQLite transaction in this context may wait for the write lock (ms); None:
# the engine's busy timeout. Recording a delivery waits at most ~2 s (Slack wants the ack in 3 s);
# after that the delivery is answered from memory and its turn spooled.
SQLITE_WAIT_MS: contextvars.ContextVar[int | None] = contextvars.ContextVar("sqlite_wait_ms",
                                                                            default=None)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def normalise_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_case_engine(url: str, *, sqlite_busy_timeout_s: float = DEFAULT_SQLITE_BUSY_TIMEOUT_S,
                       pool_size: int = 5, max_overflow: int = 20) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, sqlite_busy_timeout_s, pool_size, max_overflow)
    # psycopg prepares a statement after 5 runs and PostgreSQL may then plan it once for any
    # parameters: a search pattern or filter value changes the best plan by 100x (measured on the
    # console queue at 100k cases: p95 1.5 s -> 0.76 s without it), so every query is planned
    # with its values. connect_timeout: a database that does not answer fails fast
    # (acknowledgements wait for it; the delivery is then answered from memory) instead of
    # hanging past Slack's 3 s.
    connect_args = {"prepare_threshold": None, "connect_timeout": PG_CONNECT_TIMEOUT_S} \
        if parsed.get_driver_name() == "psycopg" else {}
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                         pool_timeout=60, hide_parameters=True, connect_args=connect_args)


def _sqlite_engine(url: str, database: str | None, busy_timeout_s: float, pool_size: int,
                   max_overflow: int) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=60,
        hide_parameters=True,
    )
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        wait_ms = SQLITE_WAIT_MS.get()
        conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms if wait_ms is None else wait_ms}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class WriterLock:
    """One SQLite transaction at a time in this process (SQLite allows one writer anyway, and
    every transaction here is BEGIN IMMEDIATE). Waiting on this lock wakes the next transaction
    the moment one ends — SQLite's own busy handler sleeps up to 100 ms between retries — and
    lets an urgent transaction (recording a delivery before its acknowledgement) go before the
    background ones already queued."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._urgent_waiting = 0

    @contextmanager
    def hold(self, urgent: bool = False, timeout: float | None = None):
        """Raises TimeoutError when the lock is not free within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if urgent:
                self._urgent_waiting += 1
            try:
                while self._held or (not urgent and self._urgent_waiting):
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError("the database is busy in this process")
                    self._cond.wait(left)
            finally:
                if urgent:
                    self._urgent_waiting -= 1
            self._held = True
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


@dataclass
class SqliteFile:
    """The file behind a SQLite engine, to notice when it is deleted or replaced while the bot
    runs (pooled connections would keep writing into the old, unlinked file)."""

    path: Path
    identity: tuple[int, int] | None

    @classmethod
    def of(cls, engine: Engine) -> "SqliteFile | None":
        database = engine.url.database if is_sqlite(engine) else None
        if not database or database == ":memory:":
            return None
        path = Path(database)
        return cls(path, _identity(path))

    def remember(self) -> None:
        """The file as it is now is the database (after a migration created or checked it)."""
        self.identity = _identity(self.path)

    def replaced(self) -> bool:
        """True once when the file is gone or is another file than before."""
        now = _identity(self.path)
        if now is not None and self.identity is None:
            self.identity = now           # created after the engine (first migration)
            return False
        if now == self.identity:
            return False
        self.identity = now
        return True


def describe_error(exc: BaseException) -> str:
    """A log-safe description of a database error: its class and SQLSTATE, never its message
    (PostgreSQL puts the failing row, i.e. questions and names, into the message)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    inner = f" / {type(orig).__name__}" if orig is not None else ""
    return f"{type(exc).__name__}{inner}" + (f" ({code})" if code else "")
