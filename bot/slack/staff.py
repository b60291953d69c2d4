"""Staff actions on cases, from the staff-channel card and the staff App Home.

One listener per button and per modal. Every listener acknowledges first; the work (authorisation,
database, Slack calls) runs after the ack on Bolt's listener thread. Only staff may act
(`authz.is_staff`): anyone else gets a polite ephemeral refusal and nothing changes.

- 「担当する」  assign to the clicking staff member -> card updated in place, officer notified
- 「回答する」  modal -> the reply is posted into the officer's thread, attributed to the staff
               member, and recorded on the case
- 「メモ」      modal -> internal note, shown on staff surfaces only
- 「解決済み」  resolve -> card updated in place, officer notified
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import ConsultError
from bot.services import Services
from bot.slack import authz, home
from bot.slack import staff_ids as ids
from bot.slack.staff_blocks import (
    MODAL_TEXT_MAX, REFUSAL_TEXT, build_note_modal, build_reply_modal, modal_input,
    parse_metadata,
)
from bot.slack.staff_cases import load_staff_case
from bot.slack.staff_model import escape
from bot.slack.staff_notify import notify_officer, notify_staff, post_staff_reply

log = logging.getLogger(__name__)

GENERIC_ERROR = "申し訳ありません。処理中に問題が発生しました。時間をおいて再度お試しください。"
BAD_BUTTON = "申し訳ありません。ボタンの情報を読み取れませんでした。画面を更新してから再度お試しください。"
EMPTY_REPLY = "回答を入力してください。"
EMPTY_NOTE = "メモを入力してください。"
TOO_LONG = f"{MODAL_TEXT_MAX} 文字以内で入力してください。"


@dataclass(frozen=True)
class StaffRequest:
    """Who asked for what on which case, and where to answer them (parsed from a payload)."""

    user: str
    case_id: int | None
    channel: str | None          # where ephemeral messages go (None: App Home -> DM)
    trigger_id: str | None = None
    from_home: bool = False


def parse_click(body: dict) -> StaffRequest:
    action = (body.get("actions") or [{}])[0]
    try:
        case_id: int | None = int(str(action.get("value", "")).strip())
    except ValueError:
        case_id = None
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return StaffRequest(user=(body.get("user") or {}).get("id", ""), case_id=case_id,
                        channel=channel, trigger_id=body.get("trigger_id"),
                        from_home=container.get("type") == "view")


def parse_submission(body: dict, view: dict) -> StaffRequest:
    case_id, channel = parse_metadata(view.get("private_metadata"))
    return StaffRequest(user=(body.get("user") or {}).get("id", ""), case_id=case_id,
                        channel=channel, from_home=channel is None)


# ---------------------------------------------------------------------------- messaging helpers
def tell(client: WebClient, req: StaffRequest, text: str) -> None:
    """An ephemeral message to the acting user (a DM from the app when there is no channel)."""
    try:
        if req.channel:
            client.chat_postEphemeral(channel=req.channel, user=req.user, text=text)
        else:
            client.chat_postMessage(channel=req.user, text=text)
    except SlackApiError as exc:
        log.error("could not send a message to the acting staff user: %s",
                  exc.response.get("error") if exc.response is not None else exc)


def _refresh_card(client: WebClient, services: Services, case_id: int, reason: str) -> None:
    try:
        notify_staff(client, services, case_id, reason)
    except Exception:  # the action itself succeeded; the card catches up on the next change
        log.exception("updating the staff card of case %s failed", case_id)


def _refresh_home(client: WebClient, services: Services, req: StaffRequest) -> None:
    if not req.from_home:
        return
    try:
        home.publish_home(client, services, req.user)
    except Exception:
        log.exception("refreshing the staff App Home failed")


def guarded(client: WebClient, services: Services, req: StaffRequest, what: str,
            work: Callable[[], None]) -> None:
    """Authorise, run `work`, and turn every failure into a polite message (and a log line)."""
    if req.case_id is None:
        log.warning("staff %s: unreadable case id in payload", what)
        tell(client, req, BAD_BUTTON)
        return
    if not authz.is_staff(client, services.settings, req.user):
        log.warning("staff %s on case %s refused: user is not staff", what, req.case_id)
        tell(client, req, REFUSAL_TEXT)
        return
    try:
        work()
    except ConsultError as exc:
        log.warning("staff %s on case %s failed: %s", what, req.case_id, type(exc).__name__)
        tell(client, req, exc.user_message)
    except Exception:
        log.exception("staff %s on case %s failed", what, req.case_id)
        tell(client, req, GENERIC_ERROR)


# ---------------------------------------------------------------------------- actions
def _already_resolved(client: WebClient, services: Services, req: StaffRequest, before) -> bool:
    """A resolved case takes no assignment or second resolution: say so and re-sync the card."""
    if before.status != "resolved":
        return False
    tell(client, req, f"{before.ref} はすでに解決済みです。")
    _refresh_card(client, services, before.id, "resolved")
    return True


def _after_change(client: WebClient, services: Services, req: StaffRequest, case_id: int,
                  kind: str, **notice) -> None:
    """Every status change: card updated in place, officer told, staff App Home refreshed."""
    _refresh_card(client, services, case_id, kind)
    notify_officer(client, services, case_id, kind, **notice)
    _refresh_home(client, services, req)


def do_assign(client: WebClient, services: Services, req: StaffRequest) -> None:
    before = services.store.get_case(req.case_id)
    if _already_resolved(client, services, req, before):
        return
    if before.status == "in_progress" and before.assignee == req.user:
        tell(client, req, f"{before.ref} はすでにあなたが担当しています。")
        return
    case = services.store.assign(req.case_id, req.user, actor=req.user)
    _after_change(client, services, req, case.id, "assigned", staff_user=req.user)


def do_resolve(client: WebClient, services: Services, req: StaffRequest) -> None:
    before = services.store.get_case(req.case_id)
    if _already_resolved(client, services, req, before):
        return
    case = services.store.resolve(req.case_id, actor=req.user)
    _after_change(client, services, req, case.id, "resolved")


def open_modal(client: WebClient, services: Services, req: StaffRequest, builder) -> None:
    case = load_staff_case(services, req.case_id)
    client.views_open(trigger_id=req.trigger_id, view=builder(case, req.channel))


def do_reply(client: WebClient, services: Services, req: StaffRequest, text: str) -> None:
    store = services.store
    case = store.get_case(req.case_id)
    try:
        ts = post_staff_reply(client, case, req.user, text)
    except SlackApiError as exc:
        log.error("posting the staff reply for %s failed: %s", case.ref,
                  exc.response.get("error") if exc.response is not None else exc)
        tell(client, req, f"申し訳ありません。{case.ref} の相談者のスレッドに回答を投稿できませんでした。"
                          f"時間をおいて再度お試しください。入力された回答：\n{escape(text)}")
        return
    try:
        store.add_staff_reply(req.case_id, text, actor=req.user, message_ts=ts)
    except Exception:
        log.exception("%s: staff reply posted (ts %s) but NOT recorded", case.ref, ts)
        tell(client, req, f"{case.ref} の相談者には回答を投稿しましたが、相談記録への保存に失敗しました。"
                          "お手数ですが管理者にご連絡ください。")
        return
    _refresh_card(client, services, case.id, "staff_reply")
    if ts is None:
        tell(client, req, f"{case.ref} は Slack 以外で受け付けた相談のため、回答は記録のみ行いました。")
    else:
        tell(client, req, f"{case.ref} の相談者のスレッドに回答を投稿しました。")
    _refresh_home(client, services, req)


def do_note(client: WebClient, services: Services, req: StaffRequest, text: str) -> None:
    services.store.add_note(req.case_id, text, actor=req.user)
    _refresh_card(client, services, req.case_id, "note")
    tell(client, req, "内部メモを保存しました（相談者には表示されません）。")


def _validate(text: str, empty_message: str) -> str | None:
    if not text:
        return empty_message
    if len(text) > MODAL_TEXT_MAX:
        return TOO_LONG
    return None


# ---------------------------------------------------------------------------- registration
def register(app: App, services: Services) -> None:
    @app.action(ids.STAFF_ASSIGN)
    def on_assign(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        guarded(client, services, req, "assign", lambda: do_assign(client, services, req))

    @app.action(ids.STAFF_RESOLVE)
    def on_resolve(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        guarded(client, services, req, "resolve", lambda: do_resolve(client, services, req))

    @app.action(ids.STAFF_REPLY)
    def on_reply(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        guarded(client, services, req, "reply modal",
                lambda: open_modal(client, services, req, build_reply_modal))

    @app.action(ids.STAFF_NOTE)
    def on_note(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        guarded(client, services, req, "note modal",
                lambda: open_modal(client, services, req, build_note_modal))

    @app.view(ids.STAFF_REPLY_VIEW)
    def on_reply_submit(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        text = modal_input(view, ids.REPLY_BLOCK, ids.REPLY_INPUT)
        problem = _validate(text, EMPTY_REPLY)
        if problem:
            ack(response_action="errors", errors={ids.REPLY_BLOCK: problem})
            return
        ack()
        req = parse_submission(body, view)
        guarded(client, services, req, "reply", lambda: do_reply(client, services, req, text))

    @app.view(ids.STAFF_NOTE_VIEW)
    def on_note_submit(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        text = modal_input(view, ids.NOTE_BLOCK, ids.NOTE_INPUT)
        problem = _validate(text, EMPTY_NOTE)
        if problem:
            ack(response_action="errors", errors={ids.NOTE_BLOCK: problem})
            return
        ack()
        req = parse_submission(body, view)
        guarded(client, services, req, "note", lambda: do_note(client, services, req, text))
