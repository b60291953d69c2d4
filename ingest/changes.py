"""What an ingest has to do: compare the scanned files with the manifest (size/mtime, then content
hash) and with the records this folder holds, and list the files to (re)index and the sources
to remove.

A file whose records do not match what the manifest says was indexed (a crash, or another
folder's ingest removed vectors both held) is indexed again: nothing is re-embedded (the cache
and the record manager skip what exists), the missing chunks come back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ingest.report import IngestReport
from ingest.scan import Scope, ScanResult, file_digest, is_supported

log = logging.getLogger(__name__)


@dataclass
class Changes:
    todo: list[tuple[str, Path, dict, bool]] = field(default_factory=list)  # source, path, entry, is_new
    removed: list[str] = field(default_factory=list)


def plan_changes(scope: Scope, scanned: ScanResult, manifest: dict, fingerprint: dict,
                 record_counts: dict[str, int], report: IngestReport, *,
                 force: bool = False) -> Changes:
    """Fill the file counters of `report`; `manifest` gets the entries of files found unchanged
    by content (new mtime, same bytes). `force`: treat every file in scope as changed."""
    known = {s: e for s, e in manifest["files"].items() if scope.contains(s)}
    known_sources = set(known) | {s for s in record_counts if scope.contains(s)}
    changes = Changes()
    present: set[str] = set()
    report.files_seen = len(scanned.files) + len(scanned.skipped)
    for skipped in scanned.skipped:
        report.skipped.append({"path": skipped["path"], "error": skipped["error"]})
        if skipped.get("keep"):
            present.add(skipped["path"])  # too large / unreadable: what was indexed stays
    for source, path in scanned.files:
        if not is_supported(path):
            report.unsupported.append({"path": source, "error": f"対応していないファイル形式です（{path.suffix or '拡張子なし'}）"})
            continue
        present.add(source)  # from here on, a failure keeps the file's previous chunks
        old = None if force else known.get(source)
        if old and old.get("config") != fingerprint:
            old = None  # chunked with other parameters (or by an older version): redo it
        if old and record_counts.get(source, 0) != old.get("chunks", -1):
            log.warning("%s: %d records, %s expected; indexing it again", source,
                        record_counts.get(source, 0), old.get("chunks"))
            old = None
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
        is_new = force or source not in known_sources
        report.files_new += is_new
        report.files_changed += not is_new
        changes.todo.append((source, path, entry, is_new))
    changes.removed = sorted(known_sources - present)
    report.files_removed = len(changes.removed)
    return changes
