"""Read-side queries of the case store: lists, the staff queue, exports and statistics."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.convert import case_view, case_views, event_view, turn_counts, turn_view
from bot.cases.lifecycle import get_case_row
from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import (INTERNAL_EVENT_KINDS, CaseDetail, CaseStats, CaseStatus, EventKind,
                             StaffQueue)


def _list_rows(s: Session, *, status=None, since=None, municipality=None, requester=None,
               assignee=None, limit=None, newest_first=True) -> list[CaseRow]:
    stmt = select(CaseRow)
    if status:
        stmt = stmt.where(CaseRow.status == status)
    if since is not None:
        stmt = stmt.where(CaseRow.created_at >= since)
    if municipality:
        stmt = stmt.where(CaseRow.municipality == municipality)
    if requester:
        stmt = stmt.where(CaseRow.requester_id == requester)
    if assignee:
        stmt = stmt.where(CaseRow.assignee == assignee)
    order = (CaseRow.created_at.desc(), CaseRow.id.desc()) if newest_first else \
        (CaseRow.created_at, CaseRow.id)
    stmt = stmt.order_by(*order)
    if limit:
        stmt = stmt.limit(limit)
    return list(s.scalars(stmt))


def list_cases(s: Session, **filters):
    return case_views(s, _list_rows(s, **filters))


def list_details(s: Session, include_internal: bool, **filters) -> list[CaseDetail]:
    return _details(s, _list_rows(s, **filters), include_internal)


def staff_queue(s: Session, limit: int) -> StaffQueue:
    open_statuses = (CaseStatus.NEEDS_STAFF.value, CaseStatus.IN_PROGRESS.value)
    priority = sql_case((CaseRow.status == CaseStatus.NEEDS_STAFF.value, 0), else_=1)
    rows = list(s.scalars(
        select(CaseRow).where(CaseRow.status.in_(open_statuses))
        .order_by(priority, func.coalesce(CaseRow.escalated_at, CaseRow.created_at), CaseRow.id)
        .limit(limit)
    ))
    counts = {str(st): 0 for st in CaseStatus}
    for status, n in s.execute(select(CaseRow.status, func.count()).group_by(CaseRow.status)):
        counts[status] = int(n)
    return StaffQueue(cases=tuple(case_views(s, rows)), counts=counts)


def _details(s: Session, rows: list[CaseRow], include_internal: bool) -> list[CaseDetail]:
    ids = [r.id for r in rows]
    turns: dict[int, list] = {i: [] for i in ids}
    events: dict[int, list] = {i: [] for i in ids}
    counts = turn_counts(s, ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for t in s.scalars(select(TurnRow).where(TurnRow.case_id.in_(chunk)).order_by(TurnRow.id)):
            turns[t.case_id].append(turn_view(t))
        stmt = select(EventRow).where(EventRow.case_id.in_(chunk)).order_by(EventRow.id)
        if not include_internal:
            stmt = stmt.where(EventRow.kind.not_in([str(k) for k in INTERNAL_EVENT_KINDS]))
        for e in s.scalars(stmt):
            events[e.case_id].append(event_view(e))
    return [CaseDetail(case_view(r, counts.get(r.id)), tuple(turns[r.id]), tuple(events[r.id]))
            for r in rows]


def detail(s: Session, case_id: int, include_internal: bool) -> CaseDetail:
    return _details(s, [get_case_row(s, case_id)], include_internal)[0]


def export_details(s: Session, since: datetime | None, include_internal: bool) -> list[CaseDetail]:
    stmt = select(CaseRow).order_by(CaseRow.created_at, CaseRow.id)
    if since is not None:
        stmt = stmt.where(CaseRow.created_at >= since)
    return _details(s, list(s.scalars(stmt)), include_internal)


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def stats(s: Session, since: datetime | None) -> CaseStats:
    stmt = select(CaseRow)
    if since is not None:
        stmt = stmt.where(CaseRow.created_at >= since)
    rows = list(s.scalars(stmt))
    ids = [r.id for r in rows]
    by_status = Counter({str(st): 0 for st in CaseStatus})
    by_municipality: Counter = Counter()
    by_programme: Counter = Counter()
    for r in rows:
        by_status[r.status] += 1
        by_municipality[r.municipality or ""] += 1
        for p in r.programmes or ():
            by_programme[p] += 1

    staff_replied: set[int] = set()
    first_assign: dict[int, datetime] = {}
    answered_cases: set[int] = set()
    n_turns = up = down = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for case_id, kind, created in s.execute(
                select(EventRow.case_id, EventRow.kind, EventRow.created_at)
                .where(EventRow.case_id.in_(chunk),
                       EventRow.kind.in_([EventKind.STAFF_REPLY.value, EventKind.ASSIGNED.value]))
                .order_by(EventRow.id)):
            if kind == EventKind.STAFF_REPLY:
                staff_replied.add(case_id)
            elif case_id not in first_assign:
                first_assign[case_id] = created
        for case_id, answered, feedback in s.execute(
                select(TurnRow.case_id, TurnRow.answered, TurnRow.feedback)
                .where(TurnRow.case_id.in_(chunk))):
            n_turns += 1
            up += feedback == "up"
            down += feedback == "down"
            if answered:
                answered_cases.add(case_id)

    response_s, take_s = [], []
    for r in rows:
        if r.escalated_at is None:
            continue
        if r.first_staff_response_at is not None:
            response_s.append((r.first_staff_response_at - r.escalated_at).total_seconds())
        if r.id in first_assign:
            take_s.append((first_assign[r.id] - r.escalated_at).total_seconds())

    bot_answered = len(answered_cases - staff_replied)
    return CaseStats(
        total=len(rows),
        by_status=dict(by_status),
        by_municipality=dict(by_municipality.most_common()),
        by_programme=dict(by_programme.most_common()),
        bot_answered=bot_answered,
        staff_answered=len(staff_replied),
        unanswered=len(rows) - bot_answered - len(staff_replied),
        turns=n_turns,
        feedback_up=up,
        feedback_down=down,
        median_staff_response_s=_median([max(0.0, v) for v in response_s]),
        median_time_to_take_s=_median([max(0.0, v) for v in take_s]),
    )
