"""Texts posted into the officer's own thread by staff actions (escaped, never staff-internal)."""

from __future__ import annotations

from bot.cases.workflow import NOT_STAFF
from bot.slack.staff.model import escape


def _is_slack_user(user_id: str | None) -> bool:
    return bool(user_id) and user_id[:1] in ("U", "W") and user_id.isalnum()


def staff_reply_text(staff_user: str, reply: str, staff_name: str | None = None) -> str:
    """The staff member's reply as posted into the officer's thread (escaped, attributed): a
    Slack user is shown by Slack as their name (a mention); anyone else (the local operator of
    the CLI) by the name given, else simply as 担当職員."""
    if _is_slack_user(staff_user):
        who = f"<@{staff_user}>（担当職員）"
    elif staff_name:
        who = f"{escape(staff_name)}（担当職員）"
    else:
        who = "担当職員"
    return f"{who}より：\n{escape(reply.strip())}"


def officer_notice_text(kind: str, case_ref: str, staff_user: str | None = None) -> str:
    """Short notice in the officer's thread when the case is taken or resolved."""
    ref = escape(case_ref)
    if kind == "assigned":
        who = f"担当職員（<@{staff_user}>）" if _is_slack_user(staff_user) else "担当職員"
        return (f"このご相談（{ref}）は{who}が担当いたします。"
                "回答まで今しばらくお待ちください。")
    if kind == "resolved":
        return (f"このご相談（{ref}）は、担当職員により解決済みとさせていただきました。"
                "追加のご質問がございましたら、このスレッドにご返信ください。改めて対応いたします。")
    raise ValueError(f"unknown officer notice kind: {kind}")


REFUSAL_TEXT = NOT_STAFF   # the workflow's refusal for non-staff, one wording everywhere
