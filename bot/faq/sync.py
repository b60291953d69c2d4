"""Keeping every running process's index in step with the approved FAQ entries.

Where entries live: the case database is the truth (shared by every replica); the index holds
one chunk per approved entry (``bot.faq.index``) as the external source ``staff-faq``
(``ingest.external``: its records in their own namespace, like one more knowledge folder of a
shared index). Each process runs one ``FaqIndexSync``:

- every ``CONSULT_FAQ_SYNC_SECONDS`` (default 10 s) it reads two cheap counters: the database's
  ``consult_faq_state.revision`` (bumped in the transaction of every approval, edit of an
  approved entry and retirement) and the index generation (the marker file, or the Chroma
  server's pointer); a change of either — a new approval, or an ingest that replaced the
  index — starts a sync;
- a sync reads the approved entries and calls ``sync_external``: under the ingest locks (this
  data dir's, and across hosts with a shared PostgreSQL record database), it embeds only chunks
  the index lacks (the embedding cache makes a re-add free), deletes retired or edited-away ones,
  and when anything changed rebuilds BM25 and commits a new generation, which the retriever of
  every process sharing the index picks up on its next question (``refresh_if_changed``);
- an ingest or another process's sync holding a lock: this round is skipped and retried;
- the process that made the change is woken at once (``wake()``, the FAQ service's
  ``on_change``), so it answers from a new entry within a second or two;
- every ``VERIFY_EVERY`` rounds it checks the index against the database even when neither
  counter moved (a safety net; nothing is written when they agree).

So an approval is answerable everywhere within one interval plus a reload (about 10-15 s), a
retired entry stops being cited as fast, and ingests keep the entries: an ingest never removes an
external source's records and ``--rebuild`` copies them into its new collection; after
``--prune-foreign`` (or an index built from nothing) the next round sees the new generation and
puts them back.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from bot.faq.index import EXTERNAL_NAME, entry_documents
from bot.faq.store import FaqStore

log = logging.getLogger(__name__)

VERIFY_EVERY = 30


def index_generation(settings) -> str | None:
    """The generation readers of this index use now (marker file, or the Chroma server's
    pointer: shared by every replica); None while the server cannot be reached."""
    from ingest.external import live_generation

    try:
        return live_generation(settings)
    except Exception:   # the Chroma server is down: try again next round
        return None


class FaqIndexSync:
    def __init__(self, settings, store, *, interval: float | None = None, embeddings=None,
                 after_round: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.faq = FaqStore(store)
        self.interval = float(interval if interval is not None else settings.faq_sync_seconds)
        self.embeddings = embeddings            # tests: a counting wrapper of the real model
        self.after_round = after_round          # more background work per round (warm caches)
        self._seen: tuple[int, str | None] | None = None
        self._index_down = False
        self._rounds = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report = None

    # ---- one round ----------------------------------------------------------------------------
    def sync_once(self, *, force: bool = False):
        """Sync when a counter moved (or `force`). Returns the ExternalReport, or None when
        nothing was due, the index is busy (retried next round) or not built yet."""
        from ingest.errors import IndexMissing, IndexUnavailable, IngestLocked
        from ingest.external import sync_external
        from ingest.store import is_unreachable

        with self._lock:
            revision = self.faq.revision()
            generation = index_generation(self.settings)
            if not force and self._seen == (revision, generation):
                return None
            docs = entry_documents(self.faq.approved())
            try:
                report = sync_external(self.settings, EXTERNAL_NAME, docs,
                                       embeddings=self.embeddings)
            except IngestLocked:
                log.info("index busy (an ingest or another sync runs); FAQ sync retried next round")
                return None
            except IndexMissing:
                log.info("no index yet; the first ingest will add the FAQ entries")
                self._seen = (revision, generation)
                return None
            except Exception as exc:
                if not (isinstance(exc, IndexUnavailable) or is_unreachable(exc)):
                    raise
                if not self._index_down:   # one line when it goes down, retried every round
                    log.warning("FAQ sync: the index (Chroma server) cannot be reached; retrying")
                    self._index_down = True
                return None
            self._index_down = False
            self._seen = (revision, report.generation or generation)
            self.last_report = report
            if report.changed:
                log.info("FAQ entries synced into the index: +%d -%d (%d approved)",
                         report.added, report.deleted, report.total)
            return report

    # ---- the background thread ----------------------------------------------------------------
    def start(self) -> "FaqIndexSync":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="faq-index-sync", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Sync now (this process changed an entry)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        from bot.errors import StoreUnavailable

        while not self._stop.is_set():
            self._rounds += 1
            try:
                self.sync_once(force=self._rounds % VERIFY_EVERY == 0)
            except StoreUnavailable:
                log.warning("FAQ sync: case database unavailable; retrying next round")
            except Exception:
                log.exception("FAQ sync round failed; retrying next round")
            if self.after_round is not None:
                try:
                    self.after_round()
                except Exception:
                    log.exception("background work after the FAQ sync failed")
            self._wake.wait(self.interval)
            self._wake.clear()
