"""The view model of the staff surfaces: small frozen dataclasses built from the case store's
views, the Japanese labels, and the text helpers (escaping, truncation, mentions, dates).

Pure: no Slack calls and no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from bot.cases.views import MODE_LABELS as CASE_MODE_LABELS
from bot.cases.views import STATUS_LABELS as CASE_STATUS_LABELS
from bot.cases.views import reason_label as case_reason_label
from bot.cases.workflow import TEXT_MAX
from bot.slack.blocks import escape, truncate  # one escaping rule for every Slack surface

SECTION_LIMIT = 3000          # Slack: characters per section text
QUESTION_LIMIT = 1200
ANSWER_LIMIT = 1500
NOTE_PREVIEW_LIMIT = 300
HOME_CASES_PER_GROUP = 12     # 2 groups x 12 cases x 3 blocks + headers: room left in the 100-block home
MODAL_TEXT_MAX = TEXT_MAX     # the workflow's limit, enforced in the modal too

# The one vocabulary (bot.cases.views) with the Slack card's status marks in front.
STATUS_MARKS = {"needs_staff": "🔴 ", "in_progress": "🟡 ", "resolved": "✅ "}
STATUS_LABELS = {status: STATUS_MARKS.get(status, "") + label
                 for status, label in CASE_STATUS_LABELS.items()}

MODE_LABELS = CASE_MODE_LABELS


def reason_label(reason: str | None) -> str | None:
    """Japanese sentence for a reason code (the one table in bot.cases.views); unknown free text
    is escaped and shown as is."""
    label = case_reason_label(reason)
    return None if label is None else escape(label)


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
class SimilarLine:
    """A similar resolved case or approved FAQ entry shown on the card (``bot.faq.similar``)."""

    key: str                 # "case:12" / "faq:3": what 「この回答を使う」 carries
    label: str               # 相談#12 / FAQ#3
    kind: str                # "case" | "faq"
    question: str
    answer: str
    similarity: float


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
    team_name: str | None = None     # owning staff team (teams file only; None: one team)
    similar: tuple[SimilarLine, ...] = ()   # similar resolved cases / FAQ entries (open cases)


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
