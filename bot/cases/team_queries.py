"""Read-side queries about staff teams: one team's open cases (App Home) and open cases per team
(the console's team page, `consult cases teams`)."""

from __future__ import annotations

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.cases.convert import case_views
from bot.cases.models import CaseRow
from bot.cases.views import CaseStatus, CaseView

OPEN = (CaseStatus.NEEDS_STAFF.value, CaseStatus.IN_PROGRESS.value)


def team_queue(s: Session, team_ids: list[str], limit: int, *,
               include_unrouted: bool = False) -> list[CaseView]:
    """Open cases of these teams, needs_staff first, oldest waiting first (the staff queue's
    order). ``include_unrouted``: also open cases with no team recorded (the default team's)."""
    where = CaseRow.team.in_(team_ids)
    if include_unrouted:
        where = or_(where, CaseRow.team.is_(None))
    priority = sql_case((CaseRow.status == CaseStatus.NEEDS_STAFF.value, 0), else_=1)
    rows = list(s.scalars(
        select(CaseRow).where(CaseRow.status.in_(OPEN), where)
        .order_by(priority, func.coalesce(CaseRow.escalated_at, CaseRow.created_at), CaseRow.id)
        .limit(limit)))
    return case_views(s, rows)


def open_counts_by_team(s: Session) -> dict[str | None, dict[str, int]]:
    """team id (None: not routed) -> {status: open cases}."""
    out: dict[str | None, dict[str, int]] = {}
    stmt = (select(CaseRow.team, CaseRow.status, func.count()).where(CaseRow.status.in_(OPEN))
            .group_by(CaseRow.team, CaseRow.status))
    for team, status, n in s.execute(stmt):
        out.setdefault(team, {st: 0 for st in OPEN})[status] = int(n)
    return out
