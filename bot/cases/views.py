"""Frozen views of the case database: the only shapes that cross the store's boundary.

Statuses: ``answered`` (the bot replied) -> ``needs_staff`` (the officer asked for a human, gave
👎, or the bot could not answer) -> ``in_progress`` (a staff member took it) -> ``resolved``.
A new message in a resolved thread reopens the case.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Mapping

from bot.domain import HistoryTurn
from bot.errors import CaseNotFound

REF_PREFIX = "相談#"


class CaseStatus(StrEnum):
    ANSWERED = "answered"
    NEEDS_STAFF = "needs_staff"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


# The ONE vocabulary of statuses and escalation reasons with their Japanese labels. Every surface
# (Slack card and App Home, the web console, the CLI, exports) shows these; a surface may add a
# decoration (an emoji, a colour) but never its own wording.
STATUS_LABELS: dict[str, str] = {
    CaseStatus.ANSWERED: "回答済み",
    CaseStatus.NEEDS_STAFF: "職員対応待ち",
    CaseStatus.IN_PROGRESS: "対応中",
    CaseStatus.RESOLVED: "解決済み",
}


class EscalationReason(StrEnum):
    REQUESTED = "requested"                 # the officer pressed 「職員に相談する」
    NEGATIVE_FEEDBACK = "negative_feedback"  # 👎
    NOT_ANSWERED = "not_answered"           # evidence too weak, the bot declined
    BOT_ERROR = "bot_error"                 # the answer could not be produced at all
    DELIVERY_FAILED = "delivery_failed"     # Slack kept refusing the answer (posting failed)
    STAFF = "staff"                         # staff reopened / flagged it


ESCALATION_LABELS: dict[str, str] = {
    EscalationReason.REQUESTED: "相談者が職員への相談を希望されています。",
    EscalationReason.NEGATIVE_FEEDBACK: "ボットの回答に 👎（役に立たなかった）の評価がありました。",
    EscalationReason.NOT_ANSWERED: "資料から十分な根拠が見つからず、ボットは回答できませんでした。",
    EscalationReason.BOT_ERROR: "回答の作成中にエラーが発生し、ボットは回答できませんでした。",
    EscalationReason.DELIVERY_FAILED: "Slack が回答の投稿を受け付けなかったため、相談者に回答が届いていません。",
    EscalationReason.STAFF: "職員が対応を再開しました。",
}

# Short forms for tables and filters (the queue's 対応が必要な理由 column).
ESCALATION_SHORT_LABELS: dict[str, str] = {
    EscalationReason.REQUESTED: "相談者の希望",
    EscalationReason.NEGATIVE_FEEDBACK: "👎 評価",
    EscalationReason.NOT_ANSWERED: "ボット未回答",
    EscalationReason.BOT_ERROR: "ボットのエラー",
    EscalationReason.DELIVERY_FAILED: "回答を届けられず",
    EscalationReason.STAFF: "職員が再開",
}

# Why a staff surface is being refreshed when that is not an escalation reason: the officer wrote
# again in a resolved thread. Shown on the staff card only.
REOPENED_BY_OFFICER = "reopened"
REOPENED_LABEL = "解決済みの相談に、相談者から新しいメッセージが届きました。"


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "")


def reason_label(reason: str | None) -> str | None:
    """The Japanese sentence for a reason code (None for none; an unknown code is returned as is,
    callers escape it like any other text)."""
    if not reason:
        return None
    if reason == REOPENED_BY_OFFICER:
        return REOPENED_LABEL
    return ESCALATION_LABELS.get(reason, reason)


class EventKind(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    ASSIGNED = "assigned"
    NOTE = "note"                  # internal: never shown to the officer
    STAFF_REPLY = "staff_reply"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    FEEDBACK = "feedback"
    MUNICIPALITY = "municipality"
    ROUTED = "routed"              # the case was routed to a staff team (bot.teams)
    TRANSFERRED = "transferred"    # staff moved it to another team


INTERNAL_EVENT_KINDS = frozenset({EventKind.NOTE})

# What each event is called in a timeline (console, CLI).
EVENT_LABELS: dict[str, str] = {
    EventKind.OPENED: "受付",
    EventKind.ESCALATED: "職員対応へ",
    EventKind.ASSIGNED: "担当",
    EventKind.NOTE: "メモ（内部）",
    EventKind.STAFF_REPLY: "職員回答",
    EventKind.RESOLVED: "解決",
    EventKind.REOPENED: "再開",
    EventKind.FEEDBACK: "評価",
    EventKind.MUNICIPALITY: "市町村変更",
    EventKind.ROUTED: "担当チーム決定",
    EventKind.TRANSFERRED: "担当チーム変更",
}

# How an answer was produced (turn.mode).
MODE_LABELS: dict[str, str] = {
    "llm": "AI による回答",
    "extractive": "資料の抜粋による回答",
    "none": "回答なし",
}


def format_ref(case_id: int) -> str:
    return f"{REF_PREFIX}{case_id}"


MAX_CASE_ID = 2**63 - 1
_REF_RE = re.compile(r"^(?:相談)?#?\s*(\d+)$")


def parse_ref(ref: str | int) -> int:
    """``"相談#12"``, ``"#12"``, ``"12"`` (full-width digits too) or ``12`` -> 12."""
    if isinstance(ref, int):
        return ref
    match = _REF_RE.match(unicodedata.normalize("NFKC", str(ref)).strip())
    if not match:
        raise CaseNotFound(f"not a case reference: {ref!r}",
                           user_message=f"「{ref}」は相談番号として認識できません（例: 相談#12）。")
    number = int(match.group(1))
    if number > MAX_CASE_ID:  # no database row can have it (64-bit ids)
        raise CaseNotFound(f"case {number} out of range",
                           user_message=f"{format_ref(number)} は見つかりませんでした。")
    return number


@dataclass(frozen=True)
class CaseView:
    id: int
    ref: str                         # "相談#12", shown to people
    status: str                      # a CaseStatus value
    conversation_key: str
    kind: str                        # slack / console / cli
    workspace: str | None
    channel: str | None
    thread_ts: str | None
    requester_id: str
    requester_name: str | None
    municipality: str | None
    title: str                       # masked first question, shortened
    assignee: str | None
    escalation_reason: str | None    # an EscalationReason value while it needs staff
    programmes: tuple[str, ...]
    staff_channel: str | None        # where the staff post lives (updated in place)
    staff_message_ts: str | None
    turn_count: int
    feedback_up: int
    feedback_down: int
    created_at: datetime
    updated_at: datetime
    escalated_at: datetime | None
    first_staff_response_at: datetime | None
    resolved_at: datetime | None
    team: str | None = None          # id of the staff team the case is routed to (bot.teams)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def escalation_label(self) -> str | None:
        return reason_label(self.escalation_reason)


@dataclass(frozen=True)
class TurnView:
    id: int
    case_id: int
    question: str                    # masked
    answer: str | None               # None: the answer was never completed
    answered: bool | None
    mode: str | None
    model: str | None
    prompt_version: str | None
    sources: tuple[Mapping[str, Any], ...]   # {"n","source","title","section","page","score",...}
    evidence: float | None
    latency_ms: int | None
    fallback_reason: str | None
    error: str | None                # the exception class when answering failed
    pii_kinds: tuple[str, ...]
    feedback: str | None             # "up" | "down"
    feedback_comment: str | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class EventView:
    id: int
    case_id: int
    turn_id: int | None
    kind: str                        # an EventKind value
    actor: str                       # Slack user id, "bot", "cli:<login>", …
    from_status: str | None
    to_status: str | None
    text: str | None                 # note / staff reply text, feedback comment, reason
    created_at: datetime
    data: Mapping[str, Any] | None = None   # escalated: {"reason"}, feedback: {"value"}, …

    @property
    def internal(self) -> bool:
        return self.kind in INTERNAL_EVENT_KINDS


@dataclass(frozen=True)
class CaseDetail:
    case: CaseView
    turns: tuple[TurnView, ...]
    events: tuple[EventView, ...]


@dataclass(frozen=True)
class OpenedCase:
    case: CaseView
    created: bool
    reopened: bool


@dataclass(frozen=True)
class BegunTurn:
    """Result of ``CaseStore.begin_turn``: the turn row exists, its answer is still empty."""

    duplicate: bool                  # the dedupe key was claimed before: nothing was written
    case: CaseView | None            # None only for a duplicate whose case cannot be found
    turn_id: int | None
    created: bool
    reopened: bool
    history: tuple[HistoryTurn, ...]


@dataclass(frozen=True)
class StaffQueue:
    """needs_staff first, then in_progress, oldest first; counts by status over all cases."""

    cases: tuple[CaseView, ...]
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WeekStats:
    """One week (Monday, JST) of ``CaseStats.weeks``: the cases that started in it."""

    week_start: date
    cases: int
    bot: int                             # answered by the bot alone
    declined: int                        # the bot could not answer a question
    staff: int                           # needed staff (asked for a person / 👎)
    feedback_up: int
    feedback_down: int
    median_staff_response_s: float | None
    median_resolution_s: float | None

    @property
    def feedback_up_rate(self) -> float | None:
        total = self.feedback_up + self.feedback_down
        return None if total == 0 else self.feedback_up / total


@dataclass(frozen=True)
class CaseStats:
    """Statistics of the cases started in a period (``bot.cases.stats``)."""

    total: int
    by_status: Mapping[str, int]
    by_municipality: Mapping[str, int]   # "" when unknown; most cases first
    by_programme: Mapping[str, int]
    bot_answered: int                    # answered by the bot, no staff reply
    staff_answered: int                  # at least one staff reply
    unanswered: int                      # neither (declined / failed, no staff reply yet)
    turns: int
    feedback_up: int
    feedback_down: int
    median_staff_response_s: float | None    # escalation -> first staff reply
    median_time_to_take_s: float | None      # escalation -> first assignment
    median_resolution_s: float | None = None     # escalation -> resolved
    outcomes: Mapping[str, int] = field(default_factory=dict)   # bot / declined / staff
    weeks: tuple[WeekStats, ...] = ()
    since: datetime | None = None        # the period: since <= created_at < until
    until: datetime | None = None

    @property
    def feedback_up_rate(self) -> float | None:
        total = self.feedback_up + self.feedback_down
        return None if total == 0 else self.feedback_up / total
