"""Loader dispatch by file type. Every loader returns a `LoadedDocument` or raises `LoadError`
with a Japanese reason; nothing here may crash the ingest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.documents import LoadedDocument
from ingest.errors import LoadError, UnsupportedFile


def _loaders() -> dict[str, Callable[[Path], LoadedDocument]]:
    from ingest.loaders.docx import load_docx
    from ingest.loaders.faq import load_csv, load_xlsx
    from ingest.loaders.html import load_html
    from ingest.loaders.pdf import load_pdf
    from ingest.loaders.text import load_text

    return {
        ".md": load_text, ".markdown": load_text, ".txt": load_text, ".text": load_text,
        ".html": load_html, ".htm": load_html,
        ".pdf": load_pdf,
        ".docx": load_docx,
        ".csv": load_csv,
        ".xlsx": load_xlsx, ".xlsm": load_xlsx,
    }


SUPPORTED_SUFFIXES = frozenset(
    {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".docx", ".csv", ".xlsx", ".xlsm"}
)


def load_file(path: Path) -> LoadedDocument:
    suffix = path.suffix.lower()
    loader = _loaders().get(suffix)
    if loader is None:
        raise UnsupportedFile(f"対応していないファイル形式です（{suffix or '拡張子なし'}）")
    try:
        document = loader(path)
    except LoadError:
        raise
    except PermissionError as exc:
        raise LoadError(f"ファイルを開けませんでした（アクセス権がないか、使用中です）: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise LoadError(f"文字コードを判別できませんでした: {exc}") from exc
    except Exception as exc:  # a broken file of any kind is reported, never a crash
        raise LoadError(f"読み込み中にエラーが発生しました（{type(exc).__name__}: {exc}）") from exc
    if document.streamed:  # read as its chunks are taken; an empty one yields no chunk
        return document
    if document.char_count() == 0 or not (
        document.records or any(line.text.strip() for line in document.lines)
    ):
        raise LoadError("本文が空です")
    return document
