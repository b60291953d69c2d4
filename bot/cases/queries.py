"""Read-side queries of the case store: lists, the App Home queue, case details and exports
(the console's queue, statistics and 👎 list are in ``queue.py``, ``stats.py``, ``feedback.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.convert import case_view, case_views, event_view, turn_counts, turn_view
from bot.cases.lifecycle import get_case_row
from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.views import INTERNAL_EVENT_KINDS, CaseDetail, CaseStatus, StaffQueue


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


def details_by_ids(s: Session, ids: list[int], include_internal: bool) -> list[CaseDetail]:
    """The cases ``ids`` (in that order) with turns and events."""
    rows = {r.id: r for r in s.scalars(select(CaseRow).where(CaseRow.id.in_(ids)))}
    return _details(s, [rows[i] for i in ids if i in rows], include_internal)


def detail(s: Session, case_id: int, include_internal: bool) -> CaseDetail:
    return _details(s, [get_case_row(s, case_id)], include_internal)[0]


def export_details(s: Session, since: datetime | None, include_internal: bool) -> list[CaseDetail]:
    stmt = select(CaseRow).order_by(CaseRow.created_at, CaseRow.id)
    if since is not None:
        stmt = stmt.where(CaseRow.created_at >= since)
    return _details(s, list(s.scalars(stmt)), include_internal)
