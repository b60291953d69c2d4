"""The case card posted to the staff channel and updated in place (pure Block Kit builder).

No Slack calls and no database: it takes a `StaffCase` (`bot.slack.staff.model`) and returns
plain dicts, unit-tested without Slack. Every piece of text that came from a user, a model or a
document goes through `escape()` before it is posted.
"""

from __future__ import annotations

from bot.cases.transitions import StaffAction, allowed_actions
from bot.slack.staff import ids
from bot.slack.staff.model import (
    ANSWER_LIMIT, MODE_LABELS, NOTE_PREVIEW_LIMIT, QUESTION_LIMIT, STATUS_LABELS, StaffCase,
    escape, reason_label, slack_date, source_text, truncate, user_ref,
)
from bot.slack.staff.faq_blocks import similar_blocks
from bot.slack.staff.parts import button, context, quote, safe_link, section


def case_buttons(case: StaffCase) -> list[dict]:
    """The buttons a staff member can use on a case in its current status: the actions the
    transition table allows (`bot.cases.transitions`) that the card offers."""
    value = str(case.case_id)
    allowed = allowed_actions(case.status)
    buttons = []
    if StaffAction.TAKE in allowed:
        if case.status == "in_progress" and case.assignee:
            buttons.append(button("担当を引き継ぐ", ids.STAFF_ASSIGN, value))
        else:
            buttons.append(button("担当する", ids.STAFF_ASSIGN, value, "primary"))
    if StaffAction.REPLY in allowed:
        buttons.append(button("回答する", ids.STAFF_REPLY, value))
    if StaffAction.NOTE in allowed:
        buttons.append(button("メモ", ids.STAFF_NOTE, value))
    if StaffAction.RESOLVE in allowed:
        buttons.append(button("解決済み", ids.STAFF_RESOLVE, value))
    if case.status == "resolved" and case.staff_reply_count:
        buttons.append(button("FAQにする", ids.STAFF_FAQ, value))   # the answer becomes knowledge
    if case.team_name:   # teams file: the municipality and the team can be corrected here
        buttons.append(button("市町村・担当チーム", ids.STAFF_ROUTING, value))
    return buttons


# ---------------------------------------------------------------------------- staff card
def card_text(case: StaffCase) -> str:
    """Notification fallback text of the staff card (no user text: it shows in push previews)."""
    status = STATUS_LABELS.get(case.status, case.status)
    place = f"（{escape(case.municipality)}）" if case.municipality else ""
    return f"{case.ref}{place}：{status}"


def build_staff_card(case: StaffCase) -> list[dict]:
    """Blocks of the case card posted to the staff channel and updated in place."""
    status = STATUS_LABELS.get(case.status, escape(case.status))
    head = f"*{escape(case.ref)}*　{status}"
    if case.title:
        head += f"\n{escape(truncate(case.title, 150))}"
    blocks: list[dict] = [section(head, "staff_card_head")]

    fields = [
        f"*自治体*\n{escape(case.municipality) or '未設定'}",
        f"*相談者*\n{user_ref(case.requester_id, case.requester_name)}"
        + (f"（<{link}|スレッドを開く>）" if (link := safe_link(case.thread_link)) else ""),
        f"*担当者*\n{user_ref(case.assignee) if case.assignee else '未割り当て'}",
        f"*受付日時*\n{slack_date(case.created_at)}",
    ]
    if case.team_name:
        fields.append(f"*担当チーム*\n{escape(case.team_name)}")
    blocks.append({"type": "section", "block_id": "staff_card_fields",
                   "fields": [{"type": "mrkdwn", "text": f} for f in fields]})

    label = reason_label(case.reason)
    if label and case.status in ("needs_staff", "in_progress"):
        blocks.append(section(f"*職員対応が必要な理由*\n{label}", "staff_card_reason"))
    if case.reopened and case.status != "resolved":
        blocks.append(section("🔁 解決済みとしていた相談に、相談者から新しいメッセージが届きました。"
                               "内容をご確認ください。", "staff_card_reopened"))

    question = escape(truncate(case.question.strip(), QUESTION_LIMIT)) or "（質問の記録がありません）"
    blocks.append(section(f"*質問*\n{quote(question)}", "staff_card_question"))

    if case.answer:
        mode = MODE_LABELS.get(case.answer_mode or "", "")
        mode_note = f"（{mode}）" if mode else ""
        answer = escape(truncate(case.answer.strip(), ANSWER_LIMIT))
        blocks.append(section(f"*ボットの回答*{mode_note}\n{quote(answer)}", "staff_card_answer"))
    else:
        blocks.append(section("*ボットの回答*\nボットは回答していません。", "staff_card_answer"))

    if case.sources:
        lines = [f"[{i}] {source_text(s)}" for i, s in enumerate(case.sources[:8], start=1)]
        blocks.append(context("*出典*\n" + "\n".join(lines)))
    else:
        blocks.append(context("*出典*　なし"))

    activity = [f"やり取り {case.turn_count} 件", f"職員の回答 {case.staff_reply_count} 件",
                f"内部メモ {len(case.notes)} 件"]
    if not case.slack_thread:
        activity.append("Slack 以外で受け付けた相談のため、回答は記録のみとなります")
    blocks.append(context("　・　".join(activity)))

    for note in case.notes[-3:]:
        author = user_ref(note.author) if note.author else "職員"
        text = escape(truncate(note.text.strip(), NOTE_PREVIEW_LIMIT))
        blocks.append(context(f"📝 内部メモ（{author}、{slack_date(note.at)}）：{text}"))

    if case.similar and StaffAction.REPLY in allowed_actions(case.status):
        blocks.extend(similar_blocks(case))
    blocks.append({"type": "actions", "block_id": ids.CARD_ACTIONS_BLOCK,
                   "elements": case_buttons(case)})
    return blocks


def build_moved_card(ref: str, title: str | None, from_team: str, to_team: str) -> list[dict]:
    """What the old card says once the case went to another team (no buttons: the new card in
    the new team's channel is the one to use)."""
    head = f"*{escape(ref)}*　➡️ 担当チームを変更しました"
    if title:
        head += f"\n{escape(truncate(title, 150))}"
    return [section(head, "staff_card_head"),
            section(f"この相談は「{escape(from_team)}」から「{escape(to_team)}」に移りました。"
                    "以後の対応は移管先のチャンネルのカードから行ってください。", "staff_card_moved")]
