"""The ingest journal: one row per collection family in the record-manager database (SQLite under
the data dir, or the shared DATABASE_URL with a Chroma server), written by the ingest that holds
the lock.

    state "running"  an ingest started and has not finished: when the next ingest finds this,
                     the previous one died (killed, host lost, an error) and the index is
                     checked and repaired before anything else (see `repair.py`);
    state "done"     the last ingest finished and left Chroma, the records, BM25 and the marker
                     in agreement.

`detail` (JSON) carries what a later ingest must know: the collection a rebuild was building
("building") and the collections a rebuild replaced, with the time they were replaced
("retired"), so they are dropped once readers had time to move on.
"""

from __future__ import annotations

import json
import os
import socket
import time

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.pool import NullPool

_metadata = MetaData()
journal_table = Table(
    "ingest_journal", _metadata,
    Column("family", String(200), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("run_id", String(64)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("detail", Text),
)


class Journal:
    def __init__(self, db_url: str, family: str):
        self.family = family
        self.engine = create_engine(db_url, poolclass=NullPool)
        _metadata.create_all(self.engine, checkfirst=True)

    def read(self) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(journal_table).where(journal_table.c.family == self.family)).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["detail"] = json.loads(out["detail"] or "{}")
        return out

    def begin(self, run_id: str) -> dict | None:
        """Mark a run as started; returns the previous row (None on the very first run)."""
        previous = self.read()
        detail = (previous or {}).get("detail", {})
        values = dict(state="running", run_id=run_id, host=socket.gethostname(), pid=os.getpid(),
                      started_at=time.time(), finished_at=None, detail=json.dumps(detail))
        with self.engine.begin() as conn:
            if previous is None:
                conn.execute(journal_table.insert().values(family=self.family, **values))
            else:
                conn.execute(journal_table.update().where(journal_table.c.family == self.family)
                             .values(**values))
        return previous

    def note(self, **detail) -> dict:
        """Merge `detail` into the row (a None value removes the key); returns the new detail."""
        current = (self.read() or {}).get("detail", {})
        for key, value in detail.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        with self.engine.begin() as conn:
            conn.execute(journal_table.update().where(journal_table.c.family == self.family)
                         .values(detail=json.dumps(current)))
        return current

    def finish(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(journal_table.update().where(journal_table.c.family == self.family)
                         .values(state="done", finished_at=time.time()))

    def close(self) -> None:
        self.engine.dispose()
