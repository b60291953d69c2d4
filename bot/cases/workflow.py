"""The one staff workflow: every staff action on a case, from Slack, the web console and the CLI.

    workflow = services.workflow
    result = workflow.take("U0STAFF", 12)        # -> ActionResult(case, message, ...)
    workflow.reply("U0STAFF", "相談#12", "申請期限は6月30日です。")

For every action the service, in this order:

1. asks the ``StaffPolicy`` whether the actor may act on the case (``NotAuthorized`` if not);
2. checks text a person typed (``InvalidInput``: empty, longer than ``TEXT_MAX``);
3. lets the store apply it in ONE transaction, checking ``bot.cases.transitions`` on the locked
   row (``ActionNotAllowed`` with a polite Japanese ``user_message`` when the status forbids it);
   the event is recorded under the actor's id (Slack user id; ``cli:<login>`` from the CLI);
4. tells Slack through the ``StaffNotifier`` port: the staff card is updated in place, the
   officer is told when the case is taken or resolved, a reply is posted into the officer's
   thread. Without Slack (``NullNotifier``) a reply is recorded only, and the result says so.

Notes and replies are stored masked (``self.mask``: the PII guard handed in; the one place that calls the PII
engine); the reply posted into the officer's own thread shows the text as typed. A reply that
cannot be posted is not recorded (``NotDelivered``), so the record never claims an answer the
officer did not get. Side-effect failures after the action (card, notices) are logged; the
action stands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Protocol

from bot.cases import transitions
from bot.cases.policy import StaffPolicy
from bot.cases.transitions import StaffAction
from bot.cases.views import CaseDetail, CaseStatus, CaseView, EventView
from bot.directory import MunicipalityDirectory
from bot.errors import ActionNotAllowed, ConsultError, InvalidInput, NotAuthorized, NotDelivered

log = logging.getLogger(__name__)

TEXT_MAX = 3000           # the Slack modal's limit, used by every surface
MUNICIPALITY_MAX = 128
NOT_STAFF = ("申し訳ありません。この操作は担当職員の方のみ行えます。"
             "ご不明な点がございましたら、県の担当窓口までお問い合わせください。")


class StaffNotifier(Protocol):
    """The Slack side of staff actions (``bot.slack.staff.notify.SlackStaffNotifier``)."""

    def post_reply(self, case: CaseView, staff_user: str, text: str) -> str | None:
        """Post into the officer's thread; the message ts, or None when the case has no Slack
        thread (console / CLI consultation). Raises on a Slack failure."""

    def case_changed(self, case_id: int, kind: str) -> None:
        """Update (or post) the staff card of the case."""

    def tell_officer(self, case_id: int, kind: str, staff_user: str | None) -> None:
        """A short notice in the officer's thread: kind "assigned" or "resolved"."""

    def thread_link(self, case: CaseView) -> str | None:
        """Permalink of the officer's thread, when there is one."""

    def case_moved(self, case: CaseView, old_card: tuple[str, str] | None, from_team: str,
                   to_team: str) -> None:
        """The case went to another team: its old card (channel, ts) says where; the new card
        follows through ``case_changed``."""

    def user_name(self, user_id: str | None) -> str | None:
        """A person's display name, when known."""


class NullNotifier:
    """No Slack configured: actions are recorded only."""

    def post_reply(self, case, staff_user, text):
        return None

    def case_changed(self, case_id, kind):
        return None

    def tell_officer(self, case_id, kind, staff_user):
        return None

    def thread_link(self, case):
        return None

    def case_moved(self, case, old_card, from_team, to_team):
        return None

    def user_name(self, user_id):
        return None


@dataclass(frozen=True)
class ActionResult:
    case: CaseView
    message: str                      # polite Japanese confirmation for the actor
    event: EventView | None = None    # note / reply event
    delivered: bool | None = None     # reply: True when it reached the officer's Slack thread


class StaffWorkflow:
    def __init__(self, store, policy: StaffPolicy, notifier: StaffNotifier | None = None, *,
                 mask: Callable[[str], str] | None = None, teams=None,
                 directory: MunicipalityDirectory | None = None) -> None:
        self.store = store
        self.policy = policy
        self.notifier = notifier or NullNotifier()
        if mask is None:            # the product's one PII guard (build_workflow hands it in)
            from bot.pii import PiiGuard

            mask = PiiGuard().mask_text
        self.mask = mask
        # bot.teams.Teams (the team-aware policy's, unless given); None: no teams at all
        self.teams = teams if teams is not None else getattr(policy, "teams", None)
        self.directory = directory or MunicipalityDirectory.bundled()

    # ---- reads ------------------------------------------------------------------------------
    def is_staff(self, user_id: str | None) -> bool:
        return self.policy.is_staff(user_id)

    def case_detail(self, actor: str, case) -> CaseDetail:
        """The case with turns and every event (internal notes too): staff only."""
        detail = self.store.case_detail(case, include_internal=True)
        if not self.policy.can_read(actor, detail.case):
            raise NotAuthorized(f"{actor} may not read {detail.case.ref}", user_message=NOT_STAFF)
        return detail

    def can_act(self, actor: str, case: CaseView) -> bool:
        return self.policy.can_act(actor, case)

    @property
    def multi_team(self) -> bool:
        """True when a teams file defines the teams (routing, transfer, team filters apply)."""
        return self.teams is not None and not self.teams.single_team

    def owner(self, case: CaseView):
        """The team that owns ``case`` (``bot.teams.Team``), or None without teams."""
        if self.teams is None:
            return None
        owner = getattr(self.policy, "owner", None)
        return owner(case) if owner is not None else self.teams.owner(case.team)

    def card_channel(self, case: CaseView) -> str | None:
        """Where the staff card of ``case`` is posted: its team's channel (the default team's
        when that team has none)."""
        team = self.owner(case)
        if team is None:
            return None
        return team.channel or self.teams.default.channel

    def team_name(self, case: CaseView) -> str | None:
        """The owning team's name for staff surfaces (None in a single-team setup)."""
        return self.owner(case).name if self.multi_team else None

    # ---- actions ----------------------------------------------------------------------------
    def take(self, actor: str, case) -> ActionResult:
        """担当する: assign to the actor."""
        before = self._authorised(actor, case)
        if before.status == CaseStatus.IN_PROGRESS and before.assignee == actor:
            raise _noop(f"{before.ref} はすでにあなたが担当しています。")
        view = self.store.assign(before.id, actor, actor=actor, guard=StaffAction.TAKE)
        self._after(view, "assigned", officer_kind="assigned", staff_user=actor)
        return ActionResult(view, f"{view.ref} を担当します。")

    def assign(self, actor: str, case, assignee: str) -> ActionResult:
        """担当者を変更: assign to someone else (or to the actor)."""
        assignee = (assignee or "").strip()
        if not assignee or len(assignee) > 128:
            raise InvalidInput("bad assignee", user_message="担当者を選択してください。")
        if assignee == actor:
            return self.take(actor, case)
        before = self._authorised(actor, case)
        self._check_assignee(assignee, before)
        if before.status == CaseStatus.IN_PROGRESS and before.assignee == assignee:
            raise _noop(f"{before.ref} はすでにその職員が担当しています。")
        view = self.store.assign(before.id, assignee, actor=actor, guard=StaffAction.REASSIGN)
        self._after(view, "assigned", officer_kind="assigned", staff_user=assignee)
        return ActionResult(view, f"{view.ref} の担当者を変更しました。")

    def reply(self, actor: str, case, text: str) -> ActionResult:
        """回答する: post into the officer's thread as the staff member, then record it (masked
        before either: the reply leaves the process)."""
        text = self.mask(_text(text, "回答を入力してください。"))
        before = self._authorised(actor, case)
        transitions.check(StaffAction.REPLY, before.status, before.ref)  # before posting anything
        try:
            ts = self.notifier.post_reply(before, actor, text)
        except Exception as exc:
            log.error("posting the staff reply for %s failed: %s", before.ref, _why(exc))
            raise NotDelivered(f"reply to {before.ref} not posted", user_message=(
                f"申し訳ありません。{before.ref} の相談者のスレッドに回答を投稿できませんでした。"
                "時間をおいて再度お試しください。")) from exc
        try:
            event = self.store.add_staff_reply(before.id, text, actor=actor,
                                               message_ts=ts, guard=StaffAction.REPLY)
        except Exception:
            if ts is not None:
                log.exception("%s: staff reply posted (ts %s) but NOT recorded", before.ref, ts)
                raise ConsultError("reply posted, not recorded", user_message=(
                    f"{before.ref} の相談者には回答を投稿しましたが、相談記録への保存に失敗しました。"
                    "お手数ですが管理者にご連絡ください。"))
            raise
        view = self.store.get_case(before.id)
        self._after(view, "staff_reply")
        if ts is None:
            message = f"{view.ref} は Slack 以外で受け付けた相談のため、回答は記録のみ行いました。"
        else:
            message = f"{view.ref} の相談者のスレッドに回答を投稿しました。"
        return ActionResult(view, message, event=event, delivered=ts is not None)

    def note(self, actor: str, case, text: str) -> ActionResult:
        """メモ: internal, staff surfaces only."""
        text = _text(text, "メモを入力してください。")
        before = self._authorised(actor, case)
        event = self.store.add_note(before.id, self.mask(text), actor=actor, guard=StaffAction.NOTE)
        view = self.store.get_case(before.id)
        self._after(view, "note")
        return ActionResult(view, "内部メモを保存しました（相談者には表示されません）。", event=event)

    def resolve(self, actor: str, case, text: str | None = None) -> ActionResult:
        """解決済み: the officer is told; a new message in the thread reopens the case."""
        before = self._authorised(actor, case)
        note = self.mask(text.strip()) if text and text.strip() else None
        view = self.store.resolve(before.id, actor=actor, text=note, guard=StaffAction.RESOLVE)
        self._after(view, "resolved", officer_kind="resolved")
        return ActionResult(view, f"{view.ref} を解決済みにしました。")

    def reopen(self, actor: str, case, text: str | None = None) -> ActionResult:
        """再開: resolved -> needs_staff (reason ``staff``)."""
        before = self._authorised(actor, case)
        note = self.mask(text.strip()) if text and text.strip() else None
        view = self.store.reopen(before.id, actor=actor, text=note, guard=StaffAction.REOPEN)
        self._after(view, "reopened_by_staff")
        return ActionResult(view, f"{view.ref} を再開しました（職員対応待ちに戻しました）。")

    def set_municipality(self, actor: str, case, municipality: str | None) -> ActionResult:
        """市町村の修正 (empty: unknown). Typed names are normalised by the directory ("わっかない",
        "北海道宗谷郡猿払村", "012149"); an unknown name is refused with candidates."""
        name = (municipality or "").strip()
        if len(name) > MUNICIPALITY_MAX:
            raise InvalidInput("municipality too long",
                               user_message=f"市町村名は {MUNICIPALITY_MAX} 文字以内で入力してください。")
        name = self.directory.canonical(name) or ""
        before = self._authorised(actor, case)
        if (before.municipality or "") == name:
            raise _noop(f"{before.ref} の市町村はすでに「{name or '未設定'}」です。")
        view = self.store.set_municipality(before.id, name or None, actor=actor,
                                           guard=StaffAction.SET_MUNICIPALITY)
        self._after(view, "municipality")
        message = f"{view.ref} の市町村を「{view.municipality or '未設定'}」に修正しました。"
        if self.multi_team and view.municipality:
            suggested = self.teams.route(view.municipality, view.programmes).team
            if suggested.id != self.owner(view).id:
                message += (f"この市町村は「{suggested.name}」の担当です。必要であれば担当チームを"
                            "変更してください。")
        return ActionResult(view, message)

    def transfer(self, actor: str, case, team: str, text: str | None = None) -> ActionResult:
        """担当チームの変更: the case goes to another team's queue and channel (its old card says
        where it went), unassigned and waiting for staff when someone was working on it."""
        if not self.multi_team:
            raise ActionNotAllowed("no teams", user_message=(
                "担当チームは 1 つだけのため、変更できません（チームは CONSULT_TEAMS_FILE で設定できます）。"))
        target = self.teams.find(team)
        note = self.mask(text.strip()) if text and text.strip() else None
        if note and len(note) > TEXT_MAX:
            raise InvalidInput("text too long", user_message=f"{TEXT_MAX} 文字以内で入力してください。")
        before = self._authorised(actor, case)
        current = self.owner(before)
        if current.id == target.id:
            raise _noop(f"{before.ref} はすでに「{target.name}」の担当です。")
        old_card = (before.staff_channel, before.staff_message_ts) \
            if before.staff_channel and before.staff_message_ts else None
        view = self.store.transfer(before.id, target.id, target.name, actor=actor, text=note,
                                   guard=StaffAction.TRANSFER)
        try:
            self.notifier.case_moved(view, old_card, current.name, target.name)
        except Exception as exc:  # the transfer stands; the new card is still posted below
            log.error("marking the old staff card of %s as moved failed: %s", view.ref, _why(exc))
        self._after(view, "transferred")
        return ActionResult(view, f"{view.ref} の担当を「{current.name}」から「{target.name}」に移しました。")

    def authorise(self, actor: str, case) -> CaseView:
        """The case, when ``actor`` may act on it (before a form is shown); NotAuthorized with
        the policy's polite reason otherwise."""
        return self._authorised(actor, case)

    def assignable(self, case: CaseView) -> list[str]:
        """The known staff who may be made the assignee of ``case`` (the console's picker)."""
        return [u for u in self.policy.known_staff() if self.policy.can_act(u, case)]

    # ---- internals --------------------------------------------------------------------------
    def _check_assignee(self, assignee: str, case: CaseView) -> None:
        """The assignee must be staff who may act on the case (else they could not reply)."""
        if self.policy.can_act(assignee, case):
            return
        who = self.notifier.user_name(assignee) or assignee[:40]
        if not self.policy.is_staff(assignee):
            raise InvalidInput("assignee is not staff", user_message=(
                f"「{who}」さんは職員として登録されていないため、{case.ref} の担当者にできません。"
                "職員（職員用チャンネルのメンバー、または職員として設定された方）を選んでください。"))
        owner = self.owner(case)
        raise InvalidInput("assignee may not act on the case", user_message=(
            f"「{who}」さんは {case.ref} の担当チーム"
            + (f"（{owner.name}）" if owner is not None else "")
            + "の職員ではないため、担当者にできません。担当チームの職員を選ぶか、先に担当チームを変更してください。"))

    def _authorised(self, actor: str, case) -> CaseView:
        view = self.store.get_case(case)
        if not actor or not self.policy.can_act(actor, view):
            log.warning("staff action on %s refused: %s may not act", view.ref,
                        "no actor" if not actor else "user")
            refusal = getattr(self.policy, "refusal", None)
            message = (refusal(actor, view) if refusal is not None and actor else None) or NOT_STAFF
            raise NotAuthorized(f"not allowed to act on {view.ref}", user_message=message)
        return view

    def _after(self, view: CaseView, kind: str, *, officer_kind: str | None = None,
               staff_user: str | None = None) -> None:
        """The card follows every change; the officer hears about take and resolve."""
        try:
            self.notifier.case_changed(view.id, kind)
        except Exception as exc:  # the action stands; the card catches up on the next change
            log.error("updating the staff card of %s failed: %s", view.ref, _why(exc))
        if officer_kind:
            try:
                self.notifier.tell_officer(view.id, officer_kind, staff_user)
            except Exception as exc:
                log.error("notifying the officer of %s (%s) failed: %s", view.ref, officer_kind,
                          _why(exc))


def _text(text: str | None, empty_message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("empty text", user_message=empty_message)
    if len(text) > TEXT_MAX:
        raise InvalidInput("text too long", user_message=f"{TEXT_MAX} 文字以内で入力してください。")
    return text


def _noop(message: str) -> ActionNotAllowed:
    return ActionNotAllowed("no change", user_message=message)


def _why(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    try:
        error = response.get("error") if response is not None else None
    except Exception:
        error = None
    return error or type(exc).__name__
