"""知識ギャップ (``/gaps``): what officers asked that the knowledge base does not answer, grouped
into topics (``bot.faq.gaps``), largest first, for a chosen period — with each topic's example
questions, municipalities, the nearest section of the knowledge base, whether an approved FAQ
entry now covers it, and 「FAQを書く」 (a new entry prefilled with the topic's central question).

The report is computed in a worker thread and kept for a minute per period (it embeds questions
it has not seen before; the embedding cache makes the next run quick).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from bot.web.auth import Staff, require_staff
from bot.web.pages import NavEntry
from bot.web.render import render

router = APIRouter()
NAV = NavEntry("知識ギャップ", "/gaps", order=70)

PERIODS = [("30", "過去 30 日"), ("90", "過去 90 日"), ("365", "過去 1 年"), ("all", "すべて")]
CACHE_S = 60.0


def _report(request: Request, period: str):
    from bot.faq.gaps import GapReporter

    state = request.app.state
    cache = state.gap_reports
    with state.gap_lock:
        hit = cache.get(period)
        if hit and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
    services = state.services
    if getattr(services, "similar", None) is None:
        return None
    since = None if period == "all" else datetime.now(timezone.utc) - timedelta(days=int(period))
    report = GapReporter(services.store, services.similar, services.retriever).report(since)
    with state.gap_lock:
        cache[period] = (time.monotonic(), report)
    return report


def _page(request: Request, staff: Staff, period: str):
    period = period if period in {p for p, _ in PERIODS} else "90"
    report = _report(request, period)
    largest = max((t.count for t in report.topics), default=1) if report else 1
    return render(request, "gaps.html", report=report, periods=PERIODS, period=period,
                  largest=largest)


@router.get("/gaps")
async def gaps(request: Request, period: str = "90", staff: Staff = Depends(require_staff)):
    return await run_in_threadpool(_page, request, staff, period)


def setup(app) -> None:
    app.state.gap_reports = {}
    app.state.gap_lock = threading.Lock()
