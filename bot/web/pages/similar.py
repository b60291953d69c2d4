"""``/cases/{id}/similar``: the body of the case page's 「類似の相談・FAQ」 panel, fetched by
``/static/similar.js`` after the page has shown (finding similar cases may run the embedding
model; the case page never waits for it). Staff only, like every console route."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from bot.web.auth import Staff, require_staff
from bot.web.faq_panels import similar_panel
from bot.web.render import render

router = APIRouter()


def _fragment(request: Request, staff: Staff, case_id: int):
    detail = request.app.state.services.workflow.case_detail(staff.user_id, case_id)
    panel = similar_panel(request, detail, inline=True)
    if panel is None:
        return Response(status_code=204)
    response = render(request, "faq/_similar_fragment.html", panel=panel, case=detail.case)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/cases/{case_id:int}/similar")
async def similar_fragment(request: Request, case_id: int, staff: Staff = Depends(require_staff)):
    return await run_in_threadpool(_fragment, request, staff, case_id)
