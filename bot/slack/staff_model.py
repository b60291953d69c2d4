"""The view model of the staff surfaces: small frozen dataclasses built from the case store's
views, the Japanese labels, and the text helpers (escaping, truncation, mentions, dates).

Pure: no Slack calls and no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from bot.slack.blocks import escape, truncate  # one escaping rule for every Slack surface

SECTION_LIMIT = 3000          # Slack: characters per section text
QUESTION_LIMIT = 1200
ANSWER_LIMIT = 1500
NOTE_PREVIEW_LIMIT = 300
HOME_CASES_PER_GROUP = 12     # 2 groups x 12 cases x 3 blocks + headers: room left in the 100-block home
MODAL_TEXT_MAX = 3000

STATUS_LABELS = {
    "answered": "ボット回答済み",
    "needs_staff": "🔴 職員対応待ち",
    "in_progress": "🟡 対応中",
    "resolved": "✅ 解決済み",
}

# Why a case needs staff (codes used by the consultation service and the Slack surfaces).
REASON_LABELS = {
    "officer_request": "相談者が職員への相談を希望されています。",
    "requested": "相談者が職員への相談を希望されています。",
    "escalated": "相談者が職員への相談を希望されています。",
    "negative_feedback": "ボットの回答に 👎（役に立たなかった）の評価がありました。",
    "feedback_negative": "ボットの回答に 👎（役に立たなかった）の評価がありました。",
    "not_answered": "資料から十分な根拠が見つからず、ボットは回答できませんでした。",
    "weak_evidence": "資料から十分な根拠が見つからず、ボットは回答できませんでした。",
    "bot_unable": "資料から十分な根拠が見つからず、ボットは回答できませんでした。",
    "reopened": "解決済みの相談に、相談者から新しいメッセージが届きました。",
    "bot_error": "回答の作成中にエラーが発生し、ボットは回答できませんでした。",
    "staff": "職員が対応を再開しました。",
}

MODE_LABELS = {
    "llm": "AI による回答",
    "extractive": "資料の抜粋による回答",
    "none": "回答なし",
}


def reason_label(reason: str | None) -> str | None:
    """Japanese sentence for a reason code; unknown free text is escaped and shown as is."""
    if not reason:
        return None
    return REASON_LABELS.get(reason, escape(reason))


# ---------------------------------------------------------------------------- view model
@dataclass(frozen=True)
class SourceLine:
    title: str
    section: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class NoteLine:
    author: str | None
    text: str
    at: datetime | None = None


@dataclass(frozen=True)
class StaffCase:
    """Everything the staff surfaces show about one case (built from the case store's view)."""

    case_id: int
    ref: str
    status: str
    question: str = ""
    answer: str | None = None
    answer_mode: str | None = None
    sources: tuple[SourceLine, ...] = ()
    municipality: str | None = None
    requester_id: str | None = None
    requester_name: str | None = None
    title: str | None = None
    reason: str | None = None
    assignee: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    turn_count: int = 0
    staff_reply_count: int = 0
    notes: tuple[NoteLine, ...] = field(default_factory=tuple)
    slack_thread: bool = True        # False: console / CLI case, replies cannot reach the officer
    thread_link: str | None = None   # permalink of the officer's thread (from chat.getPermalink)
    reopened: bool = False           # the officer wrote again after it was resolved
    waiting_since: datetime | None = None   # escalated (else created): the queue's order key


# ---------------------------------------------------------------------------- small pieces
def user_ref(user_id: str | None, name: str | None = None) -> str:
    """A Slack mention for a real Slack user id, else the escaped name / id."""
    if user_id and user_id[:1] in ("U", "W") and user_id.isalnum():
        return f"<@{user_id}>"
    return escape(name or user_id or "不明")


def slack_date(at: datetime | None) -> str:
    """Date rendered in the reader's own time zone, with a UTC fallback for old clients."""
    if at is None:
        return "—"
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    fallback = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def source_text(src: SourceLine) -> str:
    text = escape(src.title)
    if src.section:
        text += f" › {escape(src.section)}"
    if src.page:
        text += f"（{src.page} ページ）"
    return text
