"""FAQ (``/faq``): entries written from staff answers — the list by status with counts and how
often each approved entry was cited, one entry's page (edit, approve with the personal-data
warning, reject, retire, its audit trail), a new entry from scratch, and 「FAQにする」 from a case
(``POST /faq/draft``). Every change goes through the one FAQ service (``services.faq``) under the
signed-in member's Slack user id; forms are CSRF-checked, results shown after a redirect.

``setup(app)`` also puts the FAQ and similar-cases panels on the case page
(``bot.web.faq_panels``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from bot.errors import ConsultError, InvalidInput, NotAuthorized
from bot.faq.service import ANSWER_MAX, CATEGORY_MAX, QUESTION_MAX, SECTION_MAX, NeedsConfirmation
from bot.faq.transitions import allowed_actions
from bot.faq.views import FAQ_STATUS_LABELS, FaqStatus
from bot.web.auth import Staff, require_staff, staff_form
from bot.web.pages import NavEntry
from bot.web.render import Flash, flash, render

log = logging.getLogger(__name__)
router = APIRouter()
NAV = NavEntry("FAQ", "/faq", order=60)

TABS = [(str(s), FAQ_STATUS_LABELS[s]) for s in FaqStatus] + [("all", "すべて")]
LIMITS = {"question": QUESTION_MAX, "answer": ANSWER_MAX, "section": SECTION_MAX,
          "category": CATEGORY_MAX}


def _service(request: Request):
    faq = request.app.state.services.faq
    if faq is None:
        from starlette.exceptions import HTTPException

        raise HTTPException(503)
    return faq


def _status_code(exc: ConsultError) -> int:
    if isinstance(exc, NotAuthorized):
        return 403
    if isinstance(exc, InvalidInput):
        return 400
    return 409


# ---------------------------------------------------------------------------- the list
def _list_page(request: Request, staff: Staff, status: str):
    faq = _service(request)
    tab = status if status in {t for t, _ in TABS} else FaqStatus.DRAFT.value
    listed = faq.list(staff.user_id, None if tab == "all" else tab)
    counts = dict(listed.counts)
    counts["all"] = sum(listed.counts.values())
    return render(request, "faq/list.html", entries=listed.entries, tabs=TABS, tab=tab,
                  counts=counts)


@router.get("/faq")
async def faq_list(request: Request, status: str = FaqStatus.DRAFT.value,
                   staff: Staff = Depends(require_staff)):
    return await run_in_threadpool(_list_page, request, staff, status)


# ---------------------------------------------------------------------------- one entry
def _entry_page(request: Request, staff: Staff, entry_id: int, *, status: int = 200,
                flashes: list[Flash] | None = None, form: dict | None = None,
                confirm: str | None = None, warnings: list[str] | None = None):
    faq = _service(request)
    detail = faq.detail(staff.user_id, entry_id)
    entry = detail.entry
    shown = form or {"question": entry.question, "answer": entry.answer,
                     "section": entry.section or "", "category": entry.category or ""}
    found = warnings if warnings is not None else (
        faq.warnings(entry) if entry.status in (FaqStatus.DRAFT, FaqStatus.APPROVED) else [])
    return render(request, "faq/entry.html", status, flashes=flashes, detail=detail, entry=entry,
                  form=shown, warnings=found, confirm=confirm, sections=faq.known_sections(),
                  section_known=faq.section_known(shown.get("section")),
                  allowed={str(a) for a in allowed_actions(entry.status)}, limits=LIMITS)


@router.get("/faq/{entry_id:int}")
async def faq_entry(request: Request, entry_id: int, staff: Staff = Depends(require_staff)):
    return await run_in_threadpool(_entry_page, request, staff, entry_id)


def _fields(form: dict) -> dict:
    return {name: form.get(name, "") for name in ("question", "answer", "section", "category")}


def _act(request: Request, staff: Staff, entry_id: int, action: str, form: dict):
    faq = _service(request)
    user = staff.user_id
    confirmed = form.get("confirm") == "1"
    calls = {
        "save": lambda: faq.edit(user, entry_id, confirm=confirmed, **_fields(form)),
        "approve": lambda: faq.approve(user, entry_id, confirm=confirmed),
        "reject": lambda: faq.reject(user, entry_id, form.get("reason")),
        "retire": lambda: faq.retire(user, entry_id, form.get("reason")),
    }
    try:
        result = calls[action]()
    except NeedsConfirmation as exc:
        return _entry_page(request, staff, entry_id, status=409,
                           flashes=[Flash("error", exc.user_message)],
                           form=_fields(form) if action == "save" else None, confirm=action,
                           warnings=exc.warnings)
    except ConsultError as exc:
        log.info("console FAQ %s on %s refused: %s", action, entry_id, type(exc).__name__)
        return _entry_page(request, staff, entry_id, status=_status_code(exc),
                           flashes=[Flash("error", exc.user_message)],
                           form=_fields(form) if action == "save" else None)
    response = RedirectResponse(f"/faq/{entry_id}", status_code=303)
    return flash(response, request, "ok", result.message)


def _route(action: str) -> None:
    async def handler(request: Request, entry_id: int, form: dict = Depends(staff_form)):
        return await run_in_threadpool(_act, request, request.state.staff, entry_id, action, form)

    handler.__name__ = f"faq_{action}"
    router.add_api_route(f"/faq/{{entry_id:int}}/{action}", handler, methods=["POST"])


for _action in ("save", "approve", "reject", "retire"):
    _route(_action)


# ---------------------------------------------------------------------------- new entries
def _new_page(request: Request, form: dict, *, status: int = 200,
              flashes: list[Flash] | None = None, warnings: list[str] | None = None):
    faq = _service(request)
    return render(request, "faq/new.html", status, flashes=flashes, form=form,
                  sections=faq.known_sections(), limits=LIMITS, warnings=warnings or [])


@router.get("/faq/new")
async def faq_new(request: Request, question: str = "", answer: str = "",
                  staff: Staff = Depends(require_staff)):
    form = {"question": question[:QUESTION_MAX], "answer": answer[:ANSWER_MAX], "section": "",
            "category": ""}
    return await run_in_threadpool(_new_page, request, form)


def _create(request: Request, staff: Staff, form: dict):
    faq = _service(request)
    try:
        result = faq.create(staff.user_id, **_fields(form))
    except ConsultError as exc:
        return _new_page(request, _fields(form), status=_status_code(exc),
                         flashes=[Flash("error", exc.user_message)])
    response = RedirectResponse(f"/faq/{result.entry.id}", status_code=303)
    return flash(response, request, "ok", result.message)


@router.post("/faq/new")
async def faq_create(request: Request, form: dict = Depends(staff_form)):
    return await run_in_threadpool(_create, request, request.state.staff, form)


def _draft(request: Request, staff: Staff, form: dict):
    """「FAQにする」 on a case page (the case, or one of its staff replies)."""
    faq = _service(request)
    raw_case, raw_event = form.get("case_id", ""), form.get("event_id", "")
    if not raw_case.isdigit() or (raw_event and not raw_event.isdigit()):
        from bot.web.auth import BadForm

        raise BadForm("送信内容を読み取れませんでした。")
    try:
        result = faq.draft_from_case(staff.user_id, int(raw_case),
                                     int(raw_event) if raw_event else None)
    except ConsultError as exc:   # no staff reply, not allowed, unknown case: said on the case page
        log.info("console FAQ draft from case %s refused: %s", raw_case, type(exc).__name__)
        response = RedirectResponse(f"/cases/{int(raw_case)}", status_code=303)
        return flash(response, request, "error", exc.user_message)
    response = RedirectResponse(f"/faq/{result.entry.id}", status_code=303)
    return flash(response, request, "ok" if result.created else "info", result.message)


@router.post("/faq/draft")
async def faq_draft(request: Request, form: dict = Depends(staff_form)):
    return await run_in_threadpool(_draft, request, request.state.staff, form)


def setup(app) -> None:
    from bot.faq.views import FIELD_LABELS, FaqNotFound, faq_status_label
    from bot.web import faq_panels
    from bot.web.app import _error_page

    async def not_found(request: Request, exc: FaqNotFound):
        return _error_page(request, 404, exc.user_message)

    app.add_exception_handler(FaqNotFound, not_found)

    app.state.templates.filters.update(
        faq_status_label=faq_status_label, faq_field_label=lambda n: FIELD_LABELS.get(n, n))
    faq_panels.register(app)
