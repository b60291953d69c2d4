"""The ONE table of what may happen to an FAQ entry in each status, and the polite refusals.

    check(FaqAction.APPROVE, entry.status, entry.ref)   # raises ActionNotAllowed when refused

Checked by the store inside the transaction, on the locked row, so two staff members clicking at
once can never approve an entry the other just rejected.
"""

from __future__ import annotations

from enum import StrEnum

from bot.errors import ActionNotAllowed
from bot.faq.views import FaqStatus, faq_status_label

D, A, J, R = FaqStatus.DRAFT, FaqStatus.APPROVED, FaqStatus.REJECTED, FaqStatus.RETIRED


class FaqAction(StrEnum):
    EDIT = "edit"          # 保存 (an approved entry stays approved; a rejected one becomes a draft)
    APPROVE = "approve"    # 承認する
    REJECT = "reject"      # 却下する
    RETIRE = "retire"      # 廃止する


TRANSITIONS: dict[FaqAction, dict[FaqStatus, FaqStatus]] = {
    FaqAction.EDIT: {D: D, J: D, A: A},
    FaqAction.APPROVE: {D: A},
    FaqAction.REJECT: {D: J},
    FaqAction.RETIRE: {A: R},
}

REFUSALS: dict[tuple[FaqAction, FaqStatus], str] = {
    (FaqAction.APPROVE, A): "{ref} はすでに承認済みです。",
    (FaqAction.APPROVE, J): "{ref} は却下されています。内容を編集して下書きに戻してから承認してください。",
    (FaqAction.APPROVE, R): "{ref} は廃止されているため承認できません。新しい FAQ として作成してください。",
    (FaqAction.RETIRE, R): "{ref} はすでに廃止されています。",
    (FaqAction.RETIRE, D): "{ref} はまだ承認されていません。不要な下書きは「却下」してください。",
    (FaqAction.RETIRE, J): "{ref} は却下済みのため、廃止する必要はありません。",
    (FaqAction.REJECT, A): "{ref} は承認済みです。回答に使わないようにするには「廃止」してください。",
    (FaqAction.EDIT, R): "{ref} は廃止されているため編集できません。新しい FAQ として作成してください。",
}
_GENERIC = "{ref} は現在「{status}」のため、この操作は行えません。"


def target_status(action: FaqAction, status: str) -> FaqStatus | None:
    try:
        return TRANSITIONS[FaqAction(action)].get(FaqStatus(status))
    except ValueError:
        return None


def allowed_actions(status: str) -> frozenset[FaqAction]:
    return frozenset(a for a in FaqAction if target_status(a, status) is not None)


def check(action: FaqAction, status: str, ref: str) -> FaqStatus:
    target = target_status(action, status)
    if target is None:
        try:
            key = (FaqAction(action), FaqStatus(status))
        except ValueError:
            key = None
        template = (REFUSALS.get(key) if key else None) or _GENERIC
        raise ActionNotAllowed(f"{action} refused on a {status} FAQ entry",
                               user_message=template.format(ref=ref, status=faq_status_label(status)))
    return target
