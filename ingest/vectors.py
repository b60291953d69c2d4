"""The writer's view of one physical Chroma collection, kept in step with LangChain's
`SQLRecordManager` through `langchain_core.indexing.index`.

Records are kept per knowledge folder: namespace `chroma/<collection>/<origin>` (origin = a short
hash of the folder's identity, see `IndexSettings.knowledge_identity`). An ingest lists, updates
and removes only its own folder's records, and a vector is deleted from Chroma only when no other
folder's records still hold it — so folders sharing one index (replicas with a Chroma server and
a shared DATABASE_URL) never delete each other's documents. `prune_foreign` does, on request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator

from langchain_classic.indexes import SQLRecordManager
from langchain_core.documents import Document
from langchain_core.indexing import index as lc_index
from sqlalchemy import text as sql

from ingest.embeddings import CachedEmbeddings
from ingest.faults import checkpoint
from ingest.settings import IndexSettings
from ingest.store import COLLECTION_METADATA, is_not_found, iter_collection, record_namespace

log = logging.getLogger(__name__)

PAGE = 2000
INDEX_BATCH_CHUNKS = 64  # chunks embedded and written per step (memory stays flat on big files)


def origin_key(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12]


def make_vector_store(client, name: str, embeddings, cls=None):
    """langchain_chroma's `Chroma` over our client and collection settings (cosine space): the
    one construction ingest writes through (LangChain's standard vector-store suite runs on it).
    `cls`: a subclass (the writer's, which guards deletes of vectors other folders share)."""
    from langchain_chroma import Chroma

    return (cls or Chroma)(client=client, collection_name=name, embedding_function=embeddings,
                           collection_metadata=COLLECTION_METADATA)


def _like_prefix(prefix: str) -> str:
    """`prefix` as a LIKE pattern matching everything below it ('!' escapes _ and %)."""
    return prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _chunk_key(doc: Document) -> str:
    return doc.metadata["chunk_id"]


def _source_of(doc: Document) -> str:
    return doc.metadata["source"]


class VectorIndex:
    def __init__(self, settings: IndexSettings, embeddings: CachedEmbeddings, name: str, *,
                 client, create: bool = True, origin: str | None = None):
        """`origin`: whose records these are (default: this knowledge folder's; an external
        source such as the approved FAQ entries has its own, see `ingest.external`)."""
        self.settings = settings
        self.embeddings = embeddings
        self.name = name
        self.client = client
        self.origin = origin or origin_key(settings.knowledge_identity)
        self.prefix = _like_prefix(record_namespace(name) + "/")
        self.records = SQLRecordManager(record_namespace(name, self.origin),
                                        db_url=settings.record_manager_url)
        self.records.create_schema()
        self.collection = None
        if create:
            self.collection = self.client.get_or_create_collection(name, metadata=COLLECTION_METADATA)
        else:
            try:
                self.collection = self.client.get_collection(name)
            except Exception as exc:
                if not is_not_found(exc):
                    raise
                log.debug("collection %s does not exist yet", name)
        self._store = None

    @property
    def namespace(self) -> str:
        return self.records.namespace

    @property
    def store(self):
        if self._store is None:
            from langchain_chroma import Chroma

            index = self

            class SharedAwareChroma(Chroma):
                def add_documents(self, documents, **kwargs):
                    ids = super().add_documents(documents, **kwargs)
                    checkpoint(index.settings, "chroma_add")
                    return ids

                def delete(self, ids=None, **kwargs):  # used by the indexing API's cleanup
                    if ids:
                        index._delete_vectors(list(ids))

            self._store = make_vector_store(self.client, self.name, self.embeddings,
                                            SharedAwareChroma)
        return self._store

    def _execute(self, statement: str, **params):
        with self.records._make_session() as session:
            result = session.execute(sql(statement), params)
            rows = result.fetchall() if result.returns_rows else None
            session.commit()
        return rows

    # ---- reading -------------------------------------------------------------------------
    def count(self) -> int:
        return self.collection.count() if self.collection is not None else 0

    def source_counts(self) -> dict[str, int]:
        """source -> number of records this folder holds for it."""
        rows = self._execute("SELECT group_id, COUNT(*) FROM upsertion_record WHERE namespace = :ns "
                             "GROUP BY group_id", ns=self.namespace)
        return {r[0]: int(r[1]) for r in rows if r[0]}

    def sources(self) -> set[str]:
        return set(self.source_counts())

    def record_count(self, *, all_folders: bool = False) -> int:
        if all_folders:
            rows = self._execute("SELECT COUNT(DISTINCT key) FROM upsertion_record "
                                 "WHERE namespace LIKE :p ESCAPE '!'", p=self.prefix)
        else:
            rows = self._execute("SELECT COUNT(*) FROM upsertion_record WHERE namespace = :ns",
                                 ns=self.namespace)
        return int(rows[0][0])

    def foreign_namespaces(self) -> list[str]:
        rows = self._execute("SELECT DISTINCT namespace FROM upsertion_record WHERE namespace LIKE :p ESCAPE '!' "
                             "AND namespace <> :ns", p=self.prefix, ns=self.namespace)
        return sorted(r[0] for r in rows)

    def foreign_document_count(self) -> int:
        """How many documents (sources) other knowledge folders hold in this collection (external
        sources such as the FAQ entries are not folders and are not counted)."""
        return sum(len(self._groups(namespace)) for namespace in self.foreign_namespaces()
                   if not namespace.rsplit("/", 1)[-1].startswith("ext-"))

    def iter_all(self, include_documents: bool = True) -> Iterator[tuple[str, str | None, dict]]:
        if self.collection is None:
            return iter(())
        return iter_collection(self.collection, include_documents, PAGE)

    def all_ids(self) -> set[str]:
        return {chunk_id for chunk_id, _, _ in self.iter_all(include_documents=False)}

    # ---- writing -------------------------------------------------------------------------
    def adopt_legacy_records(self) -> int:
        """Records written before folders were told apart (namespace `chroma/<collection>`)
        become this folder's. Returns how many were adopted."""
        legacy = record_namespace(self.name)
        rows = self._execute("SELECT COUNT(*) FROM upsertion_record WHERE namespace = :old", old=legacy)
        if rows[0][0]:
            self._execute("DELETE FROM upsertion_record WHERE namespace = :old AND key IN "
                          "(SELECT key FROM upsertion_record WHERE namespace = :ns)",
                          old=legacy, ns=self.namespace)
            self._execute("UPDATE upsertion_record SET namespace = :ns WHERE namespace = :old",
                          ns=self.namespace, old=legacy)
        return int(rows[0][0])

    def index(self, docs: Iterable[Document], *, force_update: bool = False) -> tuple[int, int, int]:
        """Index a stream of chunks (files one after another, each complete), embedding and
        writing `INDEX_BATCH_CHUNKS` at a time. Old chunks of the files seen are removed at the
        end (scoped cleanup), so a file split over several batches is never half-deleted."""
        result = lc_index(docs, self.records, self.store, batch_size=INDEX_BATCH_CHUNKS,
                          cleanup="scoped_full", source_id_key=_source_of, key_encoder=_chunk_key,
                          force_update=force_update)
        return result["num_added"] + result["num_updated"], result["num_deleted"], result["num_skipped"]

    def plan(self, source: str, ids: list[str]) -> tuple[int, int, int]:
        """What `index` would do for one file's chunk ids, without embedding or writing."""
        ids = list(dict.fromkeys(ids))
        exists = self._exists(ids)
        old = set(self.records.list_keys(group_ids=[source]))
        added = exists.count(False)
        return added, len(old - set(ids)), len(ids) - added

    def _exists(self, keys: list[str]) -> list[bool]:
        out: list[bool] = []
        for start in range(0, len(keys), PAGE):
            out += self.records.exists(keys[start:start + PAGE])
        return out

    def _shared_keys(self, keys: list[str]) -> set[str]:
        """Of `keys`, those another folder's records still hold."""
        held: set[str] = set()
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            marks = ",".join(f":k{i}" for i in range(len(part)))
            rows = self._execute(
                f"SELECT DISTINCT key FROM upsertion_record WHERE namespace LIKE :p ESCAPE '!' AND "
                f"namespace <> :ns AND key IN ({marks})",
                p=self.prefix, ns=self.namespace, **{f"k{i}": k for i, k in enumerate(part)})
            held.update(r[0] for r in rows)
        return held

    def _delete_vectors(self, keys: list[str]) -> None:
        if self.collection is None or not keys:
            return
        keep = self._shared_keys(keys)
        doomed = [k for k in keys if k not in keep]
        for start in range(0, len(doomed), PAGE):
            self.collection.delete(ids=doomed[start:start + PAGE])
        checkpoint(self.settings, "chroma_delete")

    def delete_source(self, source: str, *, dry_run: bool = False) -> int:
        keys = self.records.list_keys(group_ids=[source])
        if keys and not dry_run:
            self._delete_vectors(keys)
            self.records.delete_keys(keys)
        return len(keys)

    def prune_foreign(self, *, dry_run: bool = False, scope=None) -> int:
        """Remove what other knowledge folders put in this collection (`--prune-foreign`)."""
        removed = 0
        for namespace in self.foreign_namespaces():
            other = SQLRecordManager(namespace, engine=self.records.engine)
            groups = {g for g in self._groups(namespace) if scope is None or scope.contains(g)}
            keys = other.list_keys(group_ids=sorted(groups)) if groups else []
            removed += len(keys)
            if keys and not dry_run:
                mine = {k for k, e in zip(keys, self._exists(keys)) if e}
                other.delete_keys(keys)
                self._delete_vectors([k for k in keys if k not in mine])
        return removed

    def copy_foreign_from(self, source: "VectorIndex") -> int:
        """Copy what other knowledge folders hold in `source` (vectors as they are, nothing is
        embedded) with their records, so a rebuild from this folder keeps their documents."""
        copied = 0
        for namespace in source.foreign_namespaces():
            origin = namespace.rsplit("/", 1)[-1]
            target = SQLRecordManager(record_namespace(self.name, origin), engine=self.records.engine)
            rows = self._execute("SELECT key, group_id FROM upsertion_record WHERE namespace = :ns",
                                 ns=namespace)
            for start in range(0, len(rows), PAGE):
                part = rows[start:start + PAGE]
                got = source.collection.get(ids=[r[0] for r in part],
                                            include=["embeddings", "documents", "metadatas"])
                if got["ids"]:
                    self.collection.upsert(ids=got["ids"], embeddings=got["embeddings"],
                                           documents=got["documents"], metadatas=got["metadatas"])
                present = set(got["ids"])
                kept = [r for r in part if r[0] in present]
                target.update([r[0] for r in kept], group_ids=[r[1] for r in kept])
                copied += len(kept)
        return copied

    def _groups(self, namespace: str) -> set[str]:
        rows = self._execute("SELECT DISTINCT group_id FROM upsertion_record WHERE namespace = :ns",
                             ns=namespace)
        return {r[0] for r in rows if r[0]}

    def drop(self) -> None:
        """Drop the collection and every folder's records of it."""
        try:
            self.client.delete_collection(self.name)
        except Exception as exc:
            if not is_not_found(exc):
                raise
        self._execute("DELETE FROM upsertion_record WHERE namespace LIKE :p ESCAPE '!' OR namespace = :old",
                      p=self.prefix, old=record_namespace(self.name))
        self.collection = None
        self._store = None
