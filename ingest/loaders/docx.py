"""Word .docx via python-docx: heading styles give the section path, tables become readable
rows ("見出し: 値、見出し: 値")."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ingest.documents import LoadedDocument, TextLine
from ingest.errors import LoadError

_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)$", re.I)
_TITLE_STYLES = {"title", "表題", "タイトル"}


def table_rows(rows: list[list[str]]) -> list[str]:
    """Readable lines for a table: with a header row, 'header: value、…'; else 'a | b'."""
    rows = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        return []
    # collapse merged cells repeated by python-docx
    rows = [[c for i, c in enumerate(r) if i == 0 or c != r[i - 1]] for r in rows]
    header = rows[0]
    if len(rows) > 1 and all(header) and all(len(r) == len(header) for r in rows[1:]):
        return [
            "、".join(f"{h}: {v}" for h, v in zip(header, r) if v) for r in rows[1:]
        ]
    return [" | ".join(c for c in r if c) for r in rows]


def load_docx(path: Path) -> LoadedDocument:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"Word ファイルを読み込めませんでした（ファイルが壊れている可能性があります）: {exc}") from exc
    title = (document.core_properties.title or "").strip()
    lines: list[TextLine] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            if style.strip().lower() in _TITLE_STYLES:
                title = title or text
                continue
            m = _HEADING_STYLE.match(style.strip())
            lines.append(TextLine(text, heading_level=int(m.group(1)) if m else None))
        elif isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            lines.extend(TextLine(r) for r in table_rows(rows))
    return LoadedDocument(title=title or path.stem, lines=lines)
