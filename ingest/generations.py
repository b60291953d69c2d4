"""Index generations: which Chroma collection and which BM25 build readers use right now.

An ingest writes into the live collection in place (readers see chunks come and go, never an
error); `--rebuild` builds a new collection and BM25 index BESIDE the live ones and then switches
by ONE atomic write of the generation marker:

- embedded Chroma: `data_dir/index_generation.json` (os.replace), polled by readers with a stat();
- Chroma server: the metadata of a small pointer collection `<family>.live` (one request), polled
  by every replica every few seconds; each host also keeps its own marker file naming its local
  BM25 build.

The marker: {"generation", "collection" (physical name), "lexical" (BM25 build on this host),
"embedding_model", "documents", "chunks", "per_doc_type", "last_ingest"}.

Collections of one embedding model (a "family"): the first is named after the model
(`kb_<model>`, as before generations existed), later ones `kb_<model>-g<8 hex>`. A replaced one
is dropped by a later ingest once `keep_old_index_s` has passed (see `pipeline`).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime, timezone

from ingest import lexical, state
from ingest.settings import IndexSettings
from ingest.store import COLLECTION_METADATA, is_not_found

_FAMILY_PART = 50


def physical_name(family: str) -> str:
    """A fresh collection name for a rebuild of `family`."""
    return f"{family[:_FAMILY_PART]}-g{uuid.uuid4().hex[:8]}"


def pointer_name(family: str) -> str:
    return f"{family[:57]}.live"


def is_member(name: str, family: str) -> bool:
    """Is collection `name` one of `family`'s physical collections (the pointer is not)?"""
    return name == family or (name.startswith(family[:_FAMILY_PART] + "-g") and
                              len(name) == len(family[:_FAMILY_PART]) + 10)


def encode(marker: dict) -> dict:
    """Chroma metadata holds scalars only: dicts become JSON, None becomes ""."""
    return {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else
                ("" if v is None else v)) for k, v in marker.items()}


def decode(metadata: dict | None) -> dict:
    marker = dict(metadata or {})
    marker.pop("hnsw:space", None)
    for key in ("per_doc_type",):
        if isinstance(marker.get(key), str):
            try:
                marker[key] = json.loads(marker[key])
            except ValueError:
                marker[key] = {}
    return marker


def _get(client, name: str):
    try:
        return client.get_collection(name)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def read_live(settings: IndexSettings, client, family: str) -> dict | None:
    """The live generation's marker, or None when nothing was ingested for `family`.
    With a Chroma server it comes from the server (the pointer; before generations existed, the
    family collection's own metadata); otherwise from the marker file."""
    if not settings.chroma_host:
        marker = state.read_marker(settings.data_dir)
        if marker and marker.get("generation"):
            marker.setdefault("collection", family)
            return marker
        return None
    pointer = _get(client, pointer_name(family))
    if pointer is not None:
        marker = decode(pointer.metadata)
        if marker.get("generation") and marker.get("collection"):
            return marker
    legacy = _get(client, family)
    if legacy is not None:
        marker = decode(legacy.metadata)
        if marker.get("generation"):
            marker["collection"] = family
            marker.pop("lexical", None)
            return marker
    return None


def commit(settings: IndexSettings, client, family: str, marker: dict) -> None:
    """Make `marker` the live generation (the switch readers follow)."""
    if settings.chroma_host:
        pointer = client.get_or_create_collection(pointer_name(family), metadata=COLLECTION_METADATA)
        pointer.modify(metadata=encode(marker))
    state.write_marker(settings.data_dir, marker)


def members(client, family: str) -> list[str]:
    """Names of every physical collection of `family` on this Chroma."""
    names = []
    for item in client.list_collections():
        name = item if isinstance(item, str) else getattr(item, "name", str(item))
        if is_member(name, family):
            names.append(name)
    return sorted(names)


def build_lexical(settings: IndexSettings, vectors) -> str:
    """A BM25 build of everything in `vectors`' collection, not yet CURRENT (see `commit`)."""
    ids, texts, doc_types = [], [], []
    for chunk_id, text, metadata in vectors.iter_all():
        ids.append(chunk_id)
        texts.append(text or "")
        doc_types.append(str(metadata.get("doc_type", "other")))
    return lexical.build(settings.lexical_dir, ids, texts, doc_types, publish=False)


def new_marker(vectors, live: dict | None, new_generation: bool, gen: str | None,
               settings: IndexSettings) -> dict:
    """The marker of the generation an ingest commits (a new generation id when the content
    changed; `gen`: the BM25 build made for it, None to keep this host's current one)."""
    previous = dict(live or {})
    if new_generation or not previous.get("generation"):
        per_type: Counter = Counter()
        sources: set[str] = set()
        for _, _, metadata in vectors.iter_all(include_documents=False):
            per_type[str(metadata.get("doc_type", "other"))] += 1
            sources.add(str(metadata.get("source", "")))
        counts = {"documents": len(sources), "chunks": sum(per_type.values()),
                  "per_doc_type": dict(sorted(per_type.items()))}
        generation = uuid.uuid4().hex
    else:  # nothing changed: keep the generation (readers have nothing to reload)
        counts = {k: previous.get(k) for k in ("documents", "chunks", "per_doc_type")}
        generation = previous["generation"]
    local = state.read_marker(settings.data_dir) or {}
    if gen is None:  # BM25 unchanged: this host's build of this generation stays
        gen = local.get("lexical") or lexical.current_generation(settings.lexical_dir)
    return {
        "generation": generation,
        "collection": vectors.name,
        "lexical": gen,
        "embedding_model": vectors.embeddings.model_id,
        **counts,
        "last_ingest": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
