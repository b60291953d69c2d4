"""Chroma access shared by the pipeline (writer) and the index handle (reader)."""

from __future__ import annotations

import re
import threading

import chromadb
from chromadb.config import Settings as ChromaSettings

from ingest.errors import IndexUnavailable
from ingest.settings import IndexSettings

COLLECTION_PREFIX = "kb_"


def collection_name(model_id: str) -> str:
    """Collection named after the embedding model (sanitised), so models never mix."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("._-") or "model"
    name = (COLLECTION_PREFIX + name)[:60]
    return name if name[-1].isalnum() else name + "0"


# chromadb keeps one "system" per path in a class-level dict; opening a client and dropping the
# cached system (`fresh_chroma_client`) from two threads at once (a reader's refresh, the FAQ
# sync thread) can make one of them miss its system. Both go through this lock.
_CLIENTS_LOCK = threading.RLock()


def chroma_client(settings: IndexSettings):
    """The Chroma client (raises IndexUnavailable when the Chroma server cannot be reached)."""
    with _CLIENTS_LOCK:
        return _client(settings)


def _client(settings: IndexSettings):
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       settings=chroma_settings)
        except Exception as exc:
            if is_unreachable(exc):
                raise IndexUnavailable() from exc
            raise
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def fresh_chroma_client(settings: IndexSettings):
    """A client that sees what other processes wrote since this process opened the store.

    An embedded Chroma caches one "system" per path per process, and that system's vector
    segment does not notice writes made by another process (an ingest). Dropping the cached
    system makes the next client load the store anew. Server mode needs nothing of the sort.
    """
    with _CLIENTS_LOCK:
        if not settings.chroma_host:
            try:
                from chromadb.api.client import SharedSystemClient

                SharedSystemClient._identifier_to_system.pop(str(settings.chroma_dir), None)
            except (ImportError, AttributeError):  # private API moved: fall back to the cached one
                import logging

                logging.getLogger(__name__).warning("cannot refresh the embedded Chroma client",
                                                    exc_info=True)
        return _client(settings)


COLLECTION_METADATA = {"hnsw:space": "cosine"}


def record_namespace(name: str, origin: str | None = None) -> str:
    """Record-manager namespace of a collection, per knowledge folder (`origin`); without one,
    the namespace every collection used before folders were told apart."""
    return f"chroma/{name}/{origin}" if origin else f"chroma/{name}"


def iter_collection(collection, include_documents: bool = True, page: int = 2000):
    """(chunk_id, text or None, metadata) of every chunk, a page at a time."""
    include = ["metadatas", "documents"] if include_documents else ["metadatas"]
    offset = 0
    while True:
        got = collection.get(limit=page, offset=offset, include=include)
        ids = got["ids"]
        if not ids:
            return
        docs = got.get("documents") or [None] * len(ids)
        for i, chunk_id in enumerate(ids):
            yield chunk_id, docs[i], got["metadatas"][i] or {}
        offset += len(ids)


def remote_marker(collection) -> dict:
    """The generation marker an ingest stored in the collection's metadata."""
    import json

    marker = dict(collection.metadata or {})
    marker.pop("hnsw:space", None)
    if isinstance(marker.get("per_doc_type"), str):
        try:
            marker["per_doc_type"] = json.loads(marker["per_doc_type"])
        except ValueError:
            marker["per_doc_type"] = {}
    return marker


def is_not_found(exc: BaseException) -> bool:
    """A collection that does not exist (any more): chromadb's NotFoundError (older versions
    raised ValueError / InvalidCollectionException with 'does not exist')."""
    name = type(exc).__name__
    return name in ("NotFoundError", "InvalidCollectionException") or (
        isinstance(exc, ValueError) and "does not exist" in str(exc))


def is_unreachable(exc: BaseException) -> bool:
    """The Chroma server did not answer (refused, reset, timed out, or a 5xx from a proxy)."""
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500
    return isinstance(exc, ValueError) and "Could not connect to a Chroma server" in str(exc)
