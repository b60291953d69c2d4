"""The ingest run: lock -> journal -> scan -> load -> chunk -> index (LangChain indexing API +
SQLRecordManager over Chroma) -> delete removed files -> BM25 -> manifest -> generation marker.

Guarantees:
- unchanged files are not even re-read (size/mtime, then content hash); a changed file re-embeds
  only its changed chunks (record manager); a removed file's chunks are deleted; a sub-folder
  ingest touches only that sub-folder; a file that fails to load keeps its previously indexed
  chunks (it is never handed to cleanup); `dry_run` embeds nothing and changes no index;
- one ingest at a time: per data dir (file lock) and, with a shared PostgreSQL record database,
  across hosts (advisory lock);
- nothing outside the folder is read (see `scan`), files over CONSULT_MAX_FILE_MB are skipped and
  big text files are streamed: memory stays flat, chunks are embedded and written 64 at a time;
- killed at any point, the next plain ingest finds the journal still "running" and repairs the
  index (see `repair`), so Chroma, the records, BM25 and the marker agree again;
- `rebuild` of the whole folder builds a new collection and BM25 index beside the live ones and
  switches readers with one atomic marker write (see `generations`); the old collection is
  dropped by a later ingest after CONSULT_KEEP_OLD_INDEX_S;
- an ingest removes only what its own knowledge folder put in a shared index, unless
  `prune_foreign`.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from langchain_core.embeddings import Embeddings

from ingest import generations, lexical, repair, state
from ingest.changes import plan_changes
from ingest.chunking import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP
from ingest.chunks import iter_document_chunks
from ingest.embeddings import make_embeddings
from ingest.errors import IndexUnavailable, IngestError, LoadError, UnsupportedFile
from ingest.faults import checkpoint
from ingest.journal import Journal
from ingest.loaders import load_file
from ingest.lock import ingest_lock, shared_ingest_lock
from ingest.progress import Progress
from ingest.report import IngestReport
from ingest.scan import resolve_scope, scan
from ingest.settings import IndexSettings
from ingest.store import collection_name, fresh_chroma_client, is_unreachable
from ingest.vectors import VectorIndex

log = logging.getLogger(__name__)

PIPELINE_VERSION = 1


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
    prune_foreign: bool = False,
) -> IngestReport:
    """Ingest `path` (default: the knowledge dir). `embeddings` replaces the raw model (it is
    still put behind the persistent cache); tests pass a counting wrapper of the real model."""
    started = time.perf_counter()
    scope = resolve_scope(settings.knowledge_dir, path)
    emb = make_embeddings(settings, inner=embeddings)
    try:
        run = _Run(settings, scope, emb, progress, chunk_size, overlap)
        if dry_run:
            report = run.dry(rebuild, prune_foreign)
        else:
            with ingest_lock(settings.data_dir), shared_ingest_lock(settings.record_manager_url):
                try:
                    report = run.execute(rebuild, prune_foreign)
                except Exception as exc:  # recorded for the console's 資料 page, then raised
                    if is_unreachable(exc):  # the Chroma server went away mid-run
                        exc = IndexUnavailable()
                    state.save_last_run(settings.data_dir, {
                        "finished_at": _now(), "root": str(scope.root), "scope": scope.prefix,
                        "fatal": str(exc) if isinstance(exc, IngestError) else type(exc).__name__})
                    raise
                report.elapsed_s = time.perf_counter() - started
                state.save_last_run(settings.data_dir, {**report.to_dict(), "finished_at": _now()})
    except Exception as exc:
        if is_unreachable(exc):  # the next ingest repairs what the lost server left half-done
            raise IndexUnavailable() from exc
        raise
    finally:
        emb.close()
    report.elapsed_s = time.perf_counter() - started
    return report


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Run:
    def __init__(self, settings, scope, emb, progress, chunk_size, overlap):
        self.settings, self.scope, self.emb = settings, scope, emb
        self.progress, self.chunk_size, self.overlap = progress, chunk_size, overlap
        self.family = collection_name(emb.model_id)
        self.fingerprint = {"version": PIPELINE_VERSION, "chunk_size": chunk_size, "overlap": overlap,
                            "model": emb.model_id}

    def _report(self, name: str, rebuild: bool, dry_run: bool) -> IngestReport:
        return IngestReport(root=str(self.scope.root), scope=self.scope.prefix, dry_run=dry_run,
                            rebuild=rebuild, embedding_model=self.emb.model_id, collection=name)

    # ---- dry run -------------------------------------------------------------------------
    def dry(self, rebuild: bool, prune_foreign: bool) -> IngestReport:
        client = fresh_chroma_client(self.settings)
        live = generations.read_live(self.settings, client, self.family)
        name = live["collection"] if live else self.family
        vectors = VectorIndex(self.settings, self.emb, name, client=client, create=False)
        report = self._report(name, rebuild, True)
        manifest = {"files": {}} if rebuild else state.load_manifest(self.settings.data_dir, name)
        counts = {} if rebuild else vectors.source_counts()
        changes = plan_changes(self.scope, scan(self.scope, self.settings.max_file_bytes), manifest,
                               self.fingerprint, counts, report)
        ids: dict[str, list[str]] = {}
        for chunk in self._chunks(changes.todo, report, {}):
            ids.setdefault(chunk.metadata["source"], []).append(chunk.id)
        for source, chunk_ids in ids.items():
            added, deleted, skipped = (len(chunk_ids), 0, 0) if rebuild else vectors.plan(source, chunk_ids)
            report.chunks_added += added
            report.chunks_deleted += deleted
            report.chunks_skipped += skipped
        for source in changes.removed:
            report.chunks_deleted += vectors.delete_source(source, dry_run=True)
        if prune_foreign:
            report.pruned_foreign = vectors.prune_foreign(dry_run=True, scope=self.scope)
        base = 0 if rebuild and not self.scope.prefix else vectors.count()
        report.chunks_total = base + report.chunks_added - report.chunks_deleted
        return report

    # ---- the real thing ------------------------------------------------------------------
    def execute(self, rebuild: bool, prune_foreign: bool) -> IngestReport:
        settings, data_dir = self.settings, self.settings.data_dir
        # Fresh: this process may have opened the embedded store before another process wrote.
        client = fresh_chroma_client(settings)
        journal = Journal(settings.record_manager_url, self.family)
        try:
            previous = journal.begin(uuid.uuid4().hex)
            checkpoint(settings, "begin")
            crashed = previous is not None and previous["state"] == "running"
            retired: dict = dict((previous or {}).get("detail", {}).get("retired", {}))
            live = generations.read_live(settings, client, self.family)
            live_name = live["collection"] if live else self.family
            repairs: list[str] = []
            if crashed:
                log.warning("the previous ingest (%s, pid %s) did not finish: checking the index",
                            previous.get("host"), previous.get("pid"))
                repairs.append("前回の取り込みが途中で終了していたため、索引を点検しました")
                repairs += repair.drop_strays(settings, self.emb, client, self.family,
                                              {live_name, *retired})
            switch = rebuild and not self.scope.prefix
            if switch:  # a new collection beside the live one
                name = generations.physical_name(self.family)
                journal.note(building=name)
                vectors = VectorIndex(settings, self.emb, name, client=client)
                if live and not prune_foreign:
                    old = VectorIndex(settings, self.emb, live_name, client=client, create=False)
                    if old.collection is not None:
                        vectors.copy_foreign_from(old)
                manifest = {"files": {}}
            else:
                vectors = VectorIndex(settings, self.emb, live_name, client=client)
                if vectors.adopt_legacy_records():
                    log.info("records of %s adopted by this knowledge folder", live_name)
                manifest = state.load_manifest(data_dir, live_name)
                if not crashed and live and not repair.index_consistent(vectors, live):
                    log.warning("the index did not match its generation marker: repairing it")
                    repairs.append("資料の索引と世代情報が一致していなかったため、点検しました")
                    crashed = True
                if crashed:
                    repairs += repair.reconcile(vectors)
            report = self._report(vectors.name, rebuild, False)
            report.repairs = repairs
            changed = self._index(vectors, manifest, report, force=rebuild)
            if not switch and prune_foreign:
                report.pruned_foreign = vectors.prune_foreign(scope=self.scope)
                changed = changed or bool(report.pruned_foreign)
            new_generation = bool(changed or crashed or switch or live is None)
            gen = None
            if (new_generation or lexical.built_params(settings.lexical_dir) != lexical.BM25_PARAMS
                    or not repair.local_lexical_ok(settings, vectors, live)):
                gen = generations.build_lexical(settings, vectors)
                checkpoint(settings, "lexical")
            if switch:
                checkpoint(settings, "building")
            state.save_manifest(data_dir, vectors.name, manifest)
            checkpoint(settings, "manifest")
            marker = generations.new_marker(vectors, live, new_generation, gen, settings)
            if switch and live and live_name != vectors.name:
                # recorded before the switch: a crash right after it must not drop the old one early
                retired[live_name] = time.time()
                journal.note(retired=retired)
            generations.commit(settings, client, self.family, marker)
            checkpoint(settings, "commit")
            if gen:
                lexical.set_current(settings.lexical_dir, gen)
            report.generation = marker["generation"]
            report.chunks_total = vectors.count()
            report.foreign_documents = vectors.foreign_document_count()
            if switch:
                report.switched = True
                journal.note(building=None)
            retired = repair.drop_retired(settings, self.emb, client, retired, vectors.name,
                                          settings.keep_old_index_s)
            journal.note(retired=retired)
            journal.finish()
            return report
        finally:
            journal.close()

    def _index(self, vectors: VectorIndex, manifest: dict, report: IngestReport, *,
               force: bool) -> bool:
        """Index what changed (`force`: everything in scope, vectors rewritten in place)."""
        scanned = scan(self.scope, self.settings.max_file_bytes)
        changes = plan_changes(self.scope, scanned, manifest, self.fingerprint,
                               vectors.source_counts(), report, force=force)
        done: dict[str, dict] = {}
        if changes.todo:
            added, deleted, skipped = vectors.index(self._chunks(changes.todo, report, done),
                                                    force_update=force)
            report.chunks_added += added
            report.chunks_deleted += deleted
            report.chunks_skipped += skipped
        manifest["files"].update(done)
        for source in changes.removed:
            report.chunks_deleted += vectors.delete_source(source)
            manifest["files"].pop(source, None)
        return bool(report.chunks_added or report.chunks_deleted or force)

    def _chunks(self, todo, report: IngestReport, done: dict):
        """The chunks of every file to index, one file after another. A file that fails to load
        yields nothing (its previous chunks stay); `done` gets the manifest entry of each file
        whose chunks were all yielded."""
        bar = Progress(enabled=self.progress and bool(todo), total=len(todo))
        try:
            for source, path, entry, _ in todo:
                bar.advance(source)
                try:
                    document = load_file(path)
                    chunks = iter_document_chunks(document, source, chunk_size=self.chunk_size,
                                                  overlap=self.overlap)
                    if not document.streamed:
                        chunks = list(chunks)  # a loader error surfaces before anything is written
                        if not chunks:
                            raise LoadError("本文が空です")
                except UnsupportedFile as exc:
                    report.unsupported.append({"path": source, "error": str(exc)})
                    continue
                except LoadError as exc:
                    log.warning("could not load %s: %s", source, exc)
                    report.failed.append({"path": source, "error": str(exc)})
                    continue
                count = 0
                for chunk in chunks:
                    if not count:  # what the console's 資料 page lists per document
                        entry.update(title=chunk.metadata.get("title") or document.title,
                                     doc_type=chunk.metadata.get("doc_type"), indexed_at=_now())
                    count += 1
                    yield chunk
                report.chars_loaded += document.char_count()
                if count == 0:
                    report.failed.append({"path": source, "error": "本文が空です"})
                    continue
                entry["chunks"] = count
                done[source] = entry
        finally:
            bar.close()
