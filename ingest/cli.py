"""Command-line runner shared by `python -m ingest` and `consult ingest` / `consult index stats`.
Exit codes: 0 everything indexed, 2 some files failed (the rest indexed), 1 fatal."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from ingest.errors import IngestError
from ingest.settings import IndexSettings

log = logging.getLogger(__name__)


def ingest_command(settings: IndexSettings, path: Path | None, *, rebuild: bool, dry_run: bool,
                   as_json: bool, prune_foreign: bool = False) -> int:
    from ingest.pipeline import run_ingest
    from ingest.summary import format_report

    try:
        report = run_ingest(settings, path, rebuild=rebuild, dry_run=dry_run, progress=not as_json,
                            prune_foreign=prune_foreign)
    except IngestError as exc:
        _fatal(str(exc), as_json)
        return 1
    except Exception as exc:  # fatal, but never a traceback for the maintainer
        log.exception("ingest failed")
        _fatal(f"取り込み中に予期しないエラーが発生しました（{type(exc).__name__}: {exc}）", as_json)
        return 1
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(format_report(report))
    return report.exit_code


def stats_command(settings: IndexSettings, *, as_json: bool) -> int:
    from ingest.index import open_index
    from ingest.summary import format_stats

    try:
        stats = open_index(settings).stats()
    except IngestError as exc:
        _fatal(str(exc), as_json)
        return 1
    print(json.dumps(stats, ensure_ascii=False) if as_json else format_stats(stats))
    return 0


def _fatal(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message, "failed": []}, ensure_ascii=False))
    print(f"エラー: {message}", file=sys.stderr)
