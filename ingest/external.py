"""External sources: chunks that do not come from a file of the knowledge folder but live in the
same index (today: the approved FAQ entries of the case database, ``bot.faq``).

An external source is kept like one more knowledge folder of a shared index (``ingest.vectors``):
its records live in their own namespace, ``chroma/<collection>/ext-<name>``. So:

- an ingest of the knowledge folder lists, updates and removes only its own records — it never
  touches the source's chunks; the repair after a killed ingest sees them recorded (not orphans);
- ``--rebuild`` copies them into the new collection with the other folders' documents
  (``copy_foreign_from``: vectors as they are, nothing re-embedded); only ``--prune-foreign``
  drops them, and the source's next sync puts them back;
- ``sync_external(settings, name, docs)`` makes the live collection hold exactly ``docs`` for the
  source (LangChain indexing API, full cleanup within that namespace): chunk ids are content
  hashes, so only new or edited chunks are embedded (through the embedding cache), the ones no
  longer handed over are deleted; when anything changed, this host's BM25 is rebuilt and a new
  generation committed (``ingest.generations``), which every reader follows.

It runs under the same locks as an ingest (the data dir's file lock and, with a shared PostgreSQL
record database, the cross-host advisory lock): ``IngestLocked`` while one runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ingest.settings import IndexSettings

log = logging.getLogger(__name__)

ORIGIN_PREFIX = "ext-"


def origin_of(name: str) -> str:
    """The record namespace suffix of external source `name` (never a folder's hash)."""
    return f"{ORIGIN_PREFIX}{name}"


@dataclass(frozen=True)
class ExternalReport:
    name: str
    added: int
    deleted: int
    total: int
    generation: str | None      # the generation committed (None: nothing changed)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.deleted)


def external_ids(collection, name: str) -> set[str]:
    """Chunk ids of external source `name` in a collection."""
    if collection is None:
        return set()
    return set(collection.get(where={"external": name}, include=[])["ids"])


def live_generation(settings: IndexSettings, client=None) -> str | None:
    """The generation readers use now (the marker file, or the Chroma server's pointer)."""
    from ingest import generations
    from ingest.embeddings import model_id_for
    from ingest.store import chroma_client, collection_name

    live = generations.read_live(settings, client or chroma_client(settings),
                                 collection_name(model_id_for(settings)))
    return (live or {}).get("generation")


def sync_external(settings: IndexSettings, name: str, docs: Sequence[Document], *,
                  embeddings: Embeddings | None = None) -> ExternalReport:
    """Bring the live index in step with external source `name` (see the module docstring).
    Raises IngestLocked while an ingest (or another sync) runs, IndexMissing when nothing was
    ingested yet (the source syncs after the first ingest)."""
    from langchain_core.indexing import index as lc_index

    from ingest import generations, lexical
    from ingest.embeddings import make_embeddings
    from ingest.errors import IndexMissing
    from ingest.lock import ingest_lock, shared_ingest_lock
    from ingest.store import collection_name, fresh_chroma_client
    from ingest.vectors import VectorIndex

    with ingest_lock(settings.data_dir), shared_ingest_lock(settings.record_manager_url):
        emb = make_embeddings(settings, inner=embeddings)
        try:
            client = fresh_chroma_client(settings)
            family = collection_name(emb.model_id)
            live = generations.read_live(settings, client, family)
            if not live:
                raise IndexMissing()
            vectors = VectorIndex(settings, emb, live["collection"], client=client, create=False,
                                  origin=origin_of(name))
            if vectors.collection is None:
                raise IndexMissing()
            for doc in docs:
                doc.metadata["external"] = name
            result = lc_index(list(docs), vectors.records, vectors.store, cleanup="full",
                              source_id_key="source", key_encoder=lambda d: d.metadata["chunk_id"])
            added = result["num_added"] + result["num_updated"]
            deleted = result["num_deleted"]
            generation = None
            if added or deleted:
                log.info("external source %s: %d chunk(s) added, %d deleted", name, added, deleted)
                gen = generations.build_lexical(settings, vectors)
                marker = generations.new_marker(vectors, live, True, gen, settings)
                generations.commit(settings, client, family, marker)
                lexical.set_current(settings.lexical_dir, gen)
                generation = marker["generation"]
            return ExternalReport(name, added, deleted, len(docs), generation)
        finally:
            emb.close()
