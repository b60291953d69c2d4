"""Routing and transfer of a case between staff teams, inside the store's transaction.

The router (``CaseStore.router``: ``Teams.route``-like callable ``(municipality, programmes) ->
Route``, set by ``bot.services.build_workflow`` when a teams file is configured) is handed to each
transaction in ``Session.info``; ``route_case`` records the team when a case first needs staff (an
event ``routed`` says which team and why). Without a router (one team) nothing is recorded, so a
single-team setup keeps exactly the events it always had.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.cases.models import CaseRow
from bot.cases.views import CaseStatus, EscalationReason, EventKind

ROUTER_KEY = "consult_router"


def route_case(s: Session, row: CaseRow, now: datetime) -> bool:
    """Record the team of a case that needs staff and has none yet; True when recorded."""
    from bot.cases.lifecycle import add_event

    router = s.info.get(ROUTER_KEY)
    if router is None or row.team:
        return False
    route = router(row.municipality, list(row.programmes or ()))
    row.team = route.team.id[:64]
    add_event(s, row, EventKind.ROUTED, "bot", now, text=f"{route.team.name}（{route.why}）",
              data={"team": route.team.id, "by": route.by, "why": route.why})
    return True


def transfer(s: Session, row: CaseRow, team_id: str, team_name: str, actor: str, now: datetime,
             text: str | None = None) -> None:
    """Move the case to another team: its queue, its channel (the old card is forgotten here and
    told where the case went by the workflow's notifier), unassigned and waiting for staff again
    when someone was working on it."""
    from bot.cases.lifecycle import _move, add_event

    old_team = row.team
    row.team = team_id[:64]
    row.staff_channel = None
    row.staff_message_ts = None
    moved = None
    if row.status == CaseStatus.IN_PROGRESS:
        moved = _move(row, CaseStatus.NEEDS_STAFF)
        row.assignee = None
        if not row.escalation_reason:
            row.escalation_reason = EscalationReason.STAFF.value
    add_event(s, row, EventKind.TRANSFERRED, actor, now, from_status=moved and moved[0],
              to_status=moved and moved[1], text=text,
              data={"from": old_team, "to": team_id, "team_name": team_name})
