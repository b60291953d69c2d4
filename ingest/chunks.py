"""From a loaded document to LangChain `Document` chunks with the metadata every reader relies on.

page_content = heading line ("{title} > {section}", or just the title) + "\n" + body.
metadata: source, title, section, page, doc_type, hash, chunk_id, heading (+ FAQ columns).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator
from pathlib import PurePosixPath

from langchain_core.documents import Document

from ingest.chunking import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP, iter_chunk_lines
from ingest.documents import LoadedDocument

DOC_TYPES = ("strategy", "rules", "faq", "other")
_FOLDER_TYPES = {
    "strategy": "strategy", "strategies": "strategy", "戦略": "strategy", "計画": "strategy",
    "rules": "rules", "rule": "rules", "要綱": "rules", "要領": "rules", "規程": "rules",
    "規則": "rules", "制度": "rules",
    "faq": "faq", "faqs": "faq", "qa": "faq", "q&a": "faq", "よくある質問": "faq",
}
RESERVED = {"source", "title", "section", "page", "doc_type", "hash", "chunk_id", "heading"}


def doc_type_for(source: str, document: LoadedDocument) -> str:
    if document.doc_type:
        value = document.doc_type.strip().lower()
        return _FOLDER_TYPES.get(value, value if value in DOC_TYPES else "other")
    parts = PurePosixPath(source).parts
    if len(parts) > 1:
        key = unicodedata.normalize("NFKC", parts[0]).lower()
        if key in _FOLDER_TYPES:
            return _FOLDER_TYPES[key]
    return "faq" if document.records and not document.lines else "other"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_chunk(source: str, title: str, section: str, body: str, page: int, doc_type: str,
               extra: dict | None = None) -> Document:
    heading = f"{title} > {section}" if section else title
    content = f"{heading}\n{body}"
    metadata: dict = {
        k: v for k, v in (extra or {}).items()
        if k not in RESERVED and isinstance(v, (str, int, float, bool)) and v != ""
    }
    metadata.update(
        source=source, title=title, section=section, page=int(page or 0), doc_type=doc_type,
        hash=_sha(content)[:32], heading=heading,
    )
    identity = json.dumps({"c": content, "m": metadata}, ensure_ascii=False, sort_keys=True)
    metadata["chunk_id"] = _sha(identity)[:40]
    return Document(page_content=content, metadata=metadata, id=metadata["chunk_id"])


def document_chunks(
    document: LoadedDocument,
    source: str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
) -> list[Document]:
    return list(iter_document_chunks(document, source, chunk_size=chunk_size, overlap=overlap))


STREAM_SECTION_CHARS = 200_000  # a streamed document's sections are chunked in pieces this big


def iter_document_chunks(
    document: LoadedDocument,
    source: str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    overlap: int = DEFAULT_OVERLAP,
) -> Iterator[Document]:
    """The chunks of `document`, one at a time (a streamed document is read as they are taken)."""
    doc_type = doc_type_for(source, document)
    title = " ".join(document.title.split())
    seen: set[str] = set()
    max_section = STREAM_SECTION_CHARS if document.streamed else None
    for piece in iter_chunk_lines(document.lines, chunk_size, overlap, max_section):
        chunk = make_chunk(source, title, piece.section, piece.body, piece.page, doc_type, document.extra)
        if chunk.id not in seen:
            seen.add(chunk.id)
            yield chunk
    for record in document.records:
        body = f"Q: {record.question}\nA: {record.answer}"
        extra = dict(document.extra)
        extra.update(record.extra)
        extra["row"] = record.row
        chunk = make_chunk(source, title, record.section, body, 0, doc_type, extra)
        if chunk.id not in seen:
            seen.add(chunk.id)
            yield chunk
