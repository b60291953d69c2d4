"""The ingest run: scan -> load -> chunk -> index (LangChain indexing API + SQLRecordManager over
Chroma) -> delete removed files -> rebuild BM25 -> manifest + generation marker.

Guarantees: unchanged files are not even re-read (size/mtime, then content hash); a changed file
re-embeds only its changed chunks (record manager); a removed file's chunks are deleted; a
sub-folder ingest touches only that sub-folder; a file that fails to load keeps its previously
indexed chunks (it is never handed to cleanup); `dry_run` embeds nothing and changes no index; one ingest
at a time per data dir.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ingest import lexical, state
from ingest.chunking import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP
from ingest.chunks import document_chunks
from ingest.embeddings import make_embeddings
from ingest.errors import IngestError, LoadError, UnsupportedFile
from ingest.loaders import load_file
from ingest.lock import ingest_lock
from ingest.progress import Progress
from ingest.report import IngestReport
from ingest.scan import file_digest, is_supported, list_files, resolve_scope
from ingest.settings import IndexSettings
from ingest.vectors import VectorIndex

log = logging.getLogger(__name__)

PIPELINE_VERSION = 1
INDEX_BATCH_CHUNKS = 64


def run_ingest(
    settings: IndexSettings,
    path: Path | None = None,
    *,
    rebuild: bool = False,
    dry_run: bool = False,
    progress: bool = False,
    embeddings: Embeddings | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
) -> IngestReport:
    """Ingest `path` (default: the knowledge dir). `embeddings` replaces the raw model (it is
    still put behind the persistent cache); tests pass a counting wrapper of the real model."""
    started = time.perf_counter()
    scope = resolve_scope(settings.knowledge_dir, path)
    if dry_run:
        report = _run(settings, scope, rebuild, True, progress, embeddings, chunk_size, overlap)
    else:
        with ingest_lock(settings.data_dir):
            try:
                report = _run(settings, scope, rebuild, False, progress, embeddings, chunk_size,
                              overlap)
            except Exception as exc:  # recorded for the console's 資料 page, then raised
                state.save_last_run(settings.data_dir, {
                    "finished_at": _now(), "root": str(scope.root), "scope": scope.prefix,
                    "fatal": str(exc) if isinstance(exc, IngestError) else type(exc).__name__})
                raise
            report.elapsed_s = time.perf_counter() - started
            state.save_last_run(settings.data_dir, {**report.to_dict(), "finished_at": _now()})
    report.elapsed_s = time.perf_counter() - started
    return report


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _run(settings, scope, rebuild, dry_run, progress, raw_embeddings, chunk_size, overlap):
    emb = make_embeddings(settings, inner=raw_embeddings)
    try:
        vectors = VectorIndex(settings, emb, create=not dry_run)
        report = IngestReport(root=str(scope.root), scope=scope.prefix, dry_run=dry_run,
                              rebuild=rebuild, embedding_model=emb.model_id,
                              collection=vectors.name)
        fingerprint = {"version": PIPELINE_VERSION, "chunk_size": chunk_size, "overlap": overlap,
                       "model": emb.model_id}
        manifest = state.load_manifest(settings.data_dir, vectors.name)
        if rebuild:
            if not dry_run:
                if scope.prefix:  # rebuild only what this ingest covers
                    for source in sorted(s for s in vectors.sources() if scope.contains(s)):
                        vectors.delete_source(source)
                else:
                    vectors.reset()
            manifest["files"] = {s: e for s, e in manifest["files"].items() if not scope.contains(s)}
            if not dry_run:
                state.save_manifest(settings.data_dir, vectors.name, manifest)
        known = {s: e for s, e in manifest["files"].items() if scope.contains(s)}
        known_sources = set(known) | {s for s in vectors.sources() if scope.contains(s)}

        files = list_files(scope)
        report.files_seen = len(files)
        todo: list[tuple[str, Path, dict, bool]] = []  # source, path, new manifest entry, is_new
        present: set[str] = set()
        for source, path in files:
            if not is_supported(path):
                report.unsupported.append({"path": source, "error": f"対応していないファイル形式です（{path.suffix or '拡張子なし'}）"})
                continue
            present.add(source)  # from here on, a failure keeps the file's previous chunks
            old = known.get(source)
            if old and old.get("config") != fingerprint:
                old = None  # chunked with other parameters (or by an older version): redo it
            try:
                stat = path.stat()
                entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "config": fingerprint}
                if old and old.get("size") == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns:
                    report.files_unchanged += 1
                    continue
                entry["sha256"] = file_digest(path)
            except OSError as exc:
                log.warning("cannot read %s: %s", source, exc)
                report.failed.append({"path": source, "error": f"ファイルを開けませんでした（アクセス権がないか、使用中です）: {exc.strerror or exc}"})
                continue
            if old and old.get("sha256") == entry["sha256"]:
                report.files_unchanged += 1
                manifest["files"][source] = {**old, **entry}
                continue
            is_new = source not in known_sources
            report.files_new += is_new
            report.files_changed += not is_new
            todo.append((source, path, entry, is_new))
        removed = sorted(known_sources - present)
        report.files_removed = len(removed)

        bar = Progress(enabled=progress and bool(todo), total=len(todo))
        batch: list[Document] = []
        batch_entries: list[tuple[str, dict]] = []

        def flush():
            if not batch:
                return
            if dry_run:
                added, deleted, skipped = vectors.plan(batch)
            else:
                added, deleted, skipped = vectors.index(batch)
            report.chunks_added += added
            report.chunks_deleted += deleted
            report.chunks_skipped += skipped
            for source, entry in batch_entries:
                manifest["files"][source] = entry
            batch.clear()
            batch_entries.clear()

        try:
            for source, path, entry, _ in todo:
                bar.advance(source)
                try:
                    document = load_file(path)
                    chunks = document_chunks(document, source, chunk_size=chunk_size, overlap=overlap)
                    if not chunks:
                        raise LoadError("本文が空です")
                except UnsupportedFile as exc:
                    report.unsupported.append({"path": source, "error": str(exc)})
                    continue
                except LoadError as exc:
                    log.warning("could not load %s: %s", source, exc)
                    report.failed.append({"path": source, "error": str(exc)})
                    continue
                report.chars_loaded += document.char_count()
                entry["chunks"] = len(chunks)
                entry["title"] = chunks[0].metadata.get("title") or document.title
                entry["doc_type"] = chunks[0].metadata.get("doc_type")
                entry["indexed_at"] = _now()
                batch.extend(chunks)
                batch_entries.append((source, entry))
                if len(batch) >= INDEX_BATCH_CHUNKS:
                    flush()
            flush()
        finally:
            bar.close()

        for source in removed:
            report.chunks_deleted += vectors.delete_source(source, dry_run=dry_run)
            manifest["files"].pop(source, None)

        changed = report.chunks_added or report.chunks_deleted or rebuild
        if dry_run:
            report.chunks_total = vectors.count() + report.chunks_added - report.chunks_deleted
            return report
        # No lexical index yet, or one built with other BM25 parameters: rebuild it too.
        stale = lexical.built_params(settings.lexical_dir) != lexical.BM25_PARAMS
        if changed or stale:
            _rebuild_lexical(settings, vectors)
        state.save_manifest(settings.data_dir, vectors.name, manifest)
        report.chunks_total = vectors.count()
        _write_marker(settings, vectors, report, bool(changed or stale))
        return report
    finally:
        emb.close()


def _rebuild_lexical(settings: IndexSettings, vectors: VectorIndex) -> None:
    ids, texts, doc_types = [], [], []
    for chunk_id, text, metadata in vectors.iter_all():
        ids.append(chunk_id)
        texts.append(text)
        doc_types.append(str(metadata.get("doc_type", "other")))
    lexical.build(settings.lexical_dir, ids, texts, doc_types)


def _write_marker(settings, vectors, report, changed: bool) -> None:
    previous = state.read_marker(settings.data_dir) or {}
    same_index = previous.get("collection") == vectors.name and previous.get("chunks") is not None
    if changed or not same_index:
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
    marker = {
        "generation": generation,
        "collection": vectors.name,
        "embedding_model": vectors.embeddings.model_id,
        **counts,
        "last_ingest": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    state.write_marker(settings.data_dir, marker)
    vectors.publish(marker)
