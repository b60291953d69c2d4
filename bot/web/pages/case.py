"""相談詳細 (``/cases/{id}``): one case as the officer saw it, its timeline, and every staff action.

Every action is a POST form (CSRF-checked) that calls the one staff workflow
(``services.workflow``) under the signed-in member's Slack user id; success redirects back with a
message (POST-redirect-GET); a refusal re-renders the page with the workflow's polite Japanese
reason and keeps what was typed.

Extension points (issue 11 — similar past cases, 「FAQにする」):
- ``app.state.case_panels``: callables ``(request, detail) -> CasePanel | None``; each panel is
  rendered in the side column (its ``template`` gets ``panel`` and ``detail``);
- ``app.state.case_item_actions``: template names included under every bot answer and staff
  reply of the conversation (they get ``item`` and ``detail``);
- ``app.state.case_drafts``: callables ``(request, detail) -> {"reply": text}`` that prefill the
  forms' text areas (what staff typed themselves always wins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from bot.cases.transitions import StaffAction, allowed_actions
from bot.cases.views import CaseDetail, EventKind
from bot.cases.workflow import TEXT_MAX
from bot.errors import ActionNotAllowed, ConsultError, InvalidInput, NotAuthorized
from bot.web.auth import Staff, require_staff, staff_form
from bot.web.render import Flash, flash, render

log = logging.getLogger(__name__)
router = APIRouter()


@dataclass(frozen=True)
class CasePanel:
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConversationItem:
    kind: str          # "turn" | "staff_reply"
    at: Any
    turn: Any = None
    event: Any = None


def conversation(detail: CaseDetail) -> list[ConversationItem]:
    """Officer turns and staff replies in the order they happened."""
    items = [ConversationItem("turn", t.created_at, turn=t) for t in detail.turns]
    items += [ConversationItem("staff_reply", e.created_at, event=e) for e in detail.events
              if e.kind == EventKind.STAFF_REPLY]
    return sorted(items, key=lambda i: (i.at, 0 if i.kind == "turn" else 1))


def _page(request: Request, staff: Staff, case_id: int, *, status: int = 200,
          flashes: list[Flash] | None = None, drafts: dict[str, str] | None = None):
    services = request.app.state.services
    workflow = services.workflow
    detail = workflow.case_detail(staff.user_id, case_id)
    panels = []
    for make_panel in request.app.state.case_panels:
        try:
            panel = make_panel(request, detail)
        except Exception:
            log.exception("a case page panel failed; the page is shown without it")
            continue
        if panel is not None:
            panels.append(panel)
    drafts = dict(drafts or {})
    for provide in request.app.state.case_drafts:   # e.g. a similar case's answer to start from
        try:
            for key, value in (provide(request, detail) or {}).items():
                drafts.setdefault(key, value)
        except Exception:
            log.exception("a case page draft provider failed; the page is shown without it")
    staff_ids = [u for u in workflow.assignable(detail.case) if u != staff.user_id]
    return render(
        request, "case.html", status, flashes=flashes,
        detail=detail, case=detail.case, items=conversation(detail),
        thread_link=workflow.notifier.thread_link(detail.case),
        allowed={str(a) for a in allowed_actions(detail.case.status)},
        can_act=workflow.can_act(staff.user_id, detail.case),
        staff_choices=staff_ids, panels=panels,
        item_actions=request.app.state.case_item_actions, drafts=drafts,
        text_max=TEXT_MAX, slack_case=detail.case.kind == "slack" and bool(detail.case.channel),
    )


@router.get("/cases/{case_id:int}")
async def case_page(request: Request, case_id: int, staff: Staff = Depends(require_staff)):
    return await run_in_threadpool(_page, request, staff, case_id)


def _act(request: Request, staff: Staff, case_id: int, action: str, form: dict[str, str]):
    workflow = request.app.state.services.workflow
    user = staff.user_id
    calls = {
        StaffAction.TAKE: lambda: workflow.take(user, case_id),
        StaffAction.REASSIGN: lambda: workflow.assign(user, case_id, form.get("assignee", "")),
        StaffAction.REPLY: lambda: workflow.reply(user, case_id, form.get("text", "")),
        StaffAction.NOTE: lambda: workflow.note(user, case_id, form.get("text", "")),
        StaffAction.RESOLVE: lambda: workflow.resolve(user, case_id, form.get("text") or None),
        StaffAction.REOPEN: lambda: workflow.reopen(user, case_id, form.get("text") or None),
        StaffAction.SET_MUNICIPALITY: lambda: workflow.set_municipality(
            user, case_id, form.get("municipality", "")),
    }
    try:
        result = calls[StaffAction(action)]()
    except (ActionNotAllowed, InvalidInput, NotAuthorized, ConsultError) as exc:
        status = 403 if isinstance(exc, NotAuthorized) else \
            400 if isinstance(exc, InvalidInput) else 409
        log.info("console %s on case %s refused: %s", action, case_id, type(exc).__name__)
        drafts = {action: form.get("text", "")} if action in ("reply", "note") else {}
        return _page(request, staff, case_id, status=status,
                     flashes=[Flash("error", exc.user_message)], drafts=drafts)
    response = RedirectResponse(f"/cases/{case_id}", status_code=303)
    return flash(response, request, "ok", result.message)


_ACTION_PATHS = {
    "take": StaffAction.TAKE, "assign": StaffAction.REASSIGN, "reply": StaffAction.REPLY,
    "note": StaffAction.NOTE, "resolve": StaffAction.RESOLVE, "reopen": StaffAction.REOPEN,
    "municipality": StaffAction.SET_MUNICIPALITY,
}


def _route(path: str, action: StaffAction) -> None:
    async def handler(request: Request, case_id: int, form: dict = Depends(staff_form)):
        staff = request.state.staff
        return await run_in_threadpool(_act, request, staff, case_id, str(action), form)

    handler.__name__ = f"case_{path}"
    router.add_api_route(f"/cases/{{case_id:int}}/{path}", handler, methods=["POST"])


for _path, _action in _ACTION_PATHS.items():
    _route(_path, _action)


def setup(app) -> None:
    """Called by the app factory: the case page's extension points start empty."""
    app.state.case_panels = getattr(app.state, "case_panels", [])
    app.state.case_item_actions = getattr(app.state, "case_item_actions", [])
    app.state.case_drafts = getattr(app.state, "case_drafts", [])
