"""The writer's view of the dense index: a Chroma collection (named after the embedding model)
kept in step with LangChain's `SQLRecordManager` through `langchain_core.indexing.index`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from langchain_classic.indexes import SQLRecordManager
from langchain_core.documents import Document
from langchain_core.indexing import index as lc_index
from sqlalchemy import text as sql

from ingest.embeddings import CachedEmbeddings
from ingest.settings import IndexSettings
from ingest.store import (COLLECTION_METADATA, chroma_client, collection_name, iter_collection,
                          record_namespace)

log = logging.getLogger(__name__)

PAGE = 2000


def make_vector_store(client, name: str, embeddings):
    """langchain_chroma's `Chroma` over our client and collection settings (cosine space): the
    one construction ingest writes through (LangChain's standard vector-store suite runs on it)."""
    from langchain_chroma import Chroma

    return Chroma(client=client, collection_name=name, embedding_function=embeddings,
                  collection_metadata=COLLECTION_METADATA)


def _chunk_key(doc: Document) -> str:
    return doc.metadata["chunk_id"]


class VectorIndex:
    def __init__(self, settings: IndexSettings, embeddings: CachedEmbeddings, *, create: bool = True):
        self.settings = settings
        self.embeddings = embeddings
        self.name = collection_name(embeddings.model_id)
        self.client = chroma_client(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.records = SQLRecordManager(record_namespace(self.name), db_url=settings.record_manager_url)
        self.records.create_schema()
        self.collection = None
        if create:
            self.collection = self._create()
        else:
            try:
                self.collection = self.client.get_collection(self.name)
            except Exception:  # chromadb raises NotFoundError / ValueError depending on version
                log.debug("collection %s does not exist yet", self.name)
        self._store = None

    def _create(self):
        return self.client.get_or_create_collection(self.name, metadata=COLLECTION_METADATA)

    @property
    def store(self):
        if self._store is None:
            self._store = make_vector_store(self.client, self.name, self.embeddings)
        return self._store

    # ---- reading -------------------------------------------------------------------------
    def count(self) -> int:
        return self.collection.count() if self.collection is not None else 0

    def sources(self) -> set[str]:
        with self.records._make_session() as session:
            rows = session.execute(
                sql("SELECT DISTINCT group_id FROM upsertion_record WHERE namespace = :ns"),
                {"ns": self.records.namespace},
            ).fetchall()
        return {r[0] for r in rows if r[0]}

    def iter_all(self, include_documents: bool = True) -> Iterator[tuple[str, str | None, dict]]:
        if self.collection is None:
            return iter(())
        return iter_collection(self.collection, include_documents, PAGE)

    # ---- writing -------------------------------------------------------------------------
    def index(self, docs: list[Document]) -> tuple[int, int, int]:
        """Index one batch; every source in it is complete, so incremental cleanup is exact."""
        result = lc_index(docs, self.records, self.store, batch_size=max(len(docs), 1),
                          cleanup="incremental", source_id_key="source", key_encoder=_chunk_key)
        return result["num_added"] + result["num_updated"], result["num_deleted"], result["num_skipped"]

    def plan(self, docs: list[Document]) -> tuple[int, int, int]:
        """What `index` would do, without embedding or writing anything."""
        ids = list(dict.fromkeys(d.metadata["chunk_id"] for d in docs))
        exists = dict(zip(ids, self.records.exists(ids))) if ids else {}
        sources = sorted({d.metadata["source"] for d in docs})
        old = set(self.records.list_keys(group_ids=sources)) if sources else set()
        added = sum(1 for i in ids if not exists[i])
        skipped = len(ids) - added
        deleted = len(old - set(ids))
        return added, deleted, skipped

    def delete_source(self, source: str, *, dry_run: bool = False) -> int:
        keys = self.records.list_keys(group_ids=[source])
        if keys and not dry_run:
            if self.collection is not None:
                for start in range(0, len(keys), PAGE):
                    self.collection.delete(ids=keys[start : start + PAGE])
            self.records.delete_keys(keys)
        return len(keys)

    def publish(self, marker: dict) -> None:
        """Record the ingest's generation in the collection itself, so readers on other machines
        (Chroma server mode) notice a new ingest and rebuild their local BM25 index."""
        if self.collection is None:
            return
        metadata = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v)
                    for k, v in marker.items() if v is not None}
        # The distance function lives in the collection's configuration; Chroma refuses to see
        # "hnsw:space" again in a metadata update, so it is left out here.
        self.collection.modify(metadata=metadata)

    def reset(self) -> None:
        """Drop every chunk of this collection (vectors and records)."""
        try:
            self.client.delete_collection(self.name)
        except Exception:
            log.debug("collection %s did not exist", self.name)
        keys = self.records.list_keys()
        for start in range(0, len(keys), 5000):
            self.records.delete_keys(keys[start : start + 5000])
        self.collection = self._create()
        self._store = None
