"""Which files an ingest looks at, and how they map to `source` keys."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders import SUPPORTED_SUFFIXES


@dataclass
class Scope:
    root: Path  # sources are relative to this folder
    prefix: str  # posix sub-path inside root ("" = everything)
    is_file: bool = False
    boundary: Path | None = None  # links may lead anywhere inside this folder (default: root)

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
    if not (target.is_dir() or target.is_file()):
        raise IngestError(f"取り込めるのはフォルダか通常のファイルです: {target}")
    if target == kb or kb in target.parents:
        rel = target.relative_to(kb).as_posix()
        return Scope(root=kb, prefix="" if rel == "." else rel, is_file=target.is_file())
    if target.is_file():
        return Scope(root=target.parent, prefix=target.name, is_file=True, boundary=target)
    return Scope(root=target.parent, prefix=target.name, boundary=target)


def _hidden(rel: Path) -> bool:
    """Hidden files, Office lock files (~$x.docx) and the folder's own README are not knowledge."""
    if any(part.startswith((".", "~$")) for part in rel.parts):
        return True
    return rel.stem.lower() == "readme"


@dataclass
class ScanResult:
    files: list[tuple[str, Path]] = field(default_factory=list)  # (source, path to read)
    # {"path", "error", "keep"}: refused by policy. keep=True: the file is there (e.g. too large)
    # and keeps what an earlier ingest indexed; keep=False: it must not be in the index at all
    # (a link leading out of the folder).
    skipped: list[dict] = field(default_factory=list)


OUTSIDE_LINK = "資料フォルダの外を指すリンクのため取り込みませんでした（リンク先は読みません）"
DIR_LINK = "フォルダへのリンクはたどりません（リンク先のフォルダを直接置いてください）"
BROKEN_LINK = "リンク先が見つかりません"


def too_large(size: int, limit: int) -> str:
    return (f"ファイルが大きすぎるため取り込みませんでした（{size / 1048576:.1f} MB、"
            f"上限 {limit / 1048576:.0f} MB: CONSULT_MAX_FILE_MB で変更できます）")


def scan(scope: Scope, max_bytes: int | None = None) -> ScanResult:
    """Every visible regular file in scope, sorted by source, without ever leaving the folder.

    Symbolic links are never followed out of the folder being ingested (`scope.boundary`): a link to a file inside it is read
    (under the link's own name), a link to anything outside, to a folder, or to nothing is
    reported in `skipped`. Folders are walked without following links, so a link loop cannot
    hang the scan. Files over `max_bytes` are reported, never opened."""
    root = (scope.boundary or scope.root).resolve()
    start = scope.root / scope.prefix if scope.prefix else scope.root
    result = ScanResult()

    def consider(path: Path, rel: Path, st: os.stat_result | None, error: str | None,
                 keep: bool = False) -> None:
        if _hidden(rel):
            return
        if error:
            result.skipped.append({"path": rel.as_posix(), "error": error, "keep": keep})
        elif st is not None and stat.S_ISREG(st.st_mode):
            if max_bytes is not None and st.st_size > max_bytes:
                result.skipped.append({"path": rel.as_posix(), "error": too_large(st.st_size, max_bytes),
                                       "keep": True})
            else:
                result.files.append((rel.as_posix(), path))

    def visit(path: Path) -> None:
        rel = path.relative_to(scope.root)
        try:
            st = path.lstat()
        except OSError as exc:
            consider(path, rel, None, f"ファイルを確認できませんでした: {exc.strerror or exc}", keep=True)
            return
        if stat.S_ISLNK(st.st_mode):
            target = Path(os.path.realpath(path))
            if target != root and root not in target.parents:
                consider(path, rel, None, OUTSIDE_LINK)
                return
            try:
                target_st = target.stat()
            except OSError:
                consider(path, rel, None, BROKEN_LINK)
                return
            if stat.S_ISDIR(target_st.st_mode):
                consider(path, rel, None, DIR_LINK)
            else:
                consider(target, rel, target_st, None)
            return
        if stat.S_ISDIR(st.st_mode):
            if rel.parts and _hidden(rel):
                return
            try:
                children = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError as exc:
                consider(path, rel, None, f"フォルダを開けませんでした: {exc.strerror or exc}", keep=True)
                return
            for entry in children:
                visit(path / entry.name)
            return
        consider(path, rel, st, None)

    visit(start)
    result.files.sort()
    result.skipped.sort(key=lambda s: s["path"])
    return result


def list_files(scope: Scope) -> list[tuple[str, Path]]:
    """(source, path) of every visible file in scope, sorted by source (see `scan`)."""
    return scan(scope).files


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
