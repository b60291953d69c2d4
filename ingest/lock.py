"""One ingest at a time.

- Per data dir: an exclusive, non-blocking `flock` on `data_dir/ingest.lock` (released by the
  kernel when the process dies, however it dies).
- Across hosts sharing an index (Chroma server + PostgreSQL as the record-manager database): a
  PostgreSQL session-level advisory lock, keyed by the schema, held on its own connection for the
  whole run (released by the server when that connection closes — also when the process is
  killed or its host is lost, once TCP notices).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import IngestLocked

_PG_KEY = "SELECT pg_try_advisory_lock(hashtextextended('consult-ingest:' || current_schema(), 0))"
_PG_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('consult-ingest:' || current_schema(), 0))"


@contextmanager
def ingest_lock(data_dir: Path):
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "ingest.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestLocked(str(path)) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def shared_ingest_lock(db_url: str):
    """The cross-host lock when the record-manager database is PostgreSQL; a no-op otherwise
    (SQLite lives under one host's data dir, where the file lock already serialises ingests)."""
    if not db_url.startswith("postgresql"):
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.execute(text(_PG_KEY)).scalar():
                raise IngestLocked("postgresql", elsewhere=True)
            try:
                yield conn
            finally:
                conn.execute(text(_PG_UNLOCK))
    finally:
        engine.dispose()
