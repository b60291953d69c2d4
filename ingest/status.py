"""A read-only view of the index for people (the staff console's 資料 page): the indexed documents,
the last ingest run and the embedding model — read from the small state files under data_dir
(generation marker, manifest, last-run report), never from Chroma, so it is cheap and works while
an ingest runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

from ingest import state
from ingest.settings import IndexSettings


@dataclass(frozen=True)
class DocumentStatus:
    source: str                     # path relative to the knowledge folder
    title: str
    doc_type: str                   # strategy / rules / faq / other
    chunks: int
    indexed_at: datetime | None     # when its chunks were last (re)built; None: before this was kept


@dataclass(frozen=True)
class LastRun:
    finished_at: datetime | None
    files_new: int = 0
    files_changed: int = 0
    files_removed: int = 0
    files_unchanged: int = 0
    chunks_added: int = 0
    chunks_deleted: int = 0
    elapsed_s: float = 0.0
    failed: tuple[tuple[str, str], ...] = ()        # (path, reason)
    unsupported: tuple[tuple[str, str], ...] = ()
    fatal: str | None = None        # the run stopped with this error
    skipped: tuple[tuple[str, str], ...] = ()      # refused: a link out of the folder, too large
    repairs: tuple[str, ...] = ()   # what the run found broken and put right


@dataclass(frozen=True)
class IndexStatus:
    ingested: bool                  # False: nothing was ingested yet
    embedding_model: str | None
    collection: str | None
    documents: tuple[DocumentStatus, ...] = ()
    chunks: int = 0
    per_doc_type: dict = field(default_factory=dict)
    last_ingest: datetime | None = None
    last_run: LastRun | None = None


def _when(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _pairs(items) -> tuple[tuple[str, str], ...]:
    return tuple((str(i.get("path", "")), str(i.get("error", ""))) for i in items or ()
                 if isinstance(i, dict))


def _last_run(raw: dict | None) -> LastRun | None:
    if not raw:
        return None
    ints = {k: int(raw.get(k) or 0) for k in ("files_new", "files_changed", "files_removed",
                                              "files_unchanged", "chunks_added", "chunks_deleted")}
    return LastRun(finished_at=_when(raw.get("finished_at")), elapsed_s=float(raw.get("elapsed_s") or 0),
                   failed=_pairs(raw.get("failed")), unsupported=_pairs(raw.get("unsupported")),
                   fatal=raw.get("fatal"), skipped=_pairs(raw.get("skipped")),
                   repairs=tuple(str(r) for r in raw.get("repairs") or ()), **ints)


def index_status(settings: IndexSettings) -> IndexStatus:
    marker = state.read_marker(settings.data_dir) or {}
    last_run = _last_run(state.read_last_run(settings.data_dir))
    collection = marker.get("collection")
    if not collection:
        return IndexStatus(ingested=False, embedding_model=None, collection=None, last_run=last_run)
    files = state.load_manifest(settings.data_dir, collection)["files"]
    documents = []
    for source, entry in sorted(files.items()):
        documents.append(DocumentStatus(
            source=source,
            title=str(entry.get("title") or PurePosixPath(source).stem),
            doc_type=str(entry.get("doc_type") or "other"),
            chunks=int(entry.get("chunks") or 0),
            indexed_at=_when(entry.get("indexed_at")),
        ))
    return IndexStatus(
        ingested=True, embedding_model=marker.get("embedding_model"), collection=collection,
        documents=tuple(documents), chunks=int(marker.get("chunks") or 0),
        per_doc_type=dict(marker.get("per_doc_type") or {}),
        last_ingest=_when(marker.get("last_ingest")), last_run=last_run)
