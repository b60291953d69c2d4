"""What the knowledge loop adds to the case page (through the page's extension points):

- the 「FAQ」 panel: 「FAQにする」 for a case with a staff answer, and the entries already written
  from it;
- 「FAQにする」 under each staff reply of the conversation (that reply becomes the draft);
- the 「類似の相談・FAQ」 panel: up to three resolved cases and approved entries with the closest
  questions (``bot.faq.similar``) and their staff answers; 「この回答を使う」 reloads the page with
  the reply box filled in (``?use=case:12``; works without JavaScript), and a small script
  (``/static/faq.js``) fills it in place when JavaScript runs.
  Finding them may run the embedding model (seconds on a busy machine), so the case page does
  not wait for it: the panel is a slot that ``/static/similar.js`` fills from
  ``/cases/{id}/similar`` (``bot.web.pages.similar``); without JavaScript its link opens the
  page with the panel computed inline (``?similar=1``).
"""

from __future__ import annotations

import logging

from bot.cases.transitions import StaffAction, allowed_actions
from bot.cases.views import EventKind
from bot.faq.store import FaqStore

log = logging.getLogger(__name__)
ITEM_ACTION = "faq/_item_action.html"


def _can_reply(request, detail) -> bool:
    staff = getattr(request.state, "staff", None)
    workflow = request.app.state.services.workflow
    return (StaffAction.REPLY in allowed_actions(detail.case.status) and staff is not None
            and workflow.can_act(staff.user_id, detail.case))


def faq_panel(request, detail):
    from bot.web.pages.case import CasePanel

    services = request.app.state.services
    if services.faq is None:
        return None
    replies = [e for e in detail.events if e.kind == EventKind.STAFF_REPLY]
    entries = FaqStore(services.store).for_case(detail.case.id)
    if not replies and not entries:
        return None
    return CasePanel("FAQ", "faq/_case_panel.html", {"entries": entries, "has_reply": bool(replies)})


SIMILAR_TITLE = "類似の相談・FAQ"


def similar_panel(request, detail, *, inline: bool = False):
    """The panel: a slot filled later (``inline`` or ``?similar=1``: the items themselves)."""
    from bot.web.pages.case import CasePanel

    similar = getattr(request.app.state.services, "similar", None)
    if similar is None:
        return None
    if not inline and request.query_params.get("similar") != "1":
        return CasePanel(SIMILAR_TITLE, "faq/_similar_slot.html",
                         {"src": f"/cases/{detail.case.id}/similar",
                          "can_reply": _can_reply(request, detail)})
    items = similar.for_case(detail)
    return CasePanel(SIMILAR_TITLE, "faq/_similar_panel.html",
                     {"items": items, "can_reply": _can_reply(request, detail)})


def reply_from_similar(request, detail) -> dict[str, str]:
    """``?use=case:12`` / ``?use=faq:3``: that staff answer as the start of the reply."""
    key = request.query_params.get("use")
    similar = getattr(request.app.state.services, "similar", None)
    if not key or similar is None or not _can_reply(request, detail):
        return {}
    found = similar.answer_of(key)
    return {"reply": found.answer} if found is not None else {}


def register(app) -> None:
    app.state.case_panels.extend([faq_panel, similar_panel])
    if ITEM_ACTION not in app.state.case_item_actions:
        app.state.case_item_actions.append(ITEM_ACTION)
    app.state.case_drafts.append(reply_from_similar)
