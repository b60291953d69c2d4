"""Pure Block Kit builders of the staff surfaces: the case card in the staff channel, the reply
and internal-note modals, the officer notices and the staff App Home queue.

No Slack calls and no database here: the builders take the small frozen dataclasses of
`bot.slack.staff_model` (`StaffCase`) and return plain dicts, so they are unit-tested without Slack. Every piece of text that came
from a user, a model or a document goes through `escape()` before it is posted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone

from bot.slack import staff_ids as ids
from bot.slack.staff_model import (
    ANSWER_LIMIT, HOME_CASES_PER_GROUP, MODAL_TEXT_MAX, MODE_LABELS, NOTE_PREVIEW_LIMIT,
    QUESTION_LIMIT, SECTION_LIMIT, STATUS_LABELS, StaffCase, escape, reason_label, source_text,
    slack_date, truncate, user_ref,
)

def _section(text: str, block_id: str | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    button = {"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True},
              "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])


def _safe_link(url: str | None) -> str:
    """A URL usable inside <url|label>: http(s) only, no characters that could end the link."""
    if not url or not url.startswith(("https://", "http://")):
        return ""
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")


def case_buttons(case: StaffCase) -> list[dict]:
    """The buttons a staff member can use on a case in its current status."""
    value = str(case.case_id)
    if case.status == "resolved":
        return [_button("メモ", ids.STAFF_NOTE, value)]
    if case.status == "in_progress" and case.assignee:
        buttons = [_button("担当を引き継ぐ", ids.STAFF_ASSIGN, value)]
    else:
        buttons = [_button("担当する", ids.STAFF_ASSIGN, value, "primary")]
    buttons.append(_button("回答する", ids.STAFF_REPLY, value))
    buttons.append(_button("メモ", ids.STAFF_NOTE, value))
    buttons.append(_button("解決済み", ids.STAFF_RESOLVE, value))
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
    blocks: list[dict] = [_section(head, "staff_card_head")]

    fields = [
        f"*自治体*\n{escape(case.municipality) or '未設定'}",
        f"*相談者*\n{user_ref(case.requester_id, case.requester_name)}"
        + (f"（<{link}|スレッドを開く>）" if (link := _safe_link(case.thread_link)) else ""),
        f"*担当者*\n{user_ref(case.assignee) if case.assignee else '未割り当て'}",
        f"*受付日時*\n{slack_date(case.created_at)}",
    ]
    blocks.append({"type": "section", "block_id": "staff_card_fields",
                   "fields": [{"type": "mrkdwn", "text": f} for f in fields]})

    label = reason_label(case.reason)
    if label and case.status in ("needs_staff", "in_progress"):
        blocks.append(_section(f"*職員対応が必要な理由*\n{label}", "staff_card_reason"))
    if case.reopened and case.status != "resolved":
        blocks.append(_section("🔁 解決済みとしていた相談に、相談者から新しいメッセージが届きました。"
                               "内容をご確認ください。", "staff_card_reopened"))

    question = escape(truncate(case.question.strip(), QUESTION_LIMIT)) or "（質問の記録がありません）"
    blocks.append(_section(f"*質問*\n{_quote(question)}", "staff_card_question"))

    if case.answer:
        mode = MODE_LABELS.get(case.answer_mode or "", "")
        mode_note = f"（{mode}）" if mode else ""
        answer = escape(truncate(case.answer.strip(), ANSWER_LIMIT))
        blocks.append(_section(f"*ボットの回答*{mode_note}\n{_quote(answer)}", "staff_card_answer"))
    else:
        blocks.append(_section("*ボットの回答*\nボットは回答していません。", "staff_card_answer"))

    if case.sources:
        lines = [f"[{i}] {source_text(s)}" for i, s in enumerate(case.sources[:8], start=1)]
        blocks.append(_context("*出典*\n" + "\n".join(lines)))
    else:
        blocks.append(_context("*出典*　なし"))

    activity = [f"やり取り {case.turn_count} 件", f"職員の回答 {case.staff_reply_count} 件",
                f"内部メモ {len(case.notes)} 件"]
    if not case.slack_thread:
        activity.append("Slack 以外で受け付けた相談のため、回答は記録のみとなります")
    blocks.append(_context("　・　".join(activity)))

    for note in case.notes[-3:]:
        author = user_ref(note.author) if note.author else "職員"
        text = escape(truncate(note.text.strip(), NOTE_PREVIEW_LIMIT))
        blocks.append(_context(f"📝 内部メモ（{author}、{slack_date(note.at)}）：{text}"))

    blocks.append({"type": "actions", "block_id": ids.CARD_ACTIONS_BLOCK,
                   "elements": case_buttons(case)})
    return blocks


# ---------------------------------------------------------------------------- modals
def _metadata(case: StaffCase, origin_channel: str | None) -> str:
    return json.dumps({"case_id": case.case_id, "channel": origin_channel}, separators=(",", ":"))


def parse_metadata(private_metadata: str | None) -> tuple[int | None, str | None]:
    """(case_id, origin channel) from a modal's private_metadata; (None, None) when unreadable."""
    try:
        data = json.loads(private_metadata or "")
        return int(data["case_id"]), data.get("channel")
    except (ValueError, TypeError, KeyError):
        return None, None


def _modal_context(case: StaffCase) -> dict:
    question = escape(truncate(case.question.strip(), 500)) or "（質問の記録がありません）"
    who = user_ref(case.requester_id, case.requester_name)
    place = f"（{escape(case.municipality)}）" if case.municipality else ""
    return _section(f"*{escape(case.ref)}*　{who}{place}\n{_quote(question)}")


def _text_modal(case: StaffCase, origin_channel: str | None, *, callback_id: str, title: str,
                submit: str, block_id: str, label: str, action_id: str, placeholder: str,
                note: str) -> dict:
    """A modal with the case summary, one multi-line text input and a short explanation."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": _metadata(case, origin_channel),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "キャンセル"},
        "blocks": [
            _modal_context(case),
            {"type": "input", "block_id": block_id,
             "label": {"type": "plain_text", "text": label},
             "element": {"type": "plain_text_input", "action_id": action_id,
                         "multiline": True, "max_length": MODAL_TEXT_MAX,
                         "placeholder": {"type": "plain_text", "text": placeholder}}},
            _context(note),
        ],
    }


def build_reply_modal(case: StaffCase, origin_channel: str | None = None) -> dict:
    """Modal where a staff member writes the reply posted into the officer's thread."""
    note = ("送信すると、相談者のスレッドに「あなたの名前（担当職員）より」として投稿され、"
            "相談の記録にも残ります。")
    if not case.slack_thread:
        note = "この相談は Slack 以外で受け付けたため、回答は相談の記録にのみ残ります。"
    return _text_modal(case, origin_channel, callback_id=ids.STAFF_REPLY_VIEW,
                       title="相談者に回答する", submit="送信する", block_id=ids.REPLY_BLOCK,
                       label="回答", action_id=ids.REPLY_INPUT,
                       placeholder="相談者への回答を入力してください", note=note)


def build_note_modal(case: StaffCase, origin_channel: str | None = None) -> dict:
    """Modal for an internal note; the note is shown to staff only, never to the officer."""
    return _text_modal(case, origin_channel, callback_id=ids.STAFF_NOTE_VIEW,
                       title="内部メモを追加", submit="保存する", block_id=ids.NOTE_BLOCK,
                       label="メモ", action_id=ids.NOTE_INPUT,
                       placeholder="職員間で共有する内容を入力してください",
                       note="🔒 内部メモは職員にのみ表示され、相談者には一切表示されません。")


def modal_input(view: dict, block_id: str, action_id: str) -> str:
    """The text typed into a modal input (stripped; '' when empty or missing)."""
    values = ((view or {}).get("state") or {}).get("values") or {}
    value = (values.get(block_id) or {}).get(action_id) or {}
    return (value.get("value") or "").strip()


# ---------------------------------------------------------------------------- officer-facing
def staff_reply_text(staff_user: str, reply: str) -> str:
    """The staff member's reply as posted into the officer's thread (escaped, attributed)."""
    return f"<@{staff_user}>（担当職員）より：\n{escape(reply.strip())}"


def officer_notice_text(kind: str, case_ref: str, staff_user: str | None = None) -> str:
    """Short notice in the officer's thread when the case is taken or resolved."""
    ref = escape(case_ref)
    if kind == "assigned":
        who = f"担当職員（<@{staff_user}>）" if staff_user else "担当職員"
        return (f"このご相談（{ref}）は{who}が担当いたします。"
                "回答まで今しばらくお待ちください。")
    if kind == "resolved":
        return (f"このご相談（{ref}）は、担当職員により解決済みとさせていただきました。"
                "追加のご質問がございましたら、このスレッドにご返信ください。改めて対応いたします。")
    raise ValueError(f"unknown officer notice kind: {kind}")


REFUSAL_TEXT = ("申し訳ありません。この操作は担当職員の方のみ行えます。"
                "ご不明な点がございましたら、県の担当窓口までお問い合わせください。")


# ---------------------------------------------------------------------------- staff App Home
def _home_item(case: StaffCase) -> list[dict]:
    who = user_ref(case.requester_id, case.requester_name)
    place = escape(case.municipality) or "自治体未設定"
    line = f"*{escape(case.ref)}*　{STATUS_LABELS.get(case.status, escape(case.status))}　{place}　{who}"
    line += f"\n受付：{slack_date(case.created_at)}"
    if case.assignee:
        line += f"　担当：{user_ref(case.assignee)}"
    question = escape(truncate(case.question.strip().replace("\n", " "), 200))
    if question:
        line += f"\n{_quote(question)}"
    label = reason_label(case.reason)
    if label:
        line += f"\n_{label}_"
    return [_section(line), {"type": "actions", "block_id": f"staff_home_{case.case_id}",
                             "elements": case_buttons(case)}, {"type": "divider"}]


def _oldest_first(cases: list[StaffCase]) -> list[StaffCase]:
    far_future = datetime.max.replace(tzinfo=timezone.utc)

    def key(c: StaffCase):
        at = c.waiting_since or c.created_at
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return (at or far_future, c.case_id)

    return sorted(cases, key=key)


def build_staff_home_view(needs_staff: list[StaffCase], in_progress: list[StaffCase],
                          *, user_id: str | None = None,
                          counts: Mapping[str, int] | None = None) -> dict:
    """App Home for staff: the queue, needs_staff first then in_progress, oldest first.

    `counts` (status -> number of cases) gives the totals when the lists were cut by a limit."""
    waiting, working = _oldest_first(needs_staff), _oldest_first(in_progress)
    counts = counts or {}
    n_waiting = max(counts.get("needs_staff", 0), len(waiting))
    n_working = max(counts.get("in_progress", 0), len(working))
    mine = sum(1 for c in working if user_id and c.assignee == user_id)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "相談キュー（職員用）"}},
        _section(f"職員対応待ち *{n_waiting}* 件　・　対応中 *{n_working}* 件"
                 f"（うちあなたの担当 {mine} 件）", "staff_home_counts"),
        {"type": "divider"},
    ]
    for title, group, total in (("🔴 職員対応待ち", waiting, n_waiting),
                                ("🟡 対応中", working, n_working)):
        blocks.append({"type": "header", "text": {"type": "plain_text",
                                                  "text": f"{title}（{total} 件）"}})
        if not group:
            blocks.append(_context("該当する相談はありません。"))
            continue
        shown = group[:HOME_CASES_PER_GROUP]
        for case in shown:
            blocks.extend(_home_item(case))
        if total > len(shown):
            blocks.append(_context(f"ほか {total - len(shown)} 件あります。"
                                   "すべての相談は `consult cases list` でご確認いただけます。"))
    return {"type": "home", "blocks": blocks}
