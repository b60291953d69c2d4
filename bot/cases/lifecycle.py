"""Case lifecycle inside one database transaction (functions over an open ``Session``).

The store (``bot.cases.store``) opens the transaction, calls these, and converts the rows into
views. Every change of status, assignment, note, staff reply and feedback leaves an event.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.cases.models import CaseRow, DeliveryRow, EventRow, TurnRow
from bot.cases.programmes import derive_programmes
from bot.cases.views import CaseStatus, EscalationReason, EventKind, format_ref
from bot.domain import Answer, Conversation, HistoryTurn, Passage, Requester
from bot.errors import CaseNotFound
from bot.faq.citations import record_citations

TITLE_MAX = 80
SOURCE_TEXT_MAX = 500
HISTORY_TURNS = 6
_WS = re.compile(r"\s+")


def _cut(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit]


def conversation_key(conversation: Conversation) -> str:
    key = conversation.key
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def make_title(question: str) -> str:
    text = _WS.sub(" ", question or "").strip()
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


def delivery_key(key: str) -> str:
    key = key.strip()
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def source_dict(n: int, p: Passage) -> dict:
    return {
        "n": n, "chunk_id": p.chunk_id, "source": p.source, "title": p.title,
        "section": p.section, "page": p.page, "doc_type": p.doc_type,
        "score": round(float(p.score), 6),
        "dense_score": None if p.dense_score is None else round(float(p.dense_score), 6),
        "bm25_score": None if p.bm25_score is None else round(float(p.bm25_score), 6),
        "text": (p.text or "")[:SOURCE_TEXT_MAX],
        "basis": p.basis,
    }


def get_case_row(s: Session, case_id: int, *, lock: bool = False) -> CaseRow:
    stmt = select(CaseRow).where(CaseRow.id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    row = s.scalars(stmt).first()
    if row is None:
        raise CaseNotFound(f"case {case_id} not found",
                           user_message=f"{format_ref(case_id)} は見つかりませんでした。")
    return row


def add_event(s: Session, row: CaseRow, kind: str, actor: str, now: datetime, *,
              from_status: str | None = None, to_status: str | None = None,
              text: str | None = None, turn_id: int | None = None,
              data: dict | None = None) -> EventRow:
    event = EventRow(case_id=row.id, turn_id=turn_id, kind=str(kind), actor=(actor or "unknown")[:128],
                     from_status=from_status, to_status=to_status, text=text, data=data,
                     created_at=now)
    s.add(event)
    row.updated_at = now
    return event


def _move(row: CaseRow, new_status: str) -> tuple[str, str] | None:
    old = row.status
    if old == new_status:
        return None
    row.status = str(new_status)
    return old, str(new_status)


# ---- delivery dedupe ----------------------------------------------------------------------------

def claim_delivery(s: Session, key: str, ttl_s: int, now: datetime) -> bool:
    """True when ``key`` was not seen (or its claim expired). A concurrent insert of the same key
    raises IntegrityError at flush; the caller rolls back and retries, then sees the row."""
    key = delivery_key(key)
    expires = now + timedelta(seconds=ttl_s)
    existing = s.get(DeliveryRow, key)
    if existing is None:
        s.add(DeliveryRow(key=key, claimed_at=now, expires_at=expires))
        s.flush()
        return True
    if existing.expires_at > now:
        return False
    result = s.execute(
        update(DeliveryRow)
        .where(DeliveryRow.key == key, DeliveryRow.expires_at <= now)
        .values(claimed_at=now, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def purge_deliveries(s: Session, now: datetime) -> int:
    result = s.execute(delete(DeliveryRow).where(DeliveryRow.expires_at <= now))
    return int(result.rowcount or 0)


# ---- opening cases and turns --------------------------------------------------------------------

def find_case_row(s: Session, conversation: Conversation, *, lock: bool = False) -> CaseRow | None:
    stmt = select(CaseRow).where(CaseRow.conversation_key == conversation_key(conversation))
    if lock:
        stmt = stmt.with_for_update()
    return s.scalars(stmt).first()


def open_case(s: Session, conversation: Conversation, requester: Requester, title: str,
              municipality: str | None, now: datetime) -> tuple[CaseRow, bool, bool]:
    """Find or create the case of a conversation; reopen it when it was resolved.
    Returns (row, created, reopened)."""
    row = find_case_row(s, conversation, lock=True)
    if row is None:
        row = CaseRow(
            conversation_key=conversation_key(conversation), kind=conversation.kind[:16],
            workspace=_cut(conversation.workspace, 64), channel=_cut(conversation.channel, 64),
            thread_ts=_cut(conversation.thread_ts, 64), requester_id=requester.user_id[:128],
            requester_name=_cut(requester.display_name, 255),
            municipality=_cut(municipality or requester.municipality, 128),
            title=make_title(title), status=CaseStatus.ANSWERED.value, programmes=[],
            created_at=now, updated_at=now,
        )
        s.add(row)
        s.flush()  # IntegrityError here when another writer created it first: caller retries
        add_event(s, row, EventKind.OPENED, requester.user_id, now, to_status=row.status)
        return row, True, False
    if row.municipality is None and (municipality or requester.municipality):
        row.municipality = _cut(municipality or requester.municipality, 128)
    if row.requester_name is None and requester.display_name:
        row.requester_name = _cut(requester.display_name, 255)
    if row.status == CaseStatus.RESOLVED:
        old, new = _move(row, CaseStatus.ANSWERED)
        row.resolved_at = None
        row.escalation_reason = None
        add_event(s, row, EventKind.REOPENED, requester.user_id, now, from_status=old,
                  to_status=new, text="解決済みの相談に新しい質問がありました")
        return row, False, True
    row.updated_at = now
    return row, False, False


def start_turn(s: Session, row: CaseRow, question: str, pii_kinds: list[str],
               dedupe_key: str | None, now: datetime) -> TurnRow:
    turn = TurnRow(case_id=row.id, question=question, pii_kinds=list(pii_kinds),
                   dedupe_key=_cut(dedupe_key, 255), created_at=now)
    s.add(turn)
    s.flush()
    row.updated_at = now
    return turn


def history(s: Session, case_id: int, *, before_turn_id: int | None = None,
            limit: int = HISTORY_TURNS) -> list[HistoryTurn]:
    stmt = select(TurnRow).where(TurnRow.case_id == case_id, TurnRow.answer.is_not(None))
    if before_turn_id is not None:
        stmt = stmt.where(TurnRow.id < before_turn_id)
    rows = s.scalars(stmt.order_by(TurnRow.id.desc()).limit(limit)).all()
    return [HistoryTurn(question=r.question, answer=r.answer or "", answered=r.answered is not False)
            for r in reversed(rows)]


def complete_turn(s: Session, turn: TurnRow, answer: Answer | None, error: str | None,
                  now: datetime) -> CaseRow:
    """Write the answer (or the error) into a started turn and move the case accordingly:
    a declined or failed answer sends an ``answered`` case to ``needs_staff``."""
    row = get_case_row(s, turn.case_id, lock=True)
    turn.completed_at = now
    turn.error = (error or None) and error[:255]
    if answer is not None:
        turn.answer = answer.text
        turn.answered = bool(answer.answered) and error is None
        turn.mode = answer.mode
        turn.model = answer.model
        turn.prompt_version = answer.prompt_version
        turn.sources = [source_dict(i, p) for i, p in enumerate(answer.sources, start=1)]
        turn.evidence = float(answer.evidence)
        turn.latency_ms = int(answer.latency_ms)
        turn.fallback_reason = answer.fallback_reason
        if turn.answered:
            row.programmes = derive_programmes(answer.text, list(answer.sources), row.programmes or [])
            record_citations(s, row.id, turn.id, answer.sources, now)   # FAQ entries it rests on
    else:
        turn.answered = False
        turn.mode = "none"
    row.updated_at = now
    if not turn.answered:
        reason = EscalationReason.BOT_ERROR if error else EscalationReason.NOT_ANSWERED
        escalate(s, row, "bot", reason, now, turn_id=turn.id)
    return row


# ---- officer and staff actions ------------------------------------------------------------------

def escalate(s: Session, row: CaseRow, actor: str, reason: str, now: datetime, *,
             text: str | None = None, turn_id: int | None = None) -> bool:
    """answered/resolved -> needs_staff. Returns True when the status changed. A request on a case
    staff already handle is recorded as an event without changing anything else."""
    moved = None
    if row.status in (CaseStatus.ANSWERED, CaseStatus.RESOLVED):
        moved = _move(row, CaseStatus.NEEDS_STAFF)
        row.escalation_reason = str(reason)
        row.resolved_at = None
        if row.escalated_at is None:
            row.escalated_at = now
    add_event(s, row, EventKind.ESCALATED, actor, now, from_status=moved and moved[0],
              to_status=moved and moved[1], text=text, turn_id=turn_id,
              data={"reason": str(reason)})
    if row.status == CaseStatus.NEEDS_STAFF:
        from bot.cases.routing import route_case

        route_case(s, row, now)        # the staff team, once (teams file only)
    return moved is not None


def assign(s: Session, row: CaseRow, staff_user: str, actor: str, now: datetime) -> bool:
    if row.assignee == staff_user[:128] and row.status == CaseStatus.IN_PROGRESS:
        return False
    moved = _move(row, CaseStatus.IN_PROGRESS)
    row.assignee = staff_user[:128]
    row.resolved_at = None
    add_event(s, row, EventKind.ASSIGNED, actor, now, from_status=moved and moved[0],
              to_status=moved and moved[1], text=staff_user)
    return True


def add_note(s: Session, row: CaseRow, text: str, actor: str, now: datetime) -> EventRow:
    return add_event(s, row, EventKind.NOTE, actor, now, text=text)


def add_staff_reply(s: Session, row: CaseRow, text: str, actor: str, now: datetime,
                    data: dict | None = None) -> EventRow:
    moved = None
    if row.status in (CaseStatus.ANSWERED, CaseStatus.NEEDS_STAFF):
        moved = _move(row, CaseStatus.IN_PROGRESS)
    if row.assignee is None:
        row.assignee = actor[:128]
    if row.first_staff_response_at is None:
        row.first_staff_response_at = now
    return add_event(s, row, EventKind.STAFF_REPLY, actor, now, from_status=moved and moved[0],
                     to_status=moved and moved[1], text=text, data=data)


def resolve(s: Session, row: CaseRow, actor: str, now: datetime, text: str | None = None) -> bool:
    if row.status == CaseStatus.RESOLVED:
        return False
    old, new = _move(row, CaseStatus.RESOLVED)
    row.resolved_at = now
    row.escalation_reason = None
    add_event(s, row, EventKind.RESOLVED, actor, now, from_status=old, to_status=new, text=text)
    return True


def reopen(s: Session, row: CaseRow, actor: str, now: datetime, text: str | None = None,
           to_status: str = CaseStatus.NEEDS_STAFF) -> bool:
    if row.status != CaseStatus.RESOLVED:
        return False
    old, new = _move(row, to_status)
    row.resolved_at = None
    if to_status == CaseStatus.NEEDS_STAFF:
        row.escalation_reason = EscalationReason.STAFF.value
    add_event(s, row, EventKind.REOPENED, actor, now, from_status=old, to_status=new, text=text)
    if to_status == CaseStatus.NEEDS_STAFF:
        from bot.cases.routing import route_case

        route_case(s, row, now)
    return True


def set_municipality(s: Session, row: CaseRow, municipality: str | None, actor: str,
                     now: datetime) -> bool:
    municipality = (municipality or "").strip()[:128] or None
    if row.municipality == municipality:
        return False
    old = row.municipality
    row.municipality = municipality
    add_event(s, row, EventKind.MUNICIPALITY, actor, now, text=municipality, data={"from": old})
    return True


def record_feedback(s: Session, turn: TurnRow, user_id: str, value: str, comment: str | None,
                    now: datetime) -> CaseRow:
    row = get_case_row(s, turn.case_id, lock=True)
    previous = turn.feedback
    turn.feedback = value
    turn.feedback_by = user_id[:128]
    turn.feedback_at = now
    if comment is not None:
        turn.feedback_comment = comment
    add_event(s, row, EventKind.FEEDBACK, user_id, now, text=comment, turn_id=turn.id,
              data={"value": value})
    if value == "down" and previous != "down":
        escalate(s, row, user_id, EscalationReason.NEGATIVE_FEEDBACK, now, turn_id=turn.id)
    return row
