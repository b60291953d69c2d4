"""Read a case from the case store and turn it into the staff view model (`StaffCase`).

The staff surfaces (card, modals, App Home) are staff-only, so internal notes are read
(`include_internal=True`) and shown there; nothing built from a `StaffCase` is ever posted to an
officer's conversation.
"""

from __future__ import annotations

from bot.answering import links
from bot.cases.views import (REOPENED_BY_OFFICER, CaseDetail, CaseView, EscalationReason,
                             EventKind, TurnView)
from bot.slack.staff.model import NoteLine, SourceLine, StaffCase

_KNOWN_REASONS = frozenset({str(r) for r in EscalationReason} | {REOPENED_BY_OFFICER})

# Status-changing events: the latest one tells whether the officer reopened a resolved case.
_STATUS_EVENTS = frozenset({EventKind.ESCALATED, EventKind.ASSIGNED, EventKind.RESOLVED,
                            EventKind.REOPENED, EventKind.STAFF_REPLY})


def _sources(raw) -> tuple[SourceLine, ...]:
    out = []
    for src in raw or ():
        title = str(src.get("title") or src.get("source") or "資料")
        page = src.get("page")
        out.append(SourceLine(title=title, section=src.get("section") or None,
                              page=int(page) if isinstance(page, (int, float)) else None))
    return tuple(out)


def _answer_text(turn: TurnView) -> str | None:
    """The answer as the officer saw it: links the cited passages do not contain are plain text
    (the stored passage texts are shortened, so a doubtful link is shown as text)."""
    if turn.answer is None:
        return None
    return links.plain_text(links.recorded_segments(turn.answer, turn.sources))


def _reason(case: CaseView, hint: str | None) -> str | None:
    if case.escalation_reason:
        return case.escalation_reason
    return hint if hint in _KNOWN_REASONS else None


def _is_slack_thread(case: CaseView) -> bool:
    return case.kind == "slack" and bool(case.channel)


def staff_case_from_view(case: CaseView) -> StaffCase:
    """A queue entry (no turns loaded): the title stands in for the question."""
    return StaffCase(
        case_id=case.id, ref=case.ref, status=case.status, question=case.title or "",
        municipality=case.municipality, requester_id=case.requester_id,
        requester_name=case.requester_name, title=None, reason=case.escalation_reason,
        assignee=case.assignee, created_at=case.created_at, updated_at=case.updated_at,
        turn_count=case.turn_count, slack_thread=_is_slack_thread(case),
        waiting_since=case.escalated_at or case.created_at,
    )


def staff_case_from_detail(detail: CaseDetail, reason_hint: str | None = None, *,
                           thread_link: str | None = None,
                           team_name: str | None = None,
                           similar: tuple = ()) -> StaffCase:
    """The full card: latest question and answer with sources, notes, reply count, reopen."""
    case = detail.case
    latest = detail.turns[-1] if detail.turns else None
    notes = tuple(NoteLine(author=e.actor, text=e.text or "", at=e.created_at)
                  for e in detail.events if e.kind == EventKind.NOTE)
    replies = sum(1 for e in detail.events if e.kind == EventKind.STAFF_REPLY)
    last_status_event = next((e for e in reversed(detail.events) if e.kind in _STATUS_EVENTS), None)
    return StaffCase(
        case_id=case.id, ref=case.ref, status=case.status,
        question=latest.question if latest else case.title,
        answer=_answer_text(latest) if latest else None,
        answer_mode=latest.mode if latest else None,
        sources=_sources(latest.sources if latest else ()),
        municipality=case.municipality, requester_id=case.requester_id,
        requester_name=case.requester_name,
        title=case.title if len(detail.turns) > 1 else None,
        reason=_reason(case, reason_hint), assignee=case.assignee,
        created_at=case.created_at, updated_at=case.updated_at,
        turn_count=len(detail.turns), staff_reply_count=replies, notes=notes,
        slack_thread=_is_slack_thread(case),
        reopened=(last_status_event is not None and last_status_event.kind == EventKind.REOPENED)
        or reason_hint == REOPENED_BY_OFFICER,
        waiting_since=case.escalated_at or case.created_at, thread_link=thread_link,
        team_name=team_name,
        similar=tuple(similar),
    )


def load_staff_case(store, case_id: int, reason_hint: str | None = None) -> StaffCase:
    """Read one case (with internal notes: staff surfaces only). Raises CaseNotFound."""
    detail = store.case_detail(case_id, include_internal=True)
    return staff_case_from_detail(detail, reason_hint)
