"""Small helpers around retrieved passages: the chunk text without its heading line, the page
number, and the LangChain `Document` a passage becomes."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document

from bot.domain import Passage


def page_of(value: Any) -> int | None:
    try:
        page = int(value)
    except (TypeError, ValueError):
        return None
    return page if page > 0 else None


def split_heading(text: str, metadata: dict) -> str:
    """Chunk page_content is "<title> > <section>" on the first line, then the body: return the
    body alone (title and section travel as separate fields)."""
    first, sep, rest = text.partition("\n")
    heading = str(metadata.get("heading") or "")
    title = str(metadata.get("title") or "")
    if sep and first.strip() and (first.strip() == heading.strip() or
                                  (title and first.startswith(title))):
        return rest.strip()
    return text.strip()


def to_document(p: Passage) -> Document:
    return Document(page_content=p.text, id=p.chunk_id, metadata={
        "chunk_id": p.chunk_id, "source": p.source, "title": p.title, "section": p.section,
        "page": p.page or 0, "doc_type": p.doc_type, "score": p.score,
        "dense_score": p.dense_score, "bm25_score": p.bm25_score,
    })
