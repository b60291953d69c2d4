"""The reader's view of the index (used by the retriever): dense search in Chroma, BM25 search,
chunk lookup, statistics, and a cheap refresh when a new ingest has finished.

    handle = open_index(settings)          # raises IndexMissing when nothing was ingested,
                                           # IndexUnavailable when the Chroma server is down
    handle.dense_search("質問", 20)         # [DenseHit(chunk_id, similarity, text, metadata)]
    handle.lexical_search("質問", 20)       # [LexicalHit(chunk_id, score)]
    handle.get_chunks(ids)                 # {chunk_id: (text, metadata)}
    handle.chunks_by_section(["A > B"])    # {section: [Chunk(chunk_id, text, metadata)]}
    handle.refresh_if_changed()            # True when a newer ingest was picked up

The hits are NamedTuples: readable by name, and still plain tuples for older callers.

A reader follows the generation marker (see `ingest.generations`): a rebuild switches it to the
new collection and BM25 build in one step, and a query that finds its collection gone (dropped
after a switch) reopens the live one and runs again. A Chroma server that stops answering gives
`IndexUnavailable` (one log line when it goes down, one when it is back) and the same handle
works again once the server does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from langchain_core.embeddings import Embeddings

from ingest import generations, lexical, state
from ingest.embeddings import make_embeddings
from ingest.errors import IndexMissing, IndexUnavailable
from ingest.settings import IndexSettings
from ingest.store import (chroma_client, collection_name, fresh_chroma_client, is_not_found,
                          is_unreachable, iter_collection)

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


class Reachability:
    """Logs a Chroma server going down and coming back, once each (not once per request)."""

    def __init__(self, what: str):
        self.what = what
        self.down_since: float | None = None
        self._lock = threading.Lock()

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning("%s unreachable (%s: %s); answering with a polite error until it is back",
                            self.what, type(exc).__name__, exc)

    def ok(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is not None:
                log.warning("%s reachable again after %.0f s", self.what,
                            time.monotonic() - self.down_since)
                self.down_since = None


class IndexHandle:
    server_check_interval: float = 5.0  # seconds between generation checks in Chroma server mode

    def __init__(self, settings: IndexSettings, embeddings: Embeddings | None = None,
                 reachability: Reachability | None = None):
        self.settings = settings
        self.embeddings = embeddings if embeddings is not None else make_embeddings(settings, cache=False)
        self.model_id: str = getattr(self.embeddings, "model_id", "unknown")
        self.family = collection_name(self.model_id)
        self.collection_name = self.family  # the physical collection in use (set by _load)
        self.reachability = reachability or Reachability(
            f"Chroma server {settings.chroma_host}:{settings.chroma_port}")
        self._lock = threading.RLock()
        self._marker_sig = None
        self._marker: dict = {}
        self._lexical: lexical.LexicalIndex | None = None
        self._client = None
        self._collection = None
        self._last_remote_check = time.monotonic()
        self._guarded(self._load)

    # ---- loading -------------------------------------------------------------------------
    def _guarded(self, action: Callable, *args):
        """Run `action`; a Chroma server that does not answer becomes IndexUnavailable."""
        try:
            result = action(*args)
        except IndexUnavailable as exc:
            self.reachability.failed(exc.__cause__ or exc)
            raise
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            self.reachability.failed(exc)
            raise IndexUnavailable() from exc
        self.reachability.ok()
        return result

    def _load(self, reopen: bool = False) -> None:
        server = bool(self.settings.chroma_host)
        data_dir = self.settings.data_dir
        sig = _marker_signature(state.marker_path(data_dir))
        if not server and state.read_marker(data_dir) is None:
            raise IndexMissing()  # checked before opening Chroma: reading never creates anything
        client = fresh_chroma_client(self.settings) if reopen else chroma_client(self.settings)
        live = generations.read_live(self.settings, client, self.family)
        if not live:
            raise IndexMissing()
        try:
            collection = client.get_collection(live["collection"])
        except Exception as exc:
            if not is_not_found(exc):
                raise
            raise IndexMissing(
                f"埋め込みモデル {self.model_id} の索引が見つかりません。`consult ingest` を実行してください。"
            ) from exc
        marker, gen = live, live.get("lexical")
        if server:
            # The generation may come from an ingest on another host: this host's BM25 build is
            # named by its own marker file; when that is not the live generation's, build it
            # from the collection (tokens of unchanged chunks are reused).
            local = state.read_marker(data_dir) or {}
            gen = local.get("lexical") or lexical.current_generation(self.settings.lexical_dir)
            if local.get("generation") != live["generation"] or not lexical.exists(self.settings.lexical_dir, gen):
                log.info("index generation %s came from the server; building the local BM25 index",
                         live["generation"])
                ids, texts, doc_types = [], [], []
                for chunk_id, text, metadata in iter_collection(collection):
                    ids.append(chunk_id)
                    texts.append(text or "")
                    doc_types.append(str(metadata.get("doc_type", "other")))
                gen = lexical.build(self.settings.lexical_dir, ids, texts, doc_types)
                state.write_marker(data_dir, {**live, "lexical": gen})
                sig = _marker_signature(state.marker_path(data_dir))
            marker = {**live, "lexical": gen}
        try:
            lex = lexical.load(self.settings.lexical_dir, gen)
        except OSError:  # pruned under us by a newer ingest: read the newest
            lex = lexical.load(self.settings.lexical_dir)
        if lex is None:
            raise IndexMissing()
        self._client = client
        self.collection_name = live["collection"]
        self._collection, self._lexical, self._marker, self._marker_sig = collection, lex, marker, sig

    def _changed_since_load(self) -> bool:
        if self.settings.chroma_host:
            now = time.monotonic()
            if now - self._last_remote_check < self.server_check_interval and \
                    self.reachability.down_since is None:
                return False
            self._last_remote_check = now
            try:
                live = self._guarded(generations.read_live, self.settings, self._client, self.family)
            except IndexUnavailable:
                return False  # logged once by the reachability tracker; keep what is loaded
            return bool(live) and live.get("generation") != self._marker.get("generation")
        return _marker_signature(state.marker_path(self.settings.data_dir)) != self._marker_sig

    def refresh_if_changed(self) -> bool:
        """Reload when an ingest finished since the last load. Cheap when nothing changed: one
        stat() of the generation marker (embedded Chroma), or at most one metadata request every
        `server_check_interval` seconds (Chroma server)."""
        if not self._changed_since_load():
            return False
        with self._lock:
            return self._reload()

    def _reload(self) -> bool:
        old_generation = self._marker.get("generation")
        old_lexical = self._lexical.generation if self._lexical else None
        try:
            self._guarded(self._load, True)
        except IndexMissing:
            log.warning("index disappeared during refresh; keeping the loaded one", exc_info=True)
            self._marker_sig = _marker_signature(state.marker_path(self.settings.data_dir))
            return False
        changed = (self._marker.get("generation") != old_generation
                   or self._lexical.generation != old_lexical)
        if changed:
            log.info("index refreshed: generation %s", self._marker.get("generation"))
        return changed

    def _on_collection(self, op: Callable):
        """Run `op(collection)`. When the collection was dropped (an old generation cleaned up
        after a rebuild switched), reopen the live one and run it once more."""
        collection = self._collection
        try:
            return self._guarded(op, collection)
        except Exception as exc:
            if not is_not_found(exc):
                raise
        with self._lock:
            if self._collection is collection:
                log.info("collection %s is gone; following the generation marker", self.collection_name)
                self._reload()
            collection = self._collection
        return self._guarded(op, collection)

    # ---- search --------------------------------------------------------------------------
    def dense_search(self, query: str, n: int, doc_type: str | None = None) -> list[DenseHit]:
        return self.dense_search_vector(self.embeddings.embed_query(query), n, doc_type)

    def dense_search_vector(self, vector: Sequence[float], n: int,
                            doc_type: str | None = None) -> list[DenseHit]:
        if n <= 0:
            return []
        where = {"doc_type": doc_type} if doc_type else None
        result = self._on_collection(lambda c: c.query(
            query_embeddings=[list(map(float, vector))], n_results=n, where=where,
            include=["documents", "metadatas", "distances"],
        ))
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
        page = self._on_collection(lambda c: c.get(ids=ids, include=["documents", "metadatas"]))
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
        got = self._on_collection(lambda c: c.get(where=where, include=["documents", "metadatas"]))
        out: dict[str, list[Chunk]] = {}
        for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
            meta = dict(meta or {})
            out.setdefault(str(meta.get("section")), []).append(Chunk(cid, text or "", meta))
        return out

    # ---- facts ---------------------------------------------------------------------------
    def count(self) -> int:
        return self._on_collection(lambda c: c.count())

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


def open_index(settings: IndexSettings, embeddings: Embeddings | None = None,
               reachability: Reachability | None = None) -> IndexHandle:
    """Open the ingested index for reading. Raises `IndexMissing` when nothing was ingested and
    `IndexUnavailable` when the Chroma server cannot be reached (pass the same `reachability`
    to the next attempt, so an outage is logged once)."""
    return IndexHandle(settings, embeddings, reachability)


def live_collection(settings: IndexSettings):
    """The Chroma collection readers use right now (for tools and benchmarks that read Chroma
    directly). Raises IndexMissing when nothing was ingested."""
    from ingest.embeddings import model_id_for

    client = chroma_client(settings)
    live = generations.read_live(settings, client, collection_name(model_id_for(settings)))
    if not live:
        raise IndexMissing()
    return client.get_collection(live["collection"])


def section_paths(metadatas) -> list[str]:
    """Distinct heading paths of document chunks (FAQ rows and external chunks left out), sorted."""
    seen: set[str] = set()
    for metadata in metadatas:
        metadata = metadata or {}
        if metadata.get("doc_type") == "faq" or metadata.get("external"):
            continue
        section = str(metadata.get("section") or "").strip()
        if section:
            seen.add(section)
    return sorted(seen)


def list_sections(settings: IndexSettings) -> list[str]:
    """The heading paths (``section`` metadata) of the documents in the index — what an FAQ's
    該当箇所 may name. Reads metadata only (no embedding model); [] when nothing was ingested."""
    try:
        collection = live_collection(settings)
    except Exception:  # nothing ingested yet, or the Chroma server is down
        return []
    return section_paths(meta for _, _, meta in iter_collection(collection, include_documents=False))
