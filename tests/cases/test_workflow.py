"""The one staff workflow on the real store: the transition table applied in the transaction,
authorisation through the policy, masking of typed text, and the notifier port's effects."""

from __future__ import annotations

import itertools

import pytest

from bot.cases import transitions
from bot.cases.policy import DefaultStaffPolicy
from bot.cases.transitions import StaffAction
from bot.cases.views import CaseStatus, EventKind
from bot.cases.workflow import StaffWorkflow
from bot.domain import Answer, Conversation, Requester
from bot.errors import ActionNotAllowed, InvalidInput, NotAuthorized, NotDelivered

STAFF, OTHER, OUTSIDER = "U_STAFF", "U_OTHER", "W_OUTSIDER"


class RecordingNotifier:
    """The port as the workflow sees it, recording what it was asked to do (no Slack here)."""

    def __init__(self, thread: bool = True, fail_post: bool = False):
        self.calls: list[tuple] = []
        self.thread, self.fail_post = thread, fail_post

    def post_reply(self, case, staff_user, text):
        if self.fail_post:
            raise RuntimeError("slack down")
        self.calls.append(("post_reply", case.id, staff_user, text))
        return "171.0001" if self.thread else None

    def case_changed(self, case_id, kind):
        self.calls.append(("case_changed", case_id, kind))

    def tell_officer(self, case_id, kind, staff_user):
        self.calls.append(("tell_officer", case_id, kind, staff_user))

    def thread_link(self, case):
        return None

    def user_name(self, user_id):
        return None


@pytest.fixture
def flow(store):
    notifier = RecordingNotifier()
    policy = DefaultStaffPolicy(staff_users=[STAFF, OTHER, "U_THIRD"])
    return StaffWorkflow(store, policy, notifier), notifier


_seq = itertools.count(1)


def _case(store, status: str):
    conv = Conversation(kind="slack", workspace="T1", channel="C1", thread_ts=f"{next(_seq)}.1")
    case, _ = store.add_turn(conv, Requester("W_OFFICER", "上川 太郎"), "申請期限は？",
                             Answer(text="6月末です [1]", answered=True, mode="extractive"))
    if status in ("needs_staff", "in_progress", "resolved"):
        store.escalate(case.id, actor="W_OFFICER")
    if status == "in_progress":
        store.assign(case.id, OTHER)
    if status == "resolved":
        store.resolve(case.id, actor=OTHER)
    assert store.get_case(case.id).status == status
    return store.get_case(case.id)


@pytest.mark.parametrize("status", [str(s) for s in CaseStatus])
def test_every_action_follows_the_table(flow, store, status):
    workflow, _ = flow
    run = {
        StaffAction.TAKE: lambda c: workflow.take(STAFF, c.id),
        StaffAction.REASSIGN: lambda c: workflow.assign(STAFF, c.id, "U_THIRD"),
        StaffAction.REPLY: lambda c: workflow.reply(STAFF, c.id, "回答です"),
        StaffAction.NOTE: lambda c: workflow.note(STAFF, c.id, "メモです"),
        StaffAction.RESOLVE: lambda c: workflow.resolve(STAFF, c.id),
        StaffAction.REOPEN: lambda c: workflow.reopen(STAFF, c.id),
        StaffAction.SET_MUNICIPALITY: lambda c: workflow.set_municipality(STAFF, c.id, "名寄市"),
    }
    for action, call in run.items():
        case = _case(store, status)
        target = transitions.target_status(action, status)
        if target is None:
            with pytest.raises(ActionNotAllowed) as refused:
                call(case)
            assert refused.value.user_message == transitions.refusal(action, status, case.ref)
            assert store.get_case(case.id).status == status            # nothing changed
        else:
            result = call(case)
            assert result.case.status == target, (action, status)
            assert result.message


def test_refusal_words(store, flow):
    workflow, _ = flow
    resolved = _case(store, "resolved")
    with pytest.raises(ActionNotAllowed) as exc:
        workflow.take(STAFF, resolved.id)
    assert exc.value.user_message == (f"{resolved.ref} はすでに解決済みのため、担当を設定できません。"
                                      "再開してから操作してください。")
    mine = _case(store, "needs_staff")
    workflow.take(STAFF, mine.id)
    with pytest.raises(ActionNotAllowed) as exc:
        workflow.take(STAFF, mine.id)
    assert exc.value.user_message == f"{mine.ref} はすでにあなたが担当しています。"
    with pytest.raises(ActionNotAllowed) as exc:
        workflow.reopen(STAFF, mine.id)
    assert "解決済みではないため" in exc.value.user_message and "対応中" in exc.value.user_message


def test_only_staff_may_act_and_read(store, flow):
    workflow, notifier = flow
    case = _case(store, "needs_staff")
    for call in (lambda: workflow.take(OUTSIDER, case.id), lambda: workflow.note(OUTSIDER, case.id, "x"),
                 lambda: workflow.reply(OUTSIDER, case.id, "x"), lambda: workflow.resolve("", case.id),
                 lambda: workflow.case_detail(OUTSIDER, case.id)):
        with pytest.raises(NotAuthorized) as exc:
            call()
        assert "担当職員の方のみ" in exc.value.user_message
    assert notifier.calls == []
    assert [e.kind for e in store.case_detail(case.id).events] == ["opened", "escalated"]


def test_text_is_checked_and_masked_and_the_officer_sees_it_as_typed(store, flow):
    workflow, notifier = flow
    case = _case(store, "needs_staff")
    with pytest.raises(InvalidInput):
        workflow.reply(STAFF, case.id, "  ")
    with pytest.raises(InvalidInput):
        workflow.note(STAFF, case.id, "x" * 3001)
    typed = "折り返しは 011-231-4111 か taro@example.jp へ"
    result = workflow.reply(STAFF, case.id, typed)
    assert result.delivered and result.case.status == CaseStatus.IN_PROGRESS
    stored = result.event.text
    # the reply leaves the process masked too (issue 14): posted exactly as stored
    assert ("post_reply", case.id, STAFF, stored) in notifier.calls
    assert "011-231-4111" not in stored and "taro@example.jp" not in stored
    assert "〔電話番号〕" in stored and "〔メール〕" in stored
    note = workflow.note(STAFF, case.id, "本人の番号 090-1111-2222").event
    assert "090-1111-2222" not in note.text and note.actor == STAFF


def test_effects_go_through_the_notifier(store, flow):
    workflow, notifier = flow
    case = _case(store, "needs_staff")
    workflow.take(STAFF, case.id)
    workflow.resolve(STAFF, case.id)
    workflow.reopen(STAFF, case.id)
    assert notifier.calls == [
        ("case_changed", case.id, "assigned"), ("tell_officer", case.id, "assigned", STAFF),
        ("case_changed", case.id, "resolved"), ("tell_officer", case.id, "resolved", None),
        ("case_changed", case.id, "reopened_by_staff")]


def test_a_reply_that_cannot_be_posted_is_not_recorded(store):
    workflow = StaffWorkflow(store, DefaultStaffPolicy(staff_users=[STAFF]),
                             RecordingNotifier(fail_post=True))
    case = _case(store, "needs_staff")
    with pytest.raises(NotDelivered):
        workflow.reply(STAFF, case.id, "届かない回答")
    detail = store.case_detail(case.id)
    assert detail.case.status == CaseStatus.NEEDS_STAFF
    assert not [e for e in detail.events if e.kind == EventKind.STAFF_REPLY]


def test_without_slack_a_reply_is_recorded_only(store):
    workflow = StaffWorkflow(store, DefaultStaffPolicy(staff_users=[STAFF]))   # NullNotifier
    case = _case(store, "needs_staff")
    result = workflow.reply(STAFF, case.id, "記録だけの回答")
    assert result.delivered is False and "記録のみ" in result.message


def test_a_failing_card_update_does_not_undo_the_action(store):
    class Flaky(RecordingNotifier):
        def case_changed(self, case_id, kind):
            raise RuntimeError("slack down")

    workflow = StaffWorkflow(store, DefaultStaffPolicy(staff_users=[STAFF]), Flaky())
    case = _case(store, "needs_staff")
    assert workflow.take(STAFF, case.id).case.assignee == STAFF


def test_allowed_actions_drive_the_buttons():
    assert transitions.allowed_actions("resolved") == {StaffAction.NOTE, StaffAction.REOPEN,
                                                       StaffAction.SET_MUNICIPALITY,
                                                       StaffAction.ESCALATE}
    assert StaffAction.REOPEN not in transitions.allowed_actions("needs_staff")
    assert not transitions.is_allowed(StaffAction.TAKE, "no-such-status")


def test_the_assignee_must_be_staff(store, flow):
    workflow, _ = flow
    case = _case(store, "needs_staff")
    with pytest.raises(InvalidInput) as exc:
        workflow.assign(STAFF, case.id, OUTSIDER)
    assert exc.value.user_message == (
        f"「{OUTSIDER}」さんは職員として登録されていないため、{case.ref} の担当者にできません。"
        "職員（職員用チャンネルのメンバー、または職員として設定された方）を選んでください。")
    after = store.get_case(case.id)
    assert (after.status, after.assignee) == ("needs_staff", None)
    assert workflow.assignable(after) == sorted([STAFF, OTHER, "U_THIRD"])
    assert workflow.assign(STAFF, case.id, OTHER).case.assignee == OTHER
