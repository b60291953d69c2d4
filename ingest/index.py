"""The reader's view of the index (used by the retriever): dense search in Chroma, BM25 search,
chunk lookup, statistics, and a cheap refresh when a new ingest has finished.

    handle = open_index(settings)          # raises IndexMissing when nothing was ingested
    handle.dense_search("質問", 20)         # [(chunk_id, cosine_similarity, text, metadata)]
    handle.lexical_search("質問", 20)       # [(chunk_id, bm25_score)]
    handle.refresh_if_changed()            # True when a newer ingest was picked up
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from langchain_core.embeddings import Embeddings

from ingest import lexical, state
from ingest.embeddings import make_embeddings
from ingest.errors import IndexMissing
from ingest.settings import IndexSettings
from ingest.store import chroma_client, collection_name, fresh_chroma_client

log = logging.getLogger(__name__)


def _marker_signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


class IndexHandle:
    def __init__(self, settings: IndexSettings, embeddings: Embeddings | None = None):
        self.settings = settings
        self.embeddings = embeddings if embeddings is not None else make_embeddings(settings)
        self.model_id: str = getattr(self.embeddings, "model_id", "unknown")
        self.collection_name = collection_name(self.model_id)
        self._lock = threading.RLock()
        self._marker_sig = None
        self._marker: dict = {}
        self._lexical: lexical.LexicalIndex | None = None
        self._client = None
        self._collection = None
        self._load()

    # ---- loading -------------------------------------------------------------------------
    def _load(self, reopen: bool = False) -> None:
        marker_file = state.marker_path(self.settings.data_dir)
        sig = _marker_signature(marker_file)
        marker = state.read_marker(self.settings.data_dir)
        if not marker:
            raise IndexMissing()
        client = fresh_chroma_client(self.settings) if reopen else chroma_client(self.settings)
        try:
            collection = client.get_collection(self.collection_name)
        except Exception as exc:
            raise IndexMissing(
                f"埋め込みモデル {self.model_id} の索引が見つかりません。`consult ingest` を実行してください。"
            ) from exc
        lex = lexical.load(self.settings.lexical_dir)
        if lex is None:
            raise IndexMissing()
        self._client = client
        self._collection, self._lexical, self._marker, self._marker_sig = collection, lex, marker, sig

    def refresh_if_changed(self) -> bool:
        """Reload when an ingest finished since the last load (one stat() when nothing changed)."""
        sig = _marker_signature(state.marker_path(self.settings.data_dir))
        if sig == self._marker_sig:
            return False
        with self._lock:
            old_generation = self._marker.get("generation")
            old_lexical = self._lexical.generation if self._lexical else None
            try:
                self._load(reopen=True)
            except IndexMissing:
                log.warning("index disappeared during refresh; keeping the loaded one", exc_info=True)
                self._marker_sig = sig
                return False
            changed = (self._marker.get("generation") != old_generation
                       or self._lexical.generation != old_lexical)
            if changed:
                log.info("index refreshed: generation %s", self._marker.get("generation"))
            return changed

    # ---- search --------------------------------------------------------------------------
    def dense_search(self, query: str, n: int, doc_type: str | None = None):
        return self.dense_search_vector(self.embeddings.embed_query(query), n, doc_type)

    def dense_search_vector(self, vector: Sequence[float], n: int, doc_type: str | None = None):
        if n <= 0:
            return []
        where = {"doc_type": doc_type} if doc_type else None
        result = self._collection.query(
            query_embeddings=[list(map(float, vector))], n_results=n, where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        return [
            (chunk_id, 1.0 - float(result["distances"][0][i]), result["documents"][0][i],
             result["metadatas"][0][i] or {})
            for i, chunk_id in enumerate(ids)
        ]

    def lexical_search(self, query: str, n: int, doc_type: str | None = None) -> list[tuple[str, float]]:
        return self._lexical.search(query, n, doc_type)

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[str, dict]]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        page = self._collection.get(ids=ids, include=["documents", "metadatas"])
        return {
            chunk_id: (page["documents"][i], page["metadatas"][i] or {})
            for i, chunk_id in enumerate(page["ids"])
        }

    # ---- facts ---------------------------------------------------------------------------
    def count(self) -> int:
        return self._collection.count()

    def stats(self) -> dict:
        return {
            "documents": self._marker.get("documents", 0),
            "chunks": self.count(),
            "per_doc_type": self._marker.get("per_doc_type", {}),
            "embedding_model": self.model_id,
            "collection": self.collection_name,
            "last_ingest": self._marker.get("last_ingest"),
            "generation": self._marker.get("generation"),
        }


def open_index(settings: IndexSettings, embeddings: Embeddings | None = None) -> IndexHandle:
    """Open the ingested index for reading. Raises `IndexMissing` when nothing was ingested."""
    return IndexHandle(settings, embeddings)
