"""The knowledge loop on the staff card (thin listeners; the rules are the FAQ service's):

- 「FAQにする」 (a resolved case with a staff reply) opens a modal prefilled with the draft's
  fields; saving it creates the draft through ``services.faq`` under the clicking user's id and
  tells them (ephemeral) where to review and approve it;
- 「①の回答を使う」 under a similar case opens the reply modal with that staff answer filled in.

Every listener acknowledges first; refusals come back as the service's polite ``user_message``.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.cases.workflow import NOT_STAFF
from bot.errors import InvalidInput, NotAuthorized
from bot.slack.staff import ids
from bot.slack.staff.cases import load_staff_case
from bot.slack.staff.faq_blocks import build_faq_modal, parse_faq_metadata, parse_use_answer
from bot.slack.staff.listeners import StaffRequest, guarded, parse_click, tell
from bot.slack.staff.modals import build_reply_modal, modal_input

log = logging.getLogger(__name__)

UNAVAILABLE = "申し訳ありません。この機能は現在利用できません。"
GONE = ("申し訳ありません。その回答は見つかりませんでした（FAQ が廃止されたか、相談が再開された"
        "可能性があります）。カードを更新してから再度お試しください。")


def open_faq_modal(client: WebClient, services, req: StaffRequest) -> None:
    if services.faq is None:
        raise InvalidInput("no faq service", user_message=UNAVAILABLE)
    proposal = services.faq.proposal(req.user, req.case_id)     # staff, may read, has a reply
    case = load_staff_case(services.store, req.case_id)
    client.views_open(trigger_id=req.trigger_id, view=build_faq_modal(case, proposal, req.channel))


def save_draft(client: WebClient, services, req: StaffRequest, event_id: int | None,
               fields: dict[str, str]) -> None:
    result = services.faq.draft_from_case(req.user, req.case_id, event_id, **fields)
    link = f"{services.settings.web_base_url}/faq/{result.entry.id}"
    extra = "".join(f"\n⚠️ {w}" for w in result.warnings)
    tell(client, req, f"{result.message}\n<{link}|職員用ページで {result.entry.ref} を確認・承認する>{extra}")


def open_reply_with(client: WebClient, services, req: StaffRequest, key: str) -> None:
    if not services.workflow.is_staff(req.user):
        raise NotAuthorized("not staff", user_message=NOT_STAFF)
    similar = getattr(services, "similar", None)
    found = similar.answer_of(key) if similar is not None else None
    if found is None:
        raise InvalidInput(f"no such answer {key}", user_message=GONE)
    case = load_staff_case(services.store, req.case_id)
    client.views_open(trigger_id=req.trigger_id,
                      view=build_reply_modal(case, req.channel, initial=found.answer))


def register(app: App, services) -> None:
    @app.action(ids.STAFF_FAQ)
    def on_faq(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        guarded(client, services, req, "faq modal", lambda: open_faq_modal(client, services, req))

    @app.action(ids.STAFF_USE_ANSWER)
    def on_use_answer(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        value = ((body.get("actions") or [{}])[0]).get("value", "")
        case_id, key = parse_use_answer(value)
        req = StaffRequest(user=req.user, case_id=case_id, channel=req.channel,
                           trigger_id=req.trigger_id, from_home=req.from_home)
        guarded(client, services, req, "use answer",
                lambda: open_reply_with(client, services, req, key))

    @app.view(ids.STAFF_FAQ_VIEW)
    def on_faq_submit(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        fields = {"question": modal_input(view, ids.FAQ_QUESTION, ids.FAQ_QUESTION),
                  "answer": modal_input(view, ids.FAQ_ANSWER, ids.FAQ_ANSWER),
                  "category": modal_input(view, ids.FAQ_CATEGORY, ids.FAQ_CATEGORY),
                  "section": modal_input(view, ids.FAQ_SECTION, ids.FAQ_SECTION)}
        errors = {}
        if not fields["question"]:
            errors[ids.FAQ_QUESTION] = "質問を入力してください。"
        if not fields["answer"]:
            errors[ids.FAQ_ANSWER] = "回答を入力してください。"
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        case_id, event_id, channel = parse_faq_metadata(view.get("private_metadata"))
        req = StaffRequest(user=(body.get("user") or {}).get("id", ""), case_id=case_id,
                           channel=channel, from_home=channel is None)
        guarded(client, services, req, "faq draft",
                lambda: save_draft(client, services, req, event_id, fields))
