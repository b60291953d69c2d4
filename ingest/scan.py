"""Which files an ingest looks at, and how they map to `source` keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders import SUPPORTED_SUFFIXES


@dataclass
class Scope:
    root: Path  # sources are relative to this folder
    prefix: str  # posix sub-path inside root ("" = everything)
    is_file: bool = False

    def contains(self, source: str) -> bool:
        if not self.prefix:
            return True
        if self.is_file:
            return source == self.prefix
        return source == self.prefix or source.startswith(self.prefix + "/")


def resolve_scope(knowledge_dir: Path, path: Path | None) -> Scope:
    """A PATH inside the knowledge dir is a sub-folder (or file) ingest that touches only its own
    sources. A folder elsewhere is ingested under its own name (`/mnt/share/rules/a.pdf` becomes
    source `rules/a.pdf`, doc_type rules) and, likewise, touches only the sources under that name
    (so it stands in for a knowledge-dir sub-folder of the same name)."""
    kb = knowledge_dir.resolve()
    target = (path or knowledge_dir).resolve()
    if not target.exists():
        raise IngestError(f"指定されたパスが見つかりません: {target}")
    if target == kb or kb in target.parents:
        rel = target.relative_to(kb).as_posix()
        return Scope(root=kb, prefix="" if rel == "." else rel, is_file=target.is_file())
    if target.is_file():
        return Scope(root=target.parent, prefix=target.name, is_file=True)
    return Scope(root=target.parent, prefix=target.name)


def _hidden(rel: Path) -> bool:
    """Hidden files, Office lock files (~$x.docx) and the folder's own README are not knowledge."""
    if any(part.startswith((".", "~$")) for part in rel.parts):
        return True
    return rel.stem.lower() == "readme"


def list_files(scope: Scope) -> list[tuple[str, Path]]:
    """(source, path) of every visible file in scope, sorted by source."""
    start = scope.root / scope.prefix if scope.prefix else scope.root
    candidates = [start] if start.is_file() else [p for p in start.rglob("*") if p.is_file()]
    out = []
    for p in candidates:
        rel = p.relative_to(scope.root)
        if _hidden(rel):
            continue
        out.append((rel.as_posix(), p))
    return sorted(out)


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
