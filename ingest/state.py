"""Small JSON state files under data_dir: the per-collection file manifest (what was ingested,
by content hash, with each file's title, type, chunks and indexing time), the generation marker
that readers poll to pick up a refreshed index, and the report of the last ingest run."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

MARKER_NAME = "index_generation.json"
LAST_RUN_NAME = "last_ingest_run.json"


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return None


def manifest_path(data_dir: Path, collection: str) -> Path:
    return data_dir / f"manifest-{collection}.json"


def load_manifest(data_dir: Path, collection: str) -> dict:
    data = _read_json(manifest_path(data_dir, collection)) or {}
    data.setdefault("files", {})
    return data


def save_manifest(data_dir: Path, collection: str, manifest: dict) -> None:
    _write_json(manifest_path(data_dir, collection), manifest)


def marker_path(data_dir: Path) -> Path:
    return data_dir / MARKER_NAME


def read_marker(data_dir: Path) -> dict | None:
    return _read_json(marker_path(data_dir))


def write_marker(data_dir: Path, marker: dict) -> None:
    _write_json(marker_path(data_dir), marker)


def save_last_run(data_dir: Path, report: dict) -> None:
    """The report of the last (non-dry) ingest run, or its fatal error (``"fatal"``)."""
    _write_json(data_dir / LAST_RUN_NAME, report)


def read_last_run(data_dir: Path) -> dict | None:
    return _read_json(data_dir / LAST_RUN_NAME)
