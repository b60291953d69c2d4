"""How an approved FAQ entry lives in the index: one chunk, like a row of an FAQ sheet.

- ``source`` is ``staff-faq/<id>`` (never a file of ``knowledge_base/``; the ingest pipeline
  keeps such "external" chunks apart from files, see ``ingest.external``);
- ``title`` is the citation label 「職員回答（相談#12 より・2026-12-03 承認）」, so every surface
  (Slack, console, CLI) cites it as a staff answer without knowing about entries;
- ``section`` is its 分類, the text is ``"職員回答 > 分類\\nQ: …\\nA: …"`` as for a sheet row, and
  the 該当箇所 column is kept, so the retriever's primary-source-first rule (``basis.py``) cites
  that section of the knowledge base before the entry when the section is in the index;
- ``doc_type`` is ``faq``; ``external`` names the source (``staff-faq``) and ``faq_entry_id``
  the entry.

The chunk id is a hash of the text and metadata, so an edit makes a new chunk (embedded once)
and the old one is deleted; an unchanged entry is never embedded again.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Iterable

from bot.faq.views import FaqEntryView

if TYPE_CHECKING:
    from langchain_core.documents import Document

EXTERNAL_NAME = "staff-faq"
SOURCE_PREFIX = f"{EXTERNAL_NAME}/"
HEADING = "職員回答"
BASIS_COLUMN = "該当箇所"

_SOURCE = re.compile(rf"^{re.escape(SOURCE_PREFIX)}(\d+)$")


def entry_source(entry_id: int) -> str:
    return f"{SOURCE_PREFIX}{entry_id}"


def entry_id_of_source(source: str | None) -> int | None:
    """The entry id of a cited source (``staff-faq/12`` -> 12), else None."""
    match = _SOURCE.match(source or "")
    return int(match.group(1)) if match else None


def entry_document(entry: FaqEntryView) -> "Document":
    from langchain_core.documents import Document

    category = (entry.category or "").strip()
    heading = f"{HEADING} > {category}" if category else HEADING
    content = f"{heading}\nQ: {entry.question.strip()}\nA: {entry.answer.strip()}"
    # The heading line stays short ("職員回答 > 分類") so what is embedded is the entry itself;
    # the title carries the citation label people see.
    metadata: dict = {
        "source": entry_source(entry.id), "title": entry.label, "section": category, "page": 0,
        "doc_type": "faq", "heading": heading, "external": EXTERNAL_NAME,
        "faq_entry_id": entry.id, "hash": _sha(content)[:32],
    }
    if entry.section and entry.section.strip():
        metadata[BASIS_COLUMN] = entry.section.strip()
    if entry.case_id is not None:
        metadata["case_ref"] = entry.case_ref
    identity = json.dumps({"c": content, "m": metadata}, ensure_ascii=False, sort_keys=True)
    metadata["chunk_id"] = _sha(identity)[:40]
    return Document(page_content=content, metadata=metadata, id=metadata["chunk_id"])


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_documents(entries: Iterable[FaqEntryView]) -> list["Document"]:
    return [entry_document(e) for e in entries]
