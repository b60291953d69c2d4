"""フィードバック — answers officers rated 👎, newest first, with their comments, the question,
the answer's first lines, its sources, a link to the case and whether staff followed up."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.pages.queue import page_links
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("フィードバック", "/feedback", order=20)
ANSWER_LINES = 3
ANSWER_CHARS = 220


def answer_head(text: str | None) -> str:
    """The first lines of an answer, as the officer saw them (shortened)."""
    if not text:
        return "（回答は記録されていません）"
    lines = [line for line in text.splitlines() if line.strip()]
    head = "\n".join(lines[:ANSWER_LINES])
    if len(head) > ANSWER_CHARS:
        return head[:ANSWER_CHARS] + "…"
    return head + ("…" if len(lines) > ANSWER_LINES else "")


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@router.get("/feedback")
async def feedback(request: Request, staff: Staff = Depends(require_staff)):
    params = request.query_params
    pending = params.get("pending") == "1"
    page = await run_in_threadpool(request.app.state.services.store.feedback_page,
                                   page=_page_number(params.get("page")), pending_only=pending)

    def link(**changes) -> str:
        values = {"pending": "1" if pending else None, "page": page.page} | changes
        query = "&".join(f"{k}={v}" for k, v in values.items() if v and not (k == "page" and v == 1))
        return "/feedback" + (f"?{query}" if query else "")

    return render(request, "feedback.html", page=page, pending=pending, link=link,
                  answer_head=answer_head, page_links=page_links(page.page, page.pages))
