"""ORM rows -> frozen views (ORM objects never cross the store's boundary)."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import CaseView, EventView, TurnView, format_ref

_CHUNK = 500


def turn_counts(session: Session, case_ids: Iterable[int]) -> dict[int, tuple[int, int, int]]:
    """case id -> (turns, 👍, 👎), one grouped query per 500 cases."""
    ids = list(case_ids)
    result: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        stmt = (
            select(
                TurnRow.case_id,
                func.count(TurnRow.id),
                func.sum(sql_case((TurnRow.feedback == "up", 1), else_=0)),
                func.sum(sql_case((TurnRow.feedback == "down", 1), else_=0)),
            )
            .where(TurnRow.case_id.in_(chunk))
            .group_by(TurnRow.case_id)
        )
        for case_id, n, up, down in session.execute(stmt):
            result[case_id] = (int(n or 0), int(up or 0), int(down or 0))
    return result


def case_view(row: CaseRow, counts: tuple[int, int, int] | None = None) -> CaseView:
    n, up, down = counts or (0, 0, 0)
    return CaseView(
        id=row.id,
        ref=format_ref(row.id),
        status=row.status,
        conversation_key=row.conversation_key,
        kind=row.kind,
        workspace=row.workspace,
        channel=row.channel,
        thread_ts=row.thread_ts,
        requester_id=row.requester_id,
        requester_name=row.requester_name,
        municipality=row.municipality,
        title=row.title,
        assignee=row.assignee,
        escalation_reason=row.escalation_reason,
        programmes=tuple(row.programmes or ()),
        staff_channel=row.staff_channel,
        staff_message_ts=row.staff_message_ts,
        turn_count=n,
        feedback_up=up,
        feedback_down=down,
        created_at=row.created_at,
        updated_at=row.updated_at,
        escalated_at=row.escalated_at,
        first_staff_response_at=row.first_staff_response_at,
        resolved_at=row.resolved_at,
        team=row.team,
    )


def case_views(session: Session, rows: list[CaseRow]) -> list[CaseView]:
    counts = turn_counts(session, [r.id for r in rows])
    return [case_view(r, counts.get(r.id)) for r in rows]


def one_case_view(session: Session, row: CaseRow) -> CaseView:
    return case_view(row, turn_counts(session, [row.id]).get(row.id))


def turn_view(row: TurnRow) -> TurnView:
    return TurnView(
        id=row.id,
        case_id=row.case_id,
        question=row.question,
        answer=row.answer,
        answered=row.answered,
        mode=row.mode,
        model=row.model,
        prompt_version=row.prompt_version,
        sources=tuple(row.sources or ()),
        evidence=row.evidence,
        latency_ms=row.latency_ms,
        fallback_reason=row.fallback_reason,
        error=row.error,
        pii_kinds=tuple(row.pii_kinds or ()),
        feedback=row.feedback,
        feedback_comment=row.feedback_comment,
        created_at=row.created_at,
        completed_at=row.completed_at,
    )


def event_view(row: EventRow) -> EventView:
    return EventView(
        id=row.id,
        case_id=row.case_id,
        turn_id=row.turn_id,
        kind=row.kind,
        actor=row.actor,
        from_status=row.from_status,
        to_status=row.to_status,
        text=row.text,
        created_at=row.created_at,
        data=dict(row.data) if row.data else None,
    )
