"""相談一覧 — PLACEHOLDER owned by the console-pages helper, who replaces this module and
templates/queue.html wholesale (tabs, filters, search, paging). Kept trivial on purpose: the
open cases, oldest waiting first, each linking to its 相談詳細 page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("相談一覧", "/", order=10, match="/")


@router.get("/")
async def queue(request: Request, staff: Staff = Depends(require_staff)):
    queue = await run_in_threadpool(request.app.state.services.store.staff_queue, 200)
    return render(request, "queue.html", queue=queue)
