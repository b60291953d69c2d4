"""The 👎 list: answers officers rated as unhelpful, newest first, with whether staff followed
up (replied in the thread or resolved the case after the rating)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from bot.cases.convert import case_views, turn_view
from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import CaseView, EventKind, TurnView

PAGE_SIZE = 50
FOLLOW_UP_KINDS = (EventKind.STAFF_REPLY.value, EventKind.RESOLVED.value)
FOLLOW_UP_LABELS = {
    EventKind.STAFF_REPLY.value: "職員が回答しました",
    EventKind.RESOLVED.value: "解決済みにしました",
    EventKind.ASSIGNED.value: "担当者が対応中です",
    EventKind.NOTE.value: "メモのみあります",
}
NOT_FOLLOWED = "まだ対応していません"


@dataclass(frozen=True)
class FeedbackItem:
    turn: TurnView
    case: CaseView
    rated_at: datetime | None
    follow_up: str | None            # the EventKind of the strongest follow-up, None when none
    follow_up_at: datetime | None

    @property
    def followed_up(self) -> bool:
        return self.follow_up in FOLLOW_UP_KINDS

    @property
    def follow_up_label(self) -> str:
        return FOLLOW_UP_LABELS.get(self.follow_up or "", NOT_FOLLOWED)


@dataclass(frozen=True)
class FeedbackPage:
    items: tuple[FeedbackItem, ...]
    total: int
    page: int
    pages: int
    pending_only: bool


def _followed_up():
    """A 👎 turn is followed up by a staff reply or a resolution after the rating."""
    return exists(select(EventRow.id).where(
        EventRow.case_id == TurnRow.case_id, EventRow.kind.in_(FOLLOW_UP_KINDS),
        EventRow.created_at >= func.coalesce(TurnRow.feedback_at, TurnRow.created_at)))


def feedback_page(s: Session, *, page: int = 1, pending_only: bool = False) -> FeedbackPage:
    where = [TurnRow.feedback == "down"]
    if pending_only:
        where.append(~_followed_up())
    total = int(s.scalar(select(func.count()).select_from(TurnRow).where(and_(*where))) or 0)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    turns = list(s.scalars(select(TurnRow).where(*where)
                           .order_by(TurnRow.feedback_at.desc(), TurnRow.id.desc())
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    cases = {c.id: c for c in case_views(s, _case_rows(s, {t.case_id for t in turns}))}
    events: dict[int, list[tuple[str, datetime]]] = {}
    if turns:
        for cid, kind, at in s.execute(
                select(EventRow.case_id, EventRow.kind, EventRow.created_at)
                .where(EventRow.case_id.in_(list(cases)),
                       EventRow.kind.in_(list(FOLLOW_UP_LABELS)))
                .order_by(EventRow.id)):
            events.setdefault(cid, []).append((kind, at))
    items = []
    for t in turns:
        rated = t.feedback_at or t.created_at
        after = [(k, at) for k, at in events.get(t.case_id, ()) if at >= rated]
        best = None
        for kind in FOLLOW_UP_LABELS:  # strongest first
            best = next(((k, at) for k, at in after if k == kind), None)
            if best:
                break
        items.append(FeedbackItem(turn=turn_view(t), case=cases[t.case_id], rated_at=t.feedback_at,
                                  follow_up=best and best[0], follow_up_at=best and best[1]))
    return FeedbackPage(tuple(items), total, page, pages, pending_only)


def _case_rows(s: Session, ids: set[int]) -> list[CaseRow]:
    if not ids:
        return []
    return list(s.scalars(select(CaseRow).where(CaseRow.id.in_(sorted(ids)))))
