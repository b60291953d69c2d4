"""The staff queue: status tabs with counts, combinable filters, free-text search, paging.

``QueueFilter`` (``bot.cases.queue_filter``, re-exported here) is the one description of "which
cases"; ``conditions`` turns it into SQL.

Orders: 職員対応待ち (needs_staff) lists the longest-waiting case first (escalation time); every
other tab lists the most recent activity first. Tab counts are computed over the same filters
(without the tab), one grouped query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Mapping

from sqlalchemy import (ColumnElement, String, and_, exists, false, func, or_, select, text,
                        type_coerce)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from bot.cases import search
from bot.cases.convert import case_views
from bot.cases.models import CaseRow, EventRow, TurnRow
from bot.cases.queue_filter import (  # noqa: F401  (re-exported: the queue's vocabulary)
    ASSIGNEE_ME, ASSIGNEE_NONE, OPEN_STATUSES, PAGE_SIZE, REASON_LABELS, REASONS, TAB_LABELS, TABS,
    QueueFilter,
)
from bot.cases.views import CaseStatus, CaseView
from bot.cases.workdays import age_text, is_overdue
from bot.directory import MunicipalityDirectory


@dataclass(frozen=True)
class QueueRow:
    case: CaseView
    waiting_since: datetime | None       # when it started to need staff (open cases only)
    age: str                             # 「3 日」… since then
    overdue: bool                        # no staff reply after 2 working days
    thumbs_down: bool

    @property
    def last_activity(self) -> datetime:
        return self.case.updated_at


@dataclass(frozen=True)
class QueuePage:
    filter: QueueFilter
    rows: tuple[QueueRow, ...]
    counts: Mapping[str, int]            # per tab (TABS keys), under the same filters
    total: int                           # cases in the current tab
    page: int
    pages: int
    notices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def first_index(self) -> int:
        return 0 if not self.rows else (self.page - 1) * PAGE_SIZE + 1

    @property
    def last_index(self) -> int:
        return 0 if not self.rows else self.first_index + len(self.rows) - 1


# ---- SQL ----------------------------------------------------------------------------------------

def _programme_condition(dialect: str, programme: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return CaseRow.programmes.cast(JSONB).contains([programme])
    each = func.json_each(CaseRow.programmes).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == programme))


_REASON_SQL = {   # the expression of the index ix_consult_events_reason (revision 0005)
    "postgresql": "(data ->> 'reason')",
    "sqlite": "json_extract(data, '$.reason')",
}


def _reason_condition(dialect: str, reason: str) -> ColumnElement[bool]:
    """The case needs (or needed) staff for ``reason``: any escalation recorded with it (a
    resolved case keeps its history). Only escalation events carry a reason, so the event kind
    is not repeated here (it would only blur the database's row estimate)."""
    expr = _REASON_SQL.get(dialect, _REASON_SQL["sqlite"])
    escalated = select(EventRow.case_id).where(text(f"{expr} = :reason").bindparams(reason=reason))
    return CaseRow.id.in_(escalated)


def conditions(dialect: str, f: QueueFilter, me: str | None) -> list[ColumnElement[bool]]:
    """WHERE conditions of every filter except the tab."""
    where: list[ColumnElement[bool]] = []
    if f.municipality:
        where.append(CaseRow.municipality.is_(None) if f.municipality == "-" else
                     CaseRow.municipality == f.municipality)
    if f.assignee == ASSIGNEE_NONE:
        where.append(CaseRow.assignee.is_(None))
    elif f.assignee == ASSIGNEE_ME:
        where.append(CaseRow.assignee == me if me else false())
    elif f.assignee:
        where.append(CaseRow.assignee == f.assignee)
    if f.team:
        where.append(or_(CaseRow.team == f.team, CaseRow.team.is_(None))
                     if f.team_includes_unrouted else CaseRow.team == f.team)
    if f.subprefecture:
        where.append(CaseRow.municipality.in_(subprefecture_municipalities(f.subprefecture)))
    if f.programme:
        where.append(_programme_condition(dialect, f.programme))
    if f.reason:
        where.append(_reason_condition(dialect, f.reason))
    if f.thumbs_down:
        where.append(exists(select(TurnRow.id).where(TurnRow.case_id == CaseRow.id,
                                                     TurnRow.feedback == "down")))
    start, end = f.period()
    if start is not None:
        where.append(CaseRow.created_at >= start)
    if end is not None:
        where.append(CaseRow.created_at < end)
    found = search.condition(dialect, search.plan(f.q))
    if found is not None:
        where.append(found)
    return where


def subprefecture_municipalities(name: str) -> tuple[str, ...]:
    """The municipalities of a (総合)振興局 (the bundled directory's names, as cases store them);
    none for an unknown name."""
    sp = MunicipalityDirectory.bundled().subprefecture(name)
    return tuple(m.name for m in sp.municipalities) if sp else ()


def tab_condition(tab: str) -> ColumnElement[bool] | None:
    return None if tab == "all" else CaseRow.status == tab


def _order(tab: str):
    if tab == CaseStatus.NEEDS_STAFF.value:
        return (CaseRow.escalated_at.asc().nulls_last(), CaseRow.id.asc())
    return (CaseRow.updated_at.desc(), CaseRow.id.desc())


def tab_counts(s: Session, where: list[ColumnElement[bool]]) -> dict[str, int]:
    counts = {key: 0 for key, _ in TABS}
    stmt = select(CaseRow.status, func.count()).group_by(CaseRow.status)
    if where:
        stmt = stmt.where(and_(*where))
    for status, n in s.execute(stmt):
        if status in counts:
            counts[status] = int(n)
        counts["all"] += int(n)
    return counts


def queue_page(s: Session, f: QueueFilter, *, me: str | None, now: datetime) -> QueuePage:
    dialect = s.get_bind().dialect.name
    where = conditions(dialect, f, me)
    plan = search.plan(f.q)
    if plan.terms:
        counts, ids, page, pages = _searched_page(s, f, where)
        by_id = {r.id: r for r in s.scalars(select(CaseRow).where(CaseRow.id.in_(ids)))}
        rows = [by_id[i] for i in ids if i in by_id]
    else:
        counts = tab_counts(s, where)
        pages = max(1, math.ceil(counts[f.tab] / PAGE_SIZE))
        page = min(f.page, pages)
        stmt = select(CaseRow)
        tab = tab_condition(f.tab)
        for condition in ([tab] if tab is not None else []) + where:
            stmt = stmt.where(condition)
        rows = list(s.scalars(stmt.order_by(*_order(f.tab))
                              .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    views = case_views(s, rows)
    return QueuePage(filter=replace(f, page=page), rows=tuple(queue_row(v, now) for v in views),
                     counts=counts, total=counts[f.tab], page=page, pages=pages,
                     notices=(plan.notice,) if plan.notice else ())


def _searched_page(s: Session, f: QueueFilter, where) -> tuple[dict[str, int], list[int], int, int]:
    """With a search, the matching cases are found ONCE (the trigram lookups are the expensive
    part): their ids, statuses and sort keys come back in one narrow query of raw values (SQLite
    stores times as sortable text), and the tab counts and the page are taken from that."""
    raw = String()
    matched = s.connection().execute(
        select(CaseRow.id, CaseRow.status, type_coerce(CaseRow.updated_at, raw),
               type_coerce(CaseRow.escalated_at, raw)).where(and_(*where))).all()
    counts = {key: 0 for key, _ in TABS}
    for _, status, _, _ in matched:
        if status in counts:
            counts[status] += 1
    counts["all"] = len(matched)
    rows = matched if f.tab == "all" else [m for m in matched if m[1] == f.tab]
    if f.tab == CaseStatus.NEEDS_STAFF.value:   # oldest escalation first, none last
        rows.sort(key=lambda m: (m[3] is None, m[3] or m[2], m[0]))
    else:                                        # most recent activity first
        rows.sort(key=lambda m: (m[2], m[0]), reverse=True)
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(f.page, pages)
    ids = [m[0] for m in rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    return counts, ids, page, pages


def queue_row(case: CaseView, now: datetime) -> QueueRow:
    waiting = None
    if case.status in OPEN_STATUSES:
        waiting = case.escalated_at or case.created_at
    return QueueRow(
        case=case, waiting_since=waiting, age=age_text(waiting, now),
        overdue=(waiting is not None and case.first_staff_response_at is None
                 and is_overdue(waiting, now)),
        thumbs_down=case.feedback_down > 0,
    )


@dataclass(frozen=True)
class FilterOptions:
    """Values offered in the filter menus (those present in the database)."""

    municipalities: tuple[str, ...]
    assignees: tuple[str, ...]
    programmes: tuple[str, ...]


_PROGRAMMES_SQL = {
    "postgresql": "SELECT DISTINCT v FROM consult_cases, json_array_elements_text("
                  "consult_cases.programmes) AS v WHERE json_typeof(consult_cases.programmes) "
                  "= 'array' ORDER BY v",
    "sqlite": "SELECT DISTINCT j.value FROM consult_cases, json_each(consult_cases.programmes) "
              "AS j WHERE json_type(consult_cases.programmes) = 'array' ORDER BY j.value",
}


def filter_options(s: Session) -> FilterOptions:
    dialect = s.get_bind().dialect.name
    munis = s.scalars(select(CaseRow.municipality).where(CaseRow.municipality.is_not(None))
                      .distinct().order_by(CaseRow.municipality))
    staff = s.scalars(select(CaseRow.assignee).where(CaseRow.assignee.is_not(None))
                      .distinct().order_by(CaseRow.assignee))
    programmes = s.scalars(text(_PROGRAMMES_SQL.get(dialect, _PROGRAMMES_SQL["sqlite"])))
    return FilterOptions(tuple(munis), tuple(staff), tuple(p for p in programmes if p))
