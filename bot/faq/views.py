"""Frozen views of FAQ entries (the only shapes that leave ``bot.faq.store``), their statuses
and labels (the one vocabulary every surface shows), and the stable JSON of the CLI.

An entry's life: ``draft`` -> ``approved`` -> ``retired``; a draft may also be ``rejected``
(editing a rejected entry makes it a draft again). Only approved entries are indexed and cited.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from bot.cases.views import format_ref
from bot.errors import ConsultError

JST = timezone(timedelta(hours=9), "JST")


class FaqStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETIRED = "retired"


FAQ_STATUS_LABELS: dict[str, str] = {
    FaqStatus.DRAFT: "下書き",
    FaqStatus.APPROVED: "承認済み",
    FaqStatus.REJECTED: "却下",
    FaqStatus.RETIRED: "廃止",
}


class FaqEventKind(StrEnum):
    CREATED = "created"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETIRED = "retired"


FAQ_EVENT_LABELS: dict[str, str] = {
    FaqEventKind.CREATED: "作成",
    FaqEventKind.EDITED: "編集",
    FaqEventKind.APPROVED: "承認",
    FaqEventKind.REJECTED: "却下",
    FaqEventKind.RETIRED: "廃止",
}

FIELD_LABELS: dict[str, str] = {"question": "質問", "answer": "回答", "section": "該当箇所",
                                "category": "分類"}

FAQ_REF_PREFIX = "FAQ#"


class FaqNotFound(ConsultError):
    user_message = "指定された FAQ が見つかりませんでした。"


def faq_status_label(status: str | None) -> str:
    return FAQ_STATUS_LABELS.get(status or "", status or "")


def format_faq_ref(entry_id: int) -> str:
    return f"{FAQ_REF_PREFIX}{entry_id}"


_REF = re.compile(r"^(?:faq)?\s*#?\s*(\d+)$", re.I)


def parse_faq_ref(ref: str | int) -> int:
    """``"FAQ#3"``, ``"#3"``, ``"3"`` (full-width too) or ``3`` -> 3."""
    if isinstance(ref, int):
        return ref
    match = _REF.match(unicodedata.normalize("NFKC", str(ref)).strip())
    if not match:
        raise FaqNotFound(f"not an FAQ reference: {ref!r}",
                          user_message=f"「{ref}」は FAQ 番号として認識できません（例: FAQ#3 または 3）。")
    return int(match.group(1))


def jst_date(ts: datetime | None) -> str:
    return "" if ts is None else ts.astimezone(JST).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class FaqEntryView:
    id: int
    status: str
    question: str                    # masked
    answer: str                      # masked
    section: str | None              # 該当箇所: the heading path of the knowledge base it rests on
    category: str | None             # 分類 (programme)
    case_id: int | None              # the case whose staff answer it came from
    source_event_id: int | None      # that staff reply
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None
    citations: int = 0               # answers that cited it since its approval

    @property
    def ref(self) -> str:
        return format_faq_ref(self.id)

    @property
    def case_ref(self) -> str | None:
        return format_ref(self.case_id) if self.case_id is not None else None

    @property
    def status_label(self) -> str:
        return faq_status_label(self.status)

    @property
    def label(self) -> str:
        """How an answer cites it: 「職員回答（相談#12 より・2026-12-03 承認）」."""
        return staff_answer_label(self.case_id, self.approved_at)


def staff_answer_label(case_id: int | None, approved_at: datetime | None) -> str:
    parts = []
    if case_id is not None:
        parts.append(f"{format_ref(case_id)} より")
    if approved_at is not None:
        parts.append(f"{jst_date(approved_at)} 承認")
    return "職員回答" + (f"（{'・'.join(parts)}）" if parts else "")


@dataclass(frozen=True)
class FaqEventView:
    id: int
    entry_id: int
    kind: str                        # a FaqEventKind value
    actor: str
    from_status: str | None
    to_status: str | None
    text: str | None                 # a reason (reject / retire), when given
    changed: tuple[str, ...]         # fields an edit changed ("question", "answer", ...)
    created_at: datetime

    @property
    def label(self) -> str:
        return FAQ_EVENT_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class FaqCitationView:
    turn_id: int
    case_id: int
    created_at: datetime

    @property
    def case_ref(self) -> str:
        return format_ref(self.case_id)


@dataclass(frozen=True)
class FaqEntryDetail:
    entry: FaqEntryView
    events: tuple[FaqEventView, ...]
    recent_citations: tuple[FaqCitationView, ...]


@dataclass(frozen=True)
class FaqList:
    entries: tuple[FaqEntryView, ...]
    counts: dict[str, int]           # status -> number of entries (every status present)


# ---- the stable JSON of `consult faq list/show --json` ------------------------------------------
JSON_KEYS = ("id", "status", "question", "answer", "section", "category", "case_ref",
             "approved_by", "approved_at", "citations")


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(timezone.utc).isoformat()


def entry_json(entry: FaqEntryView) -> dict:
    return {
        "id": entry.id, "status": entry.status, "question": entry.question,
        "answer": entry.answer, "section": entry.section, "category": entry.category,
        "case_ref": entry.case_ref, "approved_by": entry.approved_by,
        "approved_at": _iso(entry.approved_at), "citations": entry.citations,
    }


def event_json(event: FaqEventView) -> dict:
    return {"kind": event.kind, "actor": event.actor, "from_status": event.from_status,
            "to_status": event.to_status, "text": event.text, "changed": list(event.changed),
            "created_at": _iso(event.created_at)}
