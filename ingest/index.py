"""The reader's view of the index (used by the retriever): dense search in Chroma, BM25 search,
chunk lookup, statistics, and a cheap refresh when a new ingest has finished.

    handle = open_index(settings)          # raises IndexMissing when nothing was ingested
    handle.dense_search("質問", 20)         # [DenseHit(chunk_id, similarity, text, metadata)]
    handle.lexical_search("質問", 20)       # [LexicalHit(chunk_id, score)]
    handle.get_chunks(ids)                 # {chunk_id: (text, metadata)}
    handle.chunks_by_section(["A > B"])    # {section: [Chunk(chunk_id, text, metadata)]}
    handle.refresh_if_changed()            # True when a newer ingest was picked up

The hits are NamedTuples: readable by name, and still plain tuples for older callers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from langchain_core.embeddings import Embeddings

from ingest import lexical, state
from ingest.embeddings import make_embeddings
from ingest.errors import IndexMissing
from ingest.settings import IndexSettings
from ingest.store import chroma_client, collection_name, fresh_chroma_client, iter_collection, remote_marker

log = logging.getLogger(__name__)


class DenseHit(NamedTuple):
    """One chunk found by the dense search (cosine similarity, higher is closer)."""

    chunk_id: str
    similarity: float
    text: str
    metadata: dict


class LexicalHit(NamedTuple):
    """One chunk found by the BM25 search (score > 0, higher is better)."""

    chunk_id: str
    score: float


class Chunk(NamedTuple):
    """A stored chunk: its id, indexed text (heading line first) and metadata."""

    chunk_id: str
    text: str
    metadata: dict


def _marker_signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


class IndexHandle:
    server_check_interval: float = 5.0  # seconds between generation checks in Chroma server mode

    def __init__(self, settings: IndexSettings, embeddings: Embeddings | None = None):
        self.settings = settings
        self.embeddings = embeddings if embeddings is not None else make_embeddings(settings, cache=False)
        self.model_id: str = getattr(self.embeddings, "model_id", "unknown")
        self.collection_name = collection_name(self.model_id)
        self._lock = threading.RLock()
        self._marker_sig = None
        self._marker: dict = {}
        self._lexical: lexical.LexicalIndex | None = None
        self._client = None
        self._collection = None
        self._last_remote_check = time.monotonic()
        self._load()

    # ---- loading -------------------------------------------------------------------------
    def _load(self, reopen: bool = False) -> None:
        server = bool(self.settings.chroma_host)
        data_dir = self.settings.data_dir
        sig = _marker_signature(state.marker_path(data_dir))
        marker = state.read_marker(data_dir)
        if not marker and not server:
            raise IndexMissing()
        client = fresh_chroma_client(self.settings) if reopen else chroma_client(self.settings)
        try:
            collection = client.get_collection(self.collection_name)
        except Exception as exc:
            raise IndexMissing(
                f"埋め込みモデル {self.model_id} の索引が見つかりません。`consult ingest` を実行してください。"
            ) from exc
        if server:
            # The collection carries the generation of the last ingest, wherever it ran. When it
            # is not the one this data dir knows, rebuild the local BM25 index from the collection.
            remote = remote_marker(collection)
            if not remote.get("generation"):
                raise IndexMissing()
            if (not marker or marker.get("generation") != remote["generation"]
                    or lexical.current_generation(self.settings.lexical_dir) is None):
                log.info("index generation %s came from the server; rebuilding local BM25", remote["generation"])
                ids, texts, doc_types = [], [], []
                for chunk_id, text, metadata in iter_collection(collection):
                    ids.append(chunk_id)
                    texts.append(text or "")
                    doc_types.append(str(metadata.get("doc_type", "other")))
                lexical.build(self.settings.lexical_dir, ids, texts, doc_types)
                marker = remote
                state.write_marker(data_dir, remote)
                sig = _marker_signature(state.marker_path(data_dir))
        lex = lexical.load(self.settings.lexical_dir)
        if lex is None:
            raise IndexMissing()
        self._client = client
        self._collection, self._lexical, self._marker, self._marker_sig = collection, lex, marker, sig

    def _changed_since_load(self) -> bool:
        if self.settings.chroma_host:
            now = time.monotonic()
            if now - self._last_remote_check < self.server_check_interval:
                return False
            self._last_remote_check = now
            try:
                remote = remote_marker(self._client.get_collection(self.collection_name))
            except Exception:
                log.warning("could not read the index generation from the Chroma server", exc_info=True)
                return False
            return remote.get("generation") != self._marker.get("generation")
        return _marker_signature(state.marker_path(self.settings.data_dir)) != self._marker_sig

    def refresh_if_changed(self) -> bool:
        """Reload when an ingest finished since the last load. Cheap when nothing changed: one
        stat() of the generation marker (embedded Chroma), or at most one metadata request every
        `server_check_interval` seconds (Chroma server)."""
        if not self._changed_since_load():
            return False
        with self._lock:
            old_generation = self._marker.get("generation")
            old_lexical = self._lexical.generation if self._lexical else None
            try:
                self._load(reopen=True)
            except IndexMissing:
                log.warning("index disappeared during refresh; keeping the loaded one", exc_info=True)
                self._marker_sig = _marker_signature(state.marker_path(self.settings.data_dir))
                return False
            changed = (self._marker.get("generation") != old_generation
                       or self._lexical.generation != old_lexical)
            if changed:
                log.info("index refreshed: generation %s", self._marker.get("generation"))
            return changed

    # ---- search --------------------------------------------------------------------------
    def dense_search(self, query: str, n: int, doc_type: str | None = None) -> list[DenseHit]:
        return self.dense_search_vector(self.embeddings.embed_query(query), n, doc_type)

    def dense_search_vector(self, vector: Sequence[float], n: int,
                            doc_type: str | None = None) -> list[DenseHit]:
        if n <= 0:
            return []
        where = {"doc_type": doc_type} if doc_type else None
        result = self._collection.query(
            query_embeddings=[list(map(float, vector))], n_results=n, where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        return [
            DenseHit(chunk_id, 1.0 - float(result["distances"][0][i]), result["documents"][0][i],
                     result["metadatas"][0][i] or {})
            for i, chunk_id in enumerate(ids)
        ]

    def lexical_search(self, query: str, n: int, doc_type: str | None = None) -> list[LexicalHit]:
        return [LexicalHit(cid, score) for cid, score in self._lexical.search(query, n, doc_type)]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, tuple[str, dict]]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        page = self._collection.get(ids=ids, include=["documents", "metadatas"])
        return {
            chunk_id: (page["documents"][i], page["metadatas"][i] or {})
            for i, chunk_id in enumerate(page["ids"])
        }

    def chunks_by_section(self, sections: Sequence[str]) -> dict[str, list[Chunk]]:
        """Every chunk whose heading path (`section` metadata) is one of `sections`, grouped by
        section in storage order. Sections with no chunk are absent from the result."""
        wanted = list(dict.fromkeys(s for s in sections if s))
        if not wanted:
            return {}
        where = {"section": wanted[0]} if len(wanted) == 1 else {"section": {"$in": wanted}}
        got = self._collection.get(where=where, include=["documents", "metadatas"])
        out: dict[str, list[Chunk]] = {}
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            meta = dict(meta or {})
            out.setdefault(str(meta.get("section")), []).append(Chunk(cid, text or "", meta))
        return out

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
