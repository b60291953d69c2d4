"""PDF via pypdf: text per page with page numbers; lines that the layout broke between two
Japanese characters are rejoined; a PDF without a text layer is a reported failure."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ingest.documents import LoadedDocument, TextLine
from ingest.errors import LoadError
from ingest.structure import heading_level

log = logging.getLogger(__name__)

_JA = r"\u3005\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f、，「」『』（）・ー"
_JA_END = re.compile(rf"[{_JA}]$")
_JA_START = re.compile(rf"^[{_JA}]")
_NO_JOIN_END = re.compile(r"[。．！？!?：:]$")


def rejoin_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            out.append("")
            continue
        if out and out[-1]:
            prev = out[-1]
            if (
                _JA_END.search(prev)
                and not _NO_JOIN_END.search(prev)
                and _JA_START.match(line)
                and heading_level(TextLine(prev), 0) is None
                and heading_level(TextLine(line), 0) is None
            ):
                out[-1] = prev + line
                continue
        out.append(line)
    return out


def load_pdf(path: Path) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("パスワードで保護された PDF のため読み込めません")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError, TypeError) as exc:
        raise LoadError(f"PDF を読み込めませんでした（ファイルが壊れている可能性があります）: {exc}") from exc
    if not any(p.strip() for p in pages):
        raise LoadError("テキスト層がありません（スキャン画像の PDF の可能性があります）。OCR 済みの PDF を用意してください")
    lines: list[TextLine] = []
    for number, text in enumerate(pages, start=1):
        for line in rejoin_lines(text.replace("\r", "\n").split("\n")):
            lines.append(TextLine(line, page=number))
    title = ""
    try:
        title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception:  # broken metadata must not lose the text
        log.warning("PDF metadata unreadable in %s", path, exc_info=True)
    return LoadedDocument(title=title or path.stem, lines=lines)
