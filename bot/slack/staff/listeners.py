"""Staff actions on cases, from the staff-channel card and the staff App Home (thin listeners).

One listener per button and per modal. Every listener acknowledges first; the work runs after the
ack on Bolt's listener thread and goes through the ONE staff workflow (`services.workflow`), which
checks who may act, applies the transition table, records the event under the clicking user's id
and updates the card / tells the officer. Refusals come back as domain errors whose polite
`user_message` is shown to the staff member as an ephemeral message.

- 「担当する」  take the case (card updated in place, officer notified)
- 「回答する」  modal -> reply posted into the officer's thread as the staff member, recorded
- 「メモ」      modal -> internal note, shown on staff surfaces only
- 「解決済み」  resolve (card updated in place, officer notified)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases.workflow import NOT_STAFF
from bot.errors import ActionNotAllowed, ConsultError, NotAuthorized, NotDelivered
from bot.slack.staff import ids
from bot.slack.staff.cases import load_staff_case
from bot.slack.staff.model import MODAL_TEXT_MAX, escape
from bot.slack.staff.modals import (build_note_modal, build_reply_modal, build_routing_modal,
                                    modal_input, parse_metadata, selected_option)

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


def _refresh_home(client: WebClient, services, req: StaffRequest) -> None:
    if not req.from_home:
        return
    from bot.slack import home

    try:
        home.publish_home(client, services, req.user)
    except Exception:
        log.exception("refreshing the staff App Home failed")


def guarded(client: WebClient, services, req: StaffRequest, what: str,
            work: Callable[[], None]) -> None:
    """Run `work` and turn every failure into a polite message (and a log line)."""
    if req.case_id is None:
        log.warning("staff %s: unreadable case id in payload", what)
        tell(client, req, BAD_BUTTON)
        return
    try:
        work()
    except NotAuthorized as exc:
        log.warning("staff %s on case %s refused: not allowed to act", what, req.case_id)
        tell(client, req, exc.user_message)
    except ActionNotAllowed as exc:
        log.info("staff %s on case %s refused by the workflow", what, req.case_id)
        tell(client, req, exc.user_message)
        _resync_card(services, req.case_id)
    except NotDelivered as exc:
        tell(client, req, exc.user_message)
    except ConsultError as exc:
        log.warning("staff %s on case %s failed: %s", what, req.case_id, type(exc).__name__)
        tell(client, req, exc.user_message)
    except Exception:
        log.exception("staff %s on case %s failed", what, req.case_id)
        tell(client, req, GENERIC_ERROR)


def _resync_card(services, case_id: int) -> None:
    """A refused click usually means the card was stale: show the current state."""
    try:
        services.workflow.notifier.case_changed(case_id, "resync")
    except Exception:
        log.exception("re-syncing the staff card of case %s failed", case_id)


# ---------------------------------------------------------------------------- actions
def do_assign(client: WebClient, services, req: StaffRequest) -> None:
    services.workflow.take(req.user, req.case_id)
    _refresh_home(client, services, req)


def do_resolve(client: WebClient, services, req: StaffRequest) -> None:
    services.workflow.resolve(req.user, req.case_id)
    _refresh_home(client, services, req)


def open_modal(client: WebClient, services, req: StaffRequest, builder) -> None:
    """Open a modal for a case the clicking member may act on (refused before anything is
    typed: not staff, or another team's case)."""
    if not services.workflow.is_staff(req.user):
        raise NotAuthorized("not staff", user_message=NOT_STAFF)
    services.workflow.authorise(req.user, req.case_id)
    case = load_staff_case(services.store, req.case_id)
    client.views_open(trigger_id=req.trigger_id, view=builder(case, req.channel))


def open_routing_modal(client: WebClient, services, req: StaffRequest) -> None:
    workflow = services.workflow
    view = workflow.authorise(req.user, req.case_id)
    teams = [(t.id, t.name) for t in workflow.teams] if workflow.teams is not None else []
    owner = workflow.owner(view)
    open_modal(client, services, req, lambda case, channel: build_routing_modal(
        case, teams, owner.id if owner else None, channel))


def do_routing(client: WebClient, services, req: StaffRequest, municipality: str | None,
               team: str | None, note: str) -> None:
    """The routing modal's changes, in order: the municipality, then the team."""
    workflow = services.workflow
    case = workflow.authorise(req.user, req.case_id)
    said = []
    if municipality is not None and municipality != (case.municipality or ""):
        said.append(workflow.set_municipality(req.user, req.case_id, municipality).message)
        case = services.store.get_case(req.case_id)
    owner = workflow.owner(case)
    if team and owner is not None and team != owner.id:
        said.append(workflow.transfer(req.user, req.case_id, team, note or None).message)
    tell(client, req, "\n".join(said) or f"{case.ref} の市町村・担当チームは変更しませんでした。")
    _refresh_home(client, services, req)


def do_reply(client: WebClient, services, req: StaffRequest, text: str) -> None:
    try:
        result = services.workflow.reply(req.user, req.case_id, text)
    except NotDelivered as exc:   # nothing recorded: give the typed text back
        raise NotDelivered(str(exc), user_message=f"{exc.user_message}入力された回答：\n"
                                                   f"{escape(text)}") from exc
    tell(client, req, result.message)
    _refresh_home(client, services, req)


def do_note(client: WebClient, services, req: StaffRequest, text: str) -> None:
    result = services.workflow.note(req.user, req.case_id, text)
    tell(client, req, result.message)


def _validate(text: str, empty_message: str) -> str | None:
    if not text:
        return empty_message
    if len(text) > MODAL_TEXT_MAX:
        return TOO_LONG
    return None


# ---------------------------------------------------------------------------- registration
def register(app: App, services) -> None:
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

    @app.action(ids.STAFF_ROUTING)
    def on_routing(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        req = parse_click(body)
        guarded(client, services, req, "routing modal",
                lambda: open_routing_modal(client, services, req))

    @app.view(ids.STAFF_ROUTING_VIEW)
    def on_routing_submit(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        typed = modal_input(view, ids.MUNICIPALITY_BLOCK, ids.MUNICIPALITY_INPUT)
        try:    # an unknown name is shown under the field, with candidates, before anything changes
            municipality = services.workflow.directory.canonical(typed) or ""
        except ConsultError as exc:
            ack(response_action="errors", errors={ids.MUNICIPALITY_BLOCK: exc.user_message[:300]})
            return
        ack()
        req = parse_submission(body, view)
        team = selected_option(view, ids.TEAM_BLOCK, ids.TEAM_INPUT)
        note = modal_input(view, ids.TRANSFER_NOTE_BLOCK, ids.TRANSFER_NOTE_INPUT)
        guarded(client, services, req, "routing",
                lambda: do_routing(client, services, req, municipality, team, note))

    @app.action(ids.OPEN_CONSOLE)
    def on_open_console(ack: Ack, body: dict, client: WebClient) -> None:
        """The URL button opened the console in the browser; its one-time link is spent, so
        publish the home again with a fresh one."""
        ack()
        user = (body.get("user") or {}).get("id", "")
        _refresh_home(client, services, StaffRequest(user=user, case_id=None, channel=None,
                                                     from_home=True))

    @app.action(ids.HOME_TEAM)
    def on_home_team(ack: Ack, body: dict, client: WebClient) -> None:
        """The App Home team picker: publish the home with that team's cases first."""
        ack()
        from bot.slack import home

        user = (body.get("user") or {}).get("id", "")
        action = (body.get("actions") or [{}])[0]
        picked = (action.get("selected_option") or {}).get("value")
        try:
            if services.workflow.is_staff(user):
                home.publish_home(client, services, user, picked)
        except Exception:
            log.exception("publishing the staff App Home for a picked team failed")

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
