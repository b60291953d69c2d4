"""チーム (``/teams``) and the 担当チーム panel of the case page (teams file only).

- ``/teams``: every staff team, what it covers (its (総合)振興局 with their municipalities, its
  programmes), its channel and its open cases, the signed-in member's teams marked.
- The case page gets a side panel (``app.state.case_panels``, console-core's extension point):
  the owning team and why the case went there; for those who may act, a form to move it to
  another team (``POST /cases/{id}/transfer``, the one workflow's ``transfer``); for the others,
  which team owns it (they read, they do not act).
Without a teams file there is no panel and ``/teams`` says there is one team.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from bot.cases.views import EventKind
from bot.errors import ActionNotAllowed, ConsultError, InvalidInput, NotAuthorized
from bot.web.auth import Staff, require_staff, staff_form
from bot.web.pages import NavEntry
from bot.web.render import Flash, flash, render

log = logging.getLogger(__name__)
router = APIRouter()
NAV = NavEntry("チーム", "/teams", order=80)


def setup(app) -> None:
    app.state.case_panels.append(team_panel)


def team_panel(request: Request, detail):
    """The 担当チーム panel (None without a teams file: the page stays as it was)."""
    from bot.web.pages.case import CasePanel

    workflow = request.app.state.services.workflow
    if not workflow.multi_team:
        return None
    staff = request.state.staff
    owner = workflow.owner(detail.case)
    routed = next((e for e in reversed(detail.events)
                   if e.kind in (EventKind.ROUTED, EventKind.TRANSFERRED)), None)
    return CasePanel("担当チーム", "teams/_panel.html", {
        "owner": owner, "routed": routed, "teams": list(workflow.teams),
        "can_act": workflow.can_act(staff.user_id, detail.case),
        "suggested": workflow.teams.route(detail.case.municipality, detail.case.programmes).team,
    })


def _transfer(request: Request, staff: Staff, case_id: int, form: dict[str, str]):
    from bot.web.pages.case import _page   # the case page, re-rendered with the refusal

    workflow = request.app.state.services.workflow
    try:
        result = workflow.transfer(staff.user_id, case_id, form.get("team", ""),
                                   form.get("text") or None)
    except (ActionNotAllowed, InvalidInput, NotAuthorized, ConsultError) as exc:
        status = 403 if isinstance(exc, NotAuthorized) else \
            400 if isinstance(exc, InvalidInput) else 409
        log.info("console transfer of case %s refused: %s", case_id, type(exc).__name__)
        return _page(request, staff, case_id, status=status, flashes=[Flash("error", exc.user_message)])
    return flash(RedirectResponse(f"/cases/{case_id}", status_code=303), request, "ok", result.message)


@router.post("/cases/{case_id:int}/transfer")
async def transfer(request: Request, case_id: int, form: dict = Depends(staff_form)):
    return await run_in_threadpool(_transfer, request, request.state.staff, case_id, form)


def _teams_page(request: Request, staff: Staff):
    services = request.app.state.services
    workflow = services.workflow
    counts = services.store.open_counts_by_team()
    mine = {t.id for t in workflow.policy.teams_of(staff.user_id)} \
        if hasattr(workflow.policy, "teams_of") else set()
    directory = workflow.directory
    rows = []
    for team in workflow.teams:
        regions = [directory.subprefecture(name) for name in team.subprefectures]
        rows.append({"team": team, "mine": team.id in mine, "open": counts.get(team.id, {}),
                     "regions": [r for r in regions if r is not None]})
    return render(request, "teams/teams.html", rows=rows, single=not workflow.multi_team,
                  unrouted=counts.get(None, {}) if workflow.multi_team else {})


@router.get("/teams")
async def teams_page(request: Request, staff: Staff = Depends(require_staff)):
    return await run_in_threadpool(_teams_page, request, staff)
