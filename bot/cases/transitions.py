"""The ONE table of staff actions allowed on a case, by status, and the polite refusals.

    check(StaffAction.TAKE, case.status, case.ref)   # raises ActionNotAllowed when refused
    allowed_actions(case.status)                     # what a surface may offer (buttons)

The table says, for each action, which statuses it may start from and the status it leads to.
It is checked inside the store's transaction (the row is locked), so two staff members clicking
at once can never take a case that the other just resolved. The Slack card, the web console and
the CLI all reach it through ``bot.cases.workflow.StaffWorkflow``.
"""

from __future__ import annotations

from enum import StrEnum

from bot.cases.views import CaseStatus, status_label
from bot.errors import ActionNotAllowed

A, N, P, R = (CaseStatus.ANSWERED, CaseStatus.NEEDS_STAFF, CaseStatus.IN_PROGRESS,
              CaseStatus.RESOLVED)


class StaffAction(StrEnum):
    TAKE = "take"                          # 担当する (assign to me)
    REASSIGN = "reassign"                  # 担当者を変更
    REPLY = "reply"                        # 回答する (posted into the officer's thread)
    NOTE = "note"                          # メモ (internal)
    RESOLVE = "resolve"                    # 解決済み
    REOPEN = "reopen"                      # 再開
    SET_MUNICIPALITY = "set_municipality"  # 市町村の修正
    TRANSFER = "transfer"                  # 担当チームの変更 (the case goes to the new team's queue)
    ESCALATE = "escalate"                  # 職員に相談する (officer / bot; not a staff button)


# action -> {from status: to status}. A status missing from an action's row is refused.
TRANSITIONS: dict[StaffAction, dict[CaseStatus, CaseStatus]] = {
    StaffAction.TAKE: {A: P, N: P, P: P},
    StaffAction.REASSIGN: {A: P, N: P, P: P},
    StaffAction.REPLY: {A: P, N: P, P: P},
    StaffAction.NOTE: {A: A, N: N, P: P, R: R},
    StaffAction.RESOLVE: {A: R, N: R, P: R},
    StaffAction.REOPEN: {R: N},
    StaffAction.SET_MUNICIPALITY: {A: A, N: N, P: P, R: R},
    StaffAction.TRANSFER: {A: A, N: N, P: N},
    StaffAction.ESCALATE: {A: N, R: N, N: N, P: P},
}

# Why an action is refused from a status ({ref} and {status} are filled in).
_REOPEN_FIRST = "再開してから操作してください。"
REFUSALS: dict[tuple[StaffAction, CaseStatus], str] = {
    (StaffAction.TAKE, R): "{ref} はすでに解決済みのため、担当を設定できません。" + _REOPEN_FIRST,
    (StaffAction.REASSIGN, R): "{ref} はすでに解決済みのため、担当を設定できません。" + _REOPEN_FIRST,
    (StaffAction.REPLY, R): "{ref} はすでに解決済みのため、回答を送信できません。" + _REOPEN_FIRST,
    (StaffAction.RESOLVE, R): "{ref} はすでに解決済みです。",
    (StaffAction.TRANSFER, R): "{ref} はすでに解決済みのため、担当チームを変更できません。" + _REOPEN_FIRST,
}
_DEFAULT_REFUSALS = {
    StaffAction.REOPEN: "{ref} は解決済みではないため、再開する必要はありません（現在の状態：{status}）。",
}
_GENERIC_REFUSAL = "{ref} は現在「{status}」のため、この操作は行えません。"


def target_status(action: StaffAction, status: str) -> CaseStatus | None:
    """The status ``action`` leads to from ``status``; None when it is not allowed."""
    try:
        return TRANSITIONS[StaffAction(action)].get(CaseStatus(status))
    except ValueError:
        return None


def is_allowed(action: StaffAction, status: str) -> bool:
    return target_status(action, status) is not None


def allowed_actions(status: str) -> frozenset[StaffAction]:
    """Every action allowed from ``status`` (surfaces offer exactly these)."""
    return frozenset(a for a in StaffAction if is_allowed(a, status))


def refusal(action: StaffAction, status: str, ref: str) -> str:
    """The polite Japanese sentence telling why ``action`` is refused on a case in ``status``."""
    try:
        key = (StaffAction(action), CaseStatus(status))
    except ValueError:
        key = None
    template = (REFUSALS.get(key) if key else None) or _DEFAULT_REFUSALS.get(action) \
        or _GENERIC_REFUSAL
    return template.format(ref=ref, status=status_label(status))


def check(action: StaffAction, status: str, ref: str) -> CaseStatus:
    """The target status, or ActionNotAllowed carrying the refusal as its ``user_message``."""
    target = target_status(action, status)
    if target is None:
        raise ActionNotAllowed(f"{action} refused on a {status} case",
                               user_message=refusal(action, status, ref))
    return target
