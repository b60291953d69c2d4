"""Putting the index right after an ingest that did not finish (killed, host lost, an error).

What such an ingest can leave behind, and what the next one does about it:

- vectors in Chroma without a record (killed between the Chroma write and the record write):
  deleted — the file they came from is indexed again (its manifest entry was never saved);
- records whose vector is gone (killed between the Chroma delete and the record delete, or a
  Chroma server that lost data): deleted — the files are indexed again (`changes.plan_changes`
  compares record counts with the manifest);
- records without a source (the indexing API refreshes records in two steps): deleted;
- a half-built collection of a rebuild that never switched: dropped;
- BM25 and the generation marker behind Chroma: rebuilt and rewritten by the pipeline whenever a
  repair ran or the cheap consistency check (`consistent`) fails.
"""

from __future__ import annotations

import logging
import time

from ingest import generations, lexical, state
from ingest.vectors import VectorIndex

log = logging.getLogger(__name__)


def reconcile(vectors: VectorIndex) -> list[str]:
    """Make Chroma and the record manager (every folder's records) agree. Returns what was done."""
    done: list[str] = []
    in_chroma = vectors.all_ids()
    rows = vectors._execute("SELECT key, namespace, group_id FROM upsertion_record "
                            "WHERE namespace LIKE :p ESCAPE '!'", p=vectors.prefix)
    recorded = {r[0] for r in rows if r[2]}
    orphans = sorted(in_chroma - recorded)
    if orphans and vectors.collection is not None:
        for start in range(0, len(orphans), 2000):
            vectors.collection.delete(ids=orphans[start:start + 2000])
        done.append(f"記録のないベクトル {len(orphans)} 件を削除しました")
    # A record without a source was half-refreshed when the ingest died; its vector went with
    # the orphans above (its file is indexed again, see `changes.plan_changes`).
    missing = [(r[0], r[1]) for r in rows if r[0] not in in_chroma or not r[2]]
    for key, namespace in missing:
        vectors._execute("DELETE FROM upsertion_record WHERE namespace = :ns AND key = :k",
                         ns=namespace, k=key)
    if missing:
        done.append(f"ベクトルと対応しない記録 {len(missing)} 件を削除しました（該当ファイルは取り込み直します）")
    return done


def drop_strays(settings, embeddings, client, family: str, keep: set[str]) -> list[str]:
    """Drop collections of `family` that are neither live nor waiting to be retired (a rebuild
    that died before it switched)."""
    done = []
    for name in generations.members(client, family):
        if name in keep:
            continue
        VectorIndex(settings, embeddings, name, client=client, create=False).drop()
        state.manifest_path(settings.data_dir, name).unlink(missing_ok=True)
        done.append(f"作りかけの索引 {name} を削除しました")
    return done


def drop_retired(settings, embeddings, client, retired: dict[str, float], live: str,
                 keep_s: float) -> dict[str, float]:
    """Drop collections a rebuild replaced more than `keep_s` seconds ago; returns the rest."""
    left = {}
    now = time.time()
    for name, since in retired.items():
        if name == live:
            continue
        if now - since < keep_s:
            left[name] = since
            continue
        VectorIndex(settings, embeddings, name, client=client, create=False).drop()
        state.manifest_path(settings.data_dir, name).unlink(missing_ok=True)
        log.info("old index collection %s dropped (replaced %.0f s ago)", name, now - since)
    return left


def index_consistent(vectors: VectorIndex, live: dict) -> bool:
    """Cheap check that the live generation marker describes what is in Chroma: it names this
    collection, and its chunk count is Chroma's and the records' (every folder's)."""
    count = vectors.count()
    return (live.get("collection", vectors.name) == vectors.name and live.get("chunks") == count
            and vectors.record_count(all_folders=True) == count)


def local_lexical_ok(settings, vectors: VectorIndex, live: dict | None) -> bool:
    """This host's BM25 build belongs to the live generation and holds as many chunks as Chroma
    (with a Chroma server, another host's ingest may have moved the generation on)."""
    if live is None:
        return False
    local = state.read_marker(settings.data_dir) or {}
    if local.get("generation") != live.get("generation"):
        return False
    gen = local.get("lexical") or lexical.current_generation(settings.lexical_dir)
    ids = lexical.chunk_ids(settings.lexical_dir, gen)
    return ids is not None and len(ids) == vectors.count()


def audit(settings) -> dict:
    """Do Chroma, the records, this host's BM25 build and the generation marker agree? (Used by
    tests and `bench/faultlib` after killing an ingest; cheap enough for an operator too.)"""
    from ingest.embeddings import model_id_for
    from ingest.journal import Journal
    from ingest.store import collection_name, fresh_chroma_client

    family = collection_name(model_id_for(settings))
    client = fresh_chroma_client(settings)
    live = generations.read_live(settings, client, family)
    if not live:
        return {"agree": False, "reason": "no live generation"}
    vectors = VectorIndex(settings, None, live["collection"], client=client, create=False)
    chroma = vectors.all_ids()
    rows = vectors._execute("SELECT DISTINCT key FROM upsertion_record WHERE namespace LIKE :p "
                            "ESCAPE '!' AND group_id IS NOT NULL", p=vectors.prefix)
    records = {r[0] for r in rows}
    local = state.read_marker(settings.data_dir) or {}
    bm25 = set(lexical.chunk_ids(settings.lexical_dir, local.get("lexical")) or [])
    journal = Journal(settings.record_manager_url, family)
    try:
        row = journal.read() or {}
    finally:
        journal.close()
    out = {
        "collection": live["collection"], "generation": live.get("generation"),
        "chroma": len(chroma), "records": len(records), "bm25": len(bm25),
        "marker_chunks": live.get("chunks"), "local_generation": local.get("generation"),
        "vectors_without_record": len(chroma - records), "records_without_vector": len(records - chroma),
        "bm25_differs": len(bm25 ^ chroma), "journal": row.get("state"),
    }
    # The vector index answers for what the metadata lists: each chunk's own vector finds it.
    sample = sorted(chroma)[:50]
    got = vectors.collection.get(ids=sample, include=["embeddings"]) if sample else {"ids": []}
    misses = 0
    for chunk_id, vector in zip(got["ids"], got.get("embeddings", [])):
        hit = vectors.collection.query(query_embeddings=[list(map(float, vector))], n_results=1)
        misses += hit["ids"][0][:1] != [chunk_id]
    out["dense_misses"] = misses
    out["agree"] = (not misses and not out["vectors_without_record"] and not out["records_without_vector"]
                    and not out["bm25_differs"] and live.get("chunks") == len(chroma)
                    and local.get("generation") == live.get("generation") and out["journal"] == "done")
    return out
