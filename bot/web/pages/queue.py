"""相談一覧 — the queue, the console's landing page.

Tabs with counts (職員対応待ち first), combinable filters and the search live in the URL query
string (``bot.cases.queue.QueueFilter``), so a filtered list is a link to share and the back
button works; 50 rows a page. Everything is a plain GET form: no JavaScript needed.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from bot.cases.queue import ASSIGNEE_ME, ASSIGNEE_NONE, REASONS, TABS, QueueFilter
from bot.directory import MunicipalityDirectory
from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("相談一覧", "/", order=10, match="/")


def query_string(params: dict[str, str]) -> str:
    return ("?" + urlencode(params)) if params else ""


def page_links(page: int, pages: int) -> list[int | None]:
    """Page numbers to link: the first, the last and two around the current (None = a gap)."""
    wanted = {1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)}
    out: list[int | None] = []
    for n in sorted(wanted):
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def teams_of(request: Request):
    """The staff teams of a teams file (``bot.teams.Teams``), or None for a single-team setup
    (no team filter then)."""
    workflow = request.app.state.services.workflow
    return workflow.teams if workflow.multi_team else None


def parse_filter(request: Request, params=None) -> tuple[QueueFilter, tuple[str, ...]]:
    """The queue filter of a request (the queue, the export page and its download)."""
    return QueueFilter.from_params(request.query_params if params is None else params,
                                   teams=teams_of(request))


def own_team(request: Request, staff: Staff):
    """The signed-in member's team (for the 「自分のチーム」 link), or None."""
    workflow = request.app.state.services.workflow
    find = getattr(workflow.policy, "team_for_user", None)
    return find(staff.user_id) if workflow.multi_team and find is not None else None


def has_empty_fields(request: Request) -> bool:
    """A submitted filter form sends every field, the unused ones empty."""
    return any(not value for _, value in request.query_params.multi_items())


@router.get("/")
async def queue_page(request: Request, staff: Staff = Depends(require_staff)):
    store = request.app.state.services.store
    f, errors = parse_filter(request)
    if has_empty_fields(request) and not errors:   # a short, shareable address for the same list
        return RedirectResponse("/" + query_string(f.to_params(page=f.page)), status_code=303)
    page = await run_in_threadpool(store.queue, f, me=staff.user_id)
    options = await run_in_threadpool(store.queue_options)
    return render(
        request, "queue.html", page=page, f=page.filter, options=options, errors=errors,
        tabs=TABS, reasons=REASONS, me=ASSIGNEE_ME, nobody=ASSIGNEE_NONE,
        teams=teams_of(request), own_team=own_team(request, staff),
        subprefectures=MunicipalityDirectory.bundled().subprefectures,
        link=lambda **changes: "/" + query_string(page.filter.to_params(**changes)),
        export_link="/export" + query_string(page.filter.to_params(page=1)),
        page_links=page_links(page.page, page.pages),
    )
